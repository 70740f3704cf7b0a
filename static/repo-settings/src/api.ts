// The page's one seam to Bitbucket and to the app's backend. Resolver calls are
// typed by the shared contract, so the page and its resolver cannot drift apart.
import { makeInvoke, view } from '@forge/bridge';
import type { Overview, RepoPageResolvers, RepoStatus } from '../../../src/contract.js';

export type { Overview, RepoStatus };

/** Where the page is shown and to whom, as Bitbucket tells the page. */
export interface PageContext {
  accountId?: string;
  workspaceId?: string;
  repositoryUuid?: string;
}

const invoke = makeInvoke<RepoPageResolvers>();

export async function getPageContext(): Promise<PageContext> {
  const context = await view.getContext();
  const repository = context.extension.repository as { uuid?: string } | undefined;
  return { accountId: context.accountId, workspaceId: context.workspaceId, repositoryUuid: repository?.uuid };
}

export function getOverview(): Promise<Overview> {
  return invoke('getOverview');
}

/** The repository's backup status; a refused or failed answer becomes an error with its message. */
export async function getRepoStatus(): Promise<RepoStatus> {
  const result = await invoke('getRepoStatus');
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}
