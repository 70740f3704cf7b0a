// Putting backups in the queue: one waiting backup per repository. Pushes in
// a burst, the created-repository trigger and "Back up now" all coalesce into
// the backup already waiting; the consumer clears the mark once it holds the
// repository, so that pushes landing while it runs queue one more.
import { z } from 'zod';
import { bitbucketUuid, bracedUuid } from '../../bitbucket/uuid.js';
import { triggerSchema } from '../../engine/bucket/format.js';
import type { JobView } from '../../contract.js';
import { recordAudit } from '../jobs/audit.js';
import { getJob } from '../jobs/job-records.js';
import { startJob } from '../../forge/jobs.js';
import { QUEUED_STALE_SECONDS, type QueuedMark, freshMark } from './backup-mark.js';
import { kvsKeys } from '../state/state-keys.js';
import { QUEUES, enqueue } from '../../forge/queues.js';
import { appState, now } from '../../forge/state/context.js';

/** What a backup in the queue carries (backups.ts runs it). */
export const backupBody = z.object({
  workspaceUuid: bitbucketUuid,
  repositoryUuid: bitbucketUuid,
  reason: z.enum(['push', 'schedule', 'manual', 'before-overwrite', 'continue']),
  jobId: z.string().optional(),
  /** A continuation carries the trigger of the backup it continues, for the snapshot it finally writes. */
  trigger: triggerSchema.optional(),
});
export type BackupBody = z.infer<typeof backupBody>;
export type BackupReason = BackupBody['reason'];

/** Pushes within this window after the first one ride along in the same backup. */
export const COALESCE_DELAY_SECONDS = 30;
/**
 * Queues a backup unless one is already waiting: true when this call queued it.
 * The mark is written first with FAIL_IF_EXISTS, so two triggers racing on the
 * same repository cannot both queue.
 */
export async function queueBackup(body: BackupBody, delayInSeconds = COALESCE_DELAY_SECONDS): Promise<boolean> {
  const mark: QueuedMark = { at: new Date(now()).toISOString(), ...(body.jobId ? { jobId: body.jobId } : {}) };
  if (!(await takeMark(body.repositoryUuid, mark))) return false;
  try {
    await enqueue(QUEUES.backup, [body], delayInSeconds);
  } catch (error) {
    await appState().delete(kvsKeys.backupQueued(body.repositoryUuid)); // nothing waits: the next push must queue again
    throw error;
  }
  return true;
}

/**
 * A backup that starts running gives up the mark: a push from now on must queue
 * a new backup, since this one may already have read the refs. The mark of
 * another requested backup, still waiting, stays: that one has yet to run.
 */
export async function clearQueuedMark(repositoryUuid: string, runningJobId?: string): Promise<void> {
  const waiting = await freshMark(repositoryUuid);
  if (waiting?.jobId !== undefined && waiting.jobId !== runningJobId && (await stillWaiting(waiting.jobId))) return;
  await appState().delete(kvsKeys.backupQueued(repositoryUuid));
}

async function stillWaiting(jobId: string): Promise<boolean> {
  const job = await getJob(jobId).catch(() => undefined);
  return job?.state === 'queued' || job?.state === 'waiting-to-retry';
}

/**
 * "Back up now": the job of the backup already waiting when someone follows one
 * (asking twice gives the same job), otherwise a new job queued at once.
 */
export async function requestBackup(input: { workspaceUuid: string; repositoryUuid: string; reason: BackupReason; accountId?: string }): Promise<{ job: JobView; alreadyQueued: boolean }> {
  const repositoryUuid = bracedUuid(input.repositoryUuid);
  const waiting = await freshMark(repositoryUuid);
  if (waiting?.jobId && (await stillWaiting(waiting.jobId))) {
    await recordAudit({ action: 'backup requested', repositoryUuid, ...(input.accountId ? { actorAccountId: input.accountId } : {}), note: { code: 'joined-job', jobId: waiting.jobId } });
    return { job: await getJob(waiting.jobId), alreadyQueued: true };
  }
  let started: string | undefined;
  const job = await startJob<'backup', BackupBody>({
    kind: 'backup', ...(input.accountId ? { requestedBy: input.accountId } : {}), repositoryUuid,
    queue: QUEUES.backup, body: (jobId) => ({ workspaceUuid: input.workspaceUuid, repositoryUuid, reason: input.reason, jobId }),
    audit: { action: 'backup requested' },
    async prepare(mine) {
      started = mine.id;
      const mark: QueuedMark = { at: new Date(now()).toISOString(), jobId: mine.id };
      const ttl = { value: QUEUED_STALE_SECONDS, unit: 'SECONDS' as const };
      if (await appState().setIfAbsent(kvsKeys.backupQueued(repositoryUuid), mark, { ttl })) return undefined;
      // Someone asked at the same moment, or a push's backup waits without a job to follow.
      const raced = await freshMark(repositoryUuid);
      if (raced?.jobId && raced.jobId !== mine.id && (await stillWaiting(raced.jobId))) return getJob(raced.jobId);
      // This one queues beside the push's, at once, and becomes the one to follow.
      await appState().set(kvsKeys.backupQueued(repositoryUuid), mark, { ttl });
      return undefined;
    },
  });
  return { job, alreadyQueued: job.id !== started };
}

async function takeMark(repositoryUuid: string, mark: QueuedMark): Promise<boolean> {
  const ttl = { value: QUEUED_STALE_SECONDS, unit: 'SECONDS' as const };
  if (await appState().setIfAbsent(kvsKeys.backupQueued(repositoryUuid), mark, { ttl })) return true;
  if (await freshMark(repositoryUuid)) return false;
  await appState().set(kvsKeys.backupQueued(repositoryUuid), mark, { ttl });
  return true;
}
