// Issue 17's "kill -9 of the world mid-way and restart: it resumes from the stored
// segments", at a small scale. The world runs in a process of its own, with
// Forge's outbound request cap at 3 s and Bitbucket's git at 1 MiB/s (the
// sandbox's knobs, from the environment): a single-branch repository of about
// 6 MB is backed up in segments. Once a segment is stored and the next is on its
// way, the process is killed with SIGKILL and a new one started on the same data
// and ports. Forge keeps a queue's events and retries one whose invocation died
// (sandbox/forge/queues.ts), so the same job goes on from the stored segments and
// ends done; a restore of its snapshot gives the source's refs, `git fsck` clean.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import type { BackupRequested, JobView, Result } from '../src/contract.js';
import { type RepoPath, pendingKey } from '../src/engine/bucket/bucket-keys.js';
import { listPending, listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import { type PendingBackup, parseDocument, pendingSchema } from '../src/engine/bucket/format.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { isSegmentRef } from '../src/engine/segments.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { gitAsync } from '../sandbox/bitbucket/test-support.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE } from './helpers/app-world.js';
import { importLinearHistory } from './helpers/fixtures.js';
import { git, refsOf } from './helpers/repos.js';
import { startWorldProcess, type WorldProcessReady } from './helpers/world-process.js';

const SLUG = 'docs';
const RESTORED = 'docs-restored';
/** The sandbox's knobs: Forge's per-request cap, Bitbucket's git rate and push cap (below the whole pack, above a segment). */
const KNOBS = {
  LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S: '3',
  LIFEBOAT_SANDBOX_GIT_BYTES_PER_S: String(1024 * 1024),
  LIFEBOAT_SANDBOX_PUSH_MAX_BYTES: String(3 * 1024 * 1024),
};
/** The app sizes its segments to the same cap (a Forge variable). */
const APP_VARIABLES = { LIFEBOAT_OUTBOUND_REQUEST_SECONDS: '3' };
/** How often the test looks at the bucket and the job: a poll, not a wait for something not to happen. */
const POLL_MS = 50;

/** A resolver of the repository's settings page, called over HTTP as the page does (POST /__sandbox/invoke). */
async function repoPage<T>(ready: WorldProcessReady, functionKey: string, payload?: unknown): Promise<T> {
  const response = await fetch(new URL('/__sandbox/invoke', ready.urls.pages.home), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ moduleKey: 'lifeboat-repo-settings', functionKey, payload, as: 'admin', repositorySlug: SLUG }),
  });
  const answer = (await response.json()) as { ok: true; body: T } | { ok: false; error: { message: string } };
  if (!answer.ok) throw new Error(`${functionKey}: ${answer.error.message}`);
  return answer.body;
}

/** Polls the job until it has finished, one way or the other. */
async function finished(ready: WorldProcessReady, jobId: string): Promise<JobView> {
  for (;;) {
    const job = await repoPage<Result<JobView>>(ready, 'getJob', { jobId });
    assert.ok(job.ok, JSON.stringify(job));
    if (job.value.state === 'done' || job.value.state === 'failed') return job.value;
    await delay(POLL_MS);
  }
}

/** Resolves once nothing listens on the port (the killed world's bucket server, a process of its own, stops when it sees its parent gone). */
async function portFree(port: number): Promise<void> {
  for (;;) {
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return;
    }
    await delay(POLL_MS);
  }
}

/** The pending record as the killed world left it on disk (s3rver's file store keeps key K in `<bucket>/K._S3rver_object`). */
async function pendingOnDisk(dataDir: string, repo: RepoPath, id: string): Promise<PendingBackup> {
  const file = join(dataDir, 's3', DEMO_BUCKET, 'lifeboat', `${pendingKey(repo, id)}._S3rver_object`);
  return parseDocument(pendingSchema, await readFile(file), 'the pending record');
}

function stop(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<unknown> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = once(child, 'exit');
  child.kill(signal);
  return exited;
}

test('a segmented backup whose world is killed (SIGKILL) mid-way resumes from the stored segments in a new world on the same data, its job ends done, and it restores', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lifeboat-kill-'));
  const scratch = await mkdtemp(join(tmpdir(), 'lifeboat-kill-work-'));
  let child: ChildProcess | undefined;
  t.after(async () => {
    await stop(child, 'SIGTERM');
    await Promise.all([rm(dataDir, { recursive: true, force: true }), rm(scratch, { recursive: true, force: true })]);
  });
  const options = { dataDir, appVariables: APP_VARIABLES, repositories: [SLUG], gitUrlsFor: [RESTORED] };
  const first = await startWorldProcess({ ...options, configure: true }, KNOBS);
  child = first.child;

  // One branch, history only: 2,000 commits of 3 KB of random bytes each (a pack of about 6 MB, six seconds of git at this rate).
  const bare = first.ready.repositories[SLUG]!.gitDir;
  for (const line of refsOf(bare).trim().split('\n').filter(Boolean)) git(bare, ['update-ref', '-d', line.split(' ')[1]!]);
  importLinearHistory(bare, { commits: 2000, bytes: 2250 });
  git(bare, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
  git(bare, ['gc', '--quiet']);
  const sourceRefs = refsOf(bare).trim().split('\n').filter(Boolean).sort();

  const { bucket } = first.ready.urls;
  const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  const repo = { workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(first.ready.repositories[SLUG]!.uuid) };

  const started = await repoPage<Result<BackupRequested>>(first.ready, 'backupNow');
  assert.ok(started.ok, JSON.stringify(started));
  const jobId = started.value.job.id;

  // One delivery runs every segment in turn: once the pending record lists a stored one, the next is being fetched.
  let seen: PendingBackup | undefined;
  while (!seen) {
    const [pending] = await listPending(store, repo);
    if (pending?.segments && pending.bundles.length >= 1) seen = pending;
    else {
      assert.deepEqual(await listSnapshotIds(store, repo), [], 'the backup was not over before a segment was seen stored');
      await delay(POLL_MS);
    }
  }
  assert.ok(seen.bundles.length <= seen.segments!.cuts.length, `${seen.bundles.length} of ${seen.segments!.cuts.length + 1} bundles stored: the backup is mid-way`);
  await stop(child, 'SIGKILL');
  child = undefined;
  const ports = first.ready.ports;
  await portFree(ports.s3);

  const atKill = await pendingOnDisk(dataDir, repo, seen.id);
  assert.ok(atKill.bundles.length >= seen.bundles.length, 'what was stored stays stored');
  assert.ok(atKill.bundles.every((bundle) => bundle.refs.every((ref) => isSegmentRef(ref.name))), 'only segments so far');
  // Forge's queue, not the killed process, holds the event whose delivery died with it.
  const queued = JSON.parse(await readFile(join(dataDir, 'forge', 'queue.json'), 'utf8')) as Array<{ payload: { body: { jobId?: string } }; running: boolean }>;
  assert.deepEqual(queued.filter((event) => event.payload.body.jobId === jobId).map((event) => event.running), [true], 'the backup\'s event was being delivered when the world died');

  // The same data and ports; nobody asks for anything: the queue's own retry of the killed delivery carries on.
  const second = await startWorldProcess({ ...options, ports }, KNOBS);
  child = second.child;
  const job = await finished(second.ready, jobId);
  assert.equal(job.state, 'done', JSON.stringify(job));

  const kvs = JSON.parse(await readFile(join(dataDir, 'forge', 'kvs.json'), 'utf8')) as Record<string, { value: unknown }>;
  const keys = (kvs['signing:keys']?.value as { keys: Array<{ fingerprint: string }> } | undefined)?.keys ?? [];
  const snapshotIds = await listSnapshotIds(store, repo);
  assert.deepEqual(snapshotIds, [seen.id], 'one snapshot: the interrupted backup, continued');
  const snapshot = await readManifest(store, { repo, id: seen.id }, { keys: keys.map((key) => key.fingerprint), unsigned: 'refuse' });
  assert.deepEqual(await listPending(store, repo), [], 'no pending record left');
  // Stored before the kill, taken as they are: none fetched again.
  assert.deepEqual(snapshot.bundles.slice(0, atKill.bundles.length), atKill.bundles);
  const segmentRefs = snapshot.bundles.flatMap((bundle) => bundle.refs.filter((ref) => isSegmentRef(ref.name)).map((ref) => ref.name));
  assert.equal(new Set(segmentRefs).size, segmentRefs.length, `each segment once: ${segmentRefs.join(', ')}`);
  assert.ok(snapshot.bundles.length > atKill.bundles.length, 'the rest came after the restart');
  t.diagnostic(`${atKill.bundles.length} of ${snapshot.bundles.length} bundles stored when the world was killed`);
  assert.deepEqual(snapshot.refs.map((ref) => `${ref.oid} ${ref.name}`).sort(), sourceRefs);

  // Restored into a new repository under the push cap, which the whole pack is over (one push of it would be refused):
  // the source's refs, and nothing broken.
  const packBytes = snapshot.bundles.reduce((sum, bundle) => sum + bundle.pack.bytes, 0);
  assert.ok(packBytes > Number(KNOBS.LIFEBOAT_SANDBOX_PUSH_MAX_BYTES), `${packBytes} bytes in all, over the push cap`);
  const restore = await repoPage<Result<JobView>>(second.ready, 'startRestore', { snapshotId: snapshot.id, mode: 'new-repository', newRepositorySlug: RESTORED });
  assert.ok(restore.ok, JSON.stringify(restore));
  const restored = await finished(second.ready, restore.value.id);
  assert.equal(restored.state, 'done', JSON.stringify(restored));
  const mirror = join(scratch, 'mirror');
  await gitAsync(undefined, ['clone', '--quiet', '--mirror', second.ready.gitUrls[RESTORED]!, mirror]);
  assert.deepEqual(refsOf(mirror).trim().split('\n').filter(Boolean).sort(), sourceRefs, 'refs identical to the source');
  await gitAsync(mirror, ['fsck', '--full', '--strict', '--no-dangling']);
});
