/**
 * How a snapshot becomes visible, for every writer (backup, attach): its metadata
 * index first, then the manifest's signature, then the manifest, last
 * (docs/bucket-format.md, "Writing"). Nothing is a snapshot before its manifest
 * exists, a manifest names only what is stored, and no manifest is ever seen
 * before its signature is there to check it by.
 */
import type { BlobStore, ObjectLockOptions } from './bucket/blob-store.js';
import { type ObjectLockConfig, type SnapshotManifest, serializeDocument } from './bucket/format.js';
import { type RepoPath, signatureKey, snapshotKey } from './bucket/bucket-keys.js';
import { type MetadataIndex, writeMetadataIndex } from './bucket/metadata.js';
import { lockFor } from './bucket/objects.js';
import { type SigningKey, signManifest } from './bucket/signing.js';

export interface CommitOptions {
  store: BlobStore;
  repo: RepoPath;
  /** The manifest, without `metadata`: the index written here is named in it. */
  manifest: Omit<SnapshotManifest, 'metadata'>;
  metadata?: { index: MetadataIndex; partial: boolean };
  objectLock: ObjectLockConfig | null;
  /** Every snapshot is signed (signing.ts): the app's key, or the command line's key file. */
  signingKey: SigningKey;
  now: () => Date;
  /** Runs right before the manifest is written; throwing abandons the commit (a lock lost meanwhile). */
  beforeCommit?: () => void;
}

export async function commitSnapshot(options: CommitOptions): Promise<SnapshotManifest> {
  const { store, repo, objectLock, now, metadata } = options;
  const index = metadata ? await writeMetadataIndex(metadata.index, { store, repo, encryption: null, objectLock, now: now() }) : undefined;
  const manifest: SnapshotManifest = { ...options.manifest, ...(metadata && index ? { metadata: { index, partial: metadata.partial } } : {}) };
  options.beforeCommit?.();
  const bytes = serializeDocument(manifest);
  await writeSignature({ store, repo, id: manifest.id, manifestBytes: bytes, signingKey: options.signingKey, objectLock, now: now() });
  await store.put(snapshotKey(repo, manifest.id), bytes, jsonPut(objectLock, now()));
  return manifest;
}

/** Signs a manifest's exact bytes and stores the signature (signatures/<id>.<key>.json), locked like the manifest. */
export async function writeSignature(options: { store: BlobStore; repo: RepoPath; id: string; manifestBytes: Buffer; signingKey: SigningKey; objectLock: ObjectLockConfig | null; now: Date }): Promise<void> {
  const { store, repo, id, signingKey, now } = options;
  await store.put(signatureKey(repo, id, signingKey.fingerprint), serializeDocument(signManifest(options.manifestBytes, id, signingKey, now)), jsonPut(options.objectLock, now));
}

function jsonPut(objectLock: ObjectLockConfig | null, now: Date): { contentType: string; lock?: ObjectLockOptions } {
  const lock = lockFor(objectLock, now);
  return { contentType: 'application/json', ...(lock ? { lock } : {}) };
}
