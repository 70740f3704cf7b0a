import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimate } from './progress-estimate.js';

test('a transfer\'s rate and time left: from the bytes left when known, else from the steps so far; none too early', () => {
  const start = 1_000_000;
  assert.deepEqual(estimate({ startedAt: start, now: start + 500, bytes: 1_000, steps: 1, stepsLeft: 3 }), {}, 'half a second is latency');
  assert.deepEqual(estimate({ startedAt: start, now: start + 4000, bytes: 0, steps: 0, stepsLeft: 3 }), {}, 'nothing moved yet');
  assert.deepEqual(estimate({ startedAt: start, now: start + 4000, bytes: 4_000_000, steps: 2, bytesLeft: 3_000_000 }), { bytesPerSecond: 1_000_000, secondsLeft: 3 });
  assert.deepEqual(estimate({ startedAt: start, now: start + 4000, bytes: 4_000_000, steps: 2, stepsLeft: 3 }), { bytesPerSecond: 1_000_000, secondsLeft: 6 });
  assert.deepEqual(estimate({ startedAt: start, now: start + 4000, bytes: 4_000_000, steps: 0, stepsLeft: 3 }), { bytesPerSecond: 1_000_000 }, 'no step finished: no time per step');
});
