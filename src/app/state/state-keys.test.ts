import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSnapshotIds } from '../../engine/bucket/bucket-keys.js';
import { kvsKeys } from './state-keys.js';

describe('kvsKeys.snapshotEntry', () => {
  const repository = '{c3d4e5f6-a7b8-4c91-8a23-3d4e5f6a7b82}';

  it('sorts newest first by the engine\'s order of snapshots, also for ids of the same second (overlapping backups)', () => {
    const ids = ['20261202T020000Z-aaaaaa', '20261202T020000Z-bbbbbb', '20261202T015959Z-ffffff', '20261202T020001Z-000000'];
    const listed = ids.map((id) => ({ id, key: kvsKeys.snapshotEntry(repository, id) })).sort((a, b) => (a.key < b.key ? -1 : 1)).map((entry) => entry.id);
    assert.deepEqual(listed, [...ids].sort(compareSnapshotIds).reverse());
  });

  it('holds the full id, under the prefix the index is listed by', () => {
    const key = kvsKeys.snapshotEntry(repository, '20261202T020000Z-aaaaaa');
    assert.ok(key.startsWith(kvsKeys.snapshotEntryPrefix(repository)));
    assert.ok(key.endsWith(':20261202T020000Z-aaaaaa'));
    assert.match(key, /^[a-zA-Z0-9:._\s\-#]+$/, 'Forge keys allow only these characters');
  });
});
