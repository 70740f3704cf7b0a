import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DestructiveEvent } from '../../contract.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { decideRef, listDestructiveEvents, markEventUndone } from './destructive-events.js';
import { forgetSnapshots, indexSnapshot } from '../catalogue/snapshot-index.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState, now } from '../../forge/state/context.js';
import { memoryApp } from '../state/testing.js';

const BRANCH = 'refs/heads/v1';
const TAG = 'refs/tags/v1';
const CANDIDATES = [BRANCH, TAG];
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);
const OTHER = 'c'.repeat(40);
const forced = { closed: false, after: NEW };
const deleted = { closed: true };

describe('decideRef: a push event names a short name; the app decides branch or tag from the refs it knows', () => {
  it('the snapshot holding the lost tip decides first, whatever the repository looks like now', () => {
    assert.equal(decideRef(CANDIDATES, forced, { holding: { snapshotId: 's', refNames: [TAG] }, current: new Map([[BRANCH, [NEW]]]) }), TAG);
    assert.equal(decideRef(CANDIDATES, deleted, { holding: { snapshotId: 's', refNames: [BRANCH] }, newest: [BRANCH, TAG] }), BRANCH);
  });

  it('a force-push: the ref now at `after`, else the one the newest snapshot has', () => {
    const both = new Map([[BRANCH, [NEW]], [TAG, [OTHER]]]);
    assert.equal(decideRef(CANDIDATES, forced, { current: both, newest: [BRANCH, TAG] }), BRANCH);
    // An annotated tag is at `after` by its own object or by the commit it points to.
    assert.equal(decideRef(CANDIDATES, forced, { current: new Map([[BRANCH, [OTHER]], [TAG, [OTHER, NEW]]]) }), TAG);
    assert.equal(decideRef(CANDIDATES, forced, { current: new Map([[BRANCH, [OTHER]]]), newest: [BRANCH] }), BRANCH, 'pushed again since (a late event): the snapshot still knows the kind');
    // Both names held the lost tip: the repository now tells them apart.
    assert.equal(decideRef(CANDIDATES, forced, { holding: { snapshotId: 's', refNames: [BRANCH, TAG] }, current: both }), BRANCH);
  });

  it('a deletion: a ref the newest snapshot has and the repository has no more', () => {
    assert.equal(decideRef(CANDIDATES, deleted, { newest: [BRANCH, TAG], current: new Map([[TAG, [OLD]]]) }), BRANCH);
    assert.equal(decideRef(CANDIDATES, deleted, { newest: [TAG] }), TAG, 'the repository could not be read in time: the snapshot alone');
    // A tag backed up and still there was not deleted: the branch of that name lived only between two backups.
    assert.equal(decideRef(CANDIDATES, deleted, { newest: [TAG], current: new Map([[TAG, [OLD]]]) }), undefined);
  });

  it('says it cannot tell rather than guess: nothing known, or both fit', () => {
    assert.equal(decideRef(CANDIDATES, deleted, {}), undefined);
    assert.equal(decideRef(CANDIDATES, forced, {}), undefined);
    assert.equal(decideRef(CANDIDATES, deleted, { newest: [], current: new Map() }), undefined, 'created and deleted between two backups');
    assert.equal(decideRef(CANDIDATES, deleted, { newest: [BRANCH, TAG], current: new Map() }), undefined, 'both backed up, both gone');
    assert.equal(decideRef(CANDIDATES, forced, { current: new Map([[BRANCH, [NEW]], [TAG, [NEW]]]), newest: [BRANCH, TAG] }), undefined, 'both at the new tip');
  });
});

describe('the banner offers an undo only while its snapshot is there', () => {
  it('an open event whose snapshot the index no longer has is listed as snapshotGone; one undone, or without a snapshot, is not', async () => {
    const repo = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';
    const snapshotId = '20261207T100000Z-aaaaaa';
    await memoryApp().run(async () => {
      await indexSnapshot(repo, {
        id: snapshotId, createdAt: '2026-12-07T10:00:00Z', trigger: 'push', refs: [{ name: BRANCH, oid: OLD }],
        bundles: [{ createdBy: snapshotId, size: 1 }], encryption: null, repository: { uuid: repo, slug: 'web-app', name: 'Web app' },
      } as unknown as SnapshotManifest, undefined);
      const event = (id: string, extra: Partial<DestructiveEvent>): DestructiveEvent => ({ id, repositoryUuid: repo, kind: 'force-push', ref: BRANCH, previousTip: OLD, newTip: NEW, at: '2026-12-07T10:05:00.000Z', ...extra });
      const records = [event('1796637900000-aaaaaaaaaaaa', { snapshotId }), event('1796637900001-bbbbbbbbbbbb', {}), event('1796637900002-cccccccccccc', { snapshotId, undoneBy: { jobId: 'j', at: '2026-12-07T10:06:00.000Z' } })];
      for (const record of records) await appState().set(kvsKeys.destructiveEvent(repo, new Date(record.at), record.id), record);
      const gone = async () => Object.fromEntries((await listDestructiveEvents(repo)).items.map((item) => [item.id, item.snapshotGone ?? false]));
      assert.deepEqual(await gone(), { [records[0]!.id]: false, [records[1]!.id]: false, [records[2]!.id]: false });
      await forgetSnapshots(repo, [snapshotId]);
      assert.deepEqual(await gone(), { [records[0]!.id]: true, [records[1]!.id]: false, [records[2]!.id]: false });
    });
  });
});

describe('markEventUndone', () => {
  it('dates the undo by the app\'s clock', async () => {
    const repo = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';
    const app = memoryApp();
    // A day on: the wall clock is a day behind the app's.
    app.advance(86_400_000);
    await app.run(async () => {
      const record: DestructiveEvent = { id: '1796637900000-aaaaaaaaaaaa', repositoryUuid: repo, kind: 'force-push', ref: BRANCH, previousTip: OLD, newTip: NEW, at: '2026-12-07T10:05:00.000Z' };
      await appState().set(kvsKeys.destructiveEvent(repo, new Date(record.at), record.id), record);
      const since = now();
      const undone = await markEventUndone(repo, record.id, 'j');
      const at = Date.parse(undone.undoneBy?.at ?? '');
      assert.ok(at >= since && at <= now(), `undone at ${undone.undoneBy?.at}, the app's clock ${new Date(since).toISOString()}`);
    });
  });
});
