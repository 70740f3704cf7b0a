import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { compareSnapshotIds, newestFirstKey } from './bucket-keys.js';

// Ids of one repository as overlapping backups may make them: several in one second, one a day later.
const IDS = ['20261202T020000Z-00ff00', '20261202T020000Z-0a0000', '20261202T020000Z-ffffff', '20261202T020001Z-000000', '20261203T000000Z-123abc', '20251231T235959Z-fedcba'];

describe('the order of snapshots', () => {
  it('the newest is the id that sorts last, random part included', () => {
    assert.deepEqual([...IDS].sort(compareSnapshotIds), [
      '20251231T235959Z-fedcba', '20261202T020000Z-00ff00', '20261202T020000Z-0a0000', '20261202T020000Z-ffffff', '20261202T020001Z-000000', '20261203T000000Z-123abc',
    ]);
  });

  it('newestFirstKey sorts ascending in the reverse of that order, within a second too', () => {
    const byKey = [...IDS].sort((a, b) => (newestFirstKey(a) < newestFirstKey(b) ? -1 : 1));
    assert.deepEqual(byKey, [...IDS].sort(compareSnapshotIds).reverse());
    assert.equal(newestFirstKey('20261126T061500Z-3fa9c1'), '79738873T938499Z-c0563e');
  });

  it('newestFirstKey refuses what is not a snapshot id', () => {
    assert.throws(() => newestFirstKey('20261126T061500Z'), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
  });
});
