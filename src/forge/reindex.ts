// The index queue's consumer (manifest.yml `index-consumer`): the KVS index
// that the pages read, rebuilt from the bucket — the source of truth — for
// every repository of the workspace that has anything there. It runs when the
// index was never built (the sweep asks for it) and when an admin asks.
// Repository by repository, continued in a next delivery when the time runs out.
import { kvs } from '@forge/kvs';
import { z } from 'zod';
import { bareUuid, bitbucketUuid, bracedUuid } from '../bitbucket/uuid.js';
import type { JobView, SnapshotSummary } from '../contract.js';
import type { BlobStore } from '../engine/bucket/blob-store.js';
import { listSnapshotIds, readManifests } from '../engine/bucket/catalog.js';
import type { SnapshotManifest } from '../engine/bucket/format.js';
import { type RepoPath, parseKey } from '../engine/bucket/keys.js';
import { isLifeboatError } from '../engine/errors.js';
import { getRepository } from './bitbucket.js';
import { openBucket } from './bucket.js';
import { type Outcome, createJob, defineConsumer } from './jobs.js';
import { kvsKeys } from './keys.js';
import { listByPrefix } from './kvs-pages.js';
import { QUEUES, enqueue } from './queues.js';
import { requireConfiguration } from './settings-store.js';
import { indexSnapshot, markDeleted, recordUnreadable, unmarkDeleted } from './snapshot-index.js';

/** Leaves time within the 900 s to record the outcome and queue the continuation. */
const BUDGET_MS = 600_000;

const indexBody = z.object({
  workspaceUuid: bitbucketUuid,
  jobId: z.string().optional(),
  /** The last repository (bare UUID) already indexed, when a rebuild continues. */
  after: z.string().optional(),
});
type IndexBody = z.infer<typeof indexBody>;

/** "Rebuild the index" on the admin page, and the sweep when the index was never built. */
export async function requestReindex(input: { workspaceUuid: string; accountId?: string }): Promise<JobView> {
  const job = await createJob('index', 'Waiting in the queue.', input.accountId ? { requestedBy: input.accountId } : {});
  await enqueue(QUEUES.index, [{ workspaceUuid: input.workspaceUuid, jobId: job.id } satisfies IndexBody]);
  return job;
}

export const runReindex = defineConsumer<IndexBody>({
  kind: 'index',
  queue: QUEUES.index,
  body: indexBody,
  audit: () => ({ action: 'index rebuilt from the bucket' }),
  async run(body, context): Promise<Outcome> {
    const { settings, secrets } = await requireConfiguration();
    const store = openBucket(settings, secrets.bucketSecretAccessKey);
    const repositories = (await repositoriesInBucket(store, body.workspaceUuid)).filter((repo) => body.after === undefined || repo.repository > body.after);
    let done = 0;
    for (const repo of repositories) {
      if (Date.now() - context.startedAt > BUDGET_MS) {
        const after = repositories[done - 1]?.repository ?? body.after;
        await enqueue(QUEUES.index, [{ ...body, ...(after ? { after } : {}) } satisfies IndexBody]);
        return { state: 'continuing', message: `Indexed ${done} repositories in this run; continuing.` };
      }
      context.progress('indexing', { done, total: repositories.length });
      await reindexRepository(store, body.workspaceUuid, repo);
      done++;
    }
    await kvs.set(kvsKeys.indexBuiltAt, new Date().toISOString());
    return { state: 'done', message: `Rebuilt the index of ${done} repositories from the bucket.`, result: { repositories: done } };
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

/** One repository's entries made equal to its manifests; then whether Bitbucket still has it. */
async function reindexRepository(store: BlobStore, workspaceUuid: string, repo: RepoPath): Promise<void> {
  const repositoryUuid = bracedUuid(repo.repository);
  const ids = await listSnapshotIds(store, repo);
  const inBucket = new Set(ids);
  // Collected before deleting: KVS's cursors are not promised to survive deletes under them.
  const stale: string[] = [];
  for await (const entry of indexedSnapshots(repositoryUuid)) if (!inBucket.has(entry.id)) stale.push(entry.id);
  await Promise.all(stale.map((id) => kvs.delete(kvsKeys.snapshotEntry(repositoryUuid, id))));
  // The summary follows the newest snapshot indexed below, whatever it said before.
  await kvs.delete(kvsKeys.repoSummary(repositoryUuid));
  // One unreadable manifest must not hide the others: it is named on the page instead.
  const { manifests, unreadable } = await readManifests(store, ids.map((id) => ({ repo, id })));
  let previous: SnapshotManifest | undefined;
  for (const manifest of manifests) {
    await indexSnapshot(repositoryUuid, manifest, previous);
    previous = manifest;
  }
  await recordUnreadable(repositoryUuid, [...unreadable].reverse()); // newest first, as the page lists
  if (await existsInBitbucket(workspaceUuid, repositoryUuid)) await unmarkDeleted(repositoryUuid);
  else await markDeleted(repositoryUuid);
}

async function* indexedSnapshots(repositoryUuid: string): AsyncIterable<SnapshotSummary> {
  let cursor: string | undefined;
  do {
    const page = await listByPrefix<SnapshotSummary>(kvsKeys.snapshotEntryPrefix(repositoryUuid), cursor);
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

/** Absent from a listing may still mean hidden from it: only a 404 by UUID says deleted. */
async function existsInBitbucket(workspaceUuid: string, repositoryUuid: string): Promise<boolean> {
  try {
    await getRepository(workspaceUuid, repositoryUuid);
    return true;
  } catch (error) {
    if (isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) return false;
    throw error;
  }
}
