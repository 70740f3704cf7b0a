/**
 * Verify: a snapshot can be restored. Without an identity: every object exists and
 * matches its SHA-256, and the chain is complete. With an identity (or when not
 * encrypted) also: each bundle's header matches the manifest and its pack's
 * signature, object count and SHA-1 trailer are intact. The same for every
 * metadata object the snapshot's index names: present with its hash and size, and
 * with an identity (or plain) also decrypted and parsed (a JSON document against
 * its schema, an LFS object against its oid).
 */
import { type LifeboatError, toLifeboatError } from './errors.js';
import type { BlobStore } from './bucket/blob-store.js';
import type { UnreadableManifest } from './bucket/catalog.js';
import type { SnapshotManifest, StoredObjectRef } from './bucket/format.js';
import { type ConfigurationEntry, type PullRequestEntry, readEntryDocument, readMetadataIndex } from './bucket/metadata.js';
import { checkObject, readPlain, rootCause } from './bucket/objects.js';
import { checkPack } from './git/pack-check.js';
import { readLfsObject } from './lfs.js';
import { scanStoredBundle } from './stored-bundle.js';
import { drain } from './streams.js';

export interface VerifyProblem {
  code: string;
  message: string;
  key?: string;
}

export interface VerifyReport {
  snapshot: string;
  ok: boolean;
  /** Whether bundle contents (header, pack) were checked, or only stored checksums. */
  deep: boolean;
  bundles: number;
  bytes: number;
  /** Metadata objects checked (the index and every object it names). */
  metadata: number;
  problems: VerifyProblem[];
}

export async function verifySnapshot(
  store: BlobStore,
  manifest: SnapshotManifest,
  options: {
    identities?: string[];
    onBundle?: (index: number, total: number) => void;
    /** Keys already found sound in this run: chains share bundles, read each once. */
    verified?: Set<string>;
  } = {},
): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [...chainProblems(manifest)];
  const keys = new Keys(options.identities);
  let deep = manifest.bundles.every((entry) => keys.canOpen(entry));
  let bytes = 0;
  for (const [index, entry] of manifest.bundles.entries()) {
    options.onBundle?.(index + 1, manifest.bundles.length);
    bytes += entry.size;
    if (options.verified?.has(entry.key)) continue;
    try {
      if (!keys.canOpen(entry)) {
        await checkObject(store, manifest.repository, entry);
      } else {
        const bundle = await scanStoredBundle(store, manifest, entry, options.identities);
        const stats = await checkPack(bundle.pack);
        if (stats.trailer !== entry.pack.trailer || stats.objectCount !== entry.pack.objectCount) {
          problems.push({ code: 'PACK_CORRUPT', message: `Pack in ${entry.key} is not the one recorded (trailer ${stats.trailer}, ${stats.objectCount} objects; recorded ${entry.pack.trailer}, ${entry.pack.objectCount}).`, key: entry.key });
          continue;
        }
      }
      options.verified?.add(entry.key);
    } catch (error) {
      const failure = await rootCause(store, manifest.repository, entry, toLifeboatError(error));
      if (failure.code === 'BUCKET_ACCESS_DENIED' || failure.code === 'BUCKET_UNREACHABLE') throw failure;
      if (keys.mismatched(failure)) deep = false;
      else problems.push({ code: failure.code, message: failure.message, key: entry.key });
    }
  }
  const metadata = await verifyMetadata(store, manifest, keys, options);
  problems.push(...metadata.problems);
  deep &&= metadata.deep;
  // A wrong key is said once per snapshot: the checksums were checked, the contents could not be.
  if (keys.mismatch) problems.push(keys.mismatch);
  return { snapshot: manifest.id, ok: problems.length === 0, deep, bundles: manifest.bundles.length, bytes, metadata: metadata.checked, problems };
}

type MetadataCheck = (ref: StoredObjectRef) => Promise<void>;

/**
 * Which objects can be opened: each says whether it is an age file; without an identity only
 * plain ones, and once the identities turned out not to fit this snapshot, only plain ones too
 * (the rest are checked against their checksums, and the snapshot reports IDENTITY_MISMATCH).
 */
class Keys {
  mismatch: VerifyProblem | undefined;
  constructor(readonly identities: string[] | undefined) {}

  canOpen(object: { encrypted: boolean }): boolean {
    return !object.encrypted || ((this.identities?.length ?? 0) > 0 && !this.mismatch);
  }

  /** Whether `failure` is the identities not fitting (remembered); rootCause already found the stored bytes sound. */
  mismatched(failure: LifeboatError): boolean {
    if (failure.code !== 'IDENTITY_MISMATCH') return false;
    this.mismatch ??= { code: failure.code, message: `${failure.message} Only the stored checksums were checked.` };
    return true;
  }
}

/** The index, then every object it names, each checked as deeply as the identities allow. */
async function verifyMetadata(store: BlobStore, manifest: SnapshotManifest, keys: Keys, options: { verified?: Set<string> }): Promise<{ checked: number; deep: boolean; problems: VerifyProblem[] }> {
  if (!manifest.metadata) return { checked: 0, deep: true, problems: [] };
  const problems: VerifyProblem[] = [];
  let deep = true;
  const check = async (ref: StoredObjectRef, deepCheck: MetadataCheck): Promise<void> => {
    if (options.verified?.has(ref.key)) return;
    try {
      await (keys.canOpen(ref) ? deepCheck(ref) : checkObject(store, manifest.repository, ref));
      options.verified?.add(ref.key);
    } catch (error) {
      const failure = await rootCause(store, manifest.repository, ref, toLifeboatError(error));
      if (failure.code === 'BUCKET_ACCESS_DENIED' || failure.code === 'BUCKET_UNREACHABLE') throw failure;
      if (keys.mismatched(failure)) deep = false;
      else problems.push({ code: failure.code, message: failure.message, key: ref.key });
    }
  };
  const indexRef = manifest.metadata.index;
  let index: Awaited<ReturnType<typeof readMetadataIndex>>;
  try {
    index = await readMetadataIndex(store, manifest);
  } catch (error) {
    const failure = await rootCause(store, manifest.repository, indexRef, toLifeboatError(error));
    if (failure.kind !== 'user') throw failure;
    return { checked: 1, deep: true, problems: [{ code: failure.code, message: failure.message, key: indexRef.key }] };
  }
  if (!index) return { checked: 0, deep: true, problems };
  const identities = keys.identities;
  const document = (entry: PullRequestEntry | ConfigurationEntry): MetadataCheck => async () => {
    await readEntryDocument(store, manifest, entry, identities);
  };
  const plain: MetadataCheck = (ref) => drain(readPlain(store, manifest, ref, identities));
  const checks: [StoredObjectRef, MetadataCheck][] = [
    ...(index.pullRequests?.items ?? []).map((item): [StoredObjectRef, MetadataCheck] => [item.object, document(item)]),
    ...(index.configuration ?? []).map((item): [StoredObjectRef, MetadataCheck] => [item.object, document(item)]),
    ...(index.lfs?.items ?? []).map((item): [StoredObjectRef, MetadataCheck] => [item.object, () => drain(readLfsObject(store, manifest, item, identities))]),
    ...(index.attachments ?? []).map((item): [StoredObjectRef, MetadataCheck] => [item.object, plain]),
  ];
  for (const [ref, deepCheck] of checks) await check(ref, deepCheck);
  return { checked: 1 + checks.length, deep: deep && checks.every(([ref]) => keys.canOpen(ref)), problems };
}

/** A snapshot whose manifest cannot be read fails verification: nothing of it can be restored. */
export function unreadableReport(problem: UnreadableManifest): VerifyReport {
  return { snapshot: problem.id, ok: false, deep: false, bundles: 0, bytes: 0, metadata: 0, problems: [{ code: problem.code, message: problem.message, key: problem.key }] };
}

/** Structure alone: the first bundle is full, prerequisites come from earlier bundles, every ref is delivered. */
export function chainProblems(manifest: SnapshotManifest): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const delivered = new Set<string>();
  for (const [index, entry] of manifest.bundles.entries()) {
    if (index === 0 && (entry.kind !== 'full' || entry.prerequisites.length > 0)) {
      problems.push({ code: 'CHAIN_INCOMPLETE', message: `The first bundle ${entry.key} is not a full bundle.`, key: entry.key });
    }
    const missing = entry.prerequisites.filter((oid) => !delivered.has(oid));
    if (missing.length > 0) {
      problems.push({ code: 'CHAIN_INCOMPLETE', message: `Bundle ${entry.key} needs ${missing.length} commit(s) no earlier bundle provides (${missing.slice(0, 3).join(', ')}).`, key: entry.key });
    }
    for (const ref of entry.refs) delivered.add(ref.oid);
  }
  const undelivered = manifest.refs.filter((ref) => !delivered.has(ref.oid));
  if (undelivered.length > 0) {
    problems.push({ code: 'CHAIN_INCOMPLETE', message: `No bundle brings ${undelivered.map((ref) => ref.name).slice(0, 5).join(', ')}${undelivered.length > 5 ? ` and ${undelivered.length - 5} more` : ''}.` });
  }
  return problems;
}
