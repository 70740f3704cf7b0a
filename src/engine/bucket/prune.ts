/**
 * Prune: forget the snapshots a retention policy no longer keeps, then delete the
 * objects no remaining snapshot needs. The order is restic's (doc/design.rst,
 * "Locks" and "Read and write ordering"): under an exclusive lock, read
 * everything first and stop on anything unreadable, delete manifests before the
 * objects they name (a crash then leaves garbage, never a snapshot with holes),
 * and spare whatever a backup that may still be running could be using.
 */
import { LifeboatError, type LifeboatErrorJson, isLifeboatError, toLifeboatError } from '../errors.js';
import type { BlobInfo, BlobStore } from './blob-store.js';
import { isFromFuture, listSnapshotIds, readDocuments, readManifests } from './catalog.js';
import { type Trust, UNCHECKED } from './signing.js';
import { type PendingBackup, type SnapshotManifest, parseDocument, pendingSchema } from './format.js';
import { metadataObjects, readMetadataIndex } from './metadata.js';
import {
  type RepoPath,
  formatRepoPath,
  objectKey,
  objectsPrefix,
  parseKey,
  pendingPrefix,
  repoPrefix,
  signaturesPrefix,
  snapshotKey,
  stagingPrefix,
} from './bucket-keys.js';
import { DEFAULT_STALE_AFTER_MS, type HeldLock, acquireLock, isStale, listLocks } from './locks.js';
import { type KeepReason, type RetentionPolicy, applyPolicy, validatePolicy } from './retention.js';

export const DEFAULT_GRACE_MS = 60 * 60_000;

export interface PruneOptions {
  /** Work out and report the plan, delete nothing, take no lock. */
  dryRun?: boolean;
  /** Written into the exclusive lock, for the message a blocked backup shows. */
  owner: string;
  now?: () => Date;
  /** Unreferenced objects and staging uploads younger than this are left alone. */
  graceMs?: number;
  /** The lock stale age; pending backups not updated for this long are presumed dead. */
  staleAfterMs?: number;
  onProgress?: (message: string) => void;
  /** Snapshots promised to someone (an undo, a restore's guard): kept whatever the policy says. The bucket records no pins. */
  pinned?: ReadonlySet<string>;
  /**
   * Whose snapshots the policy counts. A manifest no trusted key signed, or dated in
   * the future, is kept and counted for nothing: a planted one must not take the
   * newest's place or a rule's slot and so have real snapshots forgotten. Without
   * it every readable manifest counts (a bucket from before signing).
   */
  trust?: Trust;
}

/** `pending-base`: a live pending backup increments from this snapshot and will need its chain; `untrusted`: not signed by a trusted key, or dated in the future. */
export type SnapshotKeepReason = KeepReason | 'pending-base' | 'untrusted';

export interface PrunedObject {
  key: string;
  size: number;
}

/** The stable shape of `lifeboat prune --json`, one per repository. */
export interface PruneReport {
  repo: RepoPath;
  dryRun: boolean;
  policy: RetentionPolicy;
  /** Oldest first. */
  keptSnapshots: { id: string; reasons: SnapshotKeepReason[] }[];
  /** Manifests deleted (or, in a dry run, to be deleted). */
  forgottenSnapshots: string[];
  /** Outside the policy but under Object Lock: kept, and so are their objects. */
  lockedSnapshots: string[];
  /** Records of backups presumed dead, by snapshot id. */
  removedPending: string[];
  /** Lock files of holders presumed dead, by lock id. */
  removedStaleLocks: string[];
  /** Unreferenced objects and leftover staging uploads deleted (or to be deleted). */
  deletedObjects: PrunedObject[];
  /** Keys that were to be deleted but are under Object Lock; a later prune retries them. */
  lockedObjects: string[];
  /** Unreferenced but younger than the grace period; a later prune decides. */
  youngObjects: PrunedObject[];
  /** Multipart uploads left incomplete (an interrupted backup) for longer than the grace period: aborted (or to be). */
  abortedUploads: { key: string; initiated: string }[];
  /** false when the bucket cannot list incomplete uploads (server or permissions): its lifecycle rule has to abort them. */
  uploadsChecked: boolean;
  /** Objects still named by a kept snapshot or a live pending backup. */
  referencedObjects: number;
  bytesFreed: number;
}

export interface PruneAllReport {
  reports: PruneReport[];
  /** Repositories whose prune failed (e.g. LOCKED by a running backup); the others were still pruned. */
  failures: { repo: RepoPath; error: LifeboatErrorJson }[];
}

interface PendingEntry {
  key: string;
  record: PendingBackup;
  /** The later of its own updatedAt and the store's write time: either may show it alive. */
  lastActive: number;
}

export async function prune(store: BlobStore, repo: RepoPath, policy: RetentionPolicy, options: PruneOptions): Promise<PruneReport> {
  const checkedPolicy = validatePolicy(policy);
  const graceMs = checkDuration('grace period', options.graceMs ?? DEFAULT_GRACE_MS);
  const staleAfterMs = checkDuration('stale age', options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS);
  const now = options.now ?? (() => new Date());
  const lock = options.dryRun ? undefined : await acquireLock(store, repo, 'exclusive', { owner: options.owner, now, staleAfterMs });
  let report: PruneReport;
  try {
    report = await run(store, repo, checkedPolicy, { ...options, now, graceMs, staleAfterMs }, lock);
  } catch (error) {
    await lock?.release().catch(() => undefined); // the prune's own error matters more; the lock goes stale anyway
    throw error;
  }
  await lock?.release();
  return report;
}

/** Prunes every repository that has anything in the bucket, one at a time; one failing does not stop the others. */
export async function pruneAll(store: BlobStore, policy: RetentionPolicy, options: PruneOptions): Promise<PruneAllReport> {
  validatePolicy(policy); // a bad policy is one error, not one per repository
  const result: PruneAllReport = { reports: [], failures: [] };
  for (const repo of await listRepositories(store)) {
    try {
      result.reports.push(await prune(store, repo, policy, options));
    } catch (error) {
      options.onProgress?.(`${formatRepoPath(repo)}: ${toLifeboatError(error).message}`);
      result.failures.push({ repo, error: toLifeboatError(error).toJSON() });
    }
  }
  return result;
}

/**
 * Repositories with any key in the bucket, not only those with snapshots: a
 * repository whose first backup never finished has garbage to clean too.
 */
export async function listRepositories(store: BlobStore): Promise<RepoPath[]> {
  const found = new Map<string, RepoPath>();
  for await (const blob of store.list('')) {
    const parsed = parseKey(blob.key);
    if (!('repo' in parsed)) continue; // the marker, the recovery kit, keys not Lifeboat's
    found.set(formatRepoPath(parsed.repo), parsed.repo);
  }
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, repo]) => repo);
}

type RunOptions = PruneOptions & { now: () => Date; graceMs: number; staleAfterMs: number };

async function run(store: BlobStore, repo: RepoPath, policy: RetentionPolicy, options: RunOptions, lock: HeldLock | undefined): Promise<PruneReport> {
  const name = formatRepoPath(repo);
  const dryRun = options.dryRun ?? false;
  const progress = (message: string): void => options.onProgress?.(`${name}: ${message}`);
  let refreshedAt = options.now().getTime();
  /** Refreshes the exclusive lock during long deletions, well before it could be taken for stale. */
  const keepAlive = async (): Promise<void> => {
    if (!lock || options.now().getTime() - refreshedAt < options.staleAfterMs / 3) return;
    await lock.refresh();
    refreshedAt = options.now().getTime();
  };
  const report: PruneReport = {
    repo,
    dryRun,
    policy,
    keptSnapshots: [],
    forgottenSnapshots: [],
    lockedSnapshots: [],
    removedPending: [],
    removedStaleLocks: [],
    deletedObjects: [],
    lockedObjects: [],
    youngObjects: [],
    abortedUploads: [],
    uploadsChecked: true,
    referencedObjects: 0,
    bytesFreed: 0,
  };
  /** Deletes a key unless dry-running; false when Object Lock refuses. */
  const remove = async (key: string): Promise<boolean> => {
    if (dryRun) return true;
    await keepAlive();
    try {
      await store.remove(key);
      return true;
    } catch (error) {
      if (isLifeboatError(error, 'OBJECT_LOCKED')) return false;
      throw error;
    }
  };

  // 1. Read everything; a document misread here must stop the prune before any deletion.
  const listed = await listSnapshotIds(store, repo);
  progress(`reading ${listed.length} snapshot manifest${listed.length === 1 ? '' : 's'}`);
  // Any manifest, signed or not, keeps what it names; only trusted ones count for the policy (options.trust).
  const listing = await readManifests(store, listed.map((id) => ({ repo, id })), options.trust ? { ...options.trust, unsigned: 'flag' } : UNCHECKED);
  // An unreadable manifest may name any object of the repository: none can be called garbage.
  const { unreadable } = listing;
  if (unreadable.length > 0) {
    const one = unreadable.length === 1;
    const what = one ? unreadable[0]!.message : `${unreadable.length} snapshot manifests cannot be read (${unreadable.map((problem) => problem.key).join(', ')}).`;
    throw new LifeboatError(unreadable.some((problem) => problem.code === 'FORMAT_UNSUPPORTED') ? 'FORMAT_UNSUPPORTED' : 'FORMAT_INVALID',
      `${what} Prune stopped before deleting anything in ${name}: it cannot tell which objects ${one ? 'that manifest names' : 'they name'}. Fix or remove ${one ? 'it' : 'them'}, then prune again.`,
      { details: { unreadable: unreadable.map(({ key, code }) => ({ key, code })) } });
  }
  const manifests = new Map(listing.manifests.map((manifest) => [manifest.id, { createdAt: new Date(manifest.createdAt), manifest }]));
  const ids = [...manifests.keys()];
  const pending = await readPending(store, repo);
  const checkedAt = options.now().getTime();
  const livePending = pending.filter((entry) => checkedAt - entry.lastActive < options.staleAfterMs);
  const deadPending = pending.filter((entry) => !livePending.includes(entry));

  // 2. Decide which snapshots stay.
  // applyPolicy always keeps the newest snapshot: a prune never leaves a repository without its latest state.
  const counted = (id: string, manifest: SnapshotManifest): boolean => !options.trust || (listing.seals.get(manifest)?.signed === true && !isFromFuture(id, options.now()));
  const decision = applyPolicy([...manifests].filter(([id, { manifest }]) => counted(id, manifest)).map(([id, manifest]) => ({ id, createdAt: manifest.createdAt })), policy, options.pinned);
  const reasons = new Map<string, SnapshotKeepReason[]>(decision.keep.map((entry) => [entry.id, [...entry.reasons]]));
  for (const [id, { manifest }] of manifests) if (!counted(id, manifest)) reasons.set(id, ['untrusted']);
  for (const { record } of livePending) {
    if (record.base !== null && manifests.has(record.base)) reasons.set(record.base, [...(reasons.get(record.base) ?? []), 'pending-base']);
  }
  report.keptSnapshots = ids.filter((id) => reasons.has(id)).map((id) => ({ id, reasons: reasons.get(id) ?? [] }));
  const forget = ids.filter((id) => !reasons.has(id));

  // 3. Forget snapshots: their manifests go before any object they name.
  if (forget.length > 0) progress(`${dryRun ? 'would forget' : 'forgetting'} ${forget.length} snapshot${forget.length === 1 ? '' : 's'}`);
  for (const id of forget) {
    if (await remove(snapshotKey(repo, id))) report.forgottenSnapshots.push(id);
    else report.lockedSnapshots.push(id);
  }

  // 4. Backups presumed dead: their records go, and with them their claim on objects.
  const stillPending = [...livePending];
  for (const entry of deadPending) {
    if (await remove(entry.key)) {
      report.removedPending.push(entry.record.id);
    } else {
      report.lockedObjects.push(entry.key);
      stillPending.push(entry); // a record that stays must not name deleted objects
    }
  }
  for (const entry of await listLocks(store, repo)) {
    if (entry.id === lock?.id || !isStale(entry, new Date(checkedAt), options.staleAfterMs)) continue;
    if (await remove(entry.key)) report.removedStaleLocks.push(entry.id);
    else report.lockedObjects.push(entry.key);
  }

  // 5. What is still needed: every bundle of every remaining manifest and live pending backup.
  const referenced = new Set<string>();
  const reference = (objects: ReadonlyArray<{ key: string; sha256: string }>): void => {
    for (const object of objects) {
      referenced.add(object.key);
      referenced.add(objectKey(repo, object.sha256));
    }
  };
  const forgotten = new Set(report.forgottenSnapshots);
  for (const [id, { manifest }] of manifests) {
    if (forgotten.has(id)) continue;
    reference(manifest.bundles);
    // An index that cannot be read stops this prune (readMetadataIndex throws): nothing it names may be called garbage.
    const index = await readMetadataIndex(store, manifest);
    if (manifest.metadata) reference([manifest.metadata.index]);
    if (index) reference(metadataObjects(index));
  }
  for (const entry of stillPending) reference(entry.record.bundles);

  // 6. Delete the rest, sparing young keys: a backup whose lock went stale may still be writing them.
  const garbage: BlobInfo[] = [];
  const consider = (blob: BlobInfo): void => {
    if (checkedAt - blob.lastModified.getTime() >= options.graceMs) garbage.push(blob);
    else report.youngObjects.push({ key: blob.key, size: blob.size });
  };
  for await (const blob of store.list(objectsPrefix(repo))) {
    if (parseKey(blob.key).kind !== 'object') continue; // not a key Lifeboat writes: not ours to judge
    if (referenced.has(blob.key)) report.referencedObjects += 1;
    else consider(blob);
  }
  for await (const blob of store.list(stagingPrefix(repo))) {
    if (parseKey(blob.key).kind === 'staging') consider(blob);
  }
  // Signatures go with their snapshot; the grace spares one written just before its manifest (commit.ts).
  const kept = new Set(ids.filter((id) => !forgotten.has(id)));
  for await (const blob of store.list(signaturesPrefix(repo))) {
    const parsed = parseKey(blob.key);
    if (parsed.kind === 'signature' && !kept.has(parsed.snapshotId)) consider(blob);
  }
  if (garbage.length > 0) progress(`${dryRun ? 'would delete' : 'deleting'} ${garbage.length} unreferenced object${garbage.length === 1 ? '' : 's'}`);
  for (const blob of garbage) {
    if (await remove(blob.key)) {
      report.deletedObjects.push({ key: blob.key, size: blob.size });
      report.bytesFreed += blob.size;
    } else {
      report.lockedObjects.push(blob.key);
    }
  }

  // 7. Uploads an interrupted backup left: their parts are stored, and billed, but no listing shows them.
  // A running backup holds a fresh lock (so no prune runs); the grace period spares one whose lock went stale.
  const uploads = await store.listIncompleteUploads(repoPrefix(repo));
  report.uploadsChecked = uploads !== undefined;
  const stale = (uploads ?? []).filter((upload) => parseKey(upload.key).kind !== 'unknown' && checkedAt - upload.initiated.getTime() >= options.graceMs);
  if (stale.length > 0) progress(`${dryRun ? 'would abort' : 'aborting'} ${stale.length} incomplete upload${stale.length === 1 ? '' : 's'}`);
  for (const upload of stale) {
    if (!dryRun) {
      await keepAlive();
      await store.abortIncompleteUpload(upload);
    }
    report.abortedUploads.push({ key: upload.key, initiated: upload.initiated.toISOString() });
  }
  progress(`${dryRun ? 'would free' : 'freed'} ${report.bytesFreed} bytes`);
  return report;
}

async function readPending(store: BlobStore, repo: RepoPath): Promise<PendingEntry[]> {
  const entries: PendingEntry[] = [];
  for await (const { blob, bytes } of readDocuments(store, pendingPrefix(repo))) {
    if (parseKey(blob.key).kind !== 'pending') continue;
    const record = await stopOnMisread(async () => parseDocument(pendingSchema, bytes, `Pending backup ${blob.key}`));
    entries.push({ key: blob.key, record, lastActive: Math.max(Date.parse(record.updatedAt), blob.lastModified.getTime()) });
  }
  return entries;
}

async function stopOnMisread<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isLifeboatError(error, 'FORMAT_INVALID') || isLifeboatError(error, 'FORMAT_UNSUPPORTED')) {
      throw new LifeboatError(error.code, `${error.message} Prune stopped before deleting anything: it cannot tell which objects that document needs.`, {
        cause: error,
        ...(error.details ? { details: error.details } : {}),
      });
    }
    throw error;
  }
}

function checkDuration(what: string, ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new LifeboatError('INVALID_ARGUMENT', `The prune ${what} must be 0 or more milliseconds; got ${ms}.`);
  return ms;
}
