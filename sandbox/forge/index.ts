// The sandbox Forge host: reads the app's manifest.yml and runs the handlers it
// names, unmodified and in-process, the way the Forge runtime invokes them:
// resolvers for Custom UI, product-event triggers, scheduled triggers and queue
// consumers, each with Forge's payload shapes, time limits and platform APIs
// (@forge/kvs, @forge/events, @forge/api are swapped for platform/*.ts by the
// module hook that register.ts installs).
import './register.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AsyncEvent } from '@forge/events';
import { realClock, type HostClock, type ManualClock } from './clock.js';
import { createEgressPolicy } from './egress.js';
import { KvsStore } from './kvs-store.js';
import { loadManifest, locateHandler, type ConsumerModule, type ForgeManifest, type TriggerModule } from './manifest.js';
import { QueueBroker, type DeliveryResult } from './queues.js';
import { defaultLimits, errorMessage, runInvocation, type InvocationKind, type InvocationOutcome, type InvocationRecord, type Limits, type PlatformServices, type Settled } from './runtime.js';
import { startScheduler } from './scheduler.js';

export type { ForgeManifest, PageModule, PageModuleType, ResolverModule } from './manifest.js';
export type { InvocationKind, InvocationOutcome, InvocationRecord, Limits } from './runtime.js';
export { ManualClock } from './clock.js';
export { DEFAULT_LIMITS, defaultLimits } from './runtime.js';

export interface ForgeHostOptions {
  /** Folder holding manifest.yml; handler `index.run` is export `run` of <appDir>/src/index.ts (or .js). */
  appDir: string;
  /** KVS (kvs.json), secrets (kvs-secrets.json), the queues' events not yet finished (queue.json) and the egress an admin approved (egress.json) persist here. */
  dataDir: string;
  installation: {
    /** Bitbucket workspace UUID with braces. */
    workspaceId: string;
  };
  bitbucket: {
    /** Emulator base URL; requestBitbucket('/2.0/…') goes to apiUrl + path. */
    apiUrl: string;
    /** Authorization header for asApp() (no accountId) or asUser() (the invocation's user). */
    authorization(accountId?: string): string;
  };
  /** Real origin → local origin: egress to the local one is checked as egress to the real one. */
  standIns?: Record<string, string>;
  /** Origins the workspace admin approved, for manifests with permissions.external.configurable. */
  customerEgress?: string[];
  /** Forge environment variables (`forge variables`), set in process.env while the host runs. */
  env?: Record<string, string>;
  log?: (line: string) => void;
  limits?: Partial<Limits>;
  /**
   * Tests: platform delays wait for the test to move this clock on (idle() moves it as
   * far as the queue needs), and scheduled triggers fire only when run. Without it they
   * take real time, scaled by limits.timeScale.
   */
  clock?: ManualClock;
}

export interface ResolverCall {
  moduleKey: string;
  /** The resolver definition (`resolver.define(functionKey, …)`). */
  functionKey: string;
  payload?: unknown;
  accountId: string;
  /** The page's extension context, e.g. `{ type, repository: { uuid } }` on repository pages. */
  extension: Record<string, unknown>;
  localId?: string;
}

export type ResolverResult = { ok: true; body: unknown } | { ok: false; error: { message: string } };

/** One group of @forge/bridge's permissions.egress (EgressResult): domains of the types an admin approved. */
export interface EgressGroup {
  key: string;
  description: string;
  configured: Array<{ domain: string; type: string[] }>;
}

export type ProductEvent = { eventType: string } & Record<string, unknown>;

/**
 * Platform failures that tests switch on at runtime, like the emulator's faults: set a
 * field and the host consumes it as requests arrive.
 */
export interface HostFaults {
  /**
   * The next N product requests (requestBitbucket) fail in Forge's proxy: the answer
   * carries `forge-proxy-error`, which @forge/api turns into ProxyRequestError.
   */
  proxyErrors: number;
  /** Status and reason of those answers: Forge documents neither, so these are assumed. */
  proxyErrorStatus: number;
  proxyErrorReason: string;
  /** The next N queue pushes record only their first `accepts` events; the rest come back as failed (PartialSuccessError). */
  partialPushes: { pushes: number; accepts: number };
}

/** A product event the host handed to the app's triggers, and how each ran. */
export interface DeliveredEvent {
  /** When the host delivered it (ISO 8601). */
  at: string;
  event: ProductEvent;
  triggers: Array<Pick<InvocationRecord, 'key' | 'outcome' | 'error'>>;
}

export interface ForgeHost {
  manifest: ForgeManifest;
  invokeResolver(call: ResolverCall): Promise<ResolverResult>;
  /**
   * Runs every trigger subscribed to event.eventType; resolves when they return
   * (queued work may still run) with the invocations, none when no trigger
   * subscribes (or every one that does filters the app's own events out).
   */
  deliverEvent(event: ProductEvent): Promise<InvocationRecord[]>;
  /** The events delivered to at least one trigger, newest first: the last DELIVERED_EVENTS_KEPT. */
  deliveredEvents(): DeliveredEvent[];
  runScheduledTrigger(key: string): Promise<void>;
  /**
   * Resolves when no invocation runs and no event is queued, delayed or waiting for a retry.
   * On a manual clock it moves time on whenever nothing runs, to the next delayed event.
   */
  idle(): Promise<void>;
  /**
   * How the code of a timed-out invocation (an InvocationRecord's id) itself ended, once
   * its late code has returned or thrown: tests wait for that point instead of sleeping.
   * Undefined for an invocation that did not time out (its code ended with it).
   */
  codeFinished(id: string): Promise<Settled<unknown>> | undefined;
  invocations: readonly InvocationRecord[];
  /** Calls `listener` after every invocation; returns the unsubscribe function. */
  onInvocation(listener: (record: InvocationRecord) => void): () => void;
  /**
   * Customer-managed egress, as @forge/bridge's permissions.egress reaches it: the
   * groups a workspace admin approved (on top of `customerEgress`), by key. `set`
   * replaces the named groups and takes effect for the next outbound request.
   */
  egressGroups: {
    get(keys?: string[]): EgressGroup[];
    set(groups: EgressGroup[]): EgressGroup[];
  };
  faults: HostFaults;
  /**
   * Runs `fn` as one invocation of `kind` served by this host (its @forge/* calls,
   * egress and limits), for tests of app modules that need no module of their own.
   */
  runInInvocation<T>(fn: () => Promise<T>, kind?: InvocationKind): Promise<T>;
  /** Non-secret KVS keys and values, for tests. */
  kvsDump(): Record<string, unknown>;
  /** The keys of the secrets stored now (unexpired), never their values: for tests that a secret is gone. */
  secretKeys(): string[];
  close(): Promise<void>;
}

type Handler = (payload: unknown, context: unknown) => unknown;

/** A retry waits at most the queue's longest delay (delayInSeconds ≤ 900). */
const MAX_RETRY_AFTER_SECONDS = 900;
const MAX_RETRY_DATA_BYTES = 4 * 1024;
const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 55;
/** The sandbox's own bound on the delays one idle() waits out on a manual clock (a loop's guard). */
const MAX_CLOCK_MOVES_PER_IDLE = 10_000;
/** The sandbox's own bound on the delivered events it lists (GET /__sandbox/events). */
const DELIVERED_EVENTS_KEPT = 200;

/** Environment variables set by hosts, counted so that two hosts may share one. */
const envUsers = new Map<string, number>();

/** An InvocationError (which its constructor turns into a plain `{ _retry, retryOptions }`) or a QueueResponse after retry(). */
function retryRequest(value: unknown): { retryAfter?: unknown; retryReason?: unknown; retryData?: unknown } | undefined {
  if (value === null || typeof value !== 'object' || (value as { _retry?: unknown })._retry !== true) return undefined;
  const options = (value as { retryOptions?: unknown }).retryOptions;
  return options !== null && typeof options === 'object' ? options : {};
}

/** Whether objects and arrays nest more than `limit` levels (the value itself is level 1); iterative, so any depth can be measured. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (next.value === null || typeof next.value !== 'object') continue;
    if (next.depth > limit) return true;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth: next.depth + 1 });
  }
  return false;
}

/** What arrives after a trip through Forge's JSON APIs (Dates become strings, undefined disappears), and a copy. */
function overTheWire<T>(value: T): T {
  const json = JSON.stringify(value);
  return json === undefined ? value : (JSON.parse(json) as T);
}

async function loadHandlers(manifest: ForgeManifest): Promise<Map<string, Handler>> {
  const handlers = new Map<string, Handler>();
  for (const fn of manifest.functions.values()) {
    const { file, exportName } = await locateHandler(manifest.appDir, fn.handler);
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const handler = module[exportName];
    if (typeof handler !== 'function') throw new Error(`function ${fn.key}: ${file} has no exported function ${exportName} (handler ${fn.handler})`);
    handlers.set(fn.key, handler as Handler);
  }
  return handlers;
}

function applyEnv(env: Record<string, string>): () => void {
  for (const [name, value] of Object.entries(env)) {
    const current = process.env[name];
    if (current !== undefined && current !== value) throw new Error(`Forge variable ${name} is already set in this process to a different value`);
  }
  for (const [name, value] of Object.entries(env)) {
    if (!envUsers.has(name) && process.env[name] !== undefined) continue; // set by the process itself: not ours to remove
    process.env[name] = value;
    envUsers.set(name, (envUsers.get(name) ?? 0) + 1);
  }
  return () => {
    for (const name of Object.keys(env)) {
      const users = envUsers.get(name);
      if (users === undefined) continue;
      if (users > 1) envUsers.set(name, users - 1);
      else {
        envUsers.delete(name);
        delete process.env[name];
      }
    }
  };
}

export async function startForgeHost(options: ForgeHostOptions): Promise<ForgeHost> {
  const limits: Limits = { ...defaultLimits(), ...options.limits };
  const clock: HostClock = options.clock ?? realClock(limits.timeScale);
  const log = options.log ?? (() => {});
  const manifest = await loadManifest(options.appDir);
  const wantedNode = /^nodejs(\d+)\.x$/.exec(manifest.runtime.name)?.[1];
  if (wantedNode !== process.versions.node.split('.')[0]) log(`[forge] manifest asks for ${manifest.runtime.name}; the sandbox runs Node ${process.versions.node}`);

  const workspaceId = options.installation.workspaceId;
  const workspaceUuid = workspaceId.replace(/^\{|\}$/g, '');
  const installContext = `ari:cloud:bitbucket::workspace/${workspaceUuid}`;
  const installationId = createHash('sha256').update(`${manifest.appId ?? options.appDir}|${workspaceId}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*$/, '$1-$2-$3-$4-$5');

  const kvsStore = await KvsStore.open({ dataDir: options.dataDir, valueBytes: limits.kvsValueBytes, queryLimit: limits.kvsQueryLimit });
  // What a workspace admin approved is a setting of the installation and outlives a restart of the host
  // (not documented: assumed, as for any setting an admin saves).
  const approvedFile = join(options.dataDir, 'egress.json');
  const approved = new Map<string, EgressGroup>(existsSync(approvedFile) ? (JSON.parse(readFileSync(approvedFile, 'utf8')) as EgressGroup[]).map((group) => [group.key, group]) : []);
  const policy = () => createEgressPolicy({
    backend: manifest.egress.backend,
    configurable: manifest.egress.configurable,
    customerEgress: [
      ...(options.customerEgress ?? []),
      ...[...approved.values()].flatMap((group) => group.configured.filter((entry) => entry.type.includes('FETCH_BACKEND_SIDE')).map((entry) => entry.domain)),
    ],
    ...(options.standIns ? { standIns: options.standIns } : {}),
  });
  let egress = policy();
  // Before the app loads: its module-level code may read its variables.
  const restoreEnv = applyEnv(options.env ?? {});
  let handlers: Map<string, Handler>;
  try {
    handlers = await loadHandlers(manifest);
  } catch (error) {
    restoreEnv();
    throw error;
  }

  const invocations: InvocationRecord[] = [];
  const listeners = new Set<(record: InvocationRecord) => void>();
  const running = new Set<Promise<unknown>>();
  /** Woken whenever an invocation or a queued event settles. */
  const changeWaiters = new Set<() => void>();
  /** How the code of each timed-out invocation ended in the end, by invocation id. */
  const finishedCode = new Map<string, Promise<Settled<unknown>>>();
  let closed = false;

  const functionTimeoutMs = (functionKey: string): number =>
    limits.functionTimeoutMs ?? (manifest.functions.get(functionKey)?.timeoutSeconds ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS) * 1000;
  // The per-request cap applies to the functions that may run long (limits-invocation: "This limit can only be
  // reached using long-running functions"): consumers and scheduled triggers.
  const outboundTimeoutMs = (kind: InvocationKind): number | undefined =>
    kind === 'consumer' || kind === 'scheduledTrigger' ? limits.outboundRequestSeconds * 1000 * limits.timeScale : undefined;

  const faults: HostFaults = { proxyErrors: 0, proxyErrorStatus: 502, proxyErrorReason: 'UPSTREAM_FAILURE', partialPushes: { pushes: 0, accepts: 0 } };

  /** The second argument Forge passes every function. */
  const functionContext = (accountId?: string): Record<string, unknown> => ({
    installContext,
    workspaceId,
    installation: {
      ari: { installationId, toString: () => `ari:cloud:ecosystem::installation/${installationId}` },
      contexts: [{ workspaceId: workspaceUuid, toString: () => installContext }],
    },
    ...(accountId === undefined ? {} : { principal: { accountId } }),
  });

  const services: PlatformServices = {
    manifest,
    workspaceId,
    installContext,
    installationId,
    kvsRequest: (path, body) => kvsStore.request(path, body),
    kvsWritten: () => kvsStore.written(),
    queueRequest: (path, body) => broker.request(path, body),
    takeProxyFault() {
      if (faults.proxyErrors <= 0) return undefined;
      faults.proxyErrors--;
      return { status: faults.proxyErrorStatus, reason: faults.proxyErrorReason };
    },
    bitbucket: options.bitbucket,
    checkEgress: (url) => egress.check(url),
    now: () => clock.now(),
    canFetch: (url) => egress.allows(url),
  };

  const busy = (): boolean => running.size > 0 || broker.busy;
  const notify = (): void => {
    for (const resolve of changeWaiters) resolve();
    changeWaiters.clear();
  };

  const record = (entry: InvocationRecord): void => {
    invocations.push(entry);
    const detail = entry.detail === undefined ? '' : ` ${entry.detail}`;
    log(`[forge] ${entry.kind} ${entry.key}${detail} ${entry.outcome} ${entry.durationMs} ms${entry.error === undefined ? '' : `: ${entry.error}`}`);
    for (const listener of listeners) {
      try {
        listener(entry);
      } catch (error) {
        log(`[forge] invocation listener failed: ${errorMessage(error)}`);
      }
    }
  };

  interface Ran {
    settled: Settled<unknown>;
    id: string;
    start: number;
    durationMs: number;
  }

  /**
   * Runs one invocation of `functionKey`; `conclude` records it and computes the
   * caller's result before the invocation stops counting as running (for idle()).
   */
  const invoke = async <T>(
    kind: InvocationKind,
    key: string,
    functionKey: string,
    timeoutMs: number,
    args: [unknown, unknown],
    accountId: string | undefined,
    conclude: (ran: Ran) => T,
    origin?: string,
  ): Promise<T> => {
    if (closed) throw new Error('the Forge host is closed');
    const handler = handlers.get(functionKey);
    if (!handler) throw new Error(`no function ${functionKey}`);
    const start = Date.now();
    const outbound = outboundTimeoutMs(kind);
    const run = runInvocation(
      { kind, key, functionKey, services, timeoutMs, ...(accountId === undefined ? {} : { accountId }), ...(origin === undefined ? {} : { origin }), ...(outbound === undefined ? {} : { outboundTimeoutMs: outbound }) },
      () => handler(...args),
    );
    running.add(run);
    try {
      const { invocation, settled, finished } = await run;
      if (settled.status === 'timeout') finishedCode.set(invocation.id, finished);
      return conclude({ settled, id: invocation.id, start, durationMs: Date.now() - start });
    } finally {
      running.delete(run);
      notify();
    }
  };

  const timeoutMessage = (ms: number, what: string): string => `timed out after ${ms} ms (${what}); its result is ignored`;

  /** Classifies a consumer attempt as Forge does and records it. */
  const concludeDelivery = (consumer: ConsumerModule, event: AsyncEvent, finalAttempt: boolean, timeoutMs: number, ran: Ran): DeliveryResult => {
    const { settled } = ran;
    const retryCount = event.retryContext?.retryCount ?? 0;
    const backoff = 2 ** retryCount;
    let result: DeliveryResult;
    let error: string | undefined;
    if (settled.status === 'returned' && !retryRequest(settled.value)) {
      result = { ok: true };
    } else if (settled.status === 'timeout') {
      error = timeoutMessage(timeoutMs, 'function timeoutSeconds');
      result = { ok: false, retryAfterSeconds: backoff, retryReason: 'FUNCTION_TIME_OUT' };
    } else {
      const request = retryRequest(settled.status === 'returned' ? settled.value : settled.error);
      if (request) {
        const retryAfter = typeof request.retryAfter === 'number' ? Math.min(Math.max(request.retryAfter, 1), MAX_RETRY_AFTER_SECONDS) : 1;
        const retryReason = String(request.retryReason ?? 'FUNCTION_RETRY_REQUEST');
        const dataBytes = request.retryData === undefined ? 0 : Buffer.byteLength(JSON.stringify(request.retryData) ?? '');
        error = `InvocationError: retry after ${retryAfter} s (${retryReason})`;
        result = { ok: false, retryAfterSeconds: retryAfter, retryReason, retryData: request.retryData };
        if (dataBytes > MAX_RETRY_DATA_BYTES) {
          error = `InvocationError retryData is ${dataBytes} bytes; Forge allows ${MAX_RETRY_DATA_BYTES}`;
          result = { ...result, giveUp: true };
        }
      } else {
        error = errorMessage(settled.status === 'threw' ? settled.error : undefined);
        result = { ok: false, retryAfterSeconds: backoff, retryReason: 'FUNCTION_PLATFORM_UNKNOWN_ERROR' };
      }
    }
    let outcome: InvocationOutcome;
    if (result.ok) outcome = 'ok';
    else if (finalAttempt || result.giveUp === true) outcome = 'failed';
    else outcome = settled.status === 'timeout' ? 'timeout' : 'retry';
    record({
      id: ran.id,
      kind: 'consumer',
      key: consumer.key,
      functionKey: consumer.function,
      detail: `${consumer.queue} attempt ${retryCount + 1}`,
      start: ran.start,
      durationMs: ran.durationMs,
      outcome,
      ...(error === undefined ? {} : { error }),
    });
    return result;
  };

  const deliver = async (consumer: ConsumerModule, event: AsyncEvent, finalAttempt: boolean, origin: string | undefined): Promise<DeliveryResult> => {
    const timeoutMs = functionTimeoutMs(consumer.function);
    try {
      return await invoke('consumer', consumer.key, consumer.function, timeoutMs, [structuredClone(event), functionContext()], undefined, (ran) =>
        concludeDelivery(consumer, event, finalAttempt, timeoutMs, ran), origin,
      );
    } catch {
      // The host closed under the event: nothing ran, nothing to record.
      return { ok: false, retryAfterSeconds: 0, retryReason: 'FUNCTION_PLATFORM_UNKNOWN_ERROR', giveUp: true };
    }
  };

  const broker = new QueueBroker({
    consumers: manifest.consumers,
    consumerTimeoutSeconds: (consumer) => functionTimeoutMs(consumer.function) / 1000,
    limits,
    clock,
    takePartialPush() {
      const partial = faults.partialPushes;
      if (partial.pushes <= 0) return undefined;
      partial.pushes--;
      return partial.accepts;
    },
    deliver,
    onSettled: notify,
    file: join(options.dataDir, 'queue.json'),
    log,
  });

  /** Runs a trigger or scheduled trigger and records it; failures are logged, not thrown (Forge does not retry them). */
  const runAndRecord = async (kind: 'trigger' | 'scheduledTrigger', key: string, functionKey: string, detail: string, timeoutMs: number, payload: unknown): Promise<InvocationRecord> =>
    invoke(kind, key, functionKey, timeoutMs, [payload, functionContext()], undefined, ({ settled, id, start, durationMs }) => {
      const outcome: InvocationOutcome = settled.status === 'returned' ? 'ok' : settled.status === 'threw' ? 'error' : 'timeout';
      const error = settled.status === 'threw' ? errorMessage(settled.error) : settled.status === 'timeout' ? timeoutMessage(timeoutMs, `${kind} limit`) : undefined;
      const entry: InvocationRecord = { id, kind, key, functionKey, detail, start, durationMs, outcome, ...(error === undefined ? {} : { error }) };
      record(entry);
      return entry;
    });

  const runScheduledTrigger = async (key: string): Promise<void> => {
    const trigger = manifest.scheduledTriggers.find((candidate) => candidate.key === key);
    if (!trigger) throw new Error(`manifest.yml has no scheduledTrigger ${key}`);
    await runAndRecord('scheduledTrigger', key, trigger.function, trigger.interval, functionTimeoutMs(trigger.function), { context: { moduleKey: key } });
  };

  const scheduler = startScheduler(manifest.scheduledTriggers, clock, (key) => {
    runScheduledTrigger(key).catch((error: unknown) => log(`[forge] scheduledTrigger ${key} could not run: ${errorMessage(error)}`));
  });

  // Last: a redelivered event may start at once, and everything it needs is in place now.
  broker.resume();

  const failure = (message: string): ResolverResult => ({ ok: false, error: { message: `There was an error invoking the function - ${message}` } });

  const invokeResolver = async (call: ResolverCall): Promise<ResolverResult> => {
    const module = manifest.resolverModules.get(call.moduleKey);
    if (!module) return failure(`manifest.yml has no module ${call.moduleKey} with a resolver`);
    const base = { kind: 'resolver' as const, key: module.key, functionKey: module.function, detail: call.functionKey };
    const refuse = (message: string): ResolverResult => {
      record({ ...base, id: 'rejected', start: Date.now(), durationMs: 0, outcome: 'error', error: message });
      return failure(message);
    };
    // Depth first: measuring the size serializes, which a deep enough payload overflows.
    if (nestedDeeperThan(call.payload, limits.resolverRequestDepth)) {
      return refuse(`request payload is nested deeper than ${limits.resolverRequestDepth} levels, the sandbox's limit`);
    }
    const requestBytes = Buffer.byteLength(JSON.stringify(call.payload ?? {}) ?? '');
    if (requestBytes > limits.resolverRequestBytes) return refuse(`request payload is ${requestBytes} bytes; Forge accepts ${limits.resolverRequestBytes}`);
    // The app's own @forge/resolver runs (it makes no platform calls, so it needs no
    // stand-in); the host calls the handler its getDefinitions() returned exactly as
    // Forge does: (invoke payload { call, context }, function context), the latter
    // carrying principal, installContext and installation, which the resolver merges
    // into the context it hands each definition.
    const payload = {
      call: { functionKey: call.functionKey, payload: overTheWire(call.payload) },
      context: { localId: call.localId ?? `${module.key}-${workspaceUuid}`, moduleKey: module.key, workspaceId, extension: overTheWire(call.extension) },
    };
    return invoke('resolver', module.key, module.function, limits.resolverTimeoutMs, [payload, functionContext(call.accountId)], call.accountId, ({ settled, id, start, durationMs }): ResolverResult => {
      const entry = { ...base, id, start, durationMs };
      if (settled.status === 'timeout') {
        const message = timeoutMessage(limits.resolverTimeoutMs, 'resolver limit');
        record({ ...entry, outcome: 'timeout', error: message });
        return failure(message);
      }
      if (settled.status === 'threw') {
        const message = errorMessage(settled.error);
        record({ ...entry, outcome: 'error', error: message });
        return failure(message);
      }
      const json = JSON.stringify(settled.value);
      const responseBytes = json === undefined ? 0 : Buffer.byteLength(json);
      if (responseBytes > limits.resolverResponseBytes) {
        const message = `response is ${responseBytes} bytes; Forge returns at most ${limits.resolverResponseBytes}`;
        record({ ...entry, outcome: 'error', error: message });
        return failure(message);
      }
      record({ ...entry, outcome: 'ok' });
      // What reaches the browser is JSON.
      return { ok: true, body: json === undefined ? undefined : (JSON.parse(json) as unknown) };
    });
  };

  const delivered: DeliveredEvent[] = [];
  const deliverEvent = async (event: ProductEvent): Promise<InvocationRecord[]> => {
    if (closed) {
      log(`[forge] host closed: ${event.eventType} not delivered`);
      return [];
    }
    const subscribed = manifest.triggers.filter((trigger: TriggerModule) => trigger.events.includes(event.eventType));
    if (subscribed.length === 0) return [];
    const entry: DeliveredEvent = { at: new Date().toISOString(), event: overTheWire(event), triggers: [] };
    delivered.unshift(entry);
    delivered.splice(DELIVERED_EVENTS_KEPT);
    const ran = await Promise.all(subscribed.map((trigger) => runAndRecord('trigger', trigger.key, trigger.function, event.eventType, limits.triggerTimeoutMs, overTheWire(event))));
    entry.triggers = ran.map(({ key, outcome, error }) => ({ key, outcome, ...(error === undefined ? {} : { error }) }));
    return ran;
  };

  return {
    manifest,
    invokeResolver,
    deliverEvent,
    deliveredEvents: () => overTheWire(delivered),
    runScheduledTrigger,
    async idle() {
      let moves = 0;
      while (busy() && !closed) {
        // Everything left waits for time to pass: move the manual clock to the next delayed event.
        if (options.clock && running.size === 0 && !broker.delivering && options.clock.waiting > 0) {
          if (++moves > MAX_CLOCK_MOVES_PER_IDLE) throw new Error(`the queue did not settle in ${MAX_CLOCK_MOVES_PER_IDLE} delays: an event that requeues itself for ever?`);
          options.clock.next();
          continue;
        }
        await new Promise<void>((resolve) => changeWaiters.add(resolve));
      }
    },
    codeFinished: (id) => finishedCode.get(id),
    invocations,
    onInvocation(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    egressGroups: {
      get: (keys) => [...approved.values()].filter((group) => !keys || keys.includes(group.key)),
      set(groups) {
        if (!manifest.egress.configurable) throw new Error('manifest.yml does not enable customer-managed egress (permissions.external.configurable).');
        for (const group of groups) approved.set(group.key, overTheWire(group));
        writeFileSync(`${approvedFile}.tmp`, JSON.stringify([...approved.values()]));
        renameSync(`${approvedFile}.tmp`, approvedFile);
        egress = policy();
        return groups.map((group) => approved.get(group.key)!);
      },
    },
    faults,
    async runInInvocation(fn, kind = 'consumer') {
      const outbound = outboundTimeoutMs(kind);
      const { settled } = await runInvocation({ kind, key: 'test', functionKey: 'test', services, timeoutMs: 60_000, ...(outbound === undefined ? {} : { outboundTimeoutMs: outbound }) }, fn);
      if (settled.status === 'returned') return settled.value;
      throw settled.status === 'threw' ? settled.error : new Error('the invocation timed out');
    },
    kvsDump: () => kvsStore.dump(),
    secretKeys: () => kvsStore.secretKeys(),
    async close() {
      if (closed) return;
      closed = true;
      scheduler.stop();
      broker.close();
      await Promise.allSettled([...running]);
      notify();
      restoreEnv();
      await kvsStore.flush();
    },
  };
}
