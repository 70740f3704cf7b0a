// The waiting-backup mark: set while a backup of the repository waits in the
// queue (backup-queue.ts takes and clears it), shown by the repository status
// as queued (status.ts). A leaf module, so that the status, which the job kernel
// writes, need not import the queue that starts jobs through the kernel.
import { kvsKeys } from '../state/state-keys.js';
import { appState, now } from '../../forge/state/context.js';

/** A waiting-backup mark older than this belongs to a job that was lost: the next request queues anew. */
export const QUEUED_STALE_SECONDS = 20 * 60;

export interface QueuedMark {
  at: string;
  /** The job record of the waiting backup, when someone follows it. */
  jobId?: string;
}

/** The mark, unless it is stale. Expiry is enforced lazily on some stores: the mark's age is judged here too. */
export async function freshMark(repositoryUuid: string): Promise<QueuedMark | undefined> {
  const current = await appState().get<QueuedMark>(kvsKeys.backupQueued(repositoryUuid));
  return current && now() - Date.parse(current.at) < QUEUED_STALE_SECONDS * 1000 ? current : undefined;
}

/** Whether a backup of the repository waits in the queue (the repository status shows it as queued). */
export async function backupWaiting(repositoryUuid: string): Promise<boolean> {
  return (await freshMark(repositoryUuid)) !== undefined;
}
