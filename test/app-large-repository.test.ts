// Issue 17's "done means", at a small scale: through the Forge app in the local
// world, with Forge's outbound request cap lowered to 3 s and Bitbucket's git
// throttled to 1 MiB/s, a single-branch repository whose pack (6 MB of
// incompressible content) could not come in one request is backed up in segments
// with no request over the cap; the world is stopped mid-way and started again on
// the same data, and the backup goes on from the stored segments; the snapshot is
// then restored into a new repository under a push cap below the whole pack but
// above one segment: refs identical, `git fsck` clean.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BackupRequested, JobView, Result } from '../src/contract.js';
import { listPending, listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { isSegmentRef } from '../src/engine/segments.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { type InvocationRecord, ManualClock } from '../sandbox/forge/index.js';
import { gitAsync } from '../sandbox/bitbucket/test-support.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { importLinearHistory } from './helpers/fixtures.js';
import { git, refsOf } from './helpers/repos.js';

const CAP_SECONDS = 3;
const BYTES_PER_SECOND = 1024 * 1024;
/** Below the whole pack (about 6 MB), above one segment (half of what one request carries: 1.5 MB). */
const PUSH_MAX_BYTES = 3 * 1024 * 1024;
/** 2,000 commits: three cut points of the default 500-commit step, so four bundles. */
const COMMITS = 2000;
const SLUG = 'docs';

function worldOptions(dataDir: string, ports?: { ui: number; bitbucket: number; s3: number }): Parameters<typeof startAppWorld>[0] {
  return {
    dataDir,
    ...(ports ? { ports } : {}),
    // A manual clock holds every continuation until the test moves time on: the world can be stopped between two jobs.
    clock: new ManualClock(),
    hostLimits: { outboundRequestSeconds: CAP_SECONDS },
    bitbucketLimits: { bytesPerSecond: BYTES_PER_SECOND, pushMaxBytes: PUSH_MAX_BYTES },
    // No run time at all: every job stores one segment and queues the next.
    appVariables: { LIFEBOAT_RUN_BUDGET_SECONDS: '0', LIFEBOAT_OUTBOUND_REQUEST_SECONDS: String(CAP_SECONDS) },
  };
}

function portsOf(app: AppWorld): { ui: number; bitbucket: number; s3: number } {
  const port = (url: string): number => Number(new URL(url).port);
  return { ui: port(app.world.urls.pages.home), bitbucket: port(app.world.emulator.url), s3: port(app.world.urls.bucket.endpoint) };
}

/** Every git request the emulator answered over the cap (a request Forge would have cut). */
function overTheCap(app: AppWorld): string[] {
  return app.world.emulator.requests().filter((request) => !request.rest && request.ms >= CAP_SECONDS * 1000).map((request) => `${request.method} ${request.path} ${request.ms} ms`);
}

test('a large single-branch repository is backed up in segments under the request cap, resumes after the world stops, and restores under the push cap', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lifeboat-large-'));
  const scratch = await mkdtemp(join(tmpdir(), 'lifeboat-large-work-'));
  let app: AppWorld | undefined = await startAppWorld(worldOptions(dataDir));
  t.after(async () => {
    await app?.close();
    await Promise.all([rm(dataDir, { recursive: true, force: true }), rm(scratch, { recursive: true, force: true })]);
  });
  await app.configure();

  // One branch, history only: the repository's own refs replaced by 2,000 commits of 3 KB of random bytes each.
  const bare = app.world.emulator.gitDir(DEMO_WORKSPACE.slug, SLUG);
  for (const line of refsOf(bare).trim().split('\n').filter(Boolean)) git(bare, ['update-ref', '-d', line.split(' ')[1]!]);
  importLinearHistory(bare, { commits: COMMITS, bytes: 2250 });
  git(bare, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
  git(bare, ['gc', '--quiet']);
  const sourceRefs = refsOf(bare).trim().split('\n').filter(Boolean).sort();
  assert.deepEqual(sourceRefs.map((line) => line.split(' ')[1]), ['refs/heads/main']);

  const { bucket } = app.world.urls;
  const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  const repo = { workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid(SLUG)) };

  // The first job: it plans, stores one segment and queues the next, which the manual clock holds.
  // Asserted once awaited: the host only logs what a listener throws.
  const firstJob = new Promise<InvocationRecord>((resolve) => {
    const stop = app!.world.host.onInvocation((record) => {
      if (record.functionKey !== 'run-backup') return;
      stop();
      resolve(record);
    });
  });
  const started = (await app.repoPage('backupNow', undefined, { as: 'admin', repositorySlug: SLUG })) as Result<BackupRequested>;
  assert.ok(started.ok, JSON.stringify(started));
  const first = await firstJob;
  assert.equal(first.outcome, 'ok', first.error);
  const [pending] = await listPending(store, repo);
  assert.ok(pending?.segments, 'the plan is kept with the pending backup');
  assert.equal(pending.segments.cuts.length, 3, 'three cut points along the history');
  assert.equal(pending.bundles.length, 1, 'one segment stored before the world stops');
  const storedFirst = pending.bundles[0]!;
  assert.deepEqual(overTheCap(app), []);
  // The page following the job sees how far the whole backup has come: segment 1 of 4 stored.
  const waiting = (await app.repoPage('getJob', { jobId: started.value.job.id }, { as: 'admin', repositorySlug: SLUG })) as Result<JobView>;
  assert.ok(waiting.ok, JSON.stringify(waiting));
  assert.deepEqual({ steps: waiting.value.progress?.steps, done: waiting.value.progress?.done, total: waiting.value.progress?.total }, { steps: 'segments', done: 1, total: 4 });

  // Stopped with the continuation still queued (kept in the host's queue, as Forge keeps it), started again on the same data and ports;
  // a backup asked for now goes on from the stored segments (test/app-kill-resume.test.ts leaves it to the queue, after a kill).
  const ports = portsOf(app);
  await app.close();
  app = undefined;
  app = await startAppWorld(worldOptions(dataDir, ports));
  assert.deepEqual(await listSnapshotIds(store, repo), [], 'no snapshot yet: the backup was cut short');
  const again = (await app.repoPage('backupNow', undefined, { as: 'admin', repositorySlug: SLUG })) as Result<BackupRequested>;
  assert.ok(again.ok, JSON.stringify(again));
  await app.world.host.idle();
  const job = (await app.repoPage('getJob', { jobId: again.value.job.id }, { as: 'admin', repositorySlug: SLUG })) as Result<JobView>;
  assert.ok(job.ok && job.value.state === 'done', JSON.stringify(job));
  assert.deepEqual(app.world.host.invocations.filter((record) => record.outcome !== 'ok').map((record) => `${record.functionKey} ${record.outcome} ${record.error}`), [], 'no job failed or was retried');

  const [id] = await listSnapshotIds(store, repo);
  const snapshot = await readManifest(store, { repo, id: id! }, app.trust());
  assert.equal(snapshot.id, pending.id, 'the snapshot is the interrupted backup, continued');
  assert.deepEqual(snapshot.bundles[0], storedFirst, 'the segment stored before the stop is the chain\'s first, not fetched again');
  const segments = snapshot.bundles.filter((bundle) => bundle.refs.every((ref) => isSegmentRef(ref.name)));
  assert.equal(segments.length, 3, 'one segment per cut point');
  assert.equal(snapshot.bundles.length, 4, 'and the refs last');
  assert.deepEqual(snapshot.refs.map((ref) => `${ref.oid} ${ref.name}`).sort(), sourceRefs);
  const packBytes = snapshot.bundles.reduce((sum, bundle) => sum + bundle.pack.bytes, 0);
  assert.ok(packBytes / BYTES_PER_SECOND > CAP_SECONDS * 1.5, `one fetch of the whole ${packBytes} bytes would take ${packBytes / BYTES_PER_SECOND} s, past the cap`);
  assert.ok(packBytes > PUSH_MAX_BYTES, 'the whole pack is over the push cap');
  assert.ok(snapshot.bundles.every((bundle) => bundle.pack.bytes < PUSH_MAX_BYTES), 'every bundle is under it');
  assert.deepEqual(overTheCap(app), [], 'no git request lasted as long as the cap');

  // Restore into a new repository: one push per bundle, each under the push cap.
  const restore = (await app.repoPage('startRestore', { snapshotId: snapshot.id, mode: 'new-repository', newRepositorySlug: 'docs-restored' }, { as: 'admin', repositorySlug: SLUG })) as Result<JobView>;
  assert.ok(restore.ok, JSON.stringify(restore));
  await app.world.host.idle();
  const restored = (await app.repoPage('getJob', { jobId: restore.value.id }, { as: 'admin', repositorySlug: SLUG })) as Result<JobView>;
  assert.ok(restored.ok && restored.value.state === 'done', JSON.stringify(restored));
  const pushes = app.world.emulator.requests().filter((request) => request.method === 'POST' && request.path.endsWith('/git-receive-pack'));
  assert.ok(pushes.length >= snapshot.bundles.length, `${pushes.length} pushes for ${snapshot.bundles.length} bundles`);
  assert.ok(pushes.every((request) => request.status === 200), JSON.stringify(pushes));
  assert.deepEqual(overTheCap(app), [], 'no push lasted as long as the cap');

  const mirror = join(scratch, 'mirror');
  await gitAsync(undefined, ['clone', '--quiet', '--mirror', app.gitUrl('docs-restored'), mirror]);
  assert.deepEqual(refsOf(mirror).trim().split('\n').filter(Boolean).sort(), sourceRefs, 'refs identical to the source');
  await gitAsync(mirror, ['fsck', '--full', '--strict', '--no-dangling']);
});
