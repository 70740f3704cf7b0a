// Snapshots taken before the app signed (issue 18, "Signed snapshots"): they stay
// readable and are shown "not signed". The app signs, once per repository, those its
// own KVS index recorded with the same content: the index is written by the app
// alone, so it vouches for what the app's backups committed, where the bucket (which
// anyone with its keys can write) cannot. What the index cannot vouch for stays "not signed".
// Its limit: an earlier Lifeboat rebuilt entries from the bucket when they drifted
// (an index heal); an entry healed from a manifest planted before the upgrade
// vouches for the plant. Entries written since signing carry the committed digest
// and are never rebuilt from the bucket's bytes.
import { createHash } from 'node:crypto';
import type { SnapshotSummary } from '../../contract.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import { isNotFound } from '../../engine/bucket/blob-store.js';
import { type ObjectLockConfig, type SnapshotManifest, manifestSchema, parseDocument } from '../../engine/bucket/format.js';
import { type RepoPath, snapshotKey } from '../../engine/bucket/bucket-keys.js';
import type { SigningKey } from '../../engine/bucket/signing.js';
import { writeSignature } from '../../engine/commit.js';
import { collect } from '../../engine/streams.js';
import { summarize } from './snapshot-index.js';
import { now as appNow } from '../../forge/state/context.js';

export interface LegacySigner {
  key: SigningKey;
  /** Retention for the signature objects, as the settings give it for everything written now. */
  objectLock: ObjectLockConfig | null;
}

/**
 * Signs snapshot `id` when the manifest in the bucket is what the app's index recorded
 * (`recorded`; `previous`: the snapshot before it, for the recorded ref changes). The
 * bytes compared are the bytes signed: a manifest changed in between is not signed.
 */
export async function signIfRecorded(store: BlobStore, repo: RepoPath, id: string, recorded: SnapshotSummary, previous: SnapshotManifest | undefined, signer: LegacySigner): Promise<boolean> {
  const key = snapshotKey(repo, id);
  let bytes: Buffer;
  try {
    bytes = await collect(await store.get(key));
  } catch (error) {
    if (isNotFound(error)) return false; // pruned meanwhile
    throw error;
  }
  const manifest = parseDocument(manifestSchema, bytes, `Snapshot manifest ${key}`);
  if (manifest.id !== id || manifest.repository.workspace !== repo.workspace || manifest.repository.repository !== repo.repository) return false;
  if (!matchesRecord(recorded, bytes, manifest, previous)) return false;
  await writeSignature({ store, repo, id, manifestBytes: bytes, signingKey: signer.key, objectLock: signer.objectLock, now: new Date(appNow()) });
  return true;
}

/** What a recorded entry binds of a manifest, besides its digest (recorded only since signing). */
const RECORDED_FIELDS = ['id', 'createdAt', 'trigger', 'refs', 'bytes', 'ownBytes', 'recipients', 'chain', 'increments', 'changes'] as const;

/**
 * Entries indexed since signing hold the manifest's digest: the bytes must have it.
 * Older entries hold no digest, and neither ref names nor bundle hashes: only the
 * summary (id, time, trigger, number of refs, the sizes of the bundles it names and
 * of those it added, recipients, chain shape, refs added/moved/deleted since the
 * snapshot before). A manifest that differs in any of these is not signed. This is
 * NOT as strong as a digest: a rewrite keeping every count and size (a ref moved to
 * another commit inside the same bundles) would pass. It is all the app ever
 * recorded, and it refuses what a planted manifest most plausibly changes (another
 * snapshot's id or time, other bundles, other recipients, refs added or removed).
 */
function matchesRecord(recorded: SnapshotSummary, bytes: Buffer, manifest: SnapshotManifest, previous: SnapshotManifest | undefined): boolean {
  if (recorded.manifestSha256 !== undefined) return createHash('sha256').update(bytes).digest('hex') === recorded.manifestSha256;
  const now = summarize(manifest, previous);
  return RECORDED_FIELDS.every((field) => JSON.stringify(now[field]) === JSON.stringify(recorded[field]));
}
