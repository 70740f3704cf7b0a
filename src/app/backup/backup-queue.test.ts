import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../../contract.js';
import { COALESCE_DELAY_SECONDS, clearQueuedMark, queueBackup, requestBackup } from './backup-queue.js';
import { kvsKeys } from '../state/state-keys.js';
import { QUEUES } from '../../forge/queues.js';
import { type StoredStatus, readStatus } from '../jobs/status.js';
import { withAppContext } from '../../forge/state/context.js';
import { memoryState } from '../state/memory-state.js';
import { memoryApp } from '../state/testing.js';

const WORKSPACE = '{0d6c3b1e-4a5f-4c2d-9e8f-7a6b5c4d3e21}';
const REPO = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';

describe('the backup queue: one waiting backup per repository', () => {
  it('pushes in a burst coalesce into the backup already waiting; once it runs, the next push queues another', async () => {
    const app = memoryApp();
    await app.run(async () => {
      assert.equal(await queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' }), true);
      assert.equal(await queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' }), false);
      assert.deepEqual(app.pushed.map((event) => [event.queue, event.delayInSeconds]), [[QUEUES.backup, COALESCE_DELAY_SECONDS]]);
      assert.equal((await readStatus(REPO)).state, 'queued');
      await clearQueuedMark(REPO); // the backup starts running
      assert.equal(await queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' }), true);
      assert.equal(app.pushed.length, 2);
    });
  });

  it('a waiting mark older than 20 minutes, by the app\'s clock, belongs to a lost backup: the next push queues anew', async () => {
    // KVS expires lazily: this store keeps the mark on the wall clock while the app's clock moves on.
    const state = memoryState();
    const pushed: string[] = [];
    let offset = 0;
    await withAppContext({ state, push: async (queue) => void pushed.push(queue), now: () => Date.now() + offset }, async () => {
      assert.equal(await queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' }), true);
      offset = 19 * 60_000;
      assert.equal(await queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' }), false);
      offset = 20 * 60_000 + 1_000;
      assert.ok(await state.get(kvsKeys.backupQueued(REPO)), 'the store still holds the mark');
      assert.equal(await queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' }), true);
      assert.deepEqual(pushed, [QUEUES.backup, QUEUES.backup]);
    });
  });

  it('racing pushes queue one backup', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const queued = await Promise.all(Array.from({ length: 5 }, () => queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' })));
      assert.equal(queued.filter(Boolean).length, 1);
      assert.equal(app.pushed.length, 1);
    });
  });

  it('"Back up now" twice gives the same job; it queues at once beside a push\'s backup, and is the one followed', async () => {
    const app = memoryApp();
    await app.run(async () => {
      await queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' });
      const first = await requestBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'manual', accountId: 'someone' });
      assert.equal(first.alreadyQueued, false);
      assert.equal(first.job.state, 'queued');
      const second = await requestBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'manual' });
      assert.deepEqual([second.alreadyQueued, second.job.id], [true, first.job.id]);
      assert.deepEqual(app.pushed.map((event) => [event.body.reason, event.body.jobId, event.delayInSeconds]), [['push', undefined, COALESCE_DELAY_SECONDS], ['manual', first.job.id, 0]]);
      // The running push backup leaves the mark of the requested one, still waiting, in place.
      await clearQueuedMark(REPO);
      assert.equal((await requestBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'manual' })).job.id, first.job.id);
      const audit = Object.entries(app.state.dump()).filter(([key]) => key.startsWith(kvsKeys.auditPrefix)).map(([, entry]) => entry as AuditEntry);
      assert.equal(audit.filter((entry) => entry.jobId === first.job.id).length, 1, JSON.stringify(audit));
      assert.equal(audit.filter((entry) => entry.note?.code === 'joined-job' && entry.note.jobId === first.job.id).length, 2, JSON.stringify(audit));
    });
  });

  it('the status shows a waiting backup as queued, derived from the queue: a trigger writes no status, a running backup stays running', async () => {
    const app = memoryApp();
    await app.run(async () => {
      // As the job kernel stores them for the delivery holding the repository's lease (jobs.ts).
      const running: StoredStatus = { repositoryUuid: REPO, state: 'running', progress: { phase: 'uploading', updatedAt: '2026-12-07T12:00:00.000Z' } };
      await app.state.set(kvsKeys.repoStatus(REPO), running);
      assert.equal(await queueBackup({ workspaceUuid: WORKSPACE, repositoryUuid: REPO, reason: 'push' }), true);
      assert.deepEqual(await app.state.get(kvsKeys.repoStatus(REPO)), running, 'the trigger wrote nothing');
      assert.deepEqual(await readStatus(REPO), running);
      await app.state.set(kvsKeys.repoStatus(REPO), { repositoryUuid: REPO, state: 'idle' });
      assert.equal((await readStatus(REPO)).state, 'queued');
      assert.equal((await app.state.get<{ state: string }>(kvsKeys.repoStatus(REPO)))?.state, 'idle', 'queued is never stored');
      await clearQueuedMark(REPO);
      assert.equal((await readStatus(REPO)).state, 'idle');
    });
  });
});
