/**
 * Segmented fetch, by history (src/engine/segments.ts) through real parts: a long
 * single-branch repository built with git fast-import, served by `git http-backend`,
 * backed up with a small byte budget; the chain is checked with plain git
 * (`git bundle verify` in order, the documented standard-tools recipe, restore.sh)
 * and restored by push and into a folder.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backup, type BackupOptions, type BackupResult } from '../src/engine/backup.js';
import { listPending } from '../src/engine/bucket/catalog.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { snapshotKey } from '../src/engine/bucket/bucket-keys.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import { initBucket } from '../src/engine/bucket/marker.js';
import { MemoryBlobStore } from '../src/engine/bucket/memory-store.js';
import { readPlain } from '../src/engine/bucket/objects.js';
import { createGitClient } from '../src/engine/git/client.js';
import type { GitClient } from '../src/engine/git/types.js';
import { restoreToRemote } from '../src/engine/remote-restore.js';
import { isSegmentRef } from '../src/engine/segments.js';
import { collect } from '../src/engine/streams.js';
import { chainProblems } from '../src/engine/verify.js';
import { restoreToDirectory } from '../src/cli/services/local-restore.js';
import { downloadSnapshot } from '../src/cli/services/download.js';
import { startGitServer } from './helpers/git-server.js';
import { importLinearHistory } from './helpers/fixtures.js';
import { fsck, git, initBare, refsOf } from './helpers/repos.js';
import { TEST_SIGNER } from './helpers/signing.js';

type GitServer = Awaited<ReturnType<typeof startGitServer>>;

let root: string;
let server: GitServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-segments-'));
  server = await startGitServer({ root: join(root, 'served'), receivePack: true });
});

after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** 2 KB of incompressible text per commit: the pack grows with the history, as a real one does. */
const COMMITS = 120;
const STEP = 20;
/** About two steps of history: the first segment takes one step, later ones two once the first was measured. */
const BUDGET = 80_000;

/** A bare repository with one branch of `commits` commits (git fast-import: fast), and an annotated tag on it. */
function longBranch(name: string, commits = COMMITS): { bare: string; url: string } {
  const bare = join(root, 'served', `${name}.git`);
  initBare(bare);
  importLinearHistory(bare, { commits, bytes: 1500, firstTime: 1_700_000_000 });
  git(bare, ['tag', '-a', 'v1', '-m', 'Release 1', `main~${Math.floor(commits / 4)}`]);
  return { bare, url: server.url(`${name}.git`) };
}

function isAncestor(bare: string, ancestor: string, commit: string): boolean {
  try {
    git(bare, ['merge-base', '--is-ancestor', ancestor, commit]);
    return ancestor !== commit;
  } catch {
    return false;
  }
}

async function freshBucket(): Promise<MemoryBlobStore> {
  const store = new MemoryBlobStore();
  await initBucket(store, {});
  return store;
}

/** A client that counts what it is asked, and can die (as with kill -9) at its n-th fetch. */
function observed(url: string, dieAtFetch?: number): { client: GitClient; fetches: string[][]; boundaries: number } {
  const inner = createGitClient({ url });
  const seen = { fetches: [] as string[][], boundaries: 0 };
  const client: GitClient = {
    url: inner.url,
    listRefs: () => inner.listRefs(),
    fetchPack: async (options) => {
      seen.fetches.push([...options.wants].sort());
      if (seen.fetches.length === dieAtFetch) throw new Error('killed');
      return inner.fetchPack(options);
    },
    shallowBoundary: async (options) => {
      seen.boundaries += 1;
      return inner.shallowBoundary!(options);
    },
    listPushRefs: () => inner.listPushRefs(),
    push: (options) => inner.push(options),
  };
  return Object.assign(seen, { client });
}

function run(store: MemoryBlobStore, client: GitClient, extra: Partial<BackupOptions> = {}): Promise<BackupResult> {
  return backup({
    store, repo: { workspace: 'ws', repository: 'repo' }, git: client, trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null,
    segments: { requestSeconds: 180, maxBytes: BUDGET, commitsPerStep: STEP }, ...extra,
  });
}

function created(result: BackupResult): SnapshotManifest {
  assert.equal(result.status, 'created');
  return (result as Extract<BackupResult, { status: 'created' }>).snapshot;
}

/** The chain's bundles as files, in apply order. */
async function bundleFiles(store: MemoryBlobStore, manifest: SnapshotManifest, directory: string): Promise<string[]> {
  mkdirSync(directory, { recursive: true });
  const files: string[] = [];
  for (const [index, entry] of manifest.bundles.entries()) {
    const file = join(directory, `b${index}.bundle`);
    writeFileSync(file, await collect(readPlain(store, manifest, entry, undefined)));
    files.push(file);
  }
  return files;
}

/**
 * What "Restoring without Lifeboat" (docs/bucket-format.md) works with: the bucket as
 * files, an `aws` that serves them (s3 cp, s3 ls), the script saved as the document
 * says, and its command listing snapshot ids (for repository ws/repo).
 */
async function standardTools(store: MemoryBlobStore, name: string): Promise<{ env: NodeJS.ProcessEnv; work: string; script: string; listIds: string }> {
  const bucket = join(root, `bucket-${name}`);
  for await (const { key } of store.list('')) {
    mkdirSync(dirname(join(bucket, 'prefix', key)), { recursive: true });
    writeFileSync(join(bucket, 'prefix', key), await collect(await store.get(key)));
  }
  const bin = join(root, `fake-aws-${name}`);
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'aws'), [
    '#!/bin/sh',
    '# aws s3 cp [--only-show-errors] s3://bucket/<key> <file>; aws s3 ls s3://bucket/<prefix>/ (objects only, as "date time size name")',
    '[ "$1" = s3 ] || exit 2',
    'case $2 in',
    `  cp) shift 2; [ "$1" != --only-show-errors ] || shift; cp "${bucket}/\${1#s3://bucket/}" "$2" ;;`,
    `  ls) for f in "${bucket}/\${3#s3://bucket/}"*; do if [ -f "$f" ]; then echo "2026-12-07 06:15:00 $(wc -c < "$f") \${f##*/}"; fi; done ;;`,
    '  *) exit 2 ;;',
    'esac',
    '',
  ].join('\n'));
  chmodSync(join(bin, 'aws'), 0o755);
  const doc = readFileSync(new URL('../docs/bucket-format.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Restoring without Lifeboat'), doc.indexOf('### Finding a repository by name'));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const listIds = blocks.find((block) => block.includes('/snapshots/"'))!.replace('repo=acme/web', 'repo=ws/repo');
  const work = join(root, `${name}-work`);
  mkdirSync(work);
  const script = join(work, 'restore-from-bucket.sh');
  writeFileSync(script, blocks.find((block) => block.startsWith('#!/bin/sh'))!);
  return { env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }, work, script, listIds };
}

describe('segmented fetch, by history', () => {
  it('a single branch backed up with a small byte budget becomes a chain of ordinary bundles that git applies in order', async () => {
    const repo = longBranch('long');
    const store = await freshBucket();
    const snapshot = created(await run(store, observed(repo.url).client));

    assert.ok(snapshot.bundles.length >= 4, `a chain of ${snapshot.bundles.length} bundles`);
    const segments = snapshot.bundles.filter((bundle) => bundle.refs.every((ref) => isSegmentRef(ref.name)));
    assert.equal(segments.length, snapshot.bundles.length - 1, 'every bundle but the last carries history up to a cut point');
    assert.equal(snapshot.bundles[0]!.kind, 'full');
    for (const [index, bundle] of snapshot.bundles.entries()) {
      if (index === 0) continue;
      // Each segment's prerequisites are the tips the bundles before it brought.
      const before = new Set(snapshot.bundles.slice(0, index).flatMap((earlier) => earlier.refs.map((ref) => ref.oid)));
      assert.ok(bundle.prerequisites.length > 0 && bundle.prerequisites.every((oid) => before.has(oid)), `bundle ${index + 1} needs only earlier tips`);
    }
    // The first segment takes one cut, whatever it weighs; later ones as many as the budget holds at the bytes per cut measured,
    // ending at a tag where one is in range: cut 5 is v1's (main~30, half way between the cuts at main~40 and main~20).
    const cutOf = (bundle: (typeof segments)[number]): number => Number(bundle.refs[0]!.name.split('/').at(-2));
    assert.deepEqual(segments.map(cutOf), [1, 3, 5, 6], 'one cut, then two steps per segment, the second up to v1, then the last step');
    assert.ok(segments[2]!.refs.some((ref) => ref.oid === git(repo.bare, ['rev-parse', 'v1^{commit}']).trim()));
    assert.ok(segments.every((bundle) => bundle.pack.bytes <= BUDGET), 'every segment within the budget');
    assert.deepEqual(chainProblems(snapshot), []);
    assert.ok(snapshot.refs.every((ref) => !isSegmentRef(ref.name)), 'segment refs are no refs of the snapshot');

    // Plain git: each bundle verifies against the bundles before it, and applies.
    const files = await bundleFiles(store, snapshot, join(root, 'bundles', 'long'));
    const plain = join(root, 'plain', 'long.git');
    initBare(plain);
    for (const [index, file] of files.entries()) {
      git(plain, ['bundle', 'verify', '--quiet', file]);
      git(plain, ['fetch', '--quiet', '--no-tags', file, `+refs/*:refs/b${index}/*`]);
    }
    // Restores: the real refs exactly, no segment ref, fsck clean.
    const folder = join(root, 'restored', 'long.git');
    await restoreToDirectory({ store, manifest: snapshot, directory: folder });
    assert.equal(refsOf(folder), refsOf(repo.bare));
    fsck(folder);
    const target = join(root, 'served', 'long-target.git');
    initBare(target);
    await restoreToRemote({ store, manifest: snapshot, git: createGitClient({ url: server.url('long-target.git') }), mode: 'empty' });
    assert.equal(refsOf(target), refsOf(repo.bare));
    fsck(target);
    // restore.sh, with nothing but sh and git on PATH.
    const out = join(root, 'downloads', 'long');
    await downloadSnapshot(store, snapshot, { directory: out, manifestBytes: await storedManifest(store, snapshot) });
    const bin = join(root, 'only-sh-and-git');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['sh', 'git']) execFileSync('ln', ['-sf', execFileSync('sh', ['-c', `command -v ${tool}`]).toString().trim(), join(bin, tool)]);
    const rebuilt = join(root, 'restored', 'long-sh.git');
    execFileSync(join(bin, 'sh'), [join(out, 'restore.sh'), rebuilt], { env: { PATH: bin, HOME: root }, stdio: 'pipe' });
    assert.equal(refsOf(rebuilt), refsOf(repo.bare));
    fsck(rebuilt);
  });

  it('the recipe of docs/bucket-format.md ("Restoring without Lifeboat"), saved and run as written, rebuilds a segmented snapshot; the ids are listed as written', async () => {
    const repo = longBranch('recipe');
    const store = await freshBucket();
    const snapshot = created(await run(store, observed(repo.url).client));
    assert.ok(snapshot.bundles.length >= 4);
    const { env, work, script, listIds } = await standardTools(store, 'recipe');

    assert.equal(execFileSync('sh', ['-c', listIds], { cwd: work, env, stdio: 'pipe' }).toString(), `${snapshot.id}\n`);
    const said = execFileSync('sh', [script, 's3://bucket/prefix', 'ws/repo', snapshot.id, 'web.git'], { cwd: work, env, stdio: 'pipe' }).toString();
    assert.match(said, /^restored ws\/repo snapshot .* into web\.git$/m);
    assert.equal(refsOf(join(work, 'web.git')), refsOf(repo.bare));
    fsck(join(work, 'web.git'));
  });

  it('the recipe restores an encrypted snapshot with its age identity; a wrong identity or none fails loudly, non-zero, with no repository', async () => {
    const repo = longBranch('recipe-age', 40);
    const store = await freshBucket();
    const key = await generateIdentity();
    const snapshot = created(await run(store, observed(repo.url).client, { encryption: { scheme: 'age', recipients: [key.recipient] } }));
    assert.ok(snapshot.bundles.every((bundle) => bundle.encrypted));
    const { env, work, script } = await standardTools(store, 'recipe-age');
    writeFileSync(join(work, 'key.txt'), `${key.identity}\n`);
    writeFileSync(join(work, 'wrong.txt'), `${(await generateIdentity()).identity}\n`);
    const restore = (out: string, ...identity: string[]): ReturnType<typeof spawnSync> =>
      spawnSync('sh', [script, 's3://bucket/prefix', 'ws/repo', snapshot.id, out, ...identity], { cwd: work, env, encoding: 'utf8' });

    for (const [out, identity, why] of [['wrong.git', ['wrong.txt'], /age cannot decrypt bundle 0/], ['none.git', [], /encrypted: give the age identity file/]] as const) {
      const failed = restore(out, ...identity);
      assert.notEqual(failed.status, 0, `${out}: exit ${failed.status}`);
      assert.match(String(failed.stderr), why);
      assert.match(String(failed.stderr), /FAILED, nothing restored into/);
      assert.equal(existsSync(join(work, out)), false, `no ${out}`);
    }
    const restored = restore('web.git', 'key.txt');
    assert.equal(restored.status, 0, String(restored.stderr));
    assert.equal(refsOf(join(work, 'web.git')), refsOf(repo.bare));
    fsck(join(work, 'web.git'));
  });

  it('a backup stopped by its deadline mid-way resumes from the stored segments, fetching none of them again', async () => {
    const repo = longBranch('resume');
    const store = await freshBucket();
    const first = observed(repo.url);
    const partial = await run(store, first.client, { deadline: new Date(0) });
    assert.equal(partial.status, 'partial');
    assert.equal(first.fetches.length, 1, 'one segment, then the deadline');
    const [pending] = await listPending(store, { workspace: 'ws', repository: 'repo' });
    assert.equal(pending?.segments?.done, 1, 'the plan is kept with the pending record');

    assert.ok(partial.status === 'partial' && partial.segmented && partial.stored === 1 && partial.expected > 1, JSON.stringify(partial));

    const second = observed(repo.url);
    const fetched: Array<{ bundle: number; bundles: number; segmented: boolean }> = [];
    const done = created(await run(store, second.client, { onProgress: (progress) => { if (progress.phase === 'fetch') fetched.push({ bundle: progress.bundle, bundles: progress.bundles, segmented: progress.segmented }); } }));
    assert.equal(done.id, partial.status === 'partial' ? partial.pendingId : '', 'the same backup, continued');
    // Progress counts over the whole backup: the continuation's first fetch is bundle 2 of the chain, not 1.
    assert.deepEqual(fetched.map((progress) => progress.bundle), done.bundles.slice(1).map((_, index) => index + 2));
    assert.equal(fetched.at(-1)?.bundles, done.bundles.length, 'the last fetch knows the count');
    assert.ok(fetched.every((progress) => progress.segmented));
    assert.equal(second.boundaries, 0, 'the continuation does not plan again');
    const all = [...first.fetches, ...second.fetches].map((wants) => wants.join(' '));
    assert.equal(new Set(all).size, all.length, 'no segment fetched twice');
    assert.equal(all.length, done.bundles.length, 'one fetch per bundle');
    assert.deepEqual(await listPending(store, { workspace: 'ws', repository: 'repo' }), []);
    const folder = join(root, 'restored', 'resume.git');
    await restoreToDirectory({ store, manifest: done, directory: folder });
    assert.equal(refsOf(folder), refsOf(repo.bare));
    fsck(folder);
  });

  it('a segment fetch that fails (cut at the request cap) is retried smaller: the stored segments are not fetched again', async () => {
    const repo = longBranch('killed');
    const store = await freshBucket();
    const dying = observed(repo.url, 3);
    await assert.rejects(run(store, dying.client), /killed/);
    const [pending] = await listPending(store, { workspace: 'ws', repository: 'repo' });
    assert.equal(pending?.segments?.done, 3, 'two segments stored: cuts 1, then 2 and 3');
    const resumed = observed(repo.url);
    const done = created(await run(store, resumed.client));
    assert.equal(resumed.boundaries, 0, 'the plan survived');
    assert.deepEqual(resumed.fetches[1], dying.fetches[2], 'the failed segment (cuts 4 and 5) comes in two: up to cut 4, then cut 5');
    assert.notDeepEqual(resumed.fetches[0], dying.fetches[2]);
    const stored = dying.fetches.slice(0, 2).map((wants) => wants.join(' '));
    assert.ok(resumed.fetches.every((wants) => !stored.includes(wants.join(' '))), 'stored segments are not fetched again');
    assert.equal(done.bundles.length, 2 + resumed.fetches.length);
    const folder = join(root, 'restored', 'killed.git');
    await restoreToDirectory({ store, manifest: done, directory: folder });
    assert.equal(refsOf(folder), refsOf(repo.bare));
    fsck(folder);
  });

  it('a history rewritten and collected between two invocations: the stored segments stay, the rest comes with the refs', async () => {
    const repo = longBranch('rewritten');
    const store = await freshBucket();
    const partial = await run(store, observed(repo.url).client, { deadline: new Date(0) });
    assert.equal(partial.status, 'partial');
    // main now holds a new history; the old one, cut points included, is gone from the server.
    const tree = git(repo.bare, ['rev-parse', 'main^{tree}']).trim();
    const fresh = git(repo.bare, ['commit-tree', tree, '-m', 'Rewritten'], undefined).trim();
    git(repo.bare, ['update-ref', 'refs/heads/main', fresh]);
    git(repo.bare, ['tag', '-d', 'v1']);
    git(repo.bare, ['reflog', 'expire', '--expire=now', '--all']);
    git(repo.bare, ['gc', '--quiet', '--prune=now']);

    const resumed = observed(repo.url);
    const done = created(await run(store, resumed.client));
    assert.equal(done.id, partial.status === 'partial' ? partial.pendingId : '', 'the same backup, continued');
    assert.equal(resumed.fetches.length, 2, 'the refused cut, then the refs');
    assert.equal(done.bundles.length, 2, 'the stored segment and the refs');
    const folder = join(root, 'restored', 'rewritten.git');
    await restoreToDirectory({ store, manifest: done, directory: folder });
    assert.equal(refsOf(folder), refsOf(repo.bare));
    fsck(folder);
  });

  it('a repository\'s own ref under refs/lifeboat/segments/ is a ref like any other: restored, and never a prerequisite', async () => {
    const repo = longBranch('own-namespace');
    const blob = git(repo.bare, ['hash-object', '-w', '--stdin'], undefined, 'not a commit\n').trim();
    git(repo.bare, ['update-ref', 'refs/lifeboat/segments/mine', blob]);
    const store = await freshBucket();
    created(await run(store, observed(repo.url).client));
    // A commit more: the increment's prerequisites must all be commits.
    const tree = git(repo.bare, ['rev-parse', 'main^{tree}']).trim();
    git(repo.bare, ['update-ref', 'refs/heads/main', git(repo.bare, ['commit-tree', tree, '-p', 'main', '-m', 'One more']).trim()]);
    const second = created(await run(store, observed(repo.url).client));
    assert.ok(!second.bundles.at(-1)!.prerequisites.includes(blob), 'the blob is no prerequisite');
    const out = join(root, 'downloads', 'own-namespace');
    await downloadSnapshot(store, second, { directory: out, manifestBytes: await storedManifest(store, second) });
    const rebuilt = join(root, 'restored', 'own-namespace-sh.git');
    execFileSync('sh', [join(out, 'restore.sh'), rebuilt], { stdio: 'pipe' });
    assert.equal(refsOf(rebuilt), refsOf(repo.bare));
    fsck(rebuilt);
  });

  it('a first segment too large for its request is split by a cut half way down, and the retry goes on from there', async () => {
    const repo = longBranch('split-first');
    const store = await freshBucket();
    const failing = observed(repo.url, 1);
    await assert.rejects(run(store, failing.client), /killed/);
    const [pending] = await listPending(store, { workspace: 'ws', repository: 'repo' });
    assert.equal(pending?.segments?.cuts.length, 7, 'five cuts and v1\'s, and one more half way below the first');
    assert.deepEqual(pending?.segments?.spans.slice(0, 2), [10, 10]);
    assert.deepEqual(pending?.segments?.cuts[1], failing.fetches[0], 'the new cut lies below the one that failed');
    const retry = observed(repo.url);
    const done = created(await run(store, retry.client));
    assert.notDeepEqual(retry.fetches[0], failing.fetches[0], 'the retry fetches the smaller segment first');
    const folder = join(root, 'restored', 'split-first.git');
    await restoreToDirectory({ store, manifest: done, directory: folder });
    assert.equal(refsOf(folder), refsOf(repo.bare));
    fsck(folder);
  });

  it('an incremental too large for one request is segmented too: cuts on the new history only, kept across a continuation', async () => {
    const repo = longBranch('incremental');
    const store = await freshBucket();
    const first = created(await run(store, observed(repo.url).client));
    const oldMain = git(repo.bare, ['rev-parse', 'main']).trim();
    // A long history pushed at once: 130 commits beyond the stored tip (not a whole number of steps).
    importLinearHistory(repo.bare, { commits: 130, bytes: 1500, firstTime: 1_700_100_000 });

    const planning = observed(repo.url);
    const partial = await run(store, planning.client, { deadline: new Date(0) });
    assert.ok(partial.status === 'partial' && partial.segmented && partial.stored === 1, JSON.stringify(partial));
    const [pending] = await listPending(store, { workspace: 'ws', repository: 'repo' });
    assert.equal(pending?.base, first.id, 'it extends the first snapshot\'s chain');
    const cuts = pending!.segments!.cuts.flat();
    assert.equal(cuts.length, 6, 'a cut every 20 commits of the 130 new ones');
    // The walk ends at the step that reaches the stored tip, not at the root: 7 steps; then 4 to find how far below the oldest cut the tip is.
    assert.equal(planning.boundaries, 7 + 4);
    assert.deepEqual(pending!.segments!.spans, [10, 20, 20, 20, 20, 20], 'the oldest cut 10 commits above the stored tip');
    for (const cut of cuts) {
      assert.ok(isAncestor(repo.bare, oldMain, cut), `cut ${cut} lies on the new history`);
    }

    const resumed = observed(repo.url);
    const second = created(await run(store, resumed.client));
    assert.equal(second.id, partial.status === 'partial' ? partial.pendingId : '', 'the same backup, continued');
    assert.equal(resumed.boundaries, 0, 'the continuation does not plan again');
    const added = second.bundles.filter((bundle) => bundle.createdBy === second.id);
    assert.deepEqual(second.bundles.slice(0, first.bundles.length), first.bundles, 'the first chain, then the increments');
    assert.ok(added.length >= 4, `${added.length} incremental bundles`);
    assert.ok(added.every((bundle) => bundle.kind === 'incremental'));
    assert.ok(added.slice(0, -1).every((bundle) => bundle.refs.every((ref) => isSegmentRef(ref.name)) && bundle.pack.bytes <= BUDGET), 'segments within the budget, then the refs');
    assert.ok(added[0]!.prerequisites.includes(oldMain), 'the first segment builds on the stored tip');
    for (const [index, bundle] of second.bundles.entries()) {
      const before = new Set(second.bundles.slice(0, index).flatMap((earlier) => earlier.refs.map((ref) => ref.oid)));
      assert.ok(bundle.prerequisites.every((oid) => before.has(oid)), `bundle ${index + 1} needs only earlier tips`);
    }
    assert.deepEqual(chainProblems(second), []);

    // Plain git applies the chain in order.
    const files = await bundleFiles(store, second, join(root, 'bundles', 'incremental'));
    const plain = join(root, 'plain', 'incremental.git');
    initBare(plain);
    for (const [index, file] of files.entries()) {
      git(plain, ['bundle', 'verify', '--quiet', file]);
      git(plain, ['fetch', '--quiet', '--no-tags', file, `+refs/*:refs/b${index}/*`]);
    }
    assert.equal(git(plain, ['rev-parse', `refs/b${files.length - 1}/heads/main`]).trim(), git(repo.bare, ['rev-parse', 'main']).trim());
    const folder = join(root, 'restored', 'incremental.git');
    await restoreToDirectory({ store, manifest: second, directory: folder });
    assert.equal(refsOf(folder), refsOf(repo.bare));
    fsck(folder);

    // A short increment (on the same chain: the policy would start a new one now) costs the plan one deepen request, and comes in one bundle.
    importLinearHistory(repo.bare, { commits: 3, bytes: 100, firstTime: 1_700_200_000 });
    const short = observed(repo.url);
    const third = created(await run(store, short.client, { chainPolicy: { maxIncrements: 30, maxIncrementRatio: 10 } }));
    assert.equal(short.boundaries, 1);
    assert.equal(third.bundles.length, second.bundles.length + 1);
  });

  it('a new branch pushed at once with a long history is segmented along it, HEAD\'s branch unchanged', async () => {
    const repo = longBranch('new-branch');
    const store = await freshBucket();
    const first = created(await run(store, observed(repo.url).client));
    const oldMain = git(repo.bare, ['rev-parse', 'main']).trim();
    importLinearHistory(repo.bare, { commits: 70, bytes: 1500, firstTime: 1_700_300_000 });
    git(repo.bare, ['branch', 'big', 'main']);
    git(repo.bare, ['update-ref', 'refs/heads/main', oldMain]);

    const second = created(await run(store, observed(repo.url).client));
    const added = second.bundles.filter((bundle) => bundle.createdBy === second.id);
    const segments = added.filter((bundle) => bundle.refs.every((ref) => isSegmentRef(ref.name)));
    assert.ok(segments.length >= 2, `${segments.length} segments along big`);
    assert.ok(segments.flatMap((bundle) => bundle.refs).every((ref) => isAncestor(repo.bare, oldMain, ref.oid) && isAncestor(repo.bare, ref.oid, git(repo.bare, ['rev-parse', 'big']).trim())), 'every cut on big\'s new history');
    assert.deepEqual(second.bundles.slice(0, first.bundles.length), first.bundles);
    const folder = join(root, 'restored', 'new-branch.git');
    await restoreToDirectory({ store, manifest: second, directory: folder });
    assert.equal(refsOf(folder), refsOf(repo.bare));
    fsck(folder);
  });

  it('tags are natural cut points: a segment ends at a tagged commit where one lies within its budget', async () => {
    const repo = longBranch('tagged');
    // v1 (annotated) is on main~30; a lightweight tag on main~70; tags of a tree and of a blob are no cut points.
    git(repo.bare, ['tag', 'light', 'main~70']);
    git(repo.bare, ['tag', 'a-tree', 'main~50^{tree}']);
    git(repo.bare, ['tag', '-a', 'a-blob', '-m', 'A blob', 'main:history/file-1.txt']);
    const tagged = [git(repo.bare, ['rev-parse', 'v1^{commit}']).trim(), git(repo.bare, ['rev-parse', 'light']).trim()];
    const store = await freshBucket();
    const client = observed(repo.url);
    const snapshot = created(await run(store, client.client));

    const segments = snapshot.bundles.filter((bundle) => bundle.refs.every((ref) => isSegmentRef(ref.name)));
    const tips = segments.map((bundle) => bundle.refs.map((ref) => ref.oid));
    for (const commit of tagged) assert.ok(tips.some((oids) => oids.includes(commit)), `a segment ends at the tagged ${commit}`);
    // Each of them instead of the plain cut 10 commits further that the budget would also have held.
    assert.ok(segments.every((bundle) => bundle.pack.bytes <= BUDGET), 'every segment within the budget');
    assert.equal(segments.length, 4, 'one cut, then up to each tag, then the rest');
    assert.deepEqual(chainProblems(snapshot), []);
    const files = await bundleFiles(store, snapshot, join(root, 'bundles', 'tagged'));
    const plain = join(root, 'plain', 'tagged.git');
    initBare(plain);
    for (const [index, file] of files.entries()) {
      git(plain, ['bundle', 'verify', '--quiet', file]);
      git(plain, ['fetch', '--quiet', '--no-tags', file, `+refs/*:refs/b${index}/*`]);
    }
    const folder = join(root, 'restored', 'tagged.git');
    await restoreToDirectory({ store, manifest: snapshot, directory: folder });
    assert.equal(refsOf(folder), refsOf(repo.bare));
    fsck(folder);
  });

  it('a history shorter than one step is fetched in one bundle, as before', async () => {
    const repo = longBranch('short', STEP - 5);
    const store = await freshBucket();
    const client = observed(repo.url);
    const snapshot = created(await run(store, client.client));
    assert.equal(snapshot.bundles.length, 1);
    assert.equal(client.boundaries, 1, 'one deepen request found no cut');
    assert.deepEqual(await listPending(store, { workspace: 'ws', repository: 'repo' }), [], 'no pending record for a backup in one bundle');
  });
});

/** The manifest as stored, as `lifeboat download` writes it. */
async function storedManifest(store: BlobStore, manifest: SnapshotManifest): Promise<Buffer> {
  return collect(await store.get(snapshotKey(manifest.repository, manifest.id)));
}
