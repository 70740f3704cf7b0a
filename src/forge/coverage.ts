// Which repositories are backed up, and how each one stands: the admin page's
// coverage table and the "included" flag of the repository page.
import { bracedUuid } from '../bitbucket/uuid.js';
import type { CoverageRow, Paged } from '../contract.js';
import { apiPath, type Page } from '../bitbucket/client.js';
import type { RetentionPolicy } from '../engine/bucket/retention.js';
import { LifeboatError } from '../engine/errors.js';
import type { WorkspaceSettings } from '../settings.js';
import { type RepositoryJson, appBitbucket } from './bitbucket.js';
import { readSummary } from './snapshot-index.js';
import { readStatus } from './status.js';

/** A per-repository override wins; otherwise the workspace selection decides. (Settings hold UUIDs braced and lower-case.) */
export function isIncluded(settings: WorkspaceSettings | undefined, repositoryUuid: string): boolean {
  return inclusionOf(settings, repositoryUuid).included;
}

/** Whether backups run for the repository, and whether that is the repository's own choice or the workspace's selection. */
export function inclusionOf(settings: WorkspaceSettings | undefined, repositoryUuid: string): { included: boolean; by: 'repository' | 'workspace' } {
  if (!settings) return { included: false, by: 'workspace' };
  const id = bracedUuid(repositoryUuid);
  const override = settings.overrides[id];
  if (override?.enabled !== undefined) return { included: override.enabled, by: 'repository' };
  return { included: settings.repositories.mode === 'all' || settings.repositories.chosen.includes(id), by: 'workspace' };
}

/** The repository's own retention when it has one, else the workspace's. */
export function retentionFor(settings: WorkspaceSettings, repositoryUuid: string): RetentionPolicy {
  return settings.overrides[bracedUuid(repositoryUuid)]?.retention ?? settings.retention;
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
  const page = await appBitbucket().get<Page<RepositoryJson>>(path);
  // KVS only: the bucket is never read for a page.
  const items = await Promise.all((page.values ?? []).map(async (repository): Promise<CoverageRow> => {
    const [status, summary] = await Promise.all([readStatus(repository.uuid), readSummary(repository.uuid)]);
    const latest = summary?.latest;
    return {
      repositoryUuid: bracedUuid(repository.uuid),
      slug: repository.slug ?? bracedUuid(repository.uuid),
      name: repository.name ?? repository.slug ?? bracedUuid(repository.uuid),
      included: isIncluded(settings, repository.uuid),
      state: status.state === 'idle' && !latest ? 'never' : status.state,
      ...(latest ? { lastBackupAt: latest.createdAt, lastSnapshotId: latest.id, bytes: latest.bytes } : {}),
      ...(status.lastError ? { lastError: status.lastError.message } : {}),
    };
  }));
  return { items, ...(page.next && items.length > 0 ? { nextCursor: page.next } : {}) };
}
