/**
 * Reading what the bucket holds: repositories, snapshots and their manifests.
 * Snapshots are listed from their keys, in the one order of snapshots
 * (compareSnapshotIds: the newest is the one whose id sorts last), and read on demand.
 * Every manifest is read with a Trust (signing.ts): whose signatures make it
 * trusted, and whether one signed by none of them is flagged or refused.
 */
import { inTurns } from '../concurrency.js';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { collect } from '../streams.js';
import type { BlobInfo, BlobStore } from './blob-store.js';
import { isNotFound } from './blob-store.js';
import { type PendingBackup, type SnapshotManifest, manifestSchema, parseDocument, pendingSchema } from './format.js';
import { type RepoPath, compareSnapshotIds, formatRepoPath, parseKey, pendingPrefix, signatureKey, snapshotIdTime, snapshotKey, snapshotsPrefix } from './bucket-keys.js';
import { type Seal, type Trust, signatureHolds, signatureSchema } from './signing.js';

export interface SnapshotLocation {
  repo: RepoPath;
  id: string;
}

/** Snapshot ids of one repository, oldest first. */
export async function listSnapshotIds(store: BlobStore, repo: RepoPath): Promise<string[]> {
  const ids: string[] = [];
  for await (const blob of store.list(snapshotsPrefix(repo))) {
    const parsed = parseKey(blob.key);
    if (parsed.kind === 'snapshot') ids.push(parsed.snapshotId);
  }
  return ids.sort(compareSnapshotIds);
}

/** Every snapshot in the bucket (or under one repository), oldest first. */
export async function listAllSnapshots(store: BlobStore, repo?: RepoPath): Promise<SnapshotLocation[]> {
  if (repo) return (await listSnapshotIds(store, repo)).map((id) => ({ repo, id }));
  const found: SnapshotLocation[] = [];
  for await (const blob of store.list('')) {
    const parsed = parseKey(blob.key);
    if (parsed.kind === 'snapshot') found.push({ repo: parsed.repo, id: parsed.snapshotId });
  }
  return found.sort((a, b) => compareSnapshotIds(a.id, b.id) || formatRepoPath(a.repo).localeCompare(formatRepoPath(b.repo)));
}

/** The word that names a repository's newest snapshot, as restic has it. */
export const LATEST = 'latest';

/** How many matches of an ambiguous prefix a message lists. */
const LISTED_MATCHES = 20;

/**
 * Finds a snapshot anywhere in the bucket (ids are unique per repository, and in practice
 * globally), as restic reads ids: the whole id, any prefix of one id only (`20261207T16`),
 * or `latest`, the newest of one repository that is not dated in the future (isFromFuture:
 * a planted id must not become what `latest` restores).
 */
export async function findSnapshot(store: BlobStore, id: string, repo?: RepoPath, now: Date = new Date()): Promise<SnapshotLocation> {
  const all = await listAllSnapshots(store, repo);
  const notFound = (): LifeboatError => new LifeboatError('SNAPSHOT_NOT_FOUND', `No snapshot ${id} in ${store.location}${repo ? ` for ${formatRepoPath(repo)}` : ''}.`, {
    details: { snapshot: id, ...(repo ? { repo: formatRepoPath(repo) } : {}) },
  });
  if (id === LATEST) {
    const repos = [...new Set(all.map((snapshot) => formatRepoPath(snapshot.repo)))].sort();
    if (repos.length > 1) throw new LifeboatError('SNAPSHOT_AMBIGUOUS', `"${LATEST}" is the newest snapshot of one repository, and ${store.location} holds ${repos.length} (${repos.join(', ')}).`, { details: { snapshot: id, repos } });
    const newest = all.filter((snapshot) => !isFromFuture(snapshot.id, now)).at(-1);
    if (!newest) throw notFound();
    return newest;
  }
  const exact = all.filter((snapshot) => snapshot.id === id);
  const matches = exact.length > 0 ? exact : all.filter((snapshot) => snapshot.id.startsWith(id));
  const [first, second] = matches;
  if (!first) throw notFound();
  if (second) {
    const repos = [...new Set(matches.map((m) => formatRepoPath(m.repo)))];
    if (exact.length > 0) throw new LifeboatError('SNAPSHOT_AMBIGUOUS', `Snapshot id ${id} exists for several repositories (${repos.join(', ')}).`, { details: { snapshot: id, repos } });
    const listed = matches.slice(0, LISTED_MATCHES).map((m) => `${m.id} (${formatRepoPath(m.repo)})`).join(', ');
    const more = matches.length > LISTED_MATCHES ? ` and ${matches.length - LISTED_MATCHES} more` : '';
    throw new LifeboatError('SNAPSHOT_AMBIGUOUS', `${id} is the start of ${matches.length} snapshot ids: ${listed}${more}.`, {
      details: { snapshot: id, repos, matches: matches.map((m) => ({ id: m.id, repo: formatRepoPath(m.repo) })) },
    });
  }
  return first;
}

/** One repository as its snapshots name it (listRepositoryNames). */
export interface RepositoryNames {
  repo: RepoPath;
  /** Its snapshot ids, oldest first. */
  ids: string[];
  /** The newest manifest that could be read: its `repository` names the repository as it was last seen. */
  newest?: SnapshotManifest;
  /** Every `workspace/slug` and `workspace/name` its manifests give, newest first, each once. */
  names: string[];
}

/**
 * Every repository in the bucket with the names its manifests give it, so that one
 * renamed or deleted is still found by any name it had. Every manifest is read with
 * `trust`; those that cannot be read are reported, as readManifests does.
 */
export async function listRepositoryNames(store: BlobStore, trust: Trust): Promise<{ repositories: RepositoryNames[]; unreadable: UnreadableManifest[] }> {
  const locations = await listAllSnapshots(store);
  const listing = await readManifests(store, locations, trust);
  const byPath = new Map<string, RepositoryNames>();
  for (const { repo, id } of locations) {
    const path = formatRepoPath(repo);
    const entry = byPath.get(path) ?? { repo, ids: [], names: [] };
    entry.ids.push(id);
    byPath.set(path, entry);
  }
  // Newest first, so that the newest manifest and the newest names come first.
  for (const manifest of [...listing.manifests].reverse()) {
    const entry = byPath.get(formatRepoPath(manifest.repository))!;
    entry.newest ??= manifest;
    const { workspaceSlug, slug, name } = manifest.repository;
    if (workspaceSlug === undefined) continue;
    for (const last of [slug, name]) {
      const full = last === undefined ? undefined : `${workspaceSlug}/${last}`;
      if (full !== undefined && !entry.names.includes(full)) entry.names.push(full);
    }
  }
  return { repositories: [...byPath.values()], unreadable: listing.unreadable };
}

/**
 * One snapshot's manifest, checked: a valid document of a known version that names
 * itself by the id and repository it is stored under (a manifest copied from another
 * repository would otherwise restore that repository's refs as this one's), and
 * sealed: signed by a key `trust` names, or else refused or flagged as not signed.
 * `bytes` are the manifest as stored, the bytes its signature covers (`lifeboat download` keeps them).
 */
export async function readSealedManifest(store: BlobStore, snapshot: SnapshotLocation, trust: Trust): Promise<SealedManifest> {
  const key = snapshotKey(snapshot.repo, snapshot.id);
  const bytes = await readBytes(store, key);
  if (!bytes) throw new LifeboatError('SNAPSHOT_NOT_FOUND', `No snapshot ${snapshot.id} for ${formatRepoPath(snapshot.repo)} in ${store.location}.`, { details: { snapshot: snapshot.id } });
  const manifest = parseDocument(manifestSchema, bytes, `Snapshot manifest ${key}`);
  if (manifest.id !== snapshot.id) {
    throw new LifeboatError('FORMAT_INVALID', `Snapshot manifest ${key} names itself ${manifest.id}.`, { details: { key } });
  }
  if (manifest.repository.workspace !== snapshot.repo.workspace || manifest.repository.repository !== snapshot.repo.repository) {
    throw new LifeboatError('FORMAT_INVALID', `Snapshot manifest ${key} is of repository ${formatRepoPath(manifest.repository)}, not of ${formatRepoPath(snapshot.repo)} where it is stored.`, { details: { key } });
  }
  return { manifest, bytes, ...(await sealOf(store, snapshot, bytes, trust)) };
}

/** The manifest of readSealedManifest, for readers that only need it trusted (or flagged) as `trust` says. */
export async function readManifest(store: BlobStore, snapshot: SnapshotLocation, trust: Trust): Promise<SnapshotManifest> {
  return (await readSealedManifest(store, snapshot, trust)).manifest;
}

/** A manifest as read: the document, its stored bytes, its seal and, when signed, the signature's stored bytes (what was checked). */
export interface SealedManifest {
  manifest: SnapshotManifest;
  bytes: Buffer;
  seal: Seal;
  signature?: Buffer;
}

/**
 * The first trusted key with a signature of these exact bytes. A signature that is
 * there for a trusted key but does not hold means the manifest (or the signature)
 * changed after signing: that is never flagged, always refused.
 */
async function sealOf(store: BlobStore, snapshot: SnapshotLocation, manifestBytes: Buffer, trust: Trust): Promise<{ seal: Seal; signature?: Buffer }> {
  for (const fingerprint of trust.keys) {
    const key = signatureKey(snapshot.repo, snapshot.id, fingerprint);
    const bytes = await readBytes(store, key);
    if (!bytes) continue;
    const signature = parseDocument(signatureSchema, bytes, `Signature ${key}`);
    if (signature.snapshot !== snapshot.id || !signatureHolds(manifestBytes, signature, fingerprint)) {
      throw new LifeboatError('SNAPSHOT_SIGNATURE_INVALID', `Snapshot ${snapshot.id} of ${formatRepoPath(snapshot.repo)} does not match its signature by ${fingerprint}: the manifest or its signature was changed after signing.`, {
        details: { snapshot: snapshot.id, key: fingerprint },
      });
    }
    return { seal: { signed: true, key: fingerprint }, signature: bytes };
  }
  if (trust.unsigned === 'refuse') {
    throw new LifeboatError('SNAPSHOT_UNSIGNED', `Snapshot ${snapshot.id} of ${formatRepoPath(snapshot.repo)} is not signed by a trusted key${trust.keys.length ? ` (${trust.keys.join(', ')})` : ''}.`, {
      details: { snapshot: snapshot.id, trusted: [...trust.keys] },
    });
  }
  return { seal: { signed: false } };
}

async function readBytes(store: BlobStore, key: string): Promise<Buffer | undefined> {
  try {
    return await collect(await store.get(key));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const UNREADABLE = ['FORMAT_INVALID', 'FORMAT_UNSUPPORTED', 'SNAPSHOT_SIGNATURE_INVALID', 'SNAPSHOT_UNSIGNED', 'SNAPSHOT_FROM_FUTURE'] as const;

/** A manifest that is there but cannot be used: invalid, of a format version this Lifeboat does not read, not signed as the reader requires, or dated in the future. */
export interface UnreadableManifest {
  key: string;
  repo: RepoPath;
  id: string;
  code: (typeof UNREADABLE)[number];
  message: string;
}

export interface ManifestListing {
  /** In the order asked for. */
  manifests: SnapshotManifest[];
  /** How each manifest above is signed. */
  seals: Map<SnapshotManifest, Seal>;
  /** Reported, never thrown: one bad document must not hide the others. */
  unreadable: UnreadableManifest[];
}

const READ_CONCURRENCY = 8;

/**
 * The manifests of `snapshots`, each either read or reported as unreadable. One
 * deleted since it was listed (a prune forgot it) is left out. Anything else
 * (the bucket unreachable, access denied) is thrown: it says nothing about a manifest.
 */
export async function readManifests(store: BlobStore, snapshots: readonly SnapshotLocation[], trust: Trust): Promise<ManifestListing> {
  const results = await inTurns(snapshots, READ_CONCURRENCY, async (snapshot): Promise<{ manifest: SnapshotManifest; seal: Seal } | UnreadableManifest | undefined> => {
    try {
      return await readSealedManifest(store, snapshot, trust);
    } catch (error) {
      if (isLifeboatError(error, 'SNAPSHOT_NOT_FOUND')) return undefined;
      const code = UNREADABLE.find((candidate) => isLifeboatError(error, candidate));
      if (!code) throw error;
      return { key: snapshotKey(snapshot.repo, snapshot.id), repo: snapshot.repo, id: snapshot.id, code, message: (error as LifeboatError).message };
    }
  });
  const listing: ManifestListing = { manifests: [], seals: new Map(), unreadable: [] };
  for (const result of results) {
    if (result === undefined) continue;
    if ('manifest' in result) {
      listing.manifests.push(result.manifest);
      listing.seals.set(result.manifest, result.seal);
    } else listing.unreadable.push(result);
  }
  return listing;
}

export async function readNewestManifest(store: BlobStore, repo: RepoPath, trust: Trust, now: Date = new Date()): Promise<SnapshotManifest | undefined> {
  return (await readNewest(store, repo, trust, now)).manifest;
}

/** How far ahead of the reader's clock a snapshot id may be dated (clocks of writers differ a little): beyond it, the id was planted or its writer's clock is wrong. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Whether a snapshot id is dated beyond the tolerance after `now`: such a snapshot is never a base, and sorts no later snapshot after it. */
export function isFromFuture(id: string, now: Date): boolean {
  return snapshotIdTime(id).getTime() > now.getTime() + FUTURE_TOLERANCE_MS;
}

/** What is said of a snapshot dated in the future (readNewest sets it apart; `lifeboat verify` reports it). */
export function fromFuture(repo: RepoPath, id: string, now: Date): UnreadableManifest {
  return {
    key: snapshotKey(repo, id), repo, id, code: 'SNAPSHOT_FROM_FUTURE',
    message: `Snapshot ${id} of ${formatRepoPath(repo)} is dated ${snapshotIdTime(id).toISOString()}, after now (${now.toISOString()}): it was planted, or written by a host whose clock is wrong. It is never built on.`,
  };
}

export interface NewestSnapshot {
  /** The newest manifest that can be read (and is trusted as asked); undefined when there is none. */
  manifest?: SnapshotManifest;
  /** Id of the newest snapshot of all that is not from the future, readable or not; null when there is none. */
  newestId: string | null;
  /** Manifests newer than `manifest` that cannot be read or are not trusted, newest first. */
  skipped: UnreadableManifest[];
  /** Snapshots dated in the future (isFromFuture): left out of all the above, reported. */
  future: UnreadableManifest[];
}

/** The newest snapshot of a repository that can be read, and the unreadable ones above it; ids dated in the future are set apart. */
export async function readNewest(store: BlobStore, repo: RepoPath, trust: Trust, now: Date): Promise<NewestSnapshot> {
  const listed = (await listSnapshotIds(store, repo)).reverse();
  const future = listed.filter((id) => isFromFuture(id, now)).map((id) => fromFuture(repo, id, now));
  const ids = listed.filter((id) => !isFromFuture(id, now));
  const skipped: UnreadableManifest[] = [];
  for (const id of ids) {
    const { manifests: [manifest], unreadable } = await readManifests(store, [{ repo, id }], trust);
    if (manifest) return { manifest, newestId: ids[0] ?? null, skipped, future };
    skipped.push(...unreadable);
  }
  return { newestId: ids[0] ?? null, skipped, future };
}

/**
 * The first of `candidates` (snapshot ids, in the order to try) in which one of
 * `refNames` points at `oid`. For undoing a force-push or a deletion: where is
 * the tip that was lost? The caller chooses the candidates (the app from its
 * index), so no listing is needed. Snapshots that are gone or cannot be read
 * hold nothing usable and are passed over.
 */
export async function findSnapshotHolding(
  store: BlobStore,
  repo: RepoPath,
  wanted: { refNames: readonly string[]; oid: string },
  candidates: readonly string[],
  trust: Trust,
): Promise<{ manifest: SnapshotManifest; refName: string } | undefined> {
  for (const id of new Set(candidates)) {
    const [manifest] = (await readManifests(store, [{ repo, id }], trust)).manifests;
    const refName = manifest && wanted.refNames.find((name) => manifest.refs.some((ref) => ref.name === name && ref.oid === wanted.oid));
    if (manifest && refName) return { manifest, refName };
  }
  return undefined;
}

/**
 * The small JSON documents under a prefix (pending records, locks), each with its
 * listing entry. One removed between the listing and the read is left out: its
 * writer finished or released it meanwhile.
 */
export async function* readDocuments(store: BlobStore, prefix: string): AsyncIterable<{ blob: BlobInfo; bytes: Buffer }> {
  for await (const blob of store.list(prefix)) {
    try {
      yield { blob, bytes: await collect(await store.get(blob.key)) };
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** Pending backups of one repository (started, not yet committed), oldest first. */
export async function listPending(store: BlobStore, repo: RepoPath): Promise<PendingBackup[]> {
  const pending: PendingBackup[] = [];
  for await (const { blob, bytes } of readDocuments(store, pendingPrefix(repo))) {
    if (parseKey(blob.key).kind === 'pending') pending.push(parseDocument(pendingSchema, bytes, `Pending backup ${blob.key}`));
  }
  return pending.sort((a, b) => compareSnapshotIds(a.id, b.id));
}
