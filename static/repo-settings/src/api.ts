// The page's one seam to the app's backend. Resolver calls are
// typed by the shared contract, so the page and its resolver cannot drift apart.
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

/** Every resolver call of the page that answers a Result. */
export const invoke = makeResultInvoke<RepoPageResolvers>();

/** A job's newest view, for useJob. */
export const getJob = (jobId: string) => invoke('getJob', { jobId });
