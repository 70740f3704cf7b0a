// What the pages show fast, kept in KVS: per repository a small summary of its
// newest snapshot and a paged index of every snapshot (newest first). The
// bucket stays the source of truth: the backup consumer adds each snapshot it
// commits, prune removes what it forgets, and the index job rebuilds all of it
// from the manifests. No resolver lists the bucket.
//
// Within KVS's limits by construction: one small value per snapshot (a few
// hundred bytes, whatever the repository's size) and pages of KVS's own 20.
import { bracedUuid } from '../../bitbucket/uuid.js';
import type { DeletedRepository, Paged, RepoSummary, SnapshotChanges, SnapshotSummary, UnreadableSnapshot } from '../../contract.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { compareSnapshotIds } from '../../engine/bucket/bucket-keys.js';
import type { MetadataIndex } from '../../engine/bucket/metadata.js';
import type { Seal } from '../../engine/bucket/signing.js';
import type { ErrorCode } from '../../engine/errors.js';
import { kvsKeys } from '../state/state-keys.js';
import { firstValues, listByPrefix } from '../state/app-state.js';
import { appState } from '../../forge/state/context.js';

/**
 * A snapshot as the timeline shows it; `previous` is the repository's snapshot before it, if any.
 * With its metadata index: the configuration sections its backup could not read (the index's problems);
 * with its seal: the app's key that signed it.
 */
export function summarize(manifest: SnapshotManifest, previous?: SnapshotManifest, metadata?: MetadataIndex, seal?: Seal): SnapshotSummary {
  const ownBundles = manifest.bundles.filter((bundle) => bundle.createdBy === manifest.id);
  const chainStart = manifest.bundles[0]?.createdBy;
  const unreadable = (metadata?.problems ?? []).filter((problem) => problem.section === 'configuration' && problem.subject !== undefined)
    .map((problem) => ({ section: problem.subject!, code: problem.code as ErrorCode, message: problem.message }));
  return {
    id: manifest.id,
    createdAt: manifest.createdAt,
    trigger: manifest.trigger,
    refs: manifest.refs.length,
    // What a restore of this snapshot reads: every bundle it names.
    bytes: manifest.bundles.reduce((sum, bundle) => sum + bundle.size, 0),
    // What this snapshot added to the bucket.
    ownBytes: ownBundles.reduce((sum, bundle) => sum + bundle.size, 0),
    recipients: manifest.encryption?.recipients ?? [],
    chain: chainStart === manifest.id || chainStart === undefined ? 'full' : 'incremental',
    increments: new Set(manifest.bundles.map((bundle) => bundle.createdBy).filter((id) => id !== chainStart)).size,
    changes: changesSince(manifest, previous),
    ...(unreadable.length > 0 ? { unreadableConfiguration: unreadable } : {}),
    ...(seal?.signed ? { signedBy: seal.key } : {}),
  };
}

function changesSince(manifest: SnapshotManifest, previous: SnapshotManifest | undefined): SnapshotChanges {
  const before = new Map((previous?.refs ?? []).map((ref) => [ref.name, ref.oid]));
  const after = new Map(manifest.refs.map((ref) => [ref.name, ref.oid]));
  let added = 0;
  let moved = 0;
  for (const [name, oid] of after) {
    const old = before.get(name);
    if (old === undefined) added++;
    else if (old !== oid) moved++;
  }
  const deleted = [...before.keys()].filter((name) => !after.has(name)).length;
  return { added, moved, deleted };
}

/** How the app knows a snapshot it indexes: its seal by the app's keys, and the digest of the manifest the app's backup committed. */
export interface IndexedAs {
  seal: Seal;
  manifestSha256?: string;
}

/**
 * Adds a committed snapshot (`previous`: the one before it; `metadata`: its index, when at hand);
 * the summary follows the newest by the engine's order (compareSnapshotIds), as readNewest does.
 */
export async function indexSnapshot(repositoryUuid: string, manifest: SnapshotManifest, previous: SnapshotManifest | undefined, metadata?: MetadataIndex, as?: IndexedAs): Promise<SnapshotSummary> {
  const summary = { ...summarize(manifest, previous, metadata, as?.seal), ...(as?.manifestSha256 ? { manifestSha256: as.manifestSha256 } : {}) };
  await appState().set(kvsKeys.snapshotEntry(repositoryUuid, summary.id), summary);
  const current = await readSummary(repositoryUuid);
  if (!current?.latest || compareSnapshotIds(current.latest.id, summary.id) <= 0) {
    await appState().set(kvsKeys.repoSummary(repositoryUuid), {
      repositoryUuid: bracedUuid(repositoryUuid),
      ...(manifest.repository.slug ? { slug: manifest.repository.slug } : {}),
      ...(manifest.repository.name ? { name: manifest.repository.name } : {}),
      latest: summary,
      indexedAt: new Date().toISOString(),
    } satisfies RepoSummary);
  }
  return summary;
}

/** Drops snapshots that prune forgot; a summary pointing at one of them is rebuilt from what is left. */
export async function forgetSnapshots(repositoryUuid: string, forgotten: string[]): Promise<void> {
  await Promise.all(forgotten.map((id) => appState().delete(kvsKeys.snapshotEntry(repositoryUuid, id))));
  const current = await readSummary(repositoryUuid);
  if (current?.latest && forgotten.includes(current.latest.id)) {
    const newest = (await listIndexedSnapshots(repositoryUuid)).items[0];
    await appState().set(kvsKeys.repoSummary(repositoryUuid), { ...current, ...(newest ? { latest: newest } : { latest: undefined }) } satisfies RepoSummary);
  }
}

/**
 * Bitbucket deleted the repository: it joins the admin page's list of deleted
 * repositories that can be restored, when the bucket holds a snapshot of it.
 */
export async function markDeleted(repositoryUuid: string): Promise<void> {
  const summary = await readSummary(repositoryUuid);
  if (!summary?.latest) return;
  const uuid = bracedUuid(repositoryUuid);
  await appState().set(kvsKeys.deleted(repositoryUuid), {
    repositoryUuid: uuid,
    slug: summary.slug ?? uuid,
    name: summary.name ?? summary.slug ?? uuid,
    lastSnapshotId: summary.latest.id,
    lastSnapshotAt: summary.latest.createdAt,
  } satisfies DeletedRepository);
}

export async function unmarkDeleted(repositoryUuid: string): Promise<void> {
  await appState().delete(kvsKeys.deleted(repositoryUuid));
}

export async function listDeletedRepositories(cursor?: string): Promise<Paged<DeletedRepository>> {
  return listByPrefix<DeletedRepository>(appState(), kvsKeys.deletedPrefix, cursor);
}

/** Manifests of the repository that could not be read when it was last indexed (by the index job or a backup). */
export async function listUnreadable(repositoryUuid: string): Promise<UnreadableSnapshot[]> {
  return (await appState().get<UnreadableSnapshot[]>(kvsKeys.unreadable(repositoryUuid))) ?? [];
}

/** Bounded, to stay one small KVS value: the page names the first ones, `lifeboat verify` finds them all. */
const MAX_UNREADABLE = 50;

export async function recordUnreadable(repositoryUuid: string, unreadable: readonly UnreadableSnapshot[]): Promise<void> {
  if (unreadable.length === 0) await appState().delete(kvsKeys.unreadable(repositoryUuid));
  else await appState().set(kvsKeys.unreadable(repositoryUuid), unreadable.slice(0, MAX_UNREADABLE).map(({ id, code, message }) => ({ id, code, message })));
}

/**
 * Adds what a backup passed by (unreadable, not signed by the app, dated in the future) to the list the page names,
 * until the next index rebuild makes the list equal to the bucket again.
 */
export async function noteUnreadable(repositoryUuid: string, found: readonly UnreadableSnapshot[]): Promise<void> {
  const known = await listUnreadable(repositoryUuid);
  const ids = new Set(found.map((snapshot) => snapshot.id));
  await recordUnreadable(repositoryUuid, [...found, ...known.filter((snapshot) => !ids.has(snapshot.id))]);
}

export async function readSummary(repositoryUuid: string): Promise<RepoSummary | undefined> {
  return appState().get<RepoSummary>(kvsKeys.repoSummary(repositoryUuid));
}

/** The repository's newest `count` indexed snapshots, newest first. */
export async function newestIndexedSnapshots(repositoryUuid: string, count: number): Promise<SnapshotSummary[]> {
  return firstValues<SnapshotSummary>(appState(), kvsKeys.snapshotEntryPrefix(repositoryUuid), count);
}

/** Whether the index has the snapshot: what the pages offer to restore from is what it has. */
export async function isIndexed(repositoryUuid: string, snapshotId: string): Promise<boolean> {
  return (await appState().get(kvsKeys.snapshotEntry(repositoryUuid, snapshotId))) !== undefined;
}

/** The ids of the repository's newest `count` snapshots, newest first. */
export async function newestSnapshotIds(repositoryUuid: string, count: number): Promise<string[]> {
  return (await newestIndexedSnapshots(repositoryUuid, count)).map((summary) => summary.id);
}

/** Newest first, KVS's pages of 20; the cursor is KVS's own. */
export async function listIndexedSnapshots(repositoryUuid: string, cursor?: string): Promise<Paged<SnapshotSummary>> {
  return listByPrefix<SnapshotSummary>(appState(), kvsKeys.snapshotEntryPrefix(repositoryUuid), cursor);
}
