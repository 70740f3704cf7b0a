import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http, { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultLimits } from './runtime.js';
import { fixtureVariant, startFixtureHost } from './testing.js';

async function startServer(): Promise<{ origin: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(204).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface Captured {
  value?: unknown;
  error?: { name: string; message: string };
}

test('egress: a stand-in of a declared origin is allowed by every client; undeclared hosts are refused, naming the URL', async () => {
  const gitStandIn = await startServer();
  const other = await startServer();
  // The git server stands in for two origins, one of them undeclared: declared wins.
  const fixture = await startFixtureHost({ standIns: { 'https://api.bitbucket.org': gitStandIn.origin, 'https://bitbucket.org': gitStandIn.origin, 'https://example.net': other.origin } });
  try {
    const egress = (url: string, via: string): Promise<Captured> => fixture.body<Captured>('egress', { url, via });
    for (const via of ['fetch', 'api.fetch', 'http']) {
      assert.deepEqual(await egress(`${gitStandIn.origin}/ws/repo.git/info/refs?service=git-upload-pack`, via), { value: 204 }, via);
    }
    assert.equal(gitStandIn.hits.length, 3);

    for (const via of ['fetch', 'api.fetch', 'http']) {
      const { error } = await egress(`${other.origin}/collect`, via);
      assert.equal(error?.name, 'EgressNotAllowedError', via);
      assert.match(error?.message ?? '', new RegExp(`Egress to ${other.origin}/collect \\(checked as https://example\\.net/collect, the origin it stands in for\\) is not allowed: it is not declared in manifest\\.yml`));
    }
    assert.equal(other.hits.length, 0, 'refused before any connection');

    const direct = await egress('https://example.com/x', 'https');
    assert.match(direct.error?.message ?? '', /^Egress to https:\/\/example\.com\/x is not allowed: it is not declared in manifest\.yml/);
    // Declared with https only: plain http to the real host is refused too.
    assert.match((await egress('http://bitbucket.org/ws/repo.git', 'http')).error?.message ?? '', /not declared in manifest\.yml/);
    // Wildcard prefix entries match subdomains.
    assert.deepEqual(await fixture.body('canFetch', { url: 'https://my-bucket.s3.eu-west-1.amazonaws.com/key' }), { allowed: true });
    assert.deepEqual(await fixture.body('canFetch', { url: `${gitStandIn.origin}/x` }), { allowed: true });
    assert.deepEqual(await fixture.body('canFetch', { url: 'https://amazonaws.com.evil.example/key' }), { allowed: false });

    // Outside invocations (host, emulator, tests) nothing is checked.
    const response = await fetch(`${other.origin}/from-the-test`);
    assert.equal(response.status, 204);
    await new Promise<void>((resolve, reject) => http.get(`${other.origin}/from-the-test-too`, (res) => res.resume().on('end', resolve)).on('error', reject));
    assert.deepEqual(other.hits, ['/from-the-test', '/from-the-test-too']);
  } finally {
    await fixture.close();
    await gitStandIn.close();
    await other.close();
  }
});

test('customer-managed egress: approved origins are allowed only when the manifest enables it', async () => {
  const bucket = await startServer();
  const variant = await fixtureVariant((text) => text.replace('  external:\n', '  external:\n    configurable:\n      enabled: true\n'));
  const configurable = await startFixtureHost({ appDir: variant.appDir, customerEgress: [bucket.origin] });
  const fixed = await startFixtureHost({ customerEgress: [bucket.origin] });
  try {
    assert.deepEqual(await configurable.body('egress', { url: `${bucket.origin}/bucket/key`, via: 'fetch' }), { value: 204 });
    assert.deepEqual(await configurable.body('canFetch', { url: `${bucket.origin}/bucket/key` }), { allowed: true });
    const refused = await fixed.body<Captured>('egress', { url: `${bucket.origin}/bucket/key`, via: 'fetch' });
    assert.match(refused.error?.message ?? '', /not declared in manifest\.yml/);
    assert.deepEqual(bucket.hits, ['/bucket/key']);
  } finally {
    await configurable.close();
    await fixed.close();
    await variant.remove();
    await bucket.close();
  }
});

test('what an admin approved outlives a restart of the host on the same data', async () => {
  const bucket = await startServer();
  const variant = await fixtureVariant((text) => text.replace('  external:\n', '  external:\n    configurable:\n      enabled: true\n'));
  const dataDir = await mkdtemp(join(tmpdir(), 'lifeboat-egress-'));
  const group = { key: 'bucket', description: 'The bucket', configured: [{ domain: bucket.origin, type: ['FETCH_BACKEND_SIDE'] }] };
  try {
    const first = await startFixtureHost({ appDir: variant.appDir, dataDir });
    try {
      assert.match((await first.body<Captured>('egress', { url: `${bucket.origin}/before`, via: 'fetch' })).error?.message ?? '', /is not allowed/, 'refused before the approval');
      first.host.egressGroups.set([group]);
    } finally {
      await first.close();
    }
    const second = await startFixtureHost({ appDir: variant.appDir, dataDir });
    try {
      assert.deepEqual(second.host.egressGroups.get(), [group]);
      assert.deepEqual(await second.body('egress', { url: `${bucket.origin}/after`, via: 'fetch' }), { value: 204 });
      assert.deepEqual(bucket.hits, ['/after']);
    } finally {
      await second.close();
    }
  } finally {
    await variant.remove();
    await bucket.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a consumer\'s outbound request is cut at the scaled 180 s, as a connection the other side closed; a resolver\'s is not', async () => {
  const hangs = new Set<ServerResponse>();
  // /late answers after 1 s; /dribble sends its headers and a first byte at once, the rest after 1 s.
  const server = createServer((req, res) => {
    hangs.add(res);
    if (req.url?.startsWith('/dribble')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a');
    }
    setTimeout(() => {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('b');
    }, 1000);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // 20 s of Forge time at a hundredth: 200 ms.
  const fixture = await startFixtureHost({
    standIns: { 'https://bitbucket.org': origin },
    bitbucket: { apiUrl: origin, authorization: () => 'Bearer app-token' },
    limits: { outboundRequestSeconds: 20, timeScale: 0.01 },
  });
  type Cut = Error & { code?: string; cause?: Error & { code?: string } };
  const timed = async (fn: () => Promise<unknown>): Promise<{ ms: number; error: Cut }> => {
    const started = Date.now();
    const error = await fn().then(() => assert.fail('not cut'), (thrown: unknown) => thrown as Cut);
    return { ms: Date.now() - started, error };
  };
  try {
    const { default: api, route } = await import('./platform/api.js');
    const cuts = await fixture.host.runInInvocation(() => Promise.all([
      timed(() => fetch(`${origin}/late`)),
      timed(async () => (await fetch(`${origin}/dribble`)).text()),
      timed(() => new Promise((resolve, reject) => http.get(`${origin}/late`, (res) => res.resume().on('end', resolve)).on('error', reject))),
      timed(() => api.asApp().requestBitbucket(route`/dribble`).then((response) => response.text())),
    ]));
    const [beforeAnswer, duringBody, httpRequest, product] = cuts;
    for (const { ms } of cuts) assert.ok(ms >= 190 && ms < 900, `cut after ${ms} ms`);
    assert.equal(beforeAnswer?.error.name, 'TypeError');
    assert.equal(beforeAnswer?.error.message, 'fetch failed');
    assert.equal(beforeAnswer?.error.cause?.code, 'UND_ERR_SOCKET');
    assert.equal(duringBody?.error.message, 'terminated');
    assert.equal(duringBody?.error.cause?.code, 'UND_ERR_SOCKET');
    assert.equal(httpRequest?.error.code, 'ECONNRESET');
    assert.equal(product?.error.message, 'terminated');

    // A resolver's 25 s are below the cap: its requests run their course.
    assert.deepEqual(await fixture.body('egress', { url: `${origin}/late`, via: 'fetch' }), { value: 200 });
  } finally {
    await fixture.close();
    for (const res of hangs) res.destroy();
    server.close();
  }
});

test('LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S sets the per-request cap; Forge\'s 180 s otherwise', () => {
  assert.equal(defaultLimits({}).outboundRequestSeconds, 180);
  assert.equal(defaultLimits({ LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S: '5' }).outboundRequestSeconds, 5);
  assert.equal(defaultLimits({ LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S: 'soon' }).outboundRequestSeconds, 180);
});
