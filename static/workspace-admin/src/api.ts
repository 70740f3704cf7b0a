// The page's one seam to Bitbucket and to the app's backend. Resolver calls are
// typed by the shared contract, so the page and its resolver cannot drift apart;
// a failed Result becomes a thrown PageError, shown at the edge of each view.
import { makeInvoke, view } from '@forge/bridge';
import type { AdminPageResolvers, Result } from '../../../src/contract.js';
import { PageError } from '../../shared/page-error.js';

export type * from '../../../src/contract.js';

/** Where the page is shown and to whom, as Bitbucket tells the page. */
export interface PageContext {
  accountId?: string;
  workspaceId?: string;
}

const bridge = makeInvoke<AdminPageResolvers>();

/** The resolvers that answer a Result (all but getOverview, which this page does not need). */
type Key = Exclude<keyof AdminPageResolvers, 'getOverview'>;
type Payload<K extends Key> = Parameters<AdminPageResolvers[K]>;
type Value<K extends Key> = ReturnType<AdminPageResolvers[K]> extends Result<infer T> ? T : never;

/** Calls a resolver; an error Result is thrown as a PageError. */
export async function invoke<K extends Key>(key: K, ...payload: Payload<K>): Promise<Value<K>> {
  const call = bridge as unknown as (key: K, payload?: unknown) => Promise<Result<Value<K>>>;
  const result = await call(key, payload[0]);
  if (!result.ok) throw new PageError(result.error);
  return result.value;
}

export async function getPageContext(): Promise<PageContext> {
  const context = await view.getContext();
  return { accountId: context.accountId, workspaceId: context.workspaceId };
}
export type { WorkspaceSettings } from '../../../src/settings.js';
