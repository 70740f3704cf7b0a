// The app's queues and the jobs they carry. One queue per kind of work, each
// with its own consumer in manifest.yml; bodies are small JSON (Forge: ≤100 KB
// per event for long-running consumers).
import { Queue } from '@forge/events';
import { z } from 'zod';

export const QUEUES = {
  backup: 'lifeboat-backup',
  restore: 'lifeboat-restore',
  sweep: 'lifeboat-sweep',
  prune: 'lifeboat-prune',
} as const;

export type BackupReason = 'push' | 'schedule' | 'manual' | 'before-overwrite' | 'continue';

export interface BackupJob {
  workspaceUuid: string;
  repositoryUuid: string;
  reason: BackupReason;
  /** The job record the pages follow, when someone asked for this backup. */
  jobId?: string;
}

export interface RestoreJob {
  workspaceUuid: string;
  /** The repository whose snapshot is restored (it may no longer exist in Bitbucket). */
  repositoryUuid: string;
  jobId: string;
}

export interface SweepJob {
  workspaceUuid: string;
  jobId?: string;
  /** Bitbucket's `next` link of the repository listing, when a sweep continues. */
  next?: string;
}

export interface PruneJob {
  workspaceUuid: string;
  repositoryUuid: string;
}

/** Forge accepts at most 50 events per push. */
const PUSH_LIMIT = 50;

export async function enqueue<T extends object>(queue: (typeof QUEUES)[keyof typeof QUEUES], bodies: T[], delayInSeconds = 0): Promise<void> {
  const target = new Queue({ key: queue });
  for (let start = 0; start < bodies.length; start += PUSH_LIMIT) {
    await target.push(bodies.slice(start, start + PUSH_LIMIT).map((body) => ({ body: body as Record<string, unknown> & T, delayInSeconds })));
  }
}

/** What the platform hands a queue consumer (@forge/events AsyncEvent), with the job body checked by `body`. */
export const consumerEvent = <T extends z.ZodType>(body: T) => z.object({
  body,
  jobId: z.string().optional(),
  eventId: z.string().optional(),
  retryContext: z.object({ retryCount: z.number() }).partial().optional(),
});
