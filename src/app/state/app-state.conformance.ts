/**
 * The one suite every AppState passes: memory-state.test.ts (in memory) and
 * kvs-state.test.ts (the KVS implementation against the sandbox Forge host's
 * KVS, inside an invocation). makeState gives each test an empty store.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isLifeboatError } from '../../engine/errors.js';
import { type AppState, STATE_PAGE, entriesByPrefix, firstValues, listByPrefix } from './app-state.js';

export function runAppStateConformance(name: string, makeState: () => Promise<{ state: AppState; cleanup(): Promise<void> }>): void {
  describe(`AppState conformance: ${name}`, () => {
    let state: AppState;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ state, cleanup } = await makeState());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('gets what was set, as JSON: an overwrite replaces it, undefined fields are dropped, a missing key is undefined', async () => {
      assert.equal(await state.get('job:none'), undefined);
      await state.set('job:1', { state: 'queued', progress: undefined, n: 1 });
      assert.deepEqual(await state.get('job:1'), { state: 'queued', n: 1 });
      await state.set('job:1', { state: 'done' }, { ttl: { value: 14, unit: 'DAYS' } });
      assert.deepEqual(await state.get('job:1'), { state: 'done' });
      await state.set('count', 0);
      assert.equal(await state.get('count'), 0);
    });

    it('says when a value was last written', async () => {
      assert.equal(await state.updatedAt('settings'), undefined);
      const before = Date.now();
      await state.set('settings', { a: 1 });
      const at = await state.updatedAt('settings');
      assert.ok(typeof at === 'number' && at >= before - 1000 && at <= Date.now() + 1000, String(at));
    });

    it('writes if absent only once: the second write is refused and changes nothing; after a delete it is taken again', async () => {
      assert.equal(await state.setIfAbsent('lease', { holder: 'a' }, { ttl: { value: 60, unit: 'SECONDS' } }), true);
      assert.equal(await state.setIfAbsent('lease', { holder: 'b' }, { ttl: { value: 60, unit: 'SECONDS' } }), false);
      assert.deepEqual(await state.get('lease'), { holder: 'a' });
      await state.delete('lease');
      assert.equal(await state.get('lease'), undefined);
      assert.equal(await state.setIfAbsent('lease', { holder: 'b' }), true);
      assert.deepEqual(await state.get('lease'), { holder: 'b' });
    });

    it('contenders writing if absent at once: exactly one wins', async () => {
      const won = await Promise.all(['a', 'b', 'c', 'd'].map((holder) => state.setIfAbsent('contended', holder)));
      assert.equal(won.filter(Boolean).length, 1, JSON.stringify(won));
    });

    it('refuses a key KVS refuses, and writes nothing', async () => {
      await assert.rejects(state.set('repo/with/slashes', 1));
      await assert.rejects(state.set('a', 1));
      await assert.rejects(state.setIfAbsent('k'.repeat(501), 1));
      assert.deepEqual((await state.page('repo')).entries, []);
    });

    it('deletes a key that is not there without an error', async () => {
      await state.delete('never-written');
      await state.secrets.delete('never-written');
    });

    it('pages the keys under a prefix in ascending order, at most 20 a page, with cursors; nothing outside the prefix', async () => {
      const keys = Array.from({ length: 45 }, (_, i) => `snap:${String(44 - i).padStart(2, '0')}`);
      for (const key of keys) await state.set(key, { key });
      await state.set('snapshot', 'outside');
      await state.set('sna', 'outside');
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await state.page<{ key: string }>('snap:', cursor);
        assert.ok(page.entries.length <= STATE_PAGE);
        for (const entry of page.entries) assert.equal(entry.value.key, entry.key);
        seen.push(...page.entries.map((entry) => entry.key));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...keys].sort());
      assert.deepEqual((await state.page('nothing:')).entries, []);
    });

    it('walks every entry with entriesByPrefix, and stops early with firstValues', async () => {
      for (let i = 0; i < 25; i++) await state.set(`audit:${String(i).padStart(2, '0')}`, i);
      const all: number[] = [];
      for await (const { value } of entriesByPrefix<number>(state, 'audit:')) all.push(value);
      assert.deepEqual(all, Array.from({ length: 25 }, (_, i) => i));
      assert.deepEqual(await firstValues<number>(state, 'audit:', 3), [0, 1, 2]);
      assert.deepEqual(await firstValues<number>(state, 'audit:', 0), []);
      const first = await listByPrefix<number>(state, 'audit:');
      assert.equal(first.items.length, 20);
      const second = await listByPrefix<number>(state, 'audit:', first.nextCursor);
      assert.deepEqual(second, { items: [20, 21, 22, 23, 24] });
    });

    it('refuses a cursor it did not give with INVALID_ARGUMENT', async () => {
      await state.set('audit:1', 1);
      await assert.rejects(state.page('audit:', 'not-a-cursor'), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    });

    it('keeps secrets apart: read by key only, never in a page or through get', async () => {
      assert.equal(await state.secrets.get('secret:token'), undefined);
      await state.secrets.set('secret:token', 'very-secret');
      await state.set('secret:note', 'public');
      assert.equal(await state.secrets.get('secret:token'), 'very-secret');
      assert.equal(await state.get('secret:token'), undefined);
      assert.deepEqual((await state.page('secret:')).entries.map((entry) => entry.key), ['secret:note']);
      await state.secrets.set('secret:token', ['age', 'identity'], { ttl: { value: 24, unit: 'HOURS' } });
      assert.deepEqual(await state.secrets.get('secret:token'), ['age', 'identity']);
      await state.secrets.delete('secret:token');
      assert.equal(await state.secrets.get('secret:token'), undefined);
    });
  });
}
