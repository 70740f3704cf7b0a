import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { PIN_MIN_MS, heldPins, pinSnapshot, releasePin } from './pins.js';
import { previewRetention } from './retention-preview.js';
import { indexSnapshot } from './snapshot-index.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState } from '../../forge/state/context.js';
import { memoryApp } from '../state/testing.js';

const REPO = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';
const DAY = 86_400_000;
const T0 = new Date('2026-12-07T10:00:00Z');
const later = (ms: number): Date => new Date(T0.getTime() + ms);

function manifest(id: string, createdAt: string): SnapshotManifest {
  return {
    id, createdAt, trigger: 'push', refs: [{ name: 'refs/heads/main', oid: id.padEnd(40, '0') }],
    bundles: [{ createdBy: id, size: 100 }], encryption: null, repository: { uuid: REPO, slug: 'web-app', name: 'Web app' },
  } as unknown as SnapshotManifest;
}

describe('pins', () => {
  it("an event's pin holds until the banner is undone and at least 30 days; a restore guard's for 30 days; expired ones are dropped", async () => {
    await memoryApp().run(async () => {
      await pinSnapshot(REPO, 'S1', { kind: 'event', eventId: 'e1' }, T0);
      await pinSnapshot(REPO, 'S2', { kind: 'restore-guard', jobId: 'j1' }, T0);
      assert.deepEqual([...(await heldPins(REPO, later(400 * DAY))).keys()], ['S1'], 'an open banner holds its pin however long');
      await releasePin(REPO, 'S1', { kind: 'event', eventId: 'e1' }, later(DAY));
      const held = await heldPins(REPO, later(29 * DAY));
      assert.deepEqual(held.get('S1'), [{ kind: 'event', eventId: 'e1', until: later(PIN_MIN_MS).toISOString() }], 'undone a day later: still the window');
      assert.deepEqual(held.get('S2'), [{ kind: 'restore-guard', jobId: 'j1', until: later(PIN_MIN_MS).toISOString() }]);
      assert.equal((await heldPins(REPO, later(PIN_MIN_MS), { dropExpired: true })).size, 0);
      assert.equal(await appState().get(kvsKeys.pin(REPO, 'S1', 'event-e1')), undefined, 'the expired pins were deleted');
      assert.equal(await appState().get(kvsKeys.pin(REPO, 'S2', 'guard-j1')), undefined);
    });
  });

  it('the retention preview keeps a pinned snapshot and says why', async () => {
    await memoryApp().run(async () => {
      const ids = ['20261207T100000Z-aaaaaa', '20261207T100200Z-bbbbbb', '20261207T100400Z-cccccc'];
      let previous: SnapshotManifest | undefined;
      for (const id of ids) {
        const current = manifest(id, `2026-12-07T10:0${id.slice(12, 13)}:00Z`);
        await indexSnapshot(REPO, current, previous);
        previous = current;
      }
      await pinSnapshot(REPO, ids[0]!, { kind: 'event', eventId: 'e1' });
      const preview = await previewRetention(REPO, { keepDaily: 7 });
      assert.deepEqual(preview.snapshots.map((snapshot) => [snapshot.id, snapshot.kept, snapshot.reasons, snapshot.pins]), [
        [ids[2], true, ['newest', 'daily'], undefined],
        [ids[1], false, [], undefined],
        [ids[0], true, ['pinned'], [{ kind: 'event', eventId: 'e1' }]],
      ]);
    });
  });
});
