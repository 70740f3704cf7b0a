// Retention in the local world: the snapshot a force-push banner offers to
// restore from is pinned, so "Back up all now" and the prune it queues keep it,
// and the banner's undo still works (issue 18: a prune two minutes after a
// force-push left web-app with one snapshot and the undo with nothing).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DestructiveEvent, Result } from '../src/contract.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { listSnapshotIds } from '../src/engine/bucket/catalog.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { besideRefName } from '../src/engine/remote-restore.js';
import { repoPath } from '../src/forge/bucket.js';
import { gitAsync } from '../sandbox/bitbucket/test-support.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { jobOfKind } from './helpers/jobs.js';

const ADMIN = { as: 'admin' as const };
const SLUG = 'web-app';

function valueOf<T>(result: Result<T>, what: string): T {
  if (!result.ok) assert.fail(`${what}: ${result.error.code} ${result.error.message}`);
  return result.value;
}

describe('retention keeps what the banners promise', () => {
  const clock = new ManualClock();
  let app: AppWorld;
  let store: BlobStore;
  let scratch: string;

  before(async () => {
    app = await startAppWorld({ clock });
    // The narrowest policy there is: without pins it forgets every snapshot but the newest.
    await app.configure({ retention: { keepLast: 1 } });
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-app-retention-'));
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  });

  after(async () => {
    await app?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };
  const events = async (): Promise<DestructiveEvent[]> => valueOf(await app.repoPage('listDestructiveEvents', {}, { ...ADMIN, repositorySlug: SLUG }), 'listDestructiveEvents').items;
  const snapshotIds = async (): Promise<string[]> => listSnapshotIds(store, repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(SLUG)));

  it('a force-push, then "Back up all now" and its prune: the banner\'s snapshot is kept, shown as pinned, and the undo works', async () => {
    const dir = join(scratch, SLUG);
    await gitAsync(undefined, ['clone', '--quiet', app.gitUrl(SLUG), dir]);
    const git = (...args: string[]) => gitAsync(dir, args);
    await git('checkout', '--quiet', '-b', 'retained-topic');
    await git('commit', '--quiet', '--allow-empty', '-m', 'first');
    await git('push', '--quiet', 'origin', 'retained-topic');
    await settle();
    await git('commit', '--quiet', '--allow-empty', '-m', 'work that will be rewritten');
    await git('push', '--quiet', 'origin', 'retained-topic');
    await settle();
    const lostTip = (await git('rev-parse', 'HEAD')).trim();
    await git('commit', '--quiet', '--amend', '--allow-empty', '-m', 'rewritten');
    await git('push', '--quiet', '--force', 'origin', 'retained-topic');
    await settle();

    const event = (await events()).find((candidate) => candidate.kind === 'force-push' && candidate.previousTip === lostTip);
    assert.ok(event?.snapshotId, 'the force-push is recorded with the snapshot holding the lost tip');
    const before = await snapshotIds();
    assert.ok(before.length >= 3, `pushes backed up: ${before.join(', ')}`);
    assert.notEqual(before.at(-1), event.snapshotId, 'a later backup is the newest');

    const preview = valueOf(await app.adminPage('previewRetention', { repositoryUuid: app.repositoryUuid(SLUG), retention: { keepLast: 1 } }, ADMIN), 'previewRetention');
    const pinned = preview.snapshots.find((snapshot) => snapshot.id === event.snapshotId);
    assert.deepEqual([pinned?.kept, pinned?.reasons, pinned?.pins], [true, ['pinned'], [{ kind: 'event', eventId: event.id }]], 'the preview shows the pin and why');

    valueOf(await app.adminPage('sweepNow', undefined, ADMIN), 'sweepNow');
    await settle();
    // The sweep queues each prune a couple of minutes later.
    while (clock.waiting > 0) {
      clock.next();
      await settle();
    }
    const after = await snapshotIds();
    assert.ok(after.length < before.length, `the prune ran and forgot snapshots: ${before.length} → ${after.length}`);
    assert.ok(after.includes(event.snapshotId), 'the pinned snapshot is kept');
    assert.equal(after.filter((id) => id !== event.snapshotId).length, 1, 'besides it, keepLast 1 keeps one: the newest');
    assert.ok(after.at(-1)! >= before.at(-1)!, 'the newest is kept');
    const listed = (await events()).find((candidate) => candidate.id === event.id);
    assert.equal(listed?.snapshotGone, undefined, 'the banner still offers its undo');

    const undo = valueOf(await app.repoPage('undoDestructiveEvent', { eventId: event.id }, { ...ADMIN, repositorySlug: SLUG }), 'undo');
    await settle();
    const done = jobOfKind(valueOf(await app.repoPage('getJob', { jobId: undo.id }, { ...ADMIN, repositorySlug: SLUG }), 'getJob'), 'restore');
    assert.equal(done.state, 'done', JSON.stringify(done.error ?? done.note));
    const restored = besideRefName(done.result?.snapshotId as string, 'refs/heads/retained-topic');
    assert.match(await gitAsync(undefined, ['ls-remote', app.gitUrl(SLUG), restored]), new RegExp(`^${lostTip}\\t`), 'the lost tip is back beside the branch');
  });
});
