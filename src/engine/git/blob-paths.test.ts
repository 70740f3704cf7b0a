import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { write } from '../../../test/helpers/fixtures.js';
import { git, gitBytes } from '../../../test/helpers/repos.js';
import { BlobPathFinder } from './blob-paths.js';
import { PackWalker } from './pack-walk.js';

const root = mkdtempSync(join(tmpdir(), 'lifeboat-blob-paths-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function find(packs: Buffer[], targets: string[], budget = 1 << 20): Promise<{ paths: Map<string, string>; exhausted: boolean }> {
  const finder = new BlobPathFinder(new Set(targets), budget);
  for (const pack of packs) {
    const walker = new PackWalker(finder.pack());
    for (let at = 0; at < pack.byteLength; at += 4096) await walker.write(pack.subarray(at, at + 4096));
    await walker.end();
  }
  return { paths: finder.paths(), exhausted: finder.exhausted };
}

describe('BlobPathFinder', () => {
  const work = join(root, 'work');
  git(undefined, ['init', '--quiet', work]);
  // Many commits to a directory of many entries: git deltifies its trees, against each other and, in a thin pack, against the earlier pack's.
  for (let commit = 0; commit < 12; commit++) {
    // The same 30 files each time, one changed: the trees differ by one entry, which git stores as deltas.
    for (let file = 0; file < 30; file++) write(work, `media/videos/file-${file}.txt`, `file ${file}${file === commit ? ' changed' : ''}\n`);
    write(work, 'media/videos/clip.bin', `version ${commit}\n`);
    git(work, ['add', '-A']);
    git(work, ['commit', '--quiet', '-m', `commit ${commit}`]);
  }
  // Older versions: git stores the newest objects whole and the older ones as deltas against them.
  const first = git(work, ['rev-parse', 'HEAD~9:media/videos/clip.bin']).trim();
  const last = git(work, ['rev-parse', 'HEAD~3:media/videos/clip.bin']).trim();
  const full = gitBytes(work, ['pack-objects', '--revs', '--stdout', '--delta-base-offset'], undefined, 'HEAD~6\n');
  const thin = gitBytes(work, ['pack-objects', '--revs', '--stdout', '--delta-base-offset', '--thin'], undefined, 'HEAD\n^HEAD~6\n');

  it('names each blob by its path, through deltified trees, across a thin pack', async () => {
    const { paths, exhausted } = await find([full, thin], [first, last]);
    assert.equal(exhausted, false);
    assert.equal(paths.get(first), 'media/videos/clip.bin');
    assert.equal(paths.get(last), 'media/videos/clip.bin', 'a blob of the thin pack, in trees that may be deltas against the first pack\'s');
  });

  it('past its budget it keeps no more trees and names only what it completed', async () => {
    const { paths, exhausted } = await find([full, thin], [first, last], 2000);
    assert.equal(exhausted, true);
    assert.equal(paths.get(last), undefined);
  });
});
