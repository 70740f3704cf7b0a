import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureVariant, startFixtureHost, type FixtureHost } from './testing.js';

// 1 s of Forge time is 20 ms here.
const TIME_SCALE = 0.02;

interface Attempt {
  at: number;
  eventId: string;
  jobId: string;
  queueName: string;
  retryCount: number;
  retryReason: string | null;
  retryData: unknown;
}

async function push(fixture: FixtureHost, events: Array<{ body: Record<string, unknown>; delayInSeconds?: number }>): Promise<{ value?: { jobId: string }; error?: { name: string; message: string } }> {
  const { value, error } = await fixture.body<{ value?: { jobId: string }; error?: { name: string; message: string } }>('queue:push', { events });
  return { ...(value ? { value } : {}), ...(error ? { error: { name: error.name, message: error.message } } : {}) };
}

function attempts(fixture: FixtureHost, id: string): Attempt[] {
  return (fixture.host.kvsDump()[`attempts:${id}`] ?? []) as Attempt[];
}

test('a consumer returning InvocationError is retried after retryAfter with a growing retryContext, then succeeds', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE } });
  try {
    const { value } = await push(fixture, [{ body: { id: 'r1', mode: 'retry', failTimes: 2, retryAfter: 5 } }]);
    assert.ok(value?.jobId);
    await fixture.host.idle();
    const seen = attempts(fixture, 'r1');
    assert.deepEqual(seen.map((a) => a.retryCount), [0, 1, 2]);
    assert.deepEqual(seen.map((a) => a.retryReason), [null, 'FUNCTION_RETRY_REQUEST', 'FUNCTION_RETRY_REQUEST']);
    assert.deepEqual(seen.map((a) => a.retryData), [null, { attempt: 1 }, { attempt: 2 }]);
    assert.ok(seen.every((a) => a.eventId === seen[0]?.eventId && a.jobId === value.jobId && a.queueName === 'jobs'), 'one event, redelivered');
    // retryAfter 5 s is 100 ms here.
    for (let i = 1; i < seen.length; i++) assert.ok((seen[i]?.at ?? 0) - (seen[i - 1]?.at ?? 0) >= 95, `attempt ${i} came after retryAfter`);
    const records = fixture.host.invocations.filter((r) => r.kind === 'consumer');
    assert.deepEqual(records.map((r) => r.outcome), ['retry', 'retry', 'ok']);
    assert.deepEqual(records.map((r) => r.detail), ['jobs attempt 1', 'jobs attempt 2', 'jobs attempt 3']);
    assert.deepEqual(await fixture.body('queue:stats', { jobId: value.jobId }), { value: { success: 1, inProgress: 0, failed: 0 } });
  } finally {
    await fixture.close();
  }
});

test('retries are bounded: after the last one the event is recorded as failed, in the log and the job stats', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE, queueRetries: 3 } });
  try {
    const { value } = await push(fixture, [{ body: { id: 'forever', mode: 'throw-retry', failTimes: 99, retryAfter: 1 } }, { body: { id: 'fine', mode: 'ok' } }]);
    assert.ok(value);
    await fixture.host.idle();
    assert.deepEqual(attempts(fixture, 'forever').map((a) => a.retryCount), [0, 1, 2, 3]);
    // The `fine` event's one attempt is the only 'ok'.
    const consumers = fixture.host.invocations.filter((r) => r.kind === 'consumer');
    assert.equal(consumers.filter((r) => r.outcome === 'ok').length, 1);
    const records = consumers.filter((r) => r.outcome !== 'ok');
    assert.deepEqual(records.map((r) => r.outcome), ['retry', 'retry', 'retry', 'failed']);
    assert.match(records.at(-1)?.error ?? '', /InvocationError: retry after 1 s/);
    assert.deepEqual(await fixture.body('queue:stats', { jobId: value.jobId }), { value: { success: 1, inProgress: 0, failed: 1 } });
  } finally {
    await fixture.close();
  }
});

test('a consumer that throws an ordinary error is retried with backoff, then fails', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE, queueRetries: 2 } });
  try {
    await push(fixture, [{ body: { id: 'broken', mode: 'throw' } }]);
    await fixture.host.idle();
    const seen = attempts(fixture, 'broken');
    assert.deepEqual(seen.map((a) => a.retryReason), [null, 'FUNCTION_PLATFORM_UNKNOWN_ERROR', 'FUNCTION_PLATFORM_UNKNOWN_ERROR']);
    // Backoff 1 s then 2 s: 20 ms then 40 ms here.
    assert.ok((seen[2]?.at ?? 0) - (seen[1]?.at ?? 0) >= 38);
    const records = fixture.host.invocations.filter((r) => r.kind === 'consumer');
    assert.deepEqual(records.map((r) => r.outcome), ['retry', 'retry', 'failed']);
    assert.equal(records.at(-1)?.error, 'job broken failed');
  } finally {
    await fixture.close();
  }
});

test('a consumer past its timeoutSeconds is recorded as timeout and redelivered', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE, functionTimeoutMs: 50, queueRetries: 1 } });
  try {
    await push(fixture, [{ body: { id: 'slow', mode: 'sleep', sleepMs: 200 } }]);
    await fixture.host.idle();
    const records = fixture.host.invocations.filter((r) => r.kind === 'consumer');
    assert.deepEqual(records.map((r) => r.outcome), ['timeout', 'failed']);
    assert.deepEqual(attempts(fixture, 'slow').map((a) => a.retryReason), [null, 'FUNCTION_TIME_OUT']);
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(fixture.host.kvsDump()['slept:slow'], undefined, 'writes after the timeout were refused');
  } finally {
    await fixture.close();
  }
});

test('delayInSeconds holds an event back; idle() waits for it and for events pushed by consumers', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE } });
  try {
    const pushedAt = Date.now();
    await push(fixture, [{ body: { id: 'later', mode: 'ok' }, delayInSeconds: 10 }, { body: { id: 'parent', mode: 'spawn' } }]);
    await fixture.host.idle();
    const [later] = attempts(fixture, 'later');
    assert.ok(later && later.at - pushedAt >= 195, `delivered ${later ? later.at - pushedAt : '?'} ms after the push (10 s = 200 ms)`);
    assert.equal(attempts(fixture, 'parent-child').length, 1);
  } finally {
    await fixture.close();
  }
});

test('push limits are the real client’s: 50 events, 200 KB, delayInSeconds 0–900; and the service’s 500 a minute', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE, queueEventsPerMinute: 60 } });
  try {
    const many = Array.from({ length: 51 }, (_, i) => ({ body: { id: `e${i}`, mode: 'ok' } }));
    assert.deepEqual((await push(fixture, many)).error, { name: 'TooManyEventsError', message: 'This push contains more than the 50 events allowed.' });
    const heavy = [{ body: { id: 'heavy', mode: 'ok', filler: 'x'.repeat(205 * 1024) } }];
    assert.deepEqual((await push(fixture, heavy)).error, { name: 'PayloadTooBigError', message: 'The maximum payload size is 200KB.' });
    assert.equal((await push(fixture, [{ body: { id: 'late', mode: 'ok' }, delayInSeconds: 901 }])).error?.name, 'InvalidPushSettingsError');

    assert.ok((await push(fixture, many.slice(0, 50))).value);
    assert.ok((await push(fixture, many.slice(0, 10))).value);
    assert.deepEqual((await push(fixture, many.slice(0, 1))).error, { name: 'RateLimitError', message: 'Too many requests.' });
    await fixture.host.idle();
    assert.equal(fixture.host.invocations.filter((r) => r.kind === 'consumer' && r.outcome === 'ok').length, 60);
  } finally {
    await fixture.close();
  }
});

test('consumers allowed over 55 s take events of at most 100 KB; a queue without a consumer is refused', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE } });
  const variant = await fixtureVariant((text) => text.replace('timeoutSeconds: 120', 'timeoutSeconds: 55').replace('queue: jobs', 'queue: other-jobs'));
  const short = await startFixtureHost({ appDir: variant.appDir, limits: { timeScale: TIME_SCALE } });
  try {
    // The fixture's consumer has timeoutSeconds 120.
    const large = [{ body: { id: 'large', mode: 'ok', filler: 'x'.repeat(110 * 1024) } }];
    const refused = await push(fixture, large);
    assert.equal(refused.error?.name, 'PayloadTooBigError');
    assert.match(refused.error?.message ?? '', /larger than 100 KB/);
    // The variant reads another queue: the fixture's `jobs` queue has no consumer there.
    const orphan = await push(short, large);
    assert.equal(orphan.error?.name, 'InternalServerError');
    assert.match(orphan.error?.message ?? '', /no consumer in manifest\.yml reads queue jobs/);
  } finally {
    await short.close();
    await variant.remove();
    await fixture.close();
  }
});
