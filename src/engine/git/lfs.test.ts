import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { collect, fromBytes } from '../streams.js';
import { lfsUrl, verified } from './lfs.js';

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
});
