/**
 * The recovery command line as one file (`npm run build:recovery`): copied alone
 * into a folder outside the repository, with no node_modules anywhere above it, it
 * does the recovery path against a real S3 server and a real git server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { fsck, git, refsOf } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';
import { assertBuilt, type CliResult } from './helpers/cli.js';

const BUNDLE = fileURLToPath(new URL('../dist/recovery/lifeboat.mjs', import.meta.url));

type GitServer = Awaited<ReturnType<typeof startGitServer>>;
type S3Server = Awaited<ReturnType<typeof startS3Server>>;

let root: string;
let alone: string;
let server: GitServer;
let s3: S3Server;
let bare: string;

/** The nearest folder at or above `dir` that holds node_modules, where Node would resolve a package from. */
function nodeModulesAbove(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'node_modules'))) return at;
    if (dirname(at) === at) return undefined;
  }
}

before(async () => {
  assertBuilt(BUNDLE, 'npm run build:recovery');
  root = mkdtempSync(join(tmpdir(), 'lifeboat-recovery-'));
  const work = join(root, 'work');
  buildRichWorkRepo(work);
  bare = join(root, 'served', 'rich.git');
  git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
  server = await startGitServer({ root: join(root, 'served') });
  s3 = await startS3Server();
  alone = join(root, 'kit');
  mkdirSync(alone);
  copyFileSync(BUNDLE, join(alone, 'lifeboat.mjs'));
});

after(async () => {
  await server?.close();
  await s3?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the single-file recovery command line', () => {
  it('runs alone with node: init, backup, snapshots, restore to a folder that git fsck finds clean', async () => {
    assert.equal(nodeModulesAbove(alone), undefined, 'the test folder must have no node_modules above it');
    // As a person runs it: `node lifeboat.mjs ...` in the folder it was downloaded to. The key file is what a
    // writer signs with (init creates it where the command line signs its snapshots).
    const env = { ...process.env, ...s3.env, LIFEBOAT_BUCKET: '', LIFEBOAT_SIGNING_KEY: join(root, 'signing.key') };
    const run = (args: string[]): Promise<CliResult> => new Promise((resolve) => {
      execFile(process.execPath, ['lifeboat.mjs', ...args], { cwd: alone, env }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      });
    });
    const bucketUrl = `s3://${s3.bucket}/recovery-bundle`;

    const init = await run(['init', '--bucket', bucketUrl]);
    assert.equal(init.code, 0, init.stderr);
    const backup = await run(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl, '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const { snapshot, status } = JSON.parse(backup.stdout) as { snapshot: string; status: string };
    assert.equal(status, 'created');

    const list = await run(['snapshots', '--bucket', bucketUrl, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const snapshots = (JSON.parse(list.stdout) as { snapshots: { id: string; repo: string }[] }).snapshots;
    assert.deepEqual(snapshots.map((s) => [s.id, s.repo]), [[snapshot, 'acme/rich']]);

    const folder = join(root, 'restored');
    const restore = await run(['restore', snapshot, '--to', folder, '--bucket', bucketUrl]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(refsOf(folder), refsOf(bare));
    fsck(folder);
  });
});
