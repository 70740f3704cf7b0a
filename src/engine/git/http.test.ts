import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { collect, drain, type ByteStream } from '../streams.js';
import { GitHttp, basicAuth, infoRefsUrl, parseRemoteUrl, serviceUrl, statusError, transportError } from './http.js';
import type { HttpFetch, HttpRequestInit } from './types.js';

describe('repository URLs', () => {
  it('moves credentials out of the URL and drops trailing slashes', () => {
    assert.deepEqual(parseRemoteUrl('https://x-token-auth:s%40cr%2Ft@bitbucket.org/ws/repo.git/'), {
      url: 'https://bitbucket.org/ws/repo.git',
      credentials: { username: 'x-token-auth', password: 's@cr/t' },
    });
    assert.deepEqual(parseRemoteUrl('http://127.0.0.1:8080/repo'), { url: 'http://127.0.0.1:8080/repo' });
  });

  it('prefers credentials given explicitly', () => {
    const credentials = { username: 'x-bitbucket-api-token-auth', password: 'token' };
    assert.deepEqual(parseRemoteUrl('https://old:pw@bitbucket.org/ws/repo', credentials), { url: 'https://bitbucket.org/ws/repo', credentials });
  });

  it('refuses what is not an http(s) URL, without echoing a password', () => {
    assert.throws(() => parseRemoteUrl('git@bitbucket.org:ws/repo.git'), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    assert.throws(() => parseRemoteUrl('ssh://git@bitbucket.org/ws/repo.git'), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    assert.throws(() => parseRemoteUrl('https://user:hunter2@[bad/repo'), (error) => isLifeboatError(error, 'INVALID_ARGUMENT') && !error.message.includes('hunter2'));
  });

  it('builds the smart HTTP endpoints', () => {
    assert.equal(infoRefsUrl('https://h/r.git', 'git-upload-pack'), 'https://h/r.git/info/refs?service=git-upload-pack');
    assert.equal(serviceUrl('https://h/r.git', 'git-receive-pack'), 'https://h/r.git/git-receive-pack');
    assert.equal(basicAuth({ username: 'Aladdin', password: 'open sesame' }), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });
});

describe('HTTP failures', () => {
  const context = { url: 'https://bitbucket.org/ws/repo.git', service: 'git-upload-pack' as const, username: 'x-token-auth' };

  it('401: names the user sent (how to set credentials is each edge\'s hint)', () => {
    const error = statusError(401, 'Unauthorized', context);
    assert.equal(error.code, 'GIT_AUTH_REQUIRED');
    assert.ok(error.message.includes('"x-token-auth"'), error.message);
    assert.deepEqual(error.details, { status: 401, url: context.url, username: 'x-token-auth' });
    assert.match(statusError(401, '', { ...context, username: undefined }).message, /none were given/);
  });

  it('403: says whether read or write access is missing', () => {
    assert.match(statusError(403, '', context).message, /needs read access/);
    assert.match(statusError(403, '', { ...context, service: 'git-receive-pack' }).message, /needs write access/);
    assert.equal(statusError(403, '', context).code, 'GIT_FORBIDDEN');
  });

  it('404 is not a repository, 5xx and 429 are worth a retry, anything else GIT_HTTP', () => {
    assert.equal(statusError(404, '', context).code, 'GIT_NOT_A_REPOSITORY');
    const error = statusError(502, 'Bad Gateway', context);
    assert.equal(error.code, 'GIT_SERVER_BUSY');
    assert.equal(error.kind, 'transient');
    assert.match(error.message, /HTTP 502 Bad Gateway/);
    assert.equal(statusError(429, '', context).kind, 'transient');
    assert.equal(statusError(410, 'Gone', context).code, 'GIT_HTTP');
  });

  it('maps connection failures, cancellation, and our own errors from a request body', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    const unreachable = transportError(refused, context.url);
    assert.equal(unreachable.code, 'GIT_UNREACHABLE');
    assert.match(unreachable.message, /ECONNREFUSED/);
    assert.equal(transportError(new DOMException('aborted', 'AbortError'), context.url).code, 'ABORTED');
    assert.equal(transportError(new DOMException('timed out', 'TimeoutError'), context.url).code, 'GIT_TIMEOUT');
    const own = new LifeboatError('PACK_CORRUPT', 'bad pack');
    assert.equal(transportError(new TypeError('fetch failed', { cause: own }), context.url), own);
  });
});

describe('GitHttp', () => {
  function recording(response: Response): { fetch: (url: string, init: HttpRequestInit) => Promise<Response>; calls: { url: string; init: HttpRequestInit }[] } {
    const calls: { url: string; init: HttpRequestInit }[] = [];
    return { calls, fetch: async (url, init) => { calls.push({ url, init }); return response; } };
  }

  it('sends the user agent, Basic auth and Git-Protocol, and never puts the password in the URL', async () => {
    const fake = recording(new Response('0000', { headers: { 'Content-Type': 'application/x-git-upload-pack-advertisement' } }));
    const http = new GitHttp({ url: 'https://u:p@h/r.git', fetch: fake.fetch });
    assert.equal(http.url, 'https://h/r.git');
    assert.equal((await collect(await http.advertisement('git-upload-pack', true))).toString(), '0000');
    // Every request carries a signal: the idle timeout aborts through it.
    assert.ok(fake.calls.every(({ init }) => init.signal instanceof AbortSignal));
    assert.deepEqual(fake.calls.map(({ url, init: { signal: _signal, ...init } }) => ({ url, init })), [{
      url: 'https://h/r.git/info/refs?service=git-upload-pack',
      init: { method: 'GET', headers: { 'User-Agent': 'git/2.0 (lifeboat)', Authorization: basicAuth({ username: 'u', password: 'p' }), 'Git-Protocol': 'version=2', 'Cache-Control': 'no-cache' } },
    }]);
  });

  it('calls an answer that is not an advertisement "not a repository"', async () => {
    const fake = recording(new Response('<html>', { headers: { 'Content-Type': 'text/html; charset=utf-8' } }));
    await assert.rejects(new GitHttp({ url: 'https://h/r', fetch: fake.fetch }).advertisement('git-upload-pack', false), (error) =>
      isLifeboatError(error, 'GIT_NOT_A_REPOSITORY') && error.message.includes('text/html'));
  });

  it('streams a request body with duplex half and checks the result type', async () => {
    const fake = recording(new Response('x', { headers: { 'Content-Type': 'application/x-git-upload-pack-result' } }));
    const http = new GitHttp({ url: 'https://h/r', fetch: fake.fetch, userAgent: 'test' });
    async function* body() { yield new Uint8Array([1]); }
    await collect(await http.request('git-upload-pack', body(), false));
    const init = fake.calls[0]?.init;
    assert.equal(init?.duplex, 'half');
    assert.ok(init?.body instanceof ReadableStream);
    assert.equal(init?.headers['Content-Type'], 'application/x-git-upload-pack-request');
    assert.equal(init?.headers['User-Agent'], 'test');

    const wrong = recording(new Response('x', { headers: { 'Content-Type': 'text/plain' } }));
    await assert.rejects(new GitHttp({ url: 'https://h/r', fetch: wrong.fetch }).request('git-upload-pack', new Uint8Array(0), false), (error) => isLifeboatError(error, 'GIT_PROTOCOL'));
  });

  it('maps a status without leaking the password', async () => {
    const fake = recording(new Response('denied', { status: 401 }));
    await assert.rejects(new GitHttp({ url: 'https://x-token-auth:hunter2@h/r', fetch: fake.fetch }).advertisement('git-upload-pack', true), (error) =>
      isLifeboatError(error, 'GIT_AUTH_REQUIRED') && !error.message.includes('hunter2') && error.message.includes('x-token-auth'));
  });
});

describe('GitHttp over Node fetch (127.0.0.1)', () => {
  async function serve(listener: RequestListener, run: (base: string) => Promise<void>): Promise<void> {
    const server = createServer(listener).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  it('follows a redirect on discovery but not on a request', async () => {
    await serve((req, res) => {
      req.resume();
      if (req.url?.startsWith('/old/')) res.writeHead(301, { Location: req.url.replace('/old/', '/new/') }).end();
      else res.writeHead(200, { 'Content-Type': 'application/x-git-upload-pack-advertisement' }).end('0000');
    }, async (base) => {
      const http = new GitHttp({ url: `${base}/old` });
      assert.equal((await collect(await http.advertisement('git-upload-pack', true))).toString(), '0000');
      await assert.rejects(http.request('git-upload-pack', new Uint8Array(4), true), (error) => isLifeboatError(error, 'GIT_HTTP') && error.message.includes('redirected'));
    });
  });

  it('the idle timeout counts only time spent waiting for the server, not a slow reader', async () => {
    await serve((req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'application/x-git-upload-pack-result' });
      res.write('first');
      setTimeout(() => res.end('second'), 50);
    }, async (base) => {
      const chunks: string[] = [];
      for await (const chunk of await new GitHttp({ url: base, idleTimeoutMs: 200 }).request('git-upload-pack', new Uint8Array(4), true)) {
        chunks.push(Buffer.from(chunk).toString());
        await new Promise((resolve) => setTimeout(resolve, 400)); // the reader dawdles; the server did not stall
      }
      assert.equal(chunks.join(''), 'firstsecond');
    });
  });

  it('starts the idle clock of a streamed request (a pack being pushed) only once its body is sent', async () => {
    // As git http-backend does: headers at once, the result only after the whole request.
    await serve((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-git-receive-pack-result' }).flushHeaders();
      let received = 0;
      req.on('data', (chunk: Buffer) => { received += chunk.byteLength; });
      req.on('end', () => res.end(`received ${received}`));
    }, async (base) => {
      async function* slowUpload(): ByteStream {
        for (let i = 0; i < 8; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          yield new Uint8Array(1000);
        }
      }
      const answer = await collect(await new GitHttp({ url: base, idleTimeoutMs: 300 }).request('git-receive-pack', slowUpload(), false));
      assert.equal(answer.toString(), 'received 8000');
    });
    await serve((req) => {
      req.resume(); // reads the pack, then never answers
    }, async (base) => {
      await assert.rejects(async () => drain(await new GitHttp({ url: base, idleTimeoutMs: 300 }).request('git-receive-pack', (async function* () { yield new Uint8Array(10); })(), false)), (error) =>
        isLifeboatError(error, 'GIT_TIMEOUT'));
    });
  });

  it('gives up on a stall even when the injected fetch ignores the abort signal', async () => {
    // A body that never sends a byte, from a fetch that never looks at init.signal.
    const silent: HttpFetch = async () => ({ status: 200, headers: new Headers({ 'Content-Type': 'application/x-git-upload-pack-result' }), body: new ReadableStream<Uint8Array>() });
    await assert.rejects(async () => drain(await new GitHttp({ url: 'https://h/r', fetch: silent, idleTimeoutMs: 100 }).request('git-upload-pack', new Uint8Array(4), true)), (error) =>
      isLifeboatError(error, 'GIT_TIMEOUT') && error.message.includes('https://h/r') && error.details?.idleTimeoutMs === 100);
    const never: HttpFetch = () => new Promise(() => undefined);
    await assert.rejects(new GitHttp({ url: 'https://h/r', fetch: never, idleTimeoutMs: 100 }).advertisement('git-upload-pack', true), (error) => isLifeboatError(error, 'GIT_TIMEOUT'));
    assert.throws(() => new GitHttp({ url: 'https://h/r', idleTimeoutMs: 0 }), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
  });

  it('streams a large request body without holding it in memory', async () => {
    await serve((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/x-git-receive-pack-result' }).end('0000'));
    }, async (base) => {
      let peak = 0;
      async function* body(): ByteStream {
        for (let i = 0; i < 2048; i++) {
          peak = Math.max(peak, process.memoryUsage().arrayBuffers);
          yield Buffer.allocUnsafeSlow(64 * 1024);
        }
      }
      const start = process.memoryUsage().arrayBuffers;
      await drain(await new GitHttp({ url: base }).request('git-receive-pack', body(), false));
      assert.ok(peak - start < 64 * 1024 * 1024, `${Math.round((peak - start) / 1e6)} MB held for a 128 MiB body`);
    });
  });
});
