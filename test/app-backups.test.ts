// Backups end to end in the local world: real git pushes to the Bitbucket
// emulator raise Forge events, the app's trigger and consumers run in the
// sandbox Forge host, and snapshots land in s3rver. The host's delays wait on a
// manual clock that settle() moves on: a 30 s coalescing window holds until the
// test settles, then takes no time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry, BackupRequested, DeletedRepository, DestructiveEvent, JobView, Paged, RepoStatus, RepoSummary, Result, SnapshotPage } from '../src/contract.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import { isAgeEncrypted } from '../src/engine/bucket/crypto.js';
import { readMarker } from '../src/engine/bucket/marker.js';
import { collect } from '../src/engine/streams.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { snapshotKey } from '../src/engine/bucket/bucket-keys.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { apiTokenAuth, call, gitAsync } from '../sandbox/bitbucket/test-support.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { currentInvocation } from '../sandbox/forge/runtime.js';
import { kvsKeys } from '../src/app/state/state-keys.js';
import { nextInvocation } from '../sandbox/forge/testing.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, workingSettings, type AppWorld } from './helpers/app-world.js';
import { refsOf } from './helpers/repos.js';
import { jobOfKind } from './helpers/jobs.js';
import { storageWords } from '../static/shared/storage-words.js';
import { auditNoteWords } from '../static/workspace-admin/src/audit-words.js';

describe('backups in the local world', () => {
  let app: AppWorld;
  let store: BlobStore;
  let scratch: string;
  const clones = new Map<string, string>();

  before(async () => {
    app = await startAppWorld({ clock: new ManualClock() });
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-app-backups-'));
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  });

  after(async () => {
    await app?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const repo = (slug: string) => ({ workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid(slug)) });
  const snapshotIds = (slug: string): Promise<string[]> => listSnapshotIds(store, repo(slug));
  const newest = async (slug: string): Promise<SnapshotManifest> => {
    const id = (await snapshotIds(slug)).at(-1);
    assert.ok(id, `${slug} has a snapshot`);
    return readManifest(store, { repo: repo(slug), id }, app.trust());
  };
  /** The bare repository's refs, as `for-each-ref` lists them. */
  const bareRefs = (slug: string): string[] => refsOf(app.world.emulator.gitDir(DEMO_WORKSPACE.slug, slug)).trim().split('\n').filter(Boolean).sort();
  const snapshotRefs = (manifest: SnapshotManifest): string[] => manifest.refs.map((ref) => `${ref.oid} ${ref.name}`).sort();
  const status = (slug: string): Record<string, unknown> | undefined =>
    app.world.host.kvsDump()[`repo:${bareUuid(app.repositoryUuid(slug))}:status`] as Record<string, unknown> | undefined;
  /** The id of the newest snapshot in the KVS index the pages read. */
  const indexedLatest = (slug: string): string | undefined =>
    (app.world.host.kvsDump()[`repo:${bareUuid(app.repositoryUuid(slug))}:summary`] as RepoSummary | undefined)?.latest?.id;
  /** Until every event is delivered and every queued job (with its retries) has run. */
  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };

  const clone = async (slug: string): Promise<string> => {
    let dir = clones.get(slug);
    if (!dir) {
      dir = join(scratch, slug);
      await gitAsync(undefined, ['clone', '--quiet', app.gitUrl(slug), dir]);
      clones.set(slug, dir);
    }
    return dir;
  };
  const commitAndPush = async (slug: string, branch: string, message: string): Promise<string> => {
    const dir = await clone(slug);
    await gitAsync(dir, ['checkout', '--quiet', '-B', branch]);
    await gitAsync(dir, ['commit', '--quiet', '--allow-empty', '-m', message]);
    await gitAsync(dir, ['push', '--quiet', 'origin', `${branch}:${branch}`]);
    return (await gitAsync(dir, ['rev-parse', 'HEAD'])).trim();
  };
  const backupRuns = (): number => app.world.host.invocations.filter((record) => record.functionKey === 'run-backup').length;

  it('records a clear NOT_CONFIGURED failure while the app is not set up', async () => {
    await commitAndPush('docs', 'main', 'before set-up');
    await settle();
    const docs = status('docs');
    assert.equal(docs?.state, 'failed');
    const lastError = docs?.lastError as { code: string; message: string } | undefined;
    assert.equal(lastError?.code, 'NOT_CONFIGURED');
    assert.match(lastError?.message ?? '', /not set up|workspace settings/);
    assert.deepEqual(await snapshotIds('docs'), [], 'nothing was written');
    await app.configure();
  });

  it('a push becomes a snapshot in the bucket that equals the repository, listed on the page', async () => {
    const tip = await commitAndPush('web-app', 'main', 'first backed-up change');
    await settle();
    const manifest = await newest('web-app');
    assert.equal(manifest.trigger, 'push');
    assert.deepEqual(snapshotRefs(manifest), bareRefs('web-app'));
    assert.ok(manifest.refs.some((ref) => ref.name === 'refs/heads/main' && ref.oid === tip));
    const webApp = status('web-app');
    assert.equal(webApp?.state, 'idle');
    assert.equal(indexedLatest('web-app'), manifest.id);

    const listed = (await app.repoPage('listSnapshots', {}, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<SnapshotPage>;
    assert.ok(listed.ok, JSON.stringify(listed));
    assert.equal(listed.value.items[0]?.id, manifest.id, 'newest first');
  });

  it('the page lists the snapshots it can read and names the manifests it cannot', async () => {
    const manifest = await newest('web-app');
    const keyOf = (id: string): string => snapshotKey(repo('web-app'), id);
    // Newer than the good one: an older Lifeboat's ref name git refuses, and a newer Lifeboat's format.
    const invalidId = `${manifest.id.slice(0, 16)}-ffffff`;
    const futureId = `${manifest.id.slice(0, 16)}-fffffe`;
    const main = manifest.refs.find((ref) => ref.name === 'refs/heads/main')!;
    await store.put(keyOf(invalidId), Buffer.from(JSON.stringify({ ...manifest, id: invalidId, refs: [...manifest.refs, { name: 'refs/heads/x.lock', oid: main.oid }] })));
    await store.put(keyOf(futureId), Buffer.from(JSON.stringify({ ...manifest, id: futureId, version: 2 })));
    try {
      // The page reads the KVS index: the index job rebuilds it from the bucket (manifests written behind the app's back).
      const rebuild = (await app.adminPage('rebuildIndex', {})) as Result<JobView>;
      assert.ok(rebuild.ok, JSON.stringify(rebuild));
      await settle();
      const rebuilt = (await app.adminPage('getJob', { jobId: rebuild.value.id })) as Result<JobView>;
      assert.ok(rebuilt.ok && rebuilt.value.state === 'done', JSON.stringify(rebuilt));
      const listed = (await app.repoPage('listSnapshots', {}, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<SnapshotPage>;
      assert.ok(listed.ok, JSON.stringify(listed));
      assert.ok(listed.value.items.some((item) => item.id === manifest.id), JSON.stringify(listed.value));
      assert.deepEqual(listed.value.unreadable.map(({ id, code }) => [id, code]), [[invalidId, 'FORMAT_INVALID'], [futureId, 'FORMAT_UNSUPPORTED']]);
      assert.match(listed.value.unreadable[0]!.message, /"refs\/heads\/x\.lock" is not a valid git ref name/);
    } finally {
      await store.remove(keyOf(invalidId));
      await store.remove(keyOf(futureId));
    }
  });

  it('a burst of 20 pushes gives at most 2 backups, ending at the pushed state', async () => {
    const before = await snapshotIds('api-server');
    const okRunsBefore = app.world.host.invocations.filter((record) => record.functionKey === 'run-backup' && record.outcome === 'ok').length;
    const pushTriggers = (): number => app.world.host.invocations.filter((record) => record.kind === 'trigger' && record.detail === 'avi:bitbucket:push:repository').length;
    const pushTriggersBefore = pushTriggers();
    // 20 branches pushed at once: Bitbucket sends one push event per ref, so 20 trigger
    // invocations in a burst. (Twenty separate pushes would be serialised by the
    // repository's lock and, on a loaded machine, outlast the shrunk coalescing window.)
    const dir = await clone('api-server');
    await gitAsync(dir, ['checkout', '--quiet', 'main']);
    await gitAsync(dir, ['commit', '--quiet', '--allow-empty', '-m', 'burst base']);
    await gitAsync(dir, ['push', '--quiet', 'origin', ...Array.from({ length: 20 }, (_, index) => `HEAD:refs/heads/burst-${index}`)]);
    await settle();
    assert.equal(pushTriggers() - pushTriggersBefore, 20, 'one trigger invocation per pushed ref');
    const created = (await snapshotIds('api-server')).filter((id) => !before.includes(id));
    assert.ok(created.length >= 1 && created.length <= 2, `${created.length} snapshots from 20 pushes`);
    const finished = app.world.host.invocations.filter((record) => record.functionKey === 'run-backup' && record.outcome === 'ok').length - okRunsBefore;
    assert.ok(finished <= 2, `${finished} backups ran to the end`);
    assert.deepEqual(snapshotRefs(await newest('api-server')), bareRefs('api-server'));
  });

  it('duplicate and late events still give one correct snapshot', async () => {
    const { events } = app.world.emulator;
    const before = await snapshotIds('web-app');
    events.duplicate = 2;
    events.delayMs = 1_500;
    try {
      await commitAndPush('web-app', 'feature/late', 'delivered late and thrice');
      await settle();
    } finally {
      events.duplicate = 0;
      events.delayMs = 0;
    }
    const created = (await snapshotIds('web-app')).filter((id) => !before.includes(id));
    assert.equal(created.length, 1, `snapshots: ${created.join(', ')}`);
    assert.deepEqual(snapshotRefs(await newest('web-app')), bareRefs('web-app'));
  });

  it('a force-push is recorded as a destructive event naming the snapshot that holds the old tip', async () => {
    const dir = await clone('web-app');
    const base = await commitAndPush('web-app', 'topic', 'topic base');
    const oldTip = await commitAndPush('web-app', 'topic', 'work that will be thrown away');
    await settle();
    const holding = await newest('web-app');
    assert.ok(holding.refs.some((ref) => ref.name === 'refs/heads/topic' && ref.oid === oldTip));

    await gitAsync(dir, ['reset', '--quiet', '--hard', base]);
    await gitAsync(dir, ['commit', '--quiet', '--allow-empty', '-m', 'rewritten']);
    await gitAsync(dir, ['push', '--quiet', '--force', 'origin', 'topic:topic']);
    const newTip = (await gitAsync(dir, ['rev-parse', 'HEAD'])).trim();
    await settle();

    const listed = (await app.repoPage('listDestructiveEvents', {}, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<Paged<DestructiveEvent>>;
    assert.ok(listed.ok, JSON.stringify(listed));
    const event = listed.value.items.find((candidate) => candidate.ref === 'refs/heads/topic');
    assert.ok(event, JSON.stringify(listed.value.items));
    assert.equal(event.kind, 'force-push');
    assert.equal(event.previousTip, oldTip);
    assert.equal(event.newTip, newTip);
    assert.equal(event.snapshotId, holding.id);
    assert.ok(event.actorAccountId, 'the pusher is named');
    // The backup after the force-push has the new state.
    assert.deepEqual(snapshotRefs(await newest('web-app')), bareRefs('web-app'));
  });

  it('a transient Bitbucket failure is retried and the backup succeeds', async () => {
    const dir = await clone('docs');
    await gitAsync(dir, ['commit', '--quiet', '--allow-empty', '-m', 'after a hiccup']);
    await gitAsync(dir, ['push', '--quiet', 'origin', 'main:main']);
    await app.world.emulator.eventsIdle(); // the trigger has queued the backup; it waits out the coalescing window
    const firstRun = backupRuns();
    app.world.emulator.faults.failNext5xx = 1;
    await app.world.host.idle();
    const runs = app.world.host.invocations.filter((record) => record.functionKey === 'run-backup').slice(firstRun);
    assert.deepEqual(runs.map((record) => record.outcome), ['retry', 'ok']);
    const docs = status('docs');
    assert.equal(docs?.state, 'idle');
    assert.equal(docs?.lastError, undefined, 'the earlier NOT_CONFIGURED is cleared');
    assert.deepEqual(snapshotRefs(await newest('docs')), bareRefs('docs'));
  });

  it('a created repository is backed up at once; a deleted one keeps its snapshots and is marked deleted', async () => {
    const { emulator } = app.world;
    const created = await call(emulator, `/2.0/repositories/${DEMO_WORKSPACE.slug}/short-lived`, apiTokenAuth('admin'), { method: 'POST', body: { scm: 'git', is_private: true } });
    assert.equal(created.status, 200);
    await settle();
    const [snapshot] = await snapshotIds('short-lived');
    assert.ok(snapshot, 'the new (empty) repository has its first snapshot');
    assert.equal(indexedLatest('short-lived'), snapshot);

    const uuid = app.repositoryUuid('short-lived');
    const removed = await call(emulator, `/2.0/repositories/${DEMO_WORKSPACE.slug}/short-lived`, apiTokenAuth('admin'), { method: 'DELETE' });
    assert.equal(removed.status, 204);
    await settle();
    const deleted = (await app.adminPage('listDeletedRepositories', {})) as Result<Paged<DeletedRepository>>;
    assert.ok(deleted.ok, JSON.stringify(deleted));
    assert.deepEqual(deleted.value.items.map((entry) => [entry.slug, entry.lastSnapshotId]), [['short-lived', snapshot]], 'listed for restore, from the KVS index');
    assert.deepEqual(await listSnapshotIds(store, { workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(uuid) }), [snapshot], 'the bucket keeps it');
  });

  it('a sweep includes a repository created through the REST API after set-up', async () => {
    const { emulator } = app.world;
    // Hold back the created and push events: only the sweep can find this repository.
    emulator.events.delayMs = 10 * 60_000;
    const created = await call(emulator, `/2.0/repositories/${DEMO_WORKSPACE.slug}/late-arrival`, apiTokenAuth('admin'), { method: 'POST', body: { scm: 'git', is_private: true } });
    assert.equal(created.status, 200);
    const tip = await commitAndPush('late-arrival', 'main', 'first commit of a new repository');

    // web-app keeps only its newest snapshot from now on: the sweep's prune applies it.
    const webApp = app.repositoryUuid('web-app');
    const webAppNewest = (await snapshotIds('web-app')).at(-1);
    assert.ok((await snapshotIds('web-app')).length > 1);
    await app.configure({ overrides: { [webApp]: { retention: { keepLast: 1 } } } });

    const job = (await app.adminPage('sweepNow', undefined)) as Result<JobView>;
    assert.ok(job.ok, JSON.stringify(job));
    // The sweep, its backups and the prunes after them (the events held back stay so: only the host settles).
    await app.world.host.idle();
    const manifest = await newest('late-arrival');
    assert.equal(manifest.trigger, 'schedule');
    assert.deepEqual(manifest.refs.map((ref) => `${ref.oid} ${ref.name}`), [`${tip} refs/heads/main`]);
    const finished = (await app.adminPage('getJob', { jobId: job.value.id })) as Result<JobView>;
    assert.ok(finished.ok);
    assert.equal(finished.value.state, 'done');
    assert.ok(Number(jobOfKind(finished.value, 'sweep').result?.backupsQueued) >= 4, JSON.stringify(finished.value.result));

    // Retention runs after the backups: web-app is pruned to its newest snapshot, and the snapshots
    // that open force-push banners (an earlier test) offer to restore from: those are pinned.
    // Its newest: the one before the sweep, or the sweep's own (the first scheduled backup adds the repository's configuration).
    const listed = (await app.repoPage('listDestructiveEvents', {}, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<Paged<DestructiveEvent>>;
    assert.ok(listed.ok, JSON.stringify(listed));
    const pinned = new Set(listed.value.items.filter((event) => !event.undoneBy && event.snapshotId).map((event) => event.snapshotId));
    const kept = await snapshotIds('web-app');
    assert.ok([...pinned].every((id) => kept.includes(id!)), `pinned ${[...pinned].join(', ')}; kept ${kept.join(', ')}`);
    const unpinned = kept.filter((id) => !pinned.has(id));
    assert.equal(unpinned.length, 1, kept.join(', '));
    assert.ok(unpinned[0]! >= webAppNewest!, `${unpinned[0]} is not older than ${webAppNewest}`);
    // The prune recorded its outcome after its last delete.
    const audit = (): Array<{ action: string; repositoryUuid?: string; outcome?: string }> => Object.entries(app.world.host.kvsDump())
      .filter(([key]) => key.startsWith('audit:')).map(([, value]) => value as { action: string; repositoryUuid?: string; outcome?: string });
    const pruned = (): boolean => audit().some((entry) => entry.action === 'prune' && entry.outcome === 'ok' && entry.repositoryUuid === webApp);
    assert.ok(pruned(), JSON.stringify(audit()));
  });

  it('the hourly trigger starts a sweep when one is due, and not again within the interval', async () => {
    const sweeps = (): number => app.world.host.invocations.filter((record) => record.functionKey === 'run-sweep').length;
    const before = sweeps();
    await app.world.host.runScheduledTrigger('hourly-sweep');
    await app.world.host.runScheduledTrigger('hourly-sweep');
    await app.world.host.idle();
    const triggers = app.world.host.invocations.filter((record) => record.functionKey === 'on-schedule');
    assert.deepEqual(triggers.slice(-2).map((record) => record.outcome), ['ok', 'ok']);
    assert.equal(sweeps() - before, 1, 'one sweep for two triggers within a day');
    assert.equal(typeof app.world.host.kvsDump()['sweep:last-started'], 'string');
  });

  it('"back up now" 30 times queues one backup at a time: later requests join the waiting job and say so', async () => {
    const jobKeys = (): string[] => Object.keys(app.world.host.kvsDump()).filter((key) => /^job:[0-9a-f-]{36}$/.test(key));
    const keysBefore = jobKeys();
    const answers: BackupRequested[] = [];
    for (let index = 0; index < 30; index += 1) {
      const answer = (await app.repoPage('backupNow', {}, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<BackupRequested>;
      assert.ok(answer.ok, JSON.stringify(answer));
      answers.push(answer.value);
    }
    // One may already run while the next waits (the repository's lease keeps it queued): never more.
    const jobs = [...new Set(answers.map((answer) => answer.job.id))];
    assert.ok(jobs.length <= 2, `${jobs.length} jobs for 30 requests`);
    const joined = answers.filter((answer) => answer.alreadyQueued);
    assert.equal(joined.length, 30 - jobs.length);
    assert.equal(answers[0]?.alreadyQueued, false, 'the first request queued its own job');
    await app.world.host.idle();
    const states = async (): Promise<string[]> => Promise.all(jobs.map(async (id) => {
      const job = (await app.repoPage('getJob', { jobId: id }, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<JobView>;
      return job.ok ? job.value.state : job.error.code;
    }));
    assert.deepEqual(await states(), jobs.map(() => 'done'));
    assert.deepEqual(jobKeys().filter((key) => !keysBefore.includes(key)).sort(), jobs.map((id) => `job:${id}`).sort(), 'no job record besides the ones answered');
  });

  it('encryption turned on after the first backup: the next snapshot is a new full chain encrypted to it, shown and audited; turning it off needs confirmation', async () => {
    const audit = (): AuditEntry[] => Object.entries(app.world.host.kvsDump()).filter(([key]) => key.startsWith('audit:')).map(([, value]) => value as AuditEntry);
    const storage = async (): Promise<NonNullable<RepoStatus['storage']>> => {
      const answer = (await app.repoPage('getRepoStatus', {}, { as: 'admin', repositorySlug: 'docs' })) as Result<RepoStatus>;
      assert.ok(answer.ok && answer.value.storage, JSON.stringify(answer));
      return answer.value.storage;
    };
    const plain = await newest('docs');
    assert.equal(plain.encryption, null, 'docs was backed up unencrypted so far');
    assert.equal((await readMarker(store)).encryption, null);
    assert.equal((await storage()).newChainPending, false);

    // Debian's age-keygen makes the key, as an admin following the README would.
    const keyFile = join(scratch, 'docs-key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
    const recipient = execFileSync('age-keygen', ['-y', keyFile]).toString().trim();
    await app.configure({ encryption: { recipients: [recipient] } });
    const turnedOn = audit().find((entry) => entry.action === 'encryption turned on');
    assert.ok(turnedOn, JSON.stringify(audit().slice(0, 5)));
    assert.match(turnedOn.note ? auditNoteWords(turnedOn.note) : '', new RegExp(`new full chain encrypted to 1 age recipient \\(${recipient}\\)\\. Earlier snapshots stay unencrypted`));
    const pending = await storage();
    assert.equal(pending.newChainPending, true);
    assert.deepEqual(pending.lastSnapshotRecipients, []);
    assert.deepEqual(pending.recipients, [recipient]);
    assert.match(storageWords(pending), /newest snapshot is stored unencrypted.*next backup starts a new full chain stored encrypted to 1 age recipient\. Earlier snapshots stay as they were stored/);

    app.world.emulator.events.delayMs = 0; // the sweep test held events back (still held: so not eventsIdle())
    const pushed = nextInvocation(app.world.host, (record) => record.kind === 'trigger' && record.detail === 'avi:bitbucket:push:repository', 60_000);
    const tip = await commitAndPush('docs', 'main', 'the first encrypted change');
    await pushed;
    await app.world.host.idle();
    const encrypted = await newest('docs');
    assert.notEqual(encrypted.id, plain.id, JSON.stringify(status('docs')));
    assert.ok(encrypted.refs.some((ref) => ref.name === 'refs/heads/main' && ref.oid === tip));
    assert.deepEqual(encrypted.encryption, { scheme: 'age', recipients: [recipient] });
    assert.deepEqual(encrypted.bundles.map((bundle) => [bundle.kind, bundle.prerequisites.length, bundle.encrypted, bundle.createdBy]), [['full', 0, true, encrypted.id]], 'a new full chain, not an increment on the plain base');
    const stored = await collect(await store.get(encrypted.bundles[0]!.key));
    assert.ok(isAgeEncrypted(stored));
    const opened = execFileSync('age', ['-d', '-i', keyFile], { input: stored, maxBuffer: 64 << 20 });
    assert.equal(opened.subarray(0, 16).toString(), '# v2 git bundle\n');
    const bundleFile = join(scratch, 'docs.bundle');
    await writeFile(bundleFile, opened);
    const listed = execFileSync('git', ['bundle', 'list-heads', bundleFile]).toString();
    assert.match(listed, new RegExp(`^${tip} refs/heads/main$`, 'm'));
    assert.deepEqual((await readMarker(store)).encryption, { scheme: 'age', recipients: [recipient] }, 'the marker records the current setting');
    // The earlier snapshot stays as it was.
    assert.deepEqual(await readManifest(store, { repo: repo('docs'), id: plain.id }, app.trust()), plain);

    const done = await storage();
    assert.equal(done.newChainPending, false);
    assert.deepEqual(done.lastSnapshotRecipients, [recipient]);
    assert.match(storageWords(done), /^Snapshots are stored encrypted to 1 age recipient\./);
    const backedUp = audit().find((entry) => entry.action === 'backup' && entry.note?.code === 'snapshot-stored' && entry.note.snapshotId === encrypted.id);
    assert.match(backedUp?.note ? auditNoteWords(backedUp.note) : '', /^Snapshot \S+ stored \(push\): encrypted to 1 age recipient, new full chain\.$/);

    // Turning it off is a downgrade: refused without confirmation, and nothing changes.
    // What a save may change: the settings and the audit log's entries of people (backups still running write their own).
    const saved = (): string => JSON.stringify(Object.entries(app.world.host.kvsDump())
      .filter(([key, value]) => key.startsWith('settings') || (key.startsWith('audit:') && (value as { actorAccountId?: string }).actorAccountId !== undefined)));
    const before = saved();
    const refused = (await app.adminPage('saveSettings', { settings: workingSettings(app.world) })) as Result<unknown>;
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.error.code, 'INVALID_ARGUMENT');
    assert.match(!refused.ok ? refused.error.message : '', /confirmDowngrade must be true: these settings turn encryption off/);
    assert.equal(saved(), before);
    const confirmed = (await app.adminPage('saveSettings', { settings: workingSettings(app.world), confirmDowngrade: true })) as Result<unknown>;
    assert.ok(confirmed.ok, JSON.stringify(confirmed));
    const turnedOff = audit().find((entry) => entry.action === 'encryption turned off');
    assert.match(turnedOff?.note ? auditNoteWords(turnedOff.note) : '', /Downgrade confirmed.*Earlier snapshots stay encrypted to 1 age recipient/);
    assert.ok(turnedOff?.actorAccountId);
    const off = await storage();
    assert.equal(off.newChainPending, true);
    assert.match(storageWords(off), /newest snapshot is stored encrypted to 1 age recipient.*new full chain stored unencrypted\. Earlier snapshots stay as they were stored/);
  });

  it('Object Lock in settings saved before the bucket was checked, on a bucket that keeps no retention: the backup fails, saying the objects are NOT protected', async () => {
    await app.configure();
    // Saving them is refused now (test/app-resolvers.test.ts): stored as an earlier Lifeboat stored them.
    await app.world.host.runInInvocation(async () => {
      const value = { ...workingSettings(app.world), objectLock: { enabled: true, mode: 'GOVERNANCE', days: 30 } };
      assert.ok(currentInvocation()?.services.kvsRequest('/api/v1/set', { key: kvsKeys.settings, value })?.ok);
    });
    const before = (await snapshotIds('docs')).length;
    await commitAndPush('docs', 'main', 'written under a lock s3rver ignores');
    await settle();
    const answer = (await app.repoPage('getRepoStatus', {}, { as: 'admin', repositorySlug: 'docs' })) as Result<RepoStatus>;
    assert.ok(answer.ok, JSON.stringify(answer));
    assert.equal(answer.value.state, 'failed');
    assert.equal(answer.value.lastError?.code, 'OBJECT_LOCK_NOT_APPLIED');
    assert.match(answer.value.lastError?.message ?? '', /NOT protected/);
    assert.match(answer.value.lastError?.hint ?? '', /stored, but not protected/);
    assert.equal((await snapshotIds('docs')).length, before + 1, 'the snapshot is stored, without the protection');
    await app.configure();
  });

  it('reads the workspace from the installation ARI, braces or not, else from workspaceId', async () => {
    // Imported once the host is up: app modules must load through its @forge/* stand-ins.
    const { workspaceFromContext } = await import('../src/app/backup/sweep.js');
    const uuid = '5f0c8a52-6d1e-4d2b-9a57-0c7f4b1e8a01';
    assert.equal(workspaceFromContext({ installContext: `ari:cloud:bitbucket::workspace/${uuid}` }), `{${uuid}}`);
    assert.equal(workspaceFromContext({ installContext: `ari:cloud:bitbucket::workspace/{${uuid.toUpperCase()}}` }), `{${uuid}}`);
    assert.equal(workspaceFromContext({ installContext: 'ari:cloud:bitbucket::site/123', workspaceId: `{${uuid}}` }), `{${uuid}}`);
    assert.throws(() => workspaceFromContext({ installContext: 'ari:cloud:bitbucket::site/123' }), /names no workspace/);
  });
});
