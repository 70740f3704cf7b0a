// Each repository's backup status, as the pages show it. Written by the backup
// consumer; "queued" is derived from the backup waiting in the queue. Read by
// the resolvers and the coverage list.
import { bracedUuid } from '../bitbucket/uuid.js';
import type { RepoStatus } from '../contract.js';
import { backupWaiting } from './backup-queue.js';
import { kvsKeys } from './state-keys.js';
import { appState } from './state/context.js';

export type StoredStatus = Omit<RepoStatus, 'included' | 'includedBy' | 'lastPush' | 'latest' | 'storage'> & {
  /** Set when Bitbucket reported the repository deleted; its snapshots stay in the bucket. */
  deletedAt?: string;
};

/** As the pages show it: a backup waiting in the queue (backup-queue.ts) shows as queued, unless one is running. */
export async function readStatus(repositoryUuid: string): Promise<StoredStatus> {
  const [status, waiting] = await Promise.all([storedStatus(repositoryUuid), backupWaiting(repositoryUuid)]);
  return waiting && status.state !== 'running' ? { ...status, state: 'queued' } : status;
}

async function storedStatus(repositoryUuid: string): Promise<StoredStatus> {
  return (await appState().get<StoredStatus>(kvsKeys.repoStatus(repositoryUuid))) ?? { repositoryUuid: bracedUuid(repositoryUuid), state: 'idle' };
}

/**
 * Last writer wins: only the one backup holding the repository's lease writes
 * it (and a repository deleted in Bitbucket); the triggers that queue a backup
 * write nothing here, so they never race it.
 */
export async function updateStatus(repositoryUuid: string, change: Partial<StoredStatus>): Promise<StoredStatus> {
  const status = { ...(await storedStatus(repositoryUuid)), ...change, repositoryUuid: bracedUuid(repositoryUuid) };
  await appState().set(kvsKeys.repoStatus(repositoryUuid), status);
  return status;
}
