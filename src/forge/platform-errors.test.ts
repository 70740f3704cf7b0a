import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProxyRequestError } from '@forge/api';
import { PartialSuccessError, RateLimitError, TooManyEventsError } from '@forge/events';
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

test('Forge\'s proxy failing a request (ProxyRequestError) and a push recorded in part are a busy platform, retried', () => {
  const proxy = classifyError(new ProxyRequestError(502, 'UPSTREAM_FAILURE'));
  assert.equal(proxy.code, 'PLATFORM_BUSY');
  assert.equal(proxy.kind, 'transient');
  assert.match(proxy.message, /Forge's proxy failed to serve a request \(502 UPSTREAM_FAILURE\)/);
  assert.deepEqual(proxy.details, { rateLimited: false, proxyError: 'UPSTREAM_FAILURE', status: 502 });
  const partial = classifyError(new PartialSuccessError('Failed to process 1 event(s).', { jobId: 'j' }, []));
  assert.equal(partial.code, 'PLATFORM_BUSY');
  assert.equal(partial.kind, 'transient');
});

test('a request whose connection closed under it (as Forge\'s 180 s cut ends one) is transient: fetch before or during the answer, or http', () => {
  const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  for (const thrown of [new TypeError('fetch failed', { cause: socket }), new TypeError('terminated', { cause: socket }), Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })]) {
    const error = classifyError(thrown);
    assert.equal(error.code, 'CONNECTION_LOST', thrown.message);
    assert.equal(error.kind, 'transient');
  }
  assert.match(classifyError(new TypeError('fetch failed', { cause: socket })).message, /fetch failed: other side closed/);
  assert.equal(classifyError(new TypeError('undefined is not a function')).kind, 'bug', 'other TypeErrors stay bugs');
});

test('other platform refusals stay what they are: our bug, or a LifeboatError as thrown', () => {
  assert.equal(classifyError(new TooManyEventsError('51 events')).kind, 'bug');
  assert.equal(classifyError(kvsError(400)).kind, 'bug');
  const own = new LifeboatError('NOT_CONFIGURED', 'set it up');
  assert.equal(classifyError(own), own);
});
