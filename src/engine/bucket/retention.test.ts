import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { DEFAULT_RETENTION, type RetentionInput, applyPolicy, isUnlimited, parseDuration, subtractDuration, validatePolicy } from './retention.js';

/** A snapshot named by its UTC instant, so expectations read as dates. */
function at(iso: string): RetentionInput {
  return { id: iso, createdAt: new Date(iso) };
}

function daily(from: string, days: number, time = '12:00:00Z'): RetentionInput[] {
  const start = Date.parse(`${from}T${time}`);
  return Array.from({ length: days }, (_, day) => at(new Date(start + day * 86_400_000).toISOString()));
}

function keptIds(snapshots: RetentionInput[], policy: Parameters<typeof applyPolicy>[1]): string[] {
  return applyPolicy(snapshots, policy).keep.map((entry) => entry.id);
}

describe('validatePolicy', () => {
  it('accepts whole non-negative counts and drops undefined rules', () => {
    assert.deepEqual(validatePolicy({ keepDaily: 7, keepWeekly: 0, keepLast: undefined }), { keepDaily: 7, keepWeekly: 0 });
    assert.deepEqual(validatePolicy({}), {});
  });

  for (const [label, policy, pattern] of [
    ['a negative count', { keepDaily: -1 }, /keepDaily must be a whole number of snapshots, 0 or more; got -1/],
    ['a fraction', { keepWeekly: 1.5 }, /keepWeekly .* got 1\.5/],
    ['a string', { keepLast: '3' }, /keepLast .* got "3"/],
    ['NaN', { keepMonthly: Number.NaN }, /keepMonthly/],
    ['Infinity', { keepYearly: Number.POSITIVE_INFINITY }, /keepYearly/],
    ['an unknown rule', { keepDayly: 7 }, /Unknown retention rule "keepDayly"/],
    ['every rule 0', { keepLast: 0, keepDaily: 0 }, /every snapshot but the newest/],
    ['a keepWithin that is no duration', { keepWithin: '30 days' }, /keepWithin must be a duration such as 30d/],
    ['a keepWithin in seconds', { keepWithin: '30s' }, /keepWithin must be a duration/],
    ['a keepWithin of no length', { keepWithin: '0d' }, /longer than 0; got "0d"/],
    ['a keepWithin as a number', { keepWithin: 30 }, /keepWithin must be a duration/],
    ['not an object', 7, /must be an object/],
    ['null', null, /must be an object/],
    ['an array', [], /must be an object/],
  ] as const) {
    it(`refuses ${label}`, () => {
      assert.throws(() => validatePolicy(policy), (error) => isLifeboatError(error, 'INVALID_ARGUMENT') && pattern.test(error.message));
    });
  }

  it('applyPolicy validates too', () => {
    assert.throws(() => applyPolicy([], { keepDaily: -3 }), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
  });

  it('isUnlimited: no rule given', () => {
    assert.equal(isUnlimited({}), true);
    assert.equal(isUnlimited({ keepYearly: 1 }), false);
    assert.equal(isUnlimited({ keepWithin: '1d' }), false);
  });

  it('accepts restic durations for keepWithin, alone or beside counts that are 0', () => {
    assert.deepEqual(validatePolicy({ keepWithin: '1y6m2d12h' }), { keepWithin: '1y6m2d12h' });
    assert.deepEqual(validatePolicy({ keepWithin: '30d', keepLast: 0 }), { keepWithin: '30d', keepLast: 0 });
    assert.deepEqual(validatePolicy(DEFAULT_RETENTION), DEFAULT_RETENTION);
  });

  it('parses and subtracts restic durations by the UTC calendar', () => {
    assert.deepEqual(parseDuration('1y6m2d12h'), { years: 1, months: 6, days: 2, hours: 12 });
    assert.deepEqual(parseDuration('2d3d'), { years: 0, months: 0, days: 5, hours: 0 });
    assert.equal(parseDuration('d'), undefined);
    assert.equal(subtractDuration(new Date('2026-03-31T10:00:00Z'), { years: 0, months: 1, days: 0, hours: 0 }).toISOString(), '2026-03-03T10:00:00.000Z');
    assert.equal(subtractDuration(new Date('2026-03-01T01:00:00Z'), { years: 1, months: 0, days: 1, hours: 2 }).toISOString(), '2025-02-27T23:00:00.000Z');
  });
});

describe('applyPolicy', () => {
  it('keeps nothing and forgets nothing when there are no snapshots', () => {
    assert.deepEqual(applyPolicy([], { keepLast: 3 }), { keep: [], forget: [] });
  });

  it('keeps every snapshot when no rule is given', () => {
    const snapshots = daily('2026-01-01', 3);
    assert.deepEqual(applyPolicy(snapshots, {}), {
      keep: [
        { id: '2026-01-01T12:00:00.000Z', reasons: ['unlimited'] },
        { id: '2026-01-02T12:00:00.000Z', reasons: ['unlimited'] },
        { id: '2026-01-03T12:00:00.000Z', reasons: ['newest', 'unlimited'] },
      ],
      forget: [],
    });
  });

  it('keepLast keeps the N newest, answers oldest first whatever the input order', () => {
    const snapshots = daily('2026-01-01', 5).reverse();
    assert.deepEqual(applyPolicy(snapshots, { keepLast: 2 }), {
      keep: [
        { id: '2026-01-04T12:00:00.000Z', reasons: ['last'] },
        { id: '2026-01-05T12:00:00.000Z', reasons: ['newest', 'last'] },
      ],
      forget: ['2026-01-01T12:00:00.000Z', '2026-01-02T12:00:00.000Z', '2026-01-03T12:00:00.000Z'],
    });
  });

  it('keepLast larger than the number of snapshots keeps them all', () => {
    assert.equal(applyPolicy(daily('2026-01-01', 3), { keepLast: 10 }).forget.length, 0);
  });

  it('keepDaily keeps the newest snapshot of each of the last N days that have snapshots, skipping empty days', () => {
    const snapshots = [
      at('2026-03-01T08:00:00Z'),
      at('2026-03-01T20:00:00Z'),
      at('2026-03-02T09:00:00Z'),
      // 3, 4 and 5 March: no backups
      at('2026-03-06T01:00:00Z'),
      at('2026-03-06T07:00:00Z'),
      at('2026-03-06T23:59:59Z'),
    ];
    assert.deepEqual(keptIds(snapshots, { keepDaily: 3 }), ['2026-03-01T20:00:00Z', '2026-03-02T09:00:00Z', '2026-03-06T23:59:59Z']);
    assert.deepEqual(keptIds(snapshots, { keepDaily: 2 }), ['2026-03-02T09:00:00Z', '2026-03-06T23:59:59Z']);
  });

  it('buckets days in UTC, not in the offset a date was written with', () => {
    const lateLocal = { id: 'a', createdAt: new Date('2026-03-02T01:00:00+02:00') }; // 1 March 23:00 UTC
    const earlyUtc = { id: 'b', createdAt: new Date('2026-03-01T22:30:00Z') };
    const nextDay = { id: 'c', createdAt: new Date('2026-03-02T00:00:00Z') };
    assert.deepEqual(keptIds([lateLocal, earlyUtc, nextDay], { keepDaily: 2 }), ['a', 'c']);
  });

  it('keepHourly keeps the newest snapshot of each of the last N hours that have snapshots', () => {
    const snapshots = [at('2026-05-01T10:05:00Z'), at('2026-05-01T10:55:00Z'), at('2026-05-01T11:00:00Z'), at('2026-05-01T13:59:00Z')];
    assert.deepEqual(keptIds(snapshots, { keepHourly: 2 }), ['2026-05-01T11:00:00Z', '2026-05-01T13:59:00Z']);
    assert.deepEqual(keptIds(snapshots, { keepHourly: 5 }), ['2026-05-01T10:55:00Z', '2026-05-01T11:00:00Z', '2026-05-01T13:59:00Z']);
  });

  it('keepWeekly uses ISO weeks: Monday to Sunday, across year ends', () => {
    // 2025-12-29 (Mon) .. 2026-01-04 (Sun) is 2026-W01; 2026-01-05 (Mon) starts W02.
    const snapshots = [at('2025-12-28T12:00:00Z'), at('2025-12-29T12:00:00Z'), at('2026-01-04T23:00:00Z'), at('2026-01-05T00:30:00Z')];
    assert.deepEqual(keptIds(snapshots, { keepWeekly: 3 }), ['2025-12-28T12:00:00Z', '2026-01-04T23:00:00Z', '2026-01-05T00:30:00Z']);
    // 2026 has 53 ISO weeks: Thursday 31 December 2026 and Friday 1 January 2027 share W53.
    assert.deepEqual(keptIds([at('2026-12-31T12:00:00Z'), at('2027-01-01T12:00:00Z'), at('2027-01-04T12:00:00Z')], { keepWeekly: 5 }), [
      '2027-01-01T12:00:00Z',
      '2027-01-04T12:00:00Z',
    ]);
  });

  it('keepMonthly and keepYearly keep the newest snapshot of each month and year', () => {
    const snapshots = [at('2024-06-01T00:00:00Z'), at('2024-12-31T23:59:59Z'), at('2025-01-01T00:00:00Z'), at('2025-01-20T00:00:00Z'), at('2025-03-03T00:00:00Z')];
    assert.deepEqual(keptIds(snapshots, { keepMonthly: 3 }), ['2024-12-31T23:59:59Z', '2025-01-20T00:00:00Z', '2025-03-03T00:00:00Z']);
    assert.deepEqual(keptIds(snapshots, { keepYearly: 10 }), ['2024-12-31T23:59:59Z', '2025-03-03T00:00:00Z']);
  });

  it('combines rules as restic does: a year of daily backups with 7 daily, 4 weekly, 12 monthly', () => {
    const decision = applyPolicy(daily('2026-01-01', 365), { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 });
    const kept = new Map(decision.keep.map((entry) => [entry.id.slice(0, 10), entry.reasons]));
    assert.deepEqual([...kept.keys()], [
      '2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30', '2026-05-31', '2026-06-30', '2026-07-31', '2026-08-31', '2026-09-30', '2026-10-31', '2026-11-30',
      '2026-12-13', '2026-12-20',
      '2026-12-25', '2026-12-26', '2026-12-27', '2026-12-28', '2026-12-29', '2026-12-30', '2026-12-31',
    ]);
    assert.deepEqual(kept.get('2026-12-31'), ['newest', 'daily', 'weekly', 'monthly']);
    assert.deepEqual(kept.get('2026-12-27'), ['daily', 'weekly']);
    assert.deepEqual(kept.get('2026-12-13'), ['weekly']);
    assert.deepEqual(kept.get('2026-11-30'), ['monthly']);
    assert.equal(decision.forget.length, 365 - 20);
  });

  it('a rule counts buckets, so a later rule still reaches back past what an earlier one covered', () => {
    const snapshots = [at('2020-07-01T00:00:00Z'), ...daily('2026-01-01', 10)];
    assert.deepEqual(keptIds(snapshots, { keepLast: 1, keepYearly: 2 }), ['2020-07-01T00:00:00Z', '2026-01-10T12:00:00.000Z']);
  });

  it('breaks ties between equal dates by id, newest id first', () => {
    const when = new Date('2026-02-02T02:02:02Z');
    const snapshots = [{ id: '20260202T020202Z-aaaaaa', createdAt: when }, { id: '20260202T020202Z-bbbbbb', createdAt: when }];
    assert.deepEqual(applyPolicy(snapshots, { keepDaily: 1 }), {
      keep: [{ id: '20260202T020202Z-bbbbbb', reasons: ['newest', 'daily'] }],
      forget: ['20260202T020202Z-aaaaaa'],
    });
  });

  it('always keeps the newest snapshot', () => {
    const decision = applyPolicy(daily('2026-01-01', 4), { keepMonthly: 1 });
    assert.deepEqual(decision.keep, [{ id: '2026-01-04T12:00:00.000Z', reasons: ['newest', 'monthly'] }]);
  });

  it('keepWithin keeps every snapshot strictly newer than the newest one minus the duration, measured from the newest', () => {
    // Hourly snapshots over three days, the newest at 2026-05-03T23:00Z; nothing was taken since (the window does not move with the clock).
    const snapshots = Array.from({ length: 72 }, (_, hour) => at(new Date(Date.parse('2026-05-01T00:00:00Z') + hour * 3_600_000).toISOString()));
    const decision = applyPolicy(snapshots, { keepWithin: '1d' });
    assert.equal(decision.keep.length, 24, 'the 24 hours after 2026-05-02T23:00Z; that one itself is not strictly newer');
    assert.equal(decision.keep[0]?.id, '2026-05-03T00:00:00.000Z');
    assert.deepEqual(decision.keep.at(-1), { id: '2026-05-03T23:00:00.000Z', reasons: ['newest', 'within'] });
    assert.deepEqual(decision.keep[0]?.reasons, ['within']);
    assert.equal(decision.forget.length, 48);
  });

  it('the default policy keeps a burst of snapshots (a force-push, then "back up all now") whole, and then thins out by the rules', () => {
    // Nine snapshots of one day, two minutes apart: restic's rules alone kept one of them.
    const burst = Array.from({ length: 9 }, (_, index) => at(new Date(Date.parse('2026-12-07T10:00:00Z') + index * 120_000).toISOString()));
    assert.equal(keptIds(burst, { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 }).length, 1);
    assert.equal(keptIds(burst, DEFAULT_RETENTION).length, 9);
    // A year of daily snapshots: the last 30 days whole, then the weeks and months before them.
    const year = applyPolicy(daily('2026-01-01', 365), DEFAULT_RETENTION);
    const within = year.keep.filter((entry) => entry.reasons.includes('within'));
    assert.equal(within.length, 30);
    assert.equal(within[0]?.id, '2026-12-02T12:00:00.000Z');
    assert.ok(year.keep.some((entry) => entry.id.startsWith('2026-11-30') && entry.reasons.includes('monthly')));
  });

  it('keeps pinned snapshots whatever the rules say, and says so', () => {
    const snapshots = daily('2026-01-01', 5);
    const decision = applyPolicy(snapshots, { keepLast: 1 }, new Set(['2026-01-02T12:00:00.000Z', 'not-a-snapshot']));
    assert.deepEqual(decision.keep, [
      { id: '2026-01-02T12:00:00.000Z', reasons: ['pinned'] },
      { id: '2026-01-05T12:00:00.000Z', reasons: ['newest', 'last'] },
    ]);
    assert.deepEqual(decision.forget, ['2026-01-01T12:00:00.000Z', '2026-01-03T12:00:00.000Z', '2026-01-04T12:00:00.000Z']);
  });
});
