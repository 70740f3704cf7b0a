/**
 * A bundle read back from the bucket: checked against its SHA-256, decrypted when
 * needed, and its header compared with what the snapshot manifest records.
 */
import { LifeboatError } from './errors.js';
import type { BlobStore } from './bucket/blob-store.js';
import type { BundleEntry, SnapshotManifest } from './bucket/format.js';
import { checkObject, readPlain } from './bucket/objects.js';
import { type Bundle, readBundle } from './git/bundle.js';
import type { ByteStream } from './streams.js';

/**
 * A stored bundle for git (a push, index-pack): git sees none of its bytes before
 * the whole object matched its SHA-256 (bucket-format.md: restore refuses before
 * git sees the bytes). A check while streaming would tell only at the end, when
 * git has taken all but the last chunk and failed on the damage itself, blaming
 * its own input or the target server. So the stored object is read twice: a
 * hashing pass, then the stream to git. Keeping it between the two instead is no
 * option: the engine writes no files, and a bundle can be gigabytes where a Forge
 * function has a few hundred megabytes of memory. The second read is checked as
 * well (readVerified): an object rewritten in between still never reaches git whole.
 */
export async function openStoredBundle(store: BlobStore, manifest: SnapshotManifest, entry: BundleEntry, identities: string[] | undefined): Promise<Bundle> {
  const plain = readPlain(store, manifest, entry, identities); // a missing identity fails here, before any read
  await checkObject(store, manifest.repository, entry);
  return openBundle(plain, entry);
}

/**
 * A stored bundle for a reader that only parses it (the restore plan, verify):
 * one read, checked as it goes. Such a reader meets damage before the hash does
 * and must tell it as the cause with rootCause (bucket/objects.ts).
 */
export async function scanStoredBundle(store: BlobStore, manifest: SnapshotManifest, entry: BundleEntry, identities: string[] | undefined): Promise<Bundle> {
  return openBundle(readPlain(store, manifest, entry, identities), entry);
}

async function openBundle(plain: ByteStream, entry: BundleEntry): Promise<Bundle> {
  const bundle = await readBundle(plain);
  const expected = new Map(entry.refs.map((ref) => [ref.name, ref.oid]));
  const matches = bundle.refs.length === entry.refs.length && bundle.refs.every((ref) => expected.get(ref.name) === ref.oid);
  if (!matches) {
    throw new LifeboatError('BUNDLE_CORRUPT', `Bundle ${entry.key} does not list the refs its snapshot manifest records.`, { details: { key: entry.key } });
  }
  return bundle;
}
