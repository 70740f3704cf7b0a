// Scheduled triggers fire on their manifest interval, on the host's clock: the
// real clock's timers do not keep the process alive (a host left running by a
// test must not hang it) and follow limits.timeScale like every other platform
// delay; on a manual clock a test runs them itself.
import type { HostClock } from './clock.js';
import type { ScheduledTriggerModule, ScheduleInterval } from './manifest.js';
import { outsideInvocation } from './runtime.js';

/** The `scheduledTrigger` module's intervals (its manifest reference and @forge/manifest's schema). */
export const INTERVAL_MS: Readonly<Record<ScheduleInterval, number>> = {
  fiveMinute: 5 * 60_000,
  hour: 60 * 60_000,
  day: 24 * 60 * 60_000,
  week: 7 * 24 * 60 * 60_000,
};

export interface Scheduler {
  stop(): void;
}

/**
 * Calls `fire(key)` every interval, first one interval after start. When Forge first
 * fires a schedule after deployment is not documented: assumed one interval later.
 */
export function startScheduler(triggers: readonly ScheduledTriggerModule[], clock: HostClock, fire: (key: string) => void): Scheduler {
  const timers = triggers.map((trigger) => outsideInvocation(() => clock.every(INTERVAL_MS[trigger.interval], () => fire(trigger.key))));
  return {
    stop() {
      for (const timer of timers) timer?.cancel();
    },
  };
}
