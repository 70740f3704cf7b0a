// The time that the host's platform delays wait on: a queued event's
// delayInSeconds, retry backoff and retryAfter, the queue's per-minute window and
// the scheduled triggers' intervals. The real clock waits them out (scaled by
// limits.timeScale); the manual clock holds them until a test moves time on, so
// a test runs the app's 30 s coalescing or 120 s prune delay in no time and in
// the order they would fire, and nothing fires while the test is not looking.
// Invocation time limits are not platform delays: they stay real.

export interface ClockTimer {
  cancel(): void;
}

export interface HostClock {
  /** Epoch milliseconds as the platform's delays count them. */
  now(): number;
  /** Platform milliseconds as this clock counts them (real: scaled by timeScale). */
  scale(ms: number): number;
  /** Calls `fn` once `ms` platform milliseconds have passed (0: at once, in a later turn of the event loop). */
  after(ms: number, fn: () => void): ClockTimer;
  /** Calls `fn` every `ms` platform milliseconds; undefined when this clock leaves repeating timers to the test. */
  every(ms: number, fn: () => void): ClockTimer | undefined;
}

/** Node's timers, delays multiplied by `timeScale`; they do not keep the process alive. */
export function realClock(timeScale: number): HostClock {
  return {
    now: () => Date.now(),
    scale: (ms) => ms * timeScale,
    after(ms, fn) {
      const timer = setTimeout(fn, ms * timeScale);
      return { cancel: () => clearTimeout(timer) };
    },
    every(ms, fn) {
      const timer = setInterval(fn, Math.max(1, ms * timeScale));
      timer.unref();
      return { cancel: () => clearInterval(timer) };
    },
  };
}

interface Pending {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that tests move: `advance(ms)` or `next()`. Its time is real time plus
 * every advance, so it never runs behind the wall clock the app reads. Repeating
 * timers (scheduled triggers) are not kept: a test runs a scheduled trigger when
 * it means to (ForgeHost.runScheduledTrigger), never in the middle of something else.
 */
export class ManualClock implements HostClock {
  private offset = 0;
  private seq = 0;
  private readonly pending = new Set<Pending>();

  now(): number {
    return Date.now() + this.offset;
  }

  scale(ms: number): number {
    return ms;
  }

  after(ms: number, fn: () => void): ClockTimer {
    const timer: Pending = { due: this.now() + Math.max(0, ms), seq: this.seq++, fn };
    this.pending.add(timer);
    // No delay is no delay: such an event starts at once, as on the real clock.
    const immediate = ms <= 0 ? setImmediate(() => this.fire(timer)) : undefined;
    return {
      cancel: () => {
        if (immediate) clearImmediate(immediate);
        this.pending.delete(timer);
      },
    };
  }

  every(): undefined {
    return undefined;
  }

  /** Timers waiting for time to move on. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Moves time on by `ms`, firing every timer due on the way, earliest first. */
  advance(ms: number): void {
    const until = this.now() + ms;
    for (let timer = this.earliest(); timer && timer.due <= until; timer = this.earliest()) this.moveTo(timer);
    this.offset += Math.max(0, until - this.now());
  }

  /** Moves time on to the earliest waiting timer and fires it: false when none waits. */
  next(): boolean {
    const timer = this.earliest();
    if (!timer) return false;
    this.moveTo(timer);
    return true;
  }

  private moveTo(timer: Pending): void {
    this.offset += Math.max(0, timer.due - this.now());
    this.fire(timer);
  }

  private fire(timer: Pending): void {
    if (!this.pending.delete(timer)) return;
    timer.fn();
  }

  private earliest(): Pending | undefined {
    let first: Pending | undefined;
    for (const timer of this.pending) if (!first || timer.due < first.due || (timer.due === first.due && timer.seq < first.seq)) first = timer;
    return first;
  }
}
