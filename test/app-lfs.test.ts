// LFS objects in the app, in the local world: a push with LFS pointers is backed up
// by the app (the emulator's batch API, with the workspace's git credential, and the
// transfers on the stand-in for Atlassian's media host, which the manifest declares),
// the objects land in the bucket once per oid, and a restore into a new repository
// uploads them back byte for byte. A transfer on a host the app does not declare
// fails that object by name, and the rest of the backup goes on.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Result } from '../src/contract.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { readNewestManifest } from '../src/engine/bucket/catalog.js';
import { readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { createLfsClient } from '../src/engine/git/lfs.js';
import { fromBytes } from '../src/engine/streams.js';
import { repoPath } from '../src/forge/bucket.js';
import { DEMO_WORKSPACE } from '../sandbox/demo.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { lfsObjectPath } from '../sandbox/bitbucket/lfs.js';
import { gitAsync } from '../sandbox/bitbucket/test-support.js';
import { write } from './helpers/fixtures.js';
import { type LfsFixture, lfsObject, pointerFile } from './helpers/lfs.js';
import { type AppWorld, startAppWorld } from './helpers/app-world.js';
import { jobOfKind } from './helpers/jobs.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { jobNoteWords } from '../static/shared/job-words.js';

const ADMIN = { as: 'admin' as const };
const SLUG = 'docs';

function valueOf<T>(result: Result<T>, what: string): T {
  if (!result.ok) assert.fail(`${what}: ${result.error.code} ${result.error.message}`);
  return result.value;
}

describe('LFS objects in the app', () => {
  let app: AppWorld;
  let store: BlobStore;
  let scratch: string;
  const objects = [lfsObject(), lfsObject(7000)];

  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-app-lfs-'));
    app = await startAppWorld({ clock: new ManualClock() });
    await app.configure({ retention: {} });
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: `${bucket.endpoint}/`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  });

  after(async () => {
    await app?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('backs up the objects a push points to, and restores them into a new repository byte for byte', async () => {
    // As git-lfs would: the objects go up through the batch API with the git credential, then the pointers are pushed.
    const lfs = createLfsClient({ url: app.gitUrl(SLUG), loopbackTransfers: true });
    const answers = await lfs.batch('upload', objects);
    for (const object of objects) {
      const upload = answers.get(object.oid)?.actions?.upload;
      assert.ok(upload, 'the emulator offers an upload');
      await lfs.upload(object, { upload }, fromBytes(object.content));
    }
    const work = join(scratch, 'work');
    await gitAsync(undefined, ['clone', '--quiet', app.gitUrl(SLUG), work]);
    write(work, 'media/a.bin', pointerFile(objects[0]!, 3));
    write(work, 'media/b.bin', pointerFile(objects[1]!, 3));
    await gitAsync(work, ['add', '-A']);
    await gitAsync(work, ['-c', 'user.name=Alice', '-c', 'user.email=alice@example.com', 'commit', '--quiet', '-m', 'media']);
    const batchesBefore = app.world.emulator.lfsBatches.length;
    await gitAsync(work, ['push', '--quiet', 'origin', 'HEAD']);
    await settle(); // the push event queued a backup

    const repo = repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(SLUG));
    const manifest = await readNewestManifest(store, repo, app.trust());
    assert.ok(manifest, 'the push was backed up');
    const index = await readMetadataIndex(store, manifest);
    assert.deepEqual(index?.lfs?.items.map((entry) => entry.oid), objects.map((object) => object.oid).sort());
    assert.equal(index?.lfs?.complete, true);
    const downloads = app.world.emulator.lfsBatches.slice(batchesBefore).filter((batch) => batch.operation === 'download');
    assert.equal(downloads.length, 1, 'one batch request for both objects');
    const transfers = (operation: string): string[] => app.world.emulator.lfsTransfers.filter((transfer) => transfer.operation === operation && transfer.status === 200).map((transfer) => transfer.oid).sort();
    assert.deepEqual(transfers('download'), objects.map((object) => object.oid).sort(), 'downloaded from the media host, through the app\'s egress');

    // Nothing changed since: a second backup asks the LFS server nothing.
    valueOf(await app.repoPage('backupNow', undefined, { ...ADMIN, repositorySlug: SLUG }), 'backupNow');
    await settle();
    assert.equal(app.world.emulator.lfsBatches.slice(batchesBefore).filter((batch) => batch.operation === 'download').length, 1);

    const job = valueOf(await app.repoPage('startRestore', { snapshotId: manifest.id, mode: 'new-repository', newRepositorySlug: 'docs-restored' }, { ...ADMIN, repositorySlug: SLUG }), 'startRestore');
    await settle();
    const done = jobOfKind(valueOf(await app.repoPage('getJob', { jobId: job.id }, { ...ADMIN, repositorySlug: SLUG }), 'getJob'), 'restore');
    assert.equal(done.state, 'done', JSON.stringify(done.error ?? done.note));
    assert.equal(done.result?.lfsObjects, 2);
    assert.match(jobNoteWords(done.note), /2 LFS objects restored/);
    const restored = app.world.emulator.gitDir(DEMO_WORKSPACE.slug, 'docs-restored');
    for (const object of objects) assert.deepEqual(readFileSync(lfsObjectPath(restored, object.oid)), object.content, object.oid);
    // The test's own two uploads, then the restore's two.
    assert.equal(transfers('upload').length, 4, 'uploaded to the media host');
  });

  it('a transfer on a host the app does not declare fails that object by name; the other objects and git are backed up; a restore stops with the host named', async () => {
    const [allowed, elsewhere] = [lfsObject(), lfsObject()] as [LfsFixture, LfsFixture];
    const lfs = createLfsClient({ url: app.gitUrl(SLUG), loopbackTransfers: true });
    const offers = await lfs.batch('upload', [allowed, elsewhere]);
    for (const object of [allowed, elsewhere]) await lfs.upload(object, { upload: offers.get(object.oid)!.actions!.upload! }, fromBytes(object.content));
    const work = join(scratch, 'work');
    write(work, 'media/c.bin', pointerFile(allowed, 3));
    write(work, 'media/d.bin', pointerFile(elsewhere, 3));
    await gitAsync(work, ['add', '-A']);
    await gitAsync(work, ['-c', 'user.name=Alice', '-c', 'user.email=alice@example.com', 'commit', '--quiet', '-m', 'more media']);
    app.world.emulator.faults.lfsHrefOrigin = { origin: 'https://media.example.net', oid: elsewhere.oid };
    try {
      await gitAsync(work, ['push', '--quiet', 'origin', 'HEAD']);
      await settle();
      const manifest = await readNewestManifest(store, repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(SLUG)), app.trust());
      assert.ok(manifest);
      assert.equal(manifest.refs.find((ref) => ref.name === 'refs/heads/main')?.oid, (await gitAsync(work, ['rev-parse', 'HEAD'])).trim(), 'git is backed up');
      const index = await readMetadataIndex(store, manifest);
      assert.ok(index?.lfs?.items.some((entry) => entry.oid === allowed.oid), 'the other object is stored');
      assert.deepEqual(index?.lfs?.missing.map((entry) => entry.oid), [elsewhere.oid]);
      assert.match(index?.lfs?.missing[0]?.reason ?? '', /sent the download of LFS object [0-9a-f]{64} to media\.example\.net, a host Lifeboat may not reach/);

      // Every upload sent elsewhere: the restore stops at the first, naming the host, with the page's hint.
      app.world.emulator.faults.lfsHrefOrigin = { origin: 'https://media.example.net' };
      const job = valueOf(await app.repoPage('startRestore', { snapshotId: manifest.id, mode: 'new-repository', newRepositorySlug: 'docs-elsewhere' }, { ...ADMIN, repositorySlug: SLUG }), 'startRestore');
      await settle();
      const done = valueOf(await app.repoPage('getJob', { jobId: job.id }, { ...ADMIN, repositorySlug: SLUG }), 'getJob');
      assert.equal(done.state, 'failed', JSON.stringify(done.error ?? done.note));
      assert.equal(done.error?.code, 'LFS_HOST_NOT_ALLOWED');
      assert.match(done.error?.message ?? '', /media\.example\.net/);
      assert.match(done.error?.hint ?? '', /host the app does not declare/);
    } finally {
      delete app.world.emulator.faults.lfsHrefOrigin;
    }
  });
});
