// The app's queues: one per kind of work, each with its own consumer in
// manifest.yml (made by jobs.ts `defineConsumer`, its body schema beside it).
// Bodies are small JSON (Forge: ≤100 KB per event for long-running consumers).
//
// Forge refuses pushes past its limits (limits-async-events, @forge/events
// out/errors.js): a push of which only some events were recorded raises
// PartialSuccessError, and a chain of consumers that queue each other ends at
// the cyclic invocation limit (1,000 push requests from one originating
// invocation, InvocationLimitReachedError). Work refused at that limit is
// parked in KVS and queued again by the next scheduled trigger, which starts a
// chain of its own.
import { InvocationLimitReachedError, PartialSuccessError, Queue } from '@forge/events';
import { appState, contextPush } from './state/context.js';
import { randomUUID } from 'node:crypto';
import { isLifeboatError } from '../engine/errors.js';
import { recordAudit } from '../app/jobs/audit.js';
import { updateJob } from '../app/jobs/job-records.js';
import { kvsKeys } from '../app/state/state-keys.js';
import { entriesByPrefix } from '../app/state/app-state.js';

export const QUEUES = {
  backup: 'lifeboat-backup',
  restore: 'lifeboat-restore',
  sweep: 'lifeboat-sweep',
  prune: 'lifeboat-prune',
  index: 'lifeboat-index',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Forge accepts at most 50 events per push. */
const PUSH_LIMIT = 50;
/** Pushes again of the events a partial success left out, before the failure is thrown. */
const PARTIAL_RETRIES = 2;

type Event<T> = { body: Record<string, unknown> & T; delayInSeconds: number };

/** Work Forge refused at the cyclic invocation limit, waiting for the scheduled trigger. */
interface ParkedPush {
  queue: QueueName;
  bodies: Array<Record<string, unknown>>;
  parkedAt: string;
}

/**
 * Queues `bodies`, 50 to a push. After a partial success only the events Forge
 * did not record are pushed again; at the cyclic invocation limit the rest is
 * parked for the scheduled trigger (and a job that follows it says so).
 */
export async function enqueue<T extends object>(queue: QueueName, bodies: T[], delayInSeconds = 0): Promise<void> {
  const push = contextPush() ?? ((key: string, events: Array<Event<T>>) => new Queue({ key }).push(events));
  for (let start = 0; start < bodies.length; start += PUSH_LIMIT) {
    let pending: Array<Event<T>> = bodies.slice(start, start + PUSH_LIMIT).map((body) => ({ body: body as Record<string, unknown> & T, delayInSeconds }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      try {
        await push(queue, pending);
        pending = [];
      } catch (error) {
        if (error instanceof InvocationLimitReachedError) {
          await park(queue, [...pending.map((event) => event.body), ...bodies.slice(start + PUSH_LIMIT)] as Array<Record<string, unknown>>);
          return;
        }
        if (!(error instanceof PartialSuccessError) || attempt >= PARTIAL_RETRIES) throw error;
        // failedEvents hold the events as pushed. When the service names none, all go again: a
        // duplicate is harmless (every consumer's work is safe to repeat), a lost event is not.
        if (error.failedEvents.length > 0) pending = error.failedEvents.map(failedEvent<T>);
      }
    }
  }
}

/**
 * The event a PartialSuccessError names as failed. @forge/events 3.0.8 declares it as
 * `event` (out/types.d.ts) but sets `payload` (out/validators.js): either is read.
 */
function failedEvent<T>(failed: { event?: unknown; payload?: unknown }): Event<T> {
  return (failed.event ?? failed.payload) as Event<T>;
}

async function park(queue: QueueName, bodies: Array<Record<string, unknown>>): Promise<void> {
  const parkedAt = new Date();
  for (let start = 0; start < bodies.length; start += PUSH_LIMIT) {
    const chunk = bodies.slice(start, start + PUSH_LIMIT);
    await appState().set(kvsKeys.parkedPush(parkedAt, randomUUID()), { queue, bodies: chunk, parkedAt: parkedAt.toISOString() } satisfies ParkedPush);
  }
  const jobIds = [...new Set(bodies.map((body) => body.jobId).filter((id): id is string => typeof id === 'string'))];
  // The job stays waiting, not "running" (which a page would take for stalled after a quarter of an hour).
  for (const jobId of jobIds) {
    await updateJob(jobId, { state: 'queued', note: { code: 'parked' } }).catch((error: unknown) => {
      if (!isLifeboatError(error, 'JOB_NOT_FOUND')) throw error;
    });
  }
  console.warn(`lifeboat: Forge's cyclic invocation limit was reached; ${bodies.length} event${bodies.length === 1 ? '' : 's'} for ${queue} parked for the next scheduled run`);
  await recordAudit({ action: 'work parked', note: { code: 'work-parked', events: bodies.length, queue, jobIds } });
}

/**
 * Queues again what was parked at the cyclic invocation limit: the scheduled
 * trigger calls it, as a new originating invocation. Stops at the first push
 * Forge refuses (a rate limit, say); the rest waits for the next run.
 */
export async function resumeParked(): Promise<void> {
  const parked: Array<{ key: string; value: ParkedPush }> = [];
  // Collected before deleting: KVS does not promise a cursor survives a delete under it.
  for await (const entry of entriesByPrefix<ParkedPush>(appState(), kvsKeys.parkedPushPrefix)) parked.push(entry);
  let resumed = 0;
  for (const { key, value } of parked) {
    try {
      await enqueue(value.queue, value.bodies);
    } catch (error) {
      console.warn(`lifeboat: parked work stays parked until the next scheduled run (${(error as Error).message})`);
      break;
    }
    await appState().delete(key);
    resumed += value.bodies.length;
  }
  if (resumed > 0) await recordAudit({ action: 'parked work queued again', note: { code: 'parked-work-queued', events: resumed } });
}
