// The server side of Forge async events. The app keeps using the real
// @forge/events Queue (platform/events.ts hands it an in-process transport), so
// the client-side checks (50 events, 200 KB, delayInSeconds 0–900) are Forge's
// own code; this broker answers every push as the service would, refusing what
// the client let through (limits-async-events: 50 events and 200 KB per push,
// 500 events a minute, 100 KB per event for long-running consumers, 1,000 push
// requests per originating invocation; a consumer must exist), keeps job stats
// and delivers each event to the queue's consumer at least once, retrying as
// Forge does until the retry bound is spent. The answers' status codes are the
// ones the package's out/validators.js turns into its error classes.
//
// The queue is Forge's, not the app's: an event it accepted outlives the
// invocation that runs it. Forge retries an event until it is delivered, and an
// invocation that times out, runs out of memory or meets a platform error is not
// a delivery (the Async events API page's retries section; the retry reasons
// FUNCTION_TIME_OUT, FUNCTION_OUT_OF_MEMORY and FUNCTION_PLATFORM_UNKNOWN_ERROR of
// @forge/events out/invocationErrorCode.d.ts, which no code of the app's
// returns). So the broker keeps its events in a file: a host stopped or killed
// (kill -9) and started again on the same data delivers what was waiting, and
// delivers again, as a retry, what was running.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { AsyncEvent } from '@forge/events';
import type { ClockTimer, HostClock } from './clock.js';
import type { ConsumerModule } from './manifest.js';
import { currentInvocation, outsideInvocation, type Limits } from './runtime.js';

/** `giveUp`: the failure may not be retried whatever the count (e.g. retryData over 4 KB). */
export type DeliveryResult = { ok: true } | { ok: false; retryAfterSeconds: number; retryReason: string; retryData?: unknown; giveUp?: boolean };

export interface QueueBrokerOptions {
  consumers: readonly ConsumerModule[];
  /** Seconds the consumer of `queue` may run: over 55 s, single events are capped at 100 KB. */
  consumerTimeoutSeconds(consumer: ConsumerModule): number;
  limits: Pick<Limits, 'queueEventsPerMinute' | 'queueRetries' | 'cyclicInvocationLimit'>;
  /** What delays, retries and the per-minute window wait on. */
  clock: HostClock;
  /** The host's fault knob, consumed per push: how many events this push records (all when undefined). */
  takePartialPush(): number | undefined;
  /**
   * Runs the consumer once; `finalAttempt` says a failure will not be retried; `origin`
   * is the invocation that started the chain the event belongs to. Must not throw.
   */
  deliver(consumer: ConsumerModule, event: AsyncEvent, finalAttempt: boolean, origin: string | undefined): Promise<DeliveryResult>;
  /** Called whenever an event finishes, is dropped or waits for its retry (for idle()). */
  onSettled(): void;
  /** Where the events not yet finished are kept, written on every change (none: in memory only). */
  file?: string;
  log?: (line: string) => void;
}

interface PendingEvent {
  consumer: ConsumerModule;
  payload: AsyncEvent;
  /** The originating invocation of the push that queued it (none when pushed outside an invocation). */
  origin?: string;
  timer?: ClockTimer;
  /** When it starts (the clock's epoch ms), once scheduled. */
  due?: number;
  running: boolean;
}

/** An event as the file keeps it. */
interface KeptEvent {
  consumer: string;
  payload: AsyncEvent;
  origin?: string;
  due?: number;
  running: boolean;
}

interface Job {
  queueName: string;
  success: number;
  failed: number;
  pending: Set<string>;
}

const LARGE_EVENT_BYTES = 100 * 1024;
const LONG_CONSUMER_SECONDS = 55;
/** limits-async-events: "Event per request" and "Payload size" (the client's own out/validators.js checks the same). */
const MAX_EVENTS_PER_PUSH = 50;
const MAX_PUSH_BYTES = 200 * 1024;

function json(status: number, statusText: string, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, statusText, headers: { 'content-type': 'application/json' } });
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export class QueueBroker {
  private readonly events = new Map<string, PendingEvent>();
  private readonly jobs = new Map<string, Job>();
  private readonly pushTimes: number[] = [];
  /** Push requests accepted per originating invocation, for the cyclic invocation limit. */
  private readonly pushesByOrigin = new Map<string, number>();
  /** Running events per concurrency key, and the events waiting for a slot. */
  private readonly slots = new Map<string, { running: number; waiting: PendingEvent[] }>();
  private closed = false;

  constructor(private readonly options: QueueBrokerOptions) {}

  /** True while any event waits for its delay, a retry or a concurrency slot, or runs. */
  get busy(): boolean {
    return this.events.size > 0;
  }

  /** True while a consumer runs one of the events. */
  get delivering(): boolean {
    for (const event of this.events.values()) if (event.running) return true;
    return false;
  }

  /** Answers one request of the @forge/events client (publish, stats, cancel). */
  request(path: string, body: unknown): Response {
    const request = record(body);
    if (path.startsWith('/webhook/queue/publish/')) return this.push(request);
    const job = this.jobs.get(String(request.jobId));
    if (!job || job.queueName !== request.queueName) return json(404, 'Not Found', { message: 'job not found' });
    if (path.startsWith('/webhook/queue/stats/')) return json(200, 'OK', { success: job.success, inProgress: job.pending.size, failed: job.failed });
    if (path.startsWith('/webhook/queue/cancel/')) {
      for (const eventId of job.pending) {
        const event = this.events.get(eventId);
        if (event && !event.running) this.drop(event);
      }
      this.options.onSettled();
      return json(204, 'No Content');
    }
    return json(404, 'Not Found', { message: `unknown async events endpoint ${path}` });
  }

  /**
   * Stops every timer: the host is shutting down. The file keeps the events, for the
   * host started next on the same data; one running now is delivered again then.
   */
  close(): void {
    this.closed = true;
    for (const event of this.events.values()) event.timer?.cancel();
    this.events.clear();
    this.slots.clear();
  }

  private push(request: Record<string, unknown>): Response {
    const queueName = String(request.queueName);
    const jobId = String(request.jobId);
    const pushed = Array.isArray(request.payload) ? request.payload.map(record) : [];
    const consumer = this.options.consumers.find((c) => c.queue === queueName);
    if (!consumer) return json(400, 'Bad Request', { message: `no consumer in manifest.yml reads queue ${queueName}` });

    // Both are the client's checks too, so a real client never sends these; what the service answers is not
    // documented: assumed 400 for the count, and 413 with `errorMessage` for the size (the answer the client
    // turns into PayloadTooBigError).
    if (pushed.length === 0 || pushed.length > MAX_EVENTS_PER_PUSH) {
      return json(400, 'Bad Request', { message: `A push carries 1 to ${MAX_EVENTS_PER_PUSH} events; this one has ${pushed.length}.` });
    }
    const bytes = Buffer.byteLength(JSON.stringify(pushed));
    if (bytes > MAX_PUSH_BYTES) return json(413, 'Payload Too Large', { errorMessage: `The maximum payload size is ${MAX_PUSH_BYTES / 1024}KB; this push has ${bytes} bytes.` });

    // The cyclic invocation limit counts the push requests of a whole chain: the invocation that started
    // it and every consumer downstream (limits-async-events); HTTP 405 is what the client turns into
    // InvocationLimitReachedError. Whether refused pushes count is not documented: assumed not.
    const origin = currentInvocation()?.origin;
    const chainPushes = origin === undefined ? 0 : (this.pushesByOrigin.get(origin) ?? 0);
    if (chainPushes >= this.options.limits.cyclicInvocationLimit) {
      return json(405, 'Method Not Allowed', { message: `The limit on cyclic invocation has been reached: ${chainPushes} pushes from one originating invocation.` });
    }

    const now = this.options.clock.now();
    const minute = this.options.clock.scale(60_000);
    while (this.pushTimes.length > 0 && (this.pushTimes[0] ?? 0) <= now - minute) this.pushTimes.shift();
    if (this.pushTimes.length + pushed.length > this.options.limits.queueEventsPerMinute) return json(429, 'Too Many Requests', { message: 'Too many requests.' });

    if (this.options.consumerTimeoutSeconds(consumer) > LONG_CONSUMER_SECONDS) {
      const large = pushed.findIndex((event) => Buffer.byteLength(JSON.stringify(event)) > LARGE_EVENT_BYTES);
      if (large >= 0) {
        return json(413, 'Payload Too Large', {
          errorMessage: `Event ${large} is larger than 100 KB, the limit for consumers that run longer than ${LONG_CONSUMER_SECONDS} s (${consumer.key}).`,
        });
      }
    }

    // The fault knob: the service records only some events. Its answer is HTTP 202 with the failed events'
    // indexes and reasons, the shape the client's validatePushAPIResponse reads into PartialSuccessError
    // (out/validators.js); the reasons' wording is not documented: assumed.
    const recorded = this.options.takePartialPush();
    const accepted = recorded === undefined ? pushed : pushed.slice(0, Math.max(0, recorded));

    if (origin !== undefined) this.pushesByOrigin.set(origin, chainPushes + 1);
    for (let i = 0; i < accepted.length; i++) this.pushTimes.push(now);
    const job: Job = { queueName, success: 0, failed: 0, pending: new Set() };
    this.jobs.set(jobId, job);
    for (const event of accepted) {
      const payload: AsyncEvent = { ...(event as Omit<AsyncEvent, 'queueName' | 'jobId' | 'eventId'>), queueName, jobId, eventId: randomUUID() };
      const pending: PendingEvent = { consumer, payload, running: false, ...(origin === undefined ? {} : { origin }) };
      this.events.set(payload.eventId, pending);
      job.pending.add(payload.eventId);
      this.schedule(pending, payload.delayInSeconds ?? 0);
    }
    // Kept before the push is answered: what Forge accepted survives whatever happens next.
    this.persist();
    if (accepted.length < pushed.length) {
      const failedEvents = pushed.slice(accepted.length).map((_, i) => ({ index: accepted.length + i, errorMessage: 'The event could not be recorded; push it again.' }));
      return json(202, 'Accepted', { failedEvents });
    }
    return json(201, 'Created', {});
  }

  private schedule(event: PendingEvent, seconds: number): void {
    const ms = seconds * 1000;
    event.due = this.options.clock.now() + this.options.clock.scale(ms);
    // Timers are created outside the pushing invocation so that its context does not leak into deliveries.
    event.timer = outsideInvocation(() => this.options.clock.after(ms, () => this.start(event)));
  }

  /**
   * Takes up the events a host before this one left in the file: a waiting event waits
   * out what is left of its delay; one that was running died with that host and is
   * retried, as Forge retries an event whose invocation died, unless that was its last
   * delivery. Not documented for a runtime that dies under the invocation: assumed a retry
   * reason of FUNCTION_PLATFORM_UNKNOWN_ERROR, a retryCount one higher (the docs say
   * platform-level errors leave it alone: counting it is the stricter of the two, nearer
   * the sandbox's retry bound) and the same backoff as a timeout. Job stats start again
   * from the events (counts of finished events are not kept).
   */
  resume(): void {
    const file = this.options.file;
    if (file === undefined || !existsSync(file)) return;
    const kept = JSON.parse(readFileSync(file, 'utf8')) as KeptEvent[];
    const now = this.options.clock.now();
    for (const entry of kept) {
      const consumer = this.options.consumers.find((candidate) => candidate.key === entry.consumer);
      if (!consumer) {
        this.options.log?.(`[forge] queue: dropping an event of ${entry.consumer}, which manifest.yml no longer declares`);
        continue;
      }
      let { payload } = entry;
      let seconds: number;
      if (entry.running) {
        const retryCount = payload.retryContext?.retryCount ?? 0;
        if (retryCount >= this.options.limits.queueRetries) {
          this.options.log?.(`[forge] queue: ${consumer.queue} event ${payload.eventId} died on its last delivery; dropped`);
          continue;
        }
        payload = { ...payload, retryContext: { retryCount: retryCount + 1, retryReason: 'FUNCTION_PLATFORM_UNKNOWN_ERROR', retryData: undefined } };
        seconds = 2 ** retryCount;
      } else {
        // What is left of the delay, in the clock's platform seconds.
        seconds = Math.max(0, (entry.due ?? now) - now) / this.options.clock.scale(1000);
      }
      const event: PendingEvent = { consumer, payload, running: false, ...(entry.origin === undefined ? {} : { origin: entry.origin }) };
      this.events.set(payload.eventId, event);
      const job = this.jobs.get(payload.jobId) ?? { queueName: payload.queueName, success: 0, failed: 0, pending: new Set<string>() };
      job.pending.add(payload.eventId);
      this.jobs.set(payload.jobId, job);
      this.schedule(event, seconds);
    }
    this.persist();
  }

  /** Writes the events not yet finished, whole and at once (temp file + rename), so that a kill leaves the last complete list. */
  private persist(): void {
    const file = this.options.file;
    if (file === undefined || this.closed) return;
    const kept: KeptEvent[] = [...this.events.values()].map((event) => ({
      consumer: event.consumer.key, payload: event.payload, running: event.running,
      ...(event.origin === undefined ? {} : { origin: event.origin }),
      ...(event.due === undefined ? {} : { due: event.due }),
    }));
    writeFileSync(`${file}.tmp`, JSON.stringify(kept));
    renameSync(`${file}.tmp`, file);
  }

  private start(event: PendingEvent): void {
    if (this.closed || !this.events.has(event.payload.eventId)) return;
    const { concurrency } = event.payload;
    if (concurrency) {
      const slot = this.slots.get(concurrency.key) ?? { running: 0, waiting: [] };
      this.slots.set(concurrency.key, slot);
      if (slot.running >= concurrency.limit) {
        slot.waiting.push(event);
        return;
      }
      slot.running++;
    }
    void this.run(event);
  }

  private async run(event: PendingEvent): Promise<void> {
    event.running = true;
    this.persist();
    const retryCount = event.payload.retryContext?.retryCount ?? 0;
    const final = retryCount >= this.options.limits.queueRetries;
    const result = await this.options.deliver(event.consumer, event.payload, final, event.origin);
    event.running = false;
    this.releaseSlot(event);
    if (this.closed) return;
    const job = this.jobs.get(event.payload.jobId);
    if (result.ok || final || result.giveUp === true) {
      if (job) {
        if (result.ok) job.success++;
        else job.failed++;
      }
      this.drop(event);
      this.options.onSettled();
      return;
    }
    event.payload = { ...event.payload, retryContext: { retryCount: retryCount + 1, retryReason: result.retryReason, retryData: result.retryData } };
    this.schedule(event, result.retryAfterSeconds);
    this.persist();
    this.options.onSettled();
  }

  private releaseSlot(event: PendingEvent): void {
    const key = event.payload.concurrency?.key;
    const slot = key === undefined ? undefined : this.slots.get(key);
    if (!slot || key === undefined) return;
    slot.running--;
    const next = slot.waiting.shift();
    if (next) this.start(next);
    else if (slot.running === 0) this.slots.delete(key);
  }

  private drop(event: PendingEvent): void {
    event.timer?.cancel();
    this.events.delete(event.payload.eventId);
    this.persist();
    this.jobs.get(event.payload.jobId)?.pending.delete(event.payload.eventId);
    const key = event.payload.concurrency?.key;
    const slot = key === undefined ? undefined : this.slots.get(key);
    if (slot) slot.waiting = slot.waiting.filter((waiting) => waiting !== event);
  }
}
