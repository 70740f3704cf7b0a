// The scheduled sweep: every repository of the workspace gets a backup (a no-op
// when nothing changed) and then its retention applied. The hourly trigger
// queues again any work parked at Forge's chain limit (queues.ts) and decides
// whether a sweep is due; the sweep lists repositories page by page and queues
// work within Forge's queue limits, continuing in a follow-up job.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { bitbucketUuid, bracedUuid, trailingUuid } from '../../bitbucket/uuid.js';
import type { JobView, SweepResult } from '../../contract.js';
import { isUnlimited } from '../../engine/bucket/retention.js';
import { LifeboatError, toLifeboatError } from '../../engine/errors.js';
import type { WorkspaceSettings } from '../../settings.js';
import { recordAudit } from '../jobs/audit.js';
import type { BackupBody } from './backup-queue.js';
import { keepRecoveryKit } from './recovery-kit.js';
import { type RepositoryJson, type RepositoryListing, repositoriesPage } from '../../forge/bitbucket.js';
import { isIncluded, publishCatalogue, retentionFor, writeCatalogueChunk } from '../catalogue/coverage.js';
import { type Outcome, type RunContext, defineConsumer, startJob } from '../../forge/jobs.js';
import { kvsKeys } from '../state/state-keys.js';
import type { PruneBody } from './prunes.js';
import { QUEUES, enqueue, resumeParked } from '../../forge/queues.js';
import { loadSettings, requireConfiguration, storeSettings } from '../settings/settings-store.js';
import { healIndex } from '../catalogue/reindex.js';
import { forgetEndedIdentities } from '../restore/restore-identity.js';
import { appState, now } from '../../forge/state/context.js';

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

const sweepBody = z.object({
  workspaceUuid: bitbucketUuid,
  jobId: z.string().optional(),
  /** Bitbucket's `next` link of the repository listing, when a sweep continues. */
  next: z.string().startsWith('/2.0/').optional(),
  /** The coverage catalogue this run writes (coverage.ts): its id, and the pages and rows written so far. */
  catalogue: z.object({ run: z.string().regex(/^[0-9a-f-]{36}$/), chunks: z.number().int().min(0), total: z.number().int().min(0) }).optional(),
});
type SweepBody = z.infer<typeof sweepBody>;

// ---------------------------------------------------------------- schedule

export async function handleSchedule(_event: unknown, context: unknown): Promise<void> {
  const settings = await loadSettings();
  if (!settings) return; // nothing to sweep into before a workspace admin sets Lifeboat up
  // A scheduled run starts a chain of its own (Forge counts its pushes afresh): what an earlier chain could not queue goes now.
  await resumeParked();
  // Hourly, whether a sweep is due or not: a restore Forge killed never deleted its age identity.
  await forgetEndedIdentities().catch((error: unknown) => console.warn('lifeboat: could not forget the identities of ended restores; the next hour tries again', toLifeboatError(error).message));
  const workspaceUuid = workspaceFromContext(context);
  const last = await appState().get<string>(kvsKeys.lastSweep);
  if (last && now() - Date.parse(last) < INTERVAL_MS[settings.schedule.interval] - SCHEDULE_SLACK_MS) return;
  await appState().set(kvsKeys.lastSweep, new Date(now()).toISOString());
  await enqueue(QUEUES.sweep, [{ workspaceUuid } satisfies SweepBody]);
}

/**
 * When the next scheduled sweep is due: the interval after the last one (the
 * hourly trigger starts it at its first run from then). Undefined before the
 * first: the next hourly run starts it.
 */
export async function nextSweepAt(settings: WorkspaceSettings): Promise<string | undefined> {
  const last = await appState().get<string>(kvsKeys.lastSweep);
  if (!last) return undefined;
  return new Date(Math.max(Date.parse(last) + INTERVAL_MS[settings.schedule.interval], now())).toISOString();
}

/**
 * Scheduled triggers know their workspace only from the installation context,
 * an ARI such as ari:cloud:bitbucket::workspace/<uuid>; the UUID is taken from
 * its end, braces or not.
 */
export function workspaceFromContext(context: unknown): string {
  const { installContext, workspaceId } = (context ?? {}) as { installContext?: unknown; workspaceId?: unknown };
  for (const candidate of [installContext, workspaceId]) {
    const uuid = typeof candidate === 'string' ? trailingUuid(candidate) : undefined;
    if (uuid) return uuid;
  }
  throw new LifeboatError('INTERNAL', `The scheduled trigger's context names no workspace (installContext ${String(installContext)}).`);
}

/** "Sweep now" on the admin page. */
export async function requestSweep(input: { workspaceUuid: string; accountId?: string }): Promise<JobView<'sweep'>> {
  return startJob<'sweep', SweepBody>({
    kind: 'sweep', ...(input.accountId ? { requestedBy: input.accountId } : {}),
    queue: QUEUES.sweep, body: (jobId) => ({ workspaceUuid: input.workspaceUuid, jobId }), audit: { action: 'sweep requested' },
  });
}

// ---------------------------------------------------------------- sweep

type SweepTally = SweepResult;

export const runSweep = defineConsumer<SweepBody>({
  kind: 'sweep',
  queue: QUEUES.sweep,
  body: sweepBody,
  audit: () => ({ action: 'sweep' }),
  run: (body, context) => sweep(body, context),
});

async function sweep(body: SweepBody, context: RunContext): Promise<Outcome<SweepBody>> {
  const { workspaceUuid, jobId } = body;
  const { startedAt } = context;
  let { settings } = await requireConfiguration();
  await healIndex(workspaceUuid); // an installation from before the index gets it built once
  const newSince = await selectionSavedAt();
  const tally: SweepTally = { repositories: 0, backupsQueued: 0, prunesQueued: 0, includedAutomatically: 0 };
  let from: RepositoryListing | undefined = body.next === undefined ? { pagelen: PAGE_LENGTH, fields: REPOSITORY_FIELDS } : { next: body.next };
  let pushed = 0;
  const catalogue = body.catalogue ?? { run: randomUUID(), chunks: 0, total: 0 };
  while (from !== undefined) {
    const page = await repositoriesPage(workspaceUuid, from);
    const { values: rows, next } = page;
    from = next === undefined ? undefined : { next };
    await writeCatalogueChunk(catalogue.run, catalogue.chunks, rows);
    catalogue.chunks += 1;
    catalogue.total += rows.length;
    settings = await includeNewRepositories(settings, rows, newSince, tally);
    const included = rows.filter((row) => isIncluded(settings, row.uuid));
    const backups: BackupBody[] = included.map((row) => ({ workspaceUuid, repositoryUuid: bracedUuid(row.uuid), reason: 'schedule' }));
    // Retention wherever the policy forgets anything; the bucket, not the index, says what there is to prune.
    const prunes: PruneBody[] = included
      .filter((row) => !isUnlimited(retentionFor(settings, row.uuid)))
      .map((row) => ({ workspaceUuid, repositoryUuid: bracedUuid(row.uuid) }));
    await enqueue(QUEUES.backup, backups);
    await enqueue(QUEUES.prune, prunes, PRUNE_DELAY_SECONDS);
    pushed += backups.length + prunes.length;
    tally.repositories += rows.length;
    tally.backupsQueued += backups.length;
    tally.prunesQueued += prunes.length;
    if (next !== undefined && (pushed + 2 * PAGE_LENGTH > EVENTS_PER_INVOCATION || Date.now() - startedAt > SWEEP_BUDGET_MS)) {
      const total = runningTotal(context.job, tally);
      return {
        state: 'continuing',
        note: { code: 'sweep-continuing', repositories: total.repositories },
        next: { body: { workspaceUuid, ...(jobId ? { jobId } : {}), next, catalogue }, afterSeconds: CONTINUE_AFTER_SECONDS },
        result: { ...total },
      };
    }
  }
  await publishCatalogue(catalogue);
  // The tool travels with the data; a kit not written now is written by the next sweep (it compares the SHA-256).
  await keepRecoveryKit().catch((error: unknown) => console.warn('lifeboat: could not write the recovery kit into the bucket; the next sweep tries again', toLifeboatError(error).message));
  const total = runningTotal(context.job, tally);
  return {
    state: 'done',
    note: { code: 'swept', sweep: { ...total } },
    result: { ...total },
  };
}

/** The job's running totals: a sweep that continues adds to what the earlier deliveries counted (the kernel records them). */
function runningTotal(job: JobView | undefined, tally: SweepTally): SweepTally {
  const before = job?.kind === 'sweep' ? job.result : undefined;
  const total: SweepTally = {
    repositories: (before?.repositories ?? 0) + tally.repositories,
    backupsQueued: (before?.backupsQueued ?? 0) + tally.backupsQueued,
    prunesQueued: (before?.prunesQueued ?? 0) + tally.prunesQueued,
    includedAutomatically: (before?.includedAutomatically ?? 0) + tally.includedAutomatically,
  };
  return total;
}

/**
 * When the workspace selection is "chosen, and new ones automatically", the
 * repositories created after the selection was last saved join it: the admin
 * saw every older one and left it out. (The created-repository trigger does
 * this as they appear; the sweep catches any event that never arrived.)
 */
async function includeNewRepositories(settings: WorkspaceSettings, rows: RepositoryJson[], since: number | undefined, tally: SweepTally): Promise<WorkspaceSettings> {
  const { repositories } = settings;
  if (repositories.mode !== 'chosen' || !repositories.includeNew || since === undefined) return settings;
  const chosen = new Set(repositories.chosen);
  const joining = rows.filter((row) => !chosen.has(bracedUuid(row.uuid)) && row.created_on !== undefined && Date.parse(row.created_on) > since);
  if (joining.length === 0) return settings;
  const updated: WorkspaceSettings = { ...settings, repositories: { ...repositories, chosen: [...repositories.chosen, ...joining.map((row) => bracedUuid(row.uuid))] } };
  await storeSettings(updated);
  for (const row of joining) {
    await recordAudit({ action: 'repository included automatically', repositoryUuid: bracedUuid(row.uuid), outcome: 'ok', note: { code: 'included-automatically', slug: row.slug ?? row.uuid } });
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
  const savedAt = await appState().get<number>(kvsKeys.selectionSavedAt);
  if (typeof savedAt === 'number') return savedAt;
  return appState().updatedAt(kvsKeys.settings);
}
