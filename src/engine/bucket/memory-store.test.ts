import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { collect } from '../streams.js';
import { runBlobStoreConformance } from './blob-store.conformance.js';
import { MemoryBlobStore } from './memory-store.js';

runBlobStoreConformance('memory', async () => ({ store: new MemoryBlobStore(), cleanup: async () => undefined }));

describe('MemoryBlobStore Object Lock', () => {
  const hour = 3_600_000;
  function clock(start: number): { now: () => Date; advance: (ms: number) => void } {
    let current = start;
    return { now: () => new Date(current), advance: (ms) => { current += ms; } };
  }

  it('answers objectLockEnabled as configured', async () => {
    assert.equal(await new MemoryBlobStore().objectLockEnabled(), false);
    assert.equal(await new MemoryBlobStore({ objectLockEnabled: true }).objectLockEnabled(), true);
    assert.equal(await new MemoryBlobStore({ objectLockEnabled: undefined }).objectLockEnabled(), undefined);
  });

  it('refuses lock puts and copies when Object Lock is off', async () => {
    const store = new MemoryBlobStore();
    const lock = { mode: 'GOVERNANCE' as const, retainUntil: new Date(Date.now() + hour) };
    await assert.rejects(store.put('k', Buffer.from('x'), { lock }), (error) => isLifeboatError(error, 'BUCKET_ERROR'));
    await store.put('k', Buffer.from('x'));
    await assert.rejects(store.copy('k', 'k2', { lock }), (error) => isLifeboatError(error, 'BUCKET_ERROR'));
  });

  it('keeps a locked object until its retention ends, then lets it go', async () => {
    const time = clock(Date.parse('2026-01-01T00:00:00Z'));
    const store = new MemoryBlobStore({ objectLockEnabled: true, now: time.now });
    const lock = { mode: 'COMPLIANCE' as const, retainUntil: new Date(time.now().getTime() + 24 * hour) };
    await store.put('objects/a', Buffer.from('data'), { lock });
    assert.deepEqual((await store.stat('objects/a'))?.lock, lock);
    await assert.rejects(store.remove('objects/a'), (error) => isLifeboatError(error, 'OBJECT_LOCKED') && /2026-01-02T00:00:00.000Z/.test(error.message));
    await assert.rejects(store.put('objects/a', Buffer.from('other')), (error) => isLifeboatError(error, 'OBJECT_LOCKED'));
    await store.put('staging/b', Buffer.from('more'));
    await assert.rejects(store.copy('staging/b', 'objects/a'), (error) => isLifeboatError(error, 'OBJECT_LOCKED'));
    assert.equal((await collect(await store.get('objects/a'))).toString(), 'data');

    time.advance(24 * hour + 1);
    await store.remove('objects/a');
    assert.equal(await store.stat('objects/a'), undefined);
  });

  it('gives a copy the retention asked for, not the source one', async () => {
    const store = new MemoryBlobStore({ objectLockEnabled: true });
    const lock = { mode: 'GOVERNANCE' as const, retainUntil: new Date(Date.now() + hour) };
    await store.put('staging/x', Buffer.from('x'), { lock });
    await store.copy('staging/x', 'objects/x');
    assert.equal((await store.stat('objects/x'))?.lock, undefined);
    await store.copy('staging/x', 'objects/y', { lock });
    assert.deepEqual((await store.stat('objects/y'))?.lock, lock);
  });

  it('stores a copy of the caller’s bytes', async () => {
    const store = new MemoryBlobStore();
    const bytes = Buffer.from('abc');
    await store.put('k', bytes);
    bytes.fill(0);
    assert.equal((await collect(await store.get('k'))).toString(), 'abc');
  });
});
