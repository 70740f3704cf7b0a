import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvocationErrorCode } from '@forge/events';
import { LifeboatError } from '../engine/errors.js';
import { MAX_RETRIES, retryPlan } from './jobs.js';

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
