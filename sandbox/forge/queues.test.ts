import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from './clock.js';
import { currentInvocation } from './runtime.js';
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

test('on a manual clock delays wait for the test: idle() moves time on to each delayed event in turn, and no schedule fires meanwhile', async () => {
  const clock = new ManualClock();
  const fixture = await startFixtureHost({ clock });
  try {
    const start = clock.now();
    await push(fixture, [{ body: { id: 'late', mode: 'retry', failTimes: 4, retryAfter: 900 }, delayInSeconds: 900 }]);
    assert.equal(clock.waiting, 1, 'the event waits for its delay');
    assert.deepEqual(attempts(fixture, 'late'), []);
    await fixture.host.idle();
    assert.deepEqual(attempts(fixture, 'late').map((a) => a.retryCount), [0, 1, 2, 3, 4]);
    assert.ok(clock.now() - start >= 5 * 900_000, 'five delays of 900 s passed on the clock');
    assert.deepEqual(fixture.host.invocations.filter((r) => r.kind === 'scheduledTrigger'), [], 'the hourly trigger did not fire on its own');
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
    for (const record of records) {
      const late = await fixture.host.codeFinished(record.id);
      assert.match(late?.status === 'threw' ? String(late.error) : '', /called after invocation .* timed out/, 'the late code reached its write, which was refused');
    }
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
  // In real time: the minute is scaled like every platform delay, and this test pushes without waiting.
  const fixture = await startFixtureHost({ limits: { queueEventsPerMinute: 60 } });
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

test('the cyclic invocation limit counts the pushes of a whole chain: past it the real client throws InvocationLimitReachedError (HTTP 405)', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE, cyclicInvocationLimit: 4 } });
  try {
    // The resolver's push is the chain's first; each link's consumer pushes the next.
    assert.ok((await push(fixture, [{ body: { id: 'loop', mode: 'chain' } }])).value);
    await fixture.host.idle();
    assert.deepEqual(fixture.host.kvsDump()['chain:loop'], ['pushed', 'pushed', 'pushed', 'InvocationLimitReachedError']);
    assert.equal(attempts(fixture, 'loop').length, 4, 'four links ran; the fifth was never queued');
    // Another originating invocation starts a chain of its own.
    assert.ok((await push(fixture, [{ body: { id: 'again', mode: 'chain' } }])).value);
    await fixture.host.idle();
    assert.deepEqual(fixture.host.kvsDump()['chain:again'], ['pushed', 'pushed', 'pushed', 'InvocationLimitReachedError']);
  } finally {
    await fixture.close();
  }
});

test('a partial success records only some events: HTTP 202 naming the others, which the real client raises as PartialSuccessError', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE } });
  try {
    fixture.host.faults.partialPushes = { pushes: 1, accepts: 1 };
    const events = ['p1', 'p2', 'p3'].map((id) => ({ body: { id, mode: 'ok' } }));
    const { error } = await fixture.body<{ error?: { name: string; message: string; failedEvents: Array<{ errorMessage: string; payload?: unknown }> } }>('queue:push', { events });
    assert.equal(error?.name, 'PartialSuccessError');
    assert.equal(error?.message, 'Failed to process 2 event(s).');
    // @forge/events 3.0.8 puts the pushed event under `payload` (out/validators.js), though its types say `event`.
    assert.deepEqual(error?.failedEvents.map((failed) => failed.payload), events.slice(1));
    await fixture.host.idle();
    assert.deepEqual(['p1', 'p2', 'p3'].map((id) => attempts(fixture, id).length), [1, 0, 0]);
    assert.deepEqual(fixture.host.faults.partialPushes, { pushes: 0, accepts: 1 }, 'the knob was consumed');
    assert.ok((await push(fixture, events.slice(1))).value, 'the next push is recorded whole');
  } finally {
    await fixture.close();
  }
});

test('the service refuses what the client should have: over 50 events (400, assumed) or 200 KB (413, PayloadTooBigError\'s answer)', async () => {
  const fixture = await startFixtureHost({ limits: { timeScale: TIME_SCALE } });
  try {
    // Straight to the service, past the real client's own checks.
    const publish = (payload: unknown[]): Promise<Response> => fixture.host.runInInvocation(async () => {
      const invocation = currentInvocation();
      assert.ok(invocation);
      return invocation.services.queueRequest('/webhook/queue/publish/ctx/env/app/1', { queueName: 'jobs', jobId: 'j1', payload });
    });
    const tooMany = await publish(Array.from({ length: 51 }, (_, i) => ({ body: { id: `m${i}`, mode: 'ok' } })));
    assert.equal(tooMany.status, 400);
    const tooBig = await publish([{ body: { id: 'big', mode: 'ok', filler: 'x'.repeat(60 * 1024) } }, { body: { id: 'big2', mode: 'ok', filler: 'x'.repeat(60 * 1024) } }, { body: { id: 'big3', mode: 'ok', filler: 'x'.repeat(60 * 1024) } }, { body: { id: 'big4', mode: 'ok', filler: 'x'.repeat(60 * 1024) } }]);
    assert.equal(tooBig.status, 413);
    assert.match(((await tooBig.json()) as { errorMessage: string }).errorMessage, /maximum payload size is 200KB/);
    await fixture.host.idle();
    assert.equal(fixture.host.invocations.filter((record) => record.kind === 'consumer').length, 0, 'nothing of either was queued');
  } finally {
    await fixture.close();
  }
});

test('the queue outlives the host: started again on the same data, it delivers what waited and retries what was running when it stopped', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lifeboat-forge-queue-'));
  try {
    const first = await startFixtureHost({ dataDir, clock: new ManualClock() });
    let started: { value?: { jobId: string } };
    try {
      started = await push(first, [{ body: { id: 'waiting', mode: 'ok' }, delayInSeconds: 600 }, { body: { id: 'cut', mode: 'sleep', sleepMs: 200 } }]);
      assert.ok(started.value);
      // The host stops while `cut` runs (its attempt is recorded as it starts): its result is lost with the host.
      while (attempts(first, 'cut').length === 0) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      await first.close();
    }
    assert.deepEqual(attempts(first, 'waiting'), [], 'the delayed event had not run');

    const second = await startFixtureHost({ dataDir, clock: new ManualClock() });
    try {
      await second.host.idle();
      const cut = attempts(second, 'cut');
      assert.deepEqual(cut.map((a) => [a.retryCount, a.retryReason]), [[0, null], [1, 'FUNCTION_PLATFORM_UNKNOWN_ERROR']], 'delivered again, as a retry');
      assert.equal(cut[1]?.eventId, cut[0]?.eventId, 'the same event');
      const waiting = attempts(second, 'waiting');
      assert.deepEqual(waiting.map((a) => [a.retryCount, a.jobId]), [[0, started.value.jobId]], 'the waiting event ran once, in its job');
      assert.deepEqual(second.host.invocations.filter((r) => r.kind === 'consumer').map((r) => r.outcome), ['ok', 'ok']);
    } finally {
      await second.close();
    }

    const third = await startFixtureHost({ dataDir, clock: new ManualClock() });
    try {
      await third.host.idle();
      assert.deepEqual(third.host.invocations, [], 'nothing finished is delivered again');
    } finally {
      await third.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
