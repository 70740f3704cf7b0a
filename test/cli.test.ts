/**
 * The `lifeboat` command line as a user runs it (a child process, real git server,
 * real S3 server): results, --json shapes, exit codes, and bad input getting a
 * clear error with nothing changed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import { MARKER_KEY } from '../src/engine/bucket/bucket-keys.js';
import { encryptionFor } from '../src/engine/bucket/format.js';
import { recordStorageSetting } from '../src/engine/bucket/marker.js';
import { collect } from '../src/engine/streams.js';
import { addCommit, buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer, startRenamingGitProxy } from './helpers/git-server.js';
import { fsck, git, initBare, refsOf } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';
import { type CliResult, spawnCli as spawnTestCli } from './helpers/cli.js';

type GitServer = Awaited<ReturnType<typeof startGitServer>>;
type S3Server = Awaited<ReturnType<typeof startS3Server>>;

let root: string;
let server: GitServer;
let privateServer: GitServer;
let s3: S3Server;
let bare: string;
let prefixes = 0;

/** The CLI with the test bucket's credentials. */
function spawnCli(args: string[], env: Record<string, string> = {}): ReturnType<typeof spawnTestCli> {
  return spawnTestCli(args, { ...s3.env, ...env });
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

  it('a push restore shows its plan first; one holding a file over the limit writes nothing until --allow-large-files', async () => {
    const bucketUrl = await initialized();
    const id = await backedUp(bucketUrl);
    const blobs = git(bare, ['cat-file', '--batch-all-objects', '--batch-check=%(objecttype) %(objectsize)']).trim().split('\n')
      .map((line) => line.split(' ')).filter(([type]) => type === 'blob').map(([, size]) => Number(size));
    const largest = Math.max(...blobs);
    // A limit just under the largest file of the repository: those files, and only they, are over it.
    const limit = String(largest - 1);
    const target = join(root, 'served', 'large-files.git');
    initBare(target);
    const url = server.url('large-files.git');

    const planned = await runCli(['restore', id, '--push', url, '--plan', '--file-limit', limit, '--bucket', bucketUrl, '--json']);
    assert.equal(planned.code, 0, planned.stderr);
    const { plan } = JSON.parse(planned.stdout) as { plan: { pushes: number; largeFiles: { size: number; bundle: number }[]; limits: { fileMaxBytes: number } } };
    assert.equal(plan.limits.fileMaxBytes, largest - 1);
    assert.deepEqual(plan.largeFiles.map((file) => file.size), blobs.filter((size) => size === largest));
    assert.equal(plan.pushes, 2);

    const refused = await runCli(['restore', id, '--push', url, '--file-limit', limit, '--bucket', bucketUrl]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Plan: .* in 1 bundle\(s\), pushed in at most 2 pushes/m);
    assert.match(refused.stderr, /file\(s\) over .*Repository settings > Advanced/);
    assert.match(refused.stderr, /^lifeboat: error \[RESTORE_LARGE_FILES\]: .*Nothing was written\. — .*--allow-large-files\n$/m);
    assert.equal(refsOf(target), '', 'nothing was written');

    const restored = await runCli(['restore', id, '--push', url, '--file-limit', limit, '--allow-large-files', '--bucket', bucketUrl]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(refsOf(target), refsOf(bare));
    fsck(target);
    // A push cannot set the target's HEAD: the restore says which branch to make the default.
    const head = git(bare, ['symbolic-ref', 'HEAD']).trim().replace('refs/heads/', '');
    assert.ok(restored.stdout.includes(`make ${head} the target's default branch`), restored.stdout);
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
    assert.match(noKey.stderr, /^lifeboat: error \[IDENTITY_REQUIRED\]: [^\n]*age1[^\n]* — pass --identity <file> or set LIFEBOAT_IDENTITY\n$/m);
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

  it('verify --all with a wrong identity reports every snapshot, plain and encrypted, and exits 1 (3 once damage is found)', async () => {
    const key = await generateIdentity();
    const wrong = await generateIdentity();
    const wrongFile = join(root, 'verify-wrong.txt');
    writeFileSync(wrongFile, `${wrong.identity}\n`);
    const bucketUrl = await initialized();
    const store = storeFor(bucketUrl);
    const backUp = async (repo: string): Promise<string> => {
      const result = await runCli(['backup', server.url('rich.git'), '--repo', repo, '--bucket', bucketUrl, '--json']);
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout) as { snapshot: string }).snapshot;
    };
    // Plain, encrypted, plain again: the bucket's setting changed between backups (as the app may change it).
    const first = await backUp('acme/a-plain');
    await recordStorageSetting(store, { encryption: encryptionFor([key.recipient]), objectLock: null });
    const encrypted = await backUp('acme/b-encrypted');
    await recordStorageSetting(store, { encryption: null, objectLock: null });
    const last = await backUp('acme/c-plain');

    const verify = await runCli(['verify', '--all', '--bucket', bucketUrl, '--identity', wrongFile, '--json']);
    assert.equal(verify.code, 1, verify.stderr);
    const report = JSON.parse(verify.stdout) as { ok: boolean; snapshots: { snapshot: string; ok: boolean; deep: boolean; problems: { code: string }[] }[] };
    assert.equal(report.ok, false);
    // Listed by id: two backups within one second may come in either order.
    assert.deepEqual(report.snapshots.map((s) => [s.snapshot, s.ok, s.deep, s.problems.map((p) => p.code)]).sort(), [
      [first, true, true, []],
      [encrypted, false, false, ['IDENTITY_MISMATCH']],
      [last, true, true, []],
    ].sort());
    assert.match(verify.stderr, new RegExp(`^lifeboat: error \\[IDENTITY_MISMATCH\\]: .*1 encrypted snapshot\\(s\\) \\(${encrypted}\\).* — pass --identity`, 'm'));

    const text = await runCli(['verify', '--all', '--bucket', bucketUrl, '--identity', wrongFile]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, new RegExp(`^ok +${first} `, 'm'));
    assert.match(text.stdout, new RegExp(`^FAILED ${encrypted} .*checksums only: encrypted, the identity does not open it\\)\\n +IDENTITY_MISMATCH: `, 'm'));
    assert.match(text.stdout, new RegExp(`^ok +${last} `, 'm'));

    // Damage in a plain snapshot is still found, and wins: exit 3.
    const show = JSON.parse((await runCli(['show', last, '--bucket', bucketUrl, '--json'])).stdout) as { bundles: { key: string }[] };
    const bytes = await collect(await store.get(show.bundles[0]!.key));
    bytes[200] = bytes[200]! ^ 0xff;
    await store.put(show.bundles[0]!.key, bytes);
    const damaged = await runCli(['verify', '--all', '--bucket', bucketUrl, '--identity', wrongFile]);
    assert.equal(damaged.code, 3, damaged.stderr);
    assert.match(damaged.stdout, new RegExp(`^FAILED ${encrypted} `, 'm'));
    assert.match(damaged.stdout, new RegExp(`^FAILED ${last} .*\\n +CHECKSUM_MISMATCH`, 'm'));
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

describe('lifeboat CLI: a hostile git server and a tampered bucket', () => {
  const readJson = async (store: BlobStore, key: string): Promise<Record<string, unknown>> => JSON.parse((await collect(await store.get(key))).toString()) as Record<string, unknown>;
  const putJson = (store: BlobStore, key: string, value: unknown): Promise<void> => store.put(key, Buffer.from(JSON.stringify(value)));
  const keysOf = async (store: BlobStore, prefix = ''): Promise<string[]> => {
    const keys: string[] = [];
    for await (const blob of store.list(prefix)) keys.push(blob.key);
    return keys.sort();
  };

  it('ref names git refuses fail the backup before anything is written, naming them', async () => {
    const hostile = join(root, 'served', 'hostile.git');
    git(undefined, ['clone', '--quiet', '--mirror', bare, hostile]);
    git(hostile, ['update-ref', '--stdin'], undefined, 'create refs/heads/evil-1 refs/heads/main\ncreate refs/heads/escape refs/heads/main\ncreate refs/heads/x-lock refs/heads/main\n');
    const renames: Record<string, string> = {
      'refs/heads/evil-1': 'refs/heads/evil[1]',
      'refs/heads/escape': 'refs/heads/../../../../tmp/escape',
      'refs/heads/x-lock': 'refs/heads/x.lock',
    };
    const proxy = await startRenamingGitProxy(server, (name) => renames[name] ?? name);
    try {
      const bucketUrl = await initialized();
      const result = await runCli(['backup', proxy.url('hostile.git'), '--repo', 'acme/hostile', '--bucket', bucketUrl, '--json']);
      assert.equal(result.code, 1, result.stdout);
      assert.match(result.stderr, /\[GIT_REF_INVALID\]/);
      for (const name of Object.values(renames)) assert.ok(result.stderr.includes(JSON.stringify(name)), `names ${name}: ${result.stderr}`);
      const error = (JSON.parse(result.stdout) as { error: { code: string; details: { refs: string[] } } }).error;
      assert.deepEqual([...error.details.refs].sort(), Object.values(renames).sort());
      await assertOnlyMarker(bucketUrl);
    } finally {
      await proxy.close();
    }
  });

  it('one unreadable manifest is reported by every listing and hides no other snapshot', async () => {
    const bucketUrl = await initialized();
    const store = storeFor(bucketUrl);
    const good = await backedUp(bucketUrl);
    const other = JSON.parse((await runCli(['backup', server.url('rich.git'), '--repo', 'acme/other', '--bucket', bucketUrl, '--json'])).stdout) as { snapshot: string };
    const clean = JSON.parse((await runCli(['backup', server.url('rich.git'), '--repo', 'acme/clean', '--bucket', bucketUrl, '--json'])).stdout) as { snapshot: string };
    // An older Lifeboat stored a ref name git refuses in the newest snapshot of acme/rich;
    // a newer Lifeboat wrote a manifest of format version 2 into acme/other.
    const badId = `${good.slice(0, 16)}-ffffff`; // newest, until the next backup
    const badKey = `acme/rich/snapshots/${badId}.json`;
    const manifest = await readJson(store, `acme/rich/snapshots/${good}.json`);
    const refs = manifest.refs as { name: string; oid: string }[];
    await putJson(store, badKey, { ...manifest, id: badId, refs: [...refs, { name: 'refs/heads/evil[1]', oid: refs[0]!.oid }] });
    const futureId = '29990101T000000Z-f00002';
    const futureKey = `acme/other/snapshots/${futureId}.json`;
    await putJson(store, futureKey, { ...(await readJson(store, `acme/other/snapshots/${other.snapshot}.json`)), id: futureId, version: 2 });
    const richObjects = await keysOf(store, 'acme/rich/objects/');

    type Listing = { snapshots: { id: string }[]; unreadable: { key: string; code: string; message: string }[] };
    const all = await runCli(['snapshots', '--bucket', bucketUrl, '--json']);
    assert.equal(all.code, 0, all.stderr);
    const listed = JSON.parse(all.stdout) as Listing;
    assert.deepEqual(listed.snapshots.map((snapshot) => snapshot.id).sort(), [good, other.snapshot, clean.snapshot].sort());
    assert.deepEqual(listed.unreadable.map(({ key, code }) => [key, code]).sort(), [[badKey, 'FORMAT_INVALID'], [futureKey, 'FORMAT_UNSUPPORTED']].sort());
    assert.match(listed.unreadable.find((problem) => problem.key === badKey)!.message, /"refs\/heads\/evil\[1\]" is not a valid git ref name/);
    const text = await runCli(['snapshots', '--bucket', bucketUrl]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.includes(good) && text.stdout.includes(badKey) && text.stdout.includes(futureKey), text.stdout);
    const oneRepo = await runCli(['snapshots', '--repo', 'acme/other', '--bucket', bucketUrl, '--json']);
    assert.equal(oneRepo.code, 0, oneRepo.stderr);
    assert.deepEqual((JSON.parse(oneRepo.stdout) as Listing).snapshots.map((snapshot) => snapshot.id), [other.snapshot]);
    assert.deepEqual((JSON.parse(oneRepo.stdout) as Listing).unreadable.map((problem) => problem.code), ['FORMAT_UNSUPPORTED']);

    const show = await runCli(['show', good, '--bucket', bucketUrl]);
    assert.equal(show.code, 0, show.stderr);
    const showBad = await runCli(['show', badId, '--bucket', bucketUrl]);
    assert.equal(showBad.code, 1);
    assert.match(showBad.stderr, /\[FORMAT_INVALID\].*evil\[1\]/);
    assert.ok(showBad.stderr.includes(badKey), showBad.stderr);

    const verify = await runCli(['verify', '--all', '--bucket', bucketUrl, '--json']);
    assert.equal(verify.code, 3, verify.stderr);
    const reports = (JSON.parse(verify.stdout) as { snapshots: { snapshot: string; ok: boolean; problems: { code: string }[] }[] }).snapshots;
    assert.deepEqual(reports.filter((report) => report.ok).map((report) => report.snapshot).sort(), [good, other.snapshot, clean.snapshot].sort());
    assert.deepEqual(reports.filter((report) => !report.ok).map((report) => [report.snapshot, report.problems[0]?.code]).sort(), [[badId, 'FORMAT_INVALID'], [futureId, 'FORMAT_UNSUPPORTED']].sort());

    // Prune refuses the repositories it cannot account for, deleting nothing there, and prunes the others.
    const prune = await runCli(['prune', '--keep-last', '1', '--bucket', bucketUrl, '--json']);
    assert.equal(prune.code, 1, prune.stderr);
    const pruned = JSON.parse(prune.stdout) as { reports: { repo: { repository: string } }[]; failures: { repo: { repository: string }; error: { code: string; message: string } }[] };
    assert.deepEqual(pruned.reports.map((report) => report.repo.repository), ['clean']);
    assert.deepEqual(pruned.failures.map((failure) => [failure.repo.repository, failure.error.code]), [['other', 'FORMAT_UNSUPPORTED'], ['rich', 'FORMAT_INVALID']]);
    assert.match(pruned.failures[1]!.error.message, /stopped before deleting anything in acme\/rich/);
    assert.deepEqual(await keysOf(store, 'acme/rich/objects/'), richObjects);
    assert.ok((await keysOf(store)).includes(badKey));

    // A later backup builds on the newest readable snapshot and becomes the newest itself.
    const again = await runCli(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { status: string }).status, 'created');
    assert.match(again.stderr, /warning \[FORMAT_INVALID\]/);
    assert.ok(again.stderr.includes(badKey), again.stderr);
    const unchanged = await runCli(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl, '--json']);
    assert.equal((JSON.parse(unchanged.stdout) as { status: string }).status, 'unchanged', unchanged.stderr);
  });
  it('a manifest naming another repository\'s objects is refused by verify, restore and download', async () => {
    const bucketUrl = await initialized();
    const store = storeFor(bucketUrl);
    const fromRich = await backedUp(bucketUrl);
    const smallWork = join(root, 'small-work');
    git(undefined, ['init', '--quiet', '--initial-branch=main', smallWork]);
    addCommit(smallWork, 'The only commit of the small repository');
    git(undefined, ['clone', '--quiet', '--mirror', smallWork, join(root, 'served', 'small.git')]);
    const small = JSON.parse((await runCli(['backup', server.url('small.git'), '--repo', 'acme/small', '--bucket', bucketUrl, '--json'])).stdout) as { snapshot: string };
    const richManifest = await readJson(store, `acme/rich/snapshots/${fromRich}.json`);
    const smallManifest = await readJson(store, `acme/small/snapshots/${small.snapshot}.json`);
    const richBundles = richManifest.bundles as { key: string; sha256: string }[];

    // A's manifest copied into B, renamed so that its id matches its new key.
    const copied = `${small.snapshot.slice(0, 16)}-fffff1`;
    await putJson(store, `acme/small/snapshots/${copied}.json`, { ...richManifest, id: copied });
    // B's own manifest, pointed at A's objects: through "..", and directly.
    const throughDots = `${small.snapshot.slice(0, 16)}-fffff2`;
    await putJson(store, `acme/small/snapshots/${throughDots}.json`, {
      ...smallManifest, id: throughDots, refs: richManifest.refs, head: richManifest.head,
      bundles: richBundles.map((bundle) => ({ ...bundle, key: `acme/small/objects/../../${bundle.key}` })),
    });
    const direct = `${small.snapshot.slice(0, 16)}-fffff3`;
    await putJson(store, `acme/small/snapshots/${direct}.json`, { ...smallManifest, id: direct, refs: richManifest.refs, head: richManifest.head, bundles: richBundles });

    const verify = await runCli(['verify', '--all', '--repo', 'acme/small', '--bucket', bucketUrl, '--json']);
    assert.equal(verify.code, 3, verify.stderr);
    const reports = (JSON.parse(verify.stdout) as { snapshots: { snapshot: string; ok: boolean; problems: { code: string; message: string }[] }[] }).snapshots;
    const problem = (id: string) => reports.find((report) => report.snapshot === id)?.problems[0];
    assert.equal(reports.find((report) => report.snapshot === small.snapshot)?.ok, true);
    assert.equal(problem(copied)?.code, 'FORMAT_INVALID');
    assert.match(problem(copied)?.message ?? '', /of repository acme\/rich, not of acme\/small/);
    assert.equal(problem(throughDots)?.code, 'OBJECT_KEY_MISMATCH');
    assert.equal(problem(direct)?.code, 'OBJECT_KEY_MISMATCH');

    // Planted, so not signed: refused as such first; read anyway (--allow-unsigned), still refused for what they name.
    const unsigned = await runCli(['restore', direct, '--repo', 'acme/small', '--to', join(root, 'foreign-unsigned'), '--bucket', bucketUrl]);
    assert.equal(unsigned.code, 1, unsigned.stdout);
    assert.match(unsigned.stderr, /\[SNAPSHOT_UNSIGNED\]/);
    assert.ok(reports.find((report) => report.snapshot === direct)?.problems.some((found) => found.code === 'SNAPSHOT_UNSIGNED'), 'verify fails it as not signed too');
    for (const [id, code] of [[copied, 'FORMAT_INVALID'], [throughDots, 'OBJECT_KEY_MISMATCH'], [direct, 'OBJECT_KEY_MISMATCH']] as const) {
      const folder = join(root, `foreign-${id}`);
      const restore = await runCli(['restore', id, '--repo', 'acme/small', '--to', folder, '--bucket', bucketUrl, '--allow-unsigned']);
      assert.equal(restore.code, 1, restore.stdout);
      assert.match(restore.stderr, new RegExp(`\\[${code}\\]`));
      assert.throws(() => readdirSync(folder), /ENOENT/, 'nothing restored');
      const out = join(root, `foreign-download-${id}`);
      const download = await runCli(['download', id, '--repo', 'acme/small', '--out', out, '--bucket', bucketUrl, '--allow-unsigned']);
      assert.equal(download.code, 1, download.stdout);
      assert.match(download.stderr, new RegExp(`\\[${code}\\]`));
      assert.throws(() => readdirSync(out), /ENOENT/, 'nothing downloaded');
    }
    const target = join(root, 'served', 'foreign-target.git');
    initBare(target);
    const push = await runCli(['restore', throughDots, '--repo', 'acme/small', '--push', server.url('foreign-target.git'), '--bucket', bucketUrl, '--allow-unsigned']);
    assert.equal(push.code, 1, push.stdout);
    assert.match(push.stderr, /\[OBJECT_KEY_MISMATCH\]/);
    assert.equal(refsOf(target), '', 'no ref was pushed');
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
    assert.match(result.stderr, /^lifeboat: error \[GIT_AUTH_REQUIRED\]: [^\n]*"x-token-auth"[^\n]* — put the credentials in the URL or set LIFEBOAT_GIT_USERNAME and LIFEBOAT_GIT_PASSWORD;[^\n]*x-bitbucket-api-token-auth\n$/);
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
    assert.match(denied.stderr, /\[BUCKET_ACCESS_DENIED\]: [^\n]* — check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    const empty = await runCli(['snapshots', '--bucket', `s3://${s3.bucket}/never-initialised`]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /\[BUCKET_NOT_INITIALIZED\]: [^\n]* — [^\n]*run `lifeboat init`/);
    const noBucket = await runCli(['snapshots']);
    assert.equal(noBucket.code, 2);
  });

  it('a bucket prefix with "." or ".." segments is refused before the bucket is touched', async () => {
    const escaping = await runCli(['init', '--bucket', `s3://${s3.bucket}/../../x`]);
    assert.equal(escaping.code, 2);
    assert.match(escaping.stderr, /\[INVALID_ARGUMENT\]: The bucket prefix "\.\.\/\.\.\/x" has a "\." or "\.\." segment/);
    const dotted = await runCli(['snapshots', '--bucket', `s3://${s3.bucket}/team/./lifeboat`]);
    assert.equal(dotted.code, 2);
    assert.match(dotted.stderr, /has a "\." or "\.\." segment/);
  });

  it('an unknown snapshot, a bad snapshot id and usage errors', async () => {
    const bucketUrl = await initialized();
    const unknown = await runCli(['restore', '20200101T000000Z-abcdef', '--to', join(root, 'never'), '--bucket', bucketUrl, '--json']);
    assert.equal(unknown.code, 1);
    const { error } = JSON.parse(unknown.stdout) as { error: { code: string; message: string; hint: string } };
    assert.equal(error.code, 'SNAPSHOT_NOT_FOUND');
    assert.equal(error.hint, 'list the snapshots with `lifeboat snapshots`');
    assert.ok(unknown.stderr.endsWith(`${error.message} — ${error.hint}\n`), unknown.stderr);
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

  it('every error is one line with its code: an endpoint answering garbage XML, a usage error', async () => {
    // Not an S3 server: every answer is an error status with a body the SDK cannot parse.
    const garbage = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/xml' }).end('<?xml version="1.0"?><Error<<>');
    });
    garbage.listen(0, '127.0.0.1');
    await once(garbage, 'listening');
    try {
      const endpoint = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`;
      const result = await runCli(['snapshots', '--bucket', 's3://some-bucket', '--endpoint', endpoint]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /^lifeboat: error \[BUCKET_ERROR\]: [^\n]+\n$/);
      assert.ok(result.stderr.includes(endpoint), result.stderr);
      assert.doesNotMatch(result.stderr, /Deserialization error|\$response/);
    } finally {
      garbage.close();
    }
    const usage = await runCli(['snapshots', '--no-such-flag']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^lifeboat: error \[INVALID_ARGUMENT\]: [^\n]*--no-such-flag[^\n]*Usage: lifeboat snapshots[^\n]*\n$/);
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

  it('prune --keep-within takes a restic duration and refuses anything else before touching the bucket', async () => {
    const bucketUrl = await initialized();
    await backedUp(bucketUrl);
    const within = await runCli(['prune', '--keep-within', '30d', '--dry-run', '--bucket', bucketUrl, '--json']);
    assert.equal(within.code, 0, within.stderr);
    const report = JSON.parse(within.stdout) as { reports: { policy: unknown; keptSnapshots: { reasons: string[] }[]; forgottenSnapshots: string[] }[] };
    assert.deepEqual(report.reports[0]!.policy, { keepWithin: '30d' });
    assert.ok(report.reports[0]!.keptSnapshots.every((kept) => kept.reasons.includes('within')));
    assert.deepEqual(report.reports[0]!.forgottenSnapshots, []);
    const refused = await runCli(['prune', '--keep-within', '30 days', '--bucket', bucketUrl]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /keepWithin must be a duration such as 30d/);
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
