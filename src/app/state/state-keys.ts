import { bareUuid } from '../../bitbucket/uuid.js';
import { newestFirstKey } from '../../engine/bucket/bucket-keys.js';

// Every KVS key the app writes, in one place. Forge keys allow only
// [a-zA-Z0-9:._\s-#], so Bitbucket's braced UUIDs lose their braces here.
// Lists that pages show newest first (audit log, destructive events) put an
// inverted timestamp in the key, because KVS queries return keys in ascending order.


/** Sorts newest first as a string: 13 digits of (max - epoch ms). */
export const newestFirst = (at: Date): string => String(9_999_999_999_999 - at.getTime()).padStart(13, '0');

export const kvsKeys = {
  settings: 'settings',
  /** When a workspace admin last saved the repository selection (epoch ms): the sweep includes repositories created after it. */
  selectionSavedAt: 'settings:selection-saved-at',
  bucketSecret: 'secret:bucket-secret-access-key',
  bitbucketSecret: 'secret:bitbucket-token',
  /** A Forge secret: the app's Ed25519 signing key (PKCS#8 PEM), one per key by its fingerprint's hex (signing-keys.ts). */
  signingSecret: (fingerprint: string): string => `secret:signing-key:${fingerprint.replace(/^SHA256:/, '')}`,
  /** The app's own record of its signing keys (public halves, validity): what it trusts, not the bucket's marker. */
  signingKeys: 'signing:keys',
  repoStatus: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:status`,
  lastPush: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:last-push`,
  /** Set while a backup of the repository waits in the queue: later pushes coalesce into it. */
  backupQueued: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:backup-queued`,
  /** The newest snapshot and what the pages show of it (snapshot-index.ts). */
  repoSummary: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:summary`,
  /**
   * One per snapshot, newest first by the engine's order of snapshots (its whole id). Before,
   * keys held the id's second inverted; the index job deletes such keys and writes these.
   */
  snapshotEntryPrefix: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:snapshot:`,
  snapshotEntry: (repositoryUuid: string, snapshotId: string): string => `repo:${bareUuid(repositoryUuid)}:snapshot:${newestFirstKey(snapshotId)}:${snapshotId}`,
  /** Manifests of the repository that could not be read when it was last indexed. */
  unreadable: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:unreadable`,
  /** Repositories Bitbucket no longer has whose snapshots are in the bucket. */
  deletedPrefix: 'deleted:',
  deleted: (repositoryUuid: string): string => `deleted:${bareUuid(repositoryUuid)}`,
  /**
   * When the index job last rebuilt the KVS index from the bucket (ISO 8601), in the
   * current key layout and with each snapshot's seal: an installation with only an older
   * 'index:built-at' or 'index:v2:built-at' gets rebuilt once (and so its snapshots from before
   * signing looked at, legacy-signing.ts).
   */
  indexBuiltAt: 'index:v3:built-at',
  /** Set once the index job has signed the repository's snapshots from before signing (legacy-signing.ts): never again. */
  legacySigned: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:legacy-signed`,
  /** Set for an hour when the app asked for a rebuild by itself (of the workspace, or one repository). */
  reindexRequested: (repositoryUuid?: string): string => (repositoryUuid ? `repo:${bareUuid(repositoryUuid)}:reindex-requested` : 'index:requested'),
  /** Held by the one backup, restore or prune running on the repository. */
  lease: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:lease`,
  /** Taken by the one contender that takes over a dead lease (lease.ts), named by that lease's id. */
  leaseTakeover: (repositoryUuid: string, leaseId: string): string => `repo:${bareUuid(repositoryUuid)}:lease-takeover:${leaseId}`,
  /** A ref update a restore of Lifeboat's is about to make (own-ref-updates.ts), by a digest of ref name and new tip. */
  ownRefUpdate: (repositoryUuid: string, digest: string): string => `repo:${bareUuid(repositoryUuid)}:own-update:${digest}`,
  /** A snapshot kept by every prune for a holder (pins.ts): one per snapshot and holder. */
  pinPrefix: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:pin:`,
  pin: (repositoryUuid: string, snapshotId: string, holder: string): string => `repo:${bareUuid(repositoryUuid)}:pin:${snapshotId}:${holder}`,
  destructiveEventPrefix: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:event:`,
  destructiveEvent: (repositoryUuid: string, at: Date, id: string): string => `repo:${bareUuid(repositoryUuid)}:event:${newestFirst(at)}:${id}`,
  /** One per pull request that Forge's pull-request events marked as changed since its last fetch (pull-request-events.ts). */
  pullRequestMarkPrefix: (repositoryUuid: string): string => `repo:${bareUuid(repositoryUuid)}:pr-mark:`,
  pullRequestMark: (repositoryUuid: string, id: number): string => `repo:${bareUuid(repositoryUuid)}:pr-mark:${id}`,
  /** The workspace's REST budget (rest-budget.ts): one record per metered run, the limit Bitbucket last said, a pause after a 429. */
  restBudgetRunPrefix: 'rest-budget:run:',
  restBudgetRun: (runId: string): string => `rest-budget:run:${runId}`,
  restBudgetLimit: 'rest-budget:limit',
  restBudgetPause: 'rest-budget:pause',
  /** When the last scheduled sweep was started (ISO 8601): the hourly trigger decides from it. */
  lastSweep: 'sweep:last-started',
  /** The coverage catalogue the admin page searches: which sweep run is current, and that run's pages (coverage.ts). */
  coverageCurrent: 'coverage:current',
  coverageChunk: (run: string, index: number): string => `coverage:${run}:${index}`,
  auditPrefix: 'audit:',
  audit: (at: Date, id: string): string => `audit:${newestFirst(at)}:${id}`,
  /** Queue pushes Forge refused at its cyclic invocation limit, oldest first, until the scheduled trigger queues them again (queues.ts). */
  parkedPushPrefix: 'parked-push:',
  parkedPush: (at: Date, id: string): string => `parked-push:${String(at.getTime()).padStart(13, '0')}:${id}`,
  job: (jobId: string): string => `job:${jobId}`,
  /** What a restore job was asked to do, and what it has done so far (so a retry continues). */
  restoreRequest: (jobId: string): string => `job:${jobId}:restore`,
  /** A restore job's plan, once read: a retry does not read the snapshot again. */
  restorePlan: (jobId: string): string => `job:${jobId}:plan`,
  /** A Forge secret: the age identities given for one restore of an encrypted snapshot, deleted when the job ends. */
  restoreIdentity: (jobId: string): string => `job:${jobId}:identity`,
  /** A plain KVS value beside each kept identity, naming its job only: secrets cannot be listed, and the clean-up must find them. */
  identityKeptPrefix: 'identity-kept:',
  identityKept: (jobId: string): string => `identity-kept:${jobId}`,
};
