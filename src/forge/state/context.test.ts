// The app's clock: the sandbox Forge host's inside its invocations (tests move it
// on), the context's inside withAppContext, the wall clock elsewhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../sandbox/forge/index.js';
import { REPOSITORY_UUID, startFixtureHost } from '../../../sandbox/forge/testing.js';
import { memoryState } from '../../app/state/memory-state.js';

// Imported once the host's module seam is registered (importing testing.js does it), so @forge/kvs is the host's.
const { now, withAppContext } = await import('./context.js');
const { acquireLease } = await import('../../app/jobs/lease.js');

const HOUR = 3_600_000;

describe('the app\'s clock', () => {
  it('is the host\'s clock inside the sandbox host\'s invocations, and ages a lease held in its KVS', async () => {
    const clock = new ManualClock();
    const fixture = await startFixtureHost({ clock });
    try {
      const inside = <T>(call: () => Promise<T>): Promise<T> => fixture.host.runInInvocation(call);
      assert.equal(await inside(() => acquireLease(REPOSITORY_UUID, 'backup 1', 'backup')), true);
      assert.equal(await inside(() => acquireLease(REPOSITORY_UUID, 'prune 1', 'prune')), false);
      clock.advance(2 * HOUR);
      const seen = await inside(async () => now());
      assert.ok(seen >= Date.now() + 2 * HOUR - 1_000, `${seen - Date.now()} ms ahead of the wall clock`);
      assert.ok(Math.abs(now() - Date.now()) < 1_000, 'outside an invocation: the wall clock');
      // The holder died two hours ago by the host's clock: its lease is taken over.
      assert.equal(await inside(() => acquireLease(REPOSITORY_UUID, 'prune 1', 'prune')), true);
    } finally {
      await fixture.close();
    }
  });

  it('is the context\'s inside withAppContext', async () => {
    const at = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(await withAppContext({ state: memoryState(), now: () => at }, async () => now()), at);
  });
});
