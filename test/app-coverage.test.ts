// The admin page's coverage of a large workspace: search, sort and paging done
// by the backend over the catalogue the sweep writes to KVS, and including or
// excluding many repositories at once. The emulator seeds 300 empty
// repositories beside the demo ones.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CoveragePage, CoverageQuery, CoverageRow, Result } from '../src/contract.js';
import { type AppWorld, startAppWorld } from './helpers/app-world.js';
import { ManualClock } from '../sandbox/forge/index.js';

const EXTRA = 300;
const DEMO = 3;

function valueOf<T>(result: Result<T>, what: string): T {
  if (!result.ok) assert.fail(`${what}: ${result.error.code} ${result.error.message}`);
  return result.value;
}

describe('coverage of a workspace with hundreds of repositories', () => {
  let app: AppWorld;
  const coverage = async (query: CoverageQuery): Promise<CoveragePage> => valueOf(await app.adminPage('getCoverage', query), 'getCoverage');
  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };
  const sweep = async (): Promise<void> => {
    const job = valueOf(await app.adminPage('sweepNow', {}), 'sweepNow');
    await settle();
    assert.equal(valueOf(await app.adminPage('getJob', { jobId: job.id }), 'getJob').state, 'done');
  };

  before(async () => {
    app = await startAppWorld({ clock: new ManualClock(), extraRepositories: EXTRA });
    // Nothing chosen, so the sweeps list the workspace without backing all of it up.
    await app.configure({ retention: {}, repositories: { mode: 'chosen', chosen: [], includeNew: false } });
    await settle();
  });

  after(async () => {
    await app?.close();
  });

  it('before the first sweep lists Bitbucket\'s pages; after it searches, sorts and pages every repository', async () => {
    const first = await coverage({});
    assert.equal(first.catalogue, undefined, 'no catalogue before a sweep');
    assert.ok(first.nextCursor, 'Bitbucket\'s own paging');

    await sweep();
    const byName = await coverage({});
    assert.ok(byName.catalogue);
    assert.equal(byName.catalogue.total, EXTRA + DEMO);
    assert.equal(byName.catalogue.pages, Math.ceil((EXTRA + DEMO) / 25));
    // Every page, once: each repository exactly once, in name order.
    const seen: CoverageRow[] = [];
    for (let page = 1; page <= byName.catalogue.pages; page++) seen.push(...(await coverage({ page })).items);
    assert.equal(new Set(seen.map((row) => row.repositoryUuid)).size, EXTRA + DEMO);
    const names = seen.map((row) => row.name);
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })));
    const reversed = await coverage({ descending: true });
    assert.equal(reversed.items[0]?.name, names.at(-1));

    const found = await coverage({ search: 'BULK-02' });
    assert.equal(found.catalogue?.matching, 100, 'bulk-0200 to bulk-0299, any case');
    assert.equal(found.catalogue?.pages, 4);
    assert.ok(found.items.every((row) => row.slug.startsWith('bulk-02')));
    const last = await coverage({ search: 'bulk-02', page: 4 });
    assert.equal(last.items.at(-1)?.slug, 'bulk-0299');
    assert.equal((await coverage({ search: 'no such repository' })).items.length, 0);
    // A page past the end answers the last one.
    assert.equal((await coverage({ search: 'bulk-02', page: 99 })).catalogue?.page, 4);
  });

  it('includes and excludes many at once, and sorts by status, last backup and size', async () => {
    const chosen = (await coverage({ search: 'bulk-01' })).items.slice(0, 3);
    const webApp = (await coverage({ search: 'web-app' })).items[0]!;
    const view = valueOf(await app.adminPage('setRepositoriesIncluded', { repositoryUuids: [...chosen, webApp].map((row) => row.repositoryUuid), included: true }), 'setRepositoriesIncluded');
    for (const row of [...chosen, webApp]) assert.deepEqual(view.settings?.overrides[row.repositoryUuid], { enabled: true });
    const audit = valueOf(await app.adminPage('getAuditLog', {}), 'getAuditLog').items.filter((entry) => entry.action === 'backups enabled for repository');
    assert.equal(audit.length, 4, 'one audit entry each');

    const { job } = valueOf(await app.repoPage('backupNow', undefined, { as: 'admin', repositorySlug: 'web-app' }), 'backupNow');
    await settle();
    assert.equal(valueOf(await app.adminPage('getJob', { jobId: job.id }), 'getJob').state, 'done');
    await sweep();

    const bySize = await coverage({ sort: 'size', descending: true });
    assert.equal(bySize.items[0]?.slug, 'web-app', 'the only repository with a backup is the largest');
    assert.ok((bySize.items[0]?.bytes ?? 0) > 0);
    assert.equal((await coverage({ sort: 'lastBackup', descending: true })).items[0]?.slug, 'web-app');
    // Problems first: the included repositories never backed up, then the protected one, then the rest.
    const byStatus = (await coverage({ sort: 'status' })).items;
    assert.deepEqual(byStatus.slice(0, 3).map((row) => row.slug).sort(), chosen.map((row) => row.slug).sort());
    assert.equal(byStatus[3]?.slug, 'web-app');
    assert.ok(byStatus.slice(4).every((row) => !row.included));

    valueOf(await app.adminPage('setRepositoriesIncluded', { repositoryUuids: chosen.map((row) => row.repositoryUuid), included: false }), 'setRepositoriesIncluded');
    const after = (await coverage({ search: 'bulk-01' })).items.slice(0, 3);
    assert.ok(after.every((row) => !row.included), 'excluded again, and shown so at once');
    const refused = await app.adminPage('setRepositoriesIncluded', { repositoryUuids: [], included: true });
    assert.equal(!refused.ok && refused.error.code, 'INVALID_ARGUMENT');
  });

  it('refuses an override for a repository the workspace does not have, saving nothing', async () => {
    const webApp = (await coverage({ search: 'web-app' })).items[0]!;
    const madeUp = '{0badc0de-0000-4000-8000-000000000001}';
    const before = valueOf(await app.adminPage('getSettings', undefined), 'getSettings');
    assert.ok(before.settings);
    const audited = valueOf(await app.adminPage('getAuditLog', {}), 'getAuditLog').items.length;
    // Neither in the sweep's catalogue nor at Bitbucket (asked: a repository may be newer than the sweep).
    const refused = await app.adminPage('setRepositoriesIncluded', { repositoryUuids: [webApp.repositoryUuid, madeUp], included: false });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'INVALID_ARGUMENT');
    assert.deepEqual(refused.error.problems, [{ path: ['repositoryUuids', 1], kind: 'invalid', message: 'is not a repository of this workspace' }]);
    const saved = await app.adminPage('saveSettings', { settings: { ...before.settings, overrides: { ...before.settings.overrides, [madeUp]: { enabled: true } } } });
    assert.ok(!saved.ok);
    assert.deepEqual(saved.error.problems, [{ path: ['overrides', madeUp], kind: 'invalid', message: 'is not a repository of this workspace' }]);
    const after = valueOf(await app.adminPage('getSettings', undefined), 'getSettings');
    assert.deepEqual(after.settings, before.settings, 'nothing saved');
    assert.equal(valueOf(await app.adminPage('getAuditLog', {}), 'getAuditLog').items.length, audited, 'nothing audited');
  });
});
