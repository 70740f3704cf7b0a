// The invocation context: every call into the app (resolver, trigger, consumer,
// scheduled trigger) runs inside an AsyncLocalStorage scope that tells the
// platform stand-ins (platform/*.ts) and the egress guard which host, user and
// limits apply, and whether the invocation is still alive.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { ForgeManifest } from './manifest.js';

export interface Limits {
  /** Resolvers (Custom UI `invoke`): 25 s on Forge (limits-invocation, "Invocation limits"). */
  resolverTimeoutMs: number;
  /** Product-event triggers: 25 s on Forge (limits-invocation; the trigger module's reference). */
  triggerTimeoutMs: number;
  /**
   * Replaces the manifest-derived timeout (function `timeoutSeconds` 1–900, default 55 s:
   * @forge/manifest's schema and limits-invocation)
   * of consumers and scheduled triggers when set; tests shrink it.
   */
  functionTimeoutMs?: number;
  /** Resolver request payload, serialized JSON bytes (Forge: 500 KB, limits-invocation). */
  resolverRequestBytes: number;
  /**
   * Resolver request payload, levels of nested objects and arrays, the payload itself
   * being level 1. Forge documents no depth limit: 100 is the sandbox's own, far above
   * what a page sends, and keeps a hostile payload from overflowing the stack of
   * JSON.stringify here or of a recursive walk in the app.
   */
  resolverRequestDepth: number;
  /** Resolver response, serialized JSON bytes (Forge: 5 MB, limits-invocation). */
  resolverResponseBytes: number;
  /** KVS value, serialized JSON bytes (Forge: 240 KiB, limits-kvs "Key-Value Store limits"). */
  kvsValueBytes: number;
  /** Largest `limit` a KVS query page may ask for (Forge: 20, the KVS query reference). */
  kvsQueryLimit: number;
  /** Async events pushed per installation in any minute, scaled by `timeScale` (Forge: 500, limits-async-events). */
  queueEventsPerMinute: number;
  /**
   * Push requests that an originating invocation (resolver, trigger, scheduled trigger)
   * and every consumer downstream of it may make together (Forge: 1,000, the "cyclic
   * invocation limit" of limits-async-events); tests lower it.
   */
  cyclicInvocationLimit: number;
  /**
   * Seconds one outbound request (fetch, http(s), requestBitbucket) of a consumer or
   * scheduled trigger may take before the host cuts it, scaled by `timeScale` (Forge:
   * 180, "Single outbound request timeout (async events)", limits-invocation). The
   * environment variable LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S sets the default.
   */
  outboundRequestSeconds: number;
  /** Retries of an async event after its first delivery (Forge's async events guide: "about 4"; the exact count is not documented: assumed 4). */
  queueRetries: number;
  /**
   * Multiplies every platform delay: `delayInSeconds`, `retryAfter`, retry backoff,
   * scheduled-trigger intervals, the queue's minute and the outbound request cap. 1 is
   * real time; tests use e.g. 0.01 (a 900 s delay becomes 9 s). Function timeouts are
   * not scaled: they have their own fields. A host given a manual clock (tests) takes its
   * delays from that clock: timeScale then scales only the outbound request cap.
   */
  timeScale: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  resolverTimeoutMs: 25_000,
  triggerTimeoutMs: 25_000,
  resolverRequestBytes: 500_000,
  resolverRequestDepth: 100,
  resolverResponseBytes: 5_000_000,
  kvsValueBytes: 240 * 1024,
  kvsQueryLimit: 20,
  queueEventsPerMinute: 500,
  cyclicInvocationLimit: 1000,
  outboundRequestSeconds: 180,
  queueRetries: 4,
  timeScale: 1,
};

/** The defaults, with what the environment sets (LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S: issue 17's knob for `npm start` and the tests). */
export function defaultLimits(env: NodeJS.ProcessEnv = process.env): Limits {
  const outbound = Number(env.LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S ?? Number.NaN);
  return { ...DEFAULT_LIMITS, ...(Number.isFinite(outbound) && outbound > 0 ? { outboundRequestSeconds: outbound } : {}) };
}

export type InvocationKind = 'resolver' | 'trigger' | 'scheduledTrigger' | 'consumer';

/**
 * ok: returned normally. error: threw (resolvers, triggers, scheduled triggers).
 * timeout: ran past its limit, result ignored. retry: a consumer attempt that asked
 * for (or, by throwing, earned) another delivery. failed: a consumer attempt after
 * which the host gave up on the event (retries exhausted).
 */
export type InvocationOutcome = 'ok' | 'error' | 'timeout' | 'retry' | 'failed';

export interface InvocationRecord {
  id: string;
  kind: InvocationKind;
  /** The module's key (resolver module, trigger, consumer, scheduled trigger). */
  key: string;
  /** The `function` module that ran. */
  functionKey: string;
  /** What it handled: the resolver definition, event type or queue name. */
  detail?: string;
  /** Epoch milliseconds. */
  start: number;
  durationMs: number;
  outcome: InvocationOutcome;
  error?: string;
}

/** What the platform stand-ins need from the host that runs the invocation. */
export interface PlatformServices {
  manifest: ForgeManifest;
  workspaceId: string;
  installContext: string;
  installationId: string;
  /** The in-process KVS and queue endpoints that the real client classes talk to. */
  kvsRequest(path: string, body: unknown): Response;
  /** Resolves once every KVS write answered so far is on disk (the client waits for it before it hands on an answer). */
  kvsWritten(): Promise<void>;
  queueRequest(path: string, body: unknown): Response;
  /** The proxy failure the next product request suffers (the host's fault knob), consumed; undefined for none. */
  takeProxyFault(): { status: number; reason: string } | undefined;
  bitbucket: { apiUrl: string; authorization(accountId?: string): string };
  /** Throws the egress error when `url` may not be fetched. */
  checkEgress(url: string): void;
  canFetch(url: string): boolean;
  /** The host's clock (clock.ts): epoch ms as the platform's delays count them. */
  now(): number;
}

export interface Invocation {
  id: string;
  kind: InvocationKind;
  key: string;
  functionKey: string;
  accountId?: string;
  services: PlatformServices;
  /**
   * The invocation that started the chain this one belongs to: itself for a resolver,
   * trigger or scheduled trigger, the pushing invocation's origin for a consumer.
   */
  origin: string;
  /** Each outbound request is cut after this long (consumers and scheduled triggers only). */
  outboundTimeoutMs?: number;
  /** Epoch ms when the invocation's time runs out. */
  deadline: number;
  /** Set when it returned, threw or timed out: later platform calls are refused. */
  ended: boolean;
  timedOut: boolean;
}

const storage = new AsyncLocalStorage<Invocation>();

// The app ages its leases and waiting marks by the platform's time (src/forge/state/context.ts `now`):
// during an invocation here, the host's clock, which tests move on. Not a Forge API (Forge's functions, not documented: assumed to
// read the wall clock): the sandbox's own seam, which nothing sets on Forge.
(globalThis as Record<symbol, unknown>)[Symbol.for('lifeboat.sandbox.clock')] = (): number => storage.getStore()?.services.now() ?? Date.now();

export function currentInvocation(): Invocation | undefined {
  return storage.getStore();
}

/** The live invocation a platform call belongs to; throws outside one or after it ended. */
export function requireInvocation(api: string): Invocation {
  const invocation = storage.getStore();
  if (!invocation) {
    throw new Error(`${api} was called outside a Forge invocation (e.g. at module top level): the Forge runtime only serves it while a function runs.`);
  }
  if (invocation.ended) {
    const why = invocation.timedOut ? 'timed out' : 'already returned';
    throw new Error(`${api} was called after invocation ${invocation.key} ${why}: on Forge this code would no longer be running.`);
  }
  return invocation;
}

/** Runs host work (timers, deliveries) outside any app invocation's context. */
export function outsideInvocation<T>(fn: () => T): T {
  return storage.exit(fn);
}

export type Settled<T> =
  | { status: 'returned'; value: T }
  | { status: 'threw'; error: unknown }
  | { status: 'timeout' };

export interface InvocationStart {
  kind: InvocationKind;
  key: string;
  functionKey: string;
  accountId?: string;
  services: PlatformServices;
  timeoutMs: number;
  /** The chain's originating invocation (a consumer's event carries it); a new chain when absent. */
  origin?: string;
  outboundTimeoutMs?: number;
}

/**
 * Runs `fn` as one invocation. On timeout the result is ignored and the invocation
 * is marked ended so its platform calls and egress are refused from then on; the
 * code itself keeps running, because in-process JavaScript cannot be killed (Forge
 * stops the whole function instance instead). `finished` settles when the code
 * itself does, late or not.
 */
export async function runInvocation<T>(start: InvocationStart, fn: () => T | Promise<T>): Promise<{ invocation: Invocation; settled: Settled<T>; finished: Promise<Settled<T>> }> {
  const id = randomUUID();
  const invocation: Invocation = {
    id,
    kind: start.kind,
    key: start.key,
    functionKey: start.functionKey,
    ...(start.accountId === undefined ? {} : { accountId: start.accountId }),
    services: start.services,
    origin: start.origin ?? id,
    ...(start.outboundTimeoutMs === undefined ? {} : { outboundTimeoutMs: start.outboundTimeoutMs }),
    deadline: Date.now() + start.timeoutMs,
    ended: false,
    timedOut: false,
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'timeout' }), start.timeoutMs);
  });
  const run = storage.run(invocation, async (): Promise<Settled<T>> => {
    try {
      return { status: 'returned', value: await fn() };
    } catch (error) {
      return { status: 'threw', error };
    }
  });
  const settled = await Promise.race([run, timeout]);
  clearTimeout(timer);
  invocation.ended = true;
  invocation.timedOut = settled.status === 'timeout';
  return { invocation, settled, finished: run };
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
