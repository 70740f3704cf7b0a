// The page's one seam to Bitbucket and to the app's backend. Resolver calls are
// typed by the shared contract, so the page and its resolver cannot drift apart.
import { view } from '@forge/bridge';
import type { RepoPageResolvers } from '../../../src/contract.js';
import { makeResultInvoke } from '../../shared/page-error.js';

export type {
  ConfigurationNoteView,
  ConfigurationPlanView,
  ConfigurationResultView,
  CommentView,
  ConversationEntry,
  DestructiveEvent,
  JobView,
  Overview,
  PullRequestPage,
  PullRequestView,
  RepoStatus,
  RestoreDestination,
  RestorePlanView,
  RestoreRequest,
  SnapshotDetails,
  SnapshotContents,
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

/** Every resolver call of the page that answers a Result. */
export const invoke = makeResultInvoke<RepoPageResolvers>();

/** A job's newest view, for useJob. */
export const getJob = (jobId: string) => invoke('getJob', { jobId });

export async function getPageContext(): Promise<PageContext> {
  const context = await view.getContext();
  const repository = context.extension.repository as { uuid?: string } | undefined;
  return { accountId: context.accountId, workspaceId: context.workspaceId, repositoryUuid: repository?.uuid, locale: context.locale };
}
