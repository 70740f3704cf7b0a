import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { collect, type ByteStream } from '../streams.js';
import { FLUSH_PKT, PktLineReader, pktLine } from './pktline.js';
import { demuxSideband } from './sideband.js';

function band(number: number, payload: string | Uint8Array): Buffer {
  return pktLine(Buffer.concat([Buffer.from([number]), Buffer.from(payload)]));
}

async function* inChunks(bytes: Uint8Array, size: number): ByteStream {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

function demux(wire: Buffer, onProgress?: (line: string) => void, chunk = 3): ByteStream {
  return demuxSideband(new PktLineReader(inChunks(wire, chunk)), onProgress);
}

describe('side-band-64k', () => {
  it('yields band 1, sends band 2 to progress split on CR and LF, stops at the flush', async () => {
    const progress: string[] = [];
    const wire = Buffer.concat([
      band(2, 'Enumerating objects: 3, done.\nCounting objects:  50% (1/2)\r'),
      band(1, 'PACK'),
      band(2, 'Counting objects: 100% (2/2)'),
      band(1, new Uint8Array([0, 0, 0, 2])),
      band(2, ', done.\n'),
      band(2, 'Total 3 (delta 0)'),
      FLUSH_PKT,
      pktLine('after the flush'),
    ]);
    const data = await collect(demux(wire, (line) => progress.push(line)));
    assert.deepEqual([...data], [...Buffer.from('PACK'), 0, 0, 0, 2]);
    assert.deepEqual(progress, [
      'Enumerating objects: 3, done.',
      'Counting objects:  50% (1/2)',
      'Counting objects: 100% (2/2), done.',
      'Total 3 (delta 0)',
    ]);
  });

  it('ignores progress without a callback', async () => {
    const data = await collect(demux(Buffer.concat([band(2, 'noise\n'), band(1, 'x'), FLUSH_PKT])));
    assert.equal(data.toString(), 'x');
  });

  it('throws the band 3 message as GIT_REMOTE_ERROR', async () => {
    const wire = Buffer.concat([band(1, 'PACK'), band(3, 'upload-pack: out of memory\n'), FLUSH_PKT]);
    await assert.rejects(collect(demux(wire)), (error) =>
      isLifeboatError(error, 'GIT_REMOTE_ERROR') && error.message.endsWith('upload-pack: out of memory'));
  });

  it('throws an ERR packet as GIT_REMOTE_ERROR', async () => {
    await assert.rejects(collect(demux(Buffer.concat([pktLine('ERR access denied\n'), FLUSH_PKT]))), (error) =>
      isLifeboatError(error, 'GIT_REMOTE_ERROR') && error.message.includes('access denied'));
  });

  it('rejects an unknown band, a special packet and a missing flush', async () => {
    for (const wire of [
      Buffer.concat([band(4, 'x'), FLUSH_PKT]),
      Buffer.concat([band(1, 'x'), Buffer.from('0001')]),
      band(1, 'x'),
    ]) {
      await assert.rejects(collect(demux(wire)), (error) => isLifeboatError(error, 'GIT_PROTOCOL'));
    }
  });
});
