// The restore queue's consumer (manifest.yml `restore-consumer`): what a
// restore request asked for (restore-requests.ts), done in up to 900 s under
// the repository's lease, so that a backup and a restore of one repository
// never run at once. Each step it finishes is recorded beside the request, so
// a retry continues instead of repeating it (the engine resumes the push).
import { z } from 'zod';
import { bitbucketUuid, bracedUuid } from '../../bitbucket/uuid.js';
import { apiPath } from '../../bitbucket/client.js';
import type { ConfigurationResultView, RestoreDestination, RestorePlanView, RestoreResult, RestoreSummary } from '../../contract.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { requireMatchingIdentity } from '../../engine/bucket/crypto.js';
import { acquireLock } from '../../engine/bucket/locks.js';
import { LifeboatError } from '../../engine/errors.js';
import { branchName } from '../../engine/git/ref-name.js';
import { type RestoreReport, restoreToRemote, selectRefs } from '../../engine/remote-restore.js';
import { type RestorePlan, planRestore, requireLargeFilesConfirmed } from '../../engine/restore-plan.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import type { RepoPath } from '../../engine/bucket/bucket-keys.js';
import type { ConfigurationRestoreResult } from '../../bitbucket/configuration-plan.js';
import { restoreConfiguration } from './configuration-restores.js';
import type { GitClient } from '../../engine/git/types.js';
import type { LfsClient } from '../../engine/git/lfs.js';
import { recordAudit } from '../jobs/audit.js';
import { backUpRepository } from '../backup/backups.js';
import { type RepositoryJson, apiOrigin, appBitbucket, cloneUrl, credentialBitbucket, getRepository, gitClientFor, lfsClientFor } from '../../forge/bitbucket.js';
import { openSnapshot, repoPath } from '../../forge/bucket.js';
import { markEventUndone } from './destructive-events.js';
import { pinSnapshot } from '../catalogue/pins.js';
import { type Outcome, type RunContext, defineConsumer } from '../../forge/jobs.js';
import { kvsKeys } from '../state/state-keys.js';
import { type RequesterAccess, makeRepositoryAdmin } from '../../forge/permissions.js';
import { recordOwnRefUpdates } from './own-ref-updates.js';
import { QUEUES } from '../../forge/queues.js';
import { estimate } from '../../progress-estimate.js';
import { forgetIdentity, isEncrypted, readIdentity } from './restore-identity.js';
import { type Configuration, requireConfiguration } from '../settings/settings-store.js';
import { appTrust } from '../settings/signing-keys.js';
import { appState } from '../../forge/state/context.js';

/** What the consumer is asked to do, kept beside the job; the steps already done are added as they finish. */
export interface StoredRestore {
  kind: 'restore' | 'undo' | 'deleted-repository';
  snapshotId: string;
  mode: RestoreDestination;
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
  /** Also (or only) the snapshot's repository configuration. */
  configuration?: 'with-git' | 'only';
  /** The person confirmed the target takes files over the file size limit. */
  largeFilesConfirmed?: boolean;
  /** The configuration plan's lowering changes the person chose. */
  lowering?: Array<{ section: string; action: 'add' | 'replace' | 'remove'; item: string }>;
  /** The push, once done: a retry (after a configuration write failed for a while) does not push again. */
  pushed?: { refCount: number; refs: RestoreReport['refs']; leftOut: number; bundlesResumed: number; lfs?: { restored: number; missing: number } };
}

/** The backup before an overwrite stops here, leaving the rest of the 900 s to the restore itself. */
const GUARD_BACKUP_MS = 540_000;
/** Job results are KVS values (≤240 KiB) shown on a page: list refs up to this many characters, count the rest. */
const LISTED_REFS_CHARS = 32_000;
/** ...and configuration items up to this many in each list (a few hundred bytes each). */
const LISTED_CONFIGURATION_ITEMS = 200;
/** Large files a kept plan lists (about 100 bytes each, in its own KVS value); more than a repository under Bitbucket's 4 GB lock can hold over 100 MB. */
const KEPT_LARGE_FILES = 1000;
/** ...of which the job's result lists these. */
const LISTED_LARGE_FILES = 50;

const restoreBody = z.object({
  workspaceUuid: bitbucketUuid,
  /** The repository whose snapshot is restored (it may no longer exist in Bitbucket). */
  repositoryUuid: bitbucketUuid,
  jobId: z.string().min(1),
});
export type RestoreBody = z.infer<typeof restoreBody>;

export function restoreAction(stored: StoredRestore): string {
  switch (stored.kind) {
    case 'undo': return 'undo destructive push';
    case 'deleted-repository': return 'restore deleted repository';
    case 'restore': return `restore (${stored.mode})`;
  }
}

export const runRestore = defineConsumer<RestoreBody>({
  kind: 'restore',
  queue: QUEUES.restore,
  body: restoreBody,
  leases: (body) => body.repositoryUuid,
  async audit(body) {
    const stored = await appState().get<StoredRestore>(kvsKeys.restoreRequest(body.jobId));
    return { action: stored ? restoreAction(stored) : 'restore', repositoryUuid: bracedUuid(body.repositoryUuid), ...(stored ? { actorAccountId: stored.accountId } : {}) };
  },
  // Every ending goes through here, failures and given-up retries included.
  onEnded: (body) => forgetIdentity(body.jobId),
  async run(body, context): Promise<Outcome<RestoreBody>> {
    const stored = await appState().get<StoredRestore>(kvsKeys.restoreRequest(body.jobId));
    if (!stored) throw new LifeboatError('JOB_NOT_FOUND', 'The restore request was lost before it ran; start it again.');
    const outcome = await perform(body, stored, context);
    if (stored.eventId) await markEventUndone(body.repositoryUuid, stored.eventId, body.jobId);
    return outcome;
  },
});

async function perform(body: RestoreBody, stored: StoredRestore, context: RunContext): Promise<Outcome<RestoreBody>> {
  const configuration = await requireConfiguration();
  const { settings, secrets } = configuration;
  const repo = repoPath(body.workspaceUuid, body.repositoryUuid);
  context.progress('reading the snapshot');
  const { store, manifest } = await openSnapshot(configuration, body, stored.snapshotId, await appTrust('flag'));
  // Checked before anything is created or overwritten: a wrong identity changes nothing.
  const identities = isEncrypted(manifest) ? await readIdentity(body.jobId) : undefined;
  if (identities && manifest.encryption) await requireMatchingIdentity(identities, manifest.encryption.recipients);
  // Before anything is created, backed up or pushed: a file the target would refuse stops the restore here, unless confirmed.
  const plan = stored.configuration === 'only' ? undefined : await readPlan(store, manifest, identities, body.jobId, context);
  if (plan) requireLargeFilesConfirmed(plan, stored.largeFilesConfirmed === true);

  let target: PushTarget;
  if (stored.mode === 'new-repository') {
    // Pushing again into the repository this job created is safe: nobody else has had it yet.
    const resumed = stored.createdRepository !== undefined;
    const created = stored.createdRepository ?? await createRepository(body, stored, manifest);
    const repository = await getRepository(body.workspaceUuid, created.uuid);
    if (!stored.requesterAccess) {
      // Before the push: should it fail for good, the requester can still administer (or delete) the repository.
      const credential = credentialBitbucket(apiOrigin(repository), settings, secrets.bitbucketToken);
      stored.requesterAccess = await makeRepositoryAdmin(body.workspaceUuid, created.uuid, stored.accountId, credential);
      await appState().set(kvsKeys.restoreRequest(body.jobId), stored);
    }
    target = { git: gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken), lfs: lfsClientFor(cloneUrl(repository), settings, secrets.bitbucketToken), slug: created.slug, mode: resumed ? 'overwrite' : 'empty', ...webPage(repository) };
  } else {
    const repository = await getRepository(body.workspaceUuid, body.repositoryUuid);
    target = { git: gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken), lfs: lfsClientFor(cloneUrl(repository), settings, secrets.bitbucketToken), slug: repository.slug ?? bracedUuid(body.repositoryUuid), mode: stored.mode === 'overwrite' ? 'overwrite' : 'beside', ...webPage(repository) };
    // Configuration written back replaces what the repository has now: keep that in a snapshot first, as an overwrite does.
    if ((stored.mode === 'overwrite' || stored.configuration) && !stored.guardSnapshotId) {
      stored.guardSnapshotId = await backUpCurrentState(configuration, body, context);
      // The result promises "this restore can be undone" from it: no prune may take it meanwhile.
      await pinSnapshot(body.repositoryUuid, stored.guardSnapshotId, { kind: 'restore-guard', jobId: body.jobId });
      await appState().set(kvsKeys.restoreRequest(body.jobId), stored);
    }
  }

  if (stored.configuration !== 'only' && !stored.pushed) {
    // Only an overwrite moves existing refs (the others add new ones): its push is no one's force-push.
    if (target.mode === 'overwrite') await recordOwnRefUpdates(stored.createdRepository?.uuid ?? body.repositoryUuid, selectRefs(manifest, stored.refs, false).selected);
    const report = await pushSnapshot(store, repo, manifest, stored, target, identities, body.jobId, context, plan!);
    // A push cannot set the default branch (report.head). The repository was created with `mainbranch`, but whether
    // Bitbucket keeps it while that branch does not exist yet is not documented: now that it does, set it with
    // "Update a repository" (PUT /2.0/repositories/{workspace}/{repo_slug}, the repository's `mainbranch`).
    // Best effort: the refs are what the restore promises, and they are in place.
    const mainBranch = branchName(report.head);
    if (stored.createdRepository && mainBranch) {
      await appBitbucket().put(apiPath`/2.0/repositories/${bracedUuid(body.workspaceUuid)}/${stored.createdRepository.uuid}`, { mainbranch: { type: 'branch', name: mainBranch } }).catch(() => undefined);
    }
    stored.pushed = {
      refCount: report.refs.length, refs: firstRefs(report.refs), leftOut: report.leftOut.length, bundlesResumed: report.bundlesResumed,
      ...(report.lfs ? { lfs: { restored: report.lfs.uploaded + report.lfs.present, missing: report.lfs.missing.length } } : {}),
    };
    if (stored.configuration) await appState().set(kvsKeys.restoreRequest(body.jobId), stored);
  }
  let configurationResult: ConfigurationRestoreResult | undefined;
  if (stored.configuration) {
    context.progress(`writing the repository configuration into ${target.slug}`);
    configurationResult = await restoreConfiguration(configuration, store, manifest, body.workspaceUuid, stored.createdRepository?.uuid ?? body.repositoryUuid, stored.lowering);
  }
  const pushed = stored.pushed;

  // The note keeps the result without its lists: the audit log keeps it for good.
  const listed = configurationResult ? listedConfiguration(configurationResult) : undefined;
  const outcome = {
    snapshotId: manifest.id,
    mode: stored.mode,
    repository: target.slug,
    ...(target.url ? { repositoryUrl: target.url } : {}),
    ...(pushed ? { refCount: pushed.refCount } : {}),
    ...(stored.guardSnapshotId ? { snapshotBeforeOverwrite: stored.guardSnapshotId } : {}),
    ...(stored.createdRepository ? { repositoryUuid: stored.createdRepository.uuid } : {}),
    ...(stored.requesterAccess ? { requesterAccess: stored.requesterAccess } : {}),
    ...(stored.eventId ? { eventId: stored.eventId } : {}),
    ...(pushed && pushed.leftOut > 0 ? { leftOutRefCount: pushed.leftOut } : {}),
    ...(pushed && pushed.bundlesResumed > 0 ? { bundlesResumed: pushed.bundlesResumed } : {}),
    ...(pushed?.lfs ? { lfsObjects: pushed.lfs.restored, ...(pushed.lfs.missing > 0 ? { lfsMissing: pushed.lfs.missing } : {}) } : {}),
  };
  const summary: RestoreSummary = { ...outcome, ...(listed ? { configuration: { writtenCount: listed.writtenCount, notWrittenCount: listed.notWrittenCount } } : {}) };
  const result: RestoreResult = { ...outcome, ...(pushed ? { refs: pushed.refs } : {}), ...(listed ? { configuration: listed } : {}), ...(plan && pushed ? { plan: planView(plan) } : {}) };
  return { state: 'done', note: { code: 'restored', restore: summary }, result };
}

/** The snapshot's refs pushed into the target; a shared lock keeps a prune from deleting its bundles meanwhile. */
interface PushTarget {
  git: GitClient;
  lfs: LfsClient;
  slug: string;
  mode: 'empty' | 'beside' | 'overwrite';
  /** The repository's web page: the result links the restored branches (or the new repository) from it. */
  url?: string;
}

/** The restore's plan: kept from an earlier attempt of the job, or read from the snapshot (every bundle, streamed from the bucket) and kept. */
async function readPlan(store: BlobStore, manifest: SnapshotManifest, identities: string[] | undefined, jobId: string, context: RunContext): Promise<RestorePlan> {
  const kept = await appState().get<RestorePlan>(kvsKeys.restorePlan(jobId));
  if (kept) return kept;
  const plan = await planRestore({
    store, manifest, ...(identities ? { identities } : {}),
    onProgress: (progress) => context.progress(`reading bundle ${progress.bundle} of ${progress.bundles} for the restore's plan`, { done: progress.bundle - 1, total: progress.bundles, bytes: progress.bytes }),
  });
  const keep = { ...plan, largeFiles: plan.largeFiles.slice(0, KEPT_LARGE_FILES) };
  await appState().set(kvsKeys.restorePlan(jobId), keep);
  return { ...keep, largeFiles: plan.largeFiles };
}

function planView(plan: RestorePlan): RestorePlanView {
  return {
    bytes: plan.bytes,
    pushes: plan.pushes,
    fileMaxBytes: plan.limits.fileMaxBytes,
    pushMaxBytes: plan.limits.pushMaxBytes,
    repositoryMaxBytes: plan.limits.repositoryMaxBytes,
    largeFiles: plan.largeFiles.slice(0, LISTED_LARGE_FILES),
    largeFileCount: plan.largeFiles.length,
    oversizedBundles: plan.oversizedBundles,
    overRepositoryLimit: plan.overRepositoryLimit,
  };
}

async function pushSnapshot(store: BlobStore, repo: RepoPath, manifest: SnapshotManifest, stored: StoredRestore, target: PushTarget, identities: string[] | undefined, jobId: string, context: RunContext, plan: RestorePlan): Promise<RestoreReport> {
  const refCount = stored.refs?.length ?? manifest.refs.length;
  context.progress(`pushing ${refCount} ref${refCount === 1 ? '' : 's'} into ${target.slug}`, { refs: refCount });
  const lock = await acquireLock(store, repo, 'shared', { owner: `lifeboat restore ${jobId}` });
  const startedAt = Date.now();
  let previous: { bytes: number; resumed: boolean } | undefined;
  let doneBytes = 0;
  let pushedBytes = 0;
  let pushes = 0;
  try {
    return await restoreToRemote({
      store, manifest, git: target.git, lfs: target.lfs, mode: target.mode, plan, largeFilesConfirmed: stored.largeFilesConfirmed === true,
      ...(identities ? { identities } : {}),
      ...(stored.refs ? { only: stored.refs } : {}),
      onProgress: (progress) => {
        if (progress.phase !== 'bundle') return;
        // Announced before its push: the bundles before it are on the server (an interrupted attempt's, not pushed now, included).
        if (previous) {
          doneBytes += previous.bytes;
          if (!previous.resumed) { pushedBytes += previous.bytes; pushes += 1; }
        }
        previous = progress;
        context.progress(`pushing bundle ${progress.bundle} of ${progress.bundles} into ${target.slug}`, {
          done: progress.bundle - 1, total: progress.bundles, steps: 'pushes', bytes: pushedBytes,
          ...estimate({ startedAt, now: Date.now(), bytes: pushedBytes, steps: pushes, bytesLeft: Math.max(0, plan.bytes - doneBytes) }),
        });
      },
    });
  } finally {
    await lock.release().catch(() => undefined); // a lock left behind goes stale by itself
  }
}

/** A configuration result as the job keeps it: within its share of one KVS value, however many items a repository has. */
function listedConfiguration(result: ConfigurationRestoreResult): ConfigurationResultView {
  return {
    written: result.written.slice(0, LISTED_CONFIGURATION_ITEMS),
    notWritten: result.notWritten.slice(0, LISTED_CONFIGURATION_ITEMS),
    writtenCount: result.written.length,
    notWrittenCount: result.notWritten.length,
  };
}

function webPage(repository: RepositoryJson): { url?: string } {
  return repository.links?.html ? { url: repository.links.html.href } : {};
}

/** The refs a job result lists: as many as fit its share of one KVS value (ref names have no length limit of their own). */
function firstRefs(refs: RestoreReport['refs']): RestoreReport['refs'] {
  let chars = 0;
  const listed: RestoreReport['refs'] = [];
  for (const ref of refs) {
    chars += JSON.stringify(ref).length;
    if (chars > LISTED_REFS_CHARS) break;
    listed.push(ref);
  }
  return listed;
}

/** Backs up what an overwrite is about to replace; its snapshot id goes into the job's result. */
async function backUpCurrentState(configuration: Configuration, body: RestoreBody, context: RunContext): Promise<string> {
  context.progress('backing up the current state before overwriting it');
  const backedUp = await backUpRepository(configuration, { workspaceUuid: body.workspaceUuid, repositoryUuid: body.repositoryUuid, reason: 'before-overwrite' }, new Date(context.startedAt + GUARD_BACKUP_MS), { status: context.status });
  if (backedUp.status === 'partial') {
    // What is stored so far stays; the retry continues the backup from there.
    throw new LifeboatError('LOCKED', 'The backup of the current state did not finish in this run; it continues before anything is overwritten.');
  }
  return backedUp.snapshot.id;
}

async function createRepository(body: RestoreBody, stored: StoredRestore, manifest: SnapshotManifest): Promise<{ uuid: string; slug: string }> {
  const slug = stored.newRepositorySlug!;
  const mainBranch = branchName(manifest.head.symref);
  const created = await appBitbucket().post<RepositoryJson>(apiPath`/2.0/repositories/${bracedUuid(body.workspaceUuid)}/${slug}`, {
    scm: 'git',
    is_private: true,
    ...(manifest.repository.name && stored.kind === 'deleted-repository' ? { name: manifest.repository.name } : {}),
    description: `Restored by Lifeboat from snapshot ${manifest.id} of ${manifest.repository.slug ?? 'a repository'}.`,
    ...(mainBranch ? { mainbranch: { type: 'branch', name: mainBranch } } : {}),
  });
  stored.createdRepository = { uuid: bracedUuid(created.uuid), slug: created.slug ?? slug };
  await appState().set(kvsKeys.restoreRequest(body.jobId), stored);
  await recordAudit({ actorAccountId: stored.accountId, action: 'repository created for a restore', repositoryUuid: stored.createdRepository.uuid, note: { code: 'repository-created', slug: stored.createdRepository.slug, snapshotId: manifest.id } });
  return stored.createdRepository;
}
