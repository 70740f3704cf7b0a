// The app against the platform's documented failures, in the local world: a
// KVS write conflict (HTTP 409) on a repository's lease, Forge's proxy failing a
// request (ProxyRequestError), and a queue push recorded only in part
// (PartialSuccessError). Each is waited out or retried, never a failed job.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { BackupRequested, JobView, Result } from '../src/contract.js';
import { kvsKeys } from '../src/app/state/state-keys.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { currentInvocation } from '../sandbox/forge/runtime.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';

describe('the app meets the platform\'s documented failures', () => {
  let app: AppWorld;

  before(async () => {
    // A job waiting to retry waits until the test settles the host: its state holds still to be seen.
    app = await startAppWorld({ clock: new ManualClock() });
    await app.configure();
  });
  after(() => app?.close());

  /** The job record as stored (read beside the pages, whose own Bitbucket calls would meet the faults set here). */
  const job = (jobId: string): JobView => {
    const view = app.world.host.kvsDump()[kvsKeys.job(jobId)] as JobView | undefined;
    assert.ok(view, `job ${jobId} is recorded`);
    return view;
  };
  /** Polls until `done` holds for the job, recording every state seen. */
  const follow = async (jobId: string, done: (view: JobView) => boolean, seen: JobView[] = []): Promise<JobView[]> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const view = job(jobId);
      if (seen.at(-1)?.updatedAt !== view.updatedAt) seen.push(view);
      if (done(view) || Date.now() > deadline) return seen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const finished = (view: JobView): boolean => view.state === 'done' || view.state === 'failed';
  /** Writes a KVS value as the store's own client would, inside an invocation. */
  const kvsSet = (key: string, value: unknown): Promise<void> => app.world.host.runInInvocation(async () => {
    const answer = currentInvocation()?.services.kvsRequest('/api/v1/set', { key, value });
    assert.ok(answer?.ok, `set ${key}`);
  });

  it('a backup that meets the repository\'s lease held (a KVS conflict, HTTP 409) waits for it, then runs', async () => {
    const { emulator } = app.world;
    emulator.faults.fetchLatencyMs = 1500; // the first backup holds the lease for a while
    const first = (await app.repoPage('backupNow', {}, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<BackupRequested>;
    assert.ok(first.ok, JSON.stringify(first));
    const queuedMark = kvsKeys.backupQueued(app.repositoryUuid('web-app'));
    // Running, and past the point where it gave up its place in the queue: the next request queues a job of its own.
    await follow(first.value.job.id, (view) => view.state === 'running' && !(queuedMark in app.world.host.kvsDump()));
    const second = (await app.repoPage('backupNow', {}, { as: 'repoAdmin', repositorySlug: 'web-app' })) as Result<BackupRequested>;
    assert.ok(second.ok && !second.value.alreadyQueued, JSON.stringify(second));

    const seen = await follow(second.value.job.id, (view) => view.state === 'waiting-to-retry' || finished(view));
    emulator.faults.fetchLatencyMs = 0;
    await app.world.host.idle();
    await follow(second.value.job.id, finished, seen);
    const waiting = seen.find((view) => view.state === 'waiting-to-retry');
    assert.equal(waiting?.error?.code, 'REPOSITORY_BUSY', JSON.stringify(seen.map((view) => [view.state, view.error?.code])));
    assert.equal(seen.at(-1)?.state, 'done', JSON.stringify(seen.at(-1)));
    assert.equal((await follow(first.value.job.id, finished)).at(-1)?.state, 'done');
  });

  it('contenders for a dead lease: exactly one takes it over', async () => {
    const { acquireLease } = await import('../src/app/jobs/lease.js');
    for (let round = 0; round < 5; round += 1) {
      const repositoryUuid = `{${randomUUID()}}`;
      await kvsSet(kvsKeys.lease(repositoryUuid), { holder: 'a backup that died', what: 'backup', until: new Date(Date.now() - 1000).toISOString(), id: randomUUID() });
      const taken = await Promise.all(['backup', 'prune', 'restore'].map((what) => app.world.host.runInInvocation(() => acquireLease(repositoryUuid, `${what} ${round}`, what))));
      assert.equal(taken.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(taken)}`);
    }
  });

  it('Forge\'s proxy failing a Bitbucket request (ProxyRequestError) is retried, and the backup completes', async () => {
    await app.world.host.idle();
    const start = app.world.host.invocations.length;
    app.world.host.faults.proxyErrors = 1;
    // Queued as "Back up now" queues it, without the page's own Bitbucket calls: the backup's first one meets the fault.
    const requested = await app.world.host.runInInvocation(async () => {
      const { requestBackup } = await import('../src/app/backup/backup-queue.js');
      return requestBackup({ workspaceUuid: DEMO_WORKSPACE.uuid, repositoryUuid: app.repositoryUuid('docs'), reason: 'manual' });
    }, 'resolver');
    const seen = await follow(requested.job.id, (view) => view.state === 'waiting-to-retry' || finished(view));
    await app.world.host.idle();
    await follow(requested.job.id, finished, seen);
    assert.equal(app.world.host.faults.proxyErrors, 0, 'the backup met the fault');
    assert.equal(seen.at(-1)?.state, 'done', JSON.stringify(seen.at(-1)));
    const attempts = app.world.host.invocations.slice(start).filter((record) => record.functionKey === 'run-backup');
    assert.equal(attempts[0]?.outcome, 'retry', JSON.stringify(attempts));
    assert.ok(seen.some((view) => view.state === 'waiting-to-retry' && view.error?.code === 'PLATFORM_BUSY'), JSON.stringify(seen.map((view) => [view.state, view.error?.code])));
  });

  it('a push Forge records only in part: the events it left out are pushed again, none twice', async () => {
    await app.world.host.idle();
    const start = app.world.host.invocations.length;
    app.world.host.faults.partialPushes = { pushes: 1, accepts: 2 };
    // Prunes of repositories the bucket does not hold: quick, and each takes a lease of its own.
    const bodies = Array.from({ length: 5 }, () => ({ workspaceUuid: DEMO_WORKSPACE.uuid, repositoryUuid: `{${randomUUID()}}` }));
    await app.world.host.runInInvocation(async () => {
      const { QUEUES, enqueue } = await import('../src/forge/queues.js');
      await enqueue(QUEUES.prune, bodies);
    });
    await app.world.host.idle();
    assert.deepEqual(app.world.host.faults.partialPushes, { pushes: 0, accepts: 2 }, 'the push met the fault');
    const prunes = app.world.host.invocations.slice(start).filter((record) => record.functionKey === 'run-prune');
    assert.deepEqual(prunes.map((record) => [record.detail, record.outcome]), bodies.map(() => ['lifeboat-prune attempt 1', 'ok']));
  });
});
