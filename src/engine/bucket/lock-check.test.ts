import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { checkRetention } from './lock-check.js';
import { MemoryBlobStore } from './memory-store.js';

describe('checkRetention', () => {
  const asked = { mode: 'GOVERNANCE' as const, retainUntil: new Date('2027-01-01T00:00:00.750Z') };
  const refused = (keys: string[]) => (error: unknown): boolean => isLifeboatError(error, 'OBJECT_LOCK_NOT_APPLIED') && /NOT protected/.test(error.message)
    && JSON.stringify(error.details?.keys) === JSON.stringify(keys);

  it('passes what is retained as asked or longer, in the mode asked or COMPLIANCE; the date in whole seconds, as S3 answers it', async () => {
    const store = new MemoryBlobStore({ objectLockEnabled: true });
    await store.put('same-second', Buffer.from('a'), { lock: { mode: 'GOVERNANCE', retainUntil: new Date('2027-01-01T00:00:00.000Z') } });
    await store.put('longer', Buffer.from('b'), { lock: { mode: 'COMPLIANCE', retainUntil: new Date('2028-01-01T00:00:00Z') } });
    await checkRetention(store, ['same-second', 'longer'], asked);
  });

  it('refuses objects without retention, retained for less, or in GOVERNANCE when COMPLIANCE was asked, naming each', async () => {
    const store = new MemoryBlobStore({ objectLockEnabled: true });
    await store.put('none', Buffer.from('a'));
    await store.put('shorter', Buffer.from('b'), { lock: { mode: 'GOVERNANCE', retainUntil: new Date('2026-12-31T23:59:59Z') } });
    await store.put('governance', Buffer.from('c'), { lock: { mode: 'GOVERNANCE', retainUntil: new Date('2028-01-01T00:00:00Z') } });
    await assert.rejects(checkRetention(store, ['none', 'shorter', 'governance'], asked), refused(['none', 'shorter']));
    await assert.rejects(checkRetention(store, ['governance'], { ...asked, mode: 'COMPLIANCE' }), refused(['governance']));
    await assert.rejects(checkRetention(store, ['missing'], asked), refused(['missing']));
  });
});
