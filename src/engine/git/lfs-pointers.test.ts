import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lfsObject, pointerFile } from '../../../test/helpers/lfs.js';
import { write } from '../../../test/helpers/fixtures.js';
import { git, gitBytes } from '../../../test/helpers/repos.js';
import { LfsPointerScanner, type PointerRecord, blobId, canonicalPointer, parsePointer } from './lfs-pointers.js';

const root = mkdtempSync(join(tmpdir(), 'lifeboat-lfs-scan-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function scan(pack: Buffer, chunk: number, known: PointerRecord[] = []): Promise<{ pointers: PointerRecord[]; maxHeld: number }> {
  const scanner = new LfsPointerScanner(known);
  for (let at = 0; at < pack.byteLength; at += chunk) await scanner.write(pack.subarray(at, at + chunk));
  return { pointers: (await scanner.end()).pointers, maxHeld: scanner.maxHeldBytes };
}

function packOf(work: string, revs: string, thin = false): Buffer {
  return gitBytes(work, ['pack-objects', '--revs', '--stdout', '--delta-base-offset', ...(thin ? ['--thin'] : [])], undefined, revs);
}

/** Object types as git verify-pack lists them: id → whether it is stored as a delta. */
function deltified(work: string): Set<string> {
  const packDir = join(work, '.git/objects/pack');
  const index = readdirSync(packDir).find((name) => name.endsWith('.idx'))!;
  const lines = git(work, ['verify-pack', '-v', join(packDir, index)]).split('\n');
  return new Set(lines.map((line) => line.split(/\s+/)).filter((fields) => fields.length >= 7 && /^[0-9a-f]{40}$/.test(fields[6] ?? '')).map((fields) => fields[0]!));
}

describe('parsePointer', () => {
  const object = lfsObject(10);
  it('reads canonical pointers and pointers with extensions', () => {
    assert.deepEqual(parsePointer(Buffer.from(canonicalPointer(object.oid, object.size))), { oid: object.oid, size: object.size });
    assert.deepEqual(parsePointer(Buffer.from(pointerFile(object, 3))), { oid: object.oid, size: object.size });
  });
  it('refuses what is not a pointer', () => {
    for (const text of [
      'hello\n',
      `oid sha256:${object.oid}\nsize 10\n`,
      `version https://git-lfs.github.com/spec/v1\nsize 10\noid sha256:${object.oid}\n`, // keys out of order
      `version https://git-lfs.github.com/spec/v1\noid sha256:${object.oid}\nsize 10`, // no final newline
      `version https://git-lfs.github.com/spec/v1\noid sha256:${object.oid.slice(1)}\nsize 10\n`,
      `version https://git-lfs.github.com/spec/v1\noid sha256:${object.oid}\nsize ten\n`,
      `version https://git-lfs.github.com/spec/v1\noid sha256:${object.oid}\nsize 10\n${'x'.repeat(1100)}\n`,
    ]) assert.equal(parsePointer(Buffer.from(text)), undefined, text);
  });
});

describe('LfsPointerScanner', () => {
  const work = join(root, 'work');
  git(undefined, ['init', '--quiet', work]);
  const first = lfsObject();
  const second = lfsObject();
  const plain = lfsObject();
  write(work, 'assets/first.bin', pointerFile(first, 3));
  write(work, 'notes.txt', 'a small file that is no pointer\n');
  write(work, 'plain.bin', canonicalPointer(plain.oid, plain.size));
  git(work, ['add', '-A']);
  git(work, ['commit', '--quiet', '-m', 'first']);
  write(work, 'assets/second.bin', pointerFile(second, 3));
  git(work, ['add', '-A']);
  git(work, ['commit', '--quiet', '-m', 'second']);
  git(work, ['repack', '-adfq', '--depth=50', '--window=250']);
  const ids = {
    first: git(work, ['rev-parse', 'HEAD:assets/first.bin']).trim(),
    second: git(work, ['rev-parse', 'HEAD:assets/second.bin']).trim(),
    plain: git(work, ['rev-parse', 'HEAD:plain.bin']).trim(),
  };

  it('finds every pointer of a pack, deltified ones included, whatever the chunking', async () => {
    const deltas = deltified(work);
    assert.ok(deltas.has(ids.first) || deltas.has(ids.second), 'git stored one of the two pointers as a delta');
    const pack = packOf(work, 'HEAD\n');
    for (const chunk of [7, 1000, pack.byteLength]) {
      const { pointers } = await scan(pack, chunk);
      const byBlob = new Map(pointers.map((pointer) => [pointer.blob, pointer]));
      assert.equal(pointers.length, 3, `chunks of ${chunk}`);
      assert.deepEqual(byBlob.get(ids.first), { blob: ids.first, oid: first.oid, size: first.size, text: pointerFile(first, 3) });
      assert.deepEqual(byBlob.get(ids.second), { blob: ids.second, oid: second.oid, size: second.size, text: pointerFile(second, 3) });
      assert.deepEqual(byBlob.get(ids.plain), { blob: ids.plain, oid: plain.oid, size: plain.size });
    }
  });

  it('resolves a thin pack against the pointers an earlier pack recorded', async () => {
    const earlier = await scan(packOf(work, 'HEAD\n'), 4096);
    const third = lfsObject();
    write(work, 'assets/first.bin', pointerFile(third, 3));
    git(work, ['commit', '--quiet', '-am', 'third']);
    const thin = packOf(work, 'HEAD\n^HEAD~1\n', true);
    // The new pointer is a delta against the old one, which is not in this pack.
    const oldId = ids.first;
    assert.ok(thin.includes(Buffer.from(oldId, 'hex')), 'the thin pack names its outside base');
    const newId = git(work, ['rev-parse', 'HEAD:assets/first.bin']).trim();
    const withRecords = await scan(thin, 512, earlier.pointers);
    assert.deepEqual(withRecords.pointers, [{ blob: newId, oid: third.oid, size: third.size, text: pointerFile(third, 3) }]);
    const withoutRecords = await scan(thin, 512);
    assert.deepEqual(withoutRecords.pointers, [], 'without the earlier record the base is unknown');
  });

  it('streams a large blob through without holding it', async () => {
    const big = join(root, 'big');
    git(undefined, ['init', '--quiet', big]);
    write(big, 'huge.dat', randomBytes(24 * 1024 * 1024));
    const object = lfsObject();
    write(big, 'small.bin', canonicalPointer(object.oid, object.size));
    git(big, ['add', '-A']);
    git(big, ['commit', '--quiet', '-m', 'big']);
    const pack = packOf(big, 'HEAD\n');
    assert.ok(pack.byteLength > 24 * 1024 * 1024);
    const { pointers, maxHeld } = await scan(pack, 64 * 1024);
    assert.deepEqual(pointers.map((pointer) => pointer.oid), [object.oid]);
    assert.ok(maxHeld < 512 * 1024, `held at most ${maxHeld} bytes`);
  });

  it('finds the same pointers in a pack of many large blobs and a few pointers as reading every blob does', async () => {
    const mixed = join(root, 'mixed');
    git(undefined, ['init', '--quiet', mixed]);
    const objects = [lfsObject(), lfsObject(), lfsObject()];
    // Text that zlib codes with dynamic Huffman tables, edited so that git deltifies it.
    let text = Array.from({ length: 4000 }, (_, line) => `line ${line} of a file that compresses well ${line % 7}\n`).join('');
    for (let round = 0; round < 6; round++) {
      // Incompressible blobs (stored deflate blocks), one over the walker's 256 KiB limit for reading an object at once.
      for (let index = 0; index < 8; index++) write(mixed, `bin/${round}-${index}.dat`, randomBytes(round === 0 && index === 0 ? 600 * 1024 : 20 * 1024 + index * 4096));
      text = text.replace(`line ${round * 10} `, `line ${round * 10} edited `);
      write(mixed, 'big.txt', text);
      write(mixed, `small/${round}.txt`, `a short file ${round}\n`);
      // Pointers with extension lines deltify one against another; the canonical one never does.
      write(mixed, 'assets/a.bin', pointerFile(objects[round % 2]!, 3));
      if (round === 3) write(mixed, 'assets/c.bin', canonicalPointer(objects[2]!.oid, objects[2]!.size));
      // Pointer-like, but no pointer (keys out of order): kept as a base, never reported.
      write(mixed, 'assets/near.txt', `version https://git-lfs.github.com/spec/v1\nsize ${round}\noid sha256:${objects[0]!.oid}\n`);
      git(mixed, ['add', '-A']);
      git(mixed, ['commit', '--quiet', '-m', `round ${round}`]);
    }
    git(mixed, ['repack', '-adfq', '--depth=50', '--window=250']);
    // What reading every small blob of the repository finds.
    const expected = git(mixed, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize)']).trim().split('\n')
      .map((line) => line.split(' '))
      .filter(([, type, size]) => type === 'blob' && Number(size) <= 1024)
      .flatMap(([id]) => {
        const content = gitBytes(mixed, ['cat-file', 'blob', id!]);
        const pointer = parsePointer(content);
        return pointer ? [{ blob: id!, ...pointer, ...(content.toString() === canonicalPointer(pointer.oid, pointer.size) ? {} : { text: content.toString() }) }] : [];
      })
      .sort((a, b) => a.blob.localeCompare(b.blob));
    assert.equal(expected.length, 3);
    const deltas = deltified(mixed);
    assert.ok(expected.some((pointer) => deltas.has(pointer.blob)), 'git stored a pointer as a delta');
    const pack = packOf(mixed, 'HEAD\n');
    for (const chunk of [8192, 65536]) {
      const { pointers } = await scan(pack, chunk);
      assert.deepEqual([...pointers].sort((a, b) => a.blob.localeCompare(b.blob)), expected, `chunks of ${chunk}`);
    }
  });

  it('computes git blob ids', () => {
    assert.equal(blobId(Buffer.from('hello\n')), 'ce013625030ba8dba906f756967f9e9ca394464a');
  });
});
