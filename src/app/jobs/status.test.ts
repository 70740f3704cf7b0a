import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { runBackup } from '../backup/backups.js';
import { defineConsumer, startJob } from '../../forge/jobs.js';
import { acquireLease } from './lease.js';
import { QUEUES } from '../../forge/queues.js';
import { handleRepositoryEvent } from '../../forge/repository-events.js';
import { kvsKeys } from '../state/state-keys.js';
import type { AppState } from '../state/app-state.js';
import { withAppContext } from '../../forge/state/context.js';
import { memoryState } from '../state/memory-state.js';
import { memoryApp } from '../state/testing.js';
import { type StoredStatus, readStatus } from './status.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { indexSnapshot, listDeletedRepositories } from '../catalogue/snapshot-index.js';

const WORKSPACE = '{0d6c3b1e-4a5f-4c2d-9e8f-7a6b5c4d3e21}';
const REPO = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';
const SNAPSHOT = '20261207T100000Z-aaaaaa';
/** A backup running under the repository's lease, its status as the kernel stored it for that delivery. */
const RUNNING: StoredStatus = { repositoryUuid: REPO, state: 'running', jobId: '3f0c5a52-5b7e-4c1e-9d5a-1c2b3a4d5e6f', progress: { phase: 'uploading', bytes: 2048, updatedAt: '2026-12-07T12:00:00.000Z' } };
const retried = (returned: unknown): boolean => (returned as { _retry?: boolean } | undefined)?._retry === true;

describe('the repository status: written by the job kernel, for the delivery holding the lease only', () => {
  it('a backup that finds the repository busy leaves the running backup\'s status alone', async () => {
    const app = memoryApp();
    await app.run(async () => {
      assert.equal(await acquireLease(REPO, 'backup running', 'backup'), true);
      await app.state.set(kvsKeys.repoStatus(REPO), RUNNING);
      assert.ok(retried(await runBackup({ body: { workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' }, retryContext: { retryCount: 0 } })), 'waits for the lease');
      assert.deepEqual(await app.state.get(kvsKeys.repoStatus(REPO)), RUNNING);
      assert.deepEqual(await readStatus(REPO), RUNNING);
    });
  });

  it('a backup that fails records its failure in the status before it lets the lease go', async () => {
    const state = memoryState();
    const leased: boolean[] = [];
    // Notes, for each status write, whether the repository's lease was held at that moment.
    const watched: AppState = {
      ...state,
      async set(key, value, options) {
        if (key === kvsKeys.repoStatus(REPO)) leased.push((await state.get(kvsKeys.lease(REPO))) !== undefined);
        await state.set(key, value, options);
      },
    };
    await withAppContext({ state: watched, push: async () => undefined }, async () => {
      // Lifeboat is not set up: a failure no retry mends.
      assert.equal(await runBackup({ body: { workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' } }), undefined);
      const status = await readStatus(REPO);
      assert.deepEqual([status.state, status.lastError?.code], ['failed', 'NOT_CONFIGURED']);
      assert.deepEqual(leased, [true]);
      assert.equal(await state.get(kvsKeys.lease(REPO)), undefined, 'the lease is released');
    });
  });

  it('the status follows the work\'s writes in the order it made them: progress taken before "idle" never lands after it', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const body = z.object({ repositoryUuid: z.string(), jobId: z.string().optional() });
      const job = await startJob<'backup', z.infer<typeof body>>({ kind: 'backup', repositoryUuid: REPO, queue: QUEUES.backup, body: (jobId) => ({ repositoryUuid: REPO, jobId }), audit: { action: 'backup requested' } });
      const handler = defineConsumer({
        kind: 'backup', queue: QUEUES.backup, body, leases: (event) => event.repositoryUuid, keepsStatus: true, audit: () => ({ action: 'backup' }),
        async run(_event, context) {
          context.progress('uploading', { bytes: 1 });
          await context.status({ state: 'idle', progress: undefined });
          return { state: 'done', note: { code: 'everything-kept' } };
        },
      });
      assert.equal(await handler({ body: { repositoryUuid: REPO, jobId: job.id } }), undefined);
      assert.deepEqual(await app.state.get(kvsKeys.repoStatus(REPO)), { repositoryUuid: REPO, state: 'idle' });
    });
  });

  it('work that leases no repository has no status to write', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const handler = defineConsumer({
        kind: 'sweep', queue: QUEUES.sweep, body: z.object({}), audit: () => ({ action: 'sweep' }),
        async run(_event, context) {
          await context.status({ state: 'idle' });
          return { state: 'done', note: { code: 'everything-kept' } };
        },
      });
      assert.equal(await handler({ body: {} }), undefined);
      const failed = Object.entries(app.state.dump()).filter(([key]) => key.startsWith(kvsKeys.auditPrefix)).map(([, entry]) => (entry as { outcome?: string; error?: { code: string } }));
      assert.deepEqual(failed.map((entry) => [entry.outcome, entry.error?.code]), [['failed', 'INTERNAL']]);
      assert.deepEqual(Object.keys(app.state.dump()).filter((key) => key.includes(':status')), []);
    });
  });

  it('a repository deleted in Bitbucket is marked apart: the status of a backup still running is its own', async () => {
    const app = memoryApp();
    await app.run(async () => {
      await indexSnapshot(REPO, {
        id: SNAPSHOT, createdAt: '2026-12-07T10:00:00Z', trigger: 'push', refs: [], bundles: [], encryption: null, repository: { uuid: REPO, slug: 'web-app', name: 'Web app' },
      } as unknown as SnapshotManifest, undefined);
      await app.state.set(kvsKeys.repoStatus(REPO), RUNNING);
      await handleRepositoryEvent({ eventType: 'avi:bitbucket:deleted:repository', workspace: { uuid: WORKSPACE }, repository: { uuid: REPO } });
      assert.deepEqual((await listDeletedRepositories()).items.map((entry) => [entry.repositoryUuid, entry.lastSnapshotId]), [[REPO, SNAPSHOT]], 'listed for restore');
      assert.deepEqual(await app.state.get(kvsKeys.repoStatus(REPO)), RUNNING);
    });
  });
});
