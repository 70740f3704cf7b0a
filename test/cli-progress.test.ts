/**
 * The command line's progress, as the README promises it: on stderr when it is a terminal
 * (one line, redrawn, with the bytes so far), nothing when stderr is a pipe or a log.
 * The terminal is a real pty (`script`, util-linux).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { git } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';
import { type CliResult, assertBuilt, runCli as runTestCli, testSigningKeyFile } from './helpers/cli.js';

let root: string;
let server: Awaited<ReturnType<typeof startGitServer>>;
let s3: Awaited<ReturnType<typeof startS3Server>>;
let bucketUrl: string;
let snapshot: string;

const BIN = fileURLToPath(new URL('../bin/lifeboat.js', import.meta.url));
/** What a progress line starts with, in every command this file runs. */
// eslint-disable-next-line no-control-regex -- a terminal's erase-line is what is looked for
const PROGRESS = /^(?:\r?\x1b\[2K)?(?:Listed \d+ refs|Bundle \d|Applying bundle|Downloading bundle|Reading metadata|Verifying )/m;

function runCli(args: string[]): Promise<CliResult> {
  return runTestCli([...args, '--bucket', bucketUrl], s3.env);
}

/** The CLI with a pty for stdin, stdout and stderr, as a person at a terminal runs it: what the terminal received. */
function runInTerminal(args: string[]): Promise<{ code: number; output: string }> {
  assertBuilt();
  const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args, '--bucket', bucketUrl].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: { ...process.env, LIFEBOAT_BUCKET: '', LIFEBOAT_TRUST: '', LIFEBOAT_SIGNING_KEY: testSigningKeyFile(), ...s3.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-cli-progress-'));
  const work = join(root, 'work');
  buildRichWorkRepo(work);
  git(undefined, ['clone', '--quiet', '--mirror', work, join(root, 'served', 'rich.git')]);
  server = await startGitServer({ root: join(root, 'served') });
  s3 = await startS3Server();
  bucketUrl = `s3://${s3.bucket}/progress`;
  const init = await runCli(['init']);
  assert.equal(init.code, 0, init.stderr);
});

after(async () => {
  await server?.close();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('progress', () => {
  it('is not written when stderr is not a terminal: backup, restore, download and verify say only results and warnings', async () => {
    const backup = await runCli(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--max-refs-per-bundle', '2', '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    snapshot = (JSON.parse(backup.stdout) as { snapshot: string }).snapshot;
    assert.doesNotMatch(backup.stderr, PROGRESS, backup.stderr);
    for (const args of [['restore', snapshot, '--to', join(root, 'piped.git')], ['download', snapshot, '--out', join(root, 'piped-download')], ['verify', snapshot]]) {
      const result = await runCli(args);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, PROGRESS, `${args[0]}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\r/);
    }
  });

  it('on a terminal is one line redrawn through every bundle, with the bytes so far', async () => {
    assert.ok(snapshot, 'the first test made a snapshot');
    const backup = await runInTerminal(['backup', server.url('rich.git'), '--repo', 'acme/other', '--max-refs-per-bundle', '2']);
    assert.equal(backup.code, 0, backup.output);
    const draws = backup.output.split('\r\x1b[2K').slice(1);
    const bundles = draws.filter((draw) => /^Bundle \d+\/\d+ \(\w+, \d+ refs\): \d+(\.\d)? (B|KiB|MiB)/.test(draw));
    assert.ok(bundles.length >= 2, `a redraw for each of several bundles:\n${JSON.stringify(backup.output)}`);
    // The line is redrawn, never ended, until the result: one line break after the last draw (the pty writes it as \r\n).
    const [progress = '', ...rest] = backup.output.slice(backup.output.indexOf('\r\x1b[2K')).split(/^Snapshot /m);
    assert.equal(rest.length, 1, backup.output);
    assert.equal(progress.match(/\n/g)?.length, 1, `one line of progress, not one per bundle:\n${JSON.stringify(progress)}`);

    const restore = await runInTerminal(['restore', snapshot, '--to', join(root, 'terminal.git')]);
    assert.equal(restore.code, 0, restore.output);
    // eslint-disable-next-line no-control-regex -- the terminal's redraw
    assert.match(restore.output, /\r\x1b\[2KApplying bundle 1\/\d+ \([^)]*\): 0 B/);
    // eslint-disable-next-line no-control-regex -- the terminal's redraw
    assert.match(restore.output, /\r\x1b\[2KApplying bundle (\d+)\/\1 \([^)]*\): \d+(\.\d)? (KiB|MiB)/, 'the last bundle starts after the others\' bytes');
  });
});
