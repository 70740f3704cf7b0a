// The index queue's consumer (manifest.yml `index-consumer`): the KVS index
// that the pages read, rebuilt from the bucket — the source of truth — for
// every repository of the workspace that has anything there. It runs when the
// index was never built (the sweep asks for it) and when an admin asks.
// Repository by repository, continued in a next delivery when the time runs out.
import { z } from 'zod';
import { bareUuid, bitbucketUuid, bracedUuid } from '../../bitbucket/uuid.js';
import type { JobView, SnapshotSummary } from '../../contract.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import { type UnreadableManifest, fromFuture, isFromFuture, listSnapshotIds, readManifests } from '../../engine/bucket/catalog.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { type MetadataIndex, readMetadataIndex } from '../../engine/bucket/metadata.js';
import { type RepoPath, parseKey } from '../../engine/bucket/bucket-keys.js';
import type { Seal, Trust } from '../../engine/bucket/signing.js';
import { isLifeboatError } from '../../engine/errors.js';
import { existsInBitbucket } from '../../forge/bitbucket.js';
import { openWorkspaceBucket, repoPath } from '../../forge/bucket.js';
import { type Outcome, defineConsumer, startJob } from '../../forge/jobs.js';
import { kvsKeys } from '../state/state-keys.js';
import { QUEUES, enqueue } from '../../forge/queues.js';
import { requireConfiguration } from '../settings/settings-store.js';
import { appSigningKey, appTrust } from '../settings/signing-keys.js';
import { storageSettingOf } from '../../settings.js';
import { type LegacySigner, signIfRecorded } from './legacy-signing.js';
import { indexSnapshot, markDeleted, recordUnreadable, unmarkDeleted } from './snapshot-index.js';
import { entriesByPrefix } from '../state/app-state.js';
import { appState, now as appNow } from '../../forge/state/context.js';

/** Leaves time within the 900 s to record the outcome and queue the continuation. */
const BUDGET_MS = 600_000;

const indexBody = z.object({
  workspaceUuid: bitbucketUuid,
  /** Only this repository (a backup found its index behind the bucket); every one of the workspace when absent. */
  repositoryUuid: bitbucketUuid.optional(),
  jobId: z.string().optional(),
  /** The last repository (bare UUID) already indexed, when a rebuild continues. */
  after: z.string().optional(),
  /** Snapshots from before signing signed so far by this rebuild (its earlier deliveries). */
  signed: z.number().int().nonnegative().optional(),
});
type IndexBody = z.infer<typeof indexBody>;

/** A busy repository is looked at again this much later (a backup takes about that long). */
const CONTINUE_AFTER_SECONDS = 60;
/** Manifests read at once: memory stays bounded whatever the number of snapshots. */
const MANIFEST_BATCH = 20;

/** "Rebuild the index" on the admin page. */
export async function requestReindex(input: { workspaceUuid: string; accountId?: string }): Promise<JobView<'index'>> {
  return startJob<'index', IndexBody>({
    kind: 'index', ...(input.accountId ? { requestedBy: input.accountId } : {}),
    queue: QUEUES.index, body: (jobId) => ({ workspaceUuid: input.workspaceUuid, jobId }), audit: { action: 'index rebuild requested' },
  });
}

/**
 * Without a person asking: the whole workspace when the index was never built
 * (an installation from before it), or one repository whose index a backup
 * found behind the bucket. One such request waits at a time for each; it is
 * done when the repository (or the workspace) has been indexed.
 */
export async function healIndex(workspaceUuid: string, repositoryUuid?: string): Promise<void> {
  if (!repositoryUuid && (await appState().get(kvsKeys.indexBuiltAt)) !== undefined) return;
  if (!(await appState().setIfAbsent(kvsKeys.reindexRequested(repositoryUuid), new Date().toISOString(), { ttl: HEAL_PENDING_TTL }))) return;
  await enqueue(QUEUES.index, [{ workspaceUuid, ...(repositoryUuid ? { repositoryUuid } : {}) } satisfies IndexBody]);
}

/** A request lost with its job is forgotten after this long, so that healing is asked for again. */
const HEAL_PENDING_TTL = { value: 3600, unit: 'SECONDS' as const };

export const runReindex = defineConsumer<IndexBody>({
  kind: 'index',
  queue: QUEUES.index,
  body: indexBody,
  audit: () => ({ action: 'index rebuilt from the bucket' }),
  async run(body, context): Promise<Outcome<IndexBody>> {
    const { settings, secrets } = await requireConfiguration();
    const store = openWorkspaceBucket(settings, secrets.bucketSecretAccessKey);
    // The app's own key signs what its index vouches for (created here when no backup has made it yet).
    const key = await appSigningKey();
    const reading: RepositoryReading = { trust: await appTrust('flag'), signer: { key, objectLock: storageSettingOf(settings).objectLock } };
    const all = body.repositoryUuid ? [repoPath(body.workspaceUuid, body.repositoryUuid)] : await repositoriesInBucket(store, body.workspaceUuid);
    const repositories = all.filter((repo) => body.after === undefined || repo.repository > body.after);
    let done = 0;
    let signed = body.signed ?? 0;
    for (const repo of repositories) {
      // A busy repository (a backup or prune writing its index) is indexed when it is free again.
      const busy = Date.now() - context.startedAt > BUDGET_MS || !(await context.underLease(repo.repository, async () => {
        context.progress('indexing', { done, total: repositories.length });
        signed += await reindexRepository(store, body.workspaceUuid, repo, reading);
      }));
      if (busy) {
        const after = repositories[done - 1]?.repository ?? body.after;
        return { state: 'continuing', note: { code: 'index-continuing', repositories: done }, next: { body: { ...body, ...(after ? { after } : {}), signed }, afterSeconds: CONTINUE_AFTER_SECONDS } };
      }
      done++;
    }
    if (!body.repositoryUuid) {
      await appState().set(kvsKeys.indexBuiltAt, new Date().toISOString());
      await appState().delete(kvsKeys.reindexRequested());
    }
    const counts = { repositories: done, ...(signed > 0 ? { signed } : {}) };
    return { state: 'done', note: { code: 'indexed', ...counts }, result: counts };
  },
});

/** Every repository of the workspace with a snapshot in the bucket, by UUID. */
async function repositoriesInBucket(store: BlobStore, workspaceUuid: string): Promise<RepoPath[]> {
  const found = new Map<string, RepoPath>();
  for await (const blob of store.list(`${bareUuid(workspaceUuid)}/`)) {
    const parsed = parseKey(blob.key);
    if (parsed.kind === 'snapshot') found.set(parsed.repo.repository, parsed.repo);
  }
  return [...found.values()].sort((a, b) => a.repository.localeCompare(b.repository));
}

/** How a rebuild reads manifests (the app's trust, flagging what it did not sign) and, when given, signs those of before signing. */
export interface RepositoryReading {
  trust: Trust;
  signer?: LegacySigner;
}

/** One repository's entries made equal to its manifests; then whether Bitbucket still has it. Returns how many snapshots it signed. */
async function reindexRepository(store: BlobStore, workspaceUuid: string, repo: RepoPath, reading: RepositoryReading): Promise<number> {
  const signed = await rebuildRepositoryIndex(store, repo, reading);
  const repositoryUuid = bracedUuid(repo.repository);
  if (await existsInBitbucket(workspaceUuid, repositoryUuid)) await unmarkDeleted(repositoryUuid);
  else await markDeleted(repositoryUuid);
  await appState().delete(kvsKeys.reindexRequested(repositoryUuid)); // a later drift may ask again
  return signed;
}

/**
 * One repository's entries, summary and unreadable list made equal to its manifests
 * in the bucket, under the current key layout: an entry kept under an older one is
 * deleted and written anew. Each entry says whether the app's key signed it; a
 * manifest whose signature does not hold, and an id dated in the future, are listed
 * as unreadable, never indexed. The first rebuild with a signer signs the snapshots
 * from before signing that the index recorded with the same content (legacy-signing.ts),
 * once. Returns how many it signed.
 */
export async function rebuildRepositoryIndex(store: BlobStore, repo: RepoPath, reading: RepositoryReading): Promise<number> {
  const repositoryUuid = bracedUuid(repo.repository);
  // Read now, not when the job began: a rebuild may run for minutes, while backups of repositories it has yet to reach commit.
  const now = new Date(appNow());
  const listed = await listSnapshotIds(store, repo);
  // Never the newest, never in the list: a planted id dated 2999 would otherwise head it forever.
  const future = listed.filter((id) => isFromFuture(id, now));
  const ids = listed.filter((id) => !isFromFuture(id, now));
  const inBucket = new Set(ids);
  // Collected before deleting: KVS's cursors are not promised to survive deletes under them.
  // Stale: gone from the bucket, or kept under an older key layout (indexed again below).
  const stale: string[] = [];
  // What the index recorded before this rebuild rewrites it: what the app vouches for.
  const recorded = new Map<string, SnapshotSummary>();
  for await (const { key, value } of entriesByPrefix<SnapshotSummary>(appState(), kvsKeys.snapshotEntryPrefix(repositoryUuid))) {
    if (!inBucket.has(value.id) || key !== kvsKeys.snapshotEntry(repositoryUuid, value.id)) stale.push(key);
    if (inBucket.has(value.id)) recorded.set(value.id, value);
  }
  // Once: after it, the entries are the rebuild's own reading of the bucket, which vouches for nothing.
  const signer = reading.signer && (await appState().get(kvsKeys.legacySigned(repositoryUuid))) === undefined ? reading.signer : undefined;
  let signed = 0;
  // Marked before anything is rewritten: a rebuild that dies part-way must not let the next one compare the
  // bucket's manifests with entries this one already rewrote from them (which would vouch for a plant).
  if (signer) await appState().set(kvsKeys.legacySigned(repositoryUuid), { at: now.toISOString(), signed: 0 });
  await Promise.all(stale.map((key) => appState().delete(key)));
  // The summary follows the newest snapshot indexed below, whatever it said before.
  await appState().delete(kvsKeys.repoSummary(repositoryUuid));
  // One unreadable manifest must not hide the others: it is named on the page instead.
  const unreadable: UnreadableManifest[] = [];
  let previous: SnapshotManifest | undefined;
  for (let start = 0; start < ids.length; start += MANIFEST_BATCH) {
    const batch = await readManifests(store, ids.slice(start, start + MANIFEST_BATCH).map((id) => ({ repo, id })), reading.trust);
    unreadable.push(...batch.unreadable);
    for (const manifest of batch.manifests) {
      let seal: Seal = batch.seals.get(manifest) ?? { signed: false };
      const entry = recorded.get(manifest.id);
      if (!seal.signed && signer && entry && await signIfRecorded(store, repo, manifest.id, entry, previous, signer)) {
        seal = { signed: true, key: signer.key.fingerprint };
        signed++;
      }
      // The page shows the newest snapshot's unreadable configuration: only its metadata index is read.
      await indexSnapshot(repositoryUuid, manifest, previous, manifest.id === ids.at(-1) ? await newestIndex(store, manifest) : undefined, {
        seal, ...(entry?.manifestSha256 ? { manifestSha256: entry.manifestSha256 } : {}),
      });
      previous = manifest;
    }
  }
  // Listed apart, never as a snapshot: an entry a backup wrote before its manifest became unreadable (a signature that no longer holds) goes.
  await Promise.all(unreadable.map((bad) => appState().delete(kvsKeys.snapshotEntry(repositoryUuid, bad.id))));
  if (signer) await appState().set(kvsKeys.legacySigned(repositoryUuid), { at: now.toISOString(), signed });
  // Newest first, as the page lists: the future ones sort after every other id.
  await recordUnreadable(repositoryUuid, [...future.reverse().map((id) => fromFuture(repo, id, now)), ...unreadable.reverse()]);
  return signed;
}

/** The newest snapshot's metadata index; one that cannot be read (a format problem) leaves its summary without it. */
async function newestIndex(store: BlobStore, manifest: SnapshotManifest): Promise<MetadataIndex | undefined> {
  try {
    return await readMetadataIndex(store, manifest);
  } catch (error) {
    if (isLifeboatError(error) && error.kind === 'user') return undefined;
    throw error;
  }
}
