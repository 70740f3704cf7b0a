// What both pages say for codes and numbers: snapshot triggers, and times and sizes in the
// viewer's locale (relative times, "2 hours ago", and byte sizes).
import type { SnapshotTrigger } from '../../src/contract.js';

/** Every trigger a manifest stores (src/engine/bucket/format.ts), in words: a new one does not compile until it has its own. */
const TRIGGER_WORDS: Readonly<Record<SnapshotTrigger, string>> = {
  push: 'Push',
  schedule: 'Schedule',
  manual: 'Manual',
  cli: 'Command line',
  'restore-guard': 'Before overwrite',
};

/** A snapshot's trigger in words. */
export const triggerWords = (trigger: SnapshotTrigger): string => TRIGGER_WORDS[trigger];

/** "1 ref", "3 refs". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
const UNITS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', 365 * 24 * 3600], ['month', 30 * 24 * 3600], ['week', 7 * 24 * 3600], ['day', 24 * 3600], ['hour', 3600], ['minute', 60], ['second', 1],
];

/** "2 hours ago", "in 5 minutes". */
export function relativeTime(iso: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') return format.format(Math.round(seconds / size), unit);
  }
  return iso;
}

/** The full date and time, for a tooltip or title. */
export function absoluteTime(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

const BYTE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;

/** Sizes in SI units, as Intl names them (a kilobyte is 1,000 bytes). */
export function bytes(count: number): string {
  let value = count;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  // Intl's short "byte" has no plural ("910 byte"); the long form reads right.
  return new Intl.NumberFormat(undefined, { style: 'unit', unit: BYTE_UNITS[unit], unitDisplay: unit === 0 ? 'long' : 'short', maximumFractionDigits: unit === 0 ? 0 : 1 }).format(value);
}
