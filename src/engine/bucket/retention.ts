/**
 * Which snapshots a retention policy keeps: restic's keep-within and
 * grandfather-father-son rules (restic `internal/restic/snapshot_policy.go`),
 * as a pure function over dates.
 * Time buckets are in UTC so the answer does not depend on where prune runs.
 */
import { LifeboatError } from '../errors.js';

/** How many snapshots each rule keeps; a rule left out keeps nothing, every rule left out keeps everything. */
export interface RetentionPolicy {
  /**
   * Every snapshot newer than the newest one's time minus this restic duration
   * ("30d", "1y6m", "2d12h": years, months, days, hours), as restic's `--keep-within`.
   */
  keepWithin?: string;
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

/**
 * Why a snapshot is kept: a rule name, `newest` (always kept), `unlimited` (no
 * rule given) or `pinned` (the caller promised it to someone: an undo, a restore's guard).
 */
export type KeepReason = 'newest' | 'unlimited' | 'pinned' | 'within' | 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';

/** The default policy of a new installation: everything for 30 days, then grandfather-father-son. */
export const DEFAULT_RETENTION: Readonly<RetentionPolicy> = { keepWithin: '30d', keepDaily: 7, keepWeekly: 4, keepMonthly: 12 };

export interface RetentionInput {
  id: string;
  createdAt: Date;
}

export interface RetentionDecision {
  /** Oldest first, like the catalog's listings. */
  keep: { id: string; reasons: KeepReason[] }[];
  /** Oldest first. */
  forget: string[];
}

type Rule = Exclude<KeepReason, 'newest' | 'unlimited' | 'pinned' | 'within'>;

/** `bucket` names the time slot a snapshot falls in; `last` gives each snapshot its own (its position). */
type CountField = Exclude<keyof RetentionPolicy, 'keepWithin'>;

const RULES: readonly { rule: Rule; field: CountField; bucket: (date: Date, position: number) => string }[] = [
  { rule: 'last', field: 'keepLast', bucket: (_date, position) => String(position) },
  { rule: 'hourly', field: 'keepHourly', bucket: (date) => date.toISOString().slice(0, 13) },
  { rule: 'daily', field: 'keepDaily', bucket: (date) => date.toISOString().slice(0, 10) },
  { rule: 'weekly', field: 'keepWeekly', bucket: isoWeek },
  { rule: 'monthly', field: 'keepMonthly', bucket: (date) => date.toISOString().slice(0, 7) },
  { rule: 'yearly', field: 'keepYearly', bucket: (date) => date.toISOString().slice(0, 4) },
];

const FIELDS: ReadonlySet<string> = new Set(['keepWithin', ...RULES.map((entry) => entry.field)]);

/** A restic duration: years, months, days, hours (restic `internal/restic/duration.go`). */
export interface Duration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const DURATION_UNITS = { y: 'years', m: 'months', d: 'days', h: 'hours' } as const;

/** Parses "30d", "1y6m", "2d12h"; undefined when the text is not such a duration or is zero long. */
export function parseDuration(text: string): Duration | undefined {
  if (!/^(\d{1,6}[ymdh])+$/.test(text)) return undefined;
  const duration: Duration = { years: 0, months: 0, days: 0, hours: 0 };
  for (const [, count, unit] of text.matchAll(/(\d+)([ymdh])/g)) duration[DURATION_UNITS[unit as keyof typeof DURATION_UNITS]] += Number(count);
  return Object.values(duration).some((value) => value > 0) ? duration : undefined;
}

/** `from` minus the duration, by the calendar in UTC (restic: `AddDate(-y, -m, -d).Add(-h)`). */
export function subtractDuration(from: Date, duration: Duration): Date {
  const date = new Date(from);
  date.setUTCFullYear(date.getUTCFullYear() - duration.years, date.getUTCMonth() - duration.months, date.getUTCDate() - duration.days);
  return new Date(date.getTime() - duration.hours * 3_600_000);
}

/**
 * Checks a policy that may come from flags or JSON (resolver payloads), so it
 * takes `unknown`. Unknown fields are refused: a misspelt rule would otherwise
 * silently turn into "keep nothing by that rule".
 */
export function validatePolicy(policy: unknown): RetentionPolicy {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw new LifeboatError('INVALID_ARGUMENT', 'A retention policy must be an object such as {"keepDaily": 7, "keepWeekly": 4}.');
  }
  const result: RetentionPolicy = {};
  for (const [field, value] of Object.entries(policy)) {
    if (!FIELDS.has(field)) {
      throw new LifeboatError('INVALID_ARGUMENT', `Unknown retention rule "${field}"; the rules are ${[...FIELDS].join(', ')}.`);
    }
    if (value === undefined) continue;
    if (field === 'keepWithin') {
      if (typeof value !== 'string' || parseDuration(value) === undefined) {
        throw new LifeboatError('INVALID_ARGUMENT', `Retention rule keepWithin must be a duration such as 30d, 1y6m or 2d12h (years, months, days, hours), longer than 0; got ${JSON.stringify(value)}.`);
      }
      result.keepWithin = value;
      continue;
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new LifeboatError('INVALID_ARGUMENT', `Retention rule ${field} must be a whole number of snapshots, 0 or more; got ${JSON.stringify(value)}.`);
    }
    result[field as CountField] = value;
  }
  const counts = Object.values(result);
  // Almost certainly a mistake (flags defaulting to 0); whoever means it can say keepLast 1.
  if (result.keepWithin === undefined && counts.length > 0 && counts.every((count) => count === 0)) {
    throw new LifeboatError('INVALID_ARGUMENT', 'Every retention rule given is 0, which would forget every snapshot but the newest. Give at least one positive count, or no rule at all to keep every snapshot.');
  }
  return result;
}

export function isUnlimited(policy: RetentionPolicy): boolean {
  return policy.keepWithin === undefined && RULES.every(({ field }) => policy[field] === undefined);
}

/**
 * Splits snapshots into kept and forgotten. Newest first, each rule keeps a
 * snapshot when it is the first one seen in a new bucket (hour, day, ISO week,
 * month, year; every snapshot is its own bucket for `last`), until the rule has
 * kept its count. So keepDaily 7 keeps the newest snapshot of each of the last 7
 * days that have snapshots, however far apart those days are. keepWithin keeps,
 * besides, every snapshot strictly newer than the newest one's time minus its
 * duration (measured from the newest snapshot, not from now: a repository that
 * stopped changing keeps its last window). `pinned` ids are kept whatever the rules say.
 */
export function applyPolicy(snapshots: readonly RetentionInput[], policy: RetentionPolicy, pinned: ReadonlySet<string> = new Set()): RetentionDecision {
  const checked = validatePolicy(policy);
  const unlimited = isUnlimited(checked);
  const newestFirst = [...snapshots].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || compareIds(b.id, a.id));
  const state = RULES.map((entry) => ({ ...entry, remaining: checked[entry.field] ?? 0, last: undefined as string | undefined }));
  const within = checked.keepWithin === undefined || newestFirst[0] === undefined
    ? undefined
    : subtractDuration(newestFirst[0].createdAt, parseDuration(checked.keepWithin)!).getTime();

  const reasonsById = new Map<string, KeepReason[]>();
  newestFirst.forEach((snapshot, index) => {
    const reasons: KeepReason[] = index === 0 ? ['newest'] : [];
    if (unlimited) reasons.push('unlimited');
    if (pinned.has(snapshot.id)) reasons.push('pinned');
    if (within !== undefined && snapshot.createdAt.getTime() > within) reasons.push('within');
    for (const rule of state) {
      if (rule.remaining === 0) continue;
      const bucket = rule.bucket(snapshot.createdAt, index);
      if (bucket === rule.last) continue;
      rule.last = bucket;
      rule.remaining -= 1;
      reasons.push(rule.rule);
    }
    reasonsById.set(snapshot.id, reasons);
  });

  const decision: RetentionDecision = { keep: [], forget: [] };
  for (const snapshot of newestFirst.reverse()) {
    const reasons = reasonsById.get(snapshot.id) ?? [];
    if (reasons.length > 0) decision.keep.push({ id: snapshot.id, reasons });
    else decision.forget.push(snapshot.id);
  }
  return decision;
}

/** ISO 8601 week in UTC, e.g. "2026-W01": weeks start on Monday and week 1 holds the year's first Thursday. */
function isoWeek(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  // The Thursday of the same week decides the week's year.
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
