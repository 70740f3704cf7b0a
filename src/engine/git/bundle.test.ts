import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, gitBytes } from '../../../test/helpers/repos.js';
import { isLifeboatError } from '../errors.js';
import { collect, type ByteStream } from '../streams.js';
import { readBundle, writeBundleHeader } from './bundle.js';

async function* inChunks(bytes: Uint8Array, size: number): ByteStream {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const isCorrupt = (error: unknown): boolean => isLifeboatError(error, 'BUNDLE_CORRUPT');

describe('bundle header', () => {
  it('writes the v2 format byte for byte', () => {
    const header = writeBundleHeader({
      prerequisites: [{ oid: C, comment: 'Old tip' }, { oid: A, comment: '' }],
      refs: [{ oid: A, name: 'refs/heads/main' }, { oid: B, name: 'refs/tags/v1' }],
    });
    assert.equal(header.toString(), `# v2 git bundle\n-${C} Old tip\n-${A}\n${A} refs/heads/main\n${B} refs/tags/v1\n\n`);
  });

  it('refuses what cannot be written', () => {
    for (const header of [
      { refs: [{ oid: 'A'.repeat(40), name: 'refs/heads/main' }] },
      { refs: [{ oid: A, name: 'refs/heads/two words' }] },
      { refs: [], prerequisites: [{ oid: A, comment: 'line\nbreak' }] },
    ]) {
      assert.throws(() => writeBundleHeader(header), (error) => isLifeboatError(error, 'INTERNAL'));
    }
  });

  it('round-trips through readBundle, whatever the chunking, leaving the pack as the rest of the stream', async () => {
    const refs = [{ oid: A, name: 'refs/heads/main' }, { oid: B, name: 'refs/heads/ünïcødé/分支' }];
    const prerequisites = [{ oid: C, comment: 'Old tip' }];
    const pack = Buffer.from('PACK\0\0\0\x02 and the rest\n\n#', 'latin1');
    const bytes = Buffer.concat([writeBundleHeader({ refs, prerequisites }), pack]);
    for (const size of [1, 5, 16, 17, 100, bytes.byteLength]) {
      const bundle = await readBundle(inChunks(bytes, size));
      assert.deepEqual({ ...bundle, pack: undefined }, { version: 2, prerequisites, refs, capabilities: {}, pack: undefined });
      assert.deepEqual(await collect(bundle.pack), pack, `chunks of ${size}`);
    }
  });

  it('reads a v3 header with capabilities', async () => {
    const text = `# v3 git bundle\n@object-format=sha1\n@filter=blob:none\n-${C}\n${A} HEAD\n\nPACK`;
    const bundle = await readBundle(inChunks(Buffer.from(text), 7));
    assert.equal(bundle.version, 3);
    assert.deepEqual(bundle.capabilities, { 'object-format': 'sha1', filter: 'blob:none' });
    assert.deepEqual(bundle.prerequisites, [{ oid: C, comment: '' }]);
    assert.deepEqual(bundle.refs, [{ oid: A, name: 'HEAD' }]);
    assert.equal((await collect(bundle.pack)).toString(), 'PACK');
  });

  it('throws BUNDLE_CORRUPT on a bad header', async () => {
    for (const text of [
      '',
      'PACK\0\0\0\x02',
      '# v4 git bundle\n\n',
      `# v2 git bundle\n${A} refs/heads/main\n`,
      `# v2 git bundle\n${A.slice(1)} refs/heads/main\n\n`,
      `# v2 git bundle\n${A}\n\n`,
      `# v2 git bundle\n@object-format=sha1\n${A} refs/heads/main\n\n`,
      `# v3 git bundle\n@object-format=md5\n\n`,
      `# v2 git bundle\n${A} refs/heads/main\n-${B}\n\n`,
    ]) {
      await assert.rejects(readBundle(inChunks(Buffer.from(text, 'latin1'), 3)), isCorrupt, JSON.stringify(text));
    }
  });

  it('gives up early on a large stream that is not a bundle', async () => {
    let pulled = 0;
    async function* endless(): ByteStream {
      for (;;) {
        pulled++;
        yield Buffer.alloc(1024, 0x41);
      }
    }
    await assert.rejects(readBundle(endless()), isCorrupt);
    assert.equal(pulled, 1);
  });
});

describe('bundles git accepts', () => {
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'lifeboat-bundle-'));
    git(undefined, ['init', '--quiet', join(root, 'repo')]);
    for (const name of ['one', 'two', 'three']) {
      writeFileSync(join(root, 'repo', 'file.txt'), `${name}\n`.repeat(100));
      git(join(root, 'repo'), ['add', '.']);
      git(join(root, 'repo'), ['commit', '--quiet', '-m', name]);
    }
    git(join(root, 'repo'), ['tag', '-a', 'v1', '-m', 'v1', 'HEAD~1']);
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it('verifies and clones a full bundle written from a pack-objects pack', () => {
    const repo = join(root, 'repo');
    const refs = git(repo, ['for-each-ref', '--format=%(objectname) %(refname)']).trim().split('\n').map((line) => {
      const [oid = '', name = ''] = line.split(' ');
      return { oid, name };
    });
    const pack = gitBytes(repo, ['pack-objects', '--all', '--stdout', '--quiet'], undefined, '');
    const file = join(root, 'full.bundle');
    writeFileSync(file, Buffer.concat([writeBundleHeader({ refs }), pack]));
    git(repo, ['bundle', 'verify', '--quiet', file]);
    git(undefined, ['clone', '--quiet', '--mirror', file, join(root, 'clone.git')]);
    assert.equal(git(join(root, 'clone.git'), ['for-each-ref', '--format=%(objectname) %(refname)']), git(repo, ['for-each-ref', '--format=%(objectname) %(refname)']));
  });

  it('verifies an incremental bundle whose thin pack needs a prerequisite', () => {
    const repo = join(root, 'repo');
    const base = git(repo, ['rev-parse', 'HEAD~1']).trim();
    const tip = git(repo, ['rev-parse', 'HEAD']).trim();
    const pack = gitBytes(repo, ['pack-objects', '--revs', '--thin', '--stdout', '--quiet'], undefined, `${tip}\n^${base}\n`);
    const file = join(root, 'incremental.bundle');
    writeFileSync(file, Buffer.concat([writeBundleHeader({ refs: [{ oid: tip, name: 'refs/heads/main' }], prerequisites: [{ oid: base, comment: 'two' }] }), pack]));
    git(repo, ['bundle', 'verify', '--quiet', file]);
    const partial = join(root, 'partial.git');
    git(undefined, ['init', '--quiet', '--bare', partial]);
    git(partial, ['fetch', '--quiet', repo, `${base}:refs/heads/main`]);
    git(partial, ['fetch', '--quiet', file, '+refs/*:refs/*']);
    assert.equal(git(partial, ['rev-parse', 'refs/heads/main']).trim(), tip);
    git(partial, ['fsck', '--strict', '--no-progress']);
  });
});
