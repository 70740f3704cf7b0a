// Restores: a snapshot (or some of its refs) pushed back into Bitbucket — beside
// the existing work, into a new repository, or over chosen refs once the
// current state is itself backed up — and the undo of a destructive push.
// Requests are checked and queued within a resolver's 25 s; the restore-queue
// consumer does the work in up to 900 s, holding the repository's lease so a
// backup and a restore of one repository never run at once.
import { InvocationError, InvocationErrorCode } from '@forge/events';
import { kvs } from '@forge/kvs';
import { z } from 'zod';
import { apiPath } from '../bitbucket/client.js';
import type { DeletedRepository, DestructiveEvent, JobView, RestoreMode, RestoreRequest } from '../contract.js';
import type { BlobStore } from '../engine/bucket/blob-store.js';
import { findSnapshotHolding, readManifest, readNewestManifest } from '../engine/bucket/catalog.js';
import type { SnapshotManifest } from '../engine/bucket/format.js';
import { type RepoPath, isSnapshotId, parseKey } from '../engine/bucket/keys.js';
import { acquireLock } from '../engine/bucket/locks.js';
import { LifeboatError, isLifeboatError } from '../engine/errors.js';
import { type RestoreReport, isRestoredRef, restoreToRemote } from '../engine/restore.js';
import type { GitClient } from '../engine/git/types.js';
import { REPOSITORY_SLUG } from '../settings.js';
import { acquireLease, backupOnce, getDestructiveEvent, markEventUndone, releaseLease } from './backups.js';
import { type RepositoryJson, apiOrigin, appBitbucket, cloneUrl, credentialBitbucket, getRepository, gitClientFor } from './bitbucket.js';
import { openBucket, repoPath } from './bucket.js';
import { bareUuid, bracedUuid, kvsKeys } from './keys.js';
import { type RequesterAccess, makeRepositoryAdmin } from './permissions.js';
import { classifyError } from './platform-errors.js';
import { QUEUES, type RestoreJob, enqueue } from './queues.js';
import { createJob, getJob, recordAudit, updateJob } from './records.js';
import { type Configuration, requireConfiguration } from './settings-store.js';

/** What the consumer is asked to do, kept beside the job; the steps already done are added as they finish. */
interface StoredRestore {
  kind: 'restore' | 'undo' | 'deleted-repository';
  snapshotId: string;
  mode: RestoreMode;
  /** Full ref names; all of the snapshot's when absent. */
  refs?: string[];
  newRepositorySlug?: string;
  /** The destructive event an undo puts right. */
  eventId?: string;
  accountId: string;
  /** The snapshot of the state an overwrite replaces, once taken: a retry does not take another. */
  guardSnapshotId?: string;
  /** The repository this job created, once created: a retry pushes into it instead of creating another. */
  createdRepository?: { uuid: string; slug: string };
  /** Whether the requester administers the created repository, once settled: a retry does not ask again. */
  requesterAccess?: RequesterAccess;
}

/**
 * Forge delivers an event about four times in all (retryCount 0 to 3): the
 * attempt with this retryCount records the failure (or queues anew) instead of
 * asking for a retry that would never come.
 */
const MAX_RETRIES = 3;
/** A consumer runs at most 900 s; Forge waits at most as long before a retry. */
const CONSUMER_SECONDS = 900;
/** The backup before an overwrite stops here, leaving the rest of the 900 s to the restore itself. */
const GUARD_BACKUP_MS = 540_000;
/** When a backup of the repository holds the lease, look again after this long. */
const LEASE_WAIT_SECONDS = 60;
/** Job results are KVS values (≤240 KB) shown on a page: list this many refs, count the rest. */
const LISTED_REFS = 50;
/** How far back undo looks for a snapshot holding the old tip when the event names none. */
const UNDO_SEARCH_SNAPSHOTS = 50;
/** Chosen ref names, as JSON, that fit in the stored request (a KVS value ≤240 KiB) with room to spare. */
const MAX_CHOSEN_REFS_CHARS = 200_000;

const restoreJobSchema = z.object({ workspaceUuid: z.string().min(1), repositoryUuid: z.string().min(1), jobId: z.string().min(1) });

interface RestoreEvent {
  body: unknown;
  retryContext?: { retryCount: number };
}

// ---------------------------------------------------------------------------
// Requests (called by resolvers: checked fully before anything is written)

export async function requestRestore(input: { workspaceUuid: string; repositoryUuid: string; request: RestoreRequest; accountId: string }): Promise<JobView> {
  const { request } = input;
  const mode = request.mode ?? 'beside';
  if (!['beside', 'new-repository', 'overwrite'].includes(mode)) {
    throw new LifeboatError('INVALID_ARGUMENT', `"${String(mode)}" is not a way to restore: choose beside, new-repository or overwrite.`);
  }
  if (mode === 'overwrite' && request.confirmOverwrite !== true) {
    throw new LifeboatError('INVALID_ARGUMENT', 'Overwriting branches replaces their current commits: confirm it explicitly (the current state is backed up first).');
  }
  if (mode === 'new-repository') checkSlugShape(request.newRepositorySlug);
  const configuration = await requireConfiguration();
  const manifest = await restorableSnapshot(configuration, input.workspaceUuid, input.repositoryUuid, request.snapshotId);
  const refs = chosenRefs(manifest, request.refs, mode);
  if (mode === 'new-repository') await checkSlugFree(input.workspaceUuid, request.newRepositorySlug!);

  const stored: StoredRestore = {
    kind: 'restore',
    snapshotId: manifest.id,
    mode,
    ...(refs ? { refs } : {}),
    ...(mode === 'new-repository' ? { newRepositorySlug: request.newRepositorySlug! } : {}),
    accountId: input.accountId,
  };
  return queueRestore(input, stored, describe(stored));
}

export async function requestUndo(input: { workspaceUuid: string; repositoryUuid: string; eventId: string; inPlace: boolean; confirmOverwrite: boolean; accountId: string }): Promise<JobView> {
  if (input.inPlace && !input.confirmOverwrite) {
    throw new LifeboatError('INVALID_ARGUMENT', 'Putting the branch back in place replaces its current commits: confirm it explicitly (the current state is backed up first).');
  }
  const event = await getDestructiveEvent(input.repositoryUuid, input.eventId);
  if (event.undoneBy) throw new LifeboatError('INVALID_ARGUMENT', `This ${eventWords(event)} was already undone (job ${event.undoneBy.jobId}, ${event.undoneBy.at}).`);
  const configuration = await requireConfiguration();
  const store = openBucket(configuration.settings, configuration.secrets.bucketSecretAccessKey);
  const found = await snapshotHolding(store, repoPath(input.workspaceUuid, input.repositoryUuid), event);
  if (!found) {
    throw new LifeboatError('SNAPSHOT_NOT_FOUND', `No snapshot holds ${event.ref} at ${event.previousTip.slice(0, 12)}: it was never backed up, so it cannot be put back.`);
  }
  refuseEncrypted(found.manifest);
  const stored: StoredRestore = {
    kind: 'undo',
    snapshotId: found.manifest.id,
    mode: input.inPlace ? 'overwrite' : 'beside',
    refs: [found.ref],
    eventId: event.id,
    accountId: input.accountId,
  };
  return queueRestore(input, stored, `Undo the ${eventWords(event)} of ${found.ref}: ${input.inPlace ? 'put it back in place' : 'restore it beside'} at ${event.previousTip.slice(0, 12)}.`);
}

export async function requestDeletedRestore(input: { workspaceUuid: string; repositoryUuid: string; snapshotId?: string; newRepositorySlug: string; accountId: string }): Promise<JobView> {
  checkSlugShape(input.newRepositorySlug);
  const configuration = await requireConfiguration();
  const store = openBucket(configuration.settings, configuration.secrets.bucketSecretAccessKey);
  const repo = repoPath(input.workspaceUuid, input.repositoryUuid);
  const manifest = input.snapshotId === undefined
    ? await readNewestManifest(store, repo)
    : await restorableSnapshot(configuration, input.workspaceUuid, input.repositoryUuid, input.snapshotId);
  if (!manifest) throw new LifeboatError('SNAPSHOT_NOT_FOUND', 'The bucket holds no snapshot of this repository.');
  refuseEncrypted(manifest);
  await checkSlugFree(input.workspaceUuid, input.newRepositorySlug);
  const stored: StoredRestore = { kind: 'deleted-repository', snapshotId: manifest.id, mode: 'new-repository', newRepositorySlug: input.newRepositorySlug, accountId: input.accountId };
  const was = manifest.repository.slug ?? bracedUuid(input.repositoryUuid);
  return queueRestore(input, stored, `Restore the deleted repository ${was} from snapshot ${manifest.id} into the new repository ${input.newRepositorySlug}.`);
}

async function queueRestore(input: { workspaceUuid: string; repositoryUuid: string; accountId: string }, stored: StoredRestore, message: string): Promise<JobView> {
  const job = await createJob('restore', `Queued. ${message}`, input.accountId, input.repositoryUuid);
  await kvs.set(kvsKeys.restoreRequest(job.id), stored);
  await recordAudit({ actorAccountId: input.accountId, action: actionName(stored), repositoryUuid: bracedUuid(input.repositoryUuid), detail: message });
  await enqueue<RestoreJob>(QUEUES.restore, [{ workspaceUuid: input.workspaceUuid, repositoryUuid: input.repositoryUuid, jobId: job.id }]);
  return job;
}

// ---------------------------------------------------------------------------
// Deleted repositories

/** Repositories of the workspace with snapshots in the bucket that Bitbucket no longer has. */
export async function listDeletedRepositories(workspaceUuid: string): Promise<DeletedRepository[]> {
  const { settings, secrets } = await requireConfiguration();
  const store = openBucket(settings, secrets.bucketSecretAccessKey);
  const inBucket = new Map<string, RepoPath>();
  for await (const blob of store.list(`${bareUuid(workspaceUuid)}/`)) {
    const parsed = parseKey(blob.key);
    if (parsed.kind === 'snapshot') inBucket.set(parsed.repo.repository, parsed.repo);
  }
  if (inBucket.size === 0) return [];

  const bitbucket = appBitbucket();
  const present = new Set<string>();
  for await (const repository of bitbucket.paginate<{ uuid: string }>(apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}` + '?fields=values.uuid,next&pagelen=100')) {
    present.add(bareUuid(repository.uuid));
  }
  const deleted: DeletedRepository[] = [];
  for (const [uuid, repo] of inBucket) {
    if (present.has(uuid)) continue;
    // Absent from the listing may still mean hidden from it: only a 404 by UUID says deleted.
    if (await existsInBitbucket(workspaceUuid, uuid)) continue;
    const manifest = await readNewestManifest(store, repo);
    if (!manifest) continue;
    deleted.push({
      repositoryUuid: bracedUuid(uuid),
      slug: manifest.repository.slug ?? uuid,
      name: manifest.repository.name ?? manifest.repository.slug ?? uuid,
      lastSnapshotId: manifest.id,
      lastSnapshotAt: manifest.createdAt,
    });
  }
  return deleted.sort((a, b) => a.slug.localeCompare(b.slug));
}

async function existsInBitbucket(workspaceUuid: string, repositoryUuid: string): Promise<boolean> {
  try {
    await getRepository(workspaceUuid, repositoryUuid);
    return true;
  } catch (error) {
    if (isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) return false;
    throw error;
  }
}

// ---------------------------------------------------------------------------
// The consumer

export async function runRestore(event: RestoreEvent): Promise<InvocationError | undefined> {
  const started = Date.now();
  const parsed = restoreJobSchema.safeParse(event.body);
  if (!parsed.success) {
    console.error('lifeboat: restore event without a valid body', event.body);
    return undefined;
  }
  const body = parsed.data;
  const retryCount = event.retryContext?.retryCount ?? 0;
  const job = await getJob(body.jobId).catch((error: unknown) => {
    if (isLifeboatError(error, 'JOB_NOT_FOUND')) return undefined;
    throw error;
  });
  // A job forgotten, or finished by an earlier delivery of the same event: nothing left to do.
  if (!job || job.state === 'succeeded' || job.state === 'failed') return undefined;
  const stored = await kvs.get<StoredRestore>(kvsKeys.restoreRequest(body.jobId));
  if (!stored) {
    await updateJob(body.jobId, { state: 'failed', message: 'The restore request was lost before it ran; start it again.', error: { code: 'INTERNAL', message: 'The restore request was not found.' } });
    return undefined;
  }

  const holder = `restore:${body.jobId}`;
  if (!(await acquireLease(body.repositoryUuid, holder, 'restore'))) {
    await updateJob(body.jobId, { message: 'Waiting for the backup running on this repository to finish.' });
    if (retryCount < MAX_RETRIES) return new InvocationError({ retryAfter: LEASE_WAIT_SECONDS, retryReason: InvocationErrorCode.FUNCTION_RETRY_REQUEST });
    // Waiting is not failing: a fresh event keeps the job alive past Forge's retry bound.
    await enqueue<RestoreJob>(QUEUES.restore, [body], LEASE_WAIT_SECONDS * 2);
    return undefined;
  }
  try {
    await updateJob(body.jobId, { state: 'running', message: 'Reading the snapshot.' });
    const outcome = await perform(body, stored, started);
    await updateJob(body.jobId, { state: 'succeeded', message: outcome.message, result: outcome.result });
    if (stored.eventId) await markEventUndone(body.repositoryUuid, stored.eventId, body.jobId);
    await recordAudit({ actorAccountId: stored.accountId, action: actionName(stored), repositoryUuid: bracedUuid(body.repositoryUuid), outcome: 'ok', detail: outcome.message });
    return undefined;
  } catch (thrown) {
    const error = classifyError(thrown);
    if (error.kind === 'transient' && retryCount < MAX_RETRIES) {
      await updateJob(body.jobId, { state: 'queued', message: `Will try again shortly: ${error.message}` });
      const hinted = Number(error.details?.retryAfterSeconds);
      const retryAfter = Number.isFinite(hinted) && hinted > 0 ? hinted : 30 * 2 ** retryCount;
      return new InvocationError({ retryAfter: Math.min(retryAfter, CONSUMER_SECONDS), retryReason: InvocationErrorCode.FUNCTION_RETRY_REQUEST });
    }
    if (error.kind === 'bug') console.error('lifeboat: restore failed', thrown);
    const message = error.kind === 'bug' ? 'Something went wrong inside Lifeboat; the app\'s log has the details.' : error.message;
    await updateJob(body.jobId, { state: 'failed', message: `The restore failed: ${message}`, error: { code: error.code, message } });
    await recordAudit({ actorAccountId: stored.accountId, action: actionName(stored), repositoryUuid: bracedUuid(body.repositoryUuid), outcome: 'failed', detail: `${error.code}: ${message}` });
    return undefined;
  } finally {
    await releaseLease(body.repositoryUuid, holder);
  }
}

async function perform(body: RestoreJob, stored: StoredRestore, started: number): Promise<{ message: string; result: Record<string, unknown> }> {
  const configuration = await requireConfiguration();
  const { settings, secrets } = configuration;
  const store = openBucket(settings, secrets.bucketSecretAccessKey);
  const repo = repoPath(body.workspaceUuid, body.repositoryUuid);
  const manifest = await readManifest(store, { repo, id: stored.snapshotId });
  refuseEncrypted(manifest);

  let target: { git: GitClient; slug: string; mode: 'empty' | 'beside' | 'overwrite' };
  if (stored.mode === 'new-repository') {
    // Pushing again into the repository this job created is safe: nobody else has had it yet.
    const resumed = stored.createdRepository !== undefined;
    const created = stored.createdRepository ?? await createRepository(body, stored, manifest);
    const repository = await getRepository(body.workspaceUuid, created.uuid);
    if (!stored.requesterAccess) {
      // Before the push: should it fail for good, the requester can still administer (or delete) the repository.
      const credential = credentialBitbucket(apiOrigin(repository), settings, secrets.bitbucketToken);
      stored.requesterAccess = await makeRepositoryAdmin(body.workspaceUuid, created.uuid, stored.accountId, credential);
      await kvs.set(kvsKeys.restoreRequest(body.jobId), stored);
    }
    target = { git: gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken), slug: created.slug, mode: resumed ? 'overwrite' : 'empty' };
  } else {
    const repository = await getRepository(body.workspaceUuid, body.repositoryUuid);
    target = { git: gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken), slug: repository.slug ?? bracedUuid(body.repositoryUuid), mode: stored.mode === 'overwrite' ? 'overwrite' : 'beside' };
    if (stored.mode === 'overwrite' && !stored.guardSnapshotId) {
      stored.guardSnapshotId = await backUpCurrentState(body, started);
      await kvs.set(kvsKeys.restoreRequest(body.jobId), stored);
    }
  }

  const refCount = stored.refs?.length ?? manifest.refs.length;
  await updateJob(body.jobId, { message: `Pushing ${refCount} ref${refCount === 1 ? '' : 's'} of snapshot ${manifest.id} into ${target.slug}.` });
  // A shared lock keeps a prune from deleting the snapshot's bundles while they are read.
  const lock = await acquireLock(store, repo, 'shared', { owner: `lifeboat restore ${body.jobId}` });
  let report: RestoreReport;
  try {
    report = await restoreToRemote({ store, manifest, git: target.git, mode: target.mode, ...(stored.refs ? { only: stored.refs } : {}) });
  } finally {
    await lock.release().catch(() => undefined); // a lock left behind goes stale by itself
  }

  const result: Record<string, unknown> = {
    snapshotId: manifest.id,
    mode: stored.mode,
    repository: target.slug,
    refCount: report.refs.length,
    refs: report.refs.slice(0, LISTED_REFS),
    ...(stored.guardSnapshotId ? { snapshotBeforeOverwrite: stored.guardSnapshotId } : {}),
    ...(stored.createdRepository ? { repositoryUuid: stored.createdRepository.uuid } : {}),
    ...(stored.requesterAccess ? { requesterAccess: stored.requesterAccess } : {}),
    ...(stored.eventId ? { eventId: stored.eventId } : {}),
    ...(report.leftOut.length > 0 ? { leftOutRefCount: report.leftOut.length } : {}),
    ...(report.bundlesResumed > 0 ? { bundlesResumed: report.bundlesResumed } : {}),
  };
  const where = stored.mode === 'beside' ? `beside the existing work (under restored/${manifest.id}/)` : stored.mode === 'overwrite' ? 'in place' : `into the new repository ${target.slug}`;
  const guard = stored.guardSnapshotId ? ` The state it replaced is kept as snapshot ${stored.guardSnapshotId}.` : '';
  const leftOut = report.leftOut.length > 0 ? ` ${report.leftOut.length} ref${report.leftOut.length === 1 ? '' : 's'} of earlier restores (restored/…) in the snapshot were left out; choose them by name to restore them too.` : '';
  return { message: `Restored ${report.refs.length} ref${report.refs.length === 1 ? '' : 's'} of snapshot ${manifest.id} ${where}.${guard}${leftOut}${accessWords(stored.requesterAccess)}`, result };
}

/** Backs up what an overwrite is about to replace; its snapshot id goes into the job's result. */
async function backUpCurrentState(body: RestoreJob, started: number): Promise<string> {
  await updateJob(body.jobId, { message: 'Backing up the current state before overwriting it.' });
  const backedUp = await backupOnce({ workspaceUuid: body.workspaceUuid, repositoryUuid: body.repositoryUuid, reason: 'before-overwrite', deadline: new Date(started + GUARD_BACKUP_MS) });
  if (backedUp.status === 'partial') {
    // What is stored so far stays; the retry continues the backup from there.
    throw new LifeboatError('LOCKED', 'The backup of the current state did not finish in this run; it continues before anything is overwritten.');
  }
  return backedUp.snapshot.id;
}

async function createRepository(body: RestoreJob, stored: StoredRestore, manifest: SnapshotManifest): Promise<{ uuid: string; slug: string }> {
  const slug = stored.newRepositorySlug!;
  await updateJob(body.jobId, { message: `Creating the repository ${slug}.` });
  const mainBranch = manifest.head.symref?.startsWith('refs/heads/') ? manifest.head.symref.slice('refs/heads/'.length) : undefined;
  const created = await appBitbucket().post<RepositoryJson>(apiPath`/2.0/repositories/${bracedUuid(body.workspaceUuid)}/${slug}`, {
    scm: 'git',
    is_private: true,
    ...(manifest.repository.name && stored.kind === 'deleted-repository' ? { name: manifest.repository.name } : {}),
    description: `Restored by Lifeboat from snapshot ${manifest.id} of ${manifest.repository.slug ?? 'a repository'}.`,
    ...(mainBranch ? { mainbranch: { type: 'branch', name: mainBranch } } : {}),
  });
  stored.createdRepository = { uuid: bracedUuid(created.uuid), slug: created.slug ?? slug };
  await kvs.set(kvsKeys.restoreRequest(body.jobId), stored);
  await recordAudit({ actorAccountId: stored.accountId, action: 'repository created for a restore', repositoryUuid: stored.createdRepository.uuid, detail: `${stored.createdRepository.slug} from snapshot ${manifest.id}` });
  return stored.createdRepository;
}

// ---------------------------------------------------------------------------
// Checks

async function restorableSnapshot(configuration: Configuration, workspaceUuid: string, repositoryUuid: string, snapshotId: unknown): Promise<SnapshotManifest> {
  if (typeof snapshotId !== 'string' || !isSnapshotId(snapshotId)) {
    throw new LifeboatError('INVALID_ARGUMENT', `"${String(snapshotId)}" is not a snapshot id (like 20261126T061500Z-3fa9c1).`);
  }
  const store = openBucket(configuration.settings, configuration.secrets.bucketSecretAccessKey);
  const manifest = await readManifest(store, { repo: repoPath(workspaceUuid, repositoryUuid), id: snapshotId });
  refuseEncrypted(manifest);
  return manifest;
}

/** The app holds only the recipients' public keys: it can write encrypted snapshots, not read them. */
function refuseEncrypted(manifest: SnapshotManifest): void {
  if (manifest.encryption || manifest.bundles.some((bundle) => bundle.encrypted)) {
    throw new LifeboatError('IDENTITY_REQUIRED', `Snapshot ${manifest.id} is encrypted, and Lifeboat keeps only the public keys. Restore it with the lifeboat command line and your age identity.`);
  }
}

function chosenRefs(manifest: SnapshotManifest, refs: unknown, mode: RestoreMode): string[] | undefined {
  if (refs === undefined) return undefined;
  if (!Array.isArray(refs) || refs.length === 0 || !refs.every((ref) => typeof ref === 'string')) {
    throw new LifeboatError('INVALID_ARGUMENT', 'Choose at least one branch or tag to restore, or leave the choice out to restore them all.');
  }
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

function checkSlugShape(slug: unknown): void {
  if (typeof slug !== 'string' || !REPOSITORY_SLUG.test(slug)) {
    throw new LifeboatError('INVALID_ARGUMENT', `"${String(slug ?? '')}" cannot name a new repository: use up to 62 lowercase letters, digits, "-", "_" and ".", starting with a letter or digit.`);
  }
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
async function snapshotHolding(store: BlobStore, repo: RepoPath, event: DestructiveEvent): Promise<{ manifest: SnapshotManifest; ref: string } | undefined> {
  const refNames = event.ref.startsWith('refs/')
    ? [event.ref]
    : event.kind === 'tag-deleted' ? [`refs/tags/${event.ref}`] : [`refs/heads/${event.ref}`, `refs/tags/${event.ref}`];
  // The event names its snapshot when the trigger found one; otherwise search the newest.
  const found = await findSnapshotHolding(store, repo, { refNames, oid: event.previousTip }, event.snapshotId
    ? { tryFirst: event.snapshotId, newest: 0 }
    : { newest: UNDO_SEARCH_SNAPSHOTS });
  return found && { manifest: found.manifest, ref: found.refName };
}

// ---------------------------------------------------------------------------
// Words

function describe(stored: StoredRestore): string {
  const what = stored.refs ? `${stored.refs.length} ref${stored.refs.length === 1 ? '' : 's'} of snapshot ${stored.snapshotId}` : `snapshot ${stored.snapshotId}`;
  switch (stored.mode) {
    case 'beside': return `Restore ${what} beside the existing work (under restored/${stored.snapshotId}/).`;
    case 'new-repository': return `Restore ${what} into the new repository ${stored.newRepositorySlug}.`;
    case 'overwrite': return `Overwrite with ${what}, after backing up the current state.`;
  }
}

function accessWords(access: RequesterAccess | undefined): string {
  if (!access) return '';
  if (access.admin) return access.via === 'granted' ? ' The requester was made an admin of it.' : ' The requester administers it as a workspace admin.';
  return ` The requester could not be made an admin of it (${access.problem.message}); a workspace admin can do that in the repository's settings, under User and group access.`;
}

function actionName(stored: StoredRestore): string {
  switch (stored.kind) {
    case 'undo': return 'undo destructive push';
    case 'deleted-repository': return 'restore deleted repository';
    case 'restore': return `restore (${stored.mode})`;
  }
}

function eventWords(event: DestructiveEvent): string {
  return event.kind === 'force-push' ? 'force-push' : event.kind === 'tag-deleted' ? 'tag deletion' : 'branch deletion';
}
