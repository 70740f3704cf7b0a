import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvocationErrorCode } from '@forge/events';
import { z } from 'zod';
import type { AuditEntry } from '../contract.js';
import { LifeboatError } from '../engine/errors.js';
import { getJob } from '../app/jobs/job-records.js';
import { type Consumer, MAX_RETRIES, defineConsumer, retryPlan, startJob } from './jobs.js';
import { kvsKeys } from '../app/state/state-keys.js';
import { acquireLease } from '../app/jobs/lease.js';
import { readStatus } from '../app/jobs/status.js';
import { now } from './state/context.js';
import { QUEUES } from './queues.js';
import { type MemoryApp, memoryApp } from '../app/state/testing.js';

describe('retryPlan: the one retry policy of every consumer', () => {
  it('backs off exponentially from 30 s while Forge still retries, and gives up on the last delivery', () => {
    const busy = new LifeboatError('GIT_SERVER_BUSY', 'busy');
    assert.deepEqual([0, 1, 2].map((count) => retryPlan(busy, count)?.afterSeconds), [30, 60, 120]);
    assert.equal(retryPlan(busy, MAX_RETRIES), undefined, 'the last delivery records instead of asking for a retry that never comes');
  });

  it('takes the error\'s own hint (Retry-After), but never past the 900 s Forge accepts', () => {
    assert.equal(retryPlan(new LifeboatError('BITBUCKET_RATE_LIMITED', 'slow down', { details: { retryAfterSeconds: 42.5 } }), 0)?.afterSeconds, 43);
    assert.equal(retryPlan(new LifeboatError('BITBUCKET_RATE_LIMITED', 'slow down', { details: { retryAfterSeconds: 3600 } }), 0)?.afterSeconds, 900);
    assert.equal(retryPlan(new LifeboatError('GIT_TIMEOUT', 'stalled'), 2)?.afterSeconds, 120);
  });

  it('waits a minute for a busy repository or bucket lock, whatever the attempt', () => {
    assert.equal(retryPlan(new LifeboatError('REPOSITORY_BUSY', 'held'), 2)?.afterSeconds, 60);
    assert.equal(retryPlan(new LifeboatError('LOCKED', 'pruning'), 1)?.afterSeconds, 60);
  });

  it('names upstream and platform rate limits as Forge knows them', () => {
    assert.equal(retryPlan(new LifeboatError('BITBUCKET_RATE_LIMITED', 'slow'), 0)?.reason, InvocationErrorCode.FUNCTION_UPSTREAM_RATE_LIMITED);
    assert.equal(retryPlan(new LifeboatError('PLATFORM_BUSY', 'quota', { details: { rateLimited: true } }), 0)?.reason, InvocationErrorCode.FUNCTION_PLATFORM_RATE_LIMITED);
    assert.equal(retryPlan(new LifeboatError('PLATFORM_BUSY', '503', { details: { rateLimited: false } }), 0)?.reason, InvocationErrorCode.FUNCTION_RETRY_REQUEST);
  });

  it('never retries what a person must fix, or a bug', () => {
    for (const code of ['GIT_AUTH_REQUIRED', 'NOT_CONFIGURED', 'INVALID_ARGUMENT', 'INTERNAL'] as const) {
      assert.equal(retryPlan(new LifeboatError(code, 'no'), 0), undefined, code);
    }
  });
});

describe('the job kernel: one lifecycle for every consumer', () => {
  const REPO = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';
  const body = z.object({ repositoryUuid: z.string(), jobId: z.string().optional() });
  type Body = z.infer<typeof body>;
  /** The constructor returns its JSON form (@forge/events out/invocationError.js): what Forge reads. */
  const retryAfter = (returned: unknown): number | undefined => (returned as { _retry?: boolean; retryOptions?: { retryAfter?: number } } | undefined)?._retry ? (returned as { retryOptions: { retryAfter?: number } }).retryOptions.retryAfter : undefined;
  /** What the work's ending recorded (the request's own entry has no outcome). */
  const audit = (app: MemoryApp): AuditEntry[] => Object.entries(app.state.dump()).filter(([key]) => key.startsWith(kvsKeys.auditPrefix)).map(([, entry]) => entry as AuditEntry).filter((entry) => entry.outcome !== undefined);
  /** A job started as every starter starts one; its first event is taken off the recorded pushes. */
  const start = async (app: MemoryApp) => {
    const job = await startJob<'index', Body>({ kind: 'index', repositoryUuid: REPO, queue: QUEUES.prune, body: (jobId) => ({ repositoryUuid: REPO, jobId }), audit: { action: 'prune requested' } });
    assert.deepEqual(app.pushed.splice(0).map((event) => event.body), [{ repositoryUuid: REPO, jobId: job.id }]);
    return job;
  };
  const consumer = (run: Consumer<Body>['run'], extra: Partial<Consumer<Body>> = {}) => defineConsumer<Body>({
    // A job kind with a result; the kernel treats every kind alike.
    kind: 'index', queue: QUEUES.prune, body, leases: (event) => event.repositoryUuid, audit: (event) => ({ action: 'prune', repositoryUuid: event.repositoryUuid }), run, ...extra,
  });

  it('runs a job under the repository\'s lease: running, then done with its result, audited, the lease released', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const job = await start(app);
      const states: string[] = [];
      const handler = consumer(async (_event, context) => {
        states.push((await getJob(job.id)).state);
        assert.ok(await app.state.get(kvsKeys.lease(REPO)), 'the lease is held while it runs');
        assert.equal(context.job?.id, job.id);
        return { state: 'done', note: { code: 'indexed', repositories: 2 }, result: { repositories: 2 } };
      });
      assert.equal(await handler({ body: { repositoryUuid: REPO, jobId: job.id } }), undefined);
      assert.deepEqual(states, ['running']);
      const done = await getJob(job.id);
      assert.deepEqual([done.state, done.note, done.result], ['done', { code: 'indexed', repositories: 2 }, { repositories: 2 }]);
      assert.equal(await app.state.get(kvsKeys.lease(REPO)), undefined);
      assert.deepEqual(audit(app).map((entry) => [entry.action, entry.outcome, entry.note]), [['prune', 'ok', { code: 'indexed', repositories: 2 }]]);
      // A redelivery of the finished job does nothing.
      let ran = false;
      await consumer(async () => { ran = true; return { state: 'done', note: { code: 'indexed', repositories: 0 } }; })({ body: { repositoryUuid: REPO, jobId: job.id } });
      assert.equal(ran, false);
    });
  });

  it('waits for a busy repository: Forge retries after a minute, and past its retries the work is queued afresh', async () => {
    const app = memoryApp();
    await app.run(async () => {
      await acquireLease(REPO, 'backup elsewhere', 'backup');
      const job = await start(app);
      let ran = 0;
      const handler = consumer(async () => { ran++; return { state: 'done', note: { code: 'indexed', repositories: 0 } }; });
      const retry = await handler({ body: { repositoryUuid: REPO, jobId: job.id }, retryContext: { retryCount: 0 } });
      assert.equal(retryAfter(retry), 60);
      const waiting = await getJob(job.id);
      assert.deepEqual([waiting.state, waiting.error?.code], ['waiting-to-retry', 'REPOSITORY_BUSY']);
      assert.equal(await handler({ body: { repositoryUuid: REPO, jobId: job.id }, retryContext: { retryCount: MAX_RETRIES } }), undefined);
      assert.deepEqual(app.pushed.map((event) => [event.queue, event.body.jobId, event.delayInSeconds]), [[QUEUES.prune, job.id, 300]]);
      assert.equal(ran, 0);
    });
  });

  it('a transient failure asks Forge for a retry; a lasting one fails the job, tidies up and is audited', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const job = await start(app);
      const ended: string[] = [];
      const handler = consumer(async (_event, context) => {
        throw context.retryCount === 0 ? new LifeboatError('GIT_SERVER_BUSY', 'busy') : new LifeboatError('INVALID_ARGUMENT', 'no such thing');
      }, { onEnded: async (event) => { ended.push(event.jobId!); } });
      const retry = await handler({ body: { repositoryUuid: REPO, jobId: job.id }, retryContext: { retryCount: 0 } });
      assert.equal(retryAfter(retry), 30);
      assert.equal((await getJob(job.id)).state, 'waiting-to-retry');
      assert.deepEqual(ended, []);
      assert.equal(await handler({ body: { repositoryUuid: REPO, jobId: job.id }, retryContext: { retryCount: 1 } }), undefined);
      const failed = await getJob(job.id);
      assert.deepEqual([failed.state, failed.error?.code], ['failed', 'INVALID_ARGUMENT']);
      assert.deepEqual(ended, [job.id]);
      assert.deepEqual(audit(app).map((entry) => [entry.outcome, entry.error?.code]), [['failed', 'INVALID_ARGUMENT']]);
      assert.equal(await app.state.get(kvsKeys.lease(REPO)), undefined);
    });
  });

  it('startJob records, queues and audits; a prepare that finds the work already waiting drops the new job unqueued', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const job = await startJob<'index', Body>({ kind: 'index', requestedBy: 'someone', repositoryUuid: REPO, queue: QUEUES.prune, body: (jobId) => ({ repositoryUuid: REPO, jobId }), audit: { action: 'prune requested' } });
      assert.equal((await getJob(job.id)).state, 'queued');
      assert.deepEqual(app.pushed.map((event) => [event.queue, event.body.jobId, event.delayInSeconds]), [[QUEUES.prune, job.id, 0]]);
      const entries = Object.entries(app.state.dump()).filter(([key]) => key.startsWith(kvsKeys.auditPrefix)).map(([, entry]) => entry as AuditEntry);
      assert.deepEqual(entries.map((entry) => [entry.action, entry.actorAccountId, entry.repositoryUuid, entry.jobId]), [['prune requested', 'someone', REPO, job.id]]);
      let dropped = '';
      const joined = await startJob<'index', Body>({
        kind: 'index', queue: QUEUES.prune, body: (jobId) => ({ repositoryUuid: REPO, jobId }), audit: { action: 'prune requested' },
        prepare: async (mine) => { dropped = mine.id; return getJob(job.id); },
      });
      assert.equal(joined.id, job.id);
      assert.equal(app.pushed.length, 1);
      await assert.rejects(getJob(dropped), /no such job/);
    });
  });

  it('reads a record an earlier Lifeboat wrote, with words instead of a note, as a note of those words', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
      const at = new Date().toISOString();
      await app.state.set(kvsKeys.job(id), { id, kind: 'backup', state: 'done', message: 'Snapshot s1 stored (push): unencrypted.', createdAt: at, updatedAt: at });
      const job = await getJob(id);
      assert.deepEqual([job.note, 'message' in job], [{ code: 'as-written', words: 'Snapshot s1 stored (push): unencrypted.' }, false]);
    });
  });

  it('a continuing outcome: the kernel queues the next body after its delay, and the job keeps running with its totals', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const job = await start(app);
      const handler = consumer(async (event, context) => {
        const before = context.job?.kind === 'index' ? context.job.result?.repositories ?? 0 : 0;
        return before < 2
          ? { state: 'continuing', note: { code: 'index-continuing', repositories: before + 1 }, next: { body: event, afterSeconds: 10 }, result: { repositories: before + 1 } }
          : { state: 'done', note: { code: 'indexed', repositories: before + 1 }, result: { repositories: before + 1 } };
      });
      await handler({ body: { repositoryUuid: REPO, jobId: job.id } });
      const running = await getJob(job.id);
      assert.deepEqual([running.state, running.phase, running.note, running.result], ['running', 'continuing', { code: 'index-continuing', repositories: 1 }, { repositories: 1 }]);
      assert.deepEqual(app.pushed.map((event) => [event.queue, event.body.jobId, event.delayInSeconds]), [[QUEUES.prune, job.id, 10]]);
      await handler({ body: app.pushed[0]!.body });
      await handler({ body: app.pushed[1]!.body });
      const done = await getJob(job.id);
      assert.deepEqual([done.state, done.result, app.pushed.length], ['done', { repositories: 3 }, 2]);
    });
  });

  it('a retry\'s time, the status\'s progress and its error are stamped by the app\'s clock, as the job record is', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const job = await start(app);
      const handler = consumer(async (_event, context) => {
        context.progress('fetching');
        throw context.retryCount === 0 ? new LifeboatError('GIT_SERVER_BUSY', 'busy') : new LifeboatError('INVALID_ARGUMENT', 'no such thing');
      }, { keepsStatus: true });
      // A day on: the wall clock is a day behind what the app ages its records by.
      app.advance(86_400_000);
      const since = now();
      await handler({ body: { repositoryUuid: REPO, jobId: job.id }, retryContext: { retryCount: 0 } });
      const retried = now();
      const within = (at: string | undefined, from: number, to: number, what: string) => assert.ok(at !== undefined && Date.parse(at) >= from && Date.parse(at) <= to, `${what} ${at} is not within ${new Date(from).toISOString()}…${new Date(to).toISOString()}`);
      const waiting = await getJob(job.id);
      within(waiting.nextAttemptAt, since + 30_000, retried + 30_000, 'the next attempt');
      within(waiting.updatedAt, since, retried, 'the job record');
      within((await readStatus(REPO)).progress?.updatedAt, since, retried, 'the status\'s "waiting to retry"');
      await handler({ body: { repositoryUuid: REPO, jobId: job.id }, retryContext: { retryCount: 1 } });
      const status = await readStatus(REPO);
      within(status.lastError?.at, retried, now(), 'the status\'s error');
    });
  });

  it('a running job silent for longer than a delivery may last reads as stopped, aged by the app\'s clock', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const job = await start(app);
      await consumer(async (event) => ({ state: 'continuing', note: { code: 'backup-continuing', bundles: 1, refsRemaining: 1 }, next: { body: event, afterSeconds: 10 } }))({ body: { repositoryUuid: REPO, jobId: job.id } });
      app.advance(16 * 60_000 - 1_000);
      assert.equal((await getJob(job.id)).state, 'running');
      app.advance(2_000);
      const stopped = await getJob(job.id);
      assert.deepEqual([stopped.state, stopped.error?.code], ['failed', 'JOB_STOPPED']);
    });
  });

  it('underLease: work over many repositories takes each one\'s lease from the kernel, and passes a busy one by', async () => {
    const app = memoryApp();
    const other = '{11111111-2222-4333-8444-555555555555}';
    await app.run(async () => {
      await acquireLease(other, 'backup elsewhere', 'backup');
      const visited: string[] = [];
      const handler = defineConsumer<{ jobId?: string }>({
        kind: 'index', queue: QUEUES.index, body: z.object({ jobId: z.string().optional() }), audit: () => ({ action: 'index' }),
        async run(_event, context) {
          for (const repository of [REPO, other]) {
            const ran = await context.underLease(repository, async () => {
              assert.ok(await app.state.get(kvsKeys.lease(repository)));
              visited.push(repository);
            });
            if (!ran) visited.push(`busy ${repository}`);
          }
          return { state: 'done', note: { code: 'indexed', repositories: 0 } };
        },
      });
      await handler({ body: {}, eventId: 'event-1' });
      assert.deepEqual(visited, [REPO, `busy ${other}`]);
      assert.equal(await app.state.get(kvsKeys.lease(REPO)), undefined, 'released after the work');
    });
  });
});
