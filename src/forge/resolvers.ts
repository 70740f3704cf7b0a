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
import type {
  AdminPageResolvers,
  JobView,
  Overview,
  PushSeen,
  RepoPageResolvers,
  RepoStatus,
  Result,
  SnapshotDetails,
  SnapshotPage,
} from '../contract.js';
import { bareUuid, bitbucketUuid, bracedUuid } from '../bitbucket/uuid.js';
import { isSnapshotId } from '../engine/bucket/keys.js';
import { validatePolicy } from '../engine/bucket/retention.js';
import { LifeboatError } from '../engine/errors.js';
import { isValidRefName } from '../engine/git/ref-name.js';
import { bucketEndpoint, type WorkspaceSettings } from '../settings.js';
import { REPOSITORY_SLUG_RULE, isRepositorySlug } from '../bitbucket/slug.js';
import { answer } from './answer.js';
import { listAudit } from './audit.js';
import { requestBackup } from './backup-queue.js';
import { getRepository, maybeCloneUrl } from './bitbucket.js';
import { openSnapshot } from './bucket.js';
import { checkBitbucket, checkBucket, endpointEgress } from './checks.js';
import { coveragePage, inclusionOf, queryCoverage, setIncluded } from './coverage.js';
import { listDestructiveEvents } from './destructive-events.js';
import { getJob } from './jobs.js';
import { kvsKeys } from './keys.js';
import { requireRepositoryAdmin, requireWorkspaceAdmin } from './permissions.js';
import { requestReindex } from './reindex.js';
import { planConfigurationRestore } from './configuration-restores.js';
import { previewRetention } from './retention-preview.js';
import { requestDeletedRestore, requestRestore, requestUndo } from './restore-requests.js';
import { saveSettings, settingsView, storageStatus } from './settings-changes.js';
import { loadSettings, requireConfiguration } from './settings-store.js';
import { listDeletedRepositories, listIndexedSnapshots, listUnreadable, readSummary, summarize } from './snapshot-index.js';
import { contentsOf, pullRequestOf, pullRequestPage } from './snapshot-metadata.js';
import { readStatus } from './status.js';
import { nextSweepAt, requestSweep } from './sweep.js';
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

// Bounds keep a hostile payload from filling KVS or the logs; real values are far smaller.
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`);
const cursor = text(2000).optional();
const noPayload = z.object({}).strict();
const cursorPayload = z.object({ cursor }).strict();
const jobPayload = z.object({ jobId: text(64) }).strict();
const snapshotId = z.string().refine(isSnapshotId, 'must be a snapshot id like 20261126T061500Z-3fa9c1');
const repositorySlug = z.string().refine(isRepositorySlug, `must be ${REPOSITORY_SLUG_RULE}`);
// git's ref-name rule, narrowed to what a page offers to restore: branches and tags.
const refName = z.string().max(1024).refine((name) => /^refs\/(heads|tags)\//.test(name) && isValidRefName(name), 'must be full branch or tag names like refs/heads/main');
// A token or key never holds white space at its ends: a pasted newline is trimmed, not stored.
const secret = z.string().trim().min(1, 'must not be empty (omit it to keep the stored one)').max(4096, 'must be at most 4096 characters');

const payloads = {
  setRepoEnabled: z.object({ enabled: z.boolean() }).strict(),
  getSnapshot: z.object({ snapshotId }).strict(),
  listPullRequests: z.object({ snapshotId, cursor }).strict(),
  getPullRequest: z.object({ snapshotId, pullRequestId: z.number().int().positive().max(2 ** 31) }).strict(),
  startRestore: z.object({
    snapshotId,
    mode: z.enum(['beside', 'new-repository', 'overwrite']),
    refs: z.array(refName).min(1, 'must name at least one ref (omit it to restore all)').max(10_000).optional(),
    newRepositorySlug: repositorySlug.optional(),
    confirmOverwrite: z.boolean().optional(),
    configuration: z.enum(['with-git', 'only']).optional(),
    // An identity file's text at most; its lines are checked by parseIdentities (which never echoes them).
    identity: secret.optional(),
  }).strict()
    .refine((request) => request.mode !== 'new-repository' || request.newRepositorySlug !== undefined, { message: 'is required to restore into a new repository', path: ['newRepositorySlug'] })
    .refine((request) => request.configuration !== 'only' || (request.mode !== 'overwrite' && request.refs === undefined), { message: "'only' restores no refs: choose beside (this repository) or new-repository, without refs", path: ['configuration'] })
    .refine((request) => request.mode !== 'overwrite' || request.confirmOverwrite === true, { message: 'must be true: overwriting branches needs explicit confirmation', path: ['confirmOverwrite'] }),
  planConfigurationRestore: z.object({ snapshotId, target: z.enum(['this-repository', 'new-repository']) }).strict(),
  undoDestructiveEvent: z.object({ eventId: text(200).min(1), inPlace: z.boolean().optional(), confirmOverwrite: z.boolean().optional() }).strict()
    .refine((request) => !request.inPlace || request.confirmOverwrite === true, { message: 'must be true: putting the branch back in place needs explicit confirmation', path: ['confirmOverwrite'] }),
  // The settings themselves are checked by parseSettings, which names every field.
  saveSettings: z.object({ settings: z.unknown(), bucketSecretAccessKey: secret.optional(), bitbucketToken: secret.optional(), confirmDowngrade: z.boolean().optional() }).strict(),
  checkEndpoint: z.object({ endpoint: bucketEndpoint }).strict(),
  getCoverage: z.object({
    search: text(100).optional(),
    sort: z.enum(['name', 'lastBackup', 'size', 'status']).optional(),
    descending: z.boolean().optional(),
    page: z.number().int().min(1).max(100_000).optional(),
    cursor,
  }).strict(),
  // A page's worth at a time: each becomes an override and an audit entry.
  setRepositoriesIncluded: z.object({ repositoryUuids: z.array(bitbucketUuid).min(1).max(100), included: z.boolean() }).strict(),
  // The policy is checked by validatePolicy (inside applyPolicy), as saving checks it.
  previewRetention: z.object({ repositoryUuid: bitbucketUuid, retention: z.record(z.string().max(40), z.unknown()) }).strict(),
  restoreDeletedRepository: z.object({ repositoryUuid: bitbucketUuid, snapshotId: snapshotId.optional(), newRepositorySlug: repositorySlug }).strict(),
};

function parsePayload<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  // A call without arguments arrives as undefined or {}, depending on the bridge.
  const result = schema.safeParse(payload ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}${where ? ` in ${where}` : ''}`;
    return `${where || 'the request'} ${issue.message}`;
  });
  throw new LifeboatError('INVALID_ARGUMENT', `The request was refused: ${problems.join('; ')}.`, { details: { problems } });
}

type Work<S extends z.ZodType, C, T> = (input: z.output<S>, caller: C) => Promise<T>;

/** A repository page resolver: repository admin, then a valid payload, then the work. */
function onRepoPage<S extends z.ZodType, T>(schema: S, work: Work<S, RepoCaller, T>) {
  return async ({ payload, context }: Request): Promise<Result<T>> => answer(async () => {
    const caller = callerOf(context);
    if (!caller.repositoryUuid) throw new LifeboatError('INVALID_ARGUMENT', 'This page belongs to a repository, and Bitbucket did not say which one; reload the page.');
    const repoCaller: RepoCaller = { ...caller, repositoryUuid: caller.repositoryUuid };
    await requireRepositoryAdmin(repoCaller.workspaceUuid, repoCaller.repositoryUuid);
    return work(parsePayload(schema, payload), repoCaller);
  });
}

/** An admin page resolver: workspace admin, then a valid payload, then the work. */
function onAdminPage<S extends z.ZodType, T>(schema: S, work: Work<S, Caller, T>) {
  return async ({ payload, context }: Request): Promise<Result<T>> => answer(async () => {
    const caller = callerOf(context);
    await requireWorkspaceAdmin(caller.workspaceUuid);
    return work(parsePayload(schema, payload), caller);
  });
}

/** Where the page is and who looks at it: no permission needed, nothing secret in it. */
async function overview({ context }: Request): Promise<Overview> {
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
  const { store, manifest } = await openSnapshot(await requireConfiguration(), caller, id);
  return {
    ...summarize(manifest),
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
  getRepoStatus: onRepoPage(noPayload, (_input, caller) => repoStatus(caller)),
  setRepoEnabled: onRepoPage(payloads.setRepoEnabled, (input, caller) => setRepoEnabled(caller, input.enabled)),
  listSnapshots: onRepoPage(cursorPayload, (input, caller) => snapshotsPage(caller, input.cursor)),
  getSnapshot: onRepoPage(payloads.getSnapshot, (input, caller) => snapshotDetails(caller, input.snapshotId)),
  listPullRequests: onRepoPage(payloads.listPullRequests, (input, caller) => pullRequestPage({ ...caller, snapshotId: input.snapshotId }, input.cursor)),
  getPullRequest: onRepoPage(payloads.getPullRequest, (input, caller) => pullRequestOf({ ...caller, snapshotId: input.snapshotId }, input.pullRequestId)),
  // requestBackup records who asked in the audit log.
  backupNow: onRepoPage(noPayload, (_input, caller) => requestBackup({ workspaceUuid: caller.workspaceUuid, repositoryUuid: caller.repositoryUuid, reason: 'manual', accountId: caller.accountId })),
  startRestore: onRepoPage(payloads.startRestore, (request, caller) => requestRestore({
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
    },
    accountId: caller.accountId,
  })),
  planConfigurationRestore: onRepoPage(payloads.planConfigurationRestore, async (input, caller) => planConfigurationRestore(await requireConfiguration(), caller, input.snapshotId, input.target)),
  getJob: onRepoPage(jobPayload, (input, caller) => repoJob(caller, input.jobId)),
  listDestructiveEvents: onRepoPage(cursorPayload, (input, caller) => listDestructiveEvents(caller.repositoryUuid, input.cursor)),
  undoDestructiveEvent: onRepoPage(payloads.undoDestructiveEvent, (input, caller) => requestUndo({
    workspaceUuid: caller.workspaceUuid,
    repositoryUuid: caller.repositoryUuid,
    eventId: input.eventId,
    inPlace: input.inPlace ?? false,
    accountId: caller.accountId,
  })),
});

export const workspaceAdminResolver = makeResolver<AdminPageResolvers>({
  getOverview: overview,
  getSettings: onAdminPage(noPayload, () => settingsView()),
  saveSettings: onAdminPage(payloads.saveSettings, (input, caller) => saveSettings(caller.accountId, input)),
  testBucket: onAdminPage(noPayload, () => checkBucket()),
  checkEndpoint: onAdminPage(payloads.checkEndpoint, async (input) => endpointEgress(input.endpoint)),
  testBitbucket: onAdminPage(noPayload, (_input, caller) => checkBitbucket(caller.workspaceUuid)),
  getCoverage: onAdminPage(payloads.getCoverage, async (input, caller) => {
    const settings = await loadSettings();
    // Before the first sweep there is no catalogue: Bitbucket's own pages, unsearched.
    return (input.cursor === undefined ? await queryCoverage(settings, input) : undefined) ?? coveragePage(caller.workspaceUuid, settings, input.cursor);
  }),
  setRepositoriesIncluded: onAdminPage(payloads.setRepositoriesIncluded, async (input, caller) => {
    await setIncluded(input.repositoryUuids, input.included, caller.accountId);
    return settingsView();
  }),
  sweepNow: onAdminPage(noPayload, (_input, caller) => requestSweep({ workspaceUuid: caller.workspaceUuid, accountId: caller.accountId })),
  getAuditLog: onAdminPage(cursorPayload, (input) => listAudit(input.cursor)),
  listDeletedRepositories: onAdminPage(cursorPayload, (input) => listDeletedRepositories(input.cursor)),
  rebuildIndex: onAdminPage(noPayload, (_input, caller) => requestReindex({ workspaceUuid: caller.workspaceUuid, accountId: caller.accountId })),
  restoreDeletedRepository: onAdminPage(payloads.restoreDeletedRepository, (input, caller) => requestDeletedRestore({
    workspaceUuid: caller.workspaceUuid,
    repositoryUuid: bracedUuid(input.repositoryUuid),
    ...(input.snapshotId ? { snapshotId: input.snapshotId } : {}),
    newRepositorySlug: input.newRepositorySlug,
    accountId: caller.accountId,
  })),
  previewRetention: onAdminPage(payloads.previewRetention, (input) => previewRetention(input.repositoryUuid, validatePolicy(input.retention))),
  // Workspace admins see every job of the workspace.
  getJob: onAdminPage(jobPayload, (input) => getJob(input.jobId)),
});
