/**
 * LFS objects through the command line, end to end (real git server with an LFS
 * endpoint, real S3 server): found in the packs as they stream — a deltified
 * pointer and a thin incremental's pointer whose base is in the first bundle —,
 * stored once per oid, a missing object reported and fetched by the next backup,
 * and restored byte for byte into a folder's LFS store and to another host.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lfsObjectPath } from '../sandbox/bitbucket/lfs.js';
import { readManifest } from '../src/engine/bucket/catalog.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { parseRepoPath } from '../src/engine/bucket/bucket-keys.js';
import { type MetadataIndex, readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { LfsPointerScanner } from '../src/engine/git/lfs-pointers.js';
import { backup } from '../src/engine/backup.js';
import { listPending } from '../src/engine/bucket/catalog.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import { initBucket } from '../src/engine/bucket/marker.js';
import { collect } from '../src/engine/streams.js';
import { createGitClient } from '../src/engine/git/client.js';
import { createLfsClient } from '../src/engine/git/lfs.js';
import { lfsCollector, uploadLfsObjects } from '../src/engine/lfs.js';
import { openStoredBundle } from '../src/engine/stored-bundle.js';
import { write } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { type LfsFixture, lfsObject, pointerFile } from './helpers/lfs.js';
import { git, initBare, refsOf } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';
import { type CliResult, runCli as runTestCli } from './helpers/cli.js';
import { TEST_SIGNER } from './helpers/signing.js';
import { UNCHECKED } from '../src/engine/bucket/signing.js';

type GitServer = Awaited<ReturnType<typeof startGitServer>>;
type S3Server = Awaited<ReturnType<typeof startS3Server>>;

let root: string;
let source: GitServer;
let target: GitServer;
let s3: S3Server;
const repo = parseRepoPath('acme/lfs');
const bucketUrl = (): string => `s3://${s3.bucket}/lfs`;

function runCli(args: string[]): Promise<CliResult> {
  return runTestCli([...args, '--bucket', bucketUrl()], s3.env);
}

async function cli(args: string[]): Promise<Record<string, unknown>> {
  const result = await runCli([...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** Puts an object where the source's LFS server keeps it. */
function serve(bare: string, object: LfsFixture): void {
  const path = lfsObjectPath(bare, object.oid);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, object.content);
}

const lfsRequests = (server: GitServer, from: number): { batches: number; downloads: string[] } => {
  const requests = server.requests.slice(from);
  return {
    batches: requests.filter((request) => request.path.endsWith('/info/lfs/objects/batch')).length,
    downloads: requests.filter((request) => request.method === 'GET' && request.path.includes('/info/lfs/objects/')).map((request) => request.path.split('/').at(-1)!),
  };
};

async function snapshot(id: string): Promise<{ manifest: SnapshotManifest; index: MetadataIndex }> {
  const store = s3.makeStore('lfs');
  const manifest = await readManifest(store, { repo, id }, UNCHECKED);
  const index = await readMetadataIndex(store, manifest);
  assert.ok(index, 'the snapshot has a metadata index');
  return { manifest, index };
}

const objects = { first: lfsObject(), second: lfsObject(5000), plain: lfsObject(20), later: lfsObject(), third: lfsObject() };
let work: string;
let bare: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-lfs-'));
  s3 = await startS3Server();
  source = await startGitServer({ root: join(root, 'source'), lfs: true });
  target = await startGitServer({ root: join(root, 'target'), lfs: true, receivePack: true });
  work = join(root, 'work');
  git(undefined, ['init', '--quiet', work]);
  write(work, 'assets/first.bin', pointerFile(objects.first, 3));
  write(work, 'assets/second.bin', pointerFile(objects.second, 3));
  write(work, 'plain.bin', pointerFile(objects.plain));
  write(work, 'later.bin', pointerFile(objects.later));
  write(work, 'README.md', 'LFS fixture\n');
  git(work, ['add', '-A']);
  git(work, ['commit', '--quiet', '-m', 'assets']);
  bare = join(root, 'source', 'lfs.git');
  git(undefined, ['clone', '--quiet', '--bare', work, bare]);
  // No bitmap index: with one, pack-objects only reuses stored deltas for a thin pack, and the pushed pointer would go whole.
  git(bare, ['repack', '-adfq', '--depth=50', '--window=250', '--no-write-bitmap-index']);
  for (const object of [objects.first, objects.second, objects.plain]) serve(bare, object); // `later` is missing on the server at first
  initBare(join(root, 'target', 'copy.git'));
  const init = await runCli(['init']);
  assert.equal(init.code, 0, init.stderr);
});

after(async () => {
  await source?.close();
  await target?.close();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('LFS objects', () => {
  let firstId: string;
  let secondId: string;

  it('are stored by the first backup, a deltified pointer included; a missing one is reported', async () => {
    const packDir = join(bare, 'objects', 'pack');
    const index = readdirSync(packDir).find((name) => name.endsWith('.idx'))!;
    const ids = [git(bare, ['rev-parse', 'HEAD:assets/first.bin']).trim(), git(bare, ['rev-parse', 'HEAD:assets/second.bin']).trim()];
    const deltas = git(bare, ['verify-pack', '-v', join(packDir, index)]).split('\n').filter((line) => ids.some((id) => line.startsWith(id)) && /\s[0-9a-f]{40}$/.test(line));
    assert.equal(deltas.length, 1, 'git stored one of the two pointers as a delta of the other');

    const from = source.requests.length;
    const result = await cli(['backup', source.url('lfs.git'), '--repo', 'acme/lfs']);
    firstId = result.snapshot as string;
    const { manifest, index: metadata } = await snapshot(firstId);
    assert.equal(manifest.metadata?.partial, true, 'a missing object leaves the snapshot partial');
    assert.deepEqual(metadata.lfs?.items.map((entry) => entry.oid), [objects.first.oid, objects.second.oid, objects.plain.oid].sort());
    assert.deepEqual(metadata.lfs?.missing.map((entry) => [entry.oid, entry.reason]), [[objects.later.oid, 'The LFS server does not have it (404 Object does not exist).']]);
    assert.equal(metadata.lfs?.complete, false);
    assert.equal(manifest.bundles[0]?.lfsPointers?.length, 4);
    assert.deepEqual(lfsRequests(source, from), { batches: 1, downloads: [objects.first.oid, objects.second.oid, objects.plain.oid].sort() });
  });

  it('a thin incremental finds the pointer whose delta base is in the first bundle; unchanged objects are not downloaded again; the missing one is fetched', async () => {
    serve(bare, objects.later);
    serve(bare, objects.third);
    write(work, 'assets/first.bin', pointerFile(objects.third, 3));
    git(work, ['commit', '--quiet', '-am', 'replace first']);
    git(work, ['push', '--quiet', bare, 'HEAD:refs/heads/main']);
    const from = source.requests.length;
    const result = await cli(['backup', source.url('lfs.git'), '--repo', 'acme/lfs']);
    secondId = result.snapshot as string;
    const { manifest, index: metadata } = await snapshot(secondId);
    assert.equal(manifest.metadata?.partial, false);
    assert.equal(metadata.lfs?.complete, true);
    assert.deepEqual(metadata.lfs?.items.map((entry) => entry.oid), Object.values(objects).map((object) => object.oid).sort());
    const { downloads } = lfsRequests(source, from);
    assert.deepEqual(downloads.sort(), [objects.later.oid, objects.third.oid].sort(), 'only the new and the missing object are downloaded');

    const increment = manifest.bundles[1]!;
    assert.equal(increment.kind, 'incremental');
    const newBlob = git(bare, ['rev-parse', 'HEAD:assets/first.bin']).trim();
    assert.deepEqual(increment.lfsPointers?.map((pointer) => pointer.blob), [newBlob]);
    // The increment's pack alone does not reveal the pointer: its base is in the first bundle.
    const bundle = await openStoredBundle(s3.makeStore('lfs'), manifest, increment, undefined);
    const scanner = new LfsPointerScanner();
    for await (const chunk of bundle.pack) await scanner.write(chunk);
    assert.deepEqual((await scanner.end()).pointers, [], 'the pointer is a delta against an object outside the thin pack');

    const before = source.requests.length;
    const unchanged = await cli(['backup', source.url('lfs.git'), '--repo', 'acme/lfs']);
    assert.equal(unchanged.status, 'unchanged');
    assert.deepEqual(lfsRequests(source, before), { batches: 0, downloads: [] }, 'stored objects cost no LFS request at all');
  });

  it('restore --to writes every object into the folder\'s LFS store, byte for byte', async () => {
    const folder = join(root, 'restored');
    const result = await cli(['restore', secondId, '--to', folder]);
    assert.deepEqual(result.lfs, { uploaded: 5, present: 0, missing: [] });
    for (const object of Object.values(objects)) {
      assert.deepEqual(readFileSync(lfsObjectPath(folder, object.oid)), object.content, object.oid);
    }
    assert.equal(refsOf(folder), refsOf(bare));
    // git-lfs itself finds them there: a clone of the folder pulls them from its LFS store (no server).
    const clone = join(root, 'restored-clone');
    git(undefined, ['clone', '--quiet', folder, clone]);
    // git-lfs's filters as `git lfs install` sets them (the tests' git reads no system or user config).
    git(clone, ['-c', 'filter.lfs.process=git-lfs filter-process', '-c', 'filter.lfs.smudge=git-lfs smudge -- %f', '-c', 'filter.lfs.clean=git-lfs clean -- %f', '-c', 'filter.lfs.required=true', 'lfs', 'pull']);
    // (The pointers with extension lines need those extensions configured to check out: the canonical ones do not.)
    assert.deepEqual(readFileSync(join(clone, 'plain.bin')), objects.plain.content);
    assert.deepEqual(readFileSync(join(clone, 'later.bin')), objects.later.content);
  });

  it('download writes them beside the bundles, and its restore.sh puts them in the new repository\'s LFS store; missing ones are said on stderr and in --json', async () => {
    const out = join(root, 'downloaded');
    const result = await cli(['download', secondId, '--out', out]) as { lfs: unknown; files: { path: string }[] };
    assert.deepEqual(result.lfs, { objects: 5, missing: [] });
    for (const object of Object.values(objects)) assert.ok(result.files.some((file) => file.path === `lfs/objects/${object.oid.slice(0, 2)}/${object.oid.slice(2, 4)}/${object.oid}`), object.oid);
    // Only sh and git (and cp): the objects land where git-lfs looks in a bare repository.
    const rebuilt = join(root, 'downloaded-rebuilt.git');
    execFileSync('sh', [join(out, 'restore.sh'), rebuilt], { stdio: 'pipe' });
    assert.equal(refsOf(rebuilt), refsOf(bare));
    for (const object of Object.values(objects)) assert.deepEqual(readFileSync(lfsObjectPath(rebuilt, object.oid)), object.content, object.oid);

    const partial = await runCli(['download', firstId, '--out', join(root, 'downloaded-partial'), '--json']);
    assert.equal(partial.code, 0, partial.stderr);
    assert.deepEqual((JSON.parse(partial.stdout) as { lfs: unknown }).lfs, { objects: 3, missing: [objects.later.oid] });
    assert.match(partial.stderr, new RegExp(`^1 LFS object\\(s\\) the snapshot names were never stored .*a checkout of them fails\\. ${objects.later.oid}$`, 'm'));
    const text = await runCli(['download', firstId, '--out', join(root, 'downloaded-text')]);
    assert.match(text.stdout, /^ {2}lfs\/objects\/ \(3 LFS object\(s\); restore\.sh puts them in the repository's LFS store\)$/m);
  });

  it('restore --push uploads them to the other host\'s LFS server; objects it has are not sent again', async () => {
    const result = await cli(['restore', firstId, '--push', target.url('copy.git')]);
    assert.deepEqual(result.lfs, { uploaded: 3, present: 0, missing: [objects.later.oid] });
    const copy = join(root, 'target', 'copy.git');
    for (const object of [objects.first, objects.second, objects.plain]) assert.deepEqual(readFileSync(lfsObjectPath(copy, object.oid)), object.content);

    const beside = await cli(['restore', secondId, '--push', target.url('copy.git'), '--beside']);
    assert.deepEqual(beside.lfs, { uploaded: 2, present: 3, missing: [] });
    for (const object of Object.values(objects)) assert.deepEqual(readFileSync(lfsObjectPath(copy, object.oid)), object.content);
  });

  it('restore --push to a host without LFS restores the refs and says the LFS step failed apart; --no-lfs skips it; lfs-push retries it alone', async () => {
    // A host without LFS: its git server answers 404 on the LFS batch endpoint.
    const plain = await startGitServer({ root: join(root, 'no-lfs'), receivePack: true });
    try {
      const copy = join(root, 'no-lfs', 'copy.git');
      initBare(copy);
      const url = plain.url('copy.git');
      const failed = await runCli(['restore', secondId, '--push', url, '--json']);
      assert.equal(failed.code, 1, failed.stderr);
      const result = JSON.parse(failed.stdout) as { refs: { to: string; oid: string }[]; steps: unknown; lfs?: unknown; lfsError: { code: string; message: string }; lfsRetry: string };
      assert.deepEqual(result.steps, { refs: 'restored', lfs: 'failed' });
      assert.equal(result.lfs, undefined, 'nothing uploaded');
      assert.match(result.lfsError.message, /404/);
      const retry = `lifeboat lfs-push ${secondId} --push ${url}`;
      assert.equal(result.lfsRetry, retry);
      assert.equal(refsOf(copy), refsOf(bare), 'every ref was restored');
      assert.deepEqual(result.refs.map((ref) => `${ref.oid} ${ref.to}`).sort().join('\n'), refsOf(bare).trim());
      assert.match(failed.stderr, new RegExp(`^lifeboat: error \\[RESTORE_LFS_NOT_UPLOADED\\]: Refs restored, LFS objects not uploaded: \\[GIT_HTTP\\] .*404.* — run \`${retry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\``, 'm'));

      const skippedCopy = join(root, 'no-lfs', 'skipped.git');
      initBare(skippedCopy);
      const skipped = await runCli(['restore', secondId, '--push', plain.url('skipped.git'), '--no-lfs']);
      assert.equal(skipped.code, 0, skipped.stderr);
      assert.match(skipped.stdout, new RegExp(`LFS objects not uploaded \\(--no-lfs\\): \`lifeboat lfs-push ${secondId} --push `));
      assert.equal(refsOf(skippedCopy), refsOf(bare));
      assert.equal(plain.requests.filter((request) => request.path.includes('/info/lfs/')).length, 1, 'only the first restore asked for LFS');
    } finally {
      await plain.close();
    }

    // Refs first, without LFS; then the LFS step alone, twice: the second finds every object there.
    const later = join(root, 'target', 'later.git');
    initBare(later);
    const refsOnly = await cli(['restore', secondId, '--push', target.url('later.git'), '--no-lfs']);
    assert.deepEqual(refsOnly.steps, { refs: 'restored', lfs: 'skipped' });
    assert.equal(refsOnly.lfs, undefined);
    const pushed = await cli(['lfs-push', secondId, '--push', target.url('later.git')]);
    assert.deepEqual(pushed.lfs, { uploaded: 5, present: 0, missing: [] });
    for (const object of Object.values(objects)) assert.deepEqual(readFileSync(lfsObjectPath(later, object.oid)), object.content);
    const again = await runCli(['lfs-push', secondId, '--push', target.url('later.git')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^0 LFS object\(s\) uploaded, 5 already there\.$/m);
  });

  it('a backup split across invocations keeps the pointers of the bundles an earlier invocation stored', async () => {
    const split = join(root, 'split');
    git(undefined, ['init', '--quiet', split]);
    const one = lfsObject();
    const two = lfsObject();
    write(split, 'one.bin', pointerFile(one));
    git(split, ['add', '-A']);
    git(split, ['commit', '--quiet', '-m', 'one']);
    git(split, ['checkout', '--quiet', '--orphan', 'other']);
    git(split, ['rm', '--quiet', '-rf', '.']);
    write(split, 'two.bin', pointerFile(two));
    git(split, ['add', '-A']);
    git(split, ['commit', '--quiet', '-m', 'two']);
    const splitBare = join(root, 'source', 'split.git');
    git(undefined, ['clone', '--quiet', '--bare', '--no-local', split, splitBare]);
    git(splitBare, ['fetch', '--quiet', split, 'refs/heads/*:refs/heads/*']);
    serve(splitBare, one);
    serve(splitBare, two);
    const store = s3.makeStore('lfs');
    const splitRepo = parseRepoPath('acme/split');
    const run = (deadline?: Date) => backup({
      store, repo: splitRepo, git: createGitClient({ url: source.url('split.git') }), trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null,
      metadata: [lfsCollector(createLfsClient({ url: source.url('split.git'), loopbackTransfers: true }))], maxRefsPerBundle: 1, ...(deadline ? { deadline } : {}),
    });
    const first = await run(new Date(0)); // stops after its first bundle
    assert.equal(first.status, 'partial');
    const [pending] = await listPending(store, splitRepo);
    assert.equal(pending?.bundles.length, 1);
    assert.equal(pending?.bundles[0]?.lfsPointers?.length, 1, 'the pending record holds the stored bundle\'s pointers');
    const second = await run();
    assert.equal(second.status, 'created');
    assert.ok(second.status === 'created');
    const metadata = await readMetadataIndex(store, second.snapshot);
    assert.deepEqual(metadata?.lfs?.items.map((entry) => entry.oid), [one.oid, two.oid].sort());
    assert.equal(metadata?.lfs?.complete, true);
  });

  it('a transfer cut mid-backup leaves the rest missing with the reason; encrypted objects restore with the identity', async () => {
    const work2 = join(root, 'cut-work');
    git(undefined, ['init', '--quiet', work2]);
    const [a, b] = [lfsObject(), lfsObject()].sort((x, y) => (x.oid < y.oid ? -1 : 1)) as [LfsFixture, LfsFixture];
    write(work2, 'a.bin', pointerFile(a));
    write(work2, 'b.bin', pointerFile(b));
    git(work2, ['add', '-A']);
    git(work2, ['commit', '--quiet', '-m', 'two objects']);
    const cutBare = join(root, 'cut', 'cut.git');
    git(undefined, ['clone', '--quiet', '--bare', work2, cutBare]);
    serve(cutBare, a);
    serve(cutBare, b);
    let cut = true;
    const flaky = await startGitServer({ root: join(root, 'cut'), lfs: true, onRequest: (request) => (cut && request.method === 'GET' && request.path.endsWith(b.oid) ? 'drop' : undefined) });
    try {
      const { identity, recipient } = await generateIdentity();
      const store = s3.makeStore('lfs-encrypted');
      await initBucket(store, { recipients: [recipient] });
      const cutRepo = parseRepoPath('acme/cut');
      const run = () => backup({
        store, repo: cutRepo, git: createGitClient({ url: flaky.url('cut.git') }), trigger: 'cli', ...TEST_SIGNER, encryption: { scheme: 'age', recipients: [recipient] }, objectLock: null,
        metadata: [lfsCollector(createLfsClient({ url: flaky.url('cut.git'), loopbackTransfers: true }))],
      });
      const first = await run();
      assert.ok(first.status === 'created');
      assert.equal(first.snapshot.metadata?.partial, true);
      const index = await readMetadataIndex(store, first.snapshot);
      assert.deepEqual(index?.lfs?.items.map((entry) => entry.oid), [a.oid]);
      assert.deepEqual(index?.lfs?.missing.map((entry) => entry.oid), [b.oid]);
      assert.match(index?.lfs?.missing[0]?.reason ?? '', /next backup tries again/);
      const stored = await collect(await store.get(index!.lfs!.items[0]!.object.key));
      assert.equal(index?.lfs?.items[0]?.object.encrypted, true);
      assert.ok(!stored.includes(a.content.subarray(0, 64)), 'the stored object is encrypted');

      cut = false;
      const second = await run();
      assert.ok(second.status === 'created', 'same refs, changed metadata: a new snapshot');
      const completed = await readMetadataIndex(store, second.snapshot);
      assert.deepEqual(completed?.lfs?.items.map((entry) => entry.oid), [a.oid, b.oid]);
      assert.equal(second.snapshot.metadata?.partial, false);

      const copy = join(root, 'target', 'cut-copy.git');
      initBare(copy);
      const report = await uploadLfsObjects({ store, manifest: second.snapshot, client: createLfsClient({ url: target.url('cut-copy.git'), loopbackTransfers: true }), identities: [identity] });
      assert.deepEqual(report, { uploaded: 2, present: 0, missing: [] });
      for (const object of [a, b]) assert.deepEqual(readFileSync(lfsObjectPath(copy, object.oid)), object.content);
    } finally {
      await flaky.close();
    }
  });
});
