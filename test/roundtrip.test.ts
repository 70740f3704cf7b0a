/**
 * Round trips through real parts: repositories served by `git http-backend`, the
 * bucket on s3rver, restores by push into served repositories and into folders
 * with the local git. The refs must come back exactly and `git fsck --strict` clean.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backup, type BackupResult } from '../src/engine/backup.js';
import type { BlobStore, ObjectLockOptions } from '../src/engine/bucket/blob-store.js';
import { listAllSnapshots, readManifest } from '../src/engine/bucket/catalog.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { snapshotKey } from '../src/engine/bucket/bucket-keys.js';
import { initBucket, readMarker } from '../src/engine/bucket/marker.js';
import { createGitClient } from '../src/engine/git/client.js';
import { isLifeboatError } from '../src/engine/errors.js';
import { besideRefName, isRestoredRef, restoreToRemote } from '../src/engine/remote-restore.js';
import { restoreToDirectory } from '../src/cli/services/local-restore.js';
import { verifySnapshot } from '../src/engine/verify.js';
import { downloadSnapshot } from '../src/cli/services/download.js';
import { collect, fromBytes } from '../src/engine/streams.js';
import { attach } from '../src/engine/attach.js';
import { MemoryBlobStore } from '../src/engine/bucket/memory-store.js';
import type { GitClient, HttpFetch, PushCommand } from '../src/engine/git/types.js';
import { addCommit, addManyRefs, buildRichWorkRepo, importLinearHistory } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { fsck, git, initBare, refsOf } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';
import { TEST_SIGNER } from './helpers/signing.js';
import { UNCHECKED } from '../src/engine/bucket/signing.js';

type GitServer = Awaited<ReturnType<typeof startGitServer>>;
type S3Server = Awaited<ReturnType<typeof startS3Server>>;

let root: string;
let server: GitServer;
let s3: S3Server;
let prefixes = 0;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-roundtrip-'));
  server = await startGitServer({ root: join(root, 'served'), receivePack: true });
  s3 = await startS3Server();
});

after(async () => {
  await server?.close();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

async function freshBucket(options: Parameters<typeof initBucket>[1] = {}): Promise<BlobStore> {
  const store = s3.makeStore(`run-${++prefixes}`);
  await initBucket(store, options);
  return store;
}

/** A served bare repository built from a work repository. */
function serve(name: string, build: (work: string) => void): { work: string; bare: string; url: string } {
  const work = join(root, 'work', name);
  build(work);
  const bare = join(root, 'served', `${name}.git`);
  git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
  git(work, ['remote', 'add', 'origin', bare]);
  return { work, bare, url: server.url(`${name}.git`) };
}

function emptyServed(name: string): { bare: string; url: string } {
  const bare = join(root, 'served', `${name}.git`);
  initBare(bare);
  return { bare, url: server.url(`${name}.git`) };
}

/** A backup the way the command line runs it: stored as the bucket's marker says. */
async function snapshotOf(store: BlobStore, url: string, extra: Partial<Parameters<typeof backup>[0]> = {}): Promise<BackupResult> {
  const { encryption, objectLock } = await readMarker(store);
  return backup({ store, repo: { workspace: 'ws', repository: 'repo' }, git: createGitClient({ url }), trigger: 'cli', ...TEST_SIGNER, encryption, objectLock, ...extra });
}

function created(result: BackupResult): SnapshotManifest {
  assert.equal(result.status, 'created');
  return (result as Extract<BackupResult, { status: 'created' }>).snapshot;
}

async function assertRestoresExactly(store: BlobStore, manifest: SnapshotManifest, expectedRefs: string, name: string, identities?: string[]): Promise<void> {
  const directory = join(root, 'restored', name);
  await restoreToDirectory({ store, manifest, directory, ...(identities ? { identities } : {}) });
  assert.equal(refsOf(directory), expectedRefs, 'restore --to: refs');
  fsck(directory);

  const target = emptyServed(`pushed-${name}`);
  await restoreToRemote({ store, manifest, git: createGitClient({ url: target.url }), mode: 'empty', ...(identities ? { identities } : {}) });
  assert.equal(refsOf(target.bare), expectedRefs, 'restore --push: refs');
  fsck(target.bare);
}

describe('full backup and restore', () => {
  it('brings back every ref of a rich repository, by push and into a folder', async () => {
    const repo = serve('rich', buildRichWorkRepo);
    const store = await freshBucket();
    const manifest = created(await snapshotOf(store, repo.url));
    assert.equal(manifest.bundles.length, 1);
    assert.equal(manifest.bundles[0]!.kind, 'full');
    assert.equal(manifest.head.symref, 'refs/heads/main');
    assert.ok(manifest.refs.some((ref) => ref.name === 'refs/notes/commits'));
    assert.ok(manifest.refs.some((ref) => ref.name === 'refs/heads/ünïcødé/分支'));
    const expected = refsOf(repo.bare);
    await assertRestoresExactly(store, manifest, expected, 'rich');
    const local = join(root, 'restored', 'rich');
    assert.equal(git(local, ['symbolic-ref', 'HEAD']).trim(), 'refs/heads/main');
    assert.equal((await verifySnapshot(store, manifest)).ok, true);
  });

  it('handles an empty repository', async () => {
    const repo = emptyServed('empty');
    const store = await freshBucket();
    const manifest = created(await snapshotOf(store, repo.url));
    assert.equal(manifest.refs.length, 0);
    assert.equal(manifest.bundles.length, 0);
    await assertRestoresExactly(store, manifest, '', 'empty');
  });

  it('handles thousands of refs', async () => {
    const repo = serve('many', buildRichWorkRepo);
    addManyRefs(repo.bare, 3000);
    const store = await freshBucket();
    const manifest = created(await snapshotOf(store, repo.url));
    assert.ok(manifest.refs.length > 3000);
    await assertRestoresExactly(store, manifest, refsOf(repo.bare), 'many');
  });

  it('works against a server that speaks only protocol v0', async () => {
    const v0 = await startGitServer({ root: join(root, 'served'), protocolV2: false });
    try {
      const repo = serve('rich-v0', buildRichWorkRepo);
      const store = await freshBucket();
      const manifest = created(await snapshotOf(store, v0.url('rich-v0.git')));
      const directory = join(root, 'restored', 'rich-v0');
      await restoreToDirectory({ store, manifest, directory });
      assert.equal(refsOf(directory), refsOf(repo.bare));
    } finally {
      await v0.close();
    }
  });
});

describe('incremental backups', () => {
  it('writes nothing when nothing changed: only discovery and ls-refs reach the server', async () => {
    const repo = serve('unchanged', buildRichWorkRepo);
    const store = await freshBucket();
    const first = created(await snapshotOf(store, repo.url));
    const keysBefore = await allKeys(store);
    const requestsBefore = server.requests.length;
    const second = await snapshotOf(store, repo.url);
    assert.equal(second.status, 'unchanged');
    assert.equal(second.status === 'unchanged' && second.snapshot.id, first.id);
    assert.deepEqual(await allKeys(store), keysBefore);
    const requests = server.requests.slice(requestsBefore).filter((request) => request.path.includes('unchanged'));
    assert.deepEqual(requests.map((request) => request.method), ['GET', 'POST'], 'discovery + ls-refs');
  });

  it('restores new commits, a force-push, a deleted branch and a deleted tag exactly', async () => {
    const repo = serve('evolving', buildRichWorkRepo);
    const store = await freshBucket();
    const first = created(await snapshotOf(store, repo.url));
    const firstRefs = refsOf(repo.bare);

    addCommit(repo.work, 'Second release work');
    git(repo.work, ['tag', '-a', 'v2.0', '-m', 'Release 2.0']);
    git(repo.work, ['checkout', '--quiet', 'feature/login']);
    git(repo.work, ['reset', '--quiet', '--hard', 'HEAD~1']);
    addCommit(repo.work, 'Rewritten login');
    git(repo.work, ['checkout', '--quiet', 'main']);
    git(repo.work, ['push', '--quiet', '--force', 'origin', 'main', 'feature/login', 'v2.0']);
    git(repo.work, ['push', '--quiet', 'origin', '--delete', 'deeply/nested/ref/names/are/fine/too', 'light-v1.0']);

    const secondResult = await snapshotOf(store, repo.url);
    const second = created(secondResult);
    assert.equal(second.bundles.length, 2);
    assert.equal(second.bundles[1]!.kind, 'incremental');
    assert.ok(second.bundles[1]!.prerequisites.length > 0);
    assert.ok(second.bundles[1]!.size < first.bundles[0]!.size / 4, 'the increment is much smaller than the full bundle');
    const secondRefs = refsOf(repo.bare);
    assert.notEqual(secondRefs, firstRefs);
    await assertRestoresExactly(store, second, secondRefs, 'evolving-2');
    // The older snapshot still restores the refs as they were before the force-push.
    await assertRestoresExactly(store, first, firstRefs, 'evolving-1');
  });

  it('splits a large first backup into a chain by ref groups, and resumes after a deadline', async () => {
    const repo = serve('split', buildRichWorkRepo);
    const store = await freshBucket();
    const partial = await snapshotOf(store, repo.url, { maxRefsPerBundle: 3, deadline: new Date(0) });
    assert.equal(partial.status, 'partial');
    assert.equal((await listAllSnapshots(store)).length, 0, 'no snapshot is visible before it is complete');
    const done = created(await snapshotOf(store, repo.url, { maxRefsPerBundle: 3 }));
    assert.equal(done.id, partial.status === 'partial' ? partial.pendingId : '', 'the interrupted backup was continued');
    assert.ok(done.bundles.length >= 4, `chain of ${done.bundles.length}`);
    assert.equal(done.bundles.filter((bundle) => bundle.kind === 'full').length, 1);
    await assertRestoresExactly(store, done, refsOf(repo.bare), 'split');
    assert.deepEqual((await allKeys(store)).filter((key) => key.includes('/pending/') || key.includes('/staging/') || key.includes('/locks/')), []);
  });
});

describe('chains across awkward histories', () => {
  it('a branch replaced by a sub-branch of the same name restores by push, into a folder and with restore.sh', async () => {
    const repo = serve('release', buildRichWorkRepo);
    git(repo.work, ['push', '--quiet', 'origin', 'main:refs/heads/release']);
    const store = await freshBucket();
    created(await snapshotOf(store, repo.url));
    git(repo.work, ['push', '--quiet', 'origin', '--delete', 'release']);
    addCommit(repo.work, 'Release 1.0 work');
    git(repo.work, ['push', '--quiet', 'origin', 'HEAD:refs/heads/release/1.0']);
    const second = created(await snapshotOf(store, repo.url));
    assert.equal(second.bundles.length, 2);
    await assertRestoresExactly(store, second, refsOf(repo.bare), 'release');

    const out = join(root, 'downloads', 'release');
    await downloadSnapshot(store, second, { directory: out, manifestBytes: await storedManifest(store, second) });
    const rebuilt = join(root, 'restored', 'release-sh.git');
    execFileSync('sh', [join(out, 'restore.sh'), rebuilt], { stdio: 'pipe' });
    assert.equal(refsOf(rebuilt), refsOf(repo.bare));
    fsck(rebuilt);
  });

  it('restore.sh, with nothing but sh and git on PATH, rebuilds a chain in which tag rel became rel/1.0', async () => {
    const repo = serve('tag-rename', buildRichWorkRepo);
    git(repo.work, ['tag', '-a', 'rel', '-m', 'Release']);
    git(repo.work, ['push', '--quiet', 'origin', 'refs/tags/rel']);
    const store = await freshBucket();
    const first = created(await snapshotOf(store, repo.url));
    assert.ok(first.refs.some((ref) => ref.name === 'refs/tags/rel'));
    git(repo.work, ['push', '--quiet', 'origin', ':refs/tags/rel']);
    git(repo.work, ['tag', '-d', 'rel']);
    addCommit(repo.work, 'Release 1.0');
    git(repo.work, ['tag', '-a', 'rel/1.0', '-m', 'Release 1.0']);
    git(repo.work, ['push', '--quiet', 'origin', 'main', 'refs/tags/rel/1.0']);
    const second = created(await snapshotOf(store, repo.url));
    assert.equal(second.bundles.length, 2);
    assert.ok(second.bundles[1]!.refs.some((ref) => ref.name === 'refs/tags/rel/1.0'));

    const out = join(root, 'downloads', 'tag-rename');
    await downloadSnapshot(store, second, { directory: out, manifestBytes: await storedManifest(store, second) });
    const bin = join(root, 'only-sh-and-git');
    mkdirSync(bin);
    for (const tool of ['sh', 'git']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`]).toString().trim(), join(bin, tool));
    const rebuilt = join(root, 'restored', 'tag-rename-sh.git');
    execFileSync(join(bin, 'sh'), [join(out, 'restore.sh'), rebuilt], { env: { PATH: bin, HOME: root }, stdio: 'pipe' });
    assert.equal(refsOf(rebuilt), refsOf(repo.bare));
    assert.equal(git(rebuilt, ['symbolic-ref', 'HEAD']).trim(), 'refs/heads/main');
    fsck(rebuilt);
  });

  it('after a split first backup, the next backup is a small increment, not a new full chain', async () => {
    const repo = serve('split-then-one', buildRichWorkRepo);
    const store = await freshBucket();
    const first = created(await snapshotOf(store, repo.url, { maxRefsPerBundle: 2 }));
    assert.ok(first.bundles.length > 3);
    addCommit(repo.work, 'One more');
    git(repo.work, ['push', '--quiet', 'origin', 'main']);
    const second = created(await snapshotOf(store, repo.url, { maxRefsPerBundle: 2 }));
    assert.equal(second.bundles.length, first.bundles.length + 1);
    assert.equal(second.bundles.at(-1)!.kind, 'incremental');
    await assertRestoresExactly(store, second, refsOf(repo.bare), 'split-then-one');
  });

  it('a new chain that stops at a deadline is continued by the next run', async () => {
    const repo = serve('rollover', buildRichWorkRepo);
    const store = await freshBucket();
    const first = created(await snapshotOf(store, repo.url));
    addCommit(repo.work, 'Work before the rollover');
    git(repo.work, ['push', '--quiet', 'origin', 'main']);
    const rollover = { maxIncrements: 0, maxIncrementRatio: 0 };
    const partial = await snapshotOf(store, repo.url, { chainPolicy: rollover, maxRefsPerBundle: 3, deadline: new Date(0) });
    assert.equal(partial.status, 'partial');
    const done = created(await snapshotOf(store, repo.url, { chainPolicy: rollover, maxRefsPerBundle: 3 }));
    assert.equal(done.id, partial.status === 'partial' ? partial.pendingId : '');
    assert.ok(done.bundles.every((bundle) => bundle.createdBy === done.id), 'a new chain, none of the first snapshot\'s bundles');
    assert.notEqual(done.bundles[0]!.key, first.bundles[0]!.key);
    assert.deepEqual((await allKeys(store)).filter((key) => key.includes('/pending/')), []);
    await assertRestoresExactly(store, done, refsOf(repo.bare), 'rollover');
  });
});

describe('restore beside existing work and over it', () => {
  it('beside: creates only refs/heads/restored/<id>/... and leaves existing refs alone', async () => {
    const repo = serve('beside', buildRichWorkRepo);
    const store = await freshBucket();
    const snapshot = created(await snapshotOf(store, repo.url));
    git(repo.work, ['reset', '--quiet', '--hard', 'HEAD~1']);
    addCommit(repo.work, 'Diverged work');
    git(repo.work, ['push', '--quiet', '--force', 'origin', 'main']);
    const before = refsOf(repo.bare);

    const report = await restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: repo.url }), mode: 'beside' });
    const after = refsOf(repo.bare);
    for (const line of before.trim().split('\n')) assert.ok(after.includes(line), `kept ${line}`);
    const main = snapshot.refs.find((ref) => ref.name === 'refs/heads/main')!;
    assert.ok(after.includes(`${main.oid} ${besideRefName(snapshot.id, 'refs/heads/main')}`));
    assert.equal(report.refs.length, snapshot.refs.length);
    fsck(repo.bare);

    // The same restore again (a retry after its last push landed) finds its work done and changes nothing.
    const again = await restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: repo.url }), mode: 'beside' });
    assert.equal(again.refs.length, snapshot.refs.length);
    assert.equal(refsOf(repo.bare), after);
    // A restored ref that someone moved since is theirs now: refused, nothing changed.
    const moved = besideRefName(snapshot.id, 'refs/heads/main');
    git(repo.bare, ['update-ref', moved, `${main.oid}~1`]);
    const movedState = refsOf(repo.bare);
    await assert.rejects(
      restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: repo.url }), mode: 'beside' }),
      (error) => isLifeboatError(error, 'RESTORE_REF_EXISTS') && error.message.includes(moved),
    );
    assert.equal(refsOf(repo.bare), movedState);
    await assert.rejects(
      restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: repo.url }), mode: 'empty' }),
      (error) => isLifeboatError(error, 'RESTORE_TARGET_NOT_EMPTY'),
    );
  });

  it('into an empty repository: the report names the branch its HEAD should name, which no push can set', async () => {
    const repo = serve('head', buildRichWorkRepo);
    git(repo.bare, ['symbolic-ref', 'HEAD', 'refs/heads/feature/login']);
    const store = await freshBucket();
    const snapshot = created(await snapshotOf(store, repo.url));
    assert.equal(snapshot.head.symref, 'refs/heads/feature/login');

    const target = emptyServed('head-target');
    const report = await restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: target.url }), mode: 'empty' });
    assert.equal(report.head, 'refs/heads/feature/login');
    assert.equal(git(target.bare, ['symbolic-ref', 'HEAD']).trim(), 'refs/heads/main', 'the push left the target\'s HEAD as it was');

    // Beside other work, the target's HEAD stays theirs; a restore leaving HEAD's branch out has none to name.
    const beside = await restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: repo.url }), mode: 'beside' });
    assert.equal(beside.head, undefined);
    const partial = await restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: emptyServed('head-partial').url }), mode: 'empty', only: ['refs/heads/main'] });
    assert.equal(partial.head, undefined);
  });

  it('overwrite: puts chosen branches back at the snapshot and touches nothing else', async () => {
    const repo = serve('overwrite', buildRichWorkRepo);
    const store = await freshBucket();
    const snapshot = created(await snapshotOf(store, repo.url));
    git(repo.work, ['reset', '--quiet', '--hard', 'HEAD~2']);
    git(repo.work, ['push', '--quiet', '--force', 'origin', 'main']);
    addCommit(repo.work, 'Unrelated work', 'unrelated.txt');
    git(repo.work, ['push', '--quiet', 'origin', 'HEAD:refs/heads/other']);
    const other = git(repo.bare, ['rev-parse', 'refs/heads/other']).trim();

    await restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: repo.url }), mode: 'overwrite', only: ['refs/heads/main'] });
    const main = snapshot.refs.find((ref) => ref.name === 'refs/heads/main')!;
    assert.equal(git(repo.bare, ['rev-parse', 'refs/heads/main']).trim(), main.oid);
    assert.equal(git(repo.bare, ['rev-parse', 'refs/heads/other']).trim(), other);
    assert.ok(!refsOf(repo.bare).includes('/restored/'), 'no intermediate refs left behind');
    fsck(repo.bare);
  });

  it('beside: a snapshot\'s own restored/ refs are not restored again unless named', async () => {
    const repo = serve('nesting', buildRichWorkRepo);
    const store = await freshBucket();
    const first = created(await snapshotOf(store, repo.url));
    await restoreToRemote({ store, manifest: first, git: createGitClient({ url: repo.url }), mode: 'beside' });
    const second = created(await snapshotOf(store, repo.url));
    const earlier = second.refs.filter((ref) => isRestoredRef(ref.name)).map((ref) => ref.name);
    assert.equal(earlier.length, first.refs.length, 'the second snapshot holds the first restore');

    const report = await restoreToRemote({ store, manifest: second, git: createGitClient({ url: repo.url }), mode: 'beside' });
    assert.deepEqual(report.leftOut, earlier);
    const names = refsOf(repo.bare).trim().split('\n').map((line) => line.split(' ')[1]!);
    const underSecond = names.filter((name) => second.refs.some((ref) => name === besideRefName(second.id, ref.name)));
    assert.deepEqual(underSecond.sort(), first.refs.map((ref) => besideRefName(second.id, ref.name)).sort(), 'only the work itself, nothing nested');

    const named = earlier[0]!;
    const byName = await restoreToRemote({ store, manifest: second, git: createGitClient({ url: repo.url }), mode: 'beside', only: [named] });
    assert.deepEqual(byName.refs.map((ref) => ref.to), [besideRefName(second.id, named)], 'asked for by name, it is restored');
    assert.deepEqual(byName.leftOut, []);
  });

  for (const mode of ['empty', 'beside', 'overwrite'] as const) {
    it(`${mode}: a restore killed as it pushes bundle 2 resumes on the next run, and leaves no staging ref`, async () => {
      const repo = serve(`killed-${mode}`, buildRichWorkRepo);
      const store = await freshBucket();
      const snapshot = created(await snapshotOf(store, repo.url, { maxRefsPerBundle: 4 }));
      assert.ok(snapshot.bundles.length >= 3, 'a chain of several bundles');
      const expected = refsOf(repo.bare); // what the snapshot holds
      let target: { bare: string; url: string };
      if (mode === 'empty') {
        target = emptyServed(`killed-${mode}-target`);
      } else {
        target = { bare: repo.bare, url: repo.url };
        git(repo.work, ['reset', '--quiet', '--hard', 'HEAD~1']);
        addCommit(repo.work, 'Diverged work');
        git(repo.work, ['push', '--quiet', '--force', 'origin', 'main']);
      }
      const before = refsOf(target.bare);

      await assert.rejects(restoreToRemote({ store, manifest: snapshot, git: killedAtPush(target.url, 2), mode }), /killed/);
      const staging = `refs/lifeboat-restore/${snapshot.id}/`;
      const left = refsOf(target.bare).trim().split('\n').filter(Boolean);
      assert.deepEqual(left.filter((line) => !line.includes(staging)).join('\n'), before.trim(), 'the real refs are unchanged');
      assert.deepEqual(left.filter((line) => line.includes(staging)).map((line) => line.split(' ')[1]).sort(), snapshot.bundles[0]!.refs.map((ref) => `${staging}1/${ref.name.slice(5)}`).sort(), 'bundle 1 stayed staged');

      const retry = recordingClient(target.url);
      const report = await restoreToRemote({ store, manifest: snapshot, git: retry, mode });
      assert.equal(report.bundlesResumed, 1);
      assert.equal(retry.pushes.length, snapshot.bundles.length, 'bundles 2.. and the last push only');
      assert.ok(retry.pushes.slice(0, -1).every((commands) => commands.every((command) => !command.ref.startsWith(`${staging}1/`))), 'bundle 1 was not pushed again');
      const after = refsOf(target.bare);
      assert.ok(!after.includes('refs/lifeboat-restore/'), 'no staging ref left');
      if (mode === 'empty') assert.equal(after, expected);
      if (mode === 'overwrite') assert.equal(after, expected, 'the snapshot\'s refs exactly (overwrite keeps other refs, and the repository has none)');
      if (mode === 'beside') {
        for (const line of before.trim().split('\n')) assert.ok(after.includes(`${line}\n`), `kept ${line}`);
        for (const ref of snapshot.refs) assert.ok(after.includes(`${ref.oid} ${besideRefName(snapshot.id, ref.name)}\n`), `restored ${ref.name}`);
      }
      fsck(target.bare);
    });
  }
});

/**
 * A git client whose process dies as it starts its `dieAt`-th push: that push
 * never reaches the server, and nothing runs after it (no clean-up), as with kill -9.
 */
function killedAtPush(url: string, dieAt: number): GitClient {
  const inner = createGitClient({ url });
  let pushes = 0;
  let dead = false;
  const alive = (): void => {
    if (dead) throw new Error('killed');
  };
  return {
    url: inner.url,
    listRefs: async () => (alive(), inner.listRefs()),
    fetchPack: async (options) => (alive(), inner.fetchPack(options)),
    listPushRefs: async () => (alive(), inner.listPushRefs()),
    push: async (options) => {
      alive();
      if (++pushes === dieAt) {
        dead = true;
        throw new Error('killed');
      }
      return inner.push(options);
    },
  };
}

/** A git client that notes the commands of every push. */
function recordingClient(url: string): GitClient & { pushes: PushCommand[][] } {
  const inner = createGitClient({ url });
  const pushes: PushCommand[][] = [];
  return { ...inner, url: inner.url, pushes, push: (options) => (pushes.push(options.commands), inner.push(options)) };
}

describe('encryption', () => {
  it('stores age files that only the identity opens, and restores with it', async () => {
    const repo = serve('secret', buildRichWorkRepo);
    const key = await generateIdentity();
    const store = await freshBucket({ recipients: [key.recipient] });
    const manifest = created(await snapshotOf(store, repo.url));
    assert.equal(manifest.bundles[0]!.encrypted, true);
    const stored = await collect(await store.get(manifest.bundles[0]!.key));
    assert.match(stored.subarray(0, 21).toString('latin1'), /^age-encryption\.org\/v1/);
    assert.equal(stored.includes(Buffer.from('# v2 git bundle')), false);

    await assert.rejects(restoreToDirectory({ store, manifest, directory: join(root, 'restored', 'no-key') }), (error) => isLifeboatError(error, 'IDENTITY_REQUIRED'));
    const wrong = await generateIdentity();
    await assert.rejects(restoreToDirectory({ store, manifest, directory: join(root, 'restored', 'wrong-key'), identities: [wrong.identity] }), (error) => isLifeboatError(error, 'IDENTITY_MISMATCH'));
    await assertRestoresExactly(store, manifest, refsOf(repo.bare), 'secret', [key.identity]);
    assert.equal((await verifySnapshot(store, manifest, { identities: [key.identity] })).deep, true);
  });
});

describe('tampering', () => {
  it('verify reports a corrupted object and restore refuses it with nothing written', async () => {
    const repo = serve('tampered', buildRichWorkRepo);
    const store = await freshBucket();
    const manifest = created(await snapshotOf(store, repo.url));
    const bundle = manifest.bundles[0]!;
    const bytes = await collect(await store.get(bundle.key));
    bytes[bytes.length - 100] = (bytes[bytes.length - 100]! + 1) % 256;
    await store.put(bundle.key, bytes);

    const report = await verifySnapshot(store, manifest);
    assert.equal(report.ok, false);
    assert.equal(report.problems[0]?.code, 'CHECKSUM_MISMATCH');
    const directory = join(root, 'restored', 'tampered');
    await assert.rejects(restoreToDirectory({ store, manifest, directory }), (error) => isLifeboatError(error, 'CHECKSUM_MISMATCH'));
    const target = emptyServed('pushed-tampered');
    await assert.rejects(restoreToRemote({ store, manifest, git: createGitClient({ url: target.url }), mode: 'empty' }), (error) => isLifeboatError(error, 'CHECKSUM_MISMATCH'));
    assert.equal(refsOf(target.bare), '', 'no ref was created from a tampered bundle');
    const snapshots = await listAllSnapshots(store);
    assert.equal((await readManifest(store, snapshots[0]!, UNCHECKED)).id, manifest.id);
  });

  for (const encrypted of [false, true]) {
    it(`a damaged byte early in ${encrypted ? 'an encrypted' : 'a plain'} bundle is refused by its checksum before git sees any of it`, async () => {
      const name = `damaged-${encrypted ? 'age' : 'plain'}`;
      const repo = emptyServed(name);
      // About 2 MB of incompressible history: git meets the damage long before the stream ends.
      importLinearHistory(repo.bare, { commits: 40, bytes: 40_000 });
      const key = await generateIdentity();
      const store = await freshBucket(encrypted ? { recipients: [key.recipient] } : {});
      const identities = encrypted ? [key.identity] : undefined;
      const manifest = created(await snapshotOf(store, repo.url));
      const bundle = manifest.bundles[0]!;
      const bytes = await collect(await store.get(bundle.key));
      // Inside the pack's first objects (past the bundle header and the age header).
      bytes[2000] = (bytes[2000]! + 1) % 256;
      await store.put(bundle.key, bytes);
      const damaged = (error: unknown): boolean => isLifeboatError(error, 'CHECKSUM_MISMATCH') && error.message.includes(bundle.key);

      mkdirSync(join(root, 'restored'), { recursive: true });
      const directory = join(root, 'restored', name);
      await assert.rejects(restoreToDirectory({ store, manifest, directory, ...(identities ? { identities } : {}) }), damaged);
      assert.deepEqual(readdirSync(join(root, 'restored')).filter((entry) => entry.includes(name)), [], 'no folder, not even a partial one');

      const target = emptyServed(`pushed-${name}`);
      const client = recordingClient(target.url);
      await assert.rejects(restoreToRemote({ store, manifest, git: client, mode: 'empty', ...(identities ? { identities } : {}) }), damaged);
      assert.deepEqual(client.pushes, [], 'nothing pushed');
      assert.equal(refsOf(target.bare), '', 'no ref');
      assert.match(git(target.bare, ['count-objects', '-v']), /^count: 0\n(.|\n)*^in-pack: 0$/m, 'no object');
    });
  }
});

describe('interruptions and immutability', () => {
  it('a transfer cut mid-pack fails clearly and leaves no snapshot and no object', async () => {
    const repo = serve('cut', buildRichWorkRepo);
    const store = await freshBucket();
    const cut = cuttingFetch(20_000);
    await assert.rejects(
      backup({ store, repo: { workspace: 'ws', repository: 'repo' }, git: createGitClient({ url: repo.url, fetch: cut }), trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null }),
      (error) => isLifeboatError(error) && ['GIT_UNREACHABLE', 'PACK_CORRUPT'].includes(error.code),
    );
    assert.ok(cut.cutAfter() > 0, 'the cut happened inside the pack');
    assert.deepEqual(await allKeys(store), ['lifeboat.json']);
    // The next run, on a healthy connection, completes.
    created(await snapshotOf(store, repo.url));
  });

  it('puts Object Lock retention on every object, manifest and signature it writes', async () => {
    const repo = serve('locked', buildRichWorkRepo);
    const now = new Date();
    const store = new MemoryBlobStore({ objectLockEnabled: true });
    await initBucket(store, { objectLock: { mode: 'COMPLIANCE', days: 7 } });
    const manifest = created(await snapshotOf(store, repo.url));
    const keys = await allKeys(store);
    const retained = keys.filter((key) => ['/objects/', '/snapshots/', '/signatures/'].some((area) => key.includes(area)));
    assert.equal(retained.length, 3);
    for (const key of retained) {
      const lock = (await store.stat(key))?.lock;
      assert.equal(lock?.mode, 'COMPLIANCE', key);
      assert.ok(lock!.retainUntil.getTime() >= now.getTime() + 7 * 86_400_000 - 60_000, key);
    }
    await assert.rejects(store.remove(manifest.bundles[0]!.key), (error) => isLifeboatError(error, 'OBJECT_LOCKED'));
  });

  it('fails loudly when what it wrote with Object Lock comes back without the retention asked: NOT protected', async () => {
    const repo = serve('unlocked', buildRichWorkRepo);
    const lockedKeys = async (store: BlobStore): Promise<string[]> => (await allKeys(store)).filter((key) => ['/objects/', '/snapshots/', '/signatures/'].some((area) => key.includes(area)));
    /** The backup's failure, which must name exactly the objects it wrote (a manifest, its signature and a bundle). */
    const refusal = async (store: BlobStore): Promise<void> => {
      const before = new Set(await lockedKeys(store));
      const error = await snapshotOf(store, repo.url).then(() => assert.fail('the backup reported success'), (failure: unknown) => failure);
      assert.ok(isLifeboatError(error, 'OBJECT_LOCK_NOT_APPLIED'), String(error));
      assert.match(error.message, /NOT protected/);
      const written = (await lockedKeys(store)).filter((key) => !before.has(key));
      assert.equal(written.length, 3, 'a manifest, its signature and a bundle');
      assert.deepEqual([...(error.details?.keys as string[])].sort(), written.sort());
    };
    // s3rver does not say whether it has Object Lock (undefined), accepts the lock headers and keeps no retention.
    const s3rver = await freshBucket({ objectLock: { mode: 'GOVERNANCE', days: 30 } });
    await refusal(s3rver);
    addCommit(repo.work, 'More after the first');
    git(repo.work, ['push', '--quiet', 'origin', 'HEAD']);
    await refusal(s3rver); // an incremental backup too
    // `lifeboat attach` reads back its manifest as well.
    await assert.rejects(attach({
      store: s3rver, repo: { workspace: 'ws', repository: 'repo' }, kind: 'issues-export', name: 'issues.zip', summary: {},
      content: () => fromBytes(Buffer.from('not really a zip')), objectLock: { mode: 'GOVERNANCE', days: 30 }, ...TEST_SIGNER,
    }), (error) => isLifeboatError(error, 'OBJECT_LOCK_NOT_APPLIED') && /NOT protected/.test(error.message));
    // In memory: a bucket that accepts the lock and keeps none, and one that keeps less than asked (1 day of the 7).
    const ignoring = retentionKeptAs(new MemoryBlobStore({ objectLockEnabled: undefined }), () => undefined);
    await initBucket(ignoring, { objectLock: { mode: 'GOVERNANCE', days: 7 } });
    await refusal(ignoring);
    const shortened = retentionKeptAs(new MemoryBlobStore({ objectLockEnabled: true }), (lock) => ({ ...lock, retainUntil: new Date(Date.now() + 86_400_000) }));
    await initBucket(shortened, { objectLock: { mode: 'COMPLIANCE', days: 7 } });
    await refusal(shortened);
  });
});

/** Node's fetch, except that upload-pack answers stop with a connection reset after `limit` bytes. */
function cuttingFetch(limit: number): HttpFetch & { cutAfter(): number } {
  let cutAt = 0;
  const wrapped: HttpFetch = async (url, init) => {
    const response = await fetch(url, init as RequestInit);
    const isFetch = init.body instanceof Uint8Array && Buffer.from(init.body).toString('latin1').includes('command=fetch');
    if (!url.endsWith('/git-upload-pack') || !response.body || !isFetch) return response;
    const reader = response.body.getReader();
    let seen = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        seen += value.byteLength;
        if (seen > limit) {
          cutAt = seen;
          await reader.cancel();
          return controller.error(Object.assign(new TypeError('terminated'), { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }));
        }
        controller.enqueue(value);
      },
    });
    return { status: response.status, statusText: response.statusText, headers: response.headers, body };
  };
  return Object.assign(wrapped, { cutAfter: () => cutAt });
}

/** `store` as a bucket that keeps another retention than a put or copy asks for (`kept`), answering the rest as `store` does. */
function retentionKeptAs(store: MemoryBlobStore, kept: (lock: ObjectLockOptions) => ObjectLockOptions | undefined): BlobStore {
  const keep = <T extends { lock?: ObjectLockOptions }>({ lock, ...rest }: T): Omit<T, 'lock'> & { lock?: ObjectLockOptions } => {
    const applied = lock && kept(lock);
    return applied ? { ...rest, lock: applied } : rest;
  };
  return {
    location: store.location,
    put: (key, body, options = {}) => store.put(key, body, keep(options)),
    copy: (from, to, options = {}) => store.copy(from, to, keep(options)),
    get: (key, range) => store.get(key, range),
    stat: (key) => store.stat(key),
    list: (prefix) => store.list(prefix),
    remove: (key) => store.remove(key),
    objectLockEnabled: () => store.objectLockEnabled(),
    listIncompleteUploads: (prefix) => store.listIncompleteUploads(prefix),
    abortIncompleteUpload: (upload) => store.abortIncompleteUpload(upload),
  };
}

async function allKeys(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const blob of store.list('')) keys.push(blob.key);
  return keys;
}

/** The manifest as stored, as `lifeboat download` writes it. */
async function storedManifest(store: BlobStore, manifest: SnapshotManifest): Promise<Buffer> {
  return collect(await store.get(snapshotKey(manifest.repository, manifest.id)));
}
