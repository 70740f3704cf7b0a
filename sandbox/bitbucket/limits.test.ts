import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { git, gitBytes } from '../../test/helpers/repos.js';
import { isLifeboatError } from '../../src/engine/errors.js';
import { createGitClient } from '../../src/engine/git/client.js';
import { fromBytes } from '../../src/engine/streams.js';
import { DEMO_USERS, DEMO_WORKSPACE } from '../demo.js';
import { directorySize } from './git.js';
import { DEFAULT_GIT_LIMITS, defaultGitLimits } from './limits.js';
import { gitAsync, startTestEmulator, withCredentials, type TestEmulator } from './test-support.js';

const WS = DEMO_WORKSPACE.slug;
const REPOSITORY = 'docs';

let emulator: TestEmulator;
let scratch: string;
let counter = 0;

before(async () => {
  emulator = await startTestEmulator();
  scratch = await mkdtemp(join(tmpdir(), 'lifeboat-bitbucket-limits-'));
});

afterEach(() => {
  Object.assign(emulator.limits, DEFAULT_GIT_LIMITS);
});

after(async () => {
  await emulator.dispose();
  await rm(scratch, { recursive: true, force: true });
});

function remote(): string {
  return withCredentials(emulator.gitUrl(WS, REPOSITORY), 'x-bitbucket-api-token-auth', DEMO_USERS.admin.apiToken);
}

/** A fresh clone of the repository, to push from. */
async function clone(): Promise<string> {
  const work = join(scratch, `work-${++counter}`);
  await gitAsync(undefined, ['clone', '--quiet', remote(), work]);
  return work;
}

/** Commits a file of `bytes` random (incompressible) bytes; returns the commit. */
async function commitRandomFile(work: string, path: string, bytes: number): Promise<string> {
  await mkdir(dirname(join(work, path)), { recursive: true });
  await writeFile(join(work, path), randomBytes(bytes));
  git(work, ['add', path]);
  git(work, ['commit', '--quiet', '-m', `add ${path}`]);
  return git(work, ['rev-parse', 'HEAD']).trim();
}

function remoteMain(): string {
  return git(emulator.gitDir(WS, REPOSITORY), ['rev-parse', 'refs/heads/main']).trim();
}

describe("Bitbucket's git limits", () => {
  it('read their knobs from the environment, Bitbucket\'s values otherwise', () => {
    assert.deepEqual(defaultGitLimits({}), DEFAULT_GIT_LIMITS);
    assert.equal(DEFAULT_GIT_LIMITS.pushMaxBytes, 3.5 * 1024 ** 3);
    assert.equal(DEFAULT_GIT_LIMITS.fileMaxBytes, 100 * 1024 ** 2);
    assert.equal(DEFAULT_GIT_LIMITS.repositoryMaxBytes, 4 * 1024 ** 3);
    assert.equal(DEFAULT_GIT_LIMITS.bytesPerSecond, Number.POSITIVE_INFINITY);
    assert.deepEqual(defaultGitLimits({
      LIFEBOAT_SANDBOX_GIT_BYTES_PER_S: '2000000',
      LIFEBOAT_SANDBOX_PUSH_MAX_BYTES: '20000000',
      LIFEBOAT_SANDBOX_FILE_MAX_BYTES: '1000',
      LIFEBOAT_SANDBOX_REPO_MAX_BYTES: '5000',
    }), { bytesPerSecond: 2_000_000, pushMaxBytes: 20_000_000, fileMaxBytes: 1000, repositoryMaxBytes: 5000 });
    assert.equal(defaultGitLimits({ LIFEBOAT_SANDBOX_PUSH_MAX_BYTES: 'big' }).pushMaxBytes, DEFAULT_GIT_LIMITS.pushMaxBytes);
  });

  it('refuse a push whose pack is over the push cap with git\'s "pack exceeds maximum allowed size", as Bitbucket does', async () => {
    const work = await clone();
    const before = remoteMain();
    emulator.limits.pushMaxBytes = 20_000;
    // Over git's 1 MiB http.postBuffer: a chunked body, of which receive-pack stops reading at the cap.
    await commitRandomFile(work, 'large.bin', 1_500_000);
    await assert.rejects(gitAsync(work, ['push', 'origin', 'main']), (error: Error) => {
      assert.match(error.message, /remote: fatal: pack exceeds maximum allowed size/);
      assert.match(error.message, /\[remote rejected\] main -> main \(unpacker error\)/);
      return true;
    });
    assert.equal(remoteMain(), before, 'no ref moved');
    // A pack under the cap goes through.
    git(work, ['reset', '--quiet', '--hard', 'HEAD~1']);
    git(work, ['commit', '--quiet', '--allow-empty', '-m', 'small']);
    await gitAsync(work, ['push', '--quiet', 'origin', 'main']);
    assert.equal(remoteMain(), git(work, ['rev-parse', 'HEAD']).trim());
  });

  it('refuse a push carrying a file over the file size limit, naming it, until the repository\'s setting lifts the limit', async () => {
    const work = await clone();
    const before = remoteMain();
    emulator.limits.fileMaxBytes = 10_000;
    const commit = await commitRandomFile(work, 'assets/video.bin', 12_000);
    await assert.rejects(gitAsync(work, ['push', 'origin', 'main']), (error: Error) => {
      assert.match(error.message, /remote: File assets\/video\.bin is 12000 bytes, over the file size limit for pushes \(9\.8 KB\)/);
      assert.match(error.message, /\[remote rejected\] main -> main \(pre-receive hook declined\)/);
      return true;
    });
    assert.equal(remoteMain(), before, 'no ref moved');
    await emulator.setFileSizeLimit(WS, REPOSITORY, false);
    try {
      await gitAsync(work, ['push', '--quiet', 'origin', 'main']);
      assert.equal(remoteMain(), commit);
    } finally {
      await emulator.setFileSizeLimit(WS, REPOSITORY, true);
    }
    // Files already in the repository are not affected when they are not pushed again, even as the base of a
    // small file's delta in a thin pack: receive-pack (index-pack, from 100 objects on) then appends the large one
    // from the repository itself.
    const video = join(work, 'assets/video.bin');
    await writeFile(video, (await readFile(video)).subarray(0, 9_000));
    await Promise.all(Array.from({ length: 100 }, (_, index) => writeFile(join(work, `assets/note-${index}.txt`), `note ${index}\n`)));
    git(work, ['add', '--all']);
    git(work, ['commit', '--quiet', '-m', 'a smaller video, and notes']);
    await gitAsync(work, ['push', '--quiet', 'origin', 'main']);
    assert.equal(remoteMain(), git(work, ['rev-parse', 'HEAD']).trim());
  });

  it("reach the app's own git client as GIT_PUSH_REJECTED, the explanation in the side band", async () => {
    const work = await clone();
    const before = remoteMain();
    emulator.limits.fileMaxBytes = 10_000;
    const commit = await commitRandomFile(work, 'dump.sql', 12_000);
    const pack = gitBytes(work, ['pack-objects', '--stdout', '--revs'], undefined, `${commit}\n^${before}\n`);
    const client = createGitClient({ url: emulator.gitUrl(WS, REPOSITORY), credentials: { username: 'x-bitbucket-api-token-auth', password: DEMO_USERS.admin.apiToken } });
    const remoteLines: string[] = [];
    await assert.rejects(client.push({ commands: [{ ref: 'refs/heads/main', old: before, new: commit }], pack: fromBytes(pack), onProgress: (line) => remoteLines.push(line) }), (error) => {
      assert.ok(isLifeboatError(error, 'GIT_PUSH_REJECTED'), String(error));
      assert.deepEqual(error.details?.refs, [{ ref: 'refs/heads/main', ok: false, reason: 'pre-receive hook declined' }]);
      return true;
    });
    assert.ok(remoteLines.some((line) => line.includes('File dump.sql is 12000 bytes')), JSON.stringify(remoteLines));
    assert.equal(remoteMain(), before);
  });

  it('lock a repository over its size limit: the push that crosses it goes through, then only pushes that add nothing', async () => {
    const work = await clone();
    const start = remoteMain();
    emulator.limits.repositoryMaxBytes = directorySize(emulator.gitDir(WS, REPOSITORY)) + 10_000;
    const crossing = await commitRandomFile(work, 'crossing.bin', 20_000);
    await gitAsync(work, ['push', '--quiet', 'origin', 'main']);
    assert.equal(remoteMain(), crossing);

    git(work, ['commit', '--quiet', '--allow-empty', '-m', 'one more']);
    await assert.rejects(gitAsync(work, ['push', 'origin', 'main']), (error: Error) => {
      assert.match(error.message, /remote: Repository is over the size limit \([\d.]+ KB\) and will not accept further additions\./);
      assert.match(error.message, /remote: Learn how to reduce your repository size: https:\/\/confluence\.atlassian\.com\/x\/xgMvEw\./);
      assert.match(error.message, /\[remote rejected\] main -> main \(pre-receive hook declined\)/);
      return true;
    });
    assert.equal(remoteMain(), crossing);
    // Undoing the latest push adds nothing: it goes through.
    await gitAsync(work, ['push', '--quiet', '--force', 'origin', `${start}:refs/heads/main`]);
    assert.equal(remoteMain(), start);
  });

  it('transfer git at the set rate, both ways', async () => {
    const work = await clone();
    const rate = 100_000;
    emulator.limits.bytesPerSecond = rate;
    const commit = await commitRandomFile(work, 'payload.bin', 100_000);
    let started = Date.now();
    await gitAsync(work, ['push', '--quiet', 'origin', 'main']);
    const pushMs = Date.now() - started;
    assert.equal(remoteMain(), commit);
    started = Date.now();
    const copy = join(scratch, `work-${++counter}`);
    await gitAsync(undefined, ['clone', '--quiet', '--mirror', remote(), copy]);
    const fetchMs = Date.now() - started;
    assert.equal(git(copy, ['rev-parse', 'refs/heads/main']).trim(), commit);
    // 100,000 incompressible bytes at 100,000 bytes a second take at least a second each way.
    assert.ok(pushMs >= 1000, `push took ${pushMs} ms`);
    assert.ok(fetchMs >= 1000, `fetch took ${fetchMs} ms`);
  });
});
