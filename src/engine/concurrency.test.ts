import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inTurns } from './concurrency.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('inTurns', () => {
  it('answers in the items\' order, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const answers = await inTurns([5, 1, 4, 2, 3], 2, async (item, index) => {
      running++;
      most = Math.max(most, running);
      for (let wait = 0; wait < item; wait++) await tick();
      running--;
      return `${index}:${item}`;
    });
    assert.deepEqual(answers, ['0:5', '1:1', '2:4', '3:2', '4:3']);
    assert.equal(most, 2);
    assert.deepEqual(await inTurns([], 4, async () => 1), []);
  });

  it('after a failure starts nothing more, waits for what runs, and throws the first failure', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    await assert.rejects(inTurns([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      if (item === 1) throw new Error('one failed');
      await tick();
      await tick();
      if (item === 2) throw new Error('two failed later');
      finished.push(item);
      return item;
    }), /one failed/);
    assert.deepEqual(started, [0, 1], 'nothing started after the failure');
    assert.deepEqual(finished, [0], 'the one under way was waited for');
  });
});
