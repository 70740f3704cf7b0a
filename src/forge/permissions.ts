// Who may do what, asked of Bitbucket as the signed-in user (Forge has no
// helper for it). The user and the place come from Forge's context, never
// from a page's payload.
import { apiPath } from '../bitbucket/client.js';
import { LifeboatError } from '../engine/errors.js';
import { userBitbucket } from './bitbucket.js';
import { bracedUuid } from './keys.js';

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
