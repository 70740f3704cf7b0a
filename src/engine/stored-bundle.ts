/**
 * A bundle read back from the bucket: checked against its SHA-256, decrypted when
 * needed, and its header compared with what the snapshot manifest records.
 */
import { LifeboatError } from './errors.js';
import type { BlobStore } from './bucket/blob-store.js';
import type { BundleEntry, SnapshotManifest } from './bucket/format.js';
import { readPlain } from './bucket/objects.js';
import { type Bundle, readBundle } from './git/bundle.js';

export async function openStoredBundle(store: BlobStore, manifest: SnapshotManifest, entry: BundleEntry, identities: string[] | undefined): Promise<Bundle> {
  const bundle = await readBundle(readPlain(store, manifest, entry, identities));
  const expected = new Map(entry.refs.map((ref) => [ref.name, ref.oid]));
  const matches = bundle.refs.length === entry.refs.length && bundle.refs.every((ref) => expected.get(ref.name) === ref.oid);
  if (!matches) {
    throw new LifeboatError('BUNDLE_CORRUPT', `Bundle ${entry.key} does not list the refs its snapshot manifest records.`, { details: { key: entry.key } });
  }
  return bundle;
}
