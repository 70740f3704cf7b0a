// Rate and time left of a long transfer (a backup's bundles, a restore's pushes),
// from what this invocation moved so far: both consumers report them, both pages
// word them (static/shared/job-words.ts).
import type { JobProgress } from './contract.js';

/** Less time than this since the start measures latency more than a rate: no estimate yet. */
const MIN_SECONDS = 1;

export interface TransferSoFar {
  /** When this invocation started moving (epoch ms), and now. */
  startedAt: number;
  now: number;
  /** Bytes moved since startedAt. */
  bytes: number;
  /** Steps finished since startedAt, and steps left after them (when the work knows them). */
  steps: number;
  stepsLeft?: number;
  /** Bytes left to move, when the work knows them (a restore knows its bundles' sizes). */
  bytesLeft?: number;
}

/** The rate since the start; the time left from the bytes left at that rate, else from the time the steps took so far. */
export function estimate(so: TransferSoFar): Pick<JobProgress, 'bytesPerSecond' | 'secondsLeft'> {
  const seconds = (so.now - so.startedAt) / 1000;
  if (seconds < MIN_SECONDS || so.bytes <= 0) return {};
  const bytesPerSecond = Math.round(so.bytes / seconds);
  if (so.bytesLeft !== undefined) return { bytesPerSecond, secondsLeft: Math.ceil(so.bytesLeft / bytesPerSecond) };
  if (so.stepsLeft !== undefined && so.steps > 0) return { bytesPerSecond, secondsLeft: Math.ceil((seconds / so.steps) * so.stepsLeft) };
  return { bytesPerSecond };
}
