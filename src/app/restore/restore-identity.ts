// The age identity a person gives for one restore of an encrypted snapshot. The
// app otherwise holds only public recipients, so the identity is kept for that
// job alone: a Forge secret under the job (never a KVS value, a job record, an
// audit entry, a log line or a resolver answer), deleted when the job ends,
// however it ends (jobs.ts calls forgetIdentity on every ending).
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { LifeboatError } from '../../engine/errors.js';
import { kvsKeys } from '../state/state-keys.js';
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
  await appState().secrets.set(kvsKeys.restoreIdentity(jobId), identities, { ttl: { value: IDENTITY_TTL_HOURS, unit: 'HOURS' } });
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
}
