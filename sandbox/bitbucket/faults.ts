/**
 * Faults that tests switch on at runtime to see how the app copes with a
 * misbehaving Bitbucket. Every knob is a plain field: set it, and the emulator
 * consumes it as requests arrive.
 */

export interface FaultKnobs {
  /** Added to every request, REST and git. */
  latencyMs: number;
  /** Added to every git fetch request (upload-pack: backups, clones) only: a slow fetch while REST and pages stay quick. */
  fetchLatencyMs: number;
  /** The next N requests (REST or git) answer `failStatus` instead. */
  failNext5xx: number;
  /** The status of those failures: 500 or 503. */
  failStatus: 500 | 503;
  /**
   * Arms a connection reset: the next git upload-pack response (POST) that
   * grows past this many bytes is cut there and its socket destroyed; then the
   * knob clears itself. Shorter responses (ls-refs) pass and leave it armed.
   */
  resetPackAfterBytes?: number;
  /** The next N requests get 429, whatever their budget. */
  rateLimitStorm: number;
  /** The storm begins only after this many more requests went through: a storm in the middle of an export. */
  rateLimitStormAfter: number;
  /** When set, the storm (and its `rateLimitStormAfter`) counts only requests whose path contains this. */
  rateLimitStormPath?: string;
  /**
   * A push outage that begins right after a push: once `afterPushes` more pushes
   * (receive-pack POSTs) have arrived, the next `requests` receive-pack requests
   * (discovery or push, to any repository) answer `failStatus`, and the knob
   * clears itself. The push that starts it goes through, so a client is stopped
   * between two of its pushes; fetches (backups running meanwhile) are untouched.
   */
  pushOutage?: { afterPushes: number; requests: number };
}

export function createFaultKnobs(): FaultKnobs {
  return { latencyMs: 0, fetchLatencyMs: 0, failNext5xx: 0, failStatus: 500, rateLimitStorm: 0, rateLimitStormAfter: 0 };
}

/** What an arriving request must suffer, consuming the one-shot knobs. */
export function takeFault(knobs: FaultKnobs, path = ''): { kind: 'fail'; status: 500 | 503 } | { kind: 'storm' } | undefined {
  if (knobs.rateLimitStorm > 0 && (knobs.rateLimitStormPath === undefined || path.includes(knobs.rateLimitStormPath))) {
    if (knobs.rateLimitStormAfter > 0) knobs.rateLimitStormAfter--;
    else {
      knobs.rateLimitStorm--;
      return { kind: 'storm' };
    }
  }
  if (knobs.failNext5xx > 0) {
    knobs.failNext5xx--;
    return { kind: 'fail', status: knobs.failStatus };
  }
  return undefined;
}

/** For an arriving receive-pack request (`isPush`: the POST): whether the push outage fails it. */
export function takePushFault(knobs: FaultKnobs, isPush: boolean): boolean {
  const outage = knobs.pushOutage;
  if (!outage) return false;
  if (outage.afterPushes > 0) {
    if (isPush) knobs.pushOutage = { ...outage, afterPushes: outage.afterPushes - 1 };
    return false;
  }
  knobs.pushOutage = outage.requests > 1 ? { ...outage, requests: outage.requests - 1 } : undefined;
  return true;
}
