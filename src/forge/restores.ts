// The restore queue's consumer (manifest.yml `restore-consumer`): what a
// restore request asked for (restore-requests.ts), done in up to 900 s under
// the repository's lease, so that a backup and a restore of one repository
// never run at once. Each step it finishes is recorded beside the request, so
// a retry continues instead of repeating it (the engine resumes the push).
import { kvs } from '@forge/kvs';
import { z } from 'zod';
import { bitbucketUuid, bracedUuid } from '../bitbucket/uuid.js';
import { apiPath } from '../bitbucket/client.js';
import type { RestoreDestination } from '../contract.js';
import { readManifest } from '../engine/bucket/catalog.js';
import type { SnapshotManifest } from '../engine/bucket/format.js';
import { requireMatchingIdentity } from '../engine/bucket/crypto.js';
import { acquireLock } from '../engine/bucket/locks.js';
import { LifeboatError } from '../engine/errors.js';
import { type RestoreReport, restoreToRemote } from '../engine/restore.js';
import type { GitClient } from '../engine/git/types.js';
import { recordAudit } from './audit.js';
import { backUpRepository } from './backups.js';
import { type RepositoryJson, apiOrigin, appBitbucket, cloneUrl, credentialBitbucket, getRepository, gitClientFor } from './bitbucket.js';
import { openBucket, repoPath } from './bucket.js';
import { markEventUndone } from './destructive-events.js';
import { type Outcome, type RunContext, defineConsumer } from './jobs.js';
import { kvsKeys } from './keys.js';
import { type RequesterAccess, makeRepositoryAdmin } from './permissions.js';
import { QUEUES } from './queues.js';
import { forgetIdentity, isEncrypted, readIdentity } from './restore-identity.js';
import { type Configuration, requireConfiguration } from './settings-store.js';

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
}

/** The backup before an overwrite stops here, leaving the rest of the 900 s to the restore itself. */
const GUARD_BACKUP_MS = 540_000;
/** Job results are KVS values (≤240 KiB) shown on a page: list refs up to this many characters, count the rest. */
const LISTED_REFS_CHARS = 32_000;

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
    const stored = await kvs.get<StoredRestore>(kvsKeys.restoreRequest(body.jobId));
    return { action: stored ? restoreAction(stored) : 'restore', repositoryUuid: bracedUuid(body.repositoryUuid), ...(stored ? { actorAccountId: stored.accountId } : {}) };
  },
  // Every ending goes through here, failures and given-up retries included.
  onEnded: (body) => forgetIdentity(body.jobId),
  async run(body, context): Promise<Outcome> {
    const stored = await kvs.get<StoredRestore>(kvsKeys.restoreRequest(body.jobId));
    if (!stored) throw new LifeboatError('JOB_NOT_FOUND', 'The restore request was lost before it ran; start it again.');
    const outcome = await perform(body, stored, context);
    if (stored.eventId) await markEventUndone(body.repositoryUuid, stored.eventId, body.jobId);
    return outcome;
  },
});

async function perform(body: RestoreBody, stored: StoredRestore, context: RunContext): Promise<Outcome> {
  const configuration = await requireConfiguration();
  const { settings, secrets } = configuration;
  const store = openBucket(settings, secrets.bucketSecretAccessKey);
  const repo = repoPath(body.workspaceUuid, body.repositoryUuid);
  context.progress('reading the snapshot');
  const manifest = await readManifest(store, { repo, id: stored.snapshotId });
  // Checked before anything is created or overwritten: a wrong identity changes nothing.
  const identities = isEncrypted(manifest) ? await readIdentity(body.jobId) : undefined;
  if (identities && manifest.encryption) await requireMatchingIdentity(identities, manifest.encryption.recipients);

  let target: { git: GitClient; slug: string; mode: 'empty' | 'beside' | 'overwrite'; url?: string };
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
    target = { git: gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken), slug: created.slug, mode: resumed ? 'overwrite' : 'empty', ...webPage(repository) };
  } else {
    const repository = await getRepository(body.workspaceUuid, body.repositoryUuid);
    target = { git: gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken), slug: repository.slug ?? bracedUuid(body.repositoryUuid), mode: stored.mode === 'overwrite' ? 'overwrite' : 'beside', ...webPage(repository) };
    if (stored.mode === 'overwrite' && !stored.guardSnapshotId) {
      stored.guardSnapshotId = await backUpCurrentState(configuration, body, context);
      await kvs.set(kvsKeys.restoreRequest(body.jobId), stored);
    }
  }

  const refCount = stored.refs?.length ?? manifest.refs.length;
  context.progress(`pushing ${refCount} ref${refCount === 1 ? '' : 's'} into ${target.slug}`, { refs: refCount });
  // A shared lock keeps a prune from deleting the snapshot's bundles while they are read.
  const lock = await acquireLock(store, repo, 'shared', { owner: `lifeboat restore ${body.jobId}` });
  let report: RestoreReport;
  try {
    report = await restoreToRemote({
      store, manifest, git: target.git, mode: target.mode,
      ...(identities ? { identities } : {}),
      ...(stored.refs ? { only: stored.refs } : {}),
      onProgress: (progress) => {
        if (progress.phase === 'bundle') context.progress(`pushing bundle ${progress.bundle} of ${progress.bundles} into ${target.slug}`, { done: progress.bundle - 1, total: progress.bundles, bytes: progress.bytes });
      },
    });
  } finally {
    await lock.release().catch(() => undefined); // a lock left behind goes stale by itself
  }

  const result: Record<string, unknown> = {
    snapshotId: manifest.id,
    mode: stored.mode,
    repository: target.slug,
    // The page links the restored branches (or the new repository) from here.
    ...(target.url ? { repositoryUrl: target.url } : {}),
    refCount: report.refs.length,
    refs: firstRefs(report.refs),
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
  return { state: 'done', message: `Restored ${report.refs.length} ref${report.refs.length === 1 ? '' : 's'} of snapshot ${manifest.id} ${where}.${guard}${leftOut}${accessWords(stored.requesterAccess)}`, result };
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

function accessWords(access: RequesterAccess | undefined): string {
  if (!access) return '';
  if (access.admin) return access.via === 'granted' ? ' The requester was made an admin of it.' : ' The requester administers it as a workspace admin.';
  return ` The requester could not be made an admin of it (${access.problem.message}); a workspace admin can do that in the repository's settings, under User and group access.`;
}

/** Backs up what an overwrite is about to replace; its snapshot id goes into the job's result. */
async function backUpCurrentState(configuration: Configuration, body: RestoreBody, context: RunContext): Promise<string> {
  context.progress('backing up the current state before overwriting it');
  const backedUp = await backUpRepository(configuration, { workspaceUuid: body.workspaceUuid, repositoryUuid: body.repositoryUuid, reason: 'before-overwrite' }, new Date(context.startedAt + GUARD_BACKUP_MS));
  if (backedUp.status === 'partial') {
    // What is stored so far stays; the retry continues the backup from there.
    throw new LifeboatError('LOCKED', 'The backup of the current state did not finish in this run; it continues before anything is overwritten.');
  }
  return backedUp.snapshot.id;
}

async function createRepository(body: RestoreBody, stored: StoredRestore, manifest: SnapshotManifest): Promise<{ uuid: string; slug: string }> {
  const slug = stored.newRepositorySlug!;
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
