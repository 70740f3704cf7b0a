import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runAppStateConformance } from './app-state.conformance.js';
import { memoryState } from './memory-state.js';

runAppStateConformance('memory', async () => ({ state: memoryState(), cleanup: async () => undefined }));

test('a value past its ttl is gone, and its key may be written if absent again', async () => {
  let now = Date.parse('2026-12-07T12:00:00Z');
  const state = memoryState({ now: () => now });
  assert.equal(await state.setIfAbsent('lease', 'a', { ttl: { value: 60, unit: 'SECONDS' } }), true);
  now += 59_000;
  assert.equal(await state.setIfAbsent('lease', 'b'), false);
  now += 1_000;
  assert.equal(await state.get('lease'), undefined);
  assert.deepEqual((await state.page('lease')).entries, []);
  assert.equal(await state.setIfAbsent('lease', 'b'), true);
});
