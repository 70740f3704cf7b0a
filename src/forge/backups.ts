// Backups on Forge: the repository-event trigger (pushes coalesce into one
// queued backup, destructive pushes are recorded for "undo"), the backup queue's
// consumer (one engine run per invocation, continued in the next when it runs
// out of time), and the helpers the resolvers and restores use.
import { createHash } from 'node:crypto';
import { InvocationError, InvocationErrorCode } from '@forge/events';
import { kvs } from '@forge/kvs';
import { z } from 'zod';
import type { BackupProgressView, DestructiveEvent, JobView, Paged, PushSeen } from '../contract.js';
import { type BackupProgress, type BackupResult, backup } from '../engine/backup.js';
import { findSnapshotHolding } from '../engine/bucket/catalog.js';
import type { SnapshotManifest, SnapshotTrigger } from '../engine/bucket/format.js';
import { recordStorageSetting } from '../engine/bucket/marker.js';
import { LifeboatError, toLifeboatError } from '../engine/errors.js';
import { storageSettingOf } from '../settings.js';
import { cloneUrl, getRepository, gitClientFor } from './bitbucket.js';
import { openBucket, repoPath } from './bucket.js';
import { isIncluded } from './coverage.js';
import { type RepositoryLifecycleEvent, type RepositoryPushEvent, repositoryEvent } from './events.js';
import { bareUuid, bracedUuid, kvsKeys } from './keys.js';
import { classifyError } from './platform-errors.js';
import { type BackupJob, type BackupReason, QUEUES, consumerEvent, enqueue } from './queues.js';
import { createJob, listByPrefix, recordAudit, updateJob } from './records.js';
import { loadSettings, requireConfiguration, storeSettings, type Configuration } from './settings-store.js';
import { readStatus, updateStatus } from './status.js';

/** Pushes within this window after the first one ride along in the same backup. */
export const COALESCE_DELAY_SECONDS = 30;
/** A queued-backup marker older than this belongs to a job that was lost: the next push enqueues anew. */
const QUEUED_STALE_SECONDS = 20 * 60;
/** Longer than a consumer may run (900 s), so a lease outlives only a holder that died. */
const LEASE_SECONDS = 16 * 60;
/** The engine stops after the bundle that ends past this, leaving room to commit and record within 900 s. */
const RUN_BUDGET_SECONDS = 780;
/**
 * A first backup is split into bundles of at most this many refs, so that no
 * single fetch has to carry a huge repository within one request's time limit.
 */
const MAX_REFS_PER_BUNDLE = 250;

/**
 * Both limits may be lowered with Forge variables (`forge variables set`) for a
 * workspace whose repositories are so large that a bundle of 250 refs does not
 * fit one request; the tests lower them to see a backup continue across jobs.
 */
function engineLimits(): { budgetSeconds: number; maxRefsPerBundle: number } {
  const lowered = (name: string, floor: number, ceiling: number): number => {
    const value = Number(process.env[name] ?? Number.NaN);
    return Number.isSafeInteger(value) && value >= floor && value < ceiling ? value : ceiling;
  };
  // A budget of 0 still makes progress: one bundle per job.
  return { budgetSeconds: lowered('LIFEBOAT_RUN_BUDGET_SECONDS', 0, RUN_BUDGET_SECONDS), maxRefsPerBundle: lowered('LIFEBOAT_MAX_REFS_PER_BUNDLE', 1, MAX_REFS_PER_BUNDLE) };
}
/** Forge retries an event about 4 times; the attempt after this many retries records the failure instead. */
const MAX_RETRIES = 3;
const LEASE_BUSY_RETRY_SECONDS = 60;
const PROGRESS_WRITE_INTERVAL_MS = 2_000;
/** Manifests the push trigger reads looking for the snapshot that holds a rewritten tip (it has 25 s). */
const DESTRUCTIVE_LOOKUP_MANIFESTS = 10;
/** How long the push trigger looks for that snapshot before recording the event without it (undo searches again). */
const DESTRUCTIVE_LOOKUP_MS = 8_000;

/** A continuation carries the trigger of the backup it continues, for the snapshot it finally writes. */
interface QueuedBackup extends BackupJob {
  trigger?: SnapshotTrigger;
}

const backupJobSchema = z.object({
  workspaceUuid: z.string().min(1),
  repositoryUuid: z.string().min(1),
  reason: z.enum(['push', 'schedule', 'manual', 'before-overwrite', 'continue']),
  jobId: z.string().optional(),
  trigger: z.enum(['push', 'schedule', 'manual', 'cli', 'restore-guard']).optional(),
});

const TRIGGERS: Record<Exclude<BackupReason, 'continue'>, SnapshotTrigger> = {
  push: 'push',
  schedule: 'schedule',
  manual: 'manual',
  'before-overwrite': 'restore-guard',
};

// ---------------------------------------------------------------- trigger

export async function handleRepositoryEvent(event: unknown): Promise<void> {
  const parsed = repositoryEvent.safeParse(event);
  if (!parsed.success) {
    // Not ours to retry (Forge does not retry triggers): say so in the log and move on.
    console.warn('lifeboat: ignoring an unexpected repository event', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    return;
  }
  const received = parsed.data;
  if (received.eventType === 'avi:bitbucket:push:repository') await onPush(received);
  else if (received.eventType === 'avi:bitbucket:created:repository') await onCreated(received);
  else await onDeleted(received);
}

async function onPush(event: RepositoryPushEvent): Promise<void> {
  const repositoryUuid = event.repository.uuid;
  const { push } = event;
  const seen: PushSeen = { ref: push.ref.name, ...(push.after ? { after: push.after } : {}), at: new Date().toISOString() };
  await kvs.set(kvsKeys.lastPush(repositoryUuid), seen);
  const settings = await loadSettings();
  // Unconfigured: the backup still queues, so that its failure tells the page to finish the set-up.
  if (!settings || isIncluded(settings, repositoryUuid)) {
    await enqueueCoalesced({ workspaceUuid: event.workspace.uuid, repositoryUuid, reason: 'push' });
  }
  if ((push.forced || push.closed) && push.before) await recordDestructivePush(event, push.before);
}

async function onCreated(event: RepositoryLifecycleEvent): Promise<void> {
  let settings = await loadSettings();
  if (!settings) return;
  const { repositories } = settings;
  const repositoryUuid = bracedUuid(event.repository.uuid);
  if (repositories.mode === 'chosen') {
    if (!repositories.includeNew) return;
    if (!repositories.chosen.some((chosen) => bareUuid(chosen) === bareUuid(repositoryUuid))) {
      settings = { ...settings, repositories: { ...repositories, chosen: [...repositories.chosen, repositoryUuid] } };
      await storeSettings(settings);
      await recordAudit({ action: 'repository included automatically', repositoryUuid, outcome: 'ok', detail: 'New repositories join the backups (workspace setting).' });
    }
  }
  if (isIncluded(settings, repositoryUuid)) await enqueueCoalesced({ workspaceUuid: event.workspace.uuid, repositoryUuid, reason: 'schedule' });
}

async function onDeleted(event: RepositoryLifecycleEvent): Promise<void> {
  const repositoryUuid = event.repository.uuid;
  await updateStatus(repositoryUuid, { state: 'idle', progress: undefined, deletedAt: new Date().toISOString() });
  await kvs.delete(kvsKeys.backupQueued(repositoryUuid));
  await recordAudit({
    action: 'repository deleted in Bitbucket',
    repositoryUuid: bracedUuid(repositoryUuid),
    ...(event.actor?.accountId ? { actorAccountId: event.actor.accountId } : {}),
    detail: 'Its snapshots stay in the bucket and can be restored into a new repository.',
  });
}

/** Set while a backup of the repository waits in the queue (kvsKeys.backupQueued). */
interface QueuedMarker {
  at: string;
  /** The job record of a requested backup ("back up now"): later requests join it. */
  jobId?: string;
}

const QUEUED_TTL = { value: QUEUED_STALE_SECONDS, unit: 'SECONDS' as const };

function isFresh(marker: QueuedMarker | undefined): marker is QueuedMarker {
  // Expiry is enforced lazily on some stores: judge the age ourselves too.
  return marker !== undefined && Date.now() - Date.parse(marker.at) < QUEUED_STALE_SECONDS * 1000;
}

/**
 * One queued backup per repository. Claims the marker for a backup about to be
 * enqueued, or answers the marker of the one already waiting when `joins` says the
 * new work can ride along in it. The claim is written with FAIL_IF_EXISTS, so two
 * callers racing on the same repository cannot both enqueue.
 */
async function claimQueued(repositoryUuid: string, marker: QueuedMarker, joins: (waiting: QueuedMarker) => Promise<boolean>): Promise<QueuedMarker | undefined> {
  const key = kvsKeys.backupQueued(repositoryUuid);
  try {
    await kvs.set(key, marker, { keyPolicy: 'FAIL_IF_EXISTS', ttl: QUEUED_TTL });
    return undefined;
  } catch (error) {
    if (!keyExists(error)) throw error;
  }
  const waiting = await kvs.get<QueuedMarker>(key);
  if (isFresh(waiting) && (await joins(waiting))) return waiting;
  await kvs.set(key, marker, { keyPolicy: 'OVERRIDE', ttl: QUEUED_TTL });
  return undefined;
}

/** Enqueues a backup whose marker was just claimed; a failed enqueue gives the claim back. */
async function enqueueClaimed(job: QueuedBackup, delayInSeconds: number): Promise<void> {
  try {
    await enqueue<QueuedBackup>(QUEUES.backup, [job], delayInSeconds);
  } catch (error) {
    await kvs.delete(kvsKeys.backupQueued(job.repositoryUuid)); // nothing waits: the next push must enqueue again
    throw error;
  }
  const status = await readStatus(job.repositoryUuid);
  if (status.state !== 'running') await updateStatus(job.repositoryUuid, { state: 'queued' });
}

/**
 * A backup that starts running gives up the marker: a push from now on must queue a
 * new backup, since this one may already have read the refs. A marker another
 * requested backup holds stays: that one still waits.
 */
async function releaseQueued(repositoryUuid: string, jobId: string | undefined): Promise<void> {
  const key = kvsKeys.backupQueued(repositoryUuid);
  const waiting = await kvs.get<QueuedMarker>(key);
  if (waiting?.jobId !== undefined && waiting.jobId !== jobId && (await kvs.get<JobView>(kvsKeys.job(waiting.jobId)))?.state === 'queued') return;
  await kvs.delete(key);
}

/**
 * Enqueues a backup unless one is already waiting in the queue: a burst of pushes
 * becomes one backup (and at most one more for pushes that land while it runs).
 */
export async function enqueueCoalesced(job: BackupJob, delayInSeconds = COALESCE_DELAY_SECONDS): Promise<boolean> {
  if (await claimQueued(job.repositoryUuid, { at: new Date().toISOString() }, async () => true)) return false;
  await enqueueClaimed(job, delayInSeconds);
  return true;
}

function keyExists(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 'KEY_ALREADY_EXISTS';
}

// ---------------------------------------------------------------- destructive events

async function recordDestructivePush(event: RepositoryPushEvent, previousTip: string): Promise<void> {
  const { push } = event;
  const repositoryUuid = bracedUuid(event.repository.uuid);
  const isTag = push.ref.type === 'tag';
  const refName = `${isTag ? 'refs/tags/' : 'refs/heads/'}${push.ref.name}`;
  const kind: DestructiveEvent['kind'] = push.closed ? (isTag ? 'tag-deleted' : 'branch-deleted') : 'force-push';
  // Bitbucket's timestamp, when it gives one, is the same on every redelivery: a duplicate rewrites the same record.
  const atMs = Date.parse(event.timestamp ?? '') || Date.now();
  const digest = createHash('sha256').update([repositoryUuid, refName, previousTip, push.after ?? '', kind].join('\n')).digest('hex').slice(0, 12);
  const id = `${atMs}-${digest}`;
  // Bounded: a slow bucket must not push the trigger past its 25 s and lose the record itself.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      console.warn('lifeboat: gave up looking for the snapshot holding a rewritten tip; undo will search for it');
      resolve(undefined);
    }, DESTRUCTIVE_LOOKUP_MS);
  });
  const lookup = snapshotHolding(repositoryUuid, event.workspace.uuid, refName, previousTip).catch((error: unknown) => {
    console.warn('lifeboat: could not look for the snapshot holding a rewritten tip', toLifeboatError(error).message);
    return undefined;
  });
  const snapshotId = await Promise.race([lookup, timedOut]).finally(() => clearTimeout(timer));
  const record: DestructiveEvent = {
    id,
    repositoryUuid,
    kind,
    ref: refName,
    previousTip,
    ...(push.after && !push.closed ? { newTip: push.after } : {}),
    ...(event.actor?.accountId ? { actorAccountId: event.actor.accountId } : {}),
    at: new Date(atMs).toISOString(),
    ...(snapshotId ? { snapshotId } : {}),
  };
  await kvs.set(kvsKeys.destructiveEvent(repositoryUuid, new Date(atMs), id), record);
}

/** The newest snapshot whose `refName` is at `tip`: the last backup first, then a few older ones. */
async function snapshotHolding(repositoryUuid: string, workspaceUuid: string, refName: string, tip: string): Promise<string | undefined> {
  const [settings, status] = await Promise.all([loadSettings(), readStatus(repositoryUuid)]);
  if (!settings) return undefined;
  const { secrets } = await requireConfiguration();
  const found = await findSnapshotHolding(openBucket(settings, secrets.bucketSecretAccessKey), repoPath(workspaceUuid, repositoryUuid), { refNames: [refName], oid: tip }, {
    ...(status.lastBackup ? { tryFirst: status.lastBackup.snapshotId } : {}),
    newest: DESTRUCTIVE_LOOKUP_MANIFESTS,
  });
  return found?.manifest.id;
}

/** Newest first. */
export async function listDestructiveEvents(repositoryUuid: string, cursor?: string): Promise<Paged<DestructiveEvent>> {
  return listByPrefix<DestructiveEvent>(kvsKeys.destructiveEventPrefix(repositoryUuid), cursor);
}

/** Event ids are `<epoch ms>-<digest>`, so the record's key follows from the id. */
function destructiveEventKey(repositoryUuid: string, eventId: string): string {
  const match = /^(\d{1,13})-[0-9a-f]{12}$/.exec(eventId);
  if (!match?.[1]) throw new LifeboatError('INVALID_ARGUMENT', 'There is no such event on this repository.');
  return kvsKeys.destructiveEvent(repositoryUuid, new Date(Number(match[1])), eventId);
}

export async function getDestructiveEvent(repositoryUuid: string, eventId: string): Promise<DestructiveEvent> {
  const event = await kvs.get<DestructiveEvent>(destructiveEventKey(repositoryUuid, eventId));
  if (!event) throw new LifeboatError('INVALID_ARGUMENT', 'There is no such event on this repository.');
  return event;
}

export async function markEventUndone(repositoryUuid: string, eventId: string, jobId: string): Promise<DestructiveEvent> {
  const event = { ...(await getDestructiveEvent(repositoryUuid, eventId)), undoneBy: { jobId, at: new Date().toISOString() } };
  await kvs.set(destructiveEventKey(repositoryUuid, eventId), event);
  return event;
}

// ---------------------------------------------------------------- requests from the pages

/**
 * "Back up now": a job the page can follow, queued at once (no delay: someone is
 * waiting). Coalesced like pushes: while a requested backup of the repository still
 * waits in the queue, asking again answers that job, marked `joined`.
 */
export async function requestBackup(input: { workspaceUuid: string; repositoryUuid: string; reason: BackupReason; accountId?: string }): Promise<JobView> {
  const repositoryUuid = bracedUuid(input.repositoryUuid);
  const actor = input.accountId ? { actorAccountId: input.accountId } : {};
  // The record exists before its id is in the marker, so a request that reads the marker always finds the job.
  const job = await createJob('backup', 'Waiting in the queue.', input.accountId, input.repositoryUuid);
  let joined: JobView | undefined;
  const waiting = await claimQueued(repositoryUuid, { at: job.createdAt, jobId: job.id }, async (marker) => {
    if (marker.jobId === undefined) return false; // a push's backup has no job to show: queue one that has
    joined = await kvs.get<JobView>(kvsKeys.job(marker.jobId));
    return joined?.state === 'queued';
  });
  if (waiting && joined) {
    await kvs.delete(kvsKeys.job(job.id));
    await recordAudit({ action: 'backup requested', repositoryUuid, ...actor, detail: `joined job ${joined.id}, already waiting in the queue` });
    return { ...joined, joined: true, message: `A backup of this repository was already waiting in the queue (asked for at ${joined.createdAt}); this request joined it.` };
  }
  await enqueueClaimed({ workspaceUuid: input.workspaceUuid, repositoryUuid, reason: input.reason, jobId: job.id }, 0);
  await recordAudit({ action: 'backup requested', repositoryUuid, ...actor, detail: `job ${job.id}` });
  return job;
}

// ---------------------------------------------------------------- the lease

interface Lease {
  holder: string;
  what: string;
  until: string;
}

/**
 * Takes the repository's lease for `holder` (a backup or a restore): true when
 * taken, false while someone else holds it. A lease whose holder outlived it
 * (killed at its time limit) is taken over; so is one the same holder left.
 */
export async function acquireLease(repositoryUuid: string, holder: string, what: string): Promise<boolean> {
  const key = kvsKeys.lease(repositoryUuid);
  const lease: Lease = { holder, what, until: new Date(Date.now() + LEASE_SECONDS * 1000).toISOString() };
  const ttl = { value: LEASE_SECONDS, unit: 'SECONDS' as const };
  try {
    await kvs.set(key, lease, { keyPolicy: 'FAIL_IF_EXISTS', ttl });
    return true;
  } catch (error) {
    if (!keyExists(error)) throw error;
  }
  const current = await kvs.get<Lease>(key);
  if (current && current.holder !== holder && Date.parse(current.until) > Date.now()) return false;
  await kvs.set(key, lease, { keyPolicy: 'OVERRIDE', ttl });
  return true;
}

export async function releaseLease(repositoryUuid: string, holder: string): Promise<void> {
  const key = kvsKeys.lease(repositoryUuid);
  const current = await kvs.get<Lease>(key);
  if (current?.holder === holder) await kvs.delete(key);
}

// ---------------------------------------------------------------- the consumer

/** Forge retries the event when a consumer returns an InvocationError (its retryAfter honoured). */
export async function runBackup(event: unknown): Promise<InvocationError | undefined> {
  const parsed = consumerEvent(backupJobSchema).safeParse(event);
  if (!parsed.success) {
    console.error('lifeboat: dropping a malformed backup job', parsed.error.message);
    return undefined;
  }
  const { body, eventId, jobId: queueJobId } = parsed.data;
  const job: QueuedBackup = body;
  const retryCount = parsed.data.retryContext?.retryCount ?? 0;
  const holder = `backup ${eventId ?? queueJobId ?? 'unknown'}`;
  const { repositoryUuid } = job;

  if (!(await acquireLease(repositoryUuid, holder, 'backup'))) {
    if (retryCount < MAX_RETRIES) {
      return new InvocationError({ retryAfter: LEASE_BUSY_RETRY_SECONDS, retryReason: InvocationErrorCode.FUNCTION_RETRY_REQUEST });
    }
    // Retries spent while another backup or a restore holds the repository: queue anew rather than drop it.
    if (job.jobId) {
      await enqueue<QueuedBackup>(QUEUES.backup, [job], LEASE_BUSY_RETRY_SECONDS * 5);
    } else {
      // The queued-backup marker is most likely this very job's: left in place, it
      // would make enqueueCoalesced drop the job, and coalesce later pushes into nothing.
      await releaseQueued(repositoryUuid, undefined);
      await enqueueCoalesced(job, LEASE_BUSY_RETRY_SECONDS * 5);
    }
    return undefined;
  }
  try {
    await releaseQueued(repositoryUuid, job.jobId);
    return await backupWithRecords(job, retryCount);
  } finally {
    await releaseLease(repositoryUuid, holder);
  }
}

async function backupWithRecords(job: QueuedBackup, retryCount: number): Promise<InvocationError | undefined> {
  const { repositoryUuid } = job;
  const repositoryLabel = bracedUuid(repositoryUuid);
  try {
    if (job.jobId) await updateJob(job.jobId, { state: 'running', message: 'Backing up.' });
    const configuration = await requireConfiguration();
    const automatic = job.reason === 'push' || job.reason === 'schedule';
    if (automatic && !isIncluded(configuration.settings, repositoryUuid)) {
      await updateStatus(repositoryUuid, { state: 'idle', progress: undefined });
      return undefined;
    }
    const result = await runEngine(configuration, job, new Date(Date.now() + engineLimits().budgetSeconds * 1000));
    if (result.status === 'partial') {
      await enqueue<QueuedBackup>(QUEUES.backup, [{ ...job, reason: 'continue', trigger: triggerOf(job) }]);
      const message = `Stored ${result.bundlesWritten} more bundle${result.bundlesWritten === 1 ? '' : 's'}; ${result.refsRemaining} refs to go, continuing.`;
      await updateStatus(repositoryUuid, { state: 'queued', progress: { phase: 'continuing', bytesUploaded: result.bytesUploaded, bundlesWritten: result.bundlesWritten, updatedAt: new Date().toISOString() } });
      if (job.jobId) await updateJob(job.jobId, { state: 'running', message });
      return undefined;
    }
    const { snapshot } = result;
    if (job.jobId) {
      await updateJob(job.jobId, {
        state: 'succeeded',
        message: result.status === 'created' ? `Snapshot ${snapshot.id} stored.` : `Nothing changed since snapshot ${snapshot.id}.`,
        result: { snapshotId: snapshot.id, status: result.status, bytesUploaded: result.bytesUploaded },
      });
    }
    if (result.status === 'created' || job.jobId) {
      await recordAudit({
        action: 'backup',
        repositoryUuid: repositoryLabel,
        outcome: 'ok',
        detail: result.status === 'created' ? `snapshot ${snapshot.id} (${job.reason}): ${storedAs(snapshot)}` : `unchanged since ${snapshot.id} (${job.reason})`,
      });
    }
  } catch (thrown) {
    const error = classifyError(thrown);
    if (error.kind === 'transient' && retryCount < MAX_RETRIES) {
      await updateStatus(repositoryUuid, { state: 'queued', progress: { phase: `waiting to retry: ${error.message}`, updatedAt: new Date().toISOString() } });
      if (job.jobId) await updateJob(job.jobId, { state: 'running', message: `Waiting to retry: ${error.message}` });
      const suggested = Number(error.details?.retryAfterSeconds);
      return new InvocationError({
        retryAfter: Number.isFinite(suggested) && suggested > 0 ? suggested : 30 * 2 ** retryCount,
        retryReason: error.code === 'BITBUCKET_RATE_LIMITED' ? InvocationErrorCode.FUNCTION_UPSTREAM_RATE_LIMITED : InvocationErrorCode.FUNCTION_RETRY_REQUEST,
      });
    }
    if (error.kind === 'bug') console.error('lifeboat: backup failed', thrown);
    const message = error.kind === 'bug' ? 'Something went wrong inside Lifeboat; the app\'s log has the details.' : error.message;
    const at = new Date().toISOString();
    await updateStatus(repositoryUuid, { state: 'failed', progress: undefined, lastError: { code: error.code, message, at } });
    if (job.jobId) await updateJob(job.jobId, { state: 'failed', message, error: { code: error.code, message } });
    await recordAudit({ action: 'backup', repositoryUuid: repositoryLabel, outcome: 'failed', detail: `${error.code}: ${message}` });
  }
}

/** How a snapshot is stored, as its manifest says: for the audit log, where a change of encryption shows. */
function storedAs(snapshot: SnapshotManifest): string {
  const count = snapshot.encryption?.recipients.length ?? 0;
  const encryption = count > 0 ? `encrypted to ${count} age recipient${count === 1 ? '' : 's'}` : 'unencrypted';
  const newChain = snapshot.bundles.length > 0 && snapshot.bundles.every((bundle) => bundle.createdBy === snapshot.id);
  return newChain ? `${encryption}, new full chain` : encryption;
}

/**
 * One engine run against the repository's current refs, with the status
 * updated on success. Takes no lease: the consumer holds it, or a restore that
 * backs up the current state before overwriting it.
 */
export async function backupOnce(input: { workspaceUuid: string; repositoryUuid: string; reason: BackupReason; deadline: Date }): Promise<BackupResult> {
  return runEngine(await requireConfiguration(), { workspaceUuid: input.workspaceUuid, repositoryUuid: input.repositoryUuid, reason: input.reason }, input.deadline);
}

function triggerOf(job: QueuedBackup): SnapshotTrigger {
  return job.reason === 'continue' ? (job.trigger ?? 'schedule') : TRIGGERS[job.reason];
}

async function runEngine(configuration: Configuration, job: QueuedBackup, deadline: Date): Promise<BackupResult> {
  const { settings, secrets } = configuration;
  const store = openBucket(settings, secrets.bucketSecretAccessKey);
  // The settings decide how this backup writes; the marker records them for the command line.
  const setting = storageSettingOf(settings);
  await recordStorageSetting(store, setting);
  const repository = await getRepository(job.workspaceUuid, job.repositoryUuid);
  const git = gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken);
  const workspaceSlug = repository.full_name?.split('/')[0];
  await updateStatus(job.repositoryUuid, {
    state: 'running',
    ...(repository.slug ? { slug: repository.slug } : {}),
    ...(repository.name ? { name: repository.name } : {}),
    deletedAt: undefined,
    progress: { phase: 'starting', updatedAt: new Date().toISOString() },
  });
  const progress = progressWriter(job.repositoryUuid);
  let result: BackupResult;
  try {
    result = await backup({
      store,
      repo: repoPath(job.workspaceUuid, job.repositoryUuid),
      git,
      trigger: triggerOf(job),
      ...setting,
      repository: {
        uuid: bracedUuid(job.repositoryUuid),
        ...(workspaceSlug ? { workspaceSlug } : {}),
        ...(repository.slug ? { slug: repository.slug } : {}),
        ...(repository.name ? { name: repository.name } : {}),
      },
      maxRefsPerBundle: engineLimits().maxRefsPerBundle,
      deadline,
      owner: `lifeboat ${job.reason} backup (Forge)`,
      onProgress: progress.update,
    });
  } finally {
    await progress.done(); // before the final status, which a late progress write must not overwrite
  }
  if (result.status !== 'partial') {
    const { snapshot } = result;
    const ownBytes = snapshot.bundles.filter((bundle) => bundle.createdBy === snapshot.id).reduce((sum, bundle) => sum + bundle.size, 0);
    await updateStatus(job.repositoryUuid, {
      state: 'idle',
      progress: undefined,
      lastError: undefined,
      lastBackup: { snapshotId: snapshot.id, at: snapshot.createdAt, refs: snapshot.refs.length, bytesUploaded: ownBytes, recipients: snapshot.encryption?.recipients ?? [] },
    });
  }
  return result;
}

/** Engine progress into the repository status, at most every couple of seconds (KVS writes are rationed). */
function progressWriter(repositoryUuid: string): { update: (progress: BackupProgress) => void; done: () => Promise<void> } {
  const view: BackupProgressView = { phase: 'starting', updatedAt: new Date().toISOString() };
  let storedBytes = 0;
  let lastWrite = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const write = (): void => {
    lastWrite = Date.now();
    const snapshot = { ...view, updatedAt: new Date().toISOString() };
    writing = writing.then(() => updateStatus(repositoryUuid, { state: 'running', progress: snapshot })).catch((error: unknown) => {
      console.warn('lifeboat: could not record backup progress', toLifeboatError(error).message);
    });
  };
  return {
    update(progress) {
      switch (progress.phase) {
        case 'refs': view.phase = 'reading refs'; view.refs = progress.refs; break;
        case 'unchanged': view.phase = 'unchanged'; break;
        case 'fetch': view.phase = `fetching bundle ${progress.bundle} of ${progress.bundles} (${progress.kind})`; break;
        case 'server': return; // git's own chatter: too frequent to store
        case 'upload': view.phase = 'uploading'; view.bytesUploaded = storedBytes + progress.bytes; break;
        case 'stored': storedBytes += progress.bytes; view.bytesUploaded = storedBytes; view.bundlesWritten = (view.bundlesWritten ?? 0) + 1; break;
        case 'commit': view.phase = 'committing'; break;
      }
      if (Date.now() - lastWrite >= PROGRESS_WRITE_INTERVAL_MS) write();
    },
    async done() {
      await writing;
    },
  };
}
