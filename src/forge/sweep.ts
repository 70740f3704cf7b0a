// The scheduled sweep: every repository of the workspace gets a backup (a no-op
// when nothing changed) and then its retention applied. The hourly trigger
// decides whether a sweep is due; the sweep lists repositories page by page and
// queues work within Forge's queue limits, continuing in a follow-up job.
import { InvocationError, InvocationErrorCode, RateLimitError } from '@forge/events';
import { MetadataField, kvs } from '@forge/kvs';
import { z } from 'zod';
import type { JobView } from '../contract.js';
import { apiPath } from '../bitbucket/client.js';
import { prune } from '../engine/bucket/prune.js';
import { type RetentionPolicy, isUnlimited } from '../engine/bucket/retention.js';
import { LifeboatError } from '../engine/errors.js';
import type { WorkspaceSettings } from '../settings.js';
import { acquireLease, releaseLease } from './backups.js';
import { appBitbucket } from './bitbucket.js';
import { openBucket, repoPath } from './bucket.js';
import { isIncluded } from './coverage.js';
import { bareUuid, bracedUuid, kvsKeys } from './keys.js';
import { classifyError } from './platform-errors.js';
import { type BackupJob, type PruneJob, QUEUES, type SweepJob, consumerEvent, enqueue } from './queues.js';
import { createJob, getJob, recordAudit, updateJob } from './records.js';
import { loadSettings, requireConfiguration, storeSettings } from './settings-store.js';
import { readStatus } from './status.js';

const INTERVAL_MS = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 } as const;
/** The hourly trigger does not fire on the second: a sweep due within this much is run now rather than an hour late. */
const SCHEDULE_SLACK_MS = 10 * 60_000;
const PAGE_LENGTH = 100;
const REPOSITORY_FIELDS = 'next,values.uuid,values.slug,values.name,values.created_on';
/**
 * Events one sweep invocation pushes before handing over to a follow-up a
 * minute later: Forge allows 500 a minute per installation, and pushes keep
 * queuing backups meanwhile. Each repository costs up to two (backup, prune).
 */
const EVENTS_PER_INVOCATION = 300;
const CONTINUE_AFTER_SECONDS = 60;
const SWEEP_BUDGET_MS = 600_000;
/**
 * Prunes give the backups queued with them a head start (an unchanged repository
 * takes seconds); one that still meets a running backup waits for it and retries.
 */
const PRUNE_DELAY_SECONDS = 120;
const MAX_RETRIES = 3;

interface RepositoryRow {
  uuid: string;
  slug?: string;
  name?: string;
  created_on?: string;
}

const sweepJobSchema = z.object({ workspaceUuid: z.string().min(1), jobId: z.string().optional(), next: z.string().startsWith('/2.0/').optional() });
const pruneJobSchema = z.object({ workspaceUuid: z.string().min(1), repositoryUuid: z.string().min(1) });
// ---------------------------------------------------------------- schedule

export async function handleSchedule(_event: unknown, context: unknown): Promise<void> {
  const settings = await loadSettings();
  if (!settings) return; // nothing to sweep into before a workspace admin sets Lifeboat up
  const workspaceUuid = workspaceFromContext(context);
  const last = await kvs.get<string>(kvsKeys.lastSweep);
  if (last && Date.now() - Date.parse(last) < INTERVAL_MS[settings.schedule.interval] - SCHEDULE_SLACK_MS) return;
  await kvs.set(kvsKeys.lastSweep, new Date().toISOString());
  await enqueue<SweepJob>(QUEUES.sweep, [{ workspaceUuid }]);
}

/**
 * Scheduled triggers know their workspace only from the installation context,
 * an ARI such as ari:cloud:bitbucket::workspace/<uuid>; the UUID is taken from
 * its end, braces or not.
 */
export function workspaceFromContext(context: unknown): string {
  const { installContext, workspaceId } = (context ?? {}) as { installContext?: unknown; workspaceId?: unknown };
  for (const candidate of [installContext, workspaceId]) {
    const match = typeof candidate === 'string' ? /\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i.exec(candidate) : null;
    if (match?.[1]) return bracedUuid(match[1]);
  }
  throw new LifeboatError('INTERNAL', `The scheduled trigger's context names no workspace (installContext ${String(installContext)}).`);
}

/** "Sweep now" on the admin page. */
export async function requestSweep(input: { workspaceUuid: string; accountId?: string }): Promise<JobView> {
  const job = await createJob('sweep', 'Waiting in the queue.', input.accountId);
  await enqueue<SweepJob>(QUEUES.sweep, [{ workspaceUuid: input.workspaceUuid, jobId: job.id }]);
  await recordAudit({ action: 'sweep requested', ...(input.accountId ? { actorAccountId: input.accountId } : {}), detail: `job ${job.id}` });
  return job;
}

// ---------------------------------------------------------------- sweep

interface SweepTally {
  repositories: number;
  backupsQueued: number;
  prunesQueued: number;
  includedAutomatically: number;
}

export async function runSweep(event: unknown): Promise<InvocationError | undefined> {
  const parsed = consumerEvent(sweepJobSchema).safeParse(event);
  if (!parsed.success) {
    console.error('lifeboat: dropping a malformed sweep job', parsed.error.message);
    return undefined;
  }
  const { body } = parsed.data;
  const retryCount = parsed.data.retryContext?.retryCount ?? 0;
  try {
    await sweep(body);
  } catch (thrown) {
    const error = classifyError(thrown);
    const rateLimited = thrown instanceof RateLimitError;
    if ((rateLimited || error.kind === 'transient') && retryCount < MAX_RETRIES) {
      return new InvocationError({
        retryAfter: rateLimited ? CONTINUE_AFTER_SECONDS : 30 * 2 ** retryCount,
        retryReason: rateLimited ? InvocationErrorCode.FUNCTION_PLATFORM_RATE_LIMITED : InvocationErrorCode.FUNCTION_RETRY_REQUEST,
      });
    }
    if (error.kind === 'bug') console.error('lifeboat: sweep failed', thrown);
    const message = error.kind === 'bug' ? 'Something went wrong inside Lifeboat; the app\'s log has the details.' : error.message;
    if (body.jobId) await updateJob(body.jobId, { state: 'failed', message, error: { code: error.code, message } });
    await recordAudit({ action: 'sweep', outcome: 'failed', detail: `${error.code}: ${message}` });
  }
}

async function sweep(job: SweepJob): Promise<void> {
  const started = Date.now();
  const { workspaceUuid, jobId } = job;
  if (jobId && !job.next) await updateJob(jobId, { state: 'running', message: 'Listing the workspace\'s repositories.' });
  let { settings } = await requireConfiguration();
  const newSince = await selectionSavedAt();
  const tally: SweepTally = { repositories: 0, backupsQueued: 0, prunesQueued: 0, includedAutomatically: 0 };
  const client = appBitbucket();
  let next: string | undefined = job.next ?? apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}?pagelen=${PAGE_LENGTH}&fields=${REPOSITORY_FIELDS}`;
  let pushed = 0;
  while (next !== undefined) {
    const page: { values: RepositoryRow[]; next?: string } = await client.page<RepositoryRow>(next);
    const rows = page.values;
    next = page.next;
    settings = await includeNewRepositories(settings, rows, newSince, tally);
    const included = rows.filter((row) => isIncluded(settings, row.uuid));
    const statuses = await Promise.all(included.map((row) => readStatus(row.uuid)));
    const backups: BackupJob[] = included.map((row) => ({ workspaceUuid, repositoryUuid: bracedUuid(row.uuid), reason: 'schedule' }));
    // Retention only where there is something to prune and a policy that forgets anything.
    const prunes: PruneJob[] = included
      .filter((row, index) => statuses[index]?.lastBackup !== undefined && !isUnlimited(retentionFor(settings, row.uuid)))
      .map((row) => ({ workspaceUuid, repositoryUuid: bracedUuid(row.uuid) }));
    await enqueue(QUEUES.backup, backups);
    await enqueue(QUEUES.prune, prunes, PRUNE_DELAY_SECONDS);
    pushed += backups.length + prunes.length;
    tally.repositories += rows.length;
    tally.backupsQueued += backups.length;
    tally.prunesQueued += prunes.length;
    if (next !== undefined && (pushed + 2 * PAGE_LENGTH > EVENTS_PER_INVOCATION || Date.now() - started > SWEEP_BUDGET_MS)) {
      await enqueue<SweepJob>(QUEUES.sweep, [{ workspaceUuid, ...(jobId ? { jobId } : {}), next }], CONTINUE_AFTER_SECONDS);
      if (jobId) await recordTally(jobId, tally, 'running');
      return;
    }
  }
  if (jobId) await recordTally(jobId, tally, 'succeeded');
  await recordAudit({ action: 'sweep', outcome: 'ok', detail: `${tally.backupsQueued} backups and ${tally.prunesQueued} prunes queued${tally.includedAutomatically ? `; ${tally.includedAutomatically} new repositories included` : ''}` });
}

/** The job's running totals: a sweep that continues adds to what the earlier invocations counted. */
async function recordTally(jobId: string, tally: SweepTally, state: 'running' | 'succeeded'): Promise<void> {
  const before = (await getJob(jobId)).result as Partial<SweepTally> | undefined;
  const total: SweepTally = {
    repositories: (before?.repositories ?? 0) + tally.repositories,
    backupsQueued: (before?.backupsQueued ?? 0) + tally.backupsQueued,
    prunesQueued: (before?.prunesQueued ?? 0) + tally.prunesQueued,
    includedAutomatically: (before?.includedAutomatically ?? 0) + tally.includedAutomatically,
  };
  const message = state === 'succeeded'
    ? `Swept ${total.repositories} repositories: ${total.backupsQueued} backups queued.`
    : `${total.repositories} repositories so far; continuing in a minute (Forge's queue limits).`;
  await updateJob(jobId, { state, message, result: { ...total } });
}

/**
 * When the workspace selection is "chosen, and new ones automatically", the
 * repositories created after the selection was last saved join it: the admin
 * saw every older one and left it out. (The created-repository trigger does
 * this as they appear; the sweep catches any event that never arrived.)
 */
async function includeNewRepositories(settings: WorkspaceSettings, rows: RepositoryRow[], since: number | undefined, tally: SweepTally): Promise<WorkspaceSettings> {
  const { repositories } = settings;
  if (repositories.mode !== 'chosen' || !repositories.includeNew || since === undefined) return settings;
  const chosen = new Set(repositories.chosen.map(bareUuid));
  const joining = rows.filter((row) => !chosen.has(bareUuid(row.uuid)) && row.created_on !== undefined && Date.parse(row.created_on) > since);
  if (joining.length === 0) return settings;
  const updated: WorkspaceSettings = { ...settings, repositories: { ...repositories, chosen: [...repositories.chosen, ...joining.map((row) => bracedUuid(row.uuid))] } };
  await storeSettings(updated);
  for (const row of joining) {
    await recordAudit({ action: 'repository included automatically', repositoryUuid: bracedUuid(row.uuid), outcome: 'ok', detail: `${row.slug ?? row.uuid}: new repositories join the backups (workspace setting).` });
  }
  tally.includedAutomatically += joining.length;
  return updated;
}

/**
 * When the admin last saved the selection: its own record, because the settings
 * value is also rewritten by the app (inclusions, a repository page's
 * enable/disable), which must not move the line. Older installations fall back
 * to the settings' last write.
 */
async function selectionSavedAt(): Promise<number | undefined> {
  const savedAt = await kvs.get<number>(kvsKeys.selectionSavedAt);
  if (typeof savedAt === 'number') return savedAt;
  const stored = await kvs.get<WorkspaceSettings>(kvsKeys.settings, { metadataFields: [MetadataField.UPDATED_AT] });
  return stored?.updatedAt;
}

// ---------------------------------------------------------------- prune

/** The repository's own retention when it has one, else the workspace's. */
export function retentionFor(settings: WorkspaceSettings, repositoryUuid: string): RetentionPolicy {
  const id = bareUuid(repositoryUuid);
  const override = Object.entries(settings.overrides).find(([key]) => bareUuid(key) === id)?.[1];
  return override?.retention ?? settings.retention;
}

export async function runPrune(event: unknown): Promise<InvocationError | undefined> {
  const parsed = consumerEvent(pruneJobSchema).safeParse(event);
  if (!parsed.success) {
    console.error('lifeboat: dropping a malformed prune job', parsed.error.message);
    return undefined;
  }
  const { body, eventId } = parsed.data;
  const retryCount = parsed.data.retryContext?.retryCount ?? 0;
  const repositoryUuid = bracedUuid(body.repositoryUuid);
  const holder = `prune ${eventId ?? repositoryUuid}`;
  // The lease keeps restores (which take no bucket lock) from reading a snapshot while it is forgotten.
  if (!(await acquireLease(repositoryUuid, holder, 'prune'))) {
    if (retryCount < MAX_RETRIES) return new InvocationError({ retryAfter: 300, retryReason: InvocationErrorCode.FUNCTION_RETRY_REQUEST });
    return undefined; // the next sweep prunes it
  }
  try {
    const { settings, secrets } = await requireConfiguration();
    const policy = retentionFor(settings, repositoryUuid);
    if (isUnlimited(policy)) return undefined;
    const report = await prune(openBucket(settings, secrets.bucketSecretAccessKey), repoPath(body.workspaceUuid, repositoryUuid), policy, { owner: 'lifeboat prune (Forge)' });
    if (report.forgottenSnapshots.length > 0 || report.deletedObjects.length > 0) {
      await recordAudit({
        action: 'prune',
        repositoryUuid,
        outcome: 'ok',
        detail: `forgot ${report.forgottenSnapshots.length} snapshots, deleted ${report.deletedObjects.length} objects (${report.bytesFreed} bytes), aborted ${report.abortedUploads.length} incomplete uploads`,
      });
    }
  } catch (thrown) {
    const error = classifyError(thrown);
    // LOCKED: a backup is writing; the engine's lock keeps prune from deleting under it.
    if (error.kind === 'transient' && retryCount < MAX_RETRIES) {
      return new InvocationError({ retryAfter: error.code === 'LOCKED' ? 300 : 30 * 2 ** retryCount, retryReason: InvocationErrorCode.FUNCTION_RETRY_REQUEST });
    }
    if (error.kind === 'bug') console.error('lifeboat: prune failed', thrown);
    await recordAudit({ action: 'prune', repositoryUuid, outcome: 'failed', detail: `${error.code}: ${error.message}` });
  } finally {
    await releaseLease(repositoryUuid, holder);
  }
}
