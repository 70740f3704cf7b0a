// A first backup too large for one invocation: Forge variables shrink the run
// budget to nothing and the bundles to two refs, so every job stores one bundle
// and queues the next, and the snapshot appears only when the last job commits it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BackupRequested, JobView, Result } from '../src/contract.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { refsOf } from './helpers/repos.js';
import { ManualClock } from '../sandbox/forge/index.js';

let app: AppWorld;

before(async () => {
  app = await startAppWorld({
    clock: new ManualClock(),
    appVariables: { LIFEBOAT_RUN_BUDGET_SECONDS: '0', LIFEBOAT_MAX_REFS_PER_BUNDLE: '2' },
  });
  await app.configure();
});
after(() => app?.close());

test('a backup that does not finish in one invocation continues in the next from what is stored', async () => {
  const bareRefs = refsOf(app.world.emulator.gitDir(DEMO_WORKSPACE.slug, 'web-app')).trim().split('\n').filter(Boolean).sort();
  assert.ok(bareRefs.length >= 6, `web-app has ${bareRefs.length} refs`);

  const started = (await app.repoPage('backupNow', undefined, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<BackupRequested>;
  assert.ok(started.ok, JSON.stringify(started));
  await app.world.host.idle();

  const job = (await app.repoPage('getJob', { jobId: started.value.job.id }, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<JobView>;
  assert.ok(job.ok && job.value.state === 'done', JSON.stringify(job));
  const runs = app.world.host.invocations.filter((record) => record.functionKey === 'run-backup' && record.outcome === 'ok');
  assert.ok(runs.length >= Math.ceil(bareRefs.length / 2), `${runs.length} backup jobs for ${bareRefs.length} refs in bundles of 2`);

  const { bucket } = app.world.urls;
  const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  const repo = { workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid('web-app')) };
  // The git history is committed once, by the last job of the chain. With no run time at all, each later job then
  // stores one pull request more (an export always moves on) and commits it as a snapshot of the same bundles.
  const manifests = await Promise.all((await listSnapshotIds(store, repo)).map((id) => readManifest(store, { repo, id }, app.trust())));
  const [first, ...later] = manifests;
  assert.ok(first);
  assert.equal(first.trigger, 'manual');
  assert.ok(first.bundles.length >= Math.ceil(bareRefs.length / 2), `${first.bundles.length} bundles`);
  assert.deepEqual(first.refs.map((ref) => `${ref.oid} ${ref.name}`).sort(), bareRefs);
  for (const manifest of later) assert.deepEqual(manifest.bundles, first.bundles, `${manifest.id} wrote no bundle: only metadata moved on`);
  assert.equal(manifests.at(-1)?.metadata?.partial, false, 'and the last one holds it all');
});
