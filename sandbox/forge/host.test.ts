import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { ACCOUNT_ID, fixtureVariant, nextInvocation, REPOSITORY_UUID, startFixtureHost, WORKSPACE_ID } from './testing.js';

/** A tiny stand-in for the Bitbucket emulator: answers every request with JSON and remembers it. */
async function startFakeBitbucket(): Promise<{ url: string; requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }>; close(): Promise<void> }> {
  const requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders }> = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ uuid: REPOSITORY_UUID, full_name: 'fixture/repo' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test('a resolver gets Bitbucket Custom UI context; identity comes from the host, not the payload', async () => {
  const fixture = await startFixtureHost();
  try {
    const { context } = await fixture.body<{ context: Record<string, unknown> }>('context', { accountId: 'forged-by-the-client' });
    assert.equal(context.accountId, ACCOUNT_ID);
    assert.equal(context.workspaceId, WORKSPACE_ID);
    assert.equal(context.moduleKey, 'fixture-repo-settings');
    assert.equal(context.installContext, `ari:cloud:bitbucket::workspace/${WORKSPACE_ID.slice(1, -1)}`);
    assert.deepEqual(context.extension, { type: 'bitbucket:repoSettingsMenuPage', repository: { uuid: REPOSITORY_UUID } });
    assert.equal(typeof context.localId, 'string');

    const app = await fixture.body<{ moduleKey: string; remainingMs: number; appAri: string }>('appContext');
    assert.equal(app.moduleKey, 'fixture-repo-settings');
    assert.ok(app.remainingMs > 20_000 && app.remainingMs <= 25_000, `remaining ${app.remainingMs} ms of the 25 s resolver limit`);
    assert.equal(app.appAri, 'ari:cloud:ecosystem::app/5d1c3a4e-7b2f-4e8a-9c61-0f3e2d1b4a59');

    const last = fixture.host.invocations.at(-1);
    assert.equal(last?.kind, 'resolver');
    assert.equal(last?.key, 'fixture-repo-settings');
    assert.equal(last?.detail, 'appContext');
    assert.equal(last?.outcome, 'ok');
    assert.match(fixture.lines.at(-1) ?? '', /^\[forge\] resolver fixture-repo-settings appContext ok \d+ ms$/);
  } finally {
    await fixture.close();
  }
});

test('thrown errors, unknown modules and definitions come back as failures, as @forge/bridge invoke rejects', async () => {
  const fixture = await startFixtureHost();
  try {
    assert.deepEqual(await fixture.call('fail', { message: 'no bucket configured' }), { ok: false, error: { message: 'There was an error invoking the function - no bucket configured' } });
    assert.equal(fixture.host.invocations.at(-1)?.outcome, 'error');
    const unknown = await fixture.call('nope');
    assert.equal(unknown.ok, false);
    assert.match(unknown.ok ? '' : unknown.error.message, /Resolver has no definition for 'nope'/);
    const noModule = await fixture.host.invokeResolver({ moduleKey: 'ghost', functionKey: 'context', accountId: ACCOUNT_ID, extension: {} });
    assert.deepEqual(noModule, { ok: false, error: { message: 'There was an error invoking the function - manifest.yml has no module ghost with a resolver' } });
  } finally {
    await fixture.close();
  }
});

test('resolver limits: the timeout is recorded and the late code loses the platform; request and response sizes', async () => {
  const fixture = await startFixtureHost({ limits: { resolverTimeoutMs: 100, resolverRequestBytes: 1000, resolverResponseBytes: 2000 } });
  try {
    const slow = await fixture.call('sleep', { ms: 400 });
    assert.equal(slow.ok, false);
    assert.match(slow.ok ? '' : slow.error.message, /timed out after 100 ms/);
    const record = fixture.host.invocations.at(-1);
    assert.equal(record?.outcome, 'timeout');
    assert.ok((record?.durationMs ?? 0) < 400);
    // The handler keeps running (JavaScript cannot be killed) but may no longer touch the platform.
    const late = await fixture.host.codeFinished(record?.id ?? '');
    assert.equal(late?.status, 'threw', 'the late code ran to its KVS write, which threw');
    assert.match(late?.status === 'threw' ? String(late.error) : '', /called after invocation .* timed out/);
    assert.equal(fixture.host.kvsDump()['sleep:woke'], undefined);
    await fixture.body('sleep', { ms: 1 });
    assert.equal(fixture.host.kvsDump()['sleep:woke'], true);

    assert.match(JSON.stringify(await fixture.call('context', { text: 'x'.repeat(1000) })), /request payload is 10\d\d bytes; Forge accepts 1000/);
    assert.match(JSON.stringify(await fixture.call('big', { bytes: 3000 })), /response is 30\d\d bytes; Forge returns at most 2000/);
    assert.deepEqual(await fixture.call('big', { bytes: 10 }), { ok: true, body: { text: 'xxxxxxxxxx' } });
  } finally {
    await fixture.close();
  }
});

test('resolver request depth: a deeply nested payload is refused with a clear error before the app runs', async () => {
  const fixture = await startFixtureHost();
  try {
    const nested = (depth: number): unknown => {
      let value: unknown = 'leaf';
      for (let level = 0; level < depth; level++) value = [value];
      return value;
    };
    const before = fixture.host.invocations.length;
    // 400 KB of brackets: under the size limit, and deep enough to overflow a recursive JSON.stringify.
    const deep = await fixture.call('context', { nested: nested(200_000) });
    assert.equal(deep.ok, false);
    assert.match(deep.ok ? '' : deep.error.message, /request payload is nested deeper than 100 levels/);
    assert.equal(fixture.host.invocations.length, before + 1);
    assert.equal(fixture.host.invocations.at(-1)?.id, 'rejected');
    // The limit counts the payload object itself: 99 arrays inside it still pass.
    assert.equal((await fixture.call('context', { nested: nested(99) })).ok, true);
    assert.equal((await fixture.call('context', { nested: nested(100) })).ok, false);
  } finally {
    await fixture.close();
  }
});

test('@forge/kvs in the app is the host store: writes land in kvsDump() and on disk', async () => {
  const fixture = await startFixtureHost();
  try {
    assert.deepEqual(await fixture.body('kvs:set', { key: 'settings:bucket', value: { name: 'backups', region: 'eu-west-1' } }), {});
    assert.deepEqual(fixture.host.kvsDump(), { 'settings:bucket': { name: 'backups', region: 'eu-west-1' } });
    await fixture.host.close();
    const onDisk = JSON.parse(await readFile(join(fixture.dataDir, 'kvs.json'), 'utf8')) as Record<string, { value: unknown }>;
    assert.deepEqual(onDisk['settings:bucket']?.value, { name: 'backups', region: 'eu-west-1' });
  } finally {
    await fixture.close();
  }
});

test('@forge/api requestBitbucket reaches the emulator with app or user credentials and route-encoded paths', async () => {
  const bitbucket = await startFakeBitbucket();
  const fixture = await startFixtureHost({ bitbucket: { apiUrl: bitbucket.url, authorization: (accountId) => (accountId === undefined ? 'Bearer app-token' : `Bearer user:${accountId}`) } });
  try {
    const asApp = await fixture.body<{ status: number; body: unknown }>('bitbucket:repository', { as: 'app' });
    assert.deepEqual(asApp, { status: 200, body: { uuid: REPOSITORY_UUID, full_name: 'fixture/repo' } });
    await fixture.body('bitbucket:repository', { as: 'user' });
    assert.equal(bitbucket.requests.length, 2);
    const [appRequest, userRequest] = bitbucket.requests;
    const encoded = (uuid: string): string => `%7B${uuid.slice(1, -1)}%7D`;
    assert.equal(appRequest?.url, `/2.0/repositories/${encoded(WORKSPACE_ID)}/${encoded(REPOSITORY_UUID)}?fields=uuid%2Cfull_name`);
    assert.equal(appRequest?.headers.authorization, 'Bearer app-token');
    assert.equal(userRequest?.headers.authorization, `Bearer user:${ACCOUNT_ID}`);

    // The real route tag refuses path manipulation before anything is sent.
    const unsafe = await fixture.body<{ error: { message: string } }>('bitbucket:unsafe', { path: '../../admin' });
    assert.match(unsafe.error.message, /Disallowing path manipulation attempt/);
    assert.equal(bitbucket.requests.length, 2);
  } finally {
    await fixture.close();
    await bitbucket.close();
  }
});

test('Forge variables are visible to the app as process.env while the host runs', async () => {
  assert.equal(process.env.FIXTURE_GREETING, undefined);
  const fixture = await startFixtureHost({ env: { FIXTURE_GREETING: 'hello from forge variables' } });
  try {
    assert.deepEqual(await fixture.body('env'), { greeting: 'hello from forge variables' });
  } finally {
    await fixture.close();
  }
  assert.equal(process.env.FIXTURE_GREETING, undefined);
});

test('product events run every subscribed trigger with (event, context)', async () => {
  const fixture = await startFixtureHost();
  try {
    const push = { eventType: 'avi:bitbucket:push:repository', repository: { uuid: REPOSITORY_UUID }, selfGenerated: false };
    await fixture.host.deliverEvent(push);
    const dump = fixture.host.kvsDump();
    assert.equal(dump['seen:on-push'], 1);
    assert.equal(dump['seen:on-repository-change'], 1);
    assert.deepEqual(dump['last:on-push'], { eventType: 'avi:bitbucket:push:repository', repository: REPOSITORY_UUID, installContext: `ari:cloud:bitbucket::workspace/${WORKSPACE_ID.slice(1, -1)}` });

    // Delivery is at least once: the same event again runs the triggers again.
    await fixture.host.deliverEvent(push);
    assert.equal(fixture.host.kvsDump()['seen:on-push'], 2);

    assert.equal(fixture.host.kvsDump()['seen:on-repository-change'], 2);

    await fixture.host.deliverEvent({ eventType: 'avi:bitbucket:deleted:repository' });
    const triggers = fixture.host.invocations.filter((record) => record.kind === 'trigger');
    assert.equal(triggers.length, 4);
    assert.ok(triggers.every((record) => record.outcome === 'ok' && record.detail === 'avi:bitbucket:push:repository'));
  } finally {
    await fixture.close();
  }
});

test('the host lists the events it delivered, newest first, with how each trigger ran; at most 200', async () => {
  const fixture = await startFixtureHost();
  try {
    const push = { eventType: 'avi:bitbucket:push:repository', repository: { uuid: REPOSITORY_UUID }, selfGenerated: false };
    const ran = await fixture.host.deliverEvent(push);
    assert.deepEqual(ran.map((record) => [record.key, record.outcome]).sort(), [['on-push', 'ok'], ['on-repository-change', 'ok']]);
    assert.deepEqual(await fixture.host.deliverEvent({ eventType: 'avi:bitbucket:deleted:repository' }), [], 'no trigger subscribes: nothing ran');
    await fixture.host.deliverEvent({ eventType: 'avi:bitbucket:created:repository', n: 1 });
    const [newest, older, ...rest] = fixture.host.deliveredEvents();
    assert.deepEqual(newest?.event, { eventType: 'avi:bitbucket:created:repository', n: 1 });
    assert.deepEqual(newest?.triggers, [{ key: 'on-repository-change', outcome: 'ok' }]);
    assert.deepEqual(older?.event, push);
    assert.equal(rest.length, 0, 'an event no trigger took was not delivered');
    assert.ok(!Number.isNaN(Date.parse(newest?.at ?? '')));

    for (let n = 2; n <= 201; n++) await fixture.host.deliverEvent({ eventType: 'avi:bitbucket:created:repository', n });
    const listed = fixture.host.deliveredEvents();
    assert.equal(listed.length, 200);
    assert.deepEqual([listed[0]?.event.n, listed.at(-1)?.event.n], [201, 2]);
  } finally {
    await fixture.close();
  }
});

test('trigger failures: a throwing trigger is an error, a slow one a timeout (25 s, shrunk) whose late writes are refused', async () => {
  const variant = await fixtureVariant((text) => text.replace('handler: index.onRepositoryEvent', 'handler: index.slowTrigger'));
  const fixture = await startFixtureHost({ appDir: variant.appDir, limits: { triggerTimeoutMs: 50 } });
  try {
    await fixture.host.deliverEvent({ eventType: 'avi:bitbucket:created:repository', fail: true });
    assert.equal(fixture.host.invocations.at(-1)?.outcome, 'error');
    assert.equal(fixture.host.invocations.at(-1)?.error, 'trigger failed');

    await fixture.host.deliverEvent({ eventType: 'avi:bitbucket:created:repository', sleepMs: 5 });
    assert.equal(fixture.host.invocations.at(-1)?.outcome, 'ok');
    assert.equal(fixture.host.kvsDump()['slow:done'], 'avi:bitbucket:created:repository');

    await fixture.host.deliverEvent({ eventType: 'avi:bitbucket:push:repository', sleepMs: 150 });
    const [first, second] = fixture.host.invocations.slice(-2);
    assert.equal(first?.outcome, 'timeout');
    assert.equal(second?.outcome, 'timeout');
    assert.match(fixture.lines.at(-1) ?? '', /trigger on-\S+ avi:bitbucket:push:repository timeout \d+ ms: timed out after 50 ms/);
    for (const timedOut of [first, second]) {
      const late = await fixture.host.codeFinished(timedOut?.id ?? '');
      assert.match(late?.status === 'threw' ? String(late.error) : '', /called after invocation .* timed out/, 'the late code reached its write, which was refused');
    }
    assert.equal(fixture.host.kvsDump()['slow:done'], 'avi:bitbucket:created:repository', 'the timed-out triggers could not write');
  } finally {
    await fixture.close();
    await variant.remove();
  }
});

test('scheduled triggers run on demand and on their interval (time scaled), with the scheduled-trigger payload', async () => {
  // An hour scaled by 2e-5 is 72 ms.
  const fixture = await startFixtureHost({ limits: { timeScale: 2e-5 } });
  try {
    await fixture.host.runScheduledTrigger('hourly-sweep');
    assert.deepEqual(fixture.host.kvsDump()['sweep:last'], { moduleKey: 'hourly-sweep' });
    await nextInvocation(fixture.host, (record) => record.kind === 'scheduledTrigger' && record.key === 'hourly-sweep');
    await nextInvocation(fixture.host, (record) => record.kind === 'scheduledTrigger');
    assert.ok(Number(fixture.host.kvsDump()['sweep:runs']) >= 3);
    await assert.rejects(fixture.host.runScheduledTrigger('nightly'), /manifest\.yml has no scheduledTrigger nightly/);
  } finally {
    await fixture.close();
  }
});

test('a proxy fault answers requestBitbucket with forge-proxy-error, which @forge/api turns into ProxyRequestError', async () => {
  const bitbucket = await startFakeBitbucket();
  const fixture = await startFixtureHost({ bitbucket: { apiUrl: bitbucket.url, authorization: () => 'Bearer app-token' } });
  try {
    fixture.host.faults.proxyErrors = 1;
    const failed = await fixture.call('bitbucket:repository', { as: 'app' });
    assert.deepEqual(failed, { ok: false, error: { message: 'There was an error invoking the function - Forge platform failed to process runtime HTTP request - 502 - UPSTREAM_FAILURE' } });
    assert.equal(bitbucket.requests.length, 0, 'the proxy failed before Bitbucket saw the request');
    assert.equal(fixture.host.faults.proxyErrors, 0, 'the knob was consumed');
    assert.deepEqual(await fixture.body('bitbucket:repository', { as: 'app' }), { status: 200, body: { uuid: REPOSITORY_UUID, full_name: 'fixture/repo' } });
  } finally {
    await fixture.close();
    await bitbucket.close();
  }
});
