// The backup queue's consumer (manifest.yml `backup-consumer`): one engine run
// per delivery against the repository's current refs, under the repository's
// lease; a first backup too large for one delivery continues in the next job
// from the bundles already stored. The snapshot it commits goes into the KVS
// index the pages read.
import { bracedUuid } from '../../bitbucket/uuid.js';
import type { JobProgress } from '../../contract.js';
import { type BackupProgress, type BackupResult, backup } from '../../engine/backup.js';
import { createHash } from 'node:crypto';
import { type SnapshotManifest, type SnapshotTrigger, serializeDocument } from '../../engine/bucket/format.js';
import type { UnreadableManifest } from '../../engine/bucket/catalog.js';
import { recordSigningKey, recordStorageSetting } from '../../engine/bucket/marker.js';
import { storageSettingOf } from '../../settings.js';
import { type BackupBody, type BackupReason, backupBody, clearQueuedMark, queueBackup } from './backup-queue.js';
import { cloneUrl, getRepository, gitClientFor } from '../../forge/bitbucket.js';
import { FUNCTION_MEMORY_MB, openWorkspaceBucket, repoPath } from '../../forge/bucket.js';
import { isIncluded } from '../catalogue/coverage.js';
import { metadataCollectors } from './metadata-collectors.js';
import { type Outcome, type RunContext, defineConsumer } from '../../forge/jobs.js';
import { QUEUES, enqueue } from '../../forge/queues.js';
import { type Configuration, requireConfiguration } from '../settings/settings-store.js';
import { healIndex, rebuildRepositoryIndex } from '../catalogue/reindex.js';
import type { LegacySigner } from '../catalogue/legacy-signing.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import type { RepoPath } from '../../engine/bucket/bucket-keys.js';
import { recordAudit } from '../jobs/audit.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState } from '../../forge/state/context.js';
import { indexSnapshot, noteUnreadable, readSummary } from '../catalogue/snapshot-index.js';
import { estimate } from '../../progress-estimate.js';
import { appSigningKey, appTrust } from '../settings/signing-keys.js';

/** The engine stops after the bundle that ends past this, leaving room to commit and record within 900 s. */
const RUN_BUDGET_SECONDS = 780;
/**
 * A first backup is split into bundles of at most this many refs, so that no
 * single fetch has to carry a huge repository within one request's time limit.
 */
const MAX_REFS_PER_BUNDLE = 250;
/**
 * Forge cuts each outbound request of a long-running function at 180 s ("Single
 * outbound request timeout (async events)", Forge platform limits, limits-invocation):
 * a new chain is fetched in segments of history sized to fit it.
 */
const OUTBOUND_REQUEST_SECONDS = 180;
/** How long a continuation waits for the lease of the delivery that queued it to be released. */
const CONTINUE_AFTER_SECONDS = 10;
/** A busy repository's coalesced backup is queued afresh this much later once Forge's retries are spent. */
const BUSY_REQUEUE_SECONDS = 300;

const TRIGGERS = {
  push: 'push',
  schedule: 'schedule',
  manual: 'manual',
  'before-overwrite': 'restore-guard',
} as const satisfies Record<Exclude<BackupReason, 'continue'>, SnapshotTrigger>;

/**
 * These limits may be lowered with Forge variables (`forge variables set`) for a
 * workspace whose repositories are so large that a bundle of 250 refs does not
 * fit one request; the tests lower them to see a backup continue across jobs.
 */
function engineLimits(): { budgetSeconds: number; maxRefsPerBundle: number; requestSeconds: number } {
  const lowered = (name: string, floor: number, ceiling: number): number => {
    const value = Number(process.env[name] ?? Number.NaN);
    return Number.isSafeInteger(value) && value >= floor && value < ceiling ? value : ceiling;
  };
  // A budget of 0 still makes progress: one bundle per job.
  return {
    budgetSeconds: lowered('LIFEBOAT_RUN_BUDGET_SECONDS', 0, RUN_BUDGET_SECONDS),
    maxRefsPerBundle: lowered('LIFEBOAT_MAX_REFS_PER_BUNDLE', 1, MAX_REFS_PER_BUNDLE),
    requestSeconds: lowered('LIFEBOAT_OUTBOUND_REQUEST_SECONDS', 1, OUTBOUND_REQUEST_SECONDS),
  };
}

export const runBackup = defineConsumer<BackupBody>({
  kind: 'backup',
  queue: QUEUES.backup,
  body: backupBody,
  leases: (body) => body.repositoryUuid,
  keepsStatus: true,
  audit: (body) => ({ action: 'backup', repositoryUuid: bracedUuid(body.repositoryUuid) }),
  async run(body, context): Promise<Outcome<BackupBody>> {
    await clearQueuedMark(body.repositoryUuid, body.jobId);
    const configuration = await requireConfiguration();
    const automatic = body.reason === 'push' || body.reason === 'schedule';
    if (automatic && !isIncluded(configuration.settings, body.repositoryUuid)) {
      await context.status({ state: 'idle', progress: undefined });
      return { state: 'done', note: { code: 'backups-off' }, quiet: true };
    }
    const deadline = new Date(context.startedAt + engineLimits().budgetSeconds * 1000);
    const result = await backUpRepository(configuration, body, deadline, context);
    if (result.status === 'partial') {
      const progress: JobProgress = { bytes: result.bytesUploaded, done: result.stored, total: result.expected, steps: result.segmented ? 'segments' : 'bundles' };
      await context.status({ state: 'queued', progress: { phase: 'continuing', ...progress, updatedAt: new Date().toISOString() } });
      return {
        state: 'continuing',
        note: { code: 'backup-continuing', bundles: result.bundlesWritten, refsRemaining: result.refsRemaining },
        progress,
        next: { body: { ...body, reason: 'continue', trigger: triggerOf(body) }, afterSeconds: CONTINUE_AFTER_SECONDS },
      };
    }
    const { snapshot } = result;
    const created = result.status === 'created';
    return {
      state: 'done',
      note: created
        ? { code: 'snapshot-stored', snapshotId: snapshot.id, trigger: triggerOf(body), ...storedAs(snapshot) }
        : { code: 'snapshot-unchanged', snapshotId: snapshot.id, trigger: triggerOf(body) },
      result: { snapshotId: snapshot.id, status: result.status, bytesUploaded: result.bytesUploaded },
      quiet: !created,
    };
  },
  async requeue(body, delayInSeconds) {
    if (body.jobId) {
      await enqueue(QUEUES.backup, [body], delayInSeconds);
      return;
    }
    // The waiting mark is most likely this very backup's: left in place, it would
    // make the queue drop this backup and coalesce later pushes into nothing.
    await clearQueuedMark(body.repositoryUuid);
    await queueBackup(body, Math.max(delayInSeconds, BUSY_REQUEUE_SECONDS));
  },
});

/** How a snapshot is stored, as its manifest says: for the audit log, where a change of encryption shows. */
function storedAs(snapshot: SnapshotManifest): { recipients: number; newChain: boolean } {
  const newChain = snapshot.bundles.length > 0 && snapshot.bundles.every((bundle) => bundle.createdBy === snapshot.id);
  return { recipients: snapshot.encryption?.recipients.length ?? 0, newChain };
}

function triggerOf(body: BackupBody): SnapshotTrigger {
  return body.reason === 'continue' ? (body.trigger ?? 'schedule') : TRIGGERS[body.reason];
}

/**
 * One engine run against the repository's current refs; the repository's
 * status, and the index when a snapshot was committed, follow. Takes no lease:
 * the delivery whose context it is given holds it (the backup's, or the
 * restore's that backs up the state it is about to overwrite), which may follow its progress.
 */
export async function backUpRepository(configuration: Configuration, body: BackupBody, deadline: Date, context: Pick<RunContext, 'status'> & Partial<Pick<RunContext, 'progress'>>): Promise<BackupResult> {
  const { settings, secrets } = configuration;
  // run-restore runs this too, before an overwrite: test/manifest.test.ts checks it has as much memory.
  const store = openWorkspaceBucket(settings, secrets.bucketSecretAccessKey, FUNCTION_MEMORY_MB['run-backup']);
  // The settings decide how this backup writes; the marker records them for the command line.
  const setting = storageSettingOf(settings);
  await recordStorageSetting(store, setting);
  // The marker lists the key for readers without the app (the command line); the app itself trusts its own record.
  const signingKey = await appSigningKey();
  await recordSigningKey(store, signingKey);
  const repo = repoPath(body.workspaceUuid, body.repositoryUuid);
  await signRecordedOnce(store, repo, body.repositoryUuid, { key: signingKey, objectLock: setting.objectLock });
  // Refused, not flagged: a snapshot the app did not sign is never the base of its next one.
  const trust = await appTrust('refuse');
  const repository = await getRepository(body.workspaceUuid, body.repositoryUuid);
  const git = gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken);
  const workspaceSlug = repository.full_name?.split('/')[0];
  await context.status({
    state: 'running',
    ...(repository.slug ? { slug: repository.slug } : {}),
    ...(repository.name ? { name: repository.name } : {}),
    ...(body.jobId ? { jobId: body.jobId } : {}),
    progress: { phase: 'starting', updatedAt: new Date().toISOString() },
  });
  const collected = metadataCollectors({ configuration, workspaceUuid: body.workspaceUuid, repositoryUuid: body.repositoryUuid, repository, reason: body.reason });
  let result: BackupResult;
  const passedOver: UnreadableManifest[] = [];
  try {
    result = await backup({
      store,
      repo,
      git,
      trigger: triggerOf(body),
      ...setting,
      signingKey,
      trust,
      repository: {
        uuid: bracedUuid(body.repositoryUuid),
        ...(workspaceSlug ? { workspaceSlug } : {}),
        ...(repository.slug ? { slug: repository.slug } : {}),
        ...(repository.name ? { name: repository.name } : {}),
      },
      metadata: collected.collectors,
      maxRefsPerBundle: engineLimits().maxRefsPerBundle,
      segments: { requestSeconds: engineLimits().requestSeconds },
      deadline,
      owner: `lifeboat ${body.reason} backup (Forge)`,
      onProgress: progressReporter(context.progress, passedOver),
    });
  } catch (error) {
    // Whoever called records the failure (the consumer's status hooks); never leave the page saying "running".
    await context.status({ state: 'idle', progress: undefined, jobId: undefined }).catch(() => undefined);
    throw error;
  }
  // A collector that stopped short (the pull requests, at a deadline or a rate limit) asks for a backup to go on later.
  const retryAfter = collected.retryAfterSeconds();
  if (retryAfter !== undefined) await queueBackup({ workspaceUuid: body.workspaceUuid, repositoryUuid: body.repositoryUuid, reason: 'schedule' }, retryAfter);
  // The page lists what the backup passed by: unreadable, not signed by the app, or dated in the future.
  if (passedOver.length > 0) await noteUnreadable(body.repositoryUuid, passedOver);
  if (result.status === 'created') {
    // commitSnapshot wrote exactly serializeDocument(manifest): its digest is the bucket's bytes'.
    const manifestSha256 = createHash('sha256').update(serializeDocument(result.snapshot)).digest('hex');
    await indexSnapshot(body.repositoryUuid, result.snapshot, result.previous, result.metadata, { seal: { signed: true, key: signingKey.fingerprint }, manifestSha256 });
  }
  // The index missed a snapshot (its write failed after the commit, or it was written behind the app's back): heal it.
  if (result.status === 'unchanged' && (await readSummary(body.repositoryUuid))?.latest?.id !== result.snapshot.id) await healIndex(body.workspaceUuid, body.repositoryUuid);
  await context.status(result.status === 'partial'
    ? { state: 'queued', progress: undefined }
    : { state: 'idle', progress: undefined, lastError: undefined, jobId: undefined });
  return result;
}

/**
 * Before a repository's first signed backup (once): its snapshots from before signing that the app's index
 * recorded are signed by the index rebuild (legacy-signing.ts), so that this backup builds on them rather
 * than starting a new full chain beside snapshots it cannot trust. The audit log says how many.
 */
async function signRecordedOnce(store: BlobStore, repo: RepoPath, repositoryUuid: string, signer: LegacySigner): Promise<void> {
  if ((await appState().get(kvsKeys.legacySigned(repositoryUuid))) !== undefined) return;
  const signed = await rebuildRepositoryIndex(store, repo, { trust: await appTrust('flag'), signer });
  if (signed > 0) await recordAudit({ action: 'snapshots signed', repositoryUuid: bracedUuid(repositoryUuid), outcome: 'ok', note: { code: 'snapshots-signed', snapshots: signed } });
}

/** The engine's progress events as a phase and counts for the job and the repository status. */
function progressReporter(report: ((phase: string, progress?: JobProgress) => void) | undefined, passedOver: UnreadableManifest[]): (progress: BackupProgress) => void {
  const counts: JobProgress = {};
  let storedBytes = 0;
  const startedAt = Date.now();
  let storedNow = 0;
  return (progress) => {
    let phase: string;
    switch (progress.phase) {
      case 'refs': phase = 'reading refs'; counts.refs = progress.refs; break;
      case 'unchanged': phase = 'unchanged'; break;
      case 'fetch':
        phase = `fetching ${progress.segmented ? 'segment' : 'bundle'} ${progress.bundle} of ${progress.bundles} (${progress.kind})`;
        counts.total = progress.bundles; counts.done = progress.bundle - 1; counts.steps = progress.segmented ? 'segments' : 'bundles';
        break;
      case 'server': return; // git's own chatter: too frequent to store
      case 'skipped':
        // The snapshot list on the page names these (backUpRepository records them); the log says why this backup passed them by.
        passedOver.push(...progress.unreadable);
        console.warn(`lifeboat: backup built on the newest snapshot it trusts, past ${progress.unreadable.length} manifest(s) unreadable, not signed by the app or dated in the future`, progress.unreadable.map((skipped) => `${skipped.key} (${skipped.code})`).join(', '));
        return;
      case 'upload': phase = 'uploading'; counts.bytes = storedBytes + progress.bytes; break;
      case 'stored': phase = 'uploading'; storedBytes += progress.bytes; storedNow += 1; counts.bytes = storedBytes; counts.done = progress.bundle; break;
      case 'metadata': phase = 'reading metadata'; break;
      case 'commit': phase = 'committing'; break;
    }
    const stepsLeft = counts.total === undefined ? undefined : counts.total - (counts.done ?? 0);
    report?.(phase, { ...counts, ...estimate({ startedAt, now: Date.now(), bytes: counts.bytes ?? 0, steps: storedNow, ...(stepsLeft === undefined ? {} : { stepsLeft }) }) });
  };
}
