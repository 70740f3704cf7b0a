// Forge's cyclic invocation limit: one originating invocation and every consumer
// downstream of it may push to queues at most 1,000 times (lowered to 3 here). A
// first backup that continues job after job (Forge variables shrink its run
// budget to nothing and its bundles to two refs) meets the limit; its next step
// is parked, the job says it waits, and the scheduled trigger, an originating
// invocation of its own, queues it again until the backup is whole.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AuditEntry, BackupRequested, JobView, Result } from '../src/contract.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { kvsKeys } from '../src/app/state/state-keys.js';
import { currentInvocation } from '../sandbox/forge/runtime.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { refsOf } from './helpers/repos.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { auditDetailWords } from '../static/workspace-admin/src/audit-words.js';

let app: AppWorld;

before(async () => {
  app = await startAppWorld({
    hostLimits: { cyclicInvocationLimit: 3 },
    clock: new ManualClock(),
    appVariables: { LIFEBOAT_RUN_BUDGET_SECONDS: '0', LIFEBOAT_MAX_REFS_PER_BUNDLE: '2' },
  });
  await app.configure();
});
after(() => app?.close());

test('a continuation chain that reaches the cyclic invocation limit waits for the scheduled trigger and completes from there', async () => {
  const { host, emulator } = app.world;
  const parked = (): string[] => Object.keys(host.kvsDump()).filter((key) => key.startsWith(kvsKeys.parkedPushPrefix));
  const audit = (action: string): AuditEntry[] => Object.entries(host.kvsDump()).filter(([key, value]) => key.startsWith(kvsKeys.auditPrefix) && (value as AuditEntry).action === action).map(([, value]) => value as AuditEntry);
  // Only the parked work is of interest: the day's sweep counts as started.
  await host.runInInvocation(async () => {
    assert.ok(currentInvocation()?.services.kvsRequest('/api/v1/set', { key: kvsKeys.lastSweep, value: new Date().toISOString() }).ok);
  });

  const bareRefs = refsOf(emulator.gitDir(DEMO_WORKSPACE.slug, 'web-app')).trim().split('\n').filter(Boolean).sort();
  assert.ok(bareRefs.length >= 6, `web-app has ${bareRefs.length} refs: more jobs than the limit lets one chain queue`);
  const started = (await app.repoPage('backupNow', undefined, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<BackupRequested>;
  assert.ok(started.ok, JSON.stringify(started));
  const jobId = started.value.job.id;
  await host.idle();

  const waiting = host.kvsDump()[kvsKeys.job(jobId)] as JobView;
  assert.deepEqual([waiting.state, waiting.note], ['queued', { code: 'parked' }]);
  assert.ok(parked().length > 0, 'the next step is parked');
  const parkedEntry = audit('work parked')[0];
  assert.ok(parkedEntry, 'the parking is audited');
  assert.match(auditDetailWords(parkedEntry), /^Forge's cyclic invocation limit was reached: \d+ events? for lifeboat-backup/);
  assert.equal(host.invocations.filter((record) => record.outcome === 'failed').length, 0, 'nothing failed');

  // Each scheduled run starts a chain of its own, as far as the limit lets it.
  let runs = 0;
  for (; parked().length > 0 && runs < 12; runs += 1) {
    await host.runScheduledTrigger('hourly-sweep');
    await host.idle();
  }
  assert.deepEqual(parked(), [], `nothing parked after ${runs} scheduled runs`);
  const done = host.kvsDump()[kvsKeys.job(jobId)] as JobView;
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.ok(audit('parked work queued again').length >= 1);
  assert.equal(host.invocations.filter((record) => record.outcome === 'failed').length, 0, 'nothing failed');

  const { bucket } = app.world.urls;
  const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  const repo = { workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid('web-app')) };
  const [first] = await listSnapshotIds(store, repo);
  assert.ok(first, 'the chain committed its snapshot');
  const manifest = await readManifest(store, { repo, id: first }, app.trust());
  assert.deepEqual(manifest.refs.map((ref) => `${ref.oid} ${ref.name}`).sort(), bareRefs, 'every ref, nothing lost across the parking');
});
