// The one contract between the Custom UI pages and the app's resolvers: every
// resolver key with its request schema (zod, checked by the resolver; the page's
// request type is inferred from it) and its response type, in the shape Forge's
// own typed helpers take (`makeResolver<D>` in @forge/resolver, `makeInvoke<D>` in
// @forge/bridge), so a page and its resolver cannot drift apart. The pages import
// it as types only.
//
// Every resolver answers a Result: failures carry a stable code (see
// src/engine/errors.ts), a message for the log and the command line, and, for a
// refused request, each field's problem (FieldProblem) for the page to word.
import { z } from 'zod';
import { REPOSITORY_SLUG_RULE, isRepositorySlug } from './bitbucket/slug.js';
import { bitbucketUuid } from './bitbucket/uuid.js';
import type { KeepReason, RetentionPolicy } from './engine/bucket/retention.js';
import type { SnapshotTrigger } from './engine/bucket/format.js';
import { isSnapshotId } from './engine/bucket/bucket-keys.js';
import type { ErrorCode, FieldProblem, FieldProblemKind } from './engine/errors.js';
import { isBranchRef, isTagRef, isValidRefName } from './engine/git/ref-name.js';
import type { CommentView, ConversationEntry, PullRequestListItem, PullRequestView } from './engine/pull-request-views.js';
import type { SnapshotContents } from './engine/snapshot-contents.js';
import { bucketEndpoint, type WorkspaceSettings, type WorkspaceSettingsInput } from './settings.js';
import type { AccessArea, CredentialExpiry, CredentialKind, Identity } from './bitbucket/credentials.js';

export type { FieldProblem, FieldProblemKind, SnapshotTrigger };

/** A failure as a page shows it: what happened, and what the person at the page can do about it. */
export interface UserError {
  code: ErrorCode;
  message: string;
  hint?: string;
  /** INVALID_ARGUMENT: each field the request got wrong, for the page to mark beside the field. */
  problems?: FieldProblem[];
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
 * How a repository's snapshots are stored and what the next backup writes (the page
 * words it: static/shared/storage-words.ts). A change
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
  trigger: SnapshotTrigger;
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
  /**
   * The fingerprint (SHA256:…) of the app's key whose signature of the manifest held when it was
   * indexed. Absent: not signed by a key the app trusts (taken before the app signed, or written
   * by someone else); a manifest whose signature does not hold is never indexed (it is unreadable).
   */
  signedBy?: string;
  /**
   * SHA-256 of the manifest's bytes as the app's backup committed them (recorded since snapshots
   * are signed; absent in entries of other origins). The app signs an unsigned snapshot only
   * when the bucket's manifest still matches what its own index recorded.
   */
  manifestSha256?: string;
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
  /**
   * What `done` and `total` count in a long transfer: segments of history (a first
   * backup cut along its history), bundles, or a restore's pushes.
   */
  steps?: 'segments' | 'bundles' | 'pushes';
  /** Bytes a second this invocation has moved so far, once it has moved some for a while. */
  bytesPerSecond?: number;
  /** An estimate of the seconds left, where one exists (the page says "about"). */
  secondsLeft?: number;
}

interface JobRecord {
  id: string;
  state: JobState;
  /** What the job is doing now, or how it ended (its audit entry keeps it too); while it fails or waits to retry, `error` says why. */
  note: JobNote;
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
  error?: UserError;
}

/**
 * What a job says beside its state, as data: the pages word it
 * (static/shared/job-words.ts), and the audit log keeps the note of how it ended.
 */
export type JobNote =
  /** Waiting in the queue. */
  | { code: 'queued' }
  /** Waiting for the next scheduled run: its chain of deliveries reached Forge's cyclic invocation limit (src/forge/queues.ts). */
  | { code: 'parked' }
  | { code: 'restore-queued'; restore: RestoreAsked }
  | { code: 'starting' }
  /** A first backup too large for one delivery: `bundles` more stored, the rest in the next delivery. */
  | { code: 'backup-continuing'; bundles: number; refsRemaining: number }
  /** A sweep or an index rebuild continues in the next delivery, `repositories` done so far. */
  | { code: 'sweep-continuing' | 'index-continuing'; repositories: number }
  /** An automatic backup of a repository no longer included. */
  | { code: 'backups-off' }
  /** `recipients`: age recipients it is encrypted to (0: unencrypted); `newChain`: it started a new full chain. */
  | { code: 'snapshot-stored'; snapshotId: string; trigger: SnapshotTrigger; recipients: number; newChain: boolean }
  | { code: 'snapshot-unchanged'; snapshotId: string; trigger: SnapshotTrigger }
  /** The retention policy keeps every snapshot: nothing to prune. */
  | { code: 'everything-kept' }
  | { code: 'pruned'; snapshots: number; objects: number; bytes: number; uploads: number }
  /** `signed`: snapshots from before signing that the app signed, because its own index recorded the same content. */
  | { code: 'indexed'; repositories: number; signed?: number }
  | { code: 'swept'; sweep: SweepResult }
  | { code: 'restored'; restore: RestoreSummary }
  /** A record written before jobs had notes (records are kept two weeks): its words as written then. */
  | { code: 'as-written'; words: string };

/** What a restore was asked to do, as its queued job and the audit log name it. */
export type RestoreAsked =
  | { kind: 'restore'; snapshotId: string; mode: RestoreDestination; configuration?: 'with-git' | 'only'; refs?: number; newRepositorySlug?: string }
  | { kind: 'undo'; event: DestructiveEvent['kind']; ref: string; previousTip: string; inPlace: boolean }
  | { kind: 'deleted-repository'; snapshotId: string; repository: string; newRepositorySlug: string };

/** A restore's outcome as its note keeps it: the result without its lists (the audit log keeps it for good). */
export type RestoreSummary = Omit<RestoreResult, 'refs' | 'configuration'> & { configuration?: Pick<ConfigurationResultView, 'writtenCount' | 'notWrittenCount'> };

/** A backup's outcome: the snapshot it stored, or the newest one when nothing changed. */
export interface BackupResult {
  snapshotId: string;
  status: 'created' | 'unchanged';
  bytesUploaded: number;
}

/** Whether the person who asked for a repository administers it, and how (or why not). */
export type RequesterAccess =
  | { admin: true; via: 'workspace-admin' | 'granted' }
  | { admin: false; problem: { code: string; message: string } };

/** A ref a restore wrote: from the snapshot's name to the target's, at a commit. */
export interface RestoredRef {
  from: string;
  to: string;
  oid: string;
}

/** What a restore's plan found, read from the snapshot before anything was written (src/engine/restore-plan.ts). */
export interface RestorePlanView {
  /** Pack bytes of all bundles: about what the target will hold. */
  bytes: number;
  /** At most this many pushes: one per bundle, then the real refs. */
  pushes: number;
  fileMaxBytes: number;
  pushMaxBytes: number;
  repositoryMaxBytes: number;
  /** Files over fileMaxBytes: the bundle carrying each, its size, its blob id when the pack stores it whole and then its path when the trees tell (the first of them: `largeFileCount` counts all). */
  largeFiles: Array<{ bundle: number; size: number; blob?: string; path?: string }>;
  largeFileCount: number;
  /** Bundles whose pack alone is over pushMaxBytes. */
  oversizedBundles: number[];
  /** The snapshot alone is over the repository size limit, where Bitbucket locks a repository. */
  overRepositoryLimit: boolean;
}

export interface RestoreResult {
  snapshotId: string;
  mode: RestoreDestination;
  /** The target repository's slug. */
  repository: string;
  repositoryUrl?: string;
  /** Refs written in all, and the first of them (the list is cut short past a few hundred). */
  refCount?: number;
  refs?: RestoredRef[];
  /** Overwrite: the snapshot of the state it replaced. */
  snapshotBeforeOverwrite?: string;
  /** A new repository's uuid. */
  repositoryUuid?: string;
  /** New repository: whether the person who asked administers it. */
  requesterAccess?: RequesterAccess;
  /** An undo: the destructive event it undid. */
  eventId?: string;
  /** Refs of earlier restores (restored/…) left out of a whole-snapshot restore. */
  leftOutRefCount?: number;
  bundlesResumed?: number;
  lfsObjects?: number;
  /** LFS objects the snapshot names but never stored (Bitbucket did not have them). */
  lfsMissing?: number;
  configuration?: ConfigurationResultView;
  /** The plan the push followed; absent when nothing was pushed (configuration only). */
  plan?: RestorePlanView;
}

export interface SweepResult {
  repositories: number;
  backupsQueued: number;
  prunesQueued: number;
  includedAutomatically: number;
}

export interface IndexResult {
  /** Repositories whose index was rebuilt. */
  repositories: number;
  /** Snapshots taken before signing that the app signed (once): its own index recorded the same content. */
  signed?: number;
}

/** What each kind of job leaves in `result` once done (a prune leaves none; a sweep's totals grow while it runs). */
export interface JobResults {
  backup: BackupResult;
  restore: RestoreResult;
  sweep: SweepResult;
  prune: never;
  index: IndexResult;
}

export type JobResult = JobResults[JobKind];

/** A job as the pages follow it; `kind` tells which result it carries. */
export type JobView<K extends JobKind = JobKind> = { [Kind in K]: JobRecord & { kind: Kind; result?: JobResults[Kind] } }[K];

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
  /** `ref-deleted`: a branch or a tag of that name, which the push event does not say (src/app/restore/destructive-events.ts). */
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
  /** In a listing: snapshotId is no longer in the index (removed behind the app's back), so there is nothing to put back. */
  snapshotGone?: boolean;
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
  /**
   * Changes that lower access or protection (a permission lowered; a default reviewer,
   * webhook or deploy key removed): not in `changes`, never part of a default
   * restore; each is written only when the restore request names it in `lowering`.
   */
  lowering: ConfigurationChangeView[];
}

/** A configuration restore's outcome, in its job's `result.configuration` (the lists cut short past a few hundred; the counts are whole). */
export interface ConfigurationResultView {
  written: ConfigurationChangeView[];
  notWritten: ConfigurationNoteView[];
  writtenCount: number;
  notWrittenCount: number;
}

export interface SecretsPresence {
  bucketSecretAccessKey: boolean;
  bitbucketToken: boolean;
}

/** The key the app signs snapshots with: its public half only (the private key never leaves the app's secrets). */
export interface SigningKeyView {
  /** SHA256:<64 hex>: what `lifeboat … --trust <fingerprint>` pins. */
  fingerprint: string;
  validFrom: string;
}

export interface SettingsView {
  settings?: WorkspaceSettings;
  /** Absent until the app first needs one (the first backup, or saving the settings). */
  signingKey?: SigningKeyView;
  /** Whether each secret is stored; secrets themselves never leave the backend. */
  secrets: SecretsPresence;
  /** When the stored API token expires, as the admin entered it, and whether that is soon (the page warns). */
  bitbucketExpiry?: CredentialExpiry;
}

/** A connection test's answer: passed or not, and what it found, for the page to word. */
export interface ConnectionCheck<F> {
  ok: boolean;
  found: F;
}

/** What the bucket test found: each way it can fail, or the test object written, read and deleted in `location`. */
export type BucketFinding =
  | { code: 'not-reachable'; origin: string }
  | { code: 'different-bytes'; location: string }
  | { code: 'not-deleted'; location: string; key: string }
  | { code: 'failed'; reason: string }
  /** `lock`: whether the bucket says it has Object Lock (unknown: it did not say); `lockWanted`: the settings turn it on. */
  | { code: 'written'; location: string; lock: 'enabled' | 'disabled' | 'unknown'; lockWanted: boolean };

export interface BucketCheck extends ConnectionCheck<BucketFinding> {
  objectLock: boolean;
}

/**
 * What the Bitbucket test found: the credential refused (401) on git while backing
 * up or restoring, or on the REST API; no repository to test on; or each area's access
 * (the check's `access`, `missingScopes` and `repository` say what).
 */
export type BitbucketFinding =
  | { code: 'credential-refused'; on: 'backup' | 'restore' | 'rest'; repository: string; email?: string }
  | { code: 'no-repository' }
  | { code: 'tested' };

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

export interface BitbucketCheck extends ConnectionCheck<BitbucketFinding> {
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
  /** The job a request started. */
  jobId?: string;
  /** What it did, for the page to word. */
  note?: AuditNote;
  /** Why it failed (outcome failed). */
  error?: { code: ErrorCode; message: string };
  /** Entries written before notes said it in words; kept as written. */
  detail?: string;
}

export type SecretName = keyof SecretsPresence;

export type AuditNote =
  | JobNote
  /** Settings saved for the first time, with the secrets given. */
  | { code: 'settings-created'; secrets: SecretName[] }
  /** `fields`: the settings' paths that changed (bucket.name, repositories.chosen); secrets are named, never shown. */
  | { code: 'settings-changed'; fields: string[]; secrets: SecretName[] }
  /** From the next backup on, each repository starts a new full chain encrypted to `to` (none: stored unencrypted). */
  | { code: 'encryption-changed'; from: string[]; to: string[] }
  /** Object Lock on every object written from the next backup on; objects already written keep theirs. */
  | { code: 'object-lock-changed'; from: StorageStatus['objectLock']; to: StorageStatus['objectLock'] }
  /** A new repository joined the backups by the workspace setting (`slug` when the sweep found it). */
  | { code: 'included-automatically'; slug?: string }
  /** Deleted in Bitbucket: its snapshots stay in the bucket. */
  | { code: 'repository-deleted' }
  | { code: 'repository-created'; slug: string; snapshotId: string }
  /** A request for a backup joined the one already waiting. */
  | { code: 'joined-job'; jobId: string }
  /** Work Forge refused at its cyclic invocation limit, parked for the next scheduled run; then queued again by it. */
  | { code: 'work-parked'; events: number; queue: string; jobIds: string[] }
  | { code: 'parked-work-queued'; events: number }
  /** Snapshots from before signing that the app signed, once, because its own index recorded the same content. */
  | { code: 'snapshots-signed'; snapshots: number };

export interface DeletedRepository {
  repositoryUuid: string;
  slug: string;
  name: string;
  lastSnapshotId: string;
  lastSnapshotAt: string;
}

/**
 * Why a snapshot is pinned (kept by every prune): an open destructive-event banner's undo, or an
 * overwrite restore's guard; `until`: when the pin ends (absent while the banner stands).
 */
export type PinView = ({ kind: 'event'; eventId: string } | { kind: 'restore-guard'; jobId: string }) & { until?: string };

/** Which of a repository's existing snapshots a retention policy keeps (the admin page's preview, before saving). */
export interface RetentionPreview {
  repositoryUuid: string;
  /** Newest first. */
  snapshots: Array<{ id: string; createdAt: string; trigger: SnapshotTrigger; ownBytes: number; kept: boolean; reasons: KeepReason[]; pins?: PinView[] }>;
  /** The repository has older snapshots than these; the decisions shown are exact all the same (the rules walk newest first). */
  more: boolean;
}

export interface Paged<T> {
  items: T[];
  nextCursor?: string;
}

// ---------------------------------------------------------------- requests

// Bounds keep a hostile payload from filling KVS or the logs; real values are far smaller.
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const cursor = text(2000).optional();
const noPayload = z.object({}).strict();
const cursorPayload = z.object({ cursor }).strict();
const jobPayload = z.object({ jobId: text(64) }).strict();
const snapshotId = z.string().refine(isSnapshotId, 'must be a snapshot id like 20261126T061500Z-3fa9c1');
const repositorySlug = z.string().refine(isRepositorySlug, `must be ${REPOSITORY_SLUG_RULE}`);
// git's ref-name rule, narrowed to what a page offers to restore: branches and tags.
const refName = z.string().max(1024).refine((name) => (isBranchRef(name) || isTagRef(name)) && isValidRefName(name), 'must be full branch or tag names like refs/heads/main');
// A token or key never holds white space at its ends: a pasted newline is trimmed, not stored.
const secret = z.string().trim().min(1, 'must not be empty (omit it to keep the stored one)').max(4096, 'must be at most 4096 characters');
const confirmation = { params: { kind: 'needs-confirmation' satisfies FieldProblemKind } };

const restoreRequest = z.object({
  snapshotId,
  mode: z.enum(['beside', 'new-repository', 'overwrite']),
  /** Full ref names to restore (refs/heads/main, refs/tags/v1); all when absent. */
  refs: z.array(refName).min(1, 'must name at least one ref (omit it to restore all)').max(10_000).optional(),
  /** For new-repository. */
  newRepositorySlug: repositorySlug.optional(),
  /** Overwrite needs this set to true: the page asks the person first. */
  confirmOverwrite: z.boolean().optional(),
  /**
   * Also write the snapshot's repository configuration into the target ('with-git'),
   * or only that ('only', into this repository or a new one): see planConfigurationRestore.
   */
  configuration: z.enum(['with-git', 'only']).optional(),
  /**
   * For an encrypted snapshot: the age identity (AGE-SECRET-KEY-1..., or an identity
   * file's text; its lines are checked by parseIdentities, which never echoes them).
   * Kept as a Forge secret for this job only and deleted when it ends; never returned,
   * logged or recorded.
   */
  identity: secret.optional(),
  /**
   * The person confirms that the target takes files over Bitbucket's file size limit
   * (a repository admin turned it off). Without it, a restore whose plan finds such
   * a file stops with RESTORE_LARGE_FILES before anything is written.
   */
  largeFilesConfirmed: z.boolean().optional(),
  /** The plan's lowering changes (ConfigurationPlanView.lowering) the person chose, each as listed; none unless named. */
  lowering: z.array(z.object({ section: z.string().max(40), action: z.enum(['add', 'replace', 'remove']), item: z.string().max(4000) }).strict()).max(1000).optional(),
}).strict()
  .refine((request) => request.mode !== 'new-repository' || request.newRepositorySlug !== undefined, { message: 'is required to restore into a new repository', path: ['newRepositorySlug'] })
  .refine((request) => request.configuration !== 'only' || (request.mode !== 'overwrite' && request.refs === undefined), { message: "'only' restores no refs: choose beside (this repository) or new-repository, without refs", path: ['configuration'] })
  .refine((request) => request.mode !== 'overwrite' || request.confirmOverwrite === true, { message: 'must be true: overwriting branches needs explicit confirmation', path: ['confirmOverwrite'], ...confirmation });

/** The request schema of every repository page resolver that answers a Result. */
export const repoPageRequests = {
  getRepoStatus: noPayload,
  setRepoEnabled: z.object({ enabled: z.boolean() }).strict(),
  listSnapshots: cursorPayload,
  getSnapshot: z.object({ snapshotId }).strict(),
  listPullRequests: z.object({ snapshotId, cursor }).strict(),
  getPullRequest: z.object({ snapshotId, pullRequestId: z.number().int().positive().max(2 ** 31) }).strict(),
  backupNow: noPayload,
  startRestore: restoreRequest,
  planConfigurationRestore: z.object({ snapshotId, target: z.enum(['this-repository', 'new-repository']) }).strict(),
  getJob: jobPayload,
  listDestructiveEvents: cursorPayload,
  undoDestructiveEvent: z.object({ eventId: text(200).min(1), inPlace: z.boolean().optional(), confirmOverwrite: z.boolean().optional() }).strict()
    .refine((request) => !request.inPlace || request.confirmOverwrite === true, { message: 'must be true: putting the branch back in place needs explicit confirmation', path: ['confirmOverwrite'], ...confirmation }),
};

/** The request schema of every admin page resolver that answers a Result. */
export const adminPageRequests = {
  getSettings: noPayload,
  saveSettings: z.object({
    // Checked by parseSettings when saving (it names every field, and checks an expiry against today).
    settings: z.custom<WorkspaceSettingsInput>(),
    /** Omitted: keep the stored one. */
    bucketSecretAccessKey: secret.optional(),
    bitbucketToken: secret.optional(),
    /**
     * Turning encryption off (removing every recipient) is a downgrade: later
     * snapshots are stored in plain. Refused unless this is true (the page asks first).
     */
    confirmDowngrade: z.boolean().optional(),
    /**
     * A new token or bucket key that fails its connection test, where the stored
     * one passes, is refused (kind 'failed-test' on its field) and the stored one
     * kept; true saves it anyway (the page offers "Save anyway" after the refusal).
     */
    saveAnyway: z.boolean().optional(),
  }).strict(),
  testBucket: noPayload,
  checkEndpoint: z.object({ endpoint: bucketEndpoint }).strict(),
  testBitbucket: noPayload,
  getCoverage: z.object({
    /** Part of a repository's name or slug, any case. */
    search: text(100).optional(),
    sort: z.enum(['name', 'lastBackup', 'size', 'status']).optional(),
    descending: z.boolean().optional(),
    /** From 1. */
    page: z.number().int().min(1).max(100_000).optional(),
    /** Before the first sweep: Bitbucket's own paging (search and sort need the catalogue). */
    cursor,
  }).strict(),
  // A page's worth at a time: each becomes an override and an audit entry.
  setRepositoriesIncluded: z.object({ repositoryUuids: z.array(bitbucketUuid).min(1).max(100), included: z.boolean() }).strict(),
  sweepNow: noPayload,
  getAuditLog: cursorPayload,
  listDeletedRepositories: cursorPayload,
  rebuildIndex: noPayload,
  restoreDeletedRepository: z.object({ repositoryUuid: bitbucketUuid, snapshotId: snapshotId.optional(), newRepositorySlug: repositorySlug }).strict(),
  getJob: jobPayload,
  // Checked by validatePolicy, as saving checks it.
  previewRetention: z.object({ repositoryUuid: bitbucketUuid, retention: z.record(z.string().max(40), z.unknown()).transform((policy) => policy as RetentionPolicy) }).strict(),
};

export type RestoreRequest = z.input<typeof restoreRequest>;
export type SaveSettingsRequest = z.input<typeof adminPageRequests.saveSettings>;
export type CoverageQuery = z.input<typeof adminPageRequests.getCoverage>;

type RepoRequest<K extends keyof typeof repoPageRequests> = z.input<(typeof repoPageRequests)[K]>;
type AdminRequest<K extends keyof typeof adminPageRequests> = z.input<(typeof adminPageRequests)[K]>;

/** Resolvers behind the repository settings page. */
export type RepoPageResolvers = {
  getOverview: () => Overview;
  getRepoStatus: () => Result<RepoStatus>;
  setRepoEnabled: (request: RepoRequest<'setRepoEnabled'>) => Result<RepoStatus>;
  listSnapshots: (request: RepoRequest<'listSnapshots'>) => Result<SnapshotPage>;
  getSnapshot: (request: RepoRequest<'getSnapshot'>) => Result<SnapshotDetails>;
  listPullRequests: (request: RepoRequest<'listPullRequests'>) => Result<PullRequestPage>;
  /** One pull request of a snapshot with its conversation; refused (IDENTITY_REQUIRED) for an encrypted snapshot. */
  getPullRequest: (request: RepoRequest<'getPullRequest'>) => Result<PullRequestView>;
  backupNow: () => Result<BackupRequested>;
  startRestore: (request: RestoreRequest) => Result<JobView<'restore'>>;
  /** What a restore of the snapshot's configuration would change in this repository, or in a new one. */
  planConfigurationRestore: (request: RepoRequest<'planConfigurationRestore'>) => Result<ConfigurationPlanView>;
  getJob: (request: RepoRequest<'getJob'>) => Result<JobView>;
  listDestructiveEvents: (request: RepoRequest<'listDestructiveEvents'>) => Result<Paged<DestructiveEvent>>;
  undoDestructiveEvent: (request: RepoRequest<'undoDestructiveEvent'>) => Result<JobView<'restore'>>;
};

/** Resolvers behind the workspace admin page. */
export type AdminPageResolvers = {
  getOverview: () => Overview;
  getSettings: () => Result<SettingsView>;
  saveSettings: (request: SaveSettingsRequest) => Result<SettingsView>;
  testBucket: () => Result<BucketCheck>;
  /** Before saving: whether Forge lets the app reach this endpoint, or a workspace admin must allow it first. */
  checkEndpoint: (request: AdminRequest<'checkEndpoint'>) => Result<EndpointEgress>;
  testBitbucket: () => Result<BitbucketCheck>;
  getCoverage: (request: CoverageQuery) => Result<CoveragePage>;
  /** Includes or excludes many repositories at once: a per-repository override for each (as each row's switch sets). */
  setRepositoriesIncluded: (request: AdminRequest<'setRepositoriesIncluded'>) => Result<SettingsView>;
  sweepNow: () => Result<JobView<'sweep'>>;
  getAuditLog: (request: AdminRequest<'getAuditLog'>) => Result<Paged<AuditEntry>>;
  listDeletedRepositories: (request: AdminRequest<'listDeletedRepositories'>) => Result<Paged<DeletedRepository>>;
  /** Rebuilds the KVS index the pages read from the bucket (a job). */
  rebuildIndex: () => Result<JobView<'index'>>;
  restoreDeletedRepository: (request: AdminRequest<'restoreDeletedRepository'>) => Result<JobView<'restore'>>;
  getJob: (request: AdminRequest<'getJob'>) => Result<JobView>;
  /** Which existing snapshots of one repository `retention` keeps: the policy as it would be saved, read over the KVS index. */
  previewRetention: (request: AdminRequest<'previewRetention'>) => Result<RetentionPreview>;
};
