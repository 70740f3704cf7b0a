// The one contract between the Custom UI pages and the app's resolvers: every
// resolver key with its request and response types, in the shape Forge's own
// typed helpers take (`makeResolver<D>` in @forge/resolver, `makeInvoke<D>` in
// @forge/bridge), so a page and its resolver cannot drift apart. The pages
// import it as types only.
//
// Every resolver answers a Result: failures carry a stable code (see
// src/engine/errors.ts) and a message meant for the person looking at the page.
import type { KeepReason, RetentionPolicy } from './engine/bucket/retention.js';
import type { ErrorCode } from './engine/errors.js';
import type { CommentView, ConversationEntry, PullRequestListItem, PullRequestView } from './engine/pull-requests.js';
import type { SnapshotContents } from './engine/snapshot-contents.js';
import type { WorkspaceSettings, WorkspaceSettingsInput } from './settings.js';
import type { AccessArea, CredentialExpiry, CredentialKind, Identity } from './bitbucket/credentials.js';

/** A failure as a page shows it: what happened, and what the person at the page can do about it. */
export interface UserError {
  code: ErrorCode;
  message: string;
  hint?: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: UserError };

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

/** A backup's progress as the repository status shows it (whether or not anyone follows its job). */
export type BackupProgressView = JobProgress & {
  phase: string;
  updatedAt: string;
};

/**
 * How a repository's snapshots are stored and what the next backup writes. A change
 * of encryption or Object Lock in the settings takes effect from the next backup;
 * snapshots already written stay as they were stored.
 */
export interface StorageStatus {
  /** age recipients the newest snapshot is encrypted to, empty when it is stored in plain; absent before the first backup. */
  lastSnapshotRecipients?: string[];
  /** The age recipients the next backup encrypts to (empty: unencrypted). */
  recipients: string[];
  /** The Object Lock retention the next backup gives every object it writes; null for none. */
  objectLock: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number } | null;
  /**
   * The newest snapshot is encrypted otherwise than the settings now ask: the next
   * backup starts a new full chain encrypted the new way (never an increment on a
   * base encrypted otherwise), even if nothing changed in the repository.
   */
  newChainPending: boolean;
  /** All of the above in words, for the page. */
  message: string;
}

export interface RepoStatus {
  repositoryUuid: string;
  slug?: string;
  name?: string;
  /** workspace/repository, as Bitbucket names it (the command line's --repo). */
  fullName?: string;
  /** The repository's page and https clone URL, as Bitbucket's links give them. */
  links?: { html?: string; clone?: string };
  /** Whether backups run for this repository (workspace selection and per-repository override). */
  included: boolean;
  /** Whether `included` follows the workspace's selection or is this repository's own setting (setRepoEnabled). */
  includedBy: 'workspace' | 'repository';
  state: BackupState;
  progress?: BackupProgressView;
  /** The job of the backup running now, when someone follows one. */
  jobId?: string;
  /** The newest snapshot (from the KVS index). */
  latest?: SnapshotSummary;
  lastError?: UserError & { at: string };
  lastPush?: PushSeen;
  /** Absent while Lifeboat is not set up. */
  storage?: StorageStatus;
  /**
   * When the next scheduled sweep backs the repository up (an included one): the
   * schedule's interval after the last sweep. Absent before the first sweep, which
   * the hourly trigger starts within the hour.
   */
  nextSweepAt?: string;
}

/** Refs of a snapshot against the snapshot before it. */
export interface SnapshotChanges {
  added: number;
  moved: number;
  deleted: number;
}

export interface SnapshotSummary {
  id: string;
  createdAt: string;
  trigger: string;
  refs: number;
  /** What a restore of this snapshot reads: every bundle it names. */
  bytes: number;
  /** What this snapshot added to the bucket. */
  ownBytes: number;
  /** age recipients its bundles are encrypted to; empty when stored in plain. */
  recipients: string[];
  /** Whether this snapshot started a chain (a full bundle) or added to one. */
  chain: 'full' | 'incremental';
  /** Snapshots since the chain's full one. */
  increments: number;
  changes: SnapshotChanges;
  /**
   * Configuration sections its backup could not read (its metadata index's problems:
   * Bitbucket refused the credential or the app), each with what it needs. Absent when
   * all were read, and in entries indexed without their metadata index (reindexing reads
   * only the newest one's).
   */
  unreadableConfiguration?: UnreadableSection[];
}

export interface UnreadableSection {
  /** The configuration section: webhooks, deploy-keys… */
  section: string;
  code: ErrorCode;
  message: string;
}

/** Per repository, kept in KVS by the backups and the index job: what the pages show without reading the bucket. */
export interface RepoSummary {
  repositoryUuid: string;
  /** As the newest snapshot knew them. */
  slug?: string;
  name?: string;
  latest?: SnapshotSummary;
  indexedAt: string;
}

/** A snapshot whose manifest cannot be read (invalid, or written by a newer Lifeboat): listed, not hidden. */
export interface UnreadableSnapshot {
  id: string;
  code: ErrorCode;
  message: string;
}

export interface SnapshotPage extends Paged<SnapshotSummary> {
  /** On the first page: snapshots whose manifests could not be read when last indexed; the others are in `items`. */
  unreadable: UnreadableSnapshot[];
}

export interface SnapshotDetails extends SnapshotSummary {
  refList: Array<{ name: string; target: string }>;
  bundles: number;
  /** What it holds besides git (pull requests, configuration, LFS objects, attachments); null when taken without metadata. */
  contents: SnapshotContents | null;
}

export type { CommentView, ConversationEntry, PullRequestListItem, PullRequestView, SnapshotContents };

/**
 * A snapshot's pull requests, newest first, a page at a time. When the snapshot is
 * encrypted the app (which holds no age identity) cannot read the documents: the
 * items then carry only what the plain index says (id, state, updated), and
 * `encrypted` says so; `lifeboat pr` with the identity reads them.
 */
export interface PullRequestPage extends Paged<PullRequestListItem> {
  total: number;
  encrypted: boolean;
}

export type JobKind = 'backup' | 'restore' | 'sweep' | 'prune' | 'index';
/**
 * queued → running (phase, progress) → done | failed (error with hint) |
 * waiting-to-retry (nextAttemptAt, the reason in error) → running → …
 */
export type JobState = 'queued' | 'running' | 'waiting-to-retry' | 'done' | 'failed';

export interface JobProgress {
  bytes?: number;
  refs?: number;
  /** Steps done of steps in all (bundles, repositories), when the work knows them. */
  done?: number;
  total?: number;
}

export interface JobView {
  id: string;
  kind: JobKind;
  state: JobState;
  /** What the job is doing now, or how it ended, in words. */
  message: string;
  /** While running: the step, e.g. "uploading". */
  phase?: string;
  progress?: JobProgress;
  /** While waiting to retry: when the next attempt starts (the reason is in `error`). */
  nextAttemptAt?: string;
  createdAt: string;
  updatedAt: string;
  requestedBy?: string;
  /** The repository the job works on, when it works on one (the repository page shows only those). */
  repositoryUuid?: string;
  result?: Record<string, unknown>;
  error?: UserError;
}

/** "Back up now": the job to follow; asking again while it waits gives the same job. */
export interface BackupRequested {
  job: JobView;
  /** True when a backup of this repository was already waiting and this request joined it. */
  alreadyQueued: boolean;
}

/** A push that removed or rewrote history: what "undo" puts back. */
export interface DestructiveEvent {
  id: string;
  repositoryUuid: string;
  /** `ref-deleted`: a branch or a tag of that name, which the push event does not say (src/forge/destructive-events.ts). */
  kind: 'force-push' | 'branch-deleted' | 'tag-deleted' | 'ref-deleted';
  /** The full name (refs/heads/…, refs/tags/…), or the short name as the event gave it when the app could not tell which. */
  ref: string;
  /** The tip before the push. */
  previousTip: string;
  /** The tip after the push; absent for a deletion. */
  newTip?: string;
  /** Who pushed, as the push event names them: an Atlassian account id (a name would need the read:user scope). */
  actorAccountId?: string;
  at: string;
  /** The newest snapshot that holds previousTip at that ref, when known. */
  snapshotId?: string;
  undoneBy?: { jobId: string; at: string };
}

export type RestoreDestination = 'beside' | 'new-repository' | 'overwrite';

/** A change a configuration restore makes in its target (docs: README, "Restoring configuration"). */
export interface ConfigurationChangeView {
  /** The configuration section, e.g. branch-restrictions, webhooks, pipeline-variables. */
  section: string;
  action: 'add' | 'replace' | 'remove';
  item: string;
}

export interface ConfigurationNoteView {
  section: string;
  item: string;
  reason: string;
}

/** What restoring a snapshot's configuration will do, before it is done. */
export interface ConfigurationPlanView {
  snapshotId: string;
  target: 'this-repository' | 'new-repository';
  changes: ConfigurationChangeView[];
  /** In the target but not in the snapshot, and left as they are (access, environments, secured variables). */
  kept: ConfigurationNoteView[];
  /** In the snapshot but not writable: secured values, webhook secrets, privacy and project. */
  notWritable: ConfigurationNoteView[];
  /** Items that already match the snapshot. */
  unchanged: number;
}

/** A configuration restore's outcome, in its job's `result.configuration` (the lists cut short past a few hundred; the counts are whole). */
export interface ConfigurationResultView {
  written: ConfigurationChangeView[];
  notWritten: ConfigurationNoteView[];
  writtenCount: number;
  notWrittenCount: number;
}

export interface RestoreRequest {
  snapshotId: string;
  mode: RestoreDestination;
  /**
   * Also write the snapshot's repository configuration into the target ('with-git'),
   * or only that ('only', into this repository or a new one): see planConfigurationRestore.
   */
  configuration?: 'with-git' | 'only';
  /** Full ref names to restore (refs/heads/main, refs/tags/v1); all when absent. */
  refs?: string[];
  /** For new-repository. */
  newRepositorySlug?: string;
  /** Overwrite needs this set to true: the page asks the person first. */
  confirmOverwrite?: boolean;
  /**
   * For an encrypted snapshot: the age identity (AGE-SECRET-KEY-1..., or an identity
   * file's text). Kept as a Forge secret for this job only and deleted when it ends;
   * never returned, logged or recorded.
   */
  identity?: string;
}

export interface SecretsPresence {
  bucketSecretAccessKey: boolean;
  bitbucketToken: boolean;
}

export interface SettingsView {
  settings?: WorkspaceSettings;
  /** Whether each secret is stored; secrets themselves never leave the backend. */
  secrets: SecretsPresence;
  /** When the stored API token expires, as the admin entered it, and whether that is soon (the page warns). */
  bitbucketExpiry?: CredentialExpiry;
}

export interface SaveSettingsRequest {
  settings: WorkspaceSettingsInput;
  /** Omitted: keep the stored one. */
  bucketSecretAccessKey?: string;
  bitbucketToken?: string;
  /**
   * Turning encryption off (removing every recipient) is a downgrade: later
   * snapshots are stored in plain. Refused unless this is true (the page asks first).
   */
  confirmDowngrade?: boolean;
}

export interface ConnectionCheck {
  ok: boolean;
  message: string;
}

export interface BucketCheck extends ConnectionCheck {
  objectLock: boolean;
}

/** Whether the app may reach a storage endpoint: declared in the manifest, or approved by a workspace admin. */
export interface EndpointEgress {
  origin: string;
  allowed: boolean;
  /**
   * One of the storage providers manifest.yml declares (src/storage-providers.ts). Any
   * other endpoint is reached only through customer-managed egress, an early-access API.
   */
  declared: boolean;
}

/**
 * How one requirement of the access table (src/bitbucket/credentials.ts) fared in
 * the connection test: `covered` (a read with that identity succeeded, or one with
 * the same scopes did), `missing-scopes` (Bitbucket refused the credential: it
 * lacks `scopes`), `not-for-this-credential` (Bitbucket lets no credential of this
 * kind do it), `app-refused` (Bitbucket refused the app itself: the installed app
 * lacks `scopes`), `not-tested` (a write no read can prove; it needs `scopes`).
 */
export type AccessStatus = 'covered' | 'missing-scopes' | 'not-for-this-credential' | 'app-refused' | 'not-tested';

export interface AccessCheck {
  area: AccessArea;
  phase: 'backup' | 'restore';
  identity: Identity;
  status: AccessStatus;
  /** What this needs: of the credential (its kind's scopes), or of the app (its manifest's). */
  scopes: string[];
}

export interface BitbucketCheck extends ConnectionCheck {
  credential: CredentialKind;
  /** The git user name that goes with this credential. */
  gitUsername: string;
  /** Scopes Bitbucket showed the credential lacks. */
  missingScopes: string[];
  /** Area by area, what the credential and the app may do; empty when the credential itself was refused. */
  access: AccessCheck[];
  /** The repository the test read, workspace/slug. */
  repository?: string;
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

export type CoverageSort = 'name' | 'lastBackup' | 'size' | 'status';

export interface CoverageQuery {
  /** Part of a repository's name or slug, any case. */
  search?: string;
  sort?: CoverageSort;
  descending?: boolean;
  /** From 1. */
  page?: number;
  /** Before the first sweep: Bitbucket's own paging (search and sort need the catalogue). */
  cursor?: string;
}

export interface CoveragePage extends Paged<CoverageRow> {
  /**
   * Search, sort and pages over the catalogue the last sweep built (sorted by the
   * values then; each row shows its state now). Absent before the first sweep:
   * then the rows come in Bitbucket's order, page by page with nextCursor.
   */
  catalogue?: { builtAt: string; total: number; matching: number; page: number; pages: number };
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

/** Which of a repository's existing snapshots a retention policy keeps (the admin page's preview, before saving). */
export interface RetentionPreview {
  repositoryUuid: string;
  /** Newest first. */
  snapshots: Array<{ id: string; createdAt: string; trigger: string; ownBytes: number; kept: boolean; reasons: KeepReason[] }>;
  /** The repository has older snapshots than these; the decisions shown are exact all the same (the rules walk newest first). */
  more: boolean;
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
  listPullRequests: (request: { snapshotId: string; cursor?: string }) => Result<PullRequestPage>;
  /** One pull request of a snapshot with its conversation; refused (IDENTITY_REQUIRED) for an encrypted snapshot. */
  getPullRequest: (request: { snapshotId: string; pullRequestId: number }) => Result<PullRequestView>;
  backupNow: () => Result<BackupRequested>;
  startRestore: (request: RestoreRequest) => Result<JobView>;
  /** What a restore of the snapshot's configuration would change in this repository, or in a new one. */
  planConfigurationRestore: (request: { snapshotId: string; target: 'this-repository' | 'new-repository' }) => Result<ConfigurationPlanView>;
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
  /** Before saving: whether Forge lets the app reach this endpoint, or a workspace admin must allow it first. */
  checkEndpoint: (request: { endpoint: string }) => Result<EndpointEgress>;
  testBitbucket: () => Result<BitbucketCheck>;
  getCoverage: (request: CoverageQuery) => Result<CoveragePage>;
  /** Includes or excludes many repositories at once: a per-repository override for each (as each row's switch sets). */
  setRepositoriesIncluded: (request: { repositoryUuids: string[]; included: boolean }) => Result<SettingsView>;
  sweepNow: () => Result<JobView>;
  getAuditLog: (request: { cursor?: string }) => Result<Paged<AuditEntry>>;
  listDeletedRepositories: (request: { cursor?: string }) => Result<Paged<DeletedRepository>>;
  /** Rebuilds the KVS index the pages read from the bucket (a job). */
  rebuildIndex: () => Result<JobView>;
  restoreDeletedRepository: (request: { repositoryUuid: string; snapshotId?: string; newRepositorySlug: string }) => Result<JobView>;
  getJob: (request: { jobId: string }) => Result<JobView>;
  /** Which existing snapshots of one repository `retention` keeps: the policy as it would be saved, read over the KVS index. */
  previewRetention: (request: { repositoryUuid: string; retention: RetentionPolicy }) => Result<RetentionPreview>;
};
