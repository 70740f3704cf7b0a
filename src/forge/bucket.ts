// The customer's bucket, opened from the stored settings and secret.
import { bareUuid } from '../bitbucket/uuid.js';
import type { BlobStore } from '../engine/bucket/blob-store.js';
import { readSealedManifest } from '../engine/bucket/catalog.js';
import type { SnapshotManifest } from '../engine/bucket/format.js';
import type { Seal, Trust } from '../engine/bucket/signing.js';
import type { RepoPath } from '../engine/bucket/bucket-keys.js';
import { createS3Store, partSizeFor } from '../engine/bucket/s3-store.js';
import type { WorkspaceSettings } from '../settings.js';
import type { Configuration } from '../app/settings/settings-store.js';

/**
 * Each function's memory in MB, as manifest.yml gives it (`runtime.memoryMB`, else the app's; test/manifest.test.ts
 * checks they agree): a function is not told its memory at run time (not documented: assumed), so it is kept here too.
 */
export const FUNCTION_MEMORY_MB = {
  'repo-page-resolver': 256,
  'admin-page-resolver': 256,
  'on-repository-event': 256,
  'on-pull-request-event': 256,
  'on-schedule': 256,
  'run-backup': 1024,
  'run-restore': 1024,
  'run-sweep': 256,
  'run-prune': 256,
  'run-index': 256,
} as const;

/** Forge cuts any single outbound request of a long-running function at 180 s (limits-invocation). */
const OUTBOUND_REQUEST_SECONDS = 180;

/** The bucket, with upload parts sized to the memory of the function that opens it (the smallest, unless it says). */
export function openWorkspaceBucket(settings: WorkspaceSettings, secretAccessKey: string, memoryMB: number = Math.min(...Object.values(FUNCTION_MEMORY_MB))): BlobStore {
  const { bucket } = settings;
  return createS3Store({
    partSizeBytes: partSizeFor({ memoryBytes: memoryMB * 1024 * 1024, requestSeconds: OUTBOUND_REQUEST_SECONDS }),
    bucket: bucket.name,
    ...(bucket.prefix ? { prefix: bucket.prefix } : {}),
    ...(bucket.endpoint ? { endpoint: bucket.endpoint } : {}),
    region: bucket.region,
    forcePathStyle: bucket.addressing === 'path',
    credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey },
  });
}

/** Where a repository's snapshots live in the bucket: by UUID, so renames do not split its history. */
export function repoPath(workspaceUuid: string, repositoryUuid: string): RepoPath {
  return { workspace: bareUuid(workspaceUuid), repository: bareUuid(repositoryUuid) };
}

/**
 * The bucket, and one snapshot of a repository read from it by id (SNAPSHOT_NOT_FOUND when it has none such), with
 * its seal by the keys `trust` names (the app's, appTrust('flag')): one it did not sign is read and shown "not signed";
 * one whose signature by its key does not hold is refused (SNAPSHOT_SIGNATURE_INVALID), so it is never shown, planned or restored.
 */
export async function openSnapshot(configuration: Configuration, where: { workspaceUuid: string; repositoryUuid: string }, snapshotId: string, trust: Trust): Promise<{ store: BlobStore; manifest: SnapshotManifest; seal: Seal }> {
  const store = openWorkspaceBucket(configuration.settings, configuration.secrets.bucketSecretAccessKey);
  return { store, ...(await readSealedManifest(store, { repo: repoPath(where.workspaceUuid, where.repositoryUuid), id: snapshotId }, trust)) };
}
