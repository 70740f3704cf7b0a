/**
 * Backup: the refs a git server holds now, stored as a new snapshot whose bundle
 * chain reproduces them. Order of writes (docs/bucket-format.md, "Writing"):
 * bundles → pending record after each → manifest last → pending record removed.
 * Nothing becomes visible as a snapshot before its manifest exists.
 */
import { randomBytes } from 'node:crypto';
import { LifeboatError, isLifeboatError } from './errors.js';
import type { BlobStore } from './bucket/blob-store.js';
import { type NewestSnapshot, type UnreadableManifest, listPending, readManifest, readNewest } from './bucket/catalog.js';
import {
  type BundleEntry,
  type EncryptionConfig,
  FORMAT_VERSION,
  type ObjectLockConfig,
  type PendingBackup,
  type SegmentPlan,
  type SnapshotManifest,
  type SnapshotRef,
  type SnapshotTrigger,
  sameEncryption,
  serializeDocument,
} from './bucket/format.js';
import { type RepoPath, pendingKey, signatureKey, snapshotIdTime, snapshotKey } from './bucket/bucket-keys.js';
import { acquireLock } from './bucket/locks.js';
import { readMarker } from './bucket/marker.js';
import { type MetadataIndex, readMetadataIndex } from './bucket/metadata.js';
import { checkRetention } from './bucket/lock-check.js';
import { lockFor, writeObject } from './bucket/objects.js';
import type { SigningKey, Trust } from './bucket/signing.js';
import { commitSnapshot } from './commit.js';
import { type LfsPointer, type MetadataCollector, collectMetadata, indexToBuildOn } from './metadata.js';
import { writeBundleHeader } from './git/bundle.js';
import { LfsPointerScanner, type PointerRecord } from './git/lfs-pointers.js';
import { isBranchRef, isTagRef, refuseInvalidRefNames } from './git/ref-name.js';
import type { GitClient, RefListing, RemoteRef } from './git/types.js';
import { type SegmentOptions, afterSegment, byteBudget, nextCut, planSegments, segmentRefName, segmentTips, smallerSegment } from './segments.js';
import { concatStreams } from './streams.js';

export interface RepositoryInfo {
  workspaceSlug?: string;
  slug?: string;
  name?: string;
  uuid?: string;
}

export interface ChainPolicy {
  /** Start a new full bundle once the chain has this many increments. */
  maxIncrements: number;
  /** ...or once the increments add up to this fraction of the full bundle's size. */
  maxIncrementRatio: number;
}

const LOCK_REFRESH_MS = 5 * 60_000;

export const DEFAULT_CHAIN_POLICY: ChainPolicy = { maxIncrements: 30, maxIncrementRatio: 0.5 };

export type BackupProgress =
  | { phase: 'refs'; refs: number }
  /** Newer manifests that cannot be read: the backup builds on the newest one that can. */
  | { phase: 'skipped'; unreadable: UnreadableManifest[] }
  | { phase: 'unchanged' }
  /**
   * `bundle` of `bundles`: counted over the whole backup, the bundles earlier invocations stored
   * included; `bundles` is what the plan expects now (a segment may come to cover several cuts).
   * `segmented`: the backup's history comes in segments (segments.ts).
   */
  | { phase: 'fetch'; bundle: number; bundles: number; refs: number; kind: 'full' | 'incremental'; segmented: boolean }
  | { phase: 'server'; message: string }
  | { phase: 'upload'; bytes: number }
  | { phase: 'stored'; bundle: number; bytes: number }
  | { phase: 'metadata' }
  | { phase: 'commit'; snapshot: string };

export interface BackupOptions {
  store: BlobStore;
  repo: RepoPath;
  git: GitClient;
  trigger: SnapshotTrigger;
  /**
   * How this backup stores its objects (the Forge app passes its settings, the CLI
   * the marker's). Age recipients, or null for plain. A snapshot is encrypted all or
   * nothing: when this differs from the newest snapshot's, a new full chain starts.
   */
  encryption: EncryptionConfig | null;
  /** Object Lock retention for every object and the manifest; null for none. */
  objectLock: ObjectLockConfig | null;
  /** Signs the snapshot (signing.ts). */
  signingKey: SigningKey;
  /**
   * Which snapshots it may build on: a newest snapshot this does not trust (not
   * signed by its keys, when it refuses unsigned ones) is skipped like an unreadable
   * one, so that nothing planted in the bucket is carried forward.
   */
  trust: Trust;
  repository?: RepositoryInfo;
  /**
   * What to collect besides git (pull requests, configuration, LFS objects). A
   * snapshot without collectors carries the previous snapshot's metadata forward.
   */
  metadata?: readonly MetadataCollector[];
  chainPolicy?: ChainPolicy;
  /**
   * Split the fetch into bundles of at most this many refs, so that a first backup
   * too large for one request (Forge: ~180 s each) becomes a chain of smaller ones.
   */
  maxRefsPerBundle?: number;
  /**
   * Split a new chain's history into bundles that each fit one request (segments.ts):
   * the request cap and the measured throughput size them. Without it, history is
   * never split.
   */
  segments?: SegmentOptions;
  /** Stop after the bundle that ends past this time; the next call continues from what is stored. */
  deadline?: Date;
  owner?: string;
  now?: () => Date;
  onProgress?: (progress: BackupProgress) => void;
  signal?: AbortSignal;
}

export type BackupResult =
  | { status: 'unchanged'; snapshot: SnapshotManifest; bytesUploaded: 0 }
  /** `previous`: the newest snapshot before this one, if any; `metadata`: its metadata index, when it has one. */
  | { status: 'created'; snapshot: SnapshotManifest; previous?: SnapshotManifest; metadata?: MetadataIndex; bytesUploaded: number; bundlesWritten: number }
  /** `stored` of `expected`: the backup's bundles stored so far and expected in all, counted as the 'fetch' progress counts them. */
  | { status: 'partial'; pendingId: string; bytesUploaded: number; bundlesWritten: number; refsRemaining: number; stored: number; expected: number; segmented: boolean };

export async function backup(options: BackupOptions): Promise<BackupResult> {
  const { store, repo, git } = options;
  const now = options.now ?? (() => new Date());
  await readMarker(store); // stops on a bucket that is not Lifeboat's, or of a format version this one does not know
  // Read-only first: an unchanged repository costs discovery, ls-refs and a bucket listing, and writes nothing.
  const listing = await git.listRefs();
  refuseInvalidRefNames([...listing.refs.map((ref) => ref.name), ...(listing.head.symref === undefined ? [] : [listing.head.symref])], git.url);
  options.onProgress?.({ phase: 'refs', refs: listing.refs.length });
  const newestSeen = await readNewest(store, repo, options.trust, now());
  const passedOver = [...newestSeen.future, ...newestSeen.skipped];
  if (passedOver.length > 0) options.onProgress?.({ phase: 'skipped', unreadable: passedOver });
  const collectors = options.metadata ?? [];
  const unchangedSince = unchanged(newestSeen, listing, options.encryption);
  // Same refs: a new snapshot only when the metadata changed (collected now, before any lock: most sweeps end here).
  let metadata: CollectedMetadata | undefined;
  if (unchangedSince && collectors.length > 0) {
    options.onProgress?.({ phase: 'metadata' });
    metadata = await collectMetadata({ ...options, collectors, previous: await previousIndex(options, unchangedSince, now), lfsPointers: chainLfsPointers(unchangedSince.bundles), now });
  }
  if (unchangedSince && !metadata?.changed) {
    options.onProgress?.({ phase: 'unchanged' });
    return { status: 'unchanged', snapshot: unchangedSince, bytesUploaded: 0 };
  }

  const repoLock = await acquireLock(store, repo, 'shared', { owner: options.owner ?? 'lifeboat backup', now });
  // Before any object is written: each asks for retention from its own write on, so at least from here.
  const lockedFrom = lockFor(options.objectLock, now());
  // A single bundle may upload for longer than a lock stays fresh: keep it alive meanwhile.
  let refreshFailure: unknown;
  const refresher = setInterval(() => repoLock.refresh().catch((error: unknown) => { refreshFailure = error; }), LOCK_REFRESH_MS);
  refresher.unref();
  try {
    // Under the lock no prune runs: only now is the newest snapshot's chain safe to build on.
    const newestNow = await readNewest(store, repo, options.trust, now());
    // Metadata collected before the lock builds on the snapshot that was newest then: another backup committed meanwhile, collect it again below.
    if (newestNow.newestId !== newestSeen.newestId) metadata = undefined;
    const concurrent = metadata ? undefined : unchanged(newestNow, listing, options.encryption);
    if (concurrent) return { status: 'unchanged', snapshot: concurrent, bytesUploaded: 0 }; // a concurrent run took it
    const newest = newestNow.manifest;
    const after = newestNow.newestId;
    const resumed = await resumablePending(store, repo, after, options.encryption);
    const id = resumed?.id ?? newSnapshotId(now(), after);
    const startedAt = resumed?.startedAt ?? now().toISOString();
    const base = resumed ? await baseChain(store, repo, resumed.base, options.trust) : chooseBase(newest, options.chainPolicy ?? DEFAULT_CHAIN_POLICY, options.encryption);
    const chain: BundleEntry[] = [...(base?.bundles ?? []), ...(resumed?.bundles ?? [])];

    const fetched = refsToFetch(chain, listing.refs);
    const groups = splitRefs(fetched, options.maxRefsPerBundle);
    let pendingWritten = resumed !== undefined;
    /** Records what is stored so far, so that the next invocation (or one after a kill) goes on from there. */
    const savePending = async (): Promise<void> => {
      const pending: PendingBackup = {
        format: 'lifeboat-pending', version: FORMAT_VERSION, id, startedAt, updatedAt: now().toISOString(),
        after, base: base?.id ?? null, bundles: chain.slice(base?.bundles.length ?? 0), encryption: options.encryption,
        ...(plan ? { segments: plan } : {}),
      };
      await store.put(pendingKey(repo, id), serializeDocument(pending), { contentType: 'application/json' });
      pendingWritten = true;
      await repoLock.refresh();
    };
    // The plan is made once, for the history this backup brings, and kept with the pending record: continuations never plan again.
    let plan: SegmentPlan | undefined = resumed?.segments;
    if (!resumed && options.segments && groups.length > 0) {
      const tip = historyTip(listing, fetched);
      plan = tip === undefined ? undefined : await planSegments(options.segments, git, tip, { stored: storedCommits(chain), tags: tagTargets(fetched) });
      if (plan) await savePending();
    }
    let bytesUploaded = 0;
    let bundlesWritten = 0;
    const knownPointers = (): PointerRecord[] => chain.flatMap((bundle) => bundle.lfsPointers ?? []);
    const outOfTime = (): boolean => options.deadline !== undefined && now() >= options.deadline;
    /** Bundles of this backup that earlier invocations stored: progress counts from them. */
    const earlier = resumed?.bundles.length ?? 0;
    /** What the repository's tags point at: the cuts at them are preferred (nextCut). */
    const taggedCommits = new Set(tagTargets(listing.refs));
    const segmentsLeft = (): boolean => plan !== undefined && options.segments !== undefined && plan.done < plan.cuts.length;
    /** The bundles the backup expects in all when the next segment starts at cut `fromCut`: each cut left one, and the ref groups. */
    const expected = (fromCut = plan?.done ?? 0): number => earlier + bundlesWritten + (plan && options.segments ? plan.cuts.length - fromCut : 0) + groups.length;
    const partial = (): BackupResult => ({
      status: 'partial', pendingId: id, bytesUploaded, bundlesWritten, refsRemaining: groups.flat().length,
      stored: earlier + bundlesWritten, expected: expected(), segmented: plan !== undefined,
    });
    // One fetch per bundle: segments first (the history up to each cut, oldest first), then the ref groups;
    // each with the tips stored before it as haves.
    while (segmentsLeft() || groups.length > 0) {
      options.signal?.throwIfAborted();
      const budget = segmentsLeft() ? byteBudget(options.segments!, plan) : undefined;
      const through = budget === undefined ? undefined : nextCut(plan!, budget, taggedCommits);
      const group = through === undefined ? groups[0]! : plan!.cuts[through]!.map((oid, tip) => ({ name: segmentRefName(id, through + 1, tip + 1), oid }));
      const kind = chain.length === 0 ? 'full' : 'incremental';
      options.onProgress?.({ phase: 'fetch', bundle: earlier + bundlesWritten + 1, bundles: expected(through ?? plan?.cuts.length), refs: group.length, kind, segmented: plan !== undefined });
      const started = now().getTime();
      let entry: BundleEntry;
      try {
        entry = await storeBundle({ ...options, id, group, haves: commitTips(chain), kind, now, knownPointers: knownPointers() });
      } catch (error) {
        if (through === undefined || !plan) throw error;
        // A cut the server refuses ("upload-pack: not our ref <oid>": history rewritten and collected
        // between two invocations) would fail every retry: the stored segments stay, the rest comes with the refs.
        if (isLifeboatError(error, 'GIT_REMOTE_ERROR') && group.some((ref) => ref.oid === error.details?.refusedWant)) {
          plan = { ...plan, cuts: plan.cuts.slice(0, plan.done), spans: plan.spans.slice(0, plan.done) };
          await savePending();
          continue;
        }
        // Anything else (the request cut at the cap, most likely): the retry fetches a smaller segment.
        if (!options.signal?.aborted) {
          const smaller = await smallerSegment(plan, git, budget!, through, storedCommits(chain)).catch(() => undefined);
          if (smaller) {
            plan = smaller;
            await savePending().catch(() => undefined);
          }
        }
        throw error;
      }
      chain.push(entry);
      bytesUploaded += entry.size;
      bundlesWritten += 1;
      options.onProgress?.({ phase: 'stored', bundle: earlier + bundlesWritten, bytes: entry.size });
      if (through === undefined) groups.shift();
      else plan = afterSegment(plan!, options.segments!, through, entry.pack.bytes, (now().getTime() - started) / 1000);
      // After the last bundle comes the manifest: no pending record needed.
      if (segmentsLeft() || groups.length > 0) {
        await savePending();
        if (outOfTime()) return partial();
      }
    }

    if (!metadata) {
      const previous = newest ? await previousIndex(options, newest, now) : undefined;
      if (collectors.length > 0 || previous) {
        options.onProgress?.({ phase: 'metadata' });
        metadata = await collectMetadata({ ...options, collectors, previous, lfsPointers: chainLfsPointers(chain), now });
      }
    }
    const manifest = await commitSnapshot({
      store,
      repo,
      manifest: {
        format: 'lifeboat-snapshot',
        version: FORMAT_VERSION,
        id,
        repository: { workspace: repo.workspace, repository: repo.repository, ...options.repository },
        source: git.url,
        createdAt: now().toISOString(),
        trigger: options.trigger,
        head: listing.head,
        refs: listing.refs.map(({ name, oid, peeled }) => (peeled ? { name, oid, peeled } : { name, oid })),
        bundles: chain,
        encryption: options.encryption,
      },
      ...(metadata ? { metadata: { index: metadata.index, partial: metadata.partial } } : {}),
      objectLock: options.objectLock,
      signingKey: options.signingKey,
      now,
      beforeCommit: () => {
        if (refreshFailure) throw refreshFailure; // a prune may have run meanwhile: never commit on a lost lock
      },
    });
    if (pendingWritten) await store.remove(pendingKey(repo, id));
    // Read back: a bucket that ignored the lock leaves the snapshot unprotected, and the backup must fail saying so.
    if (lockedFrom) await checkRetention(store, [snapshotKey(repo, id), signatureKey(repo, id, options.signingKey.fingerprint), ...(manifest.metadata ? [manifest.metadata.index.key] : []), ...chain.slice(chain.length - bundlesWritten).map((bundle) => bundle.key)], lockedFrom);
    options.onProgress?.({ phase: 'commit', snapshot: id });
    return { status: 'created', snapshot: manifest, ...(newest ? { previous: newest } : {}), ...(metadata ? { metadata: metadata.index } : {}), bytesUploaded, bundlesWritten };
  } finally {
    clearInterval(refresher);
    // A lock left behind goes stale by itself (and prune removes it): never let it hide the outcome.
    await repoLock.release().catch(() => undefined);
  }
}

type CollectedMetadata = Awaited<ReturnType<typeof collectMetadata>>;

/**
 * The index the next snapshot builds on, stored as this backup stores its
 * objects (indexToBuildOn). One that cannot be read (damaged, of a newer format)
 * must not stop the backup of the git history: the metadata is then collected
 * afresh, as for a first snapshot.
 */
async function previousIndex(options: BackupOptions, manifest: SnapshotManifest, now: () => Date): Promise<MetadataIndex | undefined> {
  let index: MetadataIndex | undefined;
  try {
    index = await readMetadataIndex(options.store, manifest);
  } catch (error) {
    if (isLifeboatError(error) && error.kind === 'user') return undefined;
    throw error;
  }
  return index && indexToBuildOn({ ...options, manifest, index, now });
}

/**
 * 20261126T061500Z-3fa9c1 (bucket-keys.ts checks the shape). Ids sort by time, and a
 * snapshot must sort after the newest one (`after`): one taken in the same second
 * (or on a clock behind) is stamped a second after it instead. The order of
 * snapshots is this id's (compareSnapshotIds).
 */
export function newSnapshotId(at: Date, after: string | null = null): string {
  const make = (time: Date): string => `${time.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')}-${randomBytes(3).toString('hex')}`;
  const id = make(at);
  return after !== null && id <= after ? make(new Date(snapshotIdTime(after).getTime() + 1000)) : id;
}

/**
 * The newest snapshot when it already holds the server's refs, stored the way
 * this backup would store them; never when the newest cannot be read (it may differ).
 */
function unchanged(newest: NewestSnapshot, listing: RefListing, encryption: EncryptionConfig | null): SnapshotManifest | undefined {
  return newest.manifest && newest.skipped.length === 0 && upToDate(newest.manifest, listing, encryption) ? newest.manifest : undefined;
}

function upToDate(manifest: SnapshotManifest, listing: RefListing, encryption: EncryptionConfig | null): boolean {
  if (!sameEncryption(manifest.encryption, encryption)) return false;
  if ((manifest.head.symref ?? null) !== (listing.head.symref ?? null)) return false;
  if (manifest.refs.length !== listing.refs.length) return false;
  const known = new Map(manifest.refs.map((ref) => [ref.name, ref.oid]));
  return listing.refs.every((ref) => known.get(ref.name) === ref.oid);
}

/**
 * A backup interrupted earlier (its pending record) is continued if no snapshot was
 * taken since it started and its bundles are encrypted as this backup's would be.
 */
async function resumablePending(store: BlobStore, repo: RepoPath, newestId: string | null, encryption: EncryptionConfig | null): Promise<PendingBackup | undefined> {
  const pending = (await listPending(store, repo).catch((error: unknown) => {
    // An unreadable record (damaged, or a newer Lifeboat's) is never resumed, and must not stop every backup: start afresh.
    if (isLifeboatError(error, 'FORMAT_INVALID') || isLifeboatError(error, 'FORMAT_UNSUPPORTED')) return [];
    throw error;
  })).at(-1);
  if (!pending || pending.after !== newestId || pending.encryption === undefined) return undefined;
  return sameEncryption(pending.encryption, encryption) ? pending : undefined;
}

async function baseChain(store: BlobStore, repo: RepoPath, baseId: string | null, trust: Trust): Promise<SnapshotManifest | undefined> {
  return baseId === null ? undefined : readManifest(store, { repo, id: baseId }, trust);
}

/**
 * The snapshot whose chain the next backup extends, or undefined for a new full
 * chain: when there is none yet, when the chain grew too long, or when the newest
 * snapshot is encrypted otherwise than this backup will be (an increment to new
 * recipients on a plain or differently encrypted base would leave the history
 * readable the old way; a snapshot is encrypted all or nothing).
 */
export function chooseBase(newest: SnapshotManifest | undefined, policy: ChainPolicy, encryption: EncryptionConfig | null): SnapshotManifest | undefined {
  if (newest && !sameEncryption(newest.encryption, encryption)) return undefined;
  const first = newest?.bundles[0];
  if (!newest || !first) return newest;
  // The chain's base is everything its first snapshot wrote (a split first backup is several bundles).
  const baseBundles = newest.bundles.filter((bundle) => bundle.createdBy === first.createdBy);
  const increments = newest.bundles.filter((bundle) => bundle.createdBy !== first.createdBy);
  const baseBytes = baseBundles.reduce((sum, bundle) => sum + bundle.size, 0);
  const incrementBytes = increments.reduce((sum, bundle) => sum + bundle.size, 0);
  const tooLong = new Set(increments.map((bundle) => bundle.createdBy)).size >= policy.maxIncrements || incrementBytes > baseBytes * policy.maxIncrementRatio;
  return tooLong ? undefined : newest;
}

/** The ref values a chain reproduces when its bundles are applied in order. */
function chainState(chain: BundleEntry[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const bundle of chain) for (const ref of bundle.refs) state.set(ref.name, ref.oid);
  return state;
}

/** Refs whose current value the chain does not already hold. Deleted refs need no bundle: the manifest's ref list is the truth. */
function refsToFetch(chain: BundleEntry[], refs: RemoteRef[]): RemoteRef[] {
  const state = chainState(chain);
  return refs.filter((ref) => state.get(ref.name) !== ref.oid);
}

/**
 * Haves and bundle prerequisites: branch tips, and the tips of the chain's newest
 * segment. A prerequisite must be a commit ("lacks these prerequisite commits"
 * otherwise), and only refs/heads/ and segment refs (cut points) are sure to hold
 * commits: a tag may point at a tree or a blob. Each cut descends from the cuts
 * before it (HistorySource), so the newest one stands for all of them.
 */
function commitTips(chain: BundleEntry[]): string[] {
  const tips = new Set<string>();
  for (const [name, oid] of chainState(chain)) if (isBranchRef(name)) tips.add(oid);
  const newestSegment = chain.findLast((bundle) => segmentTips(bundle).length > 0);
  for (const oid of newestSegment ? segmentTips(newestSegment) : []) tips.add(oid);
  return [...tips].sort();
}

/**
 * The history a plan cuts: of the branches this backup fetches, HEAD's (the default
 * branch, usually the longest), else the first. One line only: another branch's new
 * history comes with the refs, in one fetch.
 */
function historyTip(listing: RefListing, fetched: readonly RemoteRef[]): string | undefined {
  const branches = fetched.filter((ref) => isBranchRef(ref.name));
  return (branches.find((ref) => ref.name === listing.head.symref) ?? branches[0])?.oid;
}

/** What tags point at, peeled: commits mostly, but a tag may name a tree or a blob. */
function tagTargets(refs: readonly RemoteRef[]): string[] {
  return refs.filter((ref) => isTagRef(ref.name)).map((ref) => ref.peeled ?? ref.oid);
}

/**
 * The commits a chain is known to hold, where an incremental's new history ends
 * (deepenHistory): its branch tips and the tips of all its segments. Commits only
 * (a shallow line naming anything else fails the request): see commitTips.
 */
function storedCommits(chain: BundleEntry[]): string[] {
  return [...new Set([...commitTips(chain), ...chain.flatMap(segmentTips)])].sort();
}

function splitRefs(refs: RemoteRef[], maxPerBundle: number | undefined): RemoteRef[][] {
  if (refs.length === 0) return [];
  if (maxPerBundle !== undefined && (!Number.isInteger(maxPerBundle) || maxPerBundle < 1)) {
    throw new LifeboatError('INVALID_ARGUMENT', `maxRefsPerBundle must be a positive integer, not ${maxPerBundle}.`);
  }
  // Branches first: their tips become the next bundles' haves, so later groups are thin.
  const ordered = [...refs].sort((a, b) => Number(!isBranchRef(a.name)) - Number(!isBranchRef(b.name)) || a.name.localeCompare(b.name));
  const size = maxPerBundle ?? ordered.length;
  const groups: RemoteRef[][] = [];
  for (let start = 0; start < ordered.length; start += size) groups.push(ordered.slice(start, start + size));
  return groups;
}

interface StoreBundleOptions extends BackupOptions {
  id: string;
  group: RemoteRef[];
  haves: string[];
  kind: 'full' | 'incremental';
  now: () => Date;
  /** Pointers the chain's earlier bundles recorded: bases of this thin pack. */
  knownPointers: PointerRecord[];
}

/** One fetch streamed as a bundle (header + raw pack) into one stored object. */
async function storeBundle(options: StoreBundleOptions): Promise<BundleEntry> {
  const { git, group, haves } = options;
  const wants = [...new Set(group.map((ref) => ref.oid))];
  const pack = await git.fetchPack({
    wants,
    haves,
    onProgress: (message) => options.onProgress?.({ phase: 'server', message }),
  });
  const refs: SnapshotRef[] = group.map(({ name, oid }) => ({ name, oid }));
  const header = writeBundleHeader({
    prerequisites: haves.map((oid) => ({ oid, comment: '' })),
    refs: refs.map(({ name, oid }) => ({ name, oid })),
  });
  // The pack is tee'd through the pointer scanner on its way to the bucket, never held.
  const scanner = new LfsPointerScanner(options.knownPointers);
  async function* scanned(): AsyncGenerator<Uint8Array> {
    for await (const chunk of pack) {
      await scanner.write(chunk);
      yield chunk;
    }
  }
  const stored = await writeObject(concatStreams([header, scanned()]), {
    store: options.store,
    repo: options.repo,
    encryption: options.encryption,
    objectLock: options.objectLock,
    now: options.now(),
    onProgress: (bytes) => options.onProgress?.({ phase: 'upload', bytes }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const pointers = (await scanner.end()).pointers;
  return {
    key: stored.key,
    sha256: stored.sha256,
    size: stored.size,
    kind: options.kind,
    prerequisites: haves,
    refs: refs.map(({ name, oid }) => ({ name, oid })),
    pack: { objectCount: pack.stats.objectCount, trailer: pack.stats.trailer, bytes: pack.stats.bytes },
    encrypted: options.encryption !== null,
    createdBy: options.id,
    ...(pointers.length > 0 ? { lfsPointers: pointers } : {}),
  };
}

/** The LFS objects a chain's packs point to, each once: the snapshot's LFS pointers (recorded per bundle, so a backup split across invocations keeps them). */
function chainLfsPointers(chain: readonly BundleEntry[]): LfsPointer[] {
  const byOid = new Map<string, LfsPointer>();
  for (const bundle of chain) for (const { oid, size } of bundle.lfsPointers ?? []) byOid.set(oid, { oid, size });
  return [...byOid.values()].sort((a, b) => (a.oid < b.oid ? -1 : 1));
}
