// A first backup of a long single branch through the Forge app: with the
// outbound request cap lowered to 1 s (a byte budget of 500 KB per segment at the
// assumed 1 MB/s) and no run time at all, every job stores one segment of history
// and queues the next; the snapshot holds the refs exactly, and the segment refs
// are none of them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BackupRequested, JobView, Result } from '../src/contract.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { isSegmentRef } from '../src/engine/segments.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { importLinearHistory } from './helpers/fixtures.js';
import { refsOf } from './helpers/repos.js';
import { ManualClock } from '../sandbox/forge/index.js';

let app: AppWorld;

before(async () => {
  app = await startAppWorld({
    clock: new ManualClock(),
    appVariables: { LIFEBOAT_RUN_BUDGET_SECONDS: '0', LIFEBOAT_OUTBOUND_REQUEST_SECONDS: '1' },
  });
  await app.configure();
});
after(() => app?.close());

test('a long single branch is backed up in segments of history across jobs, and its refs come back exactly', async () => {
  // 1,200 commits of 2 KB on web-app's main: past two deepen steps (500 commits each), 2.4 MB in all.
  const bare = app.world.emulator.gitDir(DEMO_WORKSPACE.slug, 'web-app');
  importLinearHistory(bare, { commits: 1200, bytes: 1500, files: 9 });
  const bareRefs = refsOf(bare).trim().split('\n').filter(Boolean).sort();

  const started = (await app.repoPage('backupNow', undefined, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<BackupRequested>;
  assert.ok(started.ok, JSON.stringify(started));
  await app.world.host.idle();
  const job = (await app.repoPage('getJob', { jobId: started.value.job.id }, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<JobView>;
  assert.ok(job.ok && job.value.state === 'done', JSON.stringify(job));

  const { bucket } = app.world.urls;
  const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  const repo = { workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid('web-app')) };
  const [id] = await listSnapshotIds(store, repo);
  const snapshot = await readManifest(store, { repo, id: id! }, app.trust());
  const segments = snapshot.bundles.filter((bundle) => bundle.refs.every((ref) => isSegmentRef(ref.name)));
  assert.equal(segments.length, 2, 'one segment per deepen step of history');
  assert.deepEqual(snapshot.bundles.slice(0, 2), segments, 'the segments come first, oldest first');
  assert.deepEqual(snapshot.refs.map((ref) => `${ref.oid} ${ref.name}`).sort(), bareRefs, 'the real refs, no segment ref');
  const runs = app.world.host.invocations.filter((record) => record.functionKey === 'run-backup' && record.outcome === 'ok');
  assert.ok(runs.length >= 3, `${runs.length} jobs: one per segment, then the refs`);
});
