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
