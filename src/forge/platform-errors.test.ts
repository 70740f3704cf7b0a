import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimitError, TooManyEventsError } from '@forge/events';
import { ForgeKvsAPIError } from '@forge/kvs';
import { LifeboatError } from '../engine/errors.js';
import { classifyError } from './platform-errors.js';

const kvsError = (status: number): ForgeKvsAPIError =>
  new ForgeKvsAPIError({ status, statusText: 'x' }, { code: status === 429 ? 'RATE_LIMIT_EXCEEDED' : 'INTERNAL_SERVER_ERROR', message: 'from KVS' });

test('a busy or failing platform is transient, worth a retry', () => {
  for (const thrown of [new RateLimitError('too many'), kvsError(429), kvsError(503)]) {
    const error = classifyError(thrown);
    assert.equal(error.code, 'PLATFORM_BUSY');
    assert.equal(error.kind, 'transient');
  }
});

test('other platform refusals stay what they are: our bug, or a LifeboatError as thrown', () => {
  assert.equal(classifyError(new TooManyEventsError('51 events')).kind, 'bug');
  assert.equal(classifyError(kvsError(400)).kind, 'bug');
  const own = new LifeboatError('NOT_CONFIGURED', 'set it up');
  assert.equal(classifyError(own), own);
});
