import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { constants, deflateSync } from 'node:zlib';
import { zlibStreamLength } from './zlib-end.js';

const text = (bytes: number): Buffer => Buffer.from(Array.from({ length: Math.ceil(bytes / 40) }, (_, line) => `line ${line} of some text, ${line % 13}\n`).join('').slice(0, bytes));
const inputs = [Buffer.alloc(0), Buffer.from('x'), text(300), randomBytes(300), text(70_000), randomBytes(150_000), Buffer.concat([randomBytes(40_000), text(40_000), randomBytes(40_000)])];
const TRAILING = Buffer.from('the next object');

describe('zlibStreamLength', () => {
  it('finds where stored and fixed-Huffman streams end, as zlib does, and leaves dynamic ones to zlib', () => {
    for (const input of inputs) {
      for (const [level, strategy] of [[0, constants.Z_DEFAULT_STRATEGY], [1, constants.Z_FIXED], [9, constants.Z_FIXED], [6, constants.Z_DEFAULT_STRATEGY], [9, constants.Z_HUFFMAN_ONLY]] as const) {
        const stream = deflateSync(input, { level, strategy });
        const length = zlibStreamLength(Buffer.concat([stream, TRAILING]), input.byteLength);
        const what = `${input.byteLength} bytes, level ${level}, strategy ${strategy}`;
        // Stored and fixed blocks only: always read; otherwise read exactly or left to zlib.
        if (level === 0 || strategy === constants.Z_FIXED) assert.equal(length, stream.byteLength, what);
        else assert.ok(length === undefined || length === stream.byteLength, what);
      }
    }
  });

  it('says nothing of a stream cut off, of another size, or damaged', () => {
    for (const input of [text(300), randomBytes(70_000)]) {
      for (const level of [0, 1]) {
        const stream = deflateSync(input, { level, strategy: constants.Z_FIXED });
        assert.equal(zlibStreamLength(stream, input.byteLength), stream.byteLength);
        for (const cut of [1, 2, 3, 5, stream.byteLength >> 1, stream.byteLength - 4, stream.byteLength - 1]) {
          assert.equal(zlibStreamLength(stream.subarray(0, cut), input.byteLength), undefined, `cut at ${cut}`);
        }
        assert.equal(zlibStreamLength(stream, input.byteLength + 1), undefined);
        assert.equal(zlibStreamLength(stream, input.byteLength - 1), undefined);
        const damaged = Buffer.from(stream);
        damaged[1] = damaged[1]! ^ 1; // the header check
        assert.equal(zlibStreamLength(damaged, input.byteLength), undefined);
      }
    }
    // A stored block whose NLEN is not the complement of LEN.
    const stored = deflateSync(Buffer.from('stored'), { level: 0 });
    stored[5] = stored[5]! ^ 0xff;
    assert.equal(zlibStreamLength(stored, 6), undefined);
  });
});
