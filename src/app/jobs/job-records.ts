// The job records the pages poll: one per job, kept by the kernel (jobs.ts) and
// by the parking of work at Forge's chain limit (queues.ts). A leaf module, so
// that the queues need not import the kernel that queues through them.
import type { JobKind, JobResult, JobView, UserError } from '../../contract.js';
import { LifeboatError } from '../../engine/errors.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState, now } from '../../forge/state/context.js';

/** Job records are kept this long after their last change, then KVS forgets them. */
const JOB_TTL_DAYS = 14;

export async function getJob(jobId: string): Promise<JobView> {
  const stored = /^[0-9a-f-]{36}$/.test(jobId) ? await appState().get<JobView & { message?: string }>(kvsKeys.job(jobId)) : undefined;
  if (!stored) throw new LifeboatError('JOB_NOT_FOUND', 'There is no such job (finished jobs are kept for two weeks, then forgotten).');
  // A record an earlier Lifeboat wrote has words instead of a note.
  if (!stored.note) stored.note = { code: 'as-written', words: stored.message ?? '' };
  delete stored.message;
  const job: JobView = stored;
  return stalled(job) ? { ...job, state: 'failed', error: STALLED } : job;
}

/**
 * Forge ends a delivery at 900 s without a word to it, and a running job writes
 * progress every few seconds: one silent for longer than a delivery may last
 * (and than its lease) was ended that way, on its last delivery.
 */
const STALLED_AFTER_MS = 16 * 60_000;
const STALLED: UserError = { code: 'JOB_STOPPED', message: 'This job stopped without a word: Forge ended it at its time limit. What it stored so far is kept.', hint: 'Start it again; it continues from what is stored.' };

function stalled(job: JobView): boolean {
  return job.state === 'running' && now() - Date.parse(job.updatedAt) > STALLED_AFTER_MS;
}

/** The job's next state. Fields a state does not carry (progress once done, an error once running again) are dropped. */
export async function updateJob(jobId: string, change: JobChange): Promise<JobView> {
  const current = await getJob(jobId);
  const state = change.state ?? current.state;
  // A kind's consumer writes only its own kind's result (sweep's running totals, the outcome of its run).
  const job = { ...current, ...change, state, updatedAt: new Date(now()).toISOString() } as JobView;
  if (state !== 'running') delete job.progress;
  if (state !== 'running') delete job.phase;
  if (state !== 'waiting-to-retry') delete job.nextAttemptAt;
  if (state === 'running' || state === 'done' || state === 'queued') delete job.error;
  await storeJob(job);
  return job;
}

export type JobChange = Partial<Omit<JobView, 'id' | 'kind' | 'createdAt' | 'updatedAt' | 'result'>> & { result?: JobResult };

export async function storeJob<K extends JobKind>(job: JobView<K>): Promise<void> {
  await appState().set(kvsKeys.job(job.id), job, { ttl: { value: JOB_TTL_DAYS, unit: 'DAYS' } });
}
