// The customer's bucket, opened from the stored settings and secret.
import { bareUuid } from '../bitbucket/uuid.js';
import type { BlobStore } from '../engine/bucket/blob-store.js';
import { readManifest } from '../engine/bucket/catalog.js';
import type { SnapshotManifest } from '../engine/bucket/format.js';
import type { RepoPath } from '../engine/bucket/bucket-keys.js';
import { createS3Store } from '../engine/bucket/s3-store.js';
import type { WorkspaceSettings } from '../settings.js';
import type { Configuration } from './settings-store.js';

export function openWorkspaceBucket(settings: WorkspaceSettings, secretAccessKey: string): BlobStore {
  const { bucket } = settings;
  return createS3Store({
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

/** The bucket, and one snapshot of a repository read from it by id (SNAPSHOT_NOT_FOUND when it has none such). */
export async function openSnapshot(configuration: Configuration, where: { workspaceUuid: string; repositoryUuid: string }, snapshotId: string): Promise<{ store: BlobStore; manifest: SnapshotManifest }> {
  const store = openWorkspaceBucket(configuration.settings, configuration.secrets.bucketSecretAccessKey);
  return { store, manifest: await readManifest(store, { repo: repoPath(where.workspaceUuid, where.repositoryUuid), id: snapshotId }) };
}
