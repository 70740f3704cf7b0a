import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { isLifeboatError } from '../engine/errors.js';
import { apiPath, BitbucketClient, tokenTransport } from './client.js';

// A local stand-in serving Bitbucket-shaped pages, including the quirk the client
// must survive: a bogus `next` on an empty last page.
let server: Server;
let base: string;
const requests: string[] = [];

before(async () => {
  server = createServer((request, response) => {
    requests.push(request.url!);
    const url = new URL(request.url!, base);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/2.0/items') {
      const page = Number(url.searchParams.get('page') ?? '1');
      const values = page <= 2 ? [`item-${page}a`, `item-${page}b`] : [];
      return send(200, { values, page, pagelen: 2, next: `${base}/2.0/items?page=${page + 1}&fields=values` });
    }
    if (url.pathname === '/2.0/sorted') {
      // A next link that lost `sort` and `fields` (seen on some Bitbucket endpoints), keeping the rest.
      const page = Number(url.searchParams.get('page') ?? '1');
      return send(200, { values: page === 1 ? ['first'] : [], ...(page === 1 ? { next: `${base}/2.0/sorted?q=x%3E1&page=2` } : {}) });
    }
    if (url.pathname === '/2.0/limited') return send(429, { type: 'error', error: { message: 'Rate limit for this resource has been exceeded' } }, { 'retry-after': '30' });
    if (url.pathname === '/2.0/secret') return send(403, { type: 'error', error: { message: 'Access denied' } });
    if (url.pathname === '/2.0/broken') return send(503, { type: 'error', error: { message: 'down' } });
    return send(404, { type: 'error', error: { message: 'Not found' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = (): BitbucketClient => new BitbucketClient((path, init) => fetch(base + path, init));

test('paginate follows next and stops on an empty page with a bogus next', async () => {
  requests.length = 0;
  const items: string[] = [];
  for await (const item of client().paginate<string>('/2.0/items')) items.push(item);
  assert.deepEqual(items, ['item-1a', 'item-1b', 'item-2a', 'item-2b']);
  assert.deepEqual(requests, ['/2.0/items', '/2.0/items?page=2&fields=values', '/2.0/items?page=3&fields=values']);
});

test('a next link that dropped sort or fields gets them back from the request; one that kept them is followed as it is', async () => {
  requests.length = 0;
  const page = await client().page<string>('/2.0/sorted?sort=updated_on&fields=%2Bvalues.reviewers%2C-values.links&q=x%3E1');
  assert.equal(page.next, '/2.0/sorted?q=x%3E1&page=2&sort=updated_on&fields=%2Bvalues.reviewers%2C-values.links');
  for await (const item of client().paginate<string>('/2.0/items?fields=values')) void item;
  assert.deepEqual(requests.slice(1), ['/2.0/items?fields=values', '/2.0/items?page=2&fields=values', '/2.0/items?page=3&fields=values']);
});

test('breaking out of paginate stops fetching pages', async () => {
  requests.length = 0;
  for await (const item of client().paginate<string>('/2.0/items')) if (item === 'item-1a') break;
  assert.equal(requests.length, 1);
});

test('statuses become stable codes; 429 and 5xx are transient', async () => {
  const cases = [['/2.0/limited', 'BITBUCKET_RATE_LIMITED', 'transient'], ['/2.0/secret', 'BITBUCKET_FORBIDDEN', 'user'], ['/2.0/broken', 'BITBUCKET_UNAVAILABLE', 'transient'], ['/2.0/nothing', 'BITBUCKET_NOT_FOUND', 'user']] as const;
  for (const [path, code, kind] of cases) {
    await assert.rejects(client().get(path), (error) => isLifeboatError(error, code) && error.kind === kind);
  }
  await assert.rejects(client().get('/2.0/limited'), (error) => isLifeboatError(error) && error.details?.retryAfterSeconds === 30 && /Rate limit/.test(error.message));
});

test('apiPath encodes every parameter', () => {
  assert.equal(apiPath`/2.0/repositories/${'my ws'}/${'a/b'}?q=${'name="x"'}`, '/2.0/repositories/my%20ws/a%2Fb?q=name%3D%22x%22');
});

test('a hostile next link never takes the stored credential to another host', async () => {
  // "evil" stands for any host but the API: it records what reaches it.
  const stolen: Array<{ url: string; authorization: string | undefined }> = [];
  const evil = createServer((request, response) => {
    stolen.push({ url: request.url!, authorization: request.headers.authorization });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ values: ['stolen'] }));
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  const evilHost = `127.0.0.1:${(evil.address() as AddressInfo).port}`;
  try {
    const hostile = [
      `${base}//${evilHost}/2.0/items`,
      `${base}/\\${evilHost}/2.0/items`,
      `${base}/\\/${evilHost}/2.0/items`,
      `${base}///${evilHost}/2.0/items`,
      `//${evilHost}/2.0/items`,
      `http://${evilHost}/2.0/items`,
      `/\\${evilHost}/2.0/items`,
      `${base}/%2F%2F${evilHost}/2.0/items`,
      `${base}/2.0/..//${evilHost}/2.0/items`,
    ];
    for (const next of hostile) {
      const served = createServer((request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ values: ['first'], next }));
      });
      await new Promise<void>((resolve) => served.listen(0, '127.0.0.1', resolve));
      const api = `http://127.0.0.1:${(served.address() as AddressInfo).port}`;
      try {
        const client = new BitbucketClient(tokenTransport(api, 'Bearer secret-token'));
        // Followed on the API host (where it finds nothing) or refused: either way, nowhere else.
        await client.page('/2.0/first').then(async (page) => page.next === undefined ? undefined : client.page(page.next)).catch((error: unknown) => {
          if (!isLifeboatError(error)) throw error;
        });
      } finally {
        await new Promise<void>((resolve) => served.close(() => resolve()));
      }
      assert.deepEqual(stolen, [], `next ${next}`);
    }
  } finally {
    await new Promise<void>((resolve) => evil.close(() => resolve()));
  }
});
