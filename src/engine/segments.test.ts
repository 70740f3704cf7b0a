import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from './errors.js';
import { type SegmentPlan, parseDocument, pendingSchema } from './bucket/format.js';
import { DEFAULT_BYTES_PER_SECOND, afterSegment, byteBudget, deepenHistory, nextCut } from './segments.js';
import type { GitClient } from './git/types.js';

const oid = (n: number): string => n.toString(16).padStart(40, '0');
const plan = (cuts: number, extra: Partial<SegmentPlan> = {}): SegmentPlan => ({ cuts: Array.from({ length: cuts }, (_, index) => [oid(index + 1)]), done: 0, ...extra });

describe('segment sizing', () => {
  it('derives the byte budget from the request cap and the throughput: measured, else given, else the safe default', () => {
    assert.equal(byteBudget({ requestSeconds: 180 }), 180 * DEFAULT_BYTES_PER_SECOND / 2);
    assert.equal(byteBudget({ requestSeconds: 180, bytesPerSecond: 10_000_000 }), 900_000_000);
    assert.equal(byteBudget({ requestSeconds: 180, bytesPerSecond: 10_000_000 }, plan(3, { bytesPerSecond: 2_000_000 })), 180_000_000, 'this repository\'s measured rate wins');
    assert.equal(byteBudget({ requestSeconds: 5, maxBytes: 1234 }), 1234);
  });

  it('takes one cut first, then as many as the budget holds at the measured bytes per cut, never none and never past the plan', () => {
    assert.equal(nextCut(plan(10), 1_000_000), 0);
    assert.equal(nextCut(plan(10, { done: 2, bytesPerCut: 300 }), 1000), 4, 'three cuts of 300 in 1000');
    assert.equal(nextCut(plan(10, { done: 2, bytesPerCut: 5000 }), 1000), 2, 'one cut even when it weighs more than the budget');
    assert.equal(nextCut(plan(10, { done: 8, bytesPerCut: 1 }), 1000), 9, 'no further than the last cut');
  });

  it('measures bytes per cut always, and the rate only on a fetch long enough to be more than latency', () => {
    const options = { requestSeconds: 100 };
    assert.deepEqual(afterSegment(plan(10), options, 0, 5000, 0.2), { ...plan(10), done: 1, bytesPerCut: 5000 });
    assert.deepEqual(afterSegment(plan(10, { done: 1 }), options, 2, 8_000_000, 20), { ...plan(10), done: 3, bytesPerCut: 4_000_000, bytesPerSecond: 400_000 });
    assert.equal(afterSegment(plan(10, { done: 1, bytesPerSecond: 7 }), options, 1, 100, 1).bytesPerSecond, 7, 'a short fetch keeps the rate measured before');
  });
});

describe('cut points from deepen requests', () => {
  it('walks down step by step from the tip and gives the cuts oldest first', async () => {
    // A linear history 0..9 (9 the tip): the boundary `depth - 1` below a commit.
    const asked: { wants: string[]; depth: number }[] = [];
    const git = {
      shallowBoundary: async (options: { wants: string[]; depth: number }) => {
        asked.push(options);
        const below = Number.parseInt(options.wants[0]!, 16) - (options.depth - 1);
        return below >= 0 ? [oid(below)] : [];
      },
    } as unknown as GitClient;
    assert.deepEqual(await deepenHistory(git)!.cuts(oid(9), 3), [[oid(0)], [oid(3)], [oid(6)]]);
    assert.deepEqual(asked.map((request) => request.depth), [4, 4, 4, 4]);
  });

  it('is none for a client that cannot ask, and no cuts where the server cannot deepen', async () => {
    assert.equal(deepenHistory({} as GitClient), undefined);
    assert.deepEqual(await deepenHistory({ shallowBoundary: async () => undefined } as unknown as GitClient)!.cuts(oid(9), 3), []);
  });
});

describe('the pending record keeps the plan', () => {
  const record = { format: 'lifeboat-pending', version: 1, id: '20261126T061500Z-3fa9c1', startedAt: '2026-11-26T06:15:00.000Z', updatedAt: '2026-11-26T06:15:00.000Z', after: null, base: null, bundles: [], encryption: null };

  it('reads a record with a plan, and one without (earlier Lifeboats)', () => {
    const withPlan = { ...record, segments: { cuts: [[oid(1)], [oid(2), oid(3)]], done: 1, bytesPerCut: 100, bytesPerSecond: 5 } };
    assert.deepEqual(parseDocument(pendingSchema, JSON.stringify(withPlan), 'pending').segments, withPlan.segments);
    assert.equal(parseDocument(pendingSchema, JSON.stringify(record), 'pending').segments, undefined);
  });

  it('refuses a plan that claims more cuts done than it has, or an empty cut', () => {
    for (const segments of [{ cuts: [[oid(1)]], done: 2 }, { cuts: [[]], done: 0 }]) {
      assert.throws(() => parseDocument(pendingSchema, JSON.stringify({ ...record, segments }), 'pending'), (error) => isLifeboatError(error, 'FORMAT_INVALID'));
    }
  });
});
