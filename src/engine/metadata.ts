/**
 * Collecting a snapshot's metadata (bucket/metadata.ts holds the format). The
 * engine knows no Bitbucket: whoever runs a backup passes collectors (the app's
 * pull request and configuration readers, the LFS downloader), each filling its
 * sections of the next index from what the previous snapshot already holds.
 */
import type { BlobStore } from './bucket/blob-store.js';
import { type EncryptionConfig, type ObjectLockConfig, type SnapshotManifest, type StoredObjectRef, sameEncryption } from './bucket/format.js';
import type { RepoPath } from './bucket/bucket-keys.js';
import { type MetadataIndex, type MetadataProblem, type MetadataSections, isPartial, metadataDigest, metadataObjects, nextIndex, withDigestsOf, writeMetadataBlob, writeMetadataDocument } from './bucket/metadata.js';
import { readVerified } from './bucket/objects.js';
import type { SigningKey } from './bucket/signing.js';
import { toLifeboatError } from './errors.js';
import type { ByteStream } from './streams.js';

/** An LFS pointer found in a fetched pack: the object a checkout of that blob needs. */
export interface LfsPointer {
  oid: string;
  size: number;
}

export interface MetadataContext {
  repo: RepoPath;
  /** The index of the snapshot this one follows (the newest readable), if it has one; its digests are of `digest`'s kind or absent. */
  previous: MetadataIndex | undefined;
  /**
   * The digest an entry records of its document (plain SHA-256, or keyed in an encrypted snapshot: metadataDigest):
   * an entry whose digest equals the previous entry's names the same object again.
   */
  digest(value: unknown): string;
  /** The LFS objects the snapshot's bundle chain points to, each once (recorded per bundle while its pack streamed). */
  lfsPointers: readonly LfsPointer[];
  /** Stores a JSON document (gzip, encrypted like the snapshot) and returns what the index names. */
  writeDocument(document: unknown): Promise<StoredObjectRef>;
  /** Stores raw bytes (an LFS object) the same way. */
  writeBlob(content: ByteStream): Promise<StoredObjectRef>;
  /** Stop before this and report the section incomplete: the next backup goes on. */
  deadline?: Date;
  now: () => Date;
  signal?: AbortSignal;
}

export interface MetadataCollector {
  /** The section it fills: a failure of the collector is recorded as a problem of this section. */
  section: MetadataProblem['section'];
  /** The sections it fills, and any problem met (a section it could read only in part). */
  collect(context: MetadataContext): Promise<MetadataSections & { problems?: MetadataProblem[] }>;
}

export interface CollectOptions {
  store: BlobStore;
  repo: RepoPath;
  collectors: readonly MetadataCollector[];
  previous: MetadataIndex | undefined;
  lfsPointers: readonly LfsPointer[];
  encryption: EncryptionConfig | null;
  objectLock: ObjectLockConfig | null;
  /** The snapshot's signing key: an encrypted snapshot's digests are keyed by a key derived from it. */
  signingKey: SigningKey;
  deadline?: Date;
  now: () => Date;
  signal?: AbortSignal;
}

/**
 * Runs every collector in turn and assembles the next index. A collector that
 * fails with a user or transient error (a permission missing, Bitbucket down)
 * does not fail the backup of the git history: its sections are carried forward
 * from the previous snapshot and the error is recorded as a problem of its own.
 * A bug, or a cancelled backup, still throws.
 */
export async function collectMetadata(options: CollectOptions): Promise<{ index: MetadataIndex; changed: boolean; partial: boolean }> {
  const write = { store: options.store, repo: options.repo, encryption: options.encryption, objectLock: options.objectLock, ...(options.signal ? { signal: options.signal } : {}) };
  const digest = metadataDigest(options.encryption !== null, options.signingKey);
  // Compared like with like: digests of another kind are dropped, never carried or matched (withDigestsOf).
  const previous = options.previous && withDigestsOf(options.previous, digest);
  const context: MetadataContext = {
    repo: options.repo,
    previous,
    digest: digest.of,
    lfsPointers: options.lfsPointers,
    writeDocument: (document) => writeMetadataDocument(document, { ...write, now: options.now() }),
    writeBlob: (content) => writeMetadataBlob(content, { ...write, now: options.now() }),
    ...(options.deadline ? { deadline: options.deadline } : {}),
    now: options.now,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const collected: MetadataSections & { problems: MetadataProblem[] } = { problems: [] };
  let interrupted = false;
  for (const collector of options.collectors) {
    options.signal?.throwIfAborted();
    try {
      const { problems = [], ...sections } = await collector.collect(context);
      Object.assign(collected, sections);
      collected.problems.push(...problems);
    } catch (error) {
      const failure = toLifeboatError(error);
      if (failure.kind === 'bug' || failure.code === 'ABORTED') throw error;
      // A transient failure (Bitbucket down, rate limited) leaves the section as it was: the next backup completes it.
      if (failure.kind === 'transient') interrupted = true;
      collected.problems.push({ section: collector.section, code: failure.code, message: failure.message });
    }
  }
  const next = nextIndex(previous, collected, options.now().toISOString(), digest.key);
  return { ...next, partial: interrupted || isPartial(next.index) };
}

export interface BuildOnOptions {
  store: BlobStore;
  repo: RepoPath;
  /** The snapshot the next one follows, and its index. */
  manifest: SnapshotManifest;
  index: MetadataIndex;
  /** How the next snapshot is stored. */
  encryption: EncryptionConfig | null;
  objectLock: ObjectLockConfig | null;
  now: () => Date;
  signal?: AbortSignal;
}

/**
 * The previous index as the next snapshot may build on it. A snapshot is
 * encrypted all or nothing: every object its index names is stored as its
 * bundles are. When the encryption changed since the previous snapshot, plain
 * objects are encrypted anew (read, encrypted, stored: no call to Bitbucket);
 * objects encrypted to other recipients cannot be read without an identity, so
 * their sections are left out for their collectors to fetch again, except
 * attachments, which nothing can fetch again: they stay as they are, and a
 * problem says so.
 */
export async function indexToBuildOn(options: BuildOnOptions): Promise<MetadataIndex> {
  const { index, manifest } = options;
  if (sameEncryption(manifest.encryption, options.encryption)) return index;
  if (manifest.encryption === null) {
    const moved = new Map<string, StoredObjectRef>();
    for (const object of metadataObjects(index)) {
      options.signal?.throwIfAborted();
      if (moved.has(object.key)) continue;
      moved.set(object.key, await writeMetadataBlob(readVerified(options.store, options.repo, object), {
        store: options.store, repo: options.repo, encryption: options.encryption, objectLock: options.objectLock, now: options.now(), ...(options.signal ? { signal: options.signal } : {}),
      }));
    }
    const to = <T extends { object: StoredObjectRef }>(entry: T): T => ({ ...entry, object: moved.get(entry.object.key) ?? entry.object });
    return {
      ...index,
      ...(index.pullRequests ? { pullRequests: { ...index.pullRequests, items: index.pullRequests.items.map(to) } } : {}),
      ...(index.configuration ? { configuration: index.configuration.map(to) } : {}),
      ...(index.lfs ? { lfs: { ...index.lfs, items: index.lfs.items.map(to) } } : {}),
      ...(index.attachments ? { attachments: index.attachments.map(to) } : {}),
    };
  }
  const stale = index.attachments?.filter((entry) => entry.object.encrypted) ?? [];
  return {
    format: index.format,
    version: index.version,
    createdAt: index.createdAt,
    ...(index.attachments ? { attachments: index.attachments } : {}),
    problems: [
      ...index.problems.filter((problem) => problem.section === 'attachments'),
      ...stale.map((entry) => ({
        section: 'attachments' as const,
        subject: entry.name,
        code: 'IDENTITY_REQUIRED',
        message: `The attachment ${entry.name} stays encrypted to the recipients of snapshot ${manifest.id} (${manifest.encryption?.recipients.join(', ')}): open it with their identity, or attach it again.`,
      })),
    ],
  };
}
