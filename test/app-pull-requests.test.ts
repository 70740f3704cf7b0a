// Pull requests through the app in the local world: the backup consumer reads
// them as the app (manifest scope read:pullrequest:bitbucket), drawing from the
// workspace's REST budget in KVS; a comment edit raises a Forge event whose
// trigger marks the pull request, the next backup fetches just that one, and the
// mark is cleared once a committed snapshot covered it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BackupRequested, Result } from '../src/contract.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { type MetadataIndex, pullRequestDocumentSchema, readMetadataDocument, readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { apiTokenAuth, call } from '../sandbox/bitbucket/test-support.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { ManualClock } from '../sandbox/forge/index.js';

describe('pull requests through the app', () => {
  let app: AppWorld;
  let store: BlobStore;
  const webApp = `/2.0/repositories/${DEMO_WORKSPACE.slug}/web-app`;

  before(async () => {
    app = await startAppWorld({ clock: new ManualClock() });
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    await app.configure();
  });
  after(async () => {
    await app?.close();
  });

  const repo = () => ({ workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid('web-app')) });
  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };
  const backUp = async (): Promise<void> => {
    const requested = (await app.repoPage('backupNow', undefined, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<BackupRequested>;
    assert.ok(requested.ok, JSON.stringify(requested));
    await settle();
  };
  const newest = async (): Promise<{ manifest: SnapshotManifest; index: MetadataIndex }> => {
    const id = (await listSnapshotIds(store, repo())).at(-1);
    assert.ok(id);
    const manifest = await readManifest(store, { repo: repo(), id }, app.trust());
    const index = await readMetadataIndex(store, manifest);
    assert.ok(index);
    return { manifest, index };
  };
  const kvs = () => app.world.host.kvsDump();
  const markKey = (id: number) => `repo:${bareUuid(app.repositoryUuid('web-app'))}:pr-mark:${id}`;
  const fetchedIds = (): number[] => [...new Set(app.world.emulator.requests().flatMap((record) => {
    const match = /\/pullrequests\/(\d+)[/?]/.exec(record.path);
    return match ? [Number(match[1])] : [];
  }))].sort((a, b) => a - b);

  it('a backup stores every pull request, read as the app within the workspace budget', async () => {
    await backUp();
    const { manifest, index } = await newest();
    assert.deepEqual(index.pullRequests?.items.map((entry) => entry.id), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(index.pullRequests?.complete, true);
    assert.equal(manifest.metadata?.partial, false);
    const document = await readMetadataDocument(store, manifest, index.pullRequests!.items[0]!.object, undefined, pullRequestDocumentSchema);
    assert.equal(document.pullRequest.title, 'Validate login input');
    const runs = Object.entries(kvs()).filter(([key]) => key.startsWith('rest-budget:run:')).map(([, value]) => value as { reserved: number; used: number });
    assert.ok(runs.length > 0, 'the run recorded what it drew from the budget');
    assert.ok(runs.every((run) => run.used > 0 && run.reserved === run.used), 'and gave back what it did not use');
    assert.equal(kvs()['rest-budget:limit'], 1000, 'the limit Bitbucket said (X-RateLimit-Limit)');
  });

  it('an edited comment marks its pull request; the next backup fetches only that one and clears the mark', async () => {
    const before = (await newest()).index;
    const comments = (await call(app.world.emulator, `${webApp}/pullrequests/5/comments`, apiTokenAuth('admin'))).body as { values: Array<{ id: number }> };
    const edited = await call(app.world.emulator, `${webApp}/pullrequests/5/comments/${comments.values[0]!.id}`, apiTokenAuth('admin'), { method: 'PUT', body: { content: { raw: 'Declining: open it against main.' } } });
    assert.equal(edited.status, 200);
    await settle();
    assert.ok(kvs()[markKey(5)], 'the trigger marked pull request 5');

    app.world.emulator.clearRequests();
    await backUp();
    assert.deepEqual(fetchedIds(), [5]);
    const { manifest, index } = await newest();
    const entry = index.pullRequests?.items.find((candidate) => candidate.id === 5);
    assert.ok(entry);
    assert.notEqual(entry.object.key, before.pullRequests?.items.find((candidate) => candidate.id === 5)?.object.key);
    const document = await readMetadataDocument(store, manifest, entry.object, undefined, pullRequestDocumentSchema);
    assert.equal((document.comments[0]?.content as { raw: string }).raw, 'Declining: open it against main.');
    assert.ok(kvs()[markKey(5)], 'kept until a later backup sees the committed snapshot that covered it');

    app.world.emulator.clearRequests();
    await backUp();
    assert.equal(kvs()[markKey(5)], undefined, 'cleared: the committed snapshot covered it');
    assert.deepEqual(fetchedIds(), [], 'and not fetched again');
    assert.equal((await newest()).manifest.id, manifest.id, 'nothing changed: no new snapshot');
  });

  it('a 429 stops the export with what it has, and pauses every later read instead of hammering Bitbucket', async () => {
    for (const id of [2, 4]) {
      assert.equal((await call(app.world.emulator, `${webApp}/pullrequests/${id}/comments`, apiTokenAuth('admin'), { method: 'POST', body: { content: { raw: `A late note on #${id}.` } } })).status, 201);
    }
    await settle();
    // Pull request 2's activity and comments answer, then its build statuses get a 429.
    Object.assign(app.world.emulator.faults, { rateLimitStormPath: '/pullrequests/', rateLimitStormAfter: 2, rateLimitStorm: 1 });
    app.world.emulator.clearRequests();
    await backUp();
    assert.equal(app.world.emulator.faults.rateLimitStorm, 0, 'the 429 was answered');
    const stopped = await newest();
    assert.equal(stopped.manifest.metadata?.partial, true, 'the snapshot says its pull requests are partial');
    assert.equal(stopped.index.pullRequests?.complete, false);
    assert.deepEqual(stopped.index.pullRequests?.outstanding, [2, 4], 'the ids not reached wait for the next backup');
    assert.ok(stopped.index.problems.some((problem) => problem.code === 'BITBUCKET_RATE_LIMITED'));
    const pause = kvs()['rest-budget:pause'] as { until: string } | undefined;
    assert.ok(pause && Date.parse(pause.until) > Date.now(), 'the workspace pauses its reads');

    app.world.emulator.clearRequests();
    await backUp();
    assert.deepEqual(app.world.emulator.requests().filter((record) => record.path.includes('/pullrequests')), [], 'no pull request call while paused');
    const still = await newest();
    assert.deepEqual(still.index.pullRequests?.outstanding, [2, 4], 'nothing lost meanwhile');
    assert.equal(still.manifest.metadata?.partial, true);
    delete app.world.emulator.faults.rateLimitStormPath;
  });
});

describe('a pull request export cut short by the run time', () => {
  let app: AppWorld;
  let store: BlobStore;

  before(async () => {
    // A run budget of 0: every backup is past its deadline at once, and stores one pull request.
    app = await startAppWorld({ clock: new ManualClock(), appVariables: { LIFEBOAT_RUN_BUDGET_SECONDS: '0' } });
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    await app.configure();
  });
  after(async () => {
    await app?.close();
  });

  it('goes on in the backups it queues, across invocations, until every pull request is stored once', async () => {
    app.world.emulator.clearRequests();
    const requested = (await app.repoPage('backupNow', undefined, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<BackupRequested>;
    assert.ok(requested.ok, JSON.stringify(requested));
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
    const repo = { workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid('web-app')) };
    const manifests = await Promise.all((await listSnapshotIds(store, repo)).map((id) => readManifest(store, { repo, id }, app.trust())));
    assert.ok(manifests.length >= 2, `${manifests.length} snapshots`);
    assert.equal(manifests[0]?.metadata?.partial, true, 'the first snapshot says its pull requests are partial');
    const last = manifests.at(-1)!;
    assert.equal(last.metadata?.partial, false, 'the last one completed them');
    const index = await readMetadataIndex(store, last);
    assert.deepEqual(index?.pullRequests?.items.map((entry) => entry.id), [1, 2, 3, 4, 5, 6, 7]);
    const activity = app.world.emulator.requests().filter((record) => record.status === 200 && /\/pullrequests\/\d+\/activity/.test(record.path));
    assert.equal(activity.length, 7, 'each pull request read once');
  });
});
