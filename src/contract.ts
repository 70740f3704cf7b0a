// The one contract between the Custom UI pages and the app's resolvers: every
// resolver key with its request and response types, in the shape Forge's own
// typed helpers take (`makeResolver<D>` in @forge/resolver, `makeInvoke<D>` in
// @forge/bridge), so a page and its resolver cannot drift apart. The pages
// import it as types only.
//
// Every resolver answers a Result: failures carry a stable code (see
// src/engine/errors.ts) and a message meant for the person looking at the page.
import type { ErrorCode } from './engine/errors.js';
import type { WorkspaceSettings, WorkspaceSettingsInput } from './settings.js';

export type Result<T> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string } };

export interface PushSeen {
  /** Branch or tag name as Bitbucket reports it. */
  ref: string;
  /** New tip; absent when the push deleted the ref. */
  after?: string;
  /** When the app received the event (ISO 8601). */
  at: string;
}

export interface Overview {
  workspaceId: string;
  /** Set on the repository settings page. */
  repositoryUuid?: string;
  accountId: string;
  /** The newest push the app has been told about, on the repository page. */
  lastPush?: PushSeen;
}

export type BackupState = 'idle' | 'queued' | 'running' | 'failed';

export interface BackupProgressView {
  phase: string;
  refs?: number;
  bytesUploaded?: number;
  bundlesWritten?: number;
  updatedAt: string;
}

export interface RepoStatus {
  repositoryUuid: string;
  slug?: string;
  name?: string;
  /** Whether backups run for this repository (workspace selection and per-repository override). */
  included: boolean;
  state: BackupState;
  progress?: BackupProgressView;
  lastBackup?: { snapshotId: string; at: string; refs: number; bytesUploaded: number };
  lastError?: { code: ErrorCode; message: string; at: string };
  lastPush?: PushSeen;
}

export interface SnapshotSummary {
  id: string;
  createdAt: string;
  trigger: string;
  refs: number;
  bytes: number;
}

/** A snapshot whose manifest cannot be read (invalid, or written by a newer Lifeboat): listed, not hidden. */
export interface UnreadableSnapshot {
  id: string;
  code: ErrorCode;
  message: string;
}

export interface SnapshotPage extends Paged<SnapshotSummary> {
  /** Snapshots of this page that could not be read; the others are in `items`. */
  unreadable: UnreadableSnapshot[];
}

export interface SnapshotDetails extends SnapshotSummary {
  refList: Array<{ name: string; target: string }>;
  bundles: number;
  encrypted: boolean;
}

export type JobKind = 'backup' | 'restore' | 'sweep' | 'prune';
export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobView {
  id: string;
  kind: JobKind;
  state: JobState;
  /** What the job is doing now, in words. */
  message: string;
  createdAt: string;
  updatedAt: string;
  requestedBy?: string;
  /** The repository the job works on, when it works on one (the repository page shows only those). */
  repositoryUuid?: string;
  result?: Record<string, unknown>;
  error?: { code: ErrorCode; message: string };
}

/** A push that removed or rewrote history: what "undo" puts back. */
export interface DestructiveEvent {
  id: string;
  repositoryUuid: string;
  kind: 'force-push' | 'branch-deleted' | 'tag-deleted';
  ref: string;
  /** The tip before the push. */
  previousTip: string;
  /** The tip after the push; absent for a deletion. */
  newTip?: string;
  actorAccountId?: string;
  at: string;
  /** The newest snapshot that holds previousTip at that ref, when known. */
  snapshotId?: string;
  undoneBy?: { jobId: string; at: string };
}

export type RestoreMode = 'beside' | 'new-repository' | 'overwrite';

export interface RestoreRequest {
  snapshotId: string;
  mode: RestoreMode;
  /** Full ref names to restore (refs/heads/main, refs/tags/v1); all when absent. */
  refs?: string[];
  /** For new-repository. */
  newRepositorySlug?: string;
  /** Overwrite needs this set to true: the page asks the person first. */
  confirmOverwrite?: boolean;
}

export interface SecretsPresence {
  bucketSecretAccessKey: boolean;
  bitbucketToken: boolean;
}

export interface SettingsView {
  settings?: WorkspaceSettings;
  /** Whether each secret is stored; secrets themselves never leave the backend. */
  secrets: SecretsPresence;
}

export interface SaveSettingsRequest {
  settings: WorkspaceSettingsInput;
  /** Omitted: keep the stored one. */
  bucketSecretAccessKey?: string;
  bitbucketToken?: string;
}

export interface ConnectionCheck {
  ok: boolean;
  message: string;
}

export interface BucketCheck extends ConnectionCheck {
  objectLock: boolean;
}

export interface BitbucketCheck extends ConnectionCheck {
  credential: 'access-token' | 'api-token';
  /** The git user name that goes with this credential. */
  gitUsername: string;
  missingScopes: string[];
}

export interface CoverageRow {
  repositoryUuid: string;
  slug: string;
  name: string;
  included: boolean;
  state: BackupState | 'never';
  lastBackupAt?: string;
  lastSnapshotId?: string;
  bytes?: number;
  lastError?: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actorAccountId?: string;
  action: string;
  repositoryUuid?: string;
  outcome?: 'ok' | 'failed';
  detail?: string;
}

export interface DeletedRepository {
  repositoryUuid: string;
  slug: string;
  name: string;
  lastSnapshotId: string;
  lastSnapshotAt: string;
}

export interface Paged<T> {
  items: T[];
  nextCursor?: string;
}

/** Resolvers behind the repository settings page. */
export type RepoPageResolvers = {
  getOverview: () => Overview;
  getRepoStatus: () => Result<RepoStatus>;
  setRepoEnabled: (request: { enabled: boolean }) => Result<RepoStatus>;
  listSnapshots: (request: { cursor?: string }) => Result<SnapshotPage>;
  getSnapshot: (request: { snapshotId: string }) => Result<SnapshotDetails>;
  backupNow: () => Result<JobView>;
  startRestore: (request: RestoreRequest) => Result<JobView>;
  getJob: (request: { jobId: string }) => Result<JobView>;
  listDestructiveEvents: (request: { cursor?: string }) => Result<Paged<DestructiveEvent>>;
  undoDestructiveEvent: (request: { eventId: string; inPlace?: boolean; confirmOverwrite?: boolean }) => Result<JobView>;
};

/** Resolvers behind the workspace admin page. */
export type AdminPageResolvers = {
  getOverview: () => Overview;
  getSettings: () => Result<SettingsView>;
  saveSettings: (request: SaveSettingsRequest) => Result<SettingsView>;
  testBucket: () => Result<BucketCheck>;
  testBitbucket: () => Result<BitbucketCheck>;
  getCoverage: (request: { cursor?: string }) => Result<Paged<CoverageRow>>;
  sweepNow: () => Result<JobView>;
  getAuditLog: (request: { cursor?: string }) => Result<Paged<AuditEntry>>;
  listDeletedRepositories: () => Result<DeletedRepository[]>;
  restoreDeletedRepository: (request: { repositoryUuid: string; snapshotId?: string; newRepositorySlug: string }) => Result<JobView>;
  getJob: (request: { jobId: string }) => Result<JobView>;
};
