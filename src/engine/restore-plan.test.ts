import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { write } from '../../test/helpers/fixtures.js';
import { startGitServer } from '../../test/helpers/git-server.js';
import { git, initBare, refsOf } from '../../test/helpers/repos.js';
import { backup } from './backup.js';
import type { SnapshotManifest } from './bucket/format.js';
import { initBucket } from './bucket/marker.js';
import { MemoryBlobStore } from './bucket/memory-store.js';
import { isLifeboatError } from './errors.js';
import { createGitClient } from './git/client.js';
import { restoreToRemote } from './remote-restore.js';
import { planRestore } from './restore-plan.js';
import { TEST_SIGNER } from '../../test/helpers/signing.js';

type GitServer = Awaited<ReturnType<typeof startGitServer>>;

/** Under the sizes below: the 60 KB file passes, the 150 KB one (read whole) and both 300 KB versions (streamed, one a delta) do not. */
const LIMIT = 100_000;

let root: string;
let server: GitServer;
let store: MemoryBlobStore;
let manifest: SnapshotManifest;
let ids: { mid: string; bigFirst: string; bigSecond: string };

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-plan-'));
  server = await startGitServer({ root: join(root, 'served'), receivePack: true });
  const work = join(root, 'work');
  git(undefined, ['init', '--quiet', work]);
  const big = randomBytes(300_000);
  write(work, 'small.bin', randomBytes(60_000));
  write(work, 'assets/mid.bin', randomBytes(150_000));
  write(work, 'assets/big.bin', big);
  git(work, ['add', '-A']);
  git(work, ['commit', '--quiet', '-m', 'first']);
  const bigFirst = git(work, ['rev-parse', 'HEAD:assets/big.bin']).trim();
  write(work, 'assets/big.bin', Buffer.concat([big, Buffer.from('a second version\n')]));
  git(work, ['commit', '--quiet', '-am', 'second']);
  ids = { mid: git(work, ['rev-parse', 'HEAD:assets/mid.bin']).trim(), bigFirst, bigSecond: git(work, ['rev-parse', 'HEAD:assets/big.bin']).trim() };
  git(undefined, ['clone', '--quiet', '--mirror', work, join(root, 'served', 'source.git')]);
  store = new MemoryBlobStore();
  await initBucket(store);
  const result = await backup({ store, repo: { workspace: 'ws', repository: 'repo' }, git: createGitClient({ url: server.url('source.git') }), trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null });
  assert.equal(result.status, 'created');
  manifest = (result as Extract<typeof result, { status: 'created' }>).snapshot;
});

after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

function emptyTarget(name: string): { bare: string; url: string } {
  const bare = join(root, 'served', `${name}.git`);
  initBare(bare);
  return { bare, url: server.url(`${name}.git`) };
}

describe('planRestore', () => {
  it('lists every blob over the file limit with its size, and the id of each one stored whole', async () => {
    const plan = await planRestore({ store, manifest, limits: { fileMaxBytes: LIMIT } });
    const sizes = plan.largeFiles.map((file) => file.size).sort((a, b) => a - b);
    assert.deepEqual(sizes, [150_000, 300_000, 300_017], 'the 60 KB file is under the limit; both versions of big.bin are over it');
    assert.ok(plan.largeFiles.every((file) => file.bundle === 1));
    const bySize = new Map(plan.largeFiles.map((file) => [file.size, file.blob]));
    assert.equal(bySize.get(150_000), ids.mid, 'a blob read whole: its id');
    // git stores one version of big.bin whole (its id is hashed as it streams) and deltifies the other against it.
    const big = [bySize.get(300_000), bySize.get(300_017)];
    assert.deepEqual(big.filter((id) => id !== undefined).length, 1, 'one version whole, one a delta');
    assert.ok(big.includes(ids.bigFirst) || big.includes(ids.bigSecond));
    assert.equal(bySize.get(300_000) ?? ids.bigFirst, ids.bigFirst);
    assert.equal(bySize.get(300_017) ?? ids.bigSecond, ids.bigSecond);
    // Each blob whose id is known is found in the trees, under its path.
    const paths = new Map(plan.largeFiles.map((file) => [file.size, file.path]));
    assert.equal(paths.get(150_000), 'assets/mid.bin');
    for (const size of [300_000, 300_017]) assert.equal(paths.get(size), bySize.get(size) ? 'assets/big.bin' : undefined);
  });

  it('says the size, the pushes, a bundle over the push cap and a size over the repository limit', async () => {
    const bytes = manifest.bundles[0]!.pack.bytes;
    const plan = await planRestore({ store, manifest, limits: { pushMaxBytes: bytes - 1, repositoryMaxBytes: bytes - 1 } });
    assert.equal(plan.bytes, bytes);
    assert.equal(plan.pushes, 2, 'one bundle, then the real refs');
    assert.deepEqual(plan.oversizedBundles, [1]);
    assert.equal(plan.overRepositoryLimit, true);
    assert.deepEqual(plan.largeFiles, [], 'nothing here is over the default 100 MB');
    const roomy = await planRestore({ store, manifest, limits: { pushMaxBytes: bytes, repositoryMaxBytes: bytes } });
    assert.deepEqual(roomy.oversizedBundles, []);
    assert.equal(roomy.overRepositoryLimit, false);
  });
});

describe('restoreToRemote with large files', () => {
  it('writes nothing until the large files are confirmed, then restores', async () => {
    const target = emptyTarget('unconfirmed');
    const client = createGitClient({ url: target.url });
    await assert.rejects(restoreToRemote({ store, manifest, git: client, mode: 'empty', limits: { fileMaxBytes: LIMIT } }), (error) =>
      isLifeboatError(error, 'RESTORE_LARGE_FILES') && (error.details?.largeFiles as unknown[]).length === 3
      && /assets\/mid\.bin: blob /.test(error.message) && !/--[a-z]|LIFEBOAT_/.test(error.message)); // says what happened, no edge's words
    assert.equal(refsOf(target.bare), '', 'nothing was written');
    const before = server.requests.filter((request) => request.path.endsWith('/git-receive-pack')).length;
    await restoreToRemote({ store, manifest, git: client, mode: 'empty', limits: { fileMaxBytes: LIMIT }, largeFilesConfirmed: true });
    assert.equal(refsOf(target.bare), refsOf(join(root, 'served', 'source.git')));
    assert.equal(server.requests.filter((request) => request.path.endsWith('/git-receive-pack')).length - before, 2, 'the plan\'s two pushes');
  });

  it('a push the server refuses anyway fails saying the large-file limit is the likely cause', async () => {
    const target = emptyTarget('refusing');
    // A server that refuses every push that brings objects, as Bitbucket's file limit does with its pre-receive check.
    writeFileSync(join(target.bare, 'hooks', 'pre-receive'), '#!/bin/sh\necho "File assets/big.bin is over the file size limit for pushes."\nexit 1\n');
    chmodSync(join(target.bare, 'hooks', 'pre-receive'), 0o755);
    await assert.rejects(restoreToRemote({ store, manifest, git: createGitClient({ url: target.url }), mode: 'empty', limits: { fileMaxBytes: LIMIT }, largeFilesConfirmed: true }), (error) =>
      isLifeboatError(error, 'RESTORE_LARGE_FILE_REFUSED') && error.details?.bundle === 1 && isLifeboatError(error.cause, 'GIT_PUSH_REJECTED'));
    assert.equal(refsOf(target.bare), '', 'the real refs were not changed');
  });
});
