// Each repository's backup status, as the pages show it. Written by the push
// trigger and the backup consumer; read by the resolvers.
import { appState } from './state/context.js';
import { bracedUuid } from '../bitbucket/uuid.js';
import type { RepoStatus } from '../contract.js';
import { kvsKeys } from './keys.js';

export type StoredStatus = Omit<RepoStatus, 'included' | 'includedBy' | 'lastPush' | 'latest' | 'storage'> & {
  /** Set when Bitbucket reported the repository deleted; its snapshots stay in the bucket. */
  deletedAt?: string;
};

export async function readStatus(repositoryUuid: string): Promise<StoredStatus> {
  return (await appState().get<StoredStatus>(kvsKeys.repoStatus(repositoryUuid))) ?? { repositoryUuid: bracedUuid(repositoryUuid), state: 'idle' };
}

/** Last writer wins: only the one backup holding the repository's lease writes progress. */
export async function updateStatus(repositoryUuid: string, change: Partial<StoredStatus>): Promise<StoredStatus> {
  const status = { ...(await readStatus(repositoryUuid)), ...change, repositoryUuid: bracedUuid(repositoryUuid) };
  await appState().set(kvsKeys.repoStatus(repositoryUuid), status);
  return status;
}
