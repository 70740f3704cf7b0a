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
import { kvs } from '@forge/kvs';
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
  SettingsView,
  SnapshotDetails,
  SnapshotPage,
  SnapshotSummary,
  StorageStatus,
} from '../contract.js';
import { findSnapshot, listSnapshotIds, readManifest, readManifests } from '../engine/bucket/catalog.js';
import { type SnapshotManifest, encryptionFor, sameEncryption } from '../engine/bucket/format.js';
import type { StorageSetting } from '../engine/bucket/marker.js';
import { isSnapshotId } from '../engine/bucket/keys.js';
import { LifeboatError } from '../engine/errors.js';
import { isValidRefName } from '../engine/git/ref-name.js';
import { parseSettings, REPOSITORY_SLUG, repositoryUuid, storageSettingOf, type WorkspaceSettings } from '../settings.js';
import { answer } from './answer.js';
import { listDestructiveEvents, requestBackup } from './backups.js';
import { getRepository } from './bitbucket.js';
import { openBucket, repoPath } from './bucket.js';
import { checkBitbucket, checkBucket } from './checks.js';
import { coveragePage, isIncluded } from './coverage.js';
import { bareUuid, bracedUuid, kvsKeys } from './keys.js';
import { requireRepositoryAdmin, requireWorkspaceAdmin } from './permissions.js';
import { getJob, listAudit, recordAudit } from './records.js';
import { listDeletedRepositories, requestDeletedRestore, requestRestore, requestUndo } from './restores.js';
import { loadSecrets, loadSettings, requireConfiguration, requireSettings, secretsPresence, storeSecrets, storeSettings } from './settings-store.js';
import { readStatus } from './status.js';
import { requestSweep } from './sweep.js';

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
const repositorySlug = z.string().regex(REPOSITORY_SLUG, 'must be 1 to 62 lower-case letters, digits, dots, hyphens or underscores');
// git's ref-name rule, narrowed to what a page offers to restore: branches and tags.
const refName = z.string().max(1024).refine((name) => /^refs\/(heads|tags)\//.test(name) && isValidRefName(name), 'must be full branch or tag names like refs/heads/main');
// A token or key never holds white space at its ends: a pasted newline is trimmed, not stored.
const secret = z.string().trim().min(1, 'must not be empty (omit it to keep the stored one)').max(4096, 'must be at most 4096 characters');

const payloads = {
  setRepoEnabled: z.object({ enabled: z.boolean() }).strict(),
  getSnapshot: z.object({ snapshotId }).strict(),
  startRestore: z.object({
    snapshotId,
    mode: z.enum(['beside', 'new-repository', 'overwrite']),
    refs: z.array(refName).min(1, 'must name at least one ref (omit it to restore all)').max(10_000).optional(),
    newRepositorySlug: repositorySlug.optional(),
    confirmOverwrite: z.boolean().optional(),
  }).strict()
    .refine((request) => request.mode !== 'new-repository' || request.newRepositorySlug !== undefined, { message: 'is required to restore into a new repository', path: ['newRepositorySlug'] })
    .refine((request) => request.mode !== 'overwrite' || request.confirmOverwrite === true, { message: 'must be true: overwriting branches needs explicit confirmation', path: ['confirmOverwrite'] }),
  undoDestructiveEvent: z.object({ eventId: text(200).min(1), inPlace: z.boolean().optional(), confirmOverwrite: z.boolean().optional() }).strict()
    .refine((request) => !request.inPlace || request.confirmOverwrite === true, { message: 'must be true: putting the branch back in place needs explicit confirmation', path: ['confirmOverwrite'] }),
  // The settings themselves are checked by parseSettings, which names every field.
  saveSettings: z.object({ settings: z.unknown(), bucketSecretAccessKey: secret.optional(), bitbucketToken: secret.optional(), confirmDowngrade: z.boolean().optional() }).strict(),
  restoreDeletedRepository: z.object({ repositoryUuid, snapshotId: snapshotId.optional(), newRepositorySlug: repositorySlug }).strict(),
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
    const lastPush = await kvs.get<PushSeen>(kvsKeys.lastPush(caller.repositoryUuid));
    if (lastPush) result.lastPush = lastPush;
  }
  return result;
}

async function repoStatus({ workspaceUuid, repositoryUuid }: RepoCaller, known?: WorkspaceSettings): Promise<RepoStatus> {
  const [stored, lastPush, repository, settings] = await Promise.all([
    readStatus(repositoryUuid),
    kvs.get<PushSeen>(kvsKeys.lastPush(repositoryUuid)),
    getRepository(workspaceUuid, repositoryUuid),
    known ?? loadSettings(),
  ]);
  return {
    ...stored,
    ...(repository.slug ? { slug: repository.slug } : {}),
    ...(repository.name ? { name: repository.name } : {}),
    included: isIncluded(settings, repositoryUuid),
    ...(lastPush ? { lastPush } : {}),
    ...(settings ? { storage: storageStatus(settings, stored.lastBackup?.recipients) } : {}),
  };
}

const recipientsText = (recipients: readonly string[]): string => `${recipients.length} age recipient${recipients.length === 1 ? '' : 's'}`;

/** How the newest snapshot is stored against what the settings ask of the next backup (the engine's chain rule decides the same way). */
function storageStatus(settings: WorkspaceSettings, lastSnapshotRecipients: string[] | undefined): StorageStatus {
  const { encryption, objectLock } = storageSettingOf(settings);
  const recipients = encryption?.recipients ?? [];
  const newChainPending = lastSnapshotRecipients !== undefined && !sameEncryption(encryptionFor(lastSnapshotRecipients), encryption);
  const next = recipients.length > 0 ? `encrypted to ${recipientsText(recipients)}` : 'unencrypted';
  let words: string;
  if (lastSnapshotRecipients === undefined) {
    words = `Backups are stored ${next}.`;
  } else if (!newChainPending) {
    words = `Snapshots are stored ${next}.`;
  } else {
    const last = lastSnapshotRecipients.length > 0 ? `encrypted to ${recipientsText(lastSnapshotRecipients)}` : 'unencrypted';
    words = `The newest snapshot is stored ${last}; the settings have changed since, so the next backup starts a new full chain stored ${next}. Earlier snapshots stay as they were stored.`;
  }
  const lock = objectLock
    ? ` Object Lock: ${objectLock.mode}, ${objectLock.days} day${objectLock.days === 1 ? '' : 's'} on every object a backup writes; objects already written keep the retention they got.`
    : ' No Object Lock on new objects.';
  return { ...(lastSnapshotRecipients ? { lastSnapshotRecipients } : {}), recipients, objectLock, newChainPending, message: words + lock };
}

const SNAPSHOT_PAGE = 20;

function summary(manifest: SnapshotManifest): SnapshotSummary {
  return {
    id: manifest.id,
    createdAt: manifest.createdAt,
    trigger: manifest.trigger,
    refs: manifest.refs.length,
    // What a restore of this snapshot reads: every bundle it names.
    bytes: manifest.bundles.reduce((sum, bundle) => sum + bundle.size, 0),
  };
}

/** Newest first; the cursor is the last id of the previous page (ids sort by time). */
async function snapshotsPage({ workspaceUuid, repositoryUuid }: RepoCaller, after?: string): Promise<SnapshotPage> {
  const { settings, secrets } = await requireConfiguration();
  const store = openBucket(settings, secrets.bucketSecretAccessKey);
  const repo = repoPath(workspaceUuid, repositoryUuid);
  const ids = (await listSnapshotIds(store, repo)).reverse().filter((id) => after === undefined || id < after);
  const page = ids.slice(0, SNAPSHOT_PAGE);
  const { manifests, unreadable } = await readManifests(store, page.map((id) => ({ repo, id })));
  const last = page.at(-1);
  return {
    items: manifests.map(summary),
    unreadable: unreadable.map(({ id, code, message }) => ({ id, code, message })),
    ...(ids.length > SNAPSHOT_PAGE && last ? { nextCursor: last } : {}),
  };
}

async function snapshotDetails({ workspaceUuid, repositoryUuid }: RepoCaller, id: string): Promise<SnapshotDetails> {
  const { settings, secrets } = await requireConfiguration();
  const store = openBucket(settings, secrets.bucketSecretAccessKey);
  const manifest = await readManifest(store, await findSnapshot(store, id, repoPath(workspaceUuid, repositoryUuid)));
  return {
    ...summary(manifest),
    refList: manifest.refs.map((ref) => ({ name: ref.name, target: ref.oid })),
    bundles: manifest.bundles.length,
    encrypted: manifest.encryption !== null,
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
  const settings = await requireSettings();
  const key = bracedUuid(caller.repositoryUuid);
  // One entry per repository, however the UUID was spelled when it was stored.
  const overrides = Object.fromEntries(Object.entries(settings.overrides).filter(([uuid]) => bareUuid(uuid) !== bareUuid(key)));
  const previous = Object.entries(settings.overrides).find(([uuid]) => bareUuid(uuid) === bareUuid(key))?.[1];
  const updated: WorkspaceSettings = { ...settings, overrides: { ...overrides, [key]: { ...previous, enabled } } };
  await storeSettings(updated);
  await recordAudit({ actorAccountId: caller.accountId, action: enabled ? 'backups enabled for repository' : 'backups disabled for repository', repositoryUuid: key, outcome: 'ok' });
  return repoStatus(caller, updated);
}

async function settingsView(): Promise<SettingsView> {
  const [settings, secrets] = await Promise.all([loadSettings(), loadSecrets()]);
  return { ...(settings ? { settings } : {}), secrets: secretsPresence(secrets) };
}

/** Field paths whose values differ, e.g. bucket.name, repositories.chosen. */
function changedFields(before: unknown, after: unknown, path = ''): string[] {
  const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  // Overrides and retention are keyed by data (UUIDs, rule names): report the field, not every key.
  if (isRecord(before) && isRecord(after) && path !== 'overrides' && path !== 'retention') {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedFields(before[key], after[key], path ? `${path}.${key}` : key));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path || 'settings'];
}

const lockText = (lock: StorageSetting['objectLock']): string => (lock ? `${lock.mode}, ${lock.days} day${lock.days === 1 ? '' : 's'}` : 'none');

/** Audit entries for a change of how backups store objects; each takes effect from the next backup. */
function storageChanges(before: StorageSetting, after: StorageSetting): Array<{ action: string; detail: string }> {
  const changes: Array<{ action: string; detail: string }> = [];
  const was = before.encryption?.recipients ?? [];
  const now = after.encryption?.recipients ?? [];
  if (!sameEncryption(before.encryption, after.encryption)) {
    if (now.length === 0) {
      changes.push({ action: 'encryption turned off', detail: `Downgrade confirmed: from the next backup on, each repository starts a new full chain stored unencrypted. Earlier snapshots stay encrypted to ${recipientsText(was)}.` });
    } else {
      const earlier = was.length === 0 ? 'unencrypted' : `encrypted to the previous ${recipientsText(was)}`;
      changes.push({
        action: was.length === 0 ? 'encryption turned on' : 'encryption recipients changed',
        detail: `From the next backup on, each repository starts a new full chain encrypted to ${recipientsText(now)} (${now.join(', ')}). Earlier snapshots stay ${earlier}.`,
      });
    }
  }
  if (lockText(before.objectLock) !== lockText(after.objectLock)) {
    changes.push({ action: 'Object Lock changed', detail: `From ${lockText(before.objectLock)} to ${lockText(after.objectLock)}, for every object written from the next backup on; objects already written keep the retention they got.` });
  }
  return changes;
}

async function saveSettings(caller: Caller, request: z.output<typeof payloads.saveSettings>): Promise<SettingsView> {
  // Validate everything before writing anything.
  const settings = parseSettings(request.settings);
  const previous = await loadSettings();
  const storage = previous ? storageChanges(storageSettingOf(previous), storageSettingOf(settings)) : [];
  if (storage.some((change) => change.action === 'encryption turned off') && request.confirmDowngrade !== true) {
    const problem = 'confirmDowngrade must be true: these settings turn encryption off, and every later snapshot would be stored unencrypted (earlier ones stay encrypted)';
    throw new LifeboatError('INVALID_ARGUMENT', `The settings were not saved: ${problem}.`, { details: { problems: [problem] } });
  }
  await storeSettings(settings);
  await storeSecrets({
    ...(request.bucketSecretAccessKey !== undefined ? { bucketSecretAccessKey: request.bucketSecretAccessKey } : {}),
    ...(request.bitbucketToken !== undefined ? { bitbucketToken: request.bitbucketToken } : {}),
  });
  // Names only: a secret's value never reaches the audit log.
  const secretsGiven = [
    ...(request.bucketSecretAccessKey !== undefined ? ['bucket secret access key'] : []),
    ...(request.bitbucketToken !== undefined ? ['Bitbucket token'] : []),
  ];
  const settingsChanged = previous ? changedFields(previous, settings) : [];
  if (!previous || settingsChanged.some((field) => field === 'repositories' || field.startsWith('repositories.'))) {
    await kvs.set(kvsKeys.selectionSavedAt, Date.now());
  }
  const changed = [...settingsChanged, ...secretsGiven];
  let detail = changed.length > 0 ? `changed: ${changed.join(', ')}` : 'nothing changed';
  if (!previous) detail = secretsGiven.length > 0 ? `secrets stored: ${secretsGiven.join(', ')}` : 'no secrets stored yet';
  await recordAudit({ actorAccountId: caller.accountId, action: previous ? 'settings changed' : 'settings created', outcome: 'ok', detail });
  for (const change of storage) await recordAudit({ actorAccountId: caller.accountId, ...change, outcome: 'ok' });
  return settingsView();
}

export const repoSettingsResolver = makeResolver<RepoPageResolvers>({
  getOverview: overview,
  getRepoStatus: onRepoPage(noPayload, (_input, caller) => repoStatus(caller)),
  setRepoEnabled: onRepoPage(payloads.setRepoEnabled, (input, caller) => setRepoEnabled(caller, input.enabled)),
  listSnapshots: onRepoPage(cursorPayload, (input, caller) => snapshotsPage(caller, input.cursor)),
  getSnapshot: onRepoPage(payloads.getSnapshot, (input, caller) => snapshotDetails(caller, input.snapshotId)),
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
    },
    accountId: caller.accountId,
  })),
  getJob: onRepoPage(jobPayload, (input, caller) => repoJob(caller, input.jobId)),
  listDestructiveEvents: onRepoPage(cursorPayload, (input, caller) => listDestructiveEvents(caller.repositoryUuid, input.cursor)),
  undoDestructiveEvent: onRepoPage(payloads.undoDestructiveEvent, (input, caller) => requestUndo({
    workspaceUuid: caller.workspaceUuid,
    repositoryUuid: caller.repositoryUuid,
    eventId: input.eventId,
    inPlace: input.inPlace ?? false,
    confirmOverwrite: input.confirmOverwrite ?? false,
    accountId: caller.accountId,
  })),
});

export const workspaceAdminResolver = makeResolver<AdminPageResolvers>({
  getOverview: overview,
  getSettings: onAdminPage(noPayload, () => settingsView()),
  saveSettings: onAdminPage(payloads.saveSettings, (input, caller) => saveSettings(caller, input)),
  testBucket: onAdminPage(noPayload, () => checkBucket()),
  testBitbucket: onAdminPage(noPayload, (_input, caller) => checkBitbucket(caller.workspaceUuid)),
  getCoverage: onAdminPage(cursorPayload, async (input, caller) => coveragePage(caller.workspaceUuid, await loadSettings(), input.cursor)),
  sweepNow: onAdminPage(noPayload, (_input, caller) => requestSweep({ workspaceUuid: caller.workspaceUuid, accountId: caller.accountId })),
  getAuditLog: onAdminPage(cursorPayload, (input) => listAudit(input.cursor)),
  listDeletedRepositories: onAdminPage(noPayload, (_input, caller) => listDeletedRepositories(caller.workspaceUuid)),
  restoreDeletedRepository: onAdminPage(payloads.restoreDeletedRepository, (input, caller) => requestDeletedRestore({
    workspaceUuid: caller.workspaceUuid,
    repositoryUuid: bracedUuid(input.repositoryUuid),
    ...(input.snapshotId ? { snapshotId: input.snapshotId } : {}),
    newRepositorySlug: input.newRepositorySlug,
    accountId: caller.accountId,
  })),
  // Workspace admins see every job of the workspace.
  getJob: onAdminPage(jobPayload, (input) => getJob(input.jobId)),
});
