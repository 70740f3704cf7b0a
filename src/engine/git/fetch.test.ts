import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { fetchRequest, writeFetchRequestV2, writeUploadRequestV0 } from './fetch.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('fetch request', () => {
  it('keeps one want per distinct oid and checks them', () => {
    assert.deepEqual(fetchRequest({ wants: [A, B, A], haves: [C, C] }), { wants: [A, B], haves: [C], progress: false });
    assert.equal(fetchRequest({ wants: [A], onProgress: () => undefined }).progress, true);
    assert.throws(() => fetchRequest({ wants: [] }), (error) => isLifeboatError(error, 'INTERNAL'));
    assert.throws(() => fetchRequest({ wants: ['HEAD'] }), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
  });

  it('writes the v2 fetch command', () => {
    const body = writeFetchRequestV2(['agent=git/2.39.5', 'fetch=shallow'], { wants: [A, B], haves: [C], progress: false });
    assert.equal(body.toString(), [
      '0012command=fetch\n',
      '0013agent=lifeboat\n',
      '0001',
      '000ethin-pack\n',
      '000eofs-delta\n',
      '0010no-progress\n',
      `0032want ${A}\n`,
      `0032want ${B}\n`,
      `0032have ${C}\n`,
      '0009done\n',
      '0000',
    ].join(''));
  });

  it('asks for v2 progress by leaving out no-progress', () => {
    const body = writeFetchRequestV2(['fetch'], { wants: [A], haves: [], progress: true }).toString();
    assert.ok(!body.includes('no-progress'));
    assert.ok(!body.includes('agent='), 'no agent unless the server advertises one');
  });

  it('writes the v0 upload-pack request with the advertised capabilities on the first want', () => {
    const advertised = ['multi_ack', 'side-band-64k', 'ofs-delta', 'no-progress', 'agent=git/2.39.5'];
    const body = writeUploadRequestV0(advertised, { wants: [A, B], haves: [C], progress: false });
    const first = `want ${A} side-band-64k ofs-delta no-progress agent=lifeboat\n`;
    assert.equal(body.toString(), [
      `${(first.length + 4).toString(16).padStart(4, '0')}${first}`,
      `0032want ${B}\n`,
      '0000',
      `0032have ${C}\n`,
      '0009done\n',
    ].join(''));
  });
});
