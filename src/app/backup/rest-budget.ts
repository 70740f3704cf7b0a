// The workspace's REST budget for metadata reads. Bitbucket allows 1,000 REST
// requests an hour per workspace at the base tier (more with paid seats, as
// X-RateLimit-Limit says), shared with every other integration; Lifeboat's
// metadata reads take at most half of it in any rolling hour, and stop at once
// when Bitbucket says the workspace is near its limit or answers 429.
//
// Every metered run (one backup's metadata reads) keeps its own KVS record of
// what it reserved and used, so concurrent backups never overwrite each other's
// count; a run reserves in small chunks after summing the records of the last
// hour, and gives back what it did not use when it ends. Two runs reserving at
// the same instant may each take the last chunk: the overshoot is at most one
// chunk per concurrent run, far inside the half left to others.
import { randomUUID } from 'node:crypto';
import { entriesByPrefix } from '../state/app-state.js';
import type { BitbucketResponse, RequestMeter } from '../../bitbucket/client.js';
import { LifeboatError } from '../../engine/errors.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState } from '../../forge/state/context.js';

const HOUR_MS = 3_600_000;
/** Bitbucket's base allowance, until a response says otherwise. */
const DEFAULT_LIMIT = 1000;
/** Lifeboat's share of the hourly allowance. */
export const BUDGET_SHARE = 0.5;
/** Calls reserved at a time: few enough that an unchanged repository's one listing call wastes nothing once given back. */
const CHUNK = 20;
/** How long metadata reads pause after a 429 without Retry-After, or once Bitbucket says the workspace is near its limit. */
const PAUSE_SECONDS = 15 * 60;

interface RunRecord {
  /** Last update: the record counts against the hour that follows it. */
  at: string;
  reserved: number;
  used: number;
}

interface Pause {
  until: string;
  reason: string;
}

export interface BudgetMeter extends RequestMeter {
  /** Gives back what this run reserved and did not use. */
  close(): Promise<void>;
  /** Why the budget refused this run a request (its share spent, or paused after Bitbucket's warning), with when to try again. */
  readonly refusal: LifeboatError | undefined;
}

/** Runs `use` with a fresh meter, and gives back what it did not use however it ends. */
export async function withRestBudget<T>(use: (meter: BudgetMeter) => Promise<T>): Promise<T> {
  const meter = restBudgetMeter();
  try {
    return await use(meter);
  } finally {
    await meter.close();
  }
}

/** A meter for one run of metadata reads, drawing from the workspace's budget. */
function restBudgetMeter(now: () => Date = () => new Date()): BudgetMeter {
  const key = kvsKeys.restBudgetRun(randomUUID());
  let reserved = 0;
  let used = 0;
  let refusal: LifeboatError | undefined;
  let limitSeen: number | undefined;
  /** Set by a response: this run stops before its next request, whatever it still holds. */
  let pausedUntil: Date | undefined;

  const refuse = (message: string, until: Date): never => {
    refusal = new LifeboatError('BITBUCKET_RATE_LIMITED', message, { details: { budget: true, retryAfterSeconds: Math.max(1, Math.ceil((until.getTime() - now().getTime()) / 1000)) } });
    throw refusal;
  };
  const record = async (): Promise<void> => {
    await appState().set(key, { at: now().toISOString(), reserved, used } satisfies RunRecord, { ttl: { value: 2 * 3600, unit: 'SECONDS' } });
  };
  const pause = async (seconds: number, reason: string): Promise<void> => {
    pausedUntil = new Date(now().getTime() + seconds * 1000);
    await appState().set(kvsKeys.restBudgetPause, { until: pausedUntil.toISOString(), reason } satisfies Pause, { ttl: { value: Math.ceil(seconds), unit: 'SECONDS' } });
  };
  const reserve = async (): Promise<void> => {
    const paused = await appState().get<Pause>(kvsKeys.restBudgetPause);
    if (paused && Date.parse(paused.until) > now().getTime()) refuse(`Metadata reads pause until ${paused.until}: ${paused.reason}`, new Date(paused.until));
    const known = await appState().get<number>(kvsKeys.restBudgetLimit);
    limitSeen ??= known;
    const limit = known ?? DEFAULT_LIMIT;
    const since = now().getTime() - HOUR_MS;
    let others = 0;
    let oldest = now().getTime();
    for await (const { key: runKey, value } of entriesByPrefix<RunRecord>(appState(), kvsKeys.restBudgetRunPrefix)) {
      const at = Date.parse(value.at);
      if (runKey === key || at <= since) continue;
      others += Math.max(value.reserved, value.used);
      oldest = Math.min(oldest, at);
    }
    const available = Math.floor(limit * BUDGET_SHARE) - others - reserved;
    if (available <= 0) refuse(`Lifeboat's share of the workspace's hourly REST budget (${Math.floor(limit * BUDGET_SHARE)} of ${limit} requests) is spent`, new Date(oldest + HOUR_MS));
    reserved += Math.min(CHUNK, available);
    await record();
  };

  return {
    get refusal() {
      return refusal;
    },
    async before() {
      if (pausedUntil && pausedUntil > now()) refuse('Bitbucket said the workspace is near its rate limit', pausedUntil);
      if (used >= reserved) await reserve();
      used++;
    },
    async after(response: BitbucketResponse) {
      const limit = Number(response.headers.get('x-ratelimit-limit'));
      if (Number.isSafeInteger(limit) && limit > 0 && limit !== limitSeen) {
        limitSeen = limit;
        await appState().set(kvsKeys.restBudgetLimit, limit);
      }
      if (response.status === 429) {
        const retryAfter = Number(response.headers.get('retry-after'));
        await pause(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : PAUSE_SECONDS, 'Bitbucket answered 429 (rate limit exceeded)');
      } else if (response.headers.get('x-ratelimit-nearlimit') === 'true') {
        await pause(PAUSE_SECONDS, 'Bitbucket said the workspace is near its hourly rate limit');
      }
    },
    async close() {
      if (reserved === 0) return;
      reserved = used;
      await record();
    },
  };
}
