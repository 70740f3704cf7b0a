import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { collect } from '../streams.js';
import { lockSchema, parseDocument, serializeDocument } from './format.js';
import { lockKey, locksPrefix } from './bucket-keys.js';
import { DEFAULT_STALE_AFTER_MS, acquireLock, isStale, listLocks } from './locks.js';
import { MemoryBlobStore } from './memory-store.js';

const repo = { workspace: 'acme', repository: 'app' };
const minute = 60_000;

/** A clock the test moves by hand; lock times come only from it. */
function clock(start = Date.now()): { now: () => Date; advance: (ms: number) => void } {
  let current = start;
  return { now: () => new Date(current), advance: (ms) => { current += ms; } };
}

async function lockKeys(store: MemoryBlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const blob of store.list(locksPrefix(repo))) keys.push(blob.key);
  return keys;
}

function isLocked(pattern: RegExp) {
  return (error: unknown): boolean => isLifeboatError(error, 'LOCKED') && pattern.test(error.message);
}

describe('acquireLock', () => {
  it('writes a lock document and removes it on release; release is idempotent', async () => {
    const store = new MemoryBlobStore();
    const time = clock(Date.parse('2026-04-01T10:00:00Z'));
    const lock = await acquireLock(store, repo, 'shared', { owner: 'backup on host-a', now: time.now });
    assert.deepEqual(await lockKeys(store), [lockKey(repo, lock.id)]);
    const record = parseDocument(lockSchema, await collect(await store.get(lockKey(repo, lock.id))), 'lock');
    assert.deepEqual(record, {
      format: 'lifeboat-lock',
      version: 1,
      mode: 'shared',
      owner: 'backup on host-a',
      createdAt: '2026-04-01T10:00:00.000Z',
      refreshedAt: '2026-04-01T10:00:00.000Z',
    });
    await lock.release();
    await lock.release();
    assert.deepEqual(await lockKeys(store), []);
  });

  it('lets shared locks coexist', async () => {
    const store = new MemoryBlobStore();
    const first = await acquireLock(store, repo, 'shared', { owner: 'backup 1' });
    const second = await acquireLock(store, repo, 'shared', { owner: 'restore 2' });
    assert.equal((await lockKeys(store)).length, 2);
    await first.release();
    await second.release();
  });

  it('refuses an exclusive lock while a shared one is fresh, says who holds it since when, and removes its own', async () => {
    const store = new MemoryBlobStore();
    const time = clock(Date.parse('2026-04-01T10:00:00Z'));
    const backup = await acquireLock(store, repo, 'shared', { owner: 'backup on host-a', now: time.now });
    time.advance(5 * minute);
    await assert.rejects(
      acquireLock(store, repo, 'exclusive', { owner: 'prune', now: time.now }),
      isLocked(/acme\/app is locked by backup on host-a \(shared lock since 2026-04-01T10:00:00.000Z/),
    );
    assert.deepEqual(await lockKeys(store), [lockKey(repo, backup.id)]);
  });

  it('refuses a shared lock while an exclusive one is fresh, and an exclusive one too', async () => {
    const store = new MemoryBlobStore();
    await acquireLock(store, repo, 'exclusive', { owner: 'prune on host-b' });
    await assert.rejects(acquireLock(store, repo, 'shared', { owner: 'backup' }), isLocked(/prune on host-b \(exclusive lock/));
    await assert.rejects(acquireLock(store, repo, 'exclusive', { owner: 'prune 2' }), isLocked(/prune on host-b/));
    assert.equal((await lockKeys(store)).length, 1);
  });

  it('locks of other repositories do not conflict', async () => {
    const store = new MemoryBlobStore();
    await acquireLock(store, { workspace: 'acme', repository: 'other' }, 'exclusive', { owner: 'prune' });
    const lock = await acquireLock(store, repo, 'exclusive', { owner: 'prune' });
    await lock.release();
  });

  it('ignores a lock not refreshed for the stale age (its holder died)', async () => {
    const store = new MemoryBlobStore();
    const time = clock();
    await acquireLock(store, repo, 'shared', { owner: 'crashed backup', now: time.now });
    time.advance(DEFAULT_STALE_AFTER_MS + 1);
    const prune = await acquireLock(store, repo, 'exclusive', { owner: 'prune', now: time.now });
    await prune.release();
  });

  it('honours a custom stale age', async () => {
    const store = new MemoryBlobStore();
    const time = clock();
    await acquireLock(store, repo, 'shared', { owner: 'backup', now: time.now });
    time.advance(2 * minute);
    await assert.rejects(acquireLock(store, repo, 'exclusive', { owner: 'prune', now: time.now }), isLocked(/30 minutes is ignored/));
    await (await acquireLock(store, repo, 'exclusive', { owner: 'prune', now: time.now, staleAfterMs: minute })).release();
  });

  it('a refreshed lock stays fresh', async () => {
    const store = new MemoryBlobStore();
    const time = clock(Date.parse('2026-04-01T10:00:00Z'));
    const backup = await acquireLock(store, repo, 'shared', { owner: 'long backup', now: time.now });
    time.advance(25 * minute);
    await backup.refresh();
    time.advance(25 * minute);
    await assert.rejects(acquireLock(store, repo, 'exclusive', { owner: 'prune', now: time.now }), isLocked(/last refreshed 2026-04-01T10:25:00.000Z/));
    const [entry] = await listLocks(store, repo);
    assert.equal(entry?.record?.createdAt, '2026-04-01T10:00:00.000Z');
    assert.equal(entry?.record?.refreshedAt, '2026-04-01T10:25:00.000Z');
  });

  it('refresh fails with LOCKED once the lock was removed as stale, and after release is a bug', async () => {
    const store = new MemoryBlobStore();
    const lock = await acquireLock(store, repo, 'shared', { owner: 'backup' });
    await store.remove(lockKey(repo, lock.id));
    await assert.rejects(lock.refresh(), isLocked(/was removed because it was not refreshed/));
    await lock.release();
    await assert.rejects(lock.refresh(), (error) => isLifeboatError(error, 'INTERNAL'));
  });

  it('treats an unreadable lock as exclusive until it is old enough to be stale', async () => {
    const store = new MemoryBlobStore();
    const future = { format: 'lifeboat-lock', version: 2, mode: 'shared', owner: 'newer lifeboat', createdAt: new Date().toISOString(), refreshedAt: new Date().toISOString() };
    await store.put(lockKey(repo, 'from-the-future'), serializeDocument(future));
    await assert.rejects(acquireLock(store, repo, 'shared', { owner: 'backup' }), isLocked(/unreadable lock acme\/app\/locks\/from-the-future.json/));
    const [entry] = await listLocks(store, repo);
    assert.ok(entry);
    assert.equal(entry.record, undefined);
    assert.equal(isStale(entry, new Date(Date.now() + DEFAULT_STALE_AFTER_MS + minute)), true);
    await (await acquireLock(store, repo, 'shared', { owner: 'backup', now: () => new Date(Date.now() + DEFAULT_STALE_AFTER_MS + minute) })).release();
  });

  it('of two racing exclusive and shared lockers at most one wins, the loser leaves nothing, and the lock is free after', async () => {
    /** Resolves after `count` turns of the event loop: how far ahead the exclusive locker starts. */
    const turns = (count: number): Promise<void> => new Promise((resolve) => {
      const step = (left: number): void => { if (left <= 0) resolve(); else setImmediate(() => step(left - 1)); };
      step(count);
    });
    for (const headStart of [0, 1, 2, 4, 8, 'settled'] as const) {
      const store = new MemoryBlobStore();
      const exclusive = acquireLock(store, repo, 'exclusive', { owner: 'prune' });
      const started = headStart === 'settled' ? exclusive.then(() => undefined, () => undefined) : turns(headStart);
      const shared = started.then(() => acquireLock(store, repo, 'shared', { owner: 'backup' }));
      const results = await Promise.allSettled([exclusive, shared]);
      const winners = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      assert.ok(winners.length <= 1, `head start ${headStart}: both won`);
      for (const result of results) if (result.status === 'rejected') assert.ok(isLifeboatError(result.reason, 'LOCKED'), String(result.reason));
      // Once the exclusive lock is held before the other starts, it is the one that wins.
      if (headStart === 'settled') assert.equal(results[0].status, 'fulfilled', 'an uncontended lock is granted');
      assert.deepEqual(await lockKeys(store), winners.map((winner) => lockKey(repo, winner.id)), `head start ${headStart}: a loser left its lock`);
      for (const winner of winners) await winner.release();
      await (await acquireLock(store, repo, 'exclusive', { owner: 'next prune' })).release();
    }
  });

  it('checks its options', async () => {
    const store = new MemoryBlobStore();
    await assert.rejects(acquireLock(store, repo, 'shared', { owner: '' }), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    await assert.rejects(acquireLock(store, repo, 'shared', { owner: 'x', staleAfterMs: 0 }), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    assert.deepEqual(await lockKeys(store), []);
  });
});
