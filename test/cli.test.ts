/**
 * The `lifeboat` command line as a user runs it (a child process, real git server,
 * real S3 server): results, --json shapes, exit codes, and bad input getting a
 * clear error with nothing changed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import { MARKER_KEY } from '../src/engine/bucket/keys.js';
import { collect } from '../src/engine/streams.js';
import { buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { fsck, git, initBare, refsOf } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';

type GitServer = Awaited<ReturnType<typeof startGitServer>>;
type S3Server = Awaited<ReturnType<typeof startS3Server>>;

let root: string;
let server: GitServer;
let privateServer: GitServer;
let s3: S3Server;
let bare: string;
let prefixes = 0;

interface CliResult { code: number; stdout: string; stderr: string }

/** The CLI as a child process, and its result once it exits (code -1 when killed). */
function spawnCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
    env: { ...process.env, ...s3.env, LIFEBOAT_BUCKET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  return { child, result };
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return spawnCli(args, env).result;
}

async function initialized(extra: string[] = []): Promise<string> {
  const bucketUrl = `s3://${s3.bucket}/cli-${++prefixes}`;
  const init = await runCli(['init', '--bucket', bucketUrl, ...extra]);
  assert.equal(init.code, 0, init.stderr);
  return bucketUrl;
}

async function backedUp(bucketUrl: string, url = server.url('rich.git')): Promise<string> {
  const result = await runCli(['backup', url, '--repo', 'acme/rich', '--bucket', bucketUrl, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const json = JSON.parse(result.stdout) as { snapshot: string; status: string; bytesUploaded: number };
  assert.equal(json.status, 'created');
  assert.match(json.snapshot, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  return json.snapshot;
}

function storeFor(bucketUrl: string): BlobStore {
  return s3.makeStore(bucketUrl.split('/').slice(3).join('/'));
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-cli-'));
  const work = join(root, 'work');
  buildRichWorkRepo(work);
  bare = join(root, 'served', 'rich.git');
  git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
  server = await startGitServer({ root: join(root, 'served'), receivePack: true });
  privateServer = await startGitServer({ root: join(root, 'served'), auth: { username: 'x-token-auth', password: 'secret-token' } });
  s3 = await startS3Server();
});

after(async () => {
  await server?.close();
  await privateServer?.close();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('lifeboat CLI: the recovery path', () => {
  it('backs up, lists, shows, verifies, restores to a folder and downloads plain bundles', async () => {
    const bucketUrl = await initialized();
    const id = await backedUp(bucketUrl);

    const again = await runCli(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      (({ snapshot, status, bytesUploaded }) => ({ snapshot, status, bytesUploaded }))(JSON.parse(again.stdout) as Record<string, unknown>),
      { snapshot: null, status: 'unchanged', bytesUploaded: 0 },
    );

    const list = await runCli(['snapshots', '--bucket', bucketUrl, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const snapshots = (JSON.parse(list.stdout) as { snapshots: { id: string; repo: string }[] }).snapshots;
    assert.deepEqual(snapshots.map((s) => [s.id, s.repo]), [[id, 'acme/rich']]);

    const show = await runCli(['show', id, '--bucket', bucketUrl]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /refs\/heads\/main/);

    const verify = await runCli(['verify', '--all', '--bucket', bucketUrl, '--json']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { ok: boolean }).ok, true);

    const folder = join(root, 'restored-cli');
    const restore = await runCli(['restore', id, '--to', folder, '--bucket', bucketUrl]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(refsOf(folder), refsOf(bare));
    fsck(folder);

    const out = join(root, 'downloaded');
    const download = await runCli(['download', id, '--out', out, '--bucket', bucketUrl]);
    assert.equal(download.code, 0, download.stderr);
    assert.ok(readdirSync(out).some((name) => name.endsWith('.bundle')));
    // Only plain git from here on.
    const rebuilt = join(root, 'rebuilt.git');
    execFileSync('sh', [join(out, 'restore.sh'), rebuilt], { stdio: 'pipe' });
    assert.equal(refsOf(rebuilt), refsOf(bare));
    fsck(rebuilt);
  });

  it('restores by push to any git server, beside existing work', async () => {
    const bucketUrl = await initialized();
    const id = await backedUp(bucketUrl);
    const before = refsOf(bare);
    const result = await runCli(['restore', id, '--push', server.url('rich.git'), '--beside', '--bucket', bucketUrl, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const after = refsOf(bare);
    for (const line of before.trim().split('\n')) assert.ok(after.includes(line));
    assert.ok(after.includes(`refs/heads/restored/${id}/main`));
    const cleanup = git(bare, ['for-each-ref', '--format=delete %(refname)', 'refs/heads/restored/', 'refs/tags/restored/', 'refs/restored/']);
    git(bare, ['update-ref', '--stdin'], undefined, cleanup);
  });

  it('a restore killed while it pushes bundle 2 of 2 leaves only its staging refs, and running it again completes it', async () => {
    const bucketUrl = await initialized();
    const refCount = refsOf(bare).trim().split('\n').length;
    const backup = await runCli(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl, '--max-refs-per-bundle', String(Math.ceil(refCount / 2)), '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    const id = (JSON.parse(backup.stdout) as { snapshot: string }).snapshot;
    const shown = JSON.parse((await runCli(['show', id, '--bucket', bucketUrl, '--json'])).stdout) as { bundles: { refs: { name: string }[] }[] };
    assert.equal(shown.bundles.length, 2, 'a chain of two bundles');

    const target = join(root, 'served', 'killed-restore.git');
    initBare(target);
    // The second push (bundle 2) kills the CLI as it arrives; git never sees that request.
    let pushes = 0;
    let restore: ReturnType<typeof spawnCli> | undefined;
    const killing = await startGitServer({
      root: join(root, 'served'),
      receivePack: true,
      onRequest: async (request) => {
        if (request.method !== 'POST' || !request.path.endsWith('/git-receive-pack') || ++pushes !== 2) return undefined;
        restore!.child.kill('SIGKILL');
        await restore!.result;
        return 'drop';
      },
    });
    try {
      restore = spawnCli(['restore', id, '--push', killing.url('killed-restore.git'), '--bucket', bucketUrl]);
      const killed = await restore.result;
      assert.equal(killed.code, -1, `killed, not finished: ${killed.stderr}`);
    } finally {
      await killing.close();
    }
    const staged = shown.bundles[0]!.refs.map((ref) => `refs/lifeboat-restore/${id}/1/${ref.name.slice('refs/'.length)}`).sort();
    assert.deepEqual(git(target, ['for-each-ref', '--format=%(refname)']).trim().split('\n').sort(), staged, 'only bundle 1 staged, no real ref yet');

    const again = await runCli(['restore', id, '--push', server.url('killed-restore.git'), '--bucket', bucketUrl, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { bundlesResumed: number }).bundlesResumed, 1, 'bundle 1 was not pushed again');
    assert.equal(refsOf(target), refsOf(bare), 'refs exactly as the snapshot, no staging refs left');
    fsck(target);
  });

  it('encrypts to the recipient, and the stored objects open with the standard age command', async () => {
    const key = await generateIdentity();
    const identityFile = join(root, 'identity.txt');
    writeFileSync(identityFile, `# test key\n${key.identity}\n`);
    const bucketUrl = await initialized(['--recipient', key.recipient]);
    const id = await backedUp(bucketUrl);

    const show = JSON.parse((await runCli(['show', id, '--bucket', bucketUrl, '--json'])).stdout) as { bundles: { key: string }[] };
    const stored = await collect(await storeFor(bucketUrl).get(show.bundles[0]!.key));
    const plain = execFileSync('age', ['-d', '-i', identityFile], { input: stored, maxBuffer: 64 << 20 });
    assert.ok(plain.subarray(0, 16).toString() === '# v2 git bundle\n');
    const bundleFile = join(root, 'from-age.bundle');
    writeFileSync(bundleFile, plain);
    execFileSync('git', ['bundle', 'verify', bundleFile], { cwd: bare, stdio: 'pipe' });

    const noKey = await runCli(['restore', id, '--to', join(root, 'enc-no-key'), '--bucket', bucketUrl]);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /\[IDENTITY_REQUIRED\]/);
    const shallow = await runCli(['verify', id, '--bucket', bucketUrl, '--json']);
    assert.equal((JSON.parse(shallow.stdout) as { snapshots: { deep: boolean }[] }).snapshots[0]!.deep, false);
    const folder = join(root, 'enc-restored');
    const restore = await runCli(['restore', id, '--to', folder, '--bucket', bucketUrl], { LIFEBOAT_IDENTITY: identityFile });
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(refsOf(folder), refsOf(bare));

    const wrong = await generateIdentity();
    const wrongFile = join(root, 'wrong.txt');
    writeFileSync(wrongFile, `${wrong.identity}\n`);
    const refused = await runCli(['restore', id, '--to', join(root, 'enc-wrong'), '--bucket', bucketUrl, '--identity', wrongFile]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\[IDENTITY_MISMATCH\]/);
    assert.throws(() => readdirSync(join(root, 'enc-wrong')), /ENOENT/, 'nothing written');
  });

  it('reports a tampered object with exit code 3', async () => {
    const bucketUrl = await initialized();
    const id = await backedUp(bucketUrl);
    const store = storeFor(bucketUrl);
    const show = JSON.parse((await runCli(['show', id, '--bucket', bucketUrl, '--json'])).stdout) as { bundles: { key: string }[] };
    const key = show.bundles[0]!.key;
    const bytes = await collect(await store.get(key));
    bytes[200] = bytes[200]! ^ 0xff;
    await store.put(key, bytes);
    const verify = await runCli(['verify', id, '--bucket', bucketUrl]);
    assert.equal(verify.code, 3);
    assert.match(verify.stdout, /CHECKSUM_MISMATCH/);
  });
});

describe('lifeboat CLI: bad input gets a clear error and changes nothing', () => {
  it('an unreachable git host', async () => {
    const bucketUrl = await initialized();
    const port = await closedPort();
    const result = await runCli(['backup', `http://127.0.0.1:${port}/x.git`, '--repo', 'a/b', '--bucket', bucketUrl]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[GIT_UNREACHABLE\]/);
    await assertOnlyMarker(bucketUrl);
  });

  it('wrong git credentials name the user and how to fix them', async () => {
    const bucketUrl = await initialized();
    const result = await runCli(['backup', privateServer.url('rich.git'), '--repo', 'a/b', '--bucket', bucketUrl], { LIFEBOAT_GIT_USERNAME: 'x-token-auth', LIFEBOAT_GIT_PASSWORD: 'wrong' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[GIT_AUTH_REQUIRED\]/);
    assert.match(result.stderr, /x-token-auth/);
    assert.doesNotMatch(result.stderr, /wrong/);
    await assertOnlyMarker(bucketUrl);
    const ok = await runCli(['backup', privateServer.url('rich.git'), '--repo', 'a/b', '--bucket', bucketUrl], { LIFEBOAT_GIT_USERNAME: 'x-token-auth', LIFEBOAT_GIT_PASSWORD: 'secret-token' });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('a URL that is not a git repository', async () => {
    const bucketUrl = await initialized();
    const result = await runCli(['backup', server.url('no-such-repo.git'), '--repo', 'a/b', '--bucket', bucketUrl]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[GIT_NOT_A_REPOSITORY\]/);
    await assertOnlyMarker(bucketUrl);
  });

  it('a missing bucket, denied credentials and an uninitialised prefix', async () => {
    const missing = await runCli(['snapshots', '--bucket', 's3://no-such-bucket/x']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\[BUCKET_NOT_FOUND\]/);
    const denied = await runCli(['snapshots', '--bucket', `s3://${s3.bucket}/x`], { AWS_ACCESS_KEY_ID: 'NOT-THE-KEY' });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /\[BUCKET_ACCESS_DENIED\]/);
    const empty = await runCli(['snapshots', '--bucket', `s3://${s3.bucket}/never-initialised`]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /\[BUCKET_NOT_INITIALIZED\]/);
    const noBucket = await runCli(['snapshots']);
    assert.equal(noBucket.code, 2);
  });

  it('an unknown snapshot, a bad snapshot id and usage errors', async () => {
    const bucketUrl = await initialized();
    const unknown = await runCli(['restore', '20200101T000000Z-abcdef', '--to', join(root, 'never'), '--bucket', bucketUrl, '--json']);
    assert.equal(unknown.code, 1);
    assert.equal((JSON.parse(unknown.stdout) as { error: { code: string } }).error.code, 'SNAPSHOT_NOT_FOUND');
    const usage = await runCli(['restore', 'x', '--bucket', bucketUrl]);
    assert.equal(usage.code, 2);
    const flag = await runCli(['backup', '--no-such-flag']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /INVALID_ARGUMENT/);
    const badRepo = await runCli(['backup', server.url('rich.git'), '--repo', '../etc', '--bucket', bucketUrl]);
    assert.equal(badRepo.code, 2);
  });

  it('a bucket written by a future format version is refused', async () => {
    const bucketUrl = await initialized();
    const store = storeFor(bucketUrl);
    const marker = JSON.parse((await collect(await store.get(MARKER_KEY))).toString()) as Record<string, unknown>;
    await store.put(MARKER_KEY, Buffer.from(JSON.stringify({ ...marker, version: 2 })));
    const result = await runCli(['backup', server.url('rich.git'), '--repo', 'a/b', '--bucket', bucketUrl]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[FORMAT_UNSUPPORTED\].*version 2/);
    await assertOnlyMarker(bucketUrl);
    const again = await runCli(['init', '--bucket', bucketUrl]);
    assert.match(again.stderr, /\[BUCKET_ALREADY_INITIALIZED\]/);
  });

  it('prune: dry run changes nothing, then keeps the newest', async () => {
    const bucketUrl = await initialized();
    await backedUp(bucketUrl);
    const dry = await runCli(['prune', '--keep-last', '1', '--dry-run', '--bucket', bucketUrl, '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const report = JSON.parse(dry.stdout) as { reports: { dryRun: boolean; keptSnapshots: unknown[] }[] };
    assert.equal(report.reports[0]!.dryRun, true);
    assert.equal(report.reports[0]!.keptSnapshots.length, 1);
  });
});

async function assertOnlyMarker(bucketUrl: string): Promise<void> {
  const keys: string[] = [];
  for await (const blob of storeFor(bucketUrl).list('')) keys.push(blob.key);
  assert.deepEqual(keys, [MARKER_KEY], 'nothing but the marker was written');
}

/** A port with nothing listening: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
