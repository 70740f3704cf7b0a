// Scheduled triggers fire on their manifest interval. The timers do not keep the
// process alive (a host left running by a test must not hang it), and delays
// follow limits.timeScale like every other platform delay.
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
 * Calls `fire(key)` every interval (scaled), first one interval after start. When Forge
 * first fires a schedule after deployment is not documented: assumed one interval later.
 */
export function startScheduler(triggers: readonly ScheduledTriggerModule[], timeScale: number, fire: (key: string) => void): Scheduler {
  const timers = triggers.map((trigger) => {
    const timer = outsideInvocation(() => setInterval(() => fire(trigger.key), Math.max(1, INTERVAL_MS[trigger.interval] * timeScale)));
    timer.unref();
    return timer;
  });
  return {
    stop() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
