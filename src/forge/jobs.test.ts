import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvocationErrorCode } from '@forge/events';
import { z } from 'zod';
import type { AuditEntry } from '../contract.js';
import { LifeboatError } from '../engine/errors.js';
import { type Consumer, MAX_RETRIES, createJob, defineConsumer, getJob, retryPlan } from './jobs.js';
import { kvsKeys } from './keys.js';
import { acquireLease } from './lease.js';
import { QUEUES } from './queues.js';
import { type MemoryApp, memoryApp } from './state/testing.js';

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
  const audit = (app: MemoryApp): AuditEntry[] => Object.entries(app.state.dump()).filter(([key]) => key.startsWith(kvsKeys.auditPrefix)).map(([, entry]) => entry as AuditEntry);
  const consumer = (run: Consumer<Body>['run'], extra: Partial<Consumer<Body>> = {}) => defineConsumer<Body>({
    kind: 'prune', queue: QUEUES.prune, body, leases: (event) => event.repositoryUuid, audit: (event) => ({ action: 'prune', repositoryUuid: event.repositoryUuid }), run, ...extra,
  });

  it('runs a job under the repository\'s lease: running, then done with its result, audited, the lease released', async () => {
    const app = memoryApp();
    await app.run(async () => {
      const job = await createJob('prune', 'Waiting.', { repositoryUuid: REPO });
      const states: string[] = [];
      const handler = consumer(async (_event, context) => {
        states.push((await getJob(job.id)).state);
        assert.ok(await app.state.get(kvsKeys.lease(REPO)), 'the lease is held while it runs');
        assert.equal(context.job?.id, job.id);
        return { state: 'done', message: 'Pruned.', result: { forgotten: 2 } };
      });
      assert.equal(await handler({ body: { repositoryUuid: REPO, jobId: job.id } }), undefined);
      assert.deepEqual(states, ['running']);
      const done = await getJob(job.id);
      assert.deepEqual([done.state, done.message, done.result], ['done', 'Pruned.', { forgotten: 2 }]);
      assert.equal(await app.state.get(kvsKeys.lease(REPO)), undefined);
      assert.deepEqual(audit(app).map((entry) => [entry.action, entry.outcome, entry.detail]), [['prune', 'ok', 'Pruned.']]);
      // A redelivery of the finished job does nothing.
      let ran = false;
      await consumer(async () => { ran = true; return { state: 'done', message: 'again' }; })({ body: { repositoryUuid: REPO, jobId: job.id } });
      assert.equal(ran, false);
    });
  });

  it('waits for a busy repository: Forge retries after a minute, and past its retries the work is queued afresh', async () => {
    const app = memoryApp();
    await app.run(async () => {
      await acquireLease(REPO, 'backup elsewhere', 'backup');
      const job = await createJob('prune', 'Waiting.', { repositoryUuid: REPO });
      let ran = 0;
      const handler = consumer(async () => { ran++; return { state: 'done', message: 'Pruned.' }; });
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
      const job = await createJob('prune', 'Waiting.', { repositoryUuid: REPO });
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
      assert.deepEqual(audit(app).map((entry) => [entry.outcome, entry.detail?.startsWith('INVALID_ARGUMENT')]), [['failed', true]]);
      assert.equal(await app.state.get(kvsKeys.lease(REPO)), undefined);
    });
  });
});
