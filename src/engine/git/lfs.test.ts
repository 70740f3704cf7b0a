import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { collect, fromBytes } from '../streams.js';
import { createLfsClient, lfsUrl, verified } from './lfs.js';
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
});
