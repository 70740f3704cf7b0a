/**
 * Rolling one-hour request budgets, one per credential and resource, as
 * Bitbucket counts them (REST `api`: 1,000/h by default; `git`: 60,000/h), from
 * ../shared/reference/bitbucket-api.md "Rate limits" (Atlassian's "API request
 * limits" page). Scaling with paid seats is not emulated.
 */

const HOUR_MS = 60 * 60 * 1000;
export const GIT_REQUESTS_PER_HOUR = 60_000;

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Less than a fifth of the budget is left (Bitbucket's X-RateLimit-NearLimit; the threshold is not documented: assumed). */
  nearLimit: boolean;
}

export class RateLimiter {
  /** Times of the requests still inside the window, oldest first, per key. */
  private readonly windows = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    private readonly windowMs = HOUR_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts a request for `key` if the budget allows it. */
  take(key: string): RateDecision {
    const now = this.clock();
    let times = this.windows.get(key);
    if (!times) {
      times = [];
      this.windows.set(key, times);
    }
    let expired = 0;
    while (expired < times.length && (times[expired] ?? now) <= now - this.windowMs) expired++;
    if (expired > 0) times.splice(0, expired);
    const allowed = times.length < this.limit;
    if (allowed) times.push(now);
    const remaining = Math.max(0, this.limit - times.length);
    return { allowed, limit: this.limit, remaining, nearLimit: remaining < this.limit / 5 };
  }
}

/** Bitbucket's answer to a request over budget: 429 "Rate limit for this resource has been exceeded" (the reference's "Rate limits"; no Retry-After, which is not promised). */
export const RATE_LIMITED_BODY = { type: 'error', error: { message: 'Rate limit for this resource has been exceeded' } } as const;

/** `X-RateLimit-Limit`, `-Resource`, `-NearLimit` (the reference's "Rate limits"; sent here on every answer, though Bitbucket sends them for some credentials only). */
export function rateLimitHeaders(decision: Pick<RateDecision, 'limit' | 'nearLimit'>, resource: string): Record<string, string> {
  return {
    'X-RateLimit-Limit': String(decision.limit),
    'X-RateLimit-Resource': resource,
    'X-RateLimit-NearLimit': String(decision.nearLimit),
  };
}
