import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, gitBytes } from '../../../test/helpers/repos.js';
import { isLifeboatError } from '../errors.js';
import { collect, type ByteStream } from '../streams.js';
import { checkPack, checkedPack } from './pack-check.js';
import { EMPTY_PACK } from './push.js';

async function* inChunks(bytes: Uint8Array, size: number): ByteStream {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

const isCorrupt = (error: unknown): boolean => isLifeboatError(error, 'PACK_CORRUPT');

let root: string;
let pack: Buffer;
let objectCount: number;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-pack-check-'));
  git(undefined, ['init', '--quiet', root]);
  for (const name of ['a', 'b', 'c']) {
    writeFileSync(join(root, `${name}.txt`), `${name}\n`.repeat(200));
    git(root, ['add', '.']);
    git(root, ['commit', '--quiet', '-m', name]);
  }
  pack = gitBytes(root, ['pack-objects', '--all', '--stdout', '--quiet'], undefined, '');
  objectCount = git(root, ['rev-list', '--objects', '--all']).trim().split('\n').length;
});

after(() => rmSync(root, { recursive: true, force: true }));

describe('checkedPack', () => {
  it('passes a pack from git pack-objects through unchanged and reports its stats', async () => {
    for (const size of [1, 7, 19, 20, 21, 64, pack.byteLength]) {
      const checked = checkedPack(inChunks(pack, size));
      assert.deepEqual(await collect(checked), pack, `chunks of ${size}`);
      assert.deepEqual(checked.stats, {
        version: 2,
        objectCount,
        trailer: pack.subarray(-20).toString('hex'),
        bytes: pack.byteLength,
      });
    }
  });

  it('yields the very chunks it was given', async () => {
    const seen: Uint8Array[] = [];
    for await (const chunk of checkedPack(inChunks(pack, 100))) seen.push(chunk);
    assert.equal(seen[1]?.buffer, pack.buffer);
  });

  it('fails on a flipped byte', async () => {
    for (const offset of [20, pack.byteLength >> 1, pack.byteLength - 1]) {
      const flipped = Buffer.from(pack);
      flipped[offset] = (flipped[offset] ?? 0) ^ 0x40;
      await assert.rejects(collect(checkedPack(inChunks(flipped, 50))), isCorrupt, `offset ${offset}`);
    }
  });

  it('fails on a truncated pack', async () => {
    for (const length of [pack.byteLength - 1, pack.byteLength - 25, 31, 12, 3, 0]) {
      await assert.rejects(collect(checkedPack(inChunks(pack.subarray(0, length), 16))), isCorrupt, `${length} bytes`);
    }
  });

  it('fails on a wrong signature or version before yielding anything', async () => {
    const notAPack = Buffer.from(pack);
    notAPack.write('PACX', 0, 'latin1');
    const version4 = Buffer.from(pack);
    version4.writeUInt32BE(4, 4);
    for (const bytes of [notAPack, version4]) {
      await assert.rejects(checkedPack(inChunks(bytes, 64))[Symbol.asyncIterator]().next(), isCorrupt);
    }
  });
});

describe('checkPack', () => {
  it('returns the stats of a whole pack', async () => {
    const stats = await checkPack(inChunks(pack, 4096));
    assert.equal(stats.objectCount, objectCount);
    assert.equal(stats.trailer, createHash('sha1').update(pack.subarray(0, -20)).digest('hex'));
  });

  it('accepts the empty pack a push sends', async () => {
    assert.deepEqual(await checkPack(inChunks(EMPTY_PACK, 32)), {
      version: 2,
      objectCount: 0,
      trailer: EMPTY_PACK.subarray(12).toString('hex'),
      bytes: 32,
    });
  });

  it('throws PACK_CORRUPT for a bad pack', async () => {
    await assert.rejects(checkPack(inChunks(pack.subarray(0, -1), 4096)), isCorrupt);
  });
});
