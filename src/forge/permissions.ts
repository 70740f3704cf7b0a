// Who may do what, asked of Bitbucket as the signed-in user (Forge has no
// helper for it). The user and the place come from Forge's context, never
// from a page's payload. And the one permission the app gives: admin of a
// repository it created for a restore, to the person who asked for it.
import type { RequesterAccess } from '../contract.js';
import { bracedUuid } from '../bitbucket/uuid.js';
import { type BitbucketClient, type Page, apiPath } from '../bitbucket/client.js';
import { LifeboatError, toLifeboatError } from '../engine/errors.js';
import { appBitbucket, userBitbucket } from './bitbucket.js';

export async function requireWorkspaceAdmin(workspaceUuid: string): Promise<void> {
  const answer = await userBitbucket().get<{ permission?: string }>(apiPath`/2.0/user/workspaces/${bracedUuid(workspaceUuid)}/permission`);
  if (answer.permission !== 'owner') {
    throw new LifeboatError('PERMISSION_DENIED', 'Only a workspace admin can do this.');
  }
}

/** Repository admins, and workspace admins (who administer every repository). */
export async function requireRepositoryAdmin(workspaceUuid: string, repositoryUuid: string): Promise<void> {
  const query = `repository.uuid="${bracedUuid(repositoryUuid)}"`;
  const page = await userBitbucket().get<{ values?: Array<{ permission?: string }> }>(
    apiPath`/2.0/user/workspaces/${bracedUuid(workspaceUuid)}/permissions/repositories?q=${query}`,
  );
  if (page.values?.some((entry) => entry.permission === 'admin')) return;
  // The listing is documented as "explicit access": a workspace admin may be absent from it.
  const workspace = await userBitbucket().get<{ permission?: string }>(apiPath`/2.0/user/workspaces/${bracedUuid(workspaceUuid)}/permission`).catch(() => undefined);
  if (workspace?.permission === 'owner') return;
  throw new LifeboatError('PERMISSION_DENIED', 'Only an admin of this repository can do this.');
}

export type { RequesterAccess };

/**
 * Makes `accountId` an admin of a repository the app created for them.
 * Workspace admins administer every repository already (and Bitbucket gives
 * them no explicit permission). Anyone else gets one with the stored
 * credential: Bitbucket takes `PUT .../permissions-config/users/{id}` from API
 * tokens, never from a Forge app. A refusal is an answer, not a failure of
 * the restore; a busy Bitbucket (or a bug) is thrown, for a retry.
 */
export async function makeRepositoryAdmin(workspaceUuid: string, repositoryUuid: string, accountId: string, credential: BitbucketClient): Promise<RequesterAccess> {
  try {
    const query = `user.account_id="${accountId}"`;
    const membership = await appBitbucket().get<Page<{ permission?: string }>>(apiPath`/2.0/workspaces/${bracedUuid(workspaceUuid)}/permissions?q=${query}`);
    if (membership.values?.some((entry) => entry.permission === 'owner')) return { admin: true, via: 'workspace-admin' };
    await credential.put(apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}/${bracedUuid(repositoryUuid)}/permissions-config/users/${accountId}`, { permission: 'admin' });
    return { admin: true, via: 'granted' };
  } catch (thrown) {
    const error = toLifeboatError(thrown);
    if (error.kind !== 'user') throw thrown;
    return { admin: false, problem: { code: error.code, message: error.message } };
  }
}
