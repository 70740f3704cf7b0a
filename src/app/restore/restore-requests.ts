// Asking for a restore, from the pages: a snapshot (or some of its refs) back
// into Bitbucket — beside the existing work, into a new repository, or over
// chosen refs once the current state is backed up — the undo of a destructive
// push, and a deleted repository into a new one. Each request is checked
// against the bucket and Bitbucket within a resolver's 25 s (the payload's
// shape was checked by the resolver) and becomes a job for the restore queue.
import { bracedUuid } from '../../bitbucket/uuid.js';
import { apiPath } from '../../bitbucket/client.js';
import type { DestructiveEvent, JobView, RestoreAsked, RestoreDestination, RestoreRequest } from '../../contract.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import { findSnapshotHolding } from '../../engine/bucket/catalog.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import type { RepoPath } from '../../engine/bucket/bucket-keys.js';
import { LifeboatError, isLifeboatError } from '../../engine/errors.js';
import { isRestoredRef } from '../../engine/remote-restore.js';
import { fullRefNames } from '../../engine/git/ref-name.js';
import { parseIdentities } from '../../engine/bucket/crypto.js';
import { appBitbucket } from '../../forge/bitbucket.js';
import { openWorkspaceBucket, openSnapshot, repoPath } from '../../forge/bucket.js';
import { getDestructiveEvent } from './destructive-events.js';
import { startJob } from '../../forge/jobs.js';
import { kvsKeys } from '../state/state-keys.js';
import { QUEUES } from '../../forge/queues.js';
import { planConfigurationRestore } from './configuration-restores.js';
import { forgetIdentity, isEncrypted, keepIdentity, refuseEncrypted } from './restore-identity.js';
import { type RestoreBody, type StoredRestore, restoreAction } from './restore-consumer.js';
import { type Configuration, requireConfiguration } from '../settings/settings-store.js';
import { appTrust } from '../settings/signing-keys.js';
import { newestSnapshotIds, readSummary } from '../catalogue/snapshot-index.js';
import { appState } from '../../forge/state/context.js';

/** How far back undo looks for a snapshot holding the old tip when the event names none. */
const UNDO_SEARCH_SNAPSHOTS = 50;
/** Chosen ref names, as JSON, that fit in the stored request (a KVS value ≤240 KiB) with room to spare. */
const MAX_CHOSEN_REFS_CHARS = 200_000;

interface Requester {
  workspaceUuid: string;
  repositoryUuid: string;
  accountId: string;
}

export async function requestRestore(input: Requester & { request: RestoreRequest }): Promise<JobView<'restore'>> {
  const { request } = input;
  const configuration = await requireConfiguration();
  const { manifest } = await openSnapshot(configuration, input, request.snapshotId, await appTrust('flag'));
  // Only an encrypted snapshot takes an identity; whether it fits is the job's first step.
  if (request.identity === undefined) refuseEncrypted(manifest, 'give the age identity (AGE-SECRET-KEY-1...) for this restore.');
  else if (!isEncrypted(manifest)) throw new LifeboatError('INVALID_ARGUMENT', `Snapshot ${manifest.id} is not encrypted: it needs no identity.`);
  const identities = request.identity === undefined ? undefined : parseIdentities(request.identity);
  const refs = chosenRefs(manifest, request.refs, request.mode);
  if (request.mode === 'new-repository') await checkSlugFree(input.workspaceUuid, request.newRepositorySlug!);
  // The same checks as the plan the page showed: a snapshot without configuration, or a target it cannot read, queues nothing.
  if (request.configuration) await planConfigurationRestore(configuration, input, manifest.id, request.mode === 'new-repository' ? 'new-repository' : 'this-repository');
  const stored: StoredRestore = {
    kind: 'restore',
    snapshotId: manifest.id,
    mode: request.mode,
    ...(refs ? { refs } : {}),
    ...(request.mode === 'new-repository' ? { newRepositorySlug: request.newRepositorySlug! } : {}),
    ...(request.configuration ? { configuration: request.configuration } : {}),
    ...(request.largeFilesConfirmed ? { largeFilesConfirmed: true } : {}),
    ...(request.configuration && request.lowering ? { lowering: request.lowering } : {}),
    accountId: input.accountId,
  };
  const asked: RestoreAsked = {
    kind: 'restore', snapshotId: manifest.id, mode: request.mode,
    ...(refs ? { refs: refs.length } : {}),
    ...(stored.newRepositorySlug ? { newRepositorySlug: stored.newRepositorySlug } : {}),
    ...(request.configuration ? { configuration: request.configuration } : {}),
  };
  return queueRestore(input, stored, asked, identities);
}

export async function requestUndo(input: Requester & { eventId: string; inPlace: boolean }): Promise<JobView<'restore'>> {
  const event = await getDestructiveEvent(input.repositoryUuid, input.eventId);
  if (event.undoneBy) throw new LifeboatError('INVALID_ARGUMENT', `This ${eventWords(event)} was already undone (job ${event.undoneBy.jobId}, ${event.undoneBy.at}).`);
  const configuration = await requireConfiguration();
  const store = openWorkspaceBucket(configuration.settings, configuration.secrets.bucketSecretAccessKey);
  const found = await snapshotForUndo(store, repoPath(input.workspaceUuid, input.repositoryUuid), input.repositoryUuid, event);
  if (!found) {
    const why = event.snapshotId ? `snapshot ${event.snapshotId}, which held it, is no longer in the bucket` : 'it was never backed up';
    throw new LifeboatError('SNAPSHOT_NOT_FOUND', `No snapshot holds ${event.ref} at ${event.previousTip.slice(0, 12)}: ${why}, so it cannot be put back.`);
  }
  refuseEncrypted(found.manifest, ONLY_WITH_IDENTITY);
  const stored: StoredRestore = {
    kind: 'undo',
    snapshotId: found.manifest.id,
    mode: input.inPlace ? 'overwrite' : 'beside',
    refs: [found.ref],
    eventId: event.id,
    accountId: input.accountId,
  };
  return queueRestore(input, stored, { kind: 'undo', event: event.kind, ref: found.ref, previousTip: event.previousTip, inPlace: input.inPlace });
}

export async function requestDeletedRestore(input: Requester & { snapshotId?: string; newRepositorySlug: string }): Promise<JobView<'restore'>> {
  const configuration = await requireConfiguration();
  const snapshotId = input.snapshotId ?? (await readSummary(input.repositoryUuid))?.latest?.id;
  if (!snapshotId) throw new LifeboatError('SNAPSHOT_NOT_FOUND', 'Lifeboat knows no snapshot of this repository (an admin can rebuild the index from the bucket).');
  const manifest = await restorableSnapshot(configuration, input, snapshotId);
  await checkSlugFree(input.workspaceUuid, input.newRepositorySlug);
  const stored: StoredRestore = { kind: 'deleted-repository', snapshotId: manifest.id, mode: 'new-repository', newRepositorySlug: input.newRepositorySlug, accountId: input.accountId };
  const repository = manifest.repository.slug ?? bracedUuid(input.repositoryUuid);
  return queueRestore(input, stored, { kind: 'deleted-repository', snapshotId: manifest.id, repository, newRepositorySlug: input.newRepositorySlug });
}

async function queueRestore(input: Requester, stored: StoredRestore, restore: RestoreAsked, identities?: string[]): Promise<JobView<'restore'>> {
  let jobId: string | undefined;
  try {
    return await startJob<'restore', RestoreBody>({
      kind: 'restore', note: { code: 'restore-queued', restore }, requestedBy: input.accountId, repositoryUuid: input.repositoryUuid,
      queue: QUEUES.restore, body: (id) => ({ workspaceUuid: input.workspaceUuid, repositoryUuid: input.repositoryUuid, jobId: id }),
      audit: { action: restoreAction(stored) },
      async prepare(job) {
        jobId = job.id;
        if (identities) await keepIdentity(job.id, identities);
        await appState().set(kvsKeys.restoreRequest(job.id), stored);
      },
    });
  } catch (error) {
    // No job will run to delete it: the identity goes now.
    if (identities && jobId) await forgetIdentity(jobId).catch(() => undefined);
    throw error;
  }
}

async function restorableSnapshot(configuration: Configuration, input: Requester, snapshotId: string): Promise<SnapshotManifest> {
  const { manifest } = await openSnapshot(configuration, input, snapshotId, await appTrust('flag'));
  refuseEncrypted(manifest, ONLY_WITH_IDENTITY);
  return manifest;
}

/** Where no identity can be given (an undo from the banner, a deleted repository), an encrypted snapshot is refused with this. */
const ONLY_WITH_IDENTITY = 'restore it from its snapshot\'s Restore dialog, with the age identity.';

/** The chosen refs, each one the snapshot's; undefined for all of them. */
function chosenRefs(manifest: SnapshotManifest, refs: string[] | undefined, mode: RestoreDestination): string[] | undefined {
  if (refs === undefined) return undefined;
  const known = new Set(manifest.refs.map((ref) => ref.name));
  const missing = refs.filter((ref) => !known.has(ref));
  if (missing.length > 0) throw new LifeboatError('INVALID_ARGUMENT', `Snapshot ${manifest.id} has no ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}.`);
  const unique = [...new Set(refs)];
  // Every ref of the snapshot is the same as none chosen, and keeps the stored request small — except
  // beside, where none chosen leaves out the snapshot's own restored/ refs that this choice names.
  if (unique.length === known.size && !(mode === 'beside' && unique.some(isRestoredRef))) return undefined;
  // The request is one KVS value (≤240 KiB) beside the job.
  if (JSON.stringify(unique).length > MAX_CHOSEN_REFS_CHARS) {
    throw new LifeboatError('INVALID_ARGUMENT', `${unique.length} refs are too many to choose one by one: restore the whole snapshot, or choose fewer.`);
  }
  return unique;
}

async function checkSlugFree(workspaceUuid: string, slug: string): Promise<void> {
  try {
    await appBitbucket().get(apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}/${slug}?fields=uuid`);
  } catch (error) {
    if (isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) return;
    throw error;
  }
  throw new LifeboatError('INVALID_ARGUMENT', `The workspace already has a repository ${slug}: choose another name.`);
}

/**
 * The snapshot an undo restores from, and the full name of the ref there: the
 * event's snapshot when it names one, else the newest that holds the old tip.
 */
async function snapshotForUndo(store: BlobStore, repo: RepoPath, repositoryUuid: string, event: DestructiveEvent): Promise<{ manifest: SnapshotManifest; ref: string } | undefined> {
  const refNames = event.ref.startsWith('refs/') ? [event.ref] : fullRefNames(event.ref, event.kind === 'tag-deleted' ? 'tag' : undefined);
  const candidates = event.snapshotId ? [event.snapshotId] : await newestSnapshotIds(repositoryUuid, UNDO_SEARCH_SNAPSHOTS);
  const found = await findSnapshotHolding(store, repo, { refNames, oid: event.previousTip }, candidates, await appTrust('flag'));
  return found && { manifest: found.manifest, ref: found.refName };
}

function eventWords(event: DestructiveEvent): string {
  switch (event.kind) {
    case 'force-push': return 'force-push';
    case 'tag-deleted': return 'tag deletion';
    case 'branch-deleted': return 'branch deletion';
    case 'ref-deleted': return 'deletion';
  }
}
