/**
 * Restore into a new local bare repository with the local git: the CLI's way to
 * rebuild a repository on this machine (the engine's restore pushes over the wire).
 */
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { basename, dirname, join, resolve } from 'node:path';
import { LifeboatError } from '../../engine/errors.js';
import { type RestoreReport, type RestoreSource, selectRefs } from '../../engine/remote-restore.js';
import { openStoredBundle } from '../../engine/stored-bundle.js';
import { type LfsRestoreReport, readLfsObject, snapshotLfs } from '../../engine/lfs.js';
import { runGit } from './local-git.js';

/**
 * A bare repository holding exactly the snapshot's refs, built with the local git:
 * each pack streams into `git index-pack --stdin --fix-thin`, then one ref
 * transaction. Built beside `directory` and renamed into place only when complete.
 */
export async function restoreToDirectory(source: RestoreSource & { directory: string }): Promise<RestoreReport> {
  const { manifest } = source;
  const directory = resolve(source.directory);
  const { selected } = selectRefs(manifest, source.only, false);
  if (await isNonEmptyDirectory(directory)) {
    throw new LifeboatError('RESTORE_TARGET_NOT_EMPTY', `${directory} exists and is not empty; choose a new folder.`);
  }
  await mkdir(dirname(directory), { recursive: true });
  const work = join(dirname(directory), `.${basename(directory)}.lifeboat-partial-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  let lfs: LfsRestoreReport | undefined;
  try {
    await runGit(['init', '--quiet', '--bare', work]);
    for (const [index, entry] of manifest.bundles.entries()) {
      source.onProgress?.({ phase: 'bundle', bundle: index + 1, bundles: manifest.bundles.length, bytes: entry.size, resumed: false });
      const bundle = await openStoredBundle(source.store, manifest, entry, source.identities);
      await runGit(['-C', work, 'index-pack', '--stdin', '--fix-thin'], bundle.pack);
    }
    const transaction = selected.map((ref) => `create ${ref.name} ${ref.oid}\n`).join('');
    if (transaction) await runGit(['-C', work, 'update-ref', '--stdin'], Buffer.from(transaction));
    // HEAD follows the snapshot unless it names a ref this restore left out.
    const head = manifest.head.symref;
    if (head && (!source.only || source.only.includes(head))) await runGit(['-C', work, 'symbolic-ref', 'HEAD', head]);
    // Every ref must reach complete history: a missing object fails here, not in the user's hands later.
    if (selected.length > 0) await runGit(['-C', work, 'rev-list', '--objects', '--all', '--quiet']);
    lfs = await writeLfsObjects(source, work);
    await rm(directory, { recursive: true, force: true });
    await rename(work, directory);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  source.onProgress?.({ phase: 'refs', refs: selected.length });
  return {
    snapshot: manifest.id, mode: 'directory', refs: selected.map((ref) => ({ from: ref.name, to: ref.name, oid: ref.oid })), leftOut: [], bundlesApplied: manifest.bundles.length, bundlesResumed: 0,
    ...(lfs ? { lfs } : {}),
  };
}

/**
 * The snapshot's LFS objects in the repository's own LFS store, where `git lfs`
 * looks for them: "$GIT_DIR/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>" (the folder is
 * bare, so its GIT_DIR is the folder). Each is checked against its oid as it is written.
 */
async function writeLfsObjects(source: RestoreSource, gitDir: string): Promise<LfsRestoreReport | undefined> {
  const section = await snapshotLfs(source.store, source.manifest);
  if (!section) return undefined;
  for (const entry of section.items) {
    const path = join(gitDir, lfsStorePath(entry.oid));
    await mkdir(dirname(path), { recursive: true });
    await pipeline(Readable.from(readLfsObject(source.store, source.manifest, entry, source.identities)), createWriteStream(path));
  }
  source.onProgress?.({ phase: 'lfs', objects: section.items.length });
  return { uploaded: section.items.length, present: 0, missing: section.missing.map((entry) => entry.oid) };
}

/** Where git-lfs keeps an object, relative to the GIT_DIR: "lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>". */
export function lfsStorePath(oid: string): string {
  return `lfs/objects/${oid.slice(0, 2)}/${oid.slice(2, 4)}/${oid}`;
}

async function isNonEmptyDirectory(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isDirectory()) return true;
    return (await readdir(path)).length > 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
