import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { collect, fromBytes } from '../streams.js';
import { createLfsClient, lfsUrl, servedOnLoopback, verified } from './lfs.js';
import type { HttpFetch } from './types.js';

describe('LFS client', () => {
  it('finds the LFS endpoint as git-lfs does', () => {
    assert.equal(lfsUrl('https://bitbucket.org/acme/web.git'), 'https://bitbucket.org/acme/web.git/info/lfs');
    assert.equal(lfsUrl('https://bitbucket.org/acme/web'), 'https://bitbucket.org/acme/web.git/info/lfs');
    assert.equal(lfsUrl('https://bitbucket.org/acme/web.git/'), 'https://bitbucket.org/acme/web.git/info/lfs');
  });

  it('passes an object that is its oid and size, and refuses one that is not', async () => {
    const content = Buffer.from('the object\n');
    const object = { oid: createHash('sha256').update(content).digest('hex'), size: content.byteLength };
    assert.deepEqual(await collect(verified(fromBytes(content), object)), content);
    for (const wrong of [Buffer.from('the objecT\n'), content.subarray(1), Buffer.concat([content, content])]) {
      await assert.rejects(collect(verified(fromBytes(wrong), object)), (error) => isLifeboatError(error, 'CHECKSUM_MISMATCH'));
    }
  });

  it('refuses a transfer on a host it may not reach before any request, naming the host', async () => {
    const asked: string[] = [];
    const fetch: HttpFetch = async (url) => {
      asked.push(url);
      return { status: 200, headers: new Headers(), body: null };
    };
    const client = createLfsClient({ url: 'https://bitbucket.org/acme/web.git', fetch, canReach: (url) => new URL(url).host === 'api.media.atlassian.com' });
    const object = { oid: createHash('sha256').update('').digest('hex'), size: 0 };
    const elsewhere = { href: 'https://media.example.net/file/x/binary', header: { Authorization: 'Bearer t' } };
    await assert.rejects(client.download(object, elsewhere), (error) => isLifeboatError(error, 'LFS_HOST_NOT_ALLOWED')
      && error.details?.host === 'media.example.net' && error.details.operation === 'download' && /download of LFS object [0-9a-f]{64} to media\.example\.net, a host Lifeboat may not reach/.test(error.message));
    await assert.rejects(client.upload(object, { upload: elsewhere }, fromBytes(Buffer.alloc(0))), (error) => isLifeboatError(error, 'LFS_HOST_NOT_ALLOWED') && error.details?.operation === 'upload');
    await assert.rejects(client.upload(object, { upload: { href: 'https://api.media.atlassian.com/file/x/binary' }, verify: elsewhere }, fromBytes(Buffer.alloc(0))), (error) => isLifeboatError(error, 'LFS_HOST_NOT_ALLOWED') && error.details?.operation === 'verify');
    assert.deepEqual(asked, [], 'nothing was sent');
    await collect(await client.download(object, { href: 'https://api.media.atlassian.com/file/x/binary' }));
    assert.deepEqual(asked, ['https://api.media.atlassian.com/file/x/binary']);
  });

  it('refuses, before any request, a transfer on a loopback, link-local or private address; loopback only when allowed', async () => {
    const asked: string[] = [];
    const fetch: HttpFetch = async (url) => {
      asked.push(url);
      return { status: 200, headers: new Headers(), body: null };
    };
    const object = { oid: createHash('sha256').update('').digest('hex'), size: 0 };
    const loopback = ['http://127.0.0.1:9/x', 'http://127.9.9.9/x', 'http://0x7f.1/x', 'http://2130706433/x', 'http://localhost:9/x', 'http://LOCALHOST./x', 'http://media.localhost/x', 'http://[::1]/x', 'http://[::ffff:127.0.0.1]/x', 'http://[0:0:0:0:0:ffff:7f00:1]/x'];
    // The RFC 1918 and shared (RFC 6598) ranges are written in numeric forms an attacker may use and the
    // URL parser normalises (decimal, hex, IPv4-mapped, a two-byte last part, hex octets): tests name no
    // private address in dotted form, and nothing is sent anyway (the fetch above only records).
    const elsewhere = [
      'http://169.254.169.254/latest/meta-data/', 'http://[::ffff:a9fe:a9fe]/latest/meta-data/', 'http://167837955/x', 'http://0xac100001/x', 'http://[::ffff:ac1f:ffff]/x', 'http://0xc0.0xa8.1.1/x',
      'http://0x64.0x40.0.1/x', 'http://0.0.0.0/x', 'http://0/x', 'http://224.0.0.1/x', 'http://255.255.255.255/x', 'http://[::]/x', 'http://[fe80::1]/x', 'http://[fc00::1]/x', 'http://[fd12:3456::1]/x',
      'http://[::7f00:1]/x', 'http://[64:ff9b::a9fe:a9fe]/x', 'http://[2002:a9fe:a9fe::]/x', 'file:///etc/passwd', 'ftp://media.example.net/x',
    ];
    for (const loopbackTransfers of [false, true]) {
      const client = createLfsClient({ url: 'https://bitbucket.org/acme/web.git', fetch, loopbackTransfers });
      for (const href of [...elsewhere, ...(loopbackTransfers ? [] : loopback)]) {
        await assert.rejects(client.download(object, { href }), (error) => isLifeboatError(error, 'LFS_HOST_NOT_ALLOWED'), href);
        await assert.rejects(client.upload(object, { upload: { href } }, fromBytes(Buffer.alloc(0))), (error) => isLifeboatError(error, 'LFS_HOST_NOT_ALLOWED'), href);
        await assert.rejects(client.upload(object, { upload: { href: 'https://api.media.atlassian.com/u' }, verify: { href } }, fromBytes(Buffer.alloc(0))), (error) => isLifeboatError(error, 'LFS_HOST_NOT_ALLOWED'), href);
      }
      assert.deepEqual(asked, [], 'nothing was sent');
    }
    const allowed = createLfsClient({ url: 'http://127.0.0.1:7990/acme/web.git', fetch, loopbackTransfers: true });
    for (const href of [...loopback, 'https://api.media.atlassian.com/file/x/binary', 'http://8.8.8.8/x', 'http://[2606:4700::1111]/x']) await collect(await allowed.download(object, { href }));
    assert.equal(asked.length, loopback.length + 3);
  });

  it('allows loopback transfers to a repository served on loopback only', () => {
    for (const url of ['http://127.0.0.1:7990/acme/web.git', 'http://localhost:7990/acme/web', 'http://[::1]:7990/acme/web.git']) assert.equal(servedOnLoopback(url), true, url);
    for (const url of ['https://bitbucket.org/acme/web.git', 'http://012.0.0.5/acme/web.git', 'http://169.254.169.254/x', 'not a url']) assert.equal(servedOnLoopback(url), false, url);
  });

  it('never copies a transfer host\'s answer into an error; quotes only the LFS API\'s own message', async () => {
    const answers: Record<string, { status: number; text: string }> = {
      'https://api.media.atlassian.com/down': { status: 500, text: 'SECRET instance credentials' },
      'https://api.media.atlassian.com/up': { status: 403, text: '{"message":"SECRET token"}' },
      'https://bitbucket.org/acme/web.git/info/lfs/objects/batch': { status: 422, text: '{"message":"Repository over its LFS quota"}' },
    };
    const fetch: HttpFetch = async (url) => ({ status: answers[url]!.status, headers: new Headers(), body: new Response(answers[url]!.text).body });
    const client = createLfsClient({ url: 'https://bitbucket.org/acme/web.git', fetch });
    const object = { oid: createHash('sha256').update('').digest('hex'), size: 0 };
    await assert.rejects(client.download(object, { href: 'https://api.media.atlassian.com/down' }), (error) => isLifeboatError(error, 'GIT_SERVER_BUSY') && /HTTP 500 to download LFS object [0-9a-f]{64}$/.test(error.message));
    await assert.rejects(client.upload(object, { upload: { href: 'https://api.media.atlassian.com/up' } }, fromBytes(Buffer.alloc(0))), (error) => isLifeboatError(error, 'GIT_FORBIDDEN') && !error.message.includes('SECRET') && /HTTP 403/.test(error.message));
    await assert.rejects(client.batch('download', [object]), (error) => isLifeboatError(error, 'GIT_HTTP') && /HTTP 422 to a batch download request: Repository over its LFS quota$/.test(error.message));
    answers['https://bitbucket.org/acme/web.git/info/lfs/objects/batch'] = { status: 502, text: '<html>SECRET proxy page</html>' };
    await assert.rejects(client.batch('download', [object]), (error) => isLifeboatError(error, 'GIT_SERVER_BUSY') && /HTTP 502 to a batch download request$/.test(error.message));
  });

  it('checks every redirect of a download as it checks the href: a public host cannot send it to a private address', async () => {
    const content = Buffer.from('the object\n');
    const object = { oid: createHash('sha256').update(content).digest('hex'), size: content.byteLength };
    const asked: Array<{ url: string; authorization: string | undefined }> = [];
    const redirects: Record<string, string> = {
      'https://api.media.atlassian.com/away': 'http://169.254.169.254/latest/meta-data/',
      'https://api.media.atlassian.com/hop': 'https://cdn.example.net/object',
    };
    // A server that redirects; unless asked for redirects as answers, it follows them itself as fetch would.
    const fetch: HttpFetch = async (url, init) => {
      let at = url;
      asked.push({ url: at, authorization: init.headers.Authorization });
      while (redirects[at] !== undefined && init.redirect !== 'manual') {
        at = redirects[at]!;
        asked.push({ url: at, authorization: undefined });
      }
      if (redirects[at] !== undefined) return { status: 302, headers: new Headers({ location: redirects[at]! }), body: null };
      return { status: 200, headers: new Headers(), body: new Response(content).body };
    };
    const client = createLfsClient({ url: 'https://bitbucket.org/acme/web.git', fetch });
    await assert.rejects(client.download(object, { href: 'https://api.media.atlassian.com/away' }), (error) => isLifeboatError(error, 'LFS_HOST_NOT_ALLOWED') && error.details?.host === '169.254.169.254');
    assert.deepEqual(asked.map(({ url }) => url), ['https://api.media.atlassian.com/away'], 'the metadata service was never asked');
    asked.length = 0;
    assert.deepEqual(await collect(await client.download(object, { href: 'https://api.media.atlassian.com/hop', header: { Authorization: 'Bearer media' } })), content);
    assert.deepEqual(asked, [{ url: 'https://api.media.atlassian.com/hop', authorization: 'Bearer media' }, { url: 'https://cdn.example.net/object', authorization: undefined }]);
  });

  it('follows a redirect with Node\'s fetch, hop by hop', async () => {
    const content = Buffer.from('the object\n');
    const object = { oid: createHash('sha256').update(content).digest('hex'), size: content.byteLength };
    const served: string[] = [];
    const server = createServer((request, response) => {
      served.push(request.url!);
      if (request.url === '/hop') response.writeHead(307, { location: '/object' }).end();
      else response.writeHead(200).end(content);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = createLfsClient({ url: `${origin}/acme/web.git`, loopbackTransfers: true });
      assert.deepEqual(await collect(await client.download(object, { href: `${origin}/hop` })), content);
      assert.deepEqual(served, ['/hop', '/object']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
