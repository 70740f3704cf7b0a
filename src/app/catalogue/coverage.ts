// Which repositories are backed up, and how each one stands: the admin page's
// coverage table and the "included" flag of the repository page.
import { bracedUuid } from '../../bitbucket/uuid.js';
import type { CoveragePage, CoverageQuery, CoverageRow } from '../../contract.js';
import type { RetentionPolicy } from '../../engine/bucket/retention.js';
import { inTurns } from '../../engine/concurrency.js';
import { type FieldProblem, LifeboatError } from '../../engine/errors.js';
import type { WorkspaceSettings } from '../../settings.js';
import { type RepositoryJson, existsInBitbucket, repositoriesPage } from '../../forge/bitbucket.js';
import { recordAudit } from '../jobs/audit.js';
import { kvsKeys } from '../state/state-keys.js';
import { requireSettings, storeSettings } from '../settings/settings-store.js';
import { readSummary } from './snapshot-index.js';
import { readStatus } from '../jobs/status.js';
import { appState } from '../../forge/state/context.js';

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

/**
 * The one way a repository's inclusion changes (the repository page's switch, the admin
 * page's row switch and its bulk action): each one's own override, written into the
 * settings as stored now, never into a copy a page holds; one audit entry each.
 */
export async function setIncluded(repositoryUuids: readonly string[], included: boolean, accountId: string): Promise<WorkspaceSettings> {
  const settings = await requireSettings();
  const overrides = { ...settings.overrides };
  const keys = repositoryUuids.map((uuid) => bracedUuid(uuid));
  for (const key of keys) overrides[key] = { ...overrides[key], enabled: included };
  const updated: WorkspaceSettings = { ...settings, overrides };
  await storeSettings(updated);
  await Promise.all(keys.map((key) => recordAudit({ actorAccountId: accountId, action: included ? 'backups enabled for repository' : 'backups disabled for repository', repositoryUuid: key, outcome: 'ok' })));
  return updated;
}

/**
 * Overrides name repositories of the workspace only: each one takes room in the settings value. The catalogue (the
 * last sweep's listing of the workspace) answers for most at no call; Bitbucket, which is authoritative, for the rest
 * (a repository created since the sweep, or no sweep yet): one GET each, a 404 refusing it. `at` is the field's path.
 */
export async function requireWorkspaceRepositories(workspaceUuid: string, repositoryUuids: ReadonlyArray<{ uuid: string; at: Array<string | number> }>): Promise<void> {
  if (repositoryUuids.length === 0) return;
  const listed = new Set((await readCatalogue())?.rows.map((row) => row.u));
  const unknown = await inTurns(repositoryUuids.filter(({ uuid }) => !listed.has(bracedUuid(uuid))), 4,
    async (entry) => ((await existsInBitbucket(workspaceUuid, entry.uuid)) ? undefined : entry));
  const problems = unknown.filter((entry) => entry !== undefined)
    .map(({ at }): FieldProblem => ({ path: at, kind: 'invalid', message: 'is not a repository of this workspace' }));
  if (problems.length === 0) return;
  throw new LifeboatError('INVALID_ARGUMENT', `Nothing was saved: ${problems.map((problem) => problem.path.join('.')).join(', ')} ${problems.length === 1 ? 'is not a repository' : 'are not repositories'} of this workspace.`, { details: { problems } });
}

/** The repository's own retention when it has one, else the workspace's. */
export function retentionFor(settings: WorkspaceSettings, repositoryUuid: string): RetentionPolicy {
  return settings.overrides[bracedUuid(repositoryUuid)]?.retention ?? settings.retention;
}

const PAGE_LENGTH = 20;

/**
 * One page of the workspace's repositories with their backup state. The cursor
 * is the path of Bitbucket's own `next` link (never a page URL built here).
 */
export async function coveragePage(workspaceUuid: string, settings: WorkspaceSettings | undefined, cursor?: string): Promise<CoveragePage> {
  const page = await repositoriesPage(workspaceUuid, cursor === undefined ? { pagelen: PAGE_LENGTH, sort: 'slug', fields: 'next,values.uuid,values.slug,values.name' } : { next: cursor });
  const items = await Promise.all(page.values.map((repository) => coverageRow(repository, settings)));
  return { items, ...(page.next ? { nextCursor: page.next } : {}) };
}

/** A repository's row as it stands now, from KVS only: the bucket is never read for a page. */
async function coverageRow(repository: Pick<RepositoryJson, 'uuid' | 'slug' | 'name'>, settings: WorkspaceSettings | undefined): Promise<CoverageRow> {
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
}

// ---------------------------------------------------------------- the catalogue
//
// Search, sort and page numbers over thousands of repositories, in a resolver's
// moment: the sweep, which lists every repository anyway, writes one KVS value
// per page of its listing (≤100 compact rows, a few KB) under its own run, then
// names that run as current. A query reads the current run's values (100 reads
// for 10,000 repositories, in parallel), filters and sorts them, and reads each
// row it answers afresh; so the order is as of the last sweep, each row as of now.

/** A repository as the sweep saw it: what search and sort need, compactly. */
interface CatalogueRow {
  u: string;
  s: string;
  n: string;
  /** Newest snapshot's time and size. */
  t?: string;
  b?: number;
  st: CoverageRow['state'];
}

interface CatalogueHead {
  run: string;
  chunks: number;
  total: number;
  builtAt: string;
}

/** Longer than a weekly sweep's interval: a run's values outlive the next run, then KVS forgets them. */
const CATALOGUE_TTL_DAYS = 30;
export const COVERAGE_PAGE_LENGTH = 25;

/** One page of the sweep's listing, with each repository's state now; `index` counts from 0 within the run. */
export async function writeCatalogueChunk(run: string, index: number, repositories: RepositoryJson[]): Promise<void> {
  const rows = await Promise.all(repositories.map(async (repository): Promise<CatalogueRow> => {
    const row = await coverageRow(repository, undefined);
    return { u: row.repositoryUuid, s: row.slug, n: row.name, st: row.state, ...(row.lastBackupAt ? { t: row.lastBackupAt } : {}), ...(row.bytes !== undefined ? { b: row.bytes } : {}) };
  }));
  await appState().set(kvsKeys.coverageChunk(run, index), rows, { ttl: { value: CATALOGUE_TTL_DAYS, unit: 'DAYS' } });
}

/** The run's values are all written: queries read them from now on. */
export async function publishCatalogue(head: Omit<CatalogueHead, 'builtAt'>): Promise<void> {
  await appState().set(kvsKeys.coverageCurrent, { ...head, builtAt: new Date().toISOString() } satisfies CatalogueHead);
}

async function readCatalogue(): Promise<{ head: CatalogueHead; rows: CatalogueRow[] } | undefined> {
  const head = await appState().get<CatalogueHead>(kvsKeys.coverageCurrent);
  if (!head) return undefined;
  const chunks = await Promise.all(Array.from({ length: head.chunks }, (_, index) => appState().get<CatalogueRow[]>(kvsKeys.coverageChunk(head.run, index))));
  // A value KVS forgot (a run older than its TTL): as good as no catalogue.
  if (chunks.some((chunk) => chunk === undefined)) return undefined;
  return { head, rows: chunks.flatMap((chunk) => chunk ?? []) };
}

/** Problems first: failing, backing up, queued, never backed up, protected, then not included. */
const STATE_RANK: Record<CoverageRow['state'] | 'excluded', number> = { failed: 0, running: 1, queued: 2, never: 3, idle: 4, excluded: 5 };

/** A page of the catalogue, searched and sorted; undefined before the first sweep has built one. */
export async function queryCoverage(settings: WorkspaceSettings | undefined, query: CoverageQuery): Promise<CoveragePage | undefined> {
  const catalogue = await readCatalogue();
  if (!catalogue) return undefined;
  const needle = query.search?.trim().toLowerCase() ?? '';
  const found = needle === '' ? catalogue.rows : catalogue.rows.filter((row) => row.s.toLowerCase().includes(needle) || row.n.toLowerCase().includes(needle));
  const sort = query.sort ?? 'name';
  const byName = (a: CatalogueRow, b: CatalogueRow): number => a.n.localeCompare(b.n, 'en', { sensitivity: 'base' }) || a.s.localeCompare(b.s);
  const key: Record<NonNullable<CoverageQuery['sort']>, (a: CatalogueRow, b: CatalogueRow) => number> = {
    name: byName,
    // Never backed up sorts as the oldest, and as the smallest.
    lastBackup: (a, b) => (a.t ?? '').localeCompare(b.t ?? ''),
    size: (a, b) => (a.b ?? -1) - (b.b ?? -1),
    status: (a, b) => rank(settings, a) - rank(settings, b),
  };
  const direction = query.descending ? -1 : 1;
  const sorted = [...found].sort((a, b) => direction * key[sort](a, b) || byName(a, b));
  const pages = Math.max(1, Math.ceil(sorted.length / COVERAGE_PAGE_LENGTH));
  const page = Math.min(Math.max(1, query.page ?? 1), pages);
  const shown = sorted.slice((page - 1) * COVERAGE_PAGE_LENGTH, page * COVERAGE_PAGE_LENGTH);
  const items = await Promise.all(shown.map((row) => coverageRow({ uuid: row.u, slug: row.s, name: row.n }, settings)));
  return { items, catalogue: { builtAt: catalogue.head.builtAt, total: catalogue.head.total, matching: sorted.length, page, pages } };
}

function rank(settings: WorkspaceSettings | undefined, row: CatalogueRow): number {
  return STATE_RANK[isIncluded(settings, row.u) ? row.st : 'excluded'];
}
