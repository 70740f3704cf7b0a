// The two pages' resolvers. Every one takes who and where from Forge's context
// (never from the payload), checks the caller's permission with Bitbucket first,
// then validates the payload (strict: unknown fields are refused) before doing
// anything, and answers a Result (see answer.ts).
//
// Repository page: every key but getOverview needs repository admin, reads
// included. The page sits in the repository's settings, which Bitbucket shows
// only to its admins, and snapshots and destructive events can hold refs that
// were deleted or rewritten on purpose (a force-push removing a leaked commit):
// people who merely read the repository today must not read those back.
import { makeResolver, type Request } from '@forge/resolver';
import { z } from 'zod';
import {
  adminPageRequests,
  repoPageRequests,
  type AdminPageResolvers,
  type JobView,
  type Overview,
  type PushSeen,
  type RepoPageResolvers,
  type RepoStatus,
  type Result,
  type SnapshotDetails,
  type SnapshotPage,
} from '../contract.js';
import { bareUuid, bracedUuid } from '../bitbucket/uuid.js';
import { validatePolicy } from '../engine/bucket/retention.js';
import { LifeboatError, fieldProblemsOf } from '../engine/errors.js';
import type { WorkspaceSettings } from '../settings.js';
import { answer } from './answer.js';
import { listAudit } from '../app/jobs/audit.js';
import { requestBackup } from '../app/backup/backup-queue.js';
import { getRepository, maybeCloneUrl } from './bitbucket.js';
import { openSnapshot } from './bucket.js';
import { checkBitbucket, checkBucket, endpointEgress } from './checks.js';
import { coveragePage, inclusionOf, queryCoverage, requireWorkspaceRepositories, setIncluded } from '../app/catalogue/coverage.js';
import { listDestructiveEvents } from '../app/restore/destructive-events.js';
import { getJob } from '../app/jobs/job-records.js';
import { kvsKeys } from '../app/state/state-keys.js';
import { requireRepositoryAdmin, requireWorkspaceAdmin } from './permissions.js';
import { requestReindex } from '../app/catalogue/reindex.js';
import { planConfigurationRestore } from '../app/restore/configuration-restores.js';
import { previewRetention } from '../app/catalogue/retention-preview.js';
import { requestDeletedRestore, requestRestore, requestUndo } from '../app/restore/restore-requests.js';
import { saveSettings, settingsView, storageStatus } from '../app/settings/settings-changes.js';
import { loadSettings, requireConfiguration } from '../app/settings/settings-store.js';
import { appTrust } from '../app/settings/signing-keys.js';
import { listDeletedRepositories, listIndexedSnapshots, listUnreadable, readSummary, summarize } from '../app/catalogue/snapshot-index.js';
import { contentsOf, pullRequestOf, pullRequestPage } from '../app/catalogue/snapshot-metadata.js';
import { readStatus } from '../app/jobs/status.js';
import { nextSweepAt, requestSweep } from '../app/backup/sweep.js';
import { appState } from './state/context.js';

interface Caller {
  workspaceUuid: string;
  accountId: string;
}

interface RepoCaller extends Caller {
  repositoryUuid: string;
}

const contextSchema = z.object({
  accountId: z.string().min(1),
  workspaceId: z.string().min(1),
  extension: z.object({ repository: z.object({ uuid: z.string().min(1) }).optional() }).optional(),
});

function callerOf(context: unknown): Caller & { repositoryUuid?: string } {
  const parsed = contextSchema.safeParse(context);
  // Forge always sets these for a signed-in user; without them there is nobody to check.
  if (!parsed.success) throw new LifeboatError('PERMISSION_DENIED', 'Lifeboat could not tell who is asking; sign in to Bitbucket and reload the page.');
  const repositoryUuid = parsed.data.extension?.repository?.uuid;
  return { workspaceUuid: bareUuid(parsed.data.workspaceId), accountId: parsed.data.accountId, ...(repositoryUuid ? { repositoryUuid: bracedUuid(repositoryUuid) } : {}) };
}

function parsePayload<T>(schema: z.ZodType<T>, payload: unknown): T {
  // A call without arguments arrives as undefined or {}, depending on the bridge.
  const result = schema.safeParse(payload ?? {});
  if (result.success) return result.data;
  const words = result.error.issues.map((issue) => {
    const where = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}${where ? ` in ${where}` : ''}`;
    return `${where || 'the request'} ${issue.message}`;
  });
  throw new LifeboatError('INVALID_ARGUMENT', `The request was refused: ${words.join('; ')}.`, { details: { problems: fieldProblemsOf(result.error.issues) } });
}

/** What a resolver of map D answers for key K, once it succeeded. */
type ValueOf<D, K extends keyof D> = D[K] extends (...args: never[]) => Result<infer T> ? T : never;

type RepoKey = keyof typeof repoPageRequests;
type AdminKey = keyof typeof adminPageRequests;
type RepoInput<K extends RepoKey> = z.output<(typeof repoPageRequests)[K]>;
type AdminInput<K extends AdminKey> = z.output<(typeof adminPageRequests)[K]>;
// The same maps, typed so that a key K picks a schema whose output is K's input (TypeScript does not see that through an indexed type).
const repoSchemas: { [K in RepoKey]: z.ZodType<RepoInput<K>> } = repoPageRequests;
const adminSchemas: { [K in AdminKey]: z.ZodType<AdminInput<K>> } = adminPageRequests;

/**
 * A repository page resolver: repository admin, then the payload checked by the
 * contract's schema for `key`, then the work, typed by the contract both ways.
 * The payload is whatever the caller sent (unknown) until the schema has read it.
 */
function onRepoPage<K extends RepoKey>(key: K, work: (input: RepoInput<K>, caller: RepoCaller) => Promise<ValueOf<RepoPageResolvers, K>>) {
  return async ({ payload, context }: Request<unknown>): Promise<Result<ValueOf<RepoPageResolvers, K>>> => answer(async () => {
    const caller = callerOf(context);
    if (!caller.repositoryUuid) throw new LifeboatError('INVALID_ARGUMENT', 'This page belongs to a repository, and Bitbucket did not say which one; reload the page.');
    const repoCaller: RepoCaller = { ...caller, repositoryUuid: caller.repositoryUuid };
    await requireRepositoryAdmin(repoCaller.workspaceUuid, repoCaller.repositoryUuid);
    return work(parsePayload(repoSchemas[key], payload), repoCaller);
  });
}

/** An admin page resolver: workspace admin, then the payload checked by the contract's schema for `key`, then the work. */
function onAdminPage<K extends AdminKey>(key: K, work: (input: AdminInput<K>, caller: Caller) => Promise<ValueOf<AdminPageResolvers, K>>) {
  return async ({ payload, context }: Request<unknown>): Promise<Result<ValueOf<AdminPageResolvers, K>>> => answer(async () => {
    const caller = callerOf(context);
    await requireWorkspaceAdmin(caller.workspaceUuid);
    return work(parsePayload(adminSchemas[key], payload), caller);
  });
}

/** Where the page is and who looks at it: no permission needed, nothing secret in it. */
async function overview({ context }: Request<unknown>): Promise<Overview> {
  const caller = callerOf(context);
  const result: Overview = { workspaceId: String(context.workspaceId), accountId: caller.accountId };
  if (caller.repositoryUuid) {
    result.repositoryUuid = String(context.extension?.repository?.uuid);
    const lastPush = await appState().get<PushSeen>(kvsKeys.lastPush(caller.repositoryUuid));
    if (lastPush) result.lastPush = lastPush;
  }
  return result;
}

async function repoStatus({ workspaceUuid, repositoryUuid }: RepoCaller, known?: WorkspaceSettings): Promise<RepoStatus> {
  const [stored, summary, lastPush, repository, settings] = await Promise.all([
    readStatus(repositoryUuid),
    readSummary(repositoryUuid),
    appState().get<PushSeen>(kvsKeys.lastPush(repositoryUuid)),
    getRepository(workspaceUuid, repositoryUuid),
    known ?? loadSettings(),
  ]);
  const inclusion = inclusionOf(settings, repositoryUuid);
  const nextSweep = settings && inclusion.included ? await nextSweepAt(settings) : undefined;
  return {
    ...stored,
    ...(summary?.latest ? { latest: summary.latest } : {}),
    ...(repository.slug ? { slug: repository.slug } : {}),
    ...(repository.name ? { name: repository.name } : {}),
    ...(repository.full_name ? { fullName: repository.full_name } : {}),
    links: { ...(repository.links?.html ? { html: repository.links.html.href } : {}), ...(maybeCloneUrl(repository) ? { clone: maybeCloneUrl(repository)! } : {}) },
    included: inclusion.included,
    includedBy: inclusion.by,
    ...(nextSweep ? { nextSweepAt: nextSweep } : {}),
    ...(lastPush ? { lastPush } : {}),
    ...(settings ? { storage: storageStatus(settings, summary?.latest?.recipients) } : {}),
  };
}

/** Newest first, from the KVS index; the manifests the index could not read are named on the first page. */
async function snapshotsPage({ repositoryUuid }: RepoCaller, cursor?: string): Promise<SnapshotPage> {
  const [page, unreadable] = await Promise.all([listIndexedSnapshots(repositoryUuid, cursor), cursor === undefined ? listUnreadable(repositoryUuid) : []]);
  return { ...page, unreadable };
}

/** One manifest, read by its key (never a listing): every ref of the snapshot. */
async function snapshotDetails(caller: RepoCaller, id: string): Promise<SnapshotDetails> {
  const { store, manifest, seal } = await openSnapshot(await requireConfiguration(), caller, id, await appTrust('flag'));
  return {
    ...summarize(manifest, undefined, undefined, seal),
    refList: manifest.refs.map((ref) => ({ name: ref.name, target: ref.oid })),
    bundles: manifest.bundles.length,
    contents: await contentsOf(store, manifest),
  };
}

/** The repository page sees jobs of its repository, and the caller's own. */
async function repoJob({ accountId, repositoryUuid }: RepoCaller, jobId: string): Promise<JobView> {
  const job = await getJob(jobId);
  const ofThisRepository = job.repositoryUuid !== undefined && bareUuid(job.repositoryUuid) === bareUuid(repositoryUuid);
  if (!ofThisRepository && job.requestedBy !== accountId) throw new LifeboatError('JOB_NOT_FOUND', 'There is no such job for this repository.');
  return job;
}

async function setRepoEnabled(caller: RepoCaller, enabled: boolean): Promise<RepoStatus> {
  return repoStatus(caller, await setIncluded([caller.repositoryUuid], enabled, caller.accountId));
}




export const repoSettingsResolver = makeResolver<RepoPageResolvers>({
  getOverview: overview,
  getRepoStatus: onRepoPage('getRepoStatus', (_input, caller) => repoStatus(caller)),
  setRepoEnabled: onRepoPage('setRepoEnabled', (input, caller) => setRepoEnabled(caller, input.enabled)),
  listSnapshots: onRepoPage('listSnapshots', (input, caller) => snapshotsPage(caller, input.cursor)),
  getSnapshot: onRepoPage('getSnapshot', (input, caller) => snapshotDetails(caller, input.snapshotId)),
  listPullRequests: onRepoPage('listPullRequests', (input, caller) => pullRequestPage({ ...caller, snapshotId: input.snapshotId }, input.cursor)),
  getPullRequest: onRepoPage('getPullRequest', (input, caller) => pullRequestOf({ ...caller, snapshotId: input.snapshotId }, input.pullRequestId)),
  // requestBackup records who asked in the audit log.
  backupNow: onRepoPage('backupNow', (_input, caller) => requestBackup({ workspaceUuid: caller.workspaceUuid, repositoryUuid: caller.repositoryUuid, reason: 'manual', accountId: caller.accountId })),
  startRestore: onRepoPage('startRestore', (request, caller) => requestRestore({
    workspaceUuid: caller.workspaceUuid,
    repositoryUuid: caller.repositoryUuid,
    request: {
      snapshotId: request.snapshotId,
      mode: request.mode,
      ...(request.refs ? { refs: request.refs } : {}),
      ...(request.newRepositorySlug ? { newRepositorySlug: request.newRepositorySlug } : {}),
      ...(request.confirmOverwrite !== undefined ? { confirmOverwrite: request.confirmOverwrite } : {}),
      ...(request.configuration ? { configuration: request.configuration } : {}),
      ...(request.identity !== undefined ? { identity: request.identity } : {}),
      ...(request.largeFilesConfirmed !== undefined ? { largeFilesConfirmed: request.largeFilesConfirmed } : {}),
      ...(request.lowering ? { lowering: request.lowering } : {}),
    },
    accountId: caller.accountId,
  })),
  planConfigurationRestore: onRepoPage('planConfigurationRestore', async (input, caller) => planConfigurationRestore(await requireConfiguration(), caller, input.snapshotId, input.target)),
  getJob: onRepoPage('getJob', (input, caller) => repoJob(caller, input.jobId)),
  listDestructiveEvents: onRepoPage('listDestructiveEvents', (input, caller) => listDestructiveEvents(caller.repositoryUuid, input.cursor)),
  undoDestructiveEvent: onRepoPage('undoDestructiveEvent', (input, caller) => requestUndo({
    workspaceUuid: caller.workspaceUuid,
    repositoryUuid: caller.repositoryUuid,
    eventId: input.eventId,
    inPlace: input.inPlace ?? false,
    accountId: caller.accountId,
  })),
});

export const workspaceAdminResolver = makeResolver<AdminPageResolvers>({
  getOverview: overview,
  getSettings: onAdminPage('getSettings', () => settingsView()),
  saveSettings: onAdminPage('saveSettings', (input, caller) => saveSettings(caller, input)),
  testBucket: onAdminPage('testBucket', () => checkBucket()),
  checkEndpoint: onAdminPage('checkEndpoint', async (input) => endpointEgress(input.endpoint)),
  testBitbucket: onAdminPage('testBitbucket', (_input, caller) => checkBitbucket(caller.workspaceUuid)),
  getCoverage: onAdminPage('getCoverage', async (input, caller) => {
    const settings = await loadSettings();
    // Before the first sweep there is no catalogue: Bitbucket's own pages, unsearched.
    return (input.cursor === undefined ? await queryCoverage(settings, input) : undefined) ?? coveragePage(caller.workspaceUuid, settings, input.cursor);
  }),
  setRepositoriesIncluded: onAdminPage('setRepositoriesIncluded', async (input, caller) => {
    await requireWorkspaceRepositories(caller.workspaceUuid, input.repositoryUuids.map((uuid, index) => ({ uuid, at: ['repositoryUuids', index] })));
    await setIncluded(input.repositoryUuids, input.included, caller.accountId);
    return settingsView();
  }),
  sweepNow: onAdminPage('sweepNow', (_input, caller) => requestSweep({ workspaceUuid: caller.workspaceUuid, accountId: caller.accountId })),
  getAuditLog: onAdminPage('getAuditLog', (input) => listAudit(input.cursor)),
  listDeletedRepositories: onAdminPage('listDeletedRepositories', (input) => listDeletedRepositories(input.cursor)),
  rebuildIndex: onAdminPage('rebuildIndex', (_input, caller) => requestReindex({ workspaceUuid: caller.workspaceUuid, accountId: caller.accountId })),
  restoreDeletedRepository: onAdminPage('restoreDeletedRepository', (input, caller) => requestDeletedRestore({
    workspaceUuid: caller.workspaceUuid,
    repositoryUuid: bracedUuid(input.repositoryUuid),
    ...(input.snapshotId ? { snapshotId: input.snapshotId } : {}),
    newRepositorySlug: input.newRepositorySlug,
    accountId: caller.accountId,
  })),
  previewRetention: onAdminPage('previewRetention', (input) => previewRetention(input.repositoryUuid, validatePolicy(input.retention))),
  // Workspace admins see every job of the workspace.
  getJob: onAdminPage('getJob', (input) => getJob(input.jobId)),
});
