/**
 * A push restore's plan, read from the snapshot before anything is written: the
 * size, the pushes, and what Bitbucket would refuse. Sizes come from the
 * manifest; files over the limit from the packs' object headers, each bundle
 * streamed from the bucket (pack-walk.ts), never from the git server; their
 * paths from a second read of the trees, only when there are such files.
 *
 * Bitbucket's push limits: a push that contains any file over 100 MB is refused
 * unless a repository admin turned the limit off in the repository's settings
 * (Atlassian Community, "Bitbucket Cloud is implementing a 100 MB limit on files
 * included in pushes", 2024); a push whose pack is over 3.5 GB fails (Bitbucket
 * blog, "Git push size limits are coming to Bitbucket Cloud starting April 4th,
 * 2022"); a repository is locked at 4 GB (Bitbucket Cloud docs, "Reduce
 * repository size"). Whether "MB"/"GB" are powers of 1000 or 1024 is not
 * documented: assumed 1000, the smaller, so that the plan warns rather than a
 * push failing.
 */
import { createHash } from 'node:crypto';
import { LifeboatError, toLifeboatError } from './errors.js';
import type { BlobStore } from './bucket/blob-store.js';
import type { BundleEntry, SnapshotManifest } from './bucket/format.js';
import { rootCause } from './bucket/objects.js';
import { BlobPathFinder } from './git/blob-paths.js';
import { blobId } from './git/lfs-pointers.js';
import { BLOB, OFS_DELTA, type PackObjectHeader, type PackObjectSink, type PackVisitor, PackWalker, REF_DELTA, packCorrupt, readDeltaSizes } from './git/pack-walk.js';
import { scanStoredBundle } from './stored-bundle.js';

export interface RestoreLimits {
  /** A push containing a file larger than this is refused (unless the target's large-file limit is lifted). */
  fileMaxBytes: number;
  /** No push should carry a pack larger than this (well below Bitbucket's 3.5 GB). */
  pushMaxBytes: number;
  /** The target is locked once it is larger than this. */
  repositoryMaxBytes: number;
}

/** Trees kept at most to find the large files' paths (blob-paths.ts): past it, paths are left out. */
const PATH_BUDGET_BYTES = 64 * 1024 * 1024;

export const DEFAULT_RESTORE_LIMITS: RestoreLimits = {
  fileMaxBytes: 100 * 1000 * 1000,
  pushMaxBytes: 2 * 1024 ** 3,
  repositoryMaxBytes: 4 * 1000 ** 3,
};

/** A file (blob) over the limit, as the pack stores it. */
export interface LargeFile {
  /** The bundle (1-based) whose push carries it. */
  bundle: number;
  /** Its inflated size. */
  size: number;
  /**
   * The blob's id when the pack stores it whole; a blob stored as a delta has
   * its id only once rebuilt from its base, which the plan does not do.
   */
  blob?: string;
  /** Where it sits in some commit's tree, when the blob's id is known and the history's trees fit the budget. */
  path?: string;
}

export interface RestorePlan {
  snapshot: string;
  /** Pack bytes of all bundles: about what the target will hold. */
  bytes: number;
  /** Each bundle's pack: one push each, in order. */
  bundles: { bundle: number; bytes: number; objects: number }[];
  /** At most this many pushes: one per bundle, then the real refs in one last (pack-less) push. */
  pushes: number;
  limits: RestoreLimits;
  largeFiles: LargeFile[];
  /** Bundles (1-based) whose pack alone is over the push cap: restoring them takes a push over it. */
  oversizedBundles: number[];
  /** The snapshot alone would pass the target's size limit, where the target locks. */
  overRepositoryLimit: boolean;
}

export type PlanProgress = { phase: 'plan'; bundle: number; bundles: number; bytes: number };

/** Reads every bundle of the snapshot (decrypting with `identities` when needed) and says what a push restore will do. */
export async function planRestore(source: {
  store: BlobStore;
  manifest: SnapshotManifest;
  identities?: string[];
  limits?: Partial<RestoreLimits>;
  onProgress?: (progress: PlanProgress) => void;
}): Promise<RestorePlan> {
  const { manifest } = source;
  const limits = { ...DEFAULT_RESTORE_LIMITS, ...source.limits };
  const largeFiles: LargeFile[] = [];
  for (const [index, entry] of manifest.bundles.entries()) {
    source.onProgress?.({ phase: 'plan', bundle: index + 1, bundles: manifest.bundles.length, bytes: entry.pack.bytes });
    const finder = new LargeFileFinder(index + 1, limits.fileMaxBytes);
    await walkBundle(source.store, manifest, entry, source.identities, finder);
    largeFiles.push(...finder.found);
  }
  await findPaths(source.store, manifest, source.identities, largeFiles);
  const bundles = manifest.bundles.map((entry, index) => ({ bundle: index + 1, bytes: entry.pack.bytes, objects: entry.pack.objectCount }));
  const bytes = bundles.reduce((sum, bundle) => sum + bundle.bytes, 0);
  return {
    snapshot: manifest.id,
    bytes,
    bundles,
    pushes: bundles.length + 1,
    limits,
    largeFiles,
    oversizedBundles: bundles.filter((bundle) => bundle.bytes > limits.pushMaxBytes).map((bundle) => bundle.bundle),
    overRepositoryLimit: bytes > limits.repositoryMaxBytes,
  };
}

/**
 * Only when there are large files: a second read of the chain, keeping its trees
 * (within PATH_BUDGET_BYTES), to name where each large blob whose id is known sits.
 */
async function findPaths(store: BlobStore, manifest: SnapshotManifest, identities: string[] | undefined, largeFiles: LargeFile[]): Promise<void> {
  const targets = new Set(largeFiles.flatMap((file) => (file.blob ? [file.blob] : [])));
  if (targets.size === 0) return;
  const finder = new BlobPathFinder(targets, PATH_BUDGET_BYTES);
  for (const entry of manifest.bundles) {
    await walkBundle(store, manifest, entry, identities, finder.pack());
    if (finder.exhausted) break;
  }
  const paths = finder.paths();
  for (const file of largeFiles) {
    const path = file.blob ? paths.get(file.blob) : undefined;
    if (path !== undefined) file.path = path;
  }
}

/** One read of a bundle's pack through `visitor`; a damaged bundle fails as CHECKSUM_MISMATCH, whatever part of the walk met the damage first. */
async function walkBundle(store: BlobStore, manifest: SnapshotManifest, entry: BundleEntry, identities: string[] | undefined, visitor: PackVisitor): Promise<void> {
  try {
    const bundle = await scanStoredBundle(store, manifest, entry, identities);
    const walker = new PackWalker(visitor);
    for await (const chunk of bundle.pack) await walker.write(chunk);
    await walker.end();
  } catch (error) {
    throw await rootCause(store, manifest.repository, entry, toLifeboatError(error));
  }
}

/** Refuses, before anything is written, a restore carrying a file over the limit that nobody confirmed the target takes. */
export function requireLargeFilesConfirmed(plan: RestorePlan, confirmed: boolean): void {
  if (plan.largeFiles.length === 0 || confirmed) return;
  throw new LifeboatError('RESTORE_LARGE_FILES', `Snapshot ${plan.snapshot} holds ${largeFilesWords(plan)}; Bitbucket refuses a push containing one unless the repository's large-file limit is lifted. Nothing was written.`, {
    details: largeFilesDetails(plan),
  });
}

/** A push carrying a large file was refused: most likely the target's limit, said so instead of the server's bare refusal. */
export function largeFileRefused(plan: RestorePlan, bundle: number, cause: LifeboatError): LifeboatError {
  return new LifeboatError('RESTORE_LARGE_FILE_REFUSED', `The push of bundle ${bundle}, which holds ${largeFilesWords({ ...plan, largeFiles: plan.largeFiles.filter((file) => file.bundle === bundle) })}, was refused (${cause.message}). The repository's large-file limit is most likely still on; the real refs were not changed.`, {
    cause, details: { ...largeFilesDetails(plan), bundle },
  });
}

function largeFilesDetails(plan: RestorePlan): Record<string, unknown> {
  return { snapshot: plan.snapshot, fileMaxBytes: plan.limits.fileMaxBytes, largeFiles: plan.largeFiles };
}

/** "2 files over 100000000 bytes (blob 3f2a… 125829120 bytes, ...)": the ids and sizes, at most a few. */
function largeFilesWords(plan: RestorePlan): string {
  const shown = plan.largeFiles.slice(0, 5).map((file) => `${file.path ? `${file.path}: ` : ''}${file.blob ? `blob ${file.blob}` : `a blob stored as a delta in bundle ${file.bundle}`}, ${file.size} bytes`);
  const more = plan.largeFiles.length > shown.length ? `; ${plan.largeFiles.length - shown.length} more` : '';
  const count = plan.largeFiles.length;
  return `${count} file${count === 1 ? '' : 's'} over ${plan.limits.fileMaxBytes} bytes (${shown.join('; ')}${more})`;
}

/**
 * Finds the blobs over the limit in one pack. A blob is stored whole (its id is
 * hashed as it inflates) or as a delta, whose result size is in the delta's
 * first bytes and whose type is its base's. Types are recorded only for objects
 * of at least half the limit: git deltifies an object only against a base more
 * than half its size (pack-objects' try_delta: the size difference must stay
 * under half the target), so a large delta's base is among them. A delta whose
 * base is not recorded (a thin pack's base in an earlier bundle) is counted as a
 * file: a warning too many beats a push refused half-way.
 */
class LargeFileFinder {
  readonly found: LargeFile[] = [];
  /** Pack offset → object type (a delta's: its result's), for objects of at least half the limit. */
  private readonly types = new Map<number, number>();

  constructor(private readonly bundle: number, private readonly limit: number) {}

  object(header: PackObjectHeader, content: Buffer): void {
    if (header.type === BLOB) {
      if (header.size > this.limit) this.found.push({ bundle: this.bundle, size: header.size, blob: blobId(content) });
      this.record(header.offset, BLOB, header.size);
    } else if (header.type === OFS_DELTA || header.type === REF_DELTA) {
      this.delta(header, content);
    } else {
      this.record(header.offset, header.type, header.size);
    }
  }

  large(header: PackObjectHeader): PackObjectSink | undefined {
    if (header.type === OFS_DELTA || header.type === REF_DELTA) {
      // Only the delta's first bytes (its two sizes) matter.
      const start: Buffer[] = [];
      let held = 0;
      return {
        data: (chunk) => {
          if (held < 32) start.push(chunk.subarray(0, 32 - held));
          held += chunk.byteLength;
        },
        end: () => this.delta(header, Buffer.concat(start)),
      };
    }
    this.record(header.offset, header.type, header.size);
    if (header.type !== BLOB || header.size <= this.limit) return undefined;
    // git's object id of a blob, as blobId() has it, hashed as the blob streams.
    const hash = createHash('sha1').update(`blob ${header.size}\0`);
    return {
      data: (chunk) => hash.update(chunk),
      end: () => this.found.push({ bundle: this.bundle, size: header.size, blob: hash.digest('hex') }),
    };
  }

  private delta(header: PackObjectHeader, start: Buffer): void {
    const sizes = readDeltaSizes(start);
    if (!sizes) throw packCorrupt(`The delta at offset ${header.offset} of the pack has no sizes.`);
    const base = header.baseOffset === undefined ? undefined : this.types.get(header.baseOffset);
    const type = base ?? BLOB;
    if (type === BLOB && sizes.resultSize > this.limit) this.found.push({ bundle: this.bundle, size: sizes.resultSize });
    this.record(header.offset, type, sizes.resultSize);
  }

  private record(offset: number, type: number, size: number): void {
    if (size * 2 >= this.limit) this.types.set(offset, type);
  }
}
