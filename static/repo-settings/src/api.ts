// The page's one seam to Bitbucket and to the app's backend. Resolver calls are
// typed by the shared contract, so the page and its resolver cannot drift apart.
import { makeInvoke, view } from '@forge/bridge';
import type { RepoPageResolvers, Result } from '../../../src/contract.js';
import { PageError } from '../../shared/page-error.js';

export type {
  DestructiveEvent,
  JobView,
  Overview,
  RepoStatus,
  RestoreDestination,
  RestoreRequest,
  SnapshotDetails,
  SnapshotPage,
  SnapshotSummary,
} from '../../../src/contract.js';

/** Where the page is shown and to whom, as Bitbucket tells the page. */
export interface PageContext {
  accountId?: string;
  workspaceId?: string;
  repositoryUuid?: string;
  locale?: string;
}

const invokeRaw = makeInvoke<RepoPageResolvers>();

/** The resolvers that answer a Result (all but getOverview, which the page does not need). */
type Key = { [K in keyof RepoPageResolvers]: ReturnType<RepoPageResolvers[K]> extends Result<unknown> ? K : never }[keyof RepoPageResolvers];
type Payload<K extends Key> = Parameters<RepoPageResolvers[K]> extends [infer P] ? [P] : [];
type Value<K extends Key> = ReturnType<RepoPageResolvers[K]> extends Result<infer T> ? T : never;

/** Every resolver call of the page: a failed Result becomes a thrown PageError. */
export async function invoke<K extends Key>(key: K, ...payload: Payload<K>): Promise<Value<K>> {
  const call = invokeRaw as unknown as (key: K, payload?: unknown) => Promise<Result<Value<K>>>;
  const answer = await call(key, payload[0]);
  if (!answer.ok) throw new PageError(answer.error);
  return answer.value;
}

export async function getPageContext(): Promise<PageContext> {
  const context = await view.getContext();
  const repository = context.extension.repository as { uuid?: string } | undefined;
  return { accountId: context.accountId, workspaceId: context.workspaceId, repositoryUuid: repository?.uuid, locale: context.locale };
}
