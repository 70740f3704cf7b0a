import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readZip, writeZip } from './zip.js';

describe('zip', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-zip-test-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const entries = [
    { name: 'db-2.0.json', data: Buffer.from('{"issues":[]}\n') },
    { name: 'attachments/ünïcode name.bin', data: randomBytes(70_000) },
    { name: 'empty', data: Buffer.alloc(0) },
  ];

  it('writes archives that unzip accepts, byte for byte', async () => {
    const file = join(dir, 'written.zip');
    await writeFile(file, writeZip(entries, new Date('2026-10-12T09:30:04Z')));
    execFileSync('unzip', ['-tq', file]);
    const listing = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing, entries.map((e) => e.name));
    const out = join(dir, 'out');
    execFileSync('unzip', ['-q', file, '-d', out]);
    for (const entry of entries) assert.deepEqual(await readFile(join(out, entry.name)), entry.data);
    assert.match(execFileSync('unzip', ['-l', file], { encoding: 'utf8' }), /2026-10-12 09:30/);
  });

  it('reads its own archives and deflated ones made by zip', async () => {
    assert.deepEqual(readZip(writeZip(entries, new Date())), entries);
    const source = join(dir, 'source');
    await mkdir(join(source, 'attachments'), { recursive: true });
    await writeFile(join(source, 'db-2.0.json'), 'x'.repeat(10_000));
    await writeFile(join(source, 'attachments', 'a'), 'abc');
    execFileSync('zip', ['-qr', '-9', join(dir, 'made.zip'), '.'], { cwd: source });
    const read = readZip(await readFile(join(dir, 'made.zip')));
    assert.deepEqual(read.map((e) => [e.name, e.data.toString()]).sort(), [['attachments/a', 'abc'], ['db-2.0.json', 'x'.repeat(10_000)]]);
  });

  it('refuses damaged archives', () => {
    const archive = writeZip([{ name: 'a.txt', data: Buffer.from('hello world') }], new Date());
    const damaged = Buffer.from(archive);
    damaged[30 + 'a.txt'.length] = 'H'.charCodeAt(0);
    assert.throws(() => readZip(damaged), /CRC/);
    assert.throws(() => readZip(archive.subarray(0, archive.length - 10)), /end of central directory/);
    assert.throws(() => readZip(Buffer.from('not a zip')), /end of central directory/);
  });
});
