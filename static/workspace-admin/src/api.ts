// The page's one seam to Bitbucket and to the app's backend. Resolver calls are
// typed by the shared contract, so the page and its resolver cannot drift apart.
import { makeInvoke, view } from '@forge/bridge';
import type { AdminPageResolvers, Overview } from '../../../src/contract.js';

export type { Overview };

/** Where the page is shown and to whom, as Bitbucket tells the page. */
export interface PageContext {
  accountId?: string;
  workspaceId?: string;
}

const invoke = makeInvoke<AdminPageResolvers>();

export async function getPageContext(): Promise<PageContext> {
  const context = await view.getContext();
  return { accountId: context.accountId, workspaceId: context.workspaceId };
}

export function getOverview(): Promise<Overview> {
  return invoke('getOverview');
}
