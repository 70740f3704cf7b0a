// The issue tracker's stored state, shared by the API (issues.ts) and the
// export/import archive (issue-archive.ts).
import type { Repository } from '../model.js';
import type { RouteKit } from '../routes.js';
import type { Json } from './common.js';

export const ISSUE_STATES = ['submitted', 'new', 'open', 'resolved', 'on hold', 'invalid', 'duplicate', 'wontfix', 'closed'] as const;
export const ISSUE_KINDS = ['bug', 'enhancement', 'proposal', 'task'] as const;
export const ISSUE_PRIORITIES = ['trivial', 'minor', 'major', 'critical', 'blocker'] as const;
export type IssueState = (typeof ISSUE_STATES)[number];
export type IssueKind = (typeof ISSUE_KINDS)[number];
export type IssuePriority = (typeof ISSUE_PRIORITIES)[number];

/** Milestones, versions and components are referenced by name, as in the export format. */
export type CatalogField = 'milestone' | 'version' | 'component';
export const CATALOG_FIELDS: CatalogField[] = ['milestone', 'version', 'component'];

export interface StoredIssue {
  id: number;
  title: string;
  content: string;
  state: IssueState;
  kind: IssueKind;
  priority: IssuePriority;
  reporterUuid: string | null;
  assigneeUuid: string | null;
  milestone: string | null;
  version: string | null;
  component: string | null;
  createdOn: string;
  updatedOn: string;
  editedOn: string | null;
  voterUuids: string[];
  watcherUuids: string[];
}

export interface StoredIssueComment {
  id: number;
  issueId: number;
  userUuid: string | null;
  raw: string;
  createdOn: string;
  updatedOn: string | null;
}

export interface StoredAttachment {
  issueId: number;
  name: string;
  userUuid: string | null;
  createdOn: string;
  /** The file, base64: the emulator's state is one JSON document. */
  data: string;
}

/** Fields an issue change records, as the API names them (the export format says `status` for `state`). */
export const CHANGE_FIELDS = ['assignee', 'state', 'title', 'kind', 'milestone', 'component', 'priority', 'version', 'content'] as const;
export type ChangeField = (typeof CHANGE_FIELDS)[number];

export interface StoredChange {
  id: number;
  issueId: number;
  userUuid: string | null;
  createdOn: string;
  changes: Partial<Record<ChangeField, { old: string; new: string }>>;
  /** Every change comes with a comment (empty unless a message was given), as in Bitbucket. */
  commentId: number | null;
}

export interface CatalogItem {
  id: number;
  name: string;
}

export interface JobStatus {
  status: 'ACCEPTED' | 'STARTED' | 'RUNNING' | 'SUCCESS' | 'FAILURE';
  phase: string;
  total: number;
  count: number;
  pct: number;
}

export interface IssueTracker {
  nextIssueId: number;
  nextCatalogId: number;
  issues: StoredIssue[];
  comments: StoredIssueComment[];
  attachments: StoredAttachment[];
  changes: StoredChange[];
  milestones: CatalogItem[];
  versions: CatalogItem[];
  components: CatalogItem[];
  /** The tracker's defaults as the export format's `meta` carries them. */
  meta: Json;
  exports: Array<{ taskId: string; includeAttachments: boolean; polls: number }>;
  /** The last import; `polls` counts the status requests it has answered. */
  lastImport: { result: JobStatus; polls: number } | null;
}

function emptyTracker(): IssueTracker {
  return {
    nextIssueId: 1,
    nextCatalogId: 1,
    issues: [],
    comments: [],
    attachments: [],
    changes: [],
    milestones: [],
    versions: [],
    components: [],
    meta: { default_assignee: null, default_component: null, default_kind: 'bug', default_milestone: null, default_version: null },
    exports: [],
    lastImport: null,
  };
}

export function trackerData(kit: RouteKit, repository: Repository): IssueTracker {
  return kit.repositoryData(repository, 'issues', emptyTracker);
}

export function catalogOf(tracker: IssueTracker, field: CatalogField): CatalogItem[] {
  return field === 'milestone' ? tracker.milestones : field === 'version' ? tracker.versions : tracker.components;
}

/** Comment ids are global in Bitbucket (which is why an import renumbers them): one sequence for all repositories. */
export function nextCommentId(kit: RouteKit): number {
  return kit.nextId('issue-comment');
}
