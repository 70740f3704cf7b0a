// One lifecycle for every queue consumer that manifest.yml names. A consumer is
// a body schema, the repository it leases and a `run`; this module parses the
// event, takes the lease, keeps the job record that the pages poll, classifies
// what was thrown, retries by one policy and records a failure one way:
//
//   queued → running (phase, progress) → done
//                                      → failed (code, message, hint)
//                                      → waiting-to-retry (nextAttemptAt) → running → …
//
// The repository status the pages show (status.ts) is written here too, and
// only by the delivery that holds the repository's lease, one write at a time:
// running with its progress, waiting to retry, failed; and what the work says
// through `context.status`.
//
// Forge delivers an event at least once and retries it when the consumer
// returns an InvocationError (about four deliveries in all), so the work a
// `run` does must be safe to repeat, and the last delivery records instead of
// asking for a retry that would never come.
import { InvocationError, InvocationErrorCode } from '@forge/events';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { bracedUuid } from '../bitbucket/uuid.js';
import type { JobKind, JobNote, JobProgress, JobResult, JobView, UserError } from '../contract.js';
import { LifeboatError, isLifeboatError } from '../engine/errors.js';
import { recordAudit } from '../app/jobs/audit.js';
import { userError } from './hints.js';
import { getJob, storeJob, updateJob } from '../app/jobs/job-records.js';
import { kvsKeys } from '../app/state/state-keys.js';
import { acquireLease, releaseLease } from '../app/jobs/lease.js';
import { classifyError } from './platform-errors.js';
import { type QueueName, enqueue } from './queues.js';
import { type StatusChange, writeStatus } from '../app/jobs/status.js';
import { appState, now } from './state/context.js';

/** Deliveries with retryCount 0 to 2 may ask for another; the one with 3 (Forge's last) records the outcome. */
export const MAX_RETRIES = 3;
/** Forge waits at most this long before a retry (a consumer's own limit is 900 s too). */
const MAX_RETRY_AFTER_SECONDS = 900;
const BACKOFF_BASE_SECONDS = 30;
/** Someone else holds the repository (a backup, restore or prune): look again after this long. */
const BUSY_RETRY_SECONDS = 60;
/** Past Forge's retries the work is queued afresh this much later: waiting is not failing. */
const BUSY_REQUEUE_SECONDS = 300;
/** KVS writes are rationed: progress reaches the job record at most this often. */
const PROGRESS_WRITE_INTERVAL_MS = 2_000;

export interface RetryPlan {
  afterSeconds: number;
  reason: InvocationErrorCode;
}

/**
 * The one retry policy: only transient failures, only while Forge still
 * retries; the error's own hint (Retry-After) when it has one, otherwise
 * exponential; never past what Forge accepts.
 */
export function retryPlan(error: LifeboatError, retryCount: number): RetryPlan | undefined {
  if (error.kind !== 'transient' || retryCount >= MAX_RETRIES) return undefined;
  const hinted = Number(error.details?.retryAfterSeconds);
  const wanted = Number.isFinite(hinted) && hinted > 0
    ? hinted
    : error.code === 'LOCKED' || error.code === 'REPOSITORY_BUSY' ? BUSY_RETRY_SECONDS : BACKOFF_BASE_SECONDS * 2 ** retryCount;
  return { afterSeconds: Math.min(Math.ceil(wanted), MAX_RETRY_AFTER_SECONDS), reason: retryReason(error) };
}

function retryReason(error: LifeboatError): InvocationErrorCode {
  if (error.code === 'BITBUCKET_RATE_LIMITED') return InvocationErrorCode.FUNCTION_UPSTREAM_RATE_LIMITED;
  if (error.code === 'PLATFORM_BUSY' && error.details?.rateLimited === true) return InvocationErrorCode.FUNCTION_PLATFORM_RATE_LIMITED;
  return InvocationErrorCode.FUNCTION_RETRY_REQUEST;
}

// ---------------------------------------------------------------- job records

export interface JobStart<K extends JobKind, B extends JobBody> {
  kind: K;
  /** What the job says while it waits (default: queued). */
  note?: JobNote;
  requestedBy?: string;
  repositoryUuid?: string;
  queue: QueueName;
  /** The consumer's body, for the job's id. */
  body: (jobId: string) => B;
  /** The request's audit entry: it names the job, and keeps the job's note when it has one. */
  audit: { action: string };
  /**
   * Stores what the consumer will read (a restore's request), once the record
   * exists and before the work is queued. It may find the same work already
   * waiting: it returns that job, and this one is dropped unqueued.
   */
  prepare?: (job: JobView<K>) => Promise<JobView | void>;
}

/** Every job starts here: its record, then its work in the queue, then the audit entry. */
export async function startJob<K extends JobKind, B extends JobBody>(start: JobStart<K, B>): Promise<JobView<K>> {
  const at = new Date(now()).toISOString();
  // TypeScript does not resolve a mapped union over a type parameter: this is the job of kind K, without a result yet.
  const job = {
    id: randomUUID(), kind: start.kind, state: 'queued', note: start.note ?? { code: 'queued' }, createdAt: at, updatedAt: at,
    ...(start.requestedBy ? { requestedBy: start.requestedBy } : {}),
    ...(start.repositoryUuid ? { repositoryUuid: bracedUuid(start.repositoryUuid) } : {}),
  } as JobView<K>;
  await storeJob(job);
  const instead = await start.prepare?.(job);
  if (instead) {
    await appState().delete(kvsKeys.job(job.id));
    // The same work already waiting is a job of the same kind; anything else is a bug of the caller.
    if (instead.kind !== start.kind) throw new LifeboatError('INTERNAL', `A ${start.kind} job joined a ${instead.kind} job.`);
    return instead as JobView<K>;
  }
  await enqueue(start.queue, [start.body(job.id)]);
  await recordAudit({
    action: start.audit.action,
    ...(job.repositoryUuid ? { repositoryUuid: job.repositoryUuid } : {}),
    ...(job.requestedBy ? { actorAccountId: job.requestedBy } : {}),
    jobId: job.id,
    ...(start.note ? { note: start.note } : {}),
  });
  return job;
}

function isFinished(job: JobView): boolean {
  return job.state === 'done' || job.state === 'failed';
}

// ---------------------------------------------------------------- consumers

/** What a consumer's body always may carry: the job record the pages follow. */
export interface JobBody {
  jobId?: string;
}

export interface RunContext {
  /** The job record, when someone follows this work. */
  job?: JobView;
  retryCount: number;
  /** When this delivery started (epoch ms, real time: Forge's 900 s do not follow the app's clock): budgets within them count from here. */
  startedAt: number;
  /** What the work is doing now; written to the job record at most every couple of seconds. */
  progress(phase: string, progress?: JobProgress): void;
  /**
   * For work over many repositories (the index): runs `work` holding that
   * repository's lease, released after; false, and `work` not run, while
   * someone else holds it.
   */
  underLease(repositoryUuid: string, work: () => Promise<void>): Promise<boolean>;
  /**
   * Writes the status of the repository this delivery leases, after every write
   * made before it; refused (INTERNAL) for work that leases none.
   */
  status(change: StatusChange): Promise<void>;
}

export type Outcome<B extends JobBody = JobBody> =
  /** Finished. `quiet` keeps a no-op (an unchanged repository) out of the audit log. */
  | { state: 'done'; note: JobNote; result?: JobResult; quiet?: boolean }
  /**
   * The work did not fit one delivery: the kernel queues `next.body` on the
   * consumer's queue `next.afterSeconds` later, and the job stays running with
   * `result` as its running totals (the next delivery finds them in `context.job`).
   */
  /** `progress`: how far the whole work has come, which the job keeps while the next step waits. */
  | { state: 'continuing'; note: JobNote; next: { body: B; afterSeconds: number }; result?: JobResult; progress?: JobProgress };

export interface AuditSubject {
  action: string;
  repositoryUuid?: string;
  actorAccountId?: string;
}

export interface Consumer<B extends JobBody> {
  kind: JobKind;
  queue: QueueName;
  body: z.ZodType<B>;
  /** The repository this work must have to itself while it runs. */
  leases?: (body: B) => string | undefined;
  /** Who and what the audit entry names. */
  audit: (body: B) => AuditSubject | Promise<AuditSubject>;
  run: (body: B, context: RunContext) => Promise<Outcome<B>>;
  /**
   * The leased repository's status follows this work (the backup's): running with
   * its progress, waiting to retry, failed. Written while the lease is held only: a
   * delivery that finds the repository busy leaves the holder's status alone.
   */
  keepsStatus?: boolean;
  /**
   * Once the work has ended, however it ended (done, failed, retries given up, its job
   * finished or forgotten when a delivery arrives): what the job alone may hold goes
   * (a restore's age identity). Runs before the ending is recorded, so whoever sees
   * the ending sees that gone too; it must be safe to run more than once.
   */
  onEnded?: (body: B) => Promise<void>;
  /** Queues the work afresh once Forge's retries are spent on a busy repository; default: the same body again. */
  requeue?: (body: B, delayInSeconds: number) => Promise<void>;
}

/** What the platform hands a queue consumer (@forge/events AsyncEvent), its body checked by `body`. */
const consumerEvent = <T extends z.ZodType>(body: T) => z.object({
  body,
  jobId: z.string().optional(),
  eventId: z.string().optional(),
  retryContext: z.object({ retryCount: z.number() }).partial().optional(),
});

/** The handler that manifest.yml names for a consumer: every consumer is made here. */
export function defineConsumer<B extends JobBody>(consumer: Consumer<B>): (event: unknown) => Promise<InvocationError | undefined> {
  return async (event) => {
    const startedAt = Date.now();
    const parsed = consumerEvent(consumer.body).safeParse(event);
    if (!parsed.success) {
      // Retrying a body that cannot be read helps nobody: say so in the log and drop it.
      console.error(`lifeboat: dropping a malformed ${consumer.kind} event`, parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
      return undefined;
    }
    const body = parsed.data.body as B;
    const retryCount = parsed.data.retryContext?.retryCount ?? 0;
    const job = body.jobId ? await getJob(body.jobId).catch(forgotten) : undefined;
    // Forgotten, or finished by an earlier delivery of the same event: nothing is left to do but tidy up.
    if (body.jobId && (!job || isFinished(job))) {
      await ended(consumer, body);
      return undefined;
    }

    const repositoryUuid = consumer.leases?.(body);
    const holder = `${consumer.kind} ${parsed.data.eventId ?? parsed.data.jobId ?? randomUUID()}`;
    let recording = false;
    try {
      if (repositoryUuid && !(await acquireLease(repositoryUuid, holder, consumer.kind))) {
        return await stillBusy(consumer, body, retryCount);
      }
      const status = statusWriter(consumer, repositoryUuid);
      try {
        try {
          if (job) await updateJob(job.id, { state: 'running', phase: 'starting', note: { code: 'starting' } });
          const progress = progressWriter(consumer, body, status);
          let outcome: Outcome<B>;
          try {
            outcome = await consumer.run(body, { ...(job ? { job } : {}), retryCount, startedAt, progress: progress.update, underLease: (repository, work) => underLease(repository, holder, consumer.kind, work), status });
          } finally {
            await progress.flush(); // before the outcome, which a late progress write must not overwrite
          }
          if (outcome.state === 'continuing') {
            // Queued while this delivery still holds the lease: the delay gives it time to let go.
            await enqueue(consumer.queue, [outcome.next.body], outcome.next.afterSeconds);
            await continuing(body, outcome);
            return undefined;
          }
          // The work is done: a failing record of it must not make Forge run the work again.
          await finish(consumer, body, outcome).catch((error: unknown) => console.error(`lifeboat: ${consumer.kind} finished, but recording it failed`, error));
          return undefined;
        } catch (thrown) {
          // Recorded while the lease is still held, so that the repository status it writes is the holder's.
          recording = true;
          return await failOrRetry(consumer, body, retryCount, thrown, status);
        }
      } finally {
        if (repositoryUuid) await releaseLease(repositoryUuid, holder);
      }
    } catch (thrown) {
      if (recording) throw thrown;
      // Not holding the lease (taking it failed): the repository status is left to its holder.
      return failOrRetry(consumer, body, retryCount, thrown);
    }
  };
}

/**
 * The kernel's writer of the leased repository's status: every write in the order
 * it was made, each after the one before has landed (status.ts `writeStatus`).
 */
function statusWriter<B extends JobBody>(consumer: Consumer<B>, repositoryUuid: string | undefined): RunContext['status'] {
  let last: Promise<unknown> = Promise.resolve();
  return (change) => {
    if (!repositoryUuid) return Promise.reject(new LifeboatError('INTERNAL', `A ${consumer.kind} job leases no repository: it has no status to write.`));
    const write = last.then(() => writeStatus(repositoryUuid, change));
    last = write.catch(() => undefined);
    return write;
  };
}

function forgotten(error: unknown): undefined {
  if (isLifeboatError(error, 'JOB_NOT_FOUND')) return undefined;
  throw error;
}

async function continuing<B extends JobBody>(body: B, outcome: Extract<Outcome<B>, { state: 'continuing' }>): Promise<void> {
  if (!body.jobId) return;
  const result = { ...(outcome.result ? { result: outcome.result } : {}), ...(outcome.progress ? { progress: outcome.progress } : {}) };
  // Unless its next step was parked at Forge's chain limit (queues.ts): then the job waits for the schedule, as it says.
  if ((await getJob(body.jobId)).state === 'queued') await updateJob(body.jobId, result);
  else await updateJob(body.jobId, { state: 'running', phase: 'continuing', note: outcome.note, ...result });
}

/** The lease of one repository for as long as `work` runs, in the name of the delivery's holder. */
async function underLease(repositoryUuid: string, holder: string, what: string, work: () => Promise<void>): Promise<boolean> {
  if (!(await acquireLease(repositoryUuid, holder, what))) return false;
  try {
    await work();
  } finally {
    await releaseLease(repositoryUuid, holder);
  }
  return true;
}

async function finish<B extends JobBody>(consumer: Consumer<B>, body: B, outcome: Extract<Outcome<B>, { state: 'done' }>): Promise<void> {
  await ended(consumer, body);
  if (body.jobId) await updateJob(body.jobId, { state: 'done', note: outcome.note, ...(outcome.result ? { result: outcome.result } : {}) });
  if (!outcome.quiet || body.jobId) await recordAudit({ ...(await consumer.audit(body)), outcome: 'ok', note: outcome.note });
}

/** The consumer's onEnded; a failure of it is logged (never what it cleans up) and does not change how the job ended. */
async function ended<B extends JobBody>(consumer: Consumer<B>, body: B): Promise<void> {
  await consumer.onEnded?.(body).catch((error: unknown) => console.warn(`lifeboat: could not tidy up after a ${consumer.kind} job`, classifyError(error).message));
}

async function stillBusy<B extends JobBody>(consumer: Consumer<B>, body: B, retryCount: number): Promise<InvocationError | undefined> {
  const reason = userError(new LifeboatError('REPOSITORY_BUSY', 'Another backup, restore or prune is running on this repository; this waits for it to finish.'));
  const plan = retryPlan(new LifeboatError('REPOSITORY_BUSY', reason.message), retryCount);
  const afterSeconds = plan?.afterSeconds ?? BUSY_REQUEUE_SECONDS;
  await markWaiting(body, reason, afterSeconds);
  if (plan) return new InvocationError({ retryAfter: plan.afterSeconds, retryReason: plan.reason });
  // Forge's retries are spent, but nothing failed: the work goes back in the queue.
  await (consumer.requeue ? consumer.requeue(body, afterSeconds) : enqueue(consumer.queue, [body], afterSeconds));
  return undefined;
}

/** `status`: the lease holder's status writer, when this delivery holds the lease. */
async function failOrRetry<B extends JobBody>(consumer: Consumer<B>, body: B, retryCount: number, thrown: unknown, status?: RunContext['status']): Promise<InvocationError | undefined> {
  const error = classifyError(thrown);
  const plan = retryPlan(error, retryCount);
  if (error.kind === 'bug') console.error(`lifeboat: ${consumer.kind} failed`, thrown);
  const shown = userError(error);
  const keptStatus = consumer.keepsStatus ? status : undefined;
  if (plan) {
    await markWaiting(body, shown, plan.afterSeconds);
    await keptStatus?.({ state: 'queued', progress: { phase: `waiting to retry: ${shown.message}`, updatedAt: new Date(now()).toISOString() } });
    return new InvocationError({ retryAfter: plan.afterSeconds, retryReason: plan.reason });
  }
  await ended(consumer, body);
  if (body.jobId) await updateJob(body.jobId, { state: 'failed', error: shown }).catch(forgotten);
  await keptStatus?.({ state: 'failed', progress: undefined, lastError: { ...shown, at: new Date(now()).toISOString() } });
  await recordAudit({ ...(await consumer.audit(body)), outcome: 'failed', error: { code: shown.code, message: shown.message } });
  return undefined;
}

async function markWaiting(body: JobBody, reason: UserError, afterSeconds: number): Promise<void> {
  const nextAttemptAt = new Date(now() + afterSeconds * 1000).toISOString();
  if (body.jobId) await updateJob(body.jobId, { state: 'waiting-to-retry', error: reason, nextAttemptAt }).catch(forgotten);
}

function progressWriter<B extends JobBody>(consumer: Consumer<B>, body: B, status: RunContext['status']): { update: RunContext['progress']; flush: () => Promise<void> } {
  let lastWrite = 0;
  let writing: Promise<unknown> = Promise.resolve();
  return {
    update(phase, progress) {
      if (Date.now() - lastWrite < PROGRESS_WRITE_INTERVAL_MS) return;
      lastWrite = Date.now();
      // Taken into the status writes now, in the order of the work's own (a later "idle" lands after it).
      const shown = consumer.keepsStatus ? status({ state: 'running', progress: { phase, ...progress, updatedAt: new Date(now()).toISOString() } }) : undefined;
      writing = Promise.all([
        writing.then(async () => {
          if (body.jobId) await updateJob(body.jobId, { state: 'running', phase, ...(progress ? { progress } : {}) });
        }),
        shown,
      ]).catch((error: unknown) => {
        // Progress is a courtesy: a failed write must not fail the work.
        console.warn(`lifeboat: could not record ${consumer.kind} progress`, classifyError(error).message);
      });
    },
    async flush() {
      await writing;
    },
  };
}
