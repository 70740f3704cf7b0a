import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoveragePage } from '../../contract.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { publishCatalogue, queryCoverage, writeCatalogueChunk } from './coverage.js';
import { forgetSnapshots, indexSnapshot, listDeletedRepositories, listIndexedSnapshots, markDeleted, newestSnapshotIds, readSummary } from './snapshot-index.js';
import { memoryApp } from '../state/testing.js';

const REPO = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';

/** A manifest with what the index reads of it. */
function manifest(id: string, createdAt: string): SnapshotManifest {
  return {
    id, createdAt, trigger: 'push', refs: [{ name: 'refs/heads/main', oid: id.padEnd(40, '0') }],
    bundles: [{ createdBy: id, size: 100 }], encryption: null, repository: { uuid: REPO, slug: 'web-app', name: 'Web app' },
  } as unknown as SnapshotManifest;
}

const IDS = Array.from({ length: 25 }, (_, i) => `20261207T${String(10 + Math.floor(i / 60)).padStart(2, '0')}${String(i % 60).padStart(2, '0')}00Z-abcdef`);
const at = (id: string): string => `${id.slice(0, 4)}-${id.slice(4, 6)}-${id.slice(6, 8)}T${id.slice(9, 11)}:${id.slice(11, 13)}:${id.slice(13, 15)}Z`;

describe('the snapshot index, in memory', () => {
  it('lists snapshots newest first across pages; the summary follows the newest, and prune forgetting it moves it back', async () => {
    const app = memoryApp();
    await app.run(async () => {
      let previous: SnapshotManifest | undefined;
      for (const id of IDS) {
        const current = manifest(id, at(id));
        await indexSnapshot(REPO, current, previous);
        previous = current;
      }
      const newestFirst = [...IDS].reverse();
      const first = await listIndexedSnapshots(REPO);
      assert.deepEqual(first.items.map((item) => item.id), newestFirst.slice(0, 20));
      assert.deepEqual((await listIndexedSnapshots(REPO, first.nextCursor)).items.map((item) => item.id), newestFirst.slice(20));
      assert.deepEqual(await newestSnapshotIds(REPO, 22), newestFirst.slice(0, 22));
      assert.equal((await readSummary(REPO))?.latest?.id, IDS.at(-1));
      await forgetSnapshots(REPO, [IDS.at(-1)!, IDS.at(-2)!]);
      assert.equal((await readSummary(REPO))?.latest?.id, IDS.at(-3));
      assert.equal((await listIndexedSnapshots(REPO)).items[0]?.id, IDS.at(-3));
      await markDeleted(REPO);
      assert.deepEqual((await listDeletedRepositories()).items.map((item) => [item.slug, item.lastSnapshotId]), [['web-app', IDS.at(-3)]]);
    });
  });

  it('the coverage catalogue: written by the sweep, searched and sorted, each row read afresh', async () => {
    const app = memoryApp();
    await app.run(async () => {
      await indexSnapshot(REPO, manifest(IDS[0]!, at(IDS[0]!)), undefined);
      assert.equal(await queryCoverage(undefined, {}), undefined, 'no catalogue before the first sweep');
      const other = '{11111111-2222-4333-8444-555555555555}';
      await writeCatalogueChunk('00000000-0000-4000-8000-000000000001', 0, [{ uuid: REPO, slug: 'web-app', name: 'Web app' }, { uuid: other, slug: 'api', name: 'API' }]);
      await publishCatalogue({ run: '00000000-0000-4000-8000-000000000001', chunks: 1, total: 2 });
      const page = await queryCoverage(undefined, { sort: 'lastBackup', descending: true }) as CoveragePage;
      assert.deepEqual(page.items.map((row) => [row.slug, row.state, row.lastSnapshotId]), [['web-app', 'idle', IDS[0]], ['api', 'never', undefined]]);
      assert.deepEqual((await queryCoverage(undefined, { search: 'API' }))?.items.map((row) => row.slug), ['api']);
    });
  });
});
