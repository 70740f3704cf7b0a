import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from './errors.js';
import { type SegmentPlan, parseDocument, pendingSchema } from './bucket/format.js';
import { DEFAULT_BYTES_PER_SECOND, afterSegment, byteBudget, deepenHistory, nextCut, smallerSegment } from './segments.js';
import type { GitClient, ShallowRequest } from './git/types.js';

const oid = (n: number): string => n.toString(16).padStart(40, '0');
const plan = (cuts: number, extra: Partial<SegmentPlan> = {}): SegmentPlan => ({ cuts: Array.from({ length: cuts }, (_, index) => [oid(index + 1)]), spans: Array.from({ length: cuts }, () => 10), done: 0, ...extra });

describe('segment sizing', () => {
  it('derives the byte budget from the request cap and the throughput: measured, else given, else the safe default', () => {
    assert.equal(byteBudget({ requestSeconds: 180 }), 180 * DEFAULT_BYTES_PER_SECOND / 2);
    assert.equal(byteBudget({ requestSeconds: 180, bytesPerSecond: 10_000_000 }), 900_000_000);
    assert.equal(byteBudget({ requestSeconds: 180, bytesPerSecond: 10_000_000 }, plan(3, { bytesPerSecond: 2_000_000 })), 180_000_000, 'this repository\'s measured rate wins');
    assert.equal(byteBudget({ requestSeconds: 5, maxBytes: 1234 }), 1234);
  });

  it('takes one cut first, then as many as the budget holds at the measured bytes per commit, never none and never past the plan', () => {
    assert.equal(nextCut(plan(10), 1_000_000), 0);
    assert.equal(nextCut(plan(10, { done: 2, bytesPerCommit: 30 }), 1000), 4, 'three cuts of 10 commits of 30 bytes in 1000');
    assert.equal(nextCut(plan(10, { done: 2, bytesPerCommit: 500 }), 1000), 2, 'one cut even when it weighs more than the budget');
    assert.equal(nextCut(plan(10, { done: 8, bytesPerCommit: 1 }), 1000), 9, 'no further than the last cut');
    assert.equal(nextCut(plan(3, { spans: [10, 1, 1], done: 0, bytesPerCommit: 10 }), 110), 1, 'by the commits each cut spans');
  });

  it('prefers the last cut at a tag within the budget, unless the segment would be less than half as long', () => {
    const within = plan(10, { done: 2, bytesPerCommit: 30 });
    assert.equal(nextCut(within, 1000, new Set([oid(4)])), 3, 'cut 3 (at a tag) rather than 4');
    assert.equal(nextCut(within, 1000, new Set([oid(3), oid(4)])), 3, 'the last tagged one');
    assert.equal(nextCut(within, 1000, new Set([oid(3)])), 4, 'a third of the segment: not worth it');
    assert.equal(nextCut(within, 1000, new Set([oid(7)])), 4, 'a tag past the budget is not taken');
    assert.equal(nextCut(plan(10), 1000, new Set([oid(1), oid(2)])), 0, 'the first segment takes one cut');
  });

  it('measures bytes per commit always, and the rate only on a fetch long enough to be more than latency', () => {
    const options = { requestSeconds: 100 };
    assert.deepEqual(afterSegment(plan(10), options, 0, 5000, 0.2), { ...plan(10), done: 1, bytesPerCommit: 500 });
    assert.deepEqual(afterSegment(plan(10, { done: 1 }), options, 2, 8_000_000, 20), { ...plan(10), done: 3, bytesPerCommit: 400_000, bytesPerSecond: 400_000 });
    assert.equal(afterSegment(plan(10, { done: 1, bytesPerSecond: 7 }), options, 1, 100, 1).bytesPerSecond, 7, 'a short fetch keeps the rate measured before');
  });

  it('after a failed segment, plans a smaller one: half the estimate for several cuts, a cut half way down for one', async () => {
    const asked: ShallowRequest[] = [];
    const git = { shallowBoundary: async (options: ShallowRequest) => (asked.push(options), { boundary: [oid(99)], unshallow: [] }) } as unknown as GitClient;
    const several = await smallerSegment(plan(10, { done: 2, bytesPerCommit: 10 }), git, 400, 5, []);
    assert.equal(nextCut(several!, 400), 3, 'four cuts failed: two next');
    assert.deepEqual(asked, [], 'no request for that');
    const split = await smallerSegment(plan(4, { done: 1 }), git, 400, 1, [oid(1)]);
    assert.deepEqual(asked, [{ wants: [oid(2)], depth: 6, shallow: [oid(1)] }], 'five commits below the failed cut, above the stored ones');
    assert.deepEqual(split?.cuts, [[oid(1)], [oid(99)], [oid(2)], [oid(3)], [oid(4)]]);
    assert.deepEqual(split?.spans, [10, 5, 5, 10, 10]);
    assert.equal(await smallerSegment(plan(2, { spans: [1, 1] }), git, 400, 0, []), undefined, 'a cut of one commit cannot be smaller');
  });
});

/**
 * A linear history 0..tip (the commit id is its number), answered as upload-pack answers:
 * "deepen 1" names the wanted commits; a shallow commit within the step is unshallowed,
 * one exactly at the boundary left out.
 */
function linearHistory(tip: number, asked: ShallowRequest[] = []): GitClient {
  const commit = (id: string): number | undefined => (Number.parseInt(id, 16) <= tip ? Number.parseInt(id, 16) : undefined);
  return {
    shallowBoundary: async (options: ShallowRequest) => {
      asked.push(options);
      if (options.depth === 1) return { boundary: options.wants.filter((want) => commit(want) !== undefined).sort(), unshallow: [] };
      const from = commit(options.wants[0]!)!;
      const below = from - (options.depth - 1);
      const declared = (options.shallow ?? []).map((known) => commit(known)!);
      return { boundary: below >= 0 && !declared.includes(below) ? [oid(below)] : [], unshallow: declared.filter((known) => known <= from && known > below).map(oid) };
    },
  } as unknown as GitClient;
}

describe('cut points from deepen requests', () => {
  it('walks down step by step from the tip and gives the cuts oldest first', async () => {
    // A linear history 0..9 (9 the tip): the boundary `depth - 1` below a commit.
    const asked: ShallowRequest[] = [];
    const git = {
      shallowBoundary: async (options: ShallowRequest) => {
        asked.push(options);
        const below = Number.parseInt(options.wants[0]!, 16) - (options.depth - 1);
        return { boundary: below >= 0 ? [oid(below)] : [], unshallow: [] };
      },
    } as unknown as GitClient;
    assert.deepEqual(await deepenHistory(git)!.cuts(oid(9), 3, { stored: [], tags: [] }), [{ commits: [oid(0)], span: 3 }, { commits: [oid(3)], span: 3 }, { commits: [oid(6)], span: 3 }]);
    assert.deepEqual(asked.map((request) => request.depth), [4, 4, 4, 4]);
  });

  it('stops above the stored history: at the step that unshallows a stored commit, or whose boundary is one', async () => {
    const linear = linearHistory(29);
    assert.deepEqual(await deepenHistory(linear)!.cuts(oid(29), 5, { stored: [oid(11)], tags: [] }), [{ commits: [oid(14)], span: 3 }, { commits: [oid(19)], span: 5 }, { commits: [oid(24)], span: 5 }], 'the oldest cut\'s span measured down to the stored commit');
    assert.deepEqual(await deepenHistory(linear)!.cuts(oid(29), 5, { stored: [oid(14)], tags: [] }), [{ commits: [oid(19)], span: 5 }, { commits: [oid(24)], span: 5 }], 'the stored commit at a boundary');
    assert.deepEqual(await deepenHistory(linear)!.cuts(oid(29), 5, { stored: [oid(26)], tags: [] }), [], 'new history within one step: no cuts');
  });

  it('cuts at the tags within a step too, between its two cuts, splitting its span; tags of other objects are left out', async () => {
    const asked: ShallowRequest[] = [];
    const git = linearHistory(29, asked);
    const notACommit = 'f'.repeat(40);
    const cuts = await deepenHistory(git)!.cuts(oid(29), 5, { stored: [], tags: [oid(22), oid(20), notACommit] });
    assert.deepEqual(cuts, [
      { commits: [oid(4)], span: 5 }, { commits: [oid(9)], span: 5 }, { commits: [oid(14)], span: 5 }, { commits: [oid(19)], span: 5 },
      { commits: [oid(19), oid(20), oid(22)], span: 3 }, { commits: [oid(24)], span: 2 },
    ]);
    assert.deepEqual(asked[1], { wants: [oid(22), oid(20), notACommit], depth: 1 }, 'once the history is longer than a step, one request finds the tags\' commits');
    assert.ok(asked.every((request) => !request.shallow?.includes(notACommit)), 'only commits are sent as shallow');
    assert.equal(asked.filter((request) => request.shallow?.includes(oid(20))).length, 2, 'tags are looked for until found');
  });

  it('doubles the step every 64 steps, however many cuts at tags the steps found', async () => {
    const asked: ShallowRequest[] = [];
    const git = linearHistory(1000, asked);
    // A tag in every step of two commits: two cuts per step.
    const tags = Array.from({ length: 500 }, (_, index) => oid(2 * index + 1));
    const cuts = await deepenHistory(git)!.cuts(oid(1000), 2, { stored: [], tags });
    const walk = asked.filter((request) => request.depth > 1 && request.shallow?.length === 0).map((request) => request.depth);
    assert.deepEqual(walk.slice(0, 65), [...Array.from({ length: 64 }, () => 3), 5], 'a step of 2 for 64 steps, then of 4');
    assert.ok(cuts.length > 128, `${cuts.length} cuts`);
  });

  it('is none for a client that cannot ask, and no cuts where the server cannot deepen', async () => {
    assert.equal(deepenHistory({} as GitClient), undefined);
    assert.deepEqual(await deepenHistory({ shallowBoundary: async () => undefined } as unknown as GitClient)!.cuts(oid(9), 3, { stored: [], tags: [] }), []);
  });
});

describe('the pending record keeps the plan', () => {
  const record = { format: 'lifeboat-pending', version: 1, id: '20261126T061500Z-3fa9c1', startedAt: '2026-11-26T06:15:00.000Z', updatedAt: '2026-11-26T06:15:00.000Z', after: null, base: null, bundles: [], encryption: null };

  it('reads a record with a plan, and one without (earlier Lifeboats)', () => {
    const withPlan = { ...record, segments: { cuts: [[oid(1)], [oid(2), oid(3)]], spans: [500, 500], done: 1, bytesPerCommit: 100, bytesPerSecond: 5 } };
    assert.deepEqual(parseDocument(pendingSchema, JSON.stringify(withPlan), 'pending').segments, withPlan.segments);
    assert.equal(parseDocument(pendingSchema, JSON.stringify(record), 'pending').segments, undefined);
  });

  it('refuses a plan that claims more cuts done than it has, an empty cut, or a cut without its span', () => {
    for (const segments of [{ cuts: [[oid(1)]], spans: [1], done: 2 }, { cuts: [[]], spans: [1], done: 0 }, { cuts: [[oid(1)]], spans: [], done: 0 }]) {
      assert.throws(() => parseDocument(pendingSchema, JSON.stringify({ ...record, segments }), 'pending'), (error) => isLifeboatError(error, 'FORMAT_INVALID'));
    }
  });
});
