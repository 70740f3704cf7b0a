import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bareUuid } from '../../bitbucket/uuid.js';
import type { SnapshotSummary } from '../../contract.js';
import { compareSnapshotIds, snapshotIdTime, snapshotKey } from '../../engine/bucket/bucket-keys.js';
import { FORMAT_VERSION, type SnapshotManifest } from '../../engine/bucket/format.js';
import { MemoryBlobStore } from '../../engine/bucket/memory-store.js';
import { UNCHECKED } from '../../engine/bucket/signing.js';
import { repoPath } from '../../forge/bucket.js';
import { QUEUES } from '../../forge/queues.js';
import { healIndex, rebuildRepositoryIndex } from './reindex.js';
import { listIndexedSnapshots, readSummary, summarize } from './snapshot-index.js';
import { kvsKeys, newestFirst } from '../state/state-keys.js';
import { memoryApp } from '../state/testing.js';

const WORKSPACE = '{0d6c3b1e-4a5f-4c2d-9e8f-7a6b5c4d3e21}';
const REPO = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';
const repo = repoPath(WORKSPACE, REPO);

/** The first index's keys: the id's second inverted, so two snapshots of one second listed by id ascending. */
const v1Key = (id: string): string => `repo:${bareUuid(REPO)}:snapshot:${newestFirst(snapshotIdTime(id))}:${id}`;

function manifest(id: string): SnapshotManifest {
  return {
    format: 'lifeboat-snapshot', version: FORMAT_VERSION, id, repository: { ...repo, slug: 'web-app', name: 'Web app' },
    source: 'https://bitbucket.org/demo/web-app.git', createdAt: snapshotIdTime(id).toISOString(), trigger: 'push',
    head: { symref: 'refs/heads/main' }, refs: [{ name: 'refs/heads/main', oid: id.slice(-6).padEnd(40, '0') }], bundles: [], encryption: null,
  };
}

describe('the snapshot index: keys of the first layout rebuilt to the current one', () => {
  it('the first sweep asks for a rebuild once; the rebuild replaces every older key and orders snapshots of one second by id', async () => {
    const app = memoryApp();
    const store = new MemoryBlobStore();
    // Two backups in the same second (they share the bucket lock, so either may commit first), one an hour before.
    const inBucket = ['20261207T100000Z-aaaaaa', '20261207T100000Z-bbbbbb', '20261207T090000Z-cccccc'];
    const forgotten = '20261207T080000Z-dddddd';
    for (const id of inBucket) await store.put(snapshotKey(repo, id), Buffer.from(JSON.stringify(manifest(id))));
    await app.run(async () => {
      // An installation indexed by the first layout.
      await app.state.set('index:built-at', '2026-11-01T00:00:00.000Z');
      for (const id of [...inBucket, forgotten]) await app.state.set(v1Key(id), summarize(manifest(id)));
      await app.state.set(kvsKeys.repoSummary(REPO), { repositoryUuid: REPO, latest: summarize(manifest('20261207T100000Z-aaaaaa')), indexedAt: '2026-12-07T10:00:01.000Z' });

      await healIndex(WORKSPACE); // what the sweep calls
      await healIndex(WORKSPACE); // a second sweep while the rebuild waits
      assert.deepEqual(app.pushed.map((event) => [event.queue, event.body]), [[QUEUES.index, { workspaceUuid: WORKSPACE }]]);

      await rebuildRepositoryIndex(store, repo, { trust: UNCHECKED });
      const newestFirstIds = [...inBucket].sort(compareSnapshotIds).reverse();
      const keys = Object.keys(app.state.dump()).filter((key) => key.startsWith(kvsKeys.snapshotEntryPrefix(REPO)));
      assert.deepEqual(keys, newestFirstIds.map((id) => kvsKeys.snapshotEntry(REPO, id)), 'only current keys, of what the bucket holds, newest first');
      assert.deepEqual((await listIndexedSnapshots(REPO)).items.map((item: SnapshotSummary) => item.id), ['20261207T100000Z-bbbbbb', '20261207T100000Z-aaaaaa', '20261207T090000Z-cccccc']);
      assert.equal((await readSummary(REPO))?.latest?.id, '20261207T100000Z-bbbbbb');
      assert.deepEqual((await listIndexedSnapshots(REPO)).items[2]?.changes, { added: 1, moved: 0, deleted: 0 }, 'each against the snapshot before it');

      // The rebuild done (runReindex records it in the current layout), later sweeps ask for nothing.
      await app.state.set(kvsKeys.indexBuiltAt, '2026-12-07T11:00:00.000Z');
      await app.state.delete(kvsKeys.reindexRequested());
      await healIndex(WORKSPACE);
      assert.equal(app.pushed.length, 1);
    });
  });
});
