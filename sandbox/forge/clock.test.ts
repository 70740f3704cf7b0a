import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from './clock.js';

test('a manual clock fires its timers only when moved on, earliest first, and never runs behind real time', async () => {
  const clock = new ManualClock();
  // Taken before the timers are set: they are due 30 s and 120 s after they were set, and real time passes meanwhile.
  const start = clock.now();
  const fired: string[] = [];
  clock.after(30_000, () => fired.push('30 s'));
  clock.after(120_000, () => fired.push('120 s'));
  const cancelled = clock.after(60_000, () => fired.push('cancelled'));
  clock.after(30_000, () => fired.push('30 s, second'));
  cancelled.cancel();
  assert.equal(clock.every(), undefined, 'repeating timers are left to the test');
  assert.ok(Math.abs(start - Date.now()) < 1000);
  assert.deepEqual(fired, []);
  clock.advance(29_000); // (real time passes too: a margin for it)
  assert.deepEqual(fired, []);
  clock.advance(1_000);
  assert.deepEqual(fired, ['30 s', '30 s, second']);
  assert.equal(clock.next(), true);
  assert.deepEqual(fired, ['30 s', '30 s, second', '120 s']);
  assert.ok(clock.now() - start >= 120_000);
  assert.equal(clock.next(), false);
  // No delay is no delay: it fires without the test.
  await new Promise<void>((resolve) => clock.after(0, resolve));
  assert.equal(clock.waiting, 0);
});
