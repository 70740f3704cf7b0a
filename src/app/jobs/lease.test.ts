import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { kvsKeys } from '../state/state-keys.js';
import { acquireLease, releaseLease } from './lease.js';
import { withAppContext } from '../../forge/state/context.js';
import { memoryState } from '../state/memory-state.js';
import { memoryApp } from '../state/testing.js';

const REPO = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';

describe('the repository lease', () => {
  it('one holder at a time: another is refused until it is released; the same holder may take it again', async () => {
    const app = memoryApp();
    await app.run(async () => {
      assert.equal(await acquireLease(REPO, 'backup 1', 'backup'), true);
      assert.equal(await acquireLease(REPO, 'prune 1', 'prune'), false);
      assert.equal(await acquireLease(REPO, 'backup 1', 'backup'), true);
      await releaseLease(REPO, 'prune 1'); // not its holder: nothing happens
      assert.equal(await acquireLease(REPO, 'prune 1', 'prune'), false);
      await releaseLease(REPO, 'backup 1');
      assert.equal(await acquireLease(REPO, 'prune 1', 'prune'), true);
    });
  });

  it('a lease whose holder died is taken over by exactly one of its contenders', async () => {
    const app = memoryApp();
    await app.run(async () => {
      await app.state.set(kvsKeys.lease(REPO), { holder: 'a backup that died', what: 'backup', until: new Date(Date.now() - 1000).toISOString(), id: randomUUID() });
      const taken = await Promise.all(['backup', 'prune', 'restore'].map((what) => acquireLease(REPO, `${what} 1`, what)));
      assert.equal(taken.filter(Boolean).length, 1, JSON.stringify(taken));
      const holder = (await app.state.get<{ holder: string }>(kvsKeys.lease(REPO)))?.holder;
      assert.equal(holder, `${['backup', 'prune', 'restore'][taken.indexOf(true)]} 1`);
    });
  });

  it('a lease is aged by the app\'s clock: alive for 16 minutes, then taken over though the store still holds it', async () => {
    // KVS expires lazily: this store keeps the lease on the wall clock while the app's clock moves on.
    const state = memoryState();
    let offset = 0;
    await withAppContext({ state, now: () => Date.now() + offset }, async () => {
      assert.equal(await acquireLease(REPO, 'backup 1', 'backup'), true);
      offset = 15 * 60_000;
      assert.equal(await acquireLease(REPO, 'prune 1', 'prune'), false, 'its holder may still be running');
      offset = 16 * 60_000 + 1_000;
      assert.ok(await state.get(kvsKeys.lease(REPO)), 'the store still holds it');
      assert.equal(await acquireLease(REPO, 'prune 1', 'prune'), true);
      assert.equal((await state.get<{ holder: string }>(kvsKeys.lease(REPO)))?.holder, 'prune 1');
    });
  });
});
