// Each repository's backup status, as the pages show it. One writer: the job
// kernel (jobs.ts), for the delivery that holds the repository's lease, its
// writes in the order it makes them; so no two writers race a read-modify-write
// (KVS compares a key's absence only, never a value). What no lease holder
// knows is derived when read: a backup waiting in the queue (backup-mark.ts)
// shows as queued. Read by the resolvers and the coverage list.
import { bracedUuid } from '../../bitbucket/uuid.js';
import type { RepoStatus } from '../../contract.js';
import { backupWaiting } from '../backup/backup-mark.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState } from '../../forge/state/context.js';

export type StoredStatus = Omit<RepoStatus, 'included' | 'includedBy' | 'lastPush' | 'latest' | 'storage'>;

/** What a write changes; a field given as undefined is dropped. */
export type StatusChange = Partial<Omit<StoredStatus, 'repositoryUuid'>>;

/** As the pages show it: a backup waiting in the queue shows as queued, unless one is running. */
export async function readStatus(repositoryUuid: string): Promise<StoredStatus> {
  const [status, waiting] = await Promise.all([storedStatus(repositoryUuid), backupWaiting(repositoryUuid)]);
  return waiting && status.state !== 'running' ? { ...status, state: 'queued' } : status;
}

async function storedStatus(repositoryUuid: string): Promise<StoredStatus> {
  return (await appState().get<StoredStatus>(kvsKeys.repoStatus(repositoryUuid))) ?? { repositoryUuid: bracedUuid(repositoryUuid), state: 'idle' };
}

/**
 * The one write, for the kernel alone (jobs.ts `statusWriter`): its caller holds
 * the repository's lease and makes one write at a time.
 */
export async function writeStatus(repositoryUuid: string, change: StatusChange): Promise<void> {
  await appState().set(kvsKeys.repoStatus(repositoryUuid), { ...(await storedStatus(repositoryUuid)), ...change, repositoryUuid: bracedUuid(repositoryUuid) });
}
