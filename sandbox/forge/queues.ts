// The server side of Forge async events. The app keeps using the real
// @forge/events Queue (platform/events.ts hands it an in-process transport), so
// the client-side checks (50 events, 200 KB, delayInSeconds 0–900) are Forge's
// own code; this broker adds the service-side ones (500 events a minute, 100 KB
// per event for long-running consumers, a consumer must exist), keeps job stats
// and delivers each event to the queue's consumer at least once, retrying as
// Forge does until the retry bound is spent.
import { randomUUID } from 'node:crypto';
import type { AsyncEvent } from '@forge/events';
import type { ConsumerModule } from './manifest.js';
import { outsideInvocation, type Limits } from './runtime.js';

/** `giveUp`: the failure may not be retried whatever the count (e.g. retryData over 4 KB). */
export type DeliveryResult = { ok: true } | { ok: false; retryAfterSeconds: number; retryReason: string; retryData?: unknown; giveUp?: boolean };

export interface QueueBrokerOptions {
  consumers: readonly ConsumerModule[];
  /** Seconds the consumer of `queue` may run: over 55 s, single events are capped at 100 KB. */
  consumerTimeoutSeconds(consumer: ConsumerModule): number;
  limits: Pick<Limits, 'queueEventsPerMinute' | 'queueRetries' | 'timeScale'>;
  /** Runs the consumer once; `finalAttempt` says a failure will not be retried. Must not throw. */
  deliver(consumer: ConsumerModule, event: AsyncEvent, finalAttempt: boolean): Promise<DeliveryResult>;
  /** Called whenever an event finishes or is dropped (for idle()). */
  onSettled(): void;
}

interface PendingEvent {
  consumer: ConsumerModule;
  payload: AsyncEvent;
  timer?: NodeJS.Timeout;
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
  /** Running events per concurrency key, and the events waiting for a slot. */
  private readonly slots = new Map<string, { running: number; waiting: PendingEvent[] }>();
  private closed = false;

  constructor(private readonly options: QueueBrokerOptions) {}

  /** True while any event waits for its delay, a retry or a concurrency slot, or runs. */
  get busy(): boolean {
    return this.events.size > 0;
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

  /** Drops every pending event and timer: the host is shutting down. */
  close(): void {
    this.closed = true;
    for (const event of this.events.values()) clearTimeout(event.timer);
    this.events.clear();
    this.slots.clear();
  }

  private push(request: Record<string, unknown>): Response {
    const queueName = String(request.queueName);
    const jobId = String(request.jobId);
    const pushed = Array.isArray(request.payload) ? request.payload.map(record) : [];
    const consumer = this.options.consumers.find((c) => c.queue === queueName);
    if (!consumer) return json(400, 'Bad Request', { message: `no consumer in manifest.yml reads queue ${queueName}` });

    const now = Date.now();
    while (this.pushTimes.length > 0 && (this.pushTimes[0] ?? 0) <= now - 60_000) this.pushTimes.shift();
    if (this.pushTimes.length + pushed.length > this.options.limits.queueEventsPerMinute) return json(429, 'Too Many Requests', { message: 'Too many requests.' });

    if (this.options.consumerTimeoutSeconds(consumer) > LONG_CONSUMER_SECONDS) {
      const large = pushed.findIndex((event) => Buffer.byteLength(JSON.stringify(event)) > LARGE_EVENT_BYTES);
      if (large >= 0) {
        return json(413, 'Payload Too Large', {
          errorMessage: `Event ${large} is larger than 100 KB, the limit for consumers that run longer than ${LONG_CONSUMER_SECONDS} s (${consumer.key}).`,
        });
      }
    }

    for (let i = 0; i < pushed.length; i++) this.pushTimes.push(now);
    const job: Job = { queueName, success: 0, failed: 0, pending: new Set() };
    this.jobs.set(jobId, job);
    for (const event of pushed) {
      const payload: AsyncEvent = { ...(event as Omit<AsyncEvent, 'queueName' | 'jobId' | 'eventId'>), queueName, jobId, eventId: randomUUID() };
      const pending: PendingEvent = { consumer, payload, running: false };
      this.events.set(payload.eventId, pending);
      job.pending.add(payload.eventId);
      this.schedule(pending, payload.delayInSeconds ?? 0);
    }
    return json(201, 'Created', {});
  }

  private schedule(event: PendingEvent, seconds: number): void {
    // Timers are created outside the pushing invocation so that its context does not leak into deliveries.
    event.timer = outsideInvocation(() => setTimeout(() => this.start(event), seconds * 1000 * this.options.limits.timeScale));
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
    const retryCount = event.payload.retryContext?.retryCount ?? 0;
    const final = retryCount >= this.options.limits.queueRetries;
    const result = await this.options.deliver(event.consumer, event.payload, final);
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
    clearTimeout(event.timer);
    this.events.delete(event.payload.eventId);
    this.jobs.get(event.payload.jobId)?.pending.delete(event.payload.eventId);
    const key = event.payload.concurrency?.key;
    const slot = key === undefined ? undefined : this.slots.get(key);
    if (slot) slot.waiting = slot.waiting.filter((waiting) => waiting !== event);
  }
}
