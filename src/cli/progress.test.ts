import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleMeter, transferMeter } from './progress.js';

const MiB = 1 << 20;

describe('the progress meter', () => {
  it('says the bytes, then the rate and the time left once a second has passed', () => {
    let now = 1_000_000;
    const meter = transferMeter(() => now);
    assert.equal(meter({ bytes: 0, steps: 0, stepsLeft: 3 }), '0 B');
    now += 500;
    assert.equal(meter({ bytes: 2 * MiB, steps: 1, stepsLeft: 3 }), '2.0 MiB', 'half a second measures latency more than a rate');
    now += 1500;
    assert.equal(meter({ bytes: 8 * MiB, steps: 1, stepsLeft: 3 }), '8.0 MiB, 4.0 MiB/s, about 6 s left', 'from the time a step took');
    assert.equal(meter({ bytes: 8 * MiB, steps: 1, bytesLeft: 600 * MiB }), '8.0 MiB, 4.0 MiB/s, about 3 min left', 'from the bytes left');
    assert.equal(meter({ bytes: 8 * MiB, steps: 1, bytesLeft: 60_000 * MiB }), '8.0 MiB, 4.0 MiB/s, about 4.2 h left');
  });

  it('counts bundles of known sizes as each one starts, moved bytes without the resumed ones', () => {
    let now = 0;
    const meter = bundleMeter([4 * MiB, 4 * MiB, 8 * MiB], () => now);
    assert.equal(meter(1, true), '0 B');
    now = 2000;
    assert.equal(meter(2), '0 B', 'the first bundle was on the server already: nothing moved');
    now = 4000;
    assert.equal(meter(3), '4.0 MiB, 1.0 MiB/s, about 8 s left', 'the bytes left: the last bundle');
  });
});
