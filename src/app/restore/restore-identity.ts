// The age identity a person gives for one restore of an encrypted snapshot. The
// app otherwise holds only public recipients, so the identity is kept for that
// job alone: a Forge secret under the job (never a KVS value, a job record, an
// audit entry, a log line or a resolver answer), deleted when the job ends,
// however it ends: jobs.ts calls forgetIdentity on every ending it sees, and the
// hourly trigger forgets those of jobs that ended without a word (Forge killed
// the delivery: the job counts as stalled, and onEnded never ran).
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { LifeboatError, isLifeboatError } from '../../engine/errors.js';
import { getJob } from '../jobs/job-records.js';
import { kvsKeys } from '../state/state-keys.js';
import { entriesByPrefix } from '../state/app-state.js';
import { appState } from '../../forge/state/context.js';

/** A backstop only: a job that ends deletes it at once; one Forge ended without a word cannot. */
const IDENTITY_TTL_HOURS = 24;

export function isEncrypted(manifest: SnapshotManifest): boolean {
  return manifest.encryption !== null || manifest.bundles.some((bundle) => bundle.encrypted);
}

/**
 * IDENTITY_REQUIRED for an encrypted snapshot where the app would need its identity:
 * it keeps only the public recipients. `instead` says what to do (a sentence's end).
 */
export function refuseEncrypted(manifest: SnapshotManifest, instead: string): void {
  if (isEncrypted(manifest)) throw new LifeboatError('IDENTITY_REQUIRED', `Snapshot ${manifest.id} is encrypted, and Lifeboat keeps only the public keys: ${instead}`);
}

export async function keepIdentity(jobId: string, identities: string[]): Promise<void> {
  const ttl = { value: IDENTITY_TTL_HOURS, unit: 'HOURS' } as const;
  await appState().set(kvsKeys.identityKept(jobId), { jobId }, { ttl });
  await appState().secrets.set(kvsKeys.restoreIdentity(jobId), identities, { ttl });
}

/** The identities given for this job; IDENTITY_REQUIRED when none are kept (never given, or expired). */
export async function readIdentity(jobId: string): Promise<string[]> {
  const identities = await appState().secrets.get<string[]>(kvsKeys.restoreIdentity(jobId));
  if (!identities || identities.length === 0) {
    throw new LifeboatError('IDENTITY_REQUIRED', 'The age identity given for this restore is no longer kept (it is kept for a day at most): start the restore again and give it.');
  }
  return identities;
}

/** Most jobs were never given one: deleting what is not there is no error (app-state.ts). */
export async function forgetIdentity(jobId: string): Promise<void> {
  await appState().secrets.delete(kvsKeys.restoreIdentity(jobId));
  await appState().delete(kvsKeys.identityKept(jobId));
}

/** Forgets the identities of jobs that ended (done, failed, stalled) or are forgotten; returns how many. */
export async function forgetEndedIdentities(): Promise<number> {
  const kept: string[] = [];
  // Collected before deleting: KVS does not promise a cursor survives a delete under it.
  for await (const { value } of entriesByPrefix<{ jobId: string }>(appState(), kvsKeys.identityKeptPrefix)) kept.push(value.jobId);
  let forgotten = 0;
  for (const jobId of kept) {
    // getJob reports a job silent for longer than a delivery may last as failed.
    const state = await getJob(jobId).then((job) => job.state, (error: unknown) => {
      if (isLifeboatError(error, 'JOB_NOT_FOUND')) return 'forgotten' as const;
      throw error;
    });
    if (state !== 'done' && state !== 'failed' && state !== 'forgotten') continue;
    await forgetIdentity(jobId);
    forgotten++;
  }
  return forgotten;
}
