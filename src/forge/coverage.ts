// Which repositories are backed up, and how each one stands: the admin page's
// coverage table and the "included" flag of the repository page.
import type { CoverageRow, Paged } from '../contract.js';
import { apiPath, type Page } from '../bitbucket/client.js';
import { readManifests } from '../engine/bucket/catalog.js';
import { LifeboatError } from '../engine/errors.js';
import type { WorkspaceSettings } from '../settings.js';
import { appBitbucket } from './bitbucket.js';
import { openBucket, repoPath } from './bucket.js';
import { bareUuid, bracedUuid } from './keys.js';
import { loadSecrets } from './settings-store.js';
import { readStatus } from './status.js';

/** A per-repository override wins; otherwise the workspace selection decides. Settings may spell UUIDs with or without braces. */
export function isIncluded(settings: WorkspaceSettings | undefined, repositoryUuid: string): boolean {
  if (!settings) return false;
  const id = bareUuid(repositoryUuid);
  const override = Object.entries(settings.overrides).find(([key]) => bareUuid(key) === id)?.[1];
  if (override?.enabled !== undefined) return override.enabled;
  return settings.repositories.mode === 'all' || settings.repositories.chosen.some((chosen) => bareUuid(chosen) === id);
}

interface RepositoryRow {
  uuid: string;
  slug: string;
  name: string;
}

const PAGE_LENGTH = 20;

/**
 * One page of the workspace's repositories with their backup state. The cursor
 * is Bitbucket's own `next` link (never a page URL built here), checked to be
 * the same listing, since it comes back from the page.
 */
export async function coveragePage(workspaceUuid: string, settings: WorkspaceSettings | undefined, cursor?: string): Promise<Paged<CoverageRow>> {
  const listing = apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}`;
  let path = `${listing}?pagelen=${PAGE_LENGTH}&sort=slug&fields=next,values.uuid,values.slug,values.name`;
  if (cursor !== undefined) {
    const next = URL.canParse(cursor, 'https://api.bitbucket.org') ? new URL(cursor, 'https://api.bitbucket.org') : undefined;
    if (next?.pathname !== new URL(listing, 'https://api.bitbucket.org').pathname) throw new LifeboatError('INVALID_ARGUMENT', 'That cursor does not belong to this list; reload the page.');
    path = next.pathname + next.search;
  }
  const page = await appBitbucket().get<Page<RepositoryRow>>(path);
  const secrets = settings ? await loadSecrets() : {};
  const store = settings && secrets.bucketSecretAccessKey ? openBucket(settings, secrets.bucketSecretAccessKey) : undefined;
  const items = await Promise.all((page.values ?? []).map(async (repository): Promise<CoverageRow> => {
    const status = await readStatus(repository.uuid);
    const row: CoverageRow = {
      repositoryUuid: bracedUuid(repository.uuid),
      slug: repository.slug,
      name: repository.name,
      included: isIncluded(settings, repository.uuid),
      state: status.state === 'idle' && !status.lastBackup ? 'never' : status.state,
    };
    if (status.lastBackup) {
      row.lastBackupAt = status.lastBackup.at;
      row.lastSnapshotId = status.lastBackup.snapshotId;
      // Size is what a restore of the newest snapshot reads: every bundle it names.
      if (store) {
        // Pruned since, or unreadable: the row still stands without a size.
        const [manifest] = (await readManifests(store, [{ repo: repoPath(workspaceUuid, repository.uuid), id: status.lastBackup.snapshotId }])).manifests;
        if (manifest) row.bytes = manifest.bundles.reduce((sum, bundle) => sum + bundle.size, 0);
      }
    }
    if (status.lastError) row.lastError = status.lastError.message;
    return row;
  }));
  return { items, ...(page.next && items.length > 0 ? { nextCursor: page.next } : {}) };
}
