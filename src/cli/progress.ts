/**
 * A long transfer's progress as the redrawn line on a terminal says it: the bytes moved
 * so far and, once there is a rate, the rate and the time left (src/progress-estimate.ts,
 * the rule the app's pages use too).
 */
import { type TransferSoFar, estimate } from '../progress-estimate.js';
import { formatBytes } from './output.js';

export type Meter = (so: Omit<TransferSoFar, 'startedAt' | 'now'>) => string;

/** A meter started now: each call words the transfer so far, e.g. "12.0 MiB, 3.0 MiB/s, about 4 s left". */
export function transferMeter(clock: () => number = Date.now): Meter {
  const startedAt = clock();
  return (so) => {
    const { bytesPerSecond, secondsLeft } = estimate({ ...so, startedAt, now: clock() });
    return [
      formatBytes(so.bytes),
      bytesPerSecond === undefined ? undefined : `${formatBytes(bytesPerSecond)}/s`,
      secondsLeft === undefined ? undefined : `about ${timeLeft(secondsLeft)} left`,
    ].filter((part) => part !== undefined).join(', ');
  };
}

function timeLeft(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * Progress through bundles of known sizes (a restore, a download, a verify): call it as bundle
 * `index` (from 1) starts; the bundles before it are done. `skipped`: done without moving bytes (a resumed restore's).
 */
export function bundleMeter(sizes: readonly number[], clock: () => number = Date.now): (index: number, skipped?: boolean) => string {
  const meter = transferMeter(clock);
  const total = sizes.reduce((sum, size) => sum + size, 0);
  let done = 0;
  let moved = 0;
  let steps = 0;
  let last = 0;
  const skippedBundles = new Set<number>();
  return (index, skipped = false) => {
    // Each bundle before this one, counted once: done, and moved unless it was skipped.
    for (; last < index - 1; last += 1) {
      done += sizes[last] ?? 0;
      if (!skippedBundles.has(last + 1)) {
        moved += sizes[last] ?? 0;
        steps += 1;
      }
    }
    if (skipped) skippedBundles.add(index);
    return meter({ bytes: moved, steps, bytesLeft: Math.max(0, total - done) });
  };
}
