import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { write } from '../../../test/helpers/fixtures.js';
import { git, gitBytes } from '../../../test/helpers/repos.js';
import { BLOB, type PackObjectHeader, PackWalker } from './pack-walk.js';

const root = mkdtempSync(join(tmpdir(), 'lifeboat-pack-walk-'));
after(() => rmSync(root, { recursive: true, force: true }));

const work = join(root, 'work');
git(undefined, ['init', '--quiet', work]);
for (let round = 0; round < 4; round++) {
  write(work, `random-${round}.bin`, randomBytes(30_000));
  write(work, 'text.txt', Array.from({ length: 2000 }, (_, line) => `line ${line}${line === round ? ' edited' : ''}\n`).join(''));
  write(work, `small-${round}.txt`, `small ${round}\n`);
  git(work, ['add', '-A']);
  git(work, ['commit', '--quiet', '-m', `round ${round}`]);
}
const pack = gitBytes(work, ['pack-objects', '--revs', '--stdout', '--delta-base-offset'], undefined, 'HEAD\n');
const objectCount = pack.readUInt32BE(8);

async function walk(bytes: Buffer, chunk: number, wants?: (header: PackObjectHeader) => boolean): Promise<PackObjectHeader[]> {
  const handed: PackObjectHeader[] = [];
  const walker = new PackWalker({ ...(wants ? { wants } : {}), object: (header) => handed.push(header) });
  for (let at = 0; at < bytes.byteLength; at += chunk) await walker.write(bytes.subarray(at, at + chunk));
  await walker.end();
  return handed;
}

/** Large blobs (over the 256 KiB read at once): incompressible (stored deflate blocks), and stored blocks then a compressed one copying from them. */
const large = join(root, 'large');
git(undefined, ['init', '--quiet', large]);
const random = randomBytes(300 * 1024);
write(large, 'random.bin', randomBytes(600 * 1024));
write(large, 'mixed.bin', Buffer.concat([random, ...Array.from({ length: 8 }, () => random.subarray(random.byteLength - 30_000, random.byteLength - 10_000))]));
write(large, 'small.txt', 'small\n');
git(large, ['add', '-A']);
git(large, ['commit', '--quiet', '-m', 'large']);
const largePack = gitBytes(large, ['pack-objects', '--revs', '--stdout', '--delta-base-offset'], undefined, 'HEAD\n');

describe('PackWalker', () => {
  it('hands over only the objects the visitor wants, and still walks every object to the pack\'s end', async () => {
    const all = await walk(pack, 8192);
    assert.equal(all.length, objectCount);
    const smallBlobs = all.filter((header) => header.type === BLOB && header.size < 100).map((header) => header.offset);
    assert.equal(smallBlobs.length, 4);
    for (const chunk of [1, 4096, pack.byteLength]) {
      const asked: number[] = [];
      const handed = await walk(pack, chunk, (header) => {
        asked.push(header.offset);
        return header.type === BLOB && header.size < 100;
      });
      assert.deepEqual(asked, all.map((header) => header.offset), `chunks of ${chunk}: asked about every object`);
      assert.deepEqual(handed.map((header) => header.offset), smallBlobs, `chunks of ${chunk}`);
    }
  });

  it('skips large objects nobody reads to the same ends as inflating them', async () => {
    const inflated: number[] = [];
    const read = new PackWalker({
      object: () => undefined,
      large: (header) => {
        let bytes = 0;
        return { data: (chunk) => { bytes += chunk.byteLength; }, end: () => { assert.equal(bytes, header.size); inflated.push(header.size); } };
      },
    });
    for (let at = 0; at < largePack.byteLength; at += 65536) await read.write(largePack.subarray(at, at + 65536));
    await read.end();
    assert.deepEqual(inflated.sort((a, b) => a - b), [random.byteLength + 8 * 20_000, 600 * 1024]);
    for (const chunk of [1, 4096, 65536]) {
      const handed = await walk(largePack, chunk);
      assert.deepEqual(handed.map((header) => header.type).sort(), [1, 2, 3], `chunks of ${chunk}: the commit, the tree and the small blob whole, the large blobs skipped`);
    }
  });

  it('fails on a large object that is damaged', async () => {
    // The first stored block's LEN of the incompressible blob: its zlib stream starts after its header.
    const at = largePack.indexOf(Buffer.from([0x78, 0x9c, 0x00]));
    assert.ok(at > 0);
    const damaged = Buffer.from(largePack);
    damaged[at + 3] = damaged[at + 3]! ^ 0xff;
    await assert.rejects(walk(damaged, 4096), { code: 'PACK_CORRUPT', message: /length does not match/ });
    await assert.rejects(walk(largePack.subarray(0, largePack.byteLength - 1000), 4096), { code: 'PACK_CORRUPT' });
  });

  it('fails on a pack cut short or damaged, whether it reads the object or skips it', async () => {
    for (const wants of [undefined, () => false]) {
      await assert.rejects(walk(pack.subarray(0, pack.byteLength - 100), 4096, wants), { code: 'PACK_CORRUPT' });
      const damaged = Buffer.from(pack);
      // The first object's zlib header (after the pack header and the object's one-or-two-byte header).
      const at = 12 + ((damaged[12]! & 0x80) ? 2 : 1);
      damaged[at + 1] = damaged[at + 1]! ^ 0xff;
      await assert.rejects(walk(damaged, 4096, wants), { code: 'PACK_CORRUPT' });
    }
  });
});
