/**
 * Download: a snapshot as plain files that need only git — the decrypted bundles in
 * apply order, the manifest as stored and the trusted key's signature of it
 * (signature.json, which `openssl` checks: docs/bucket-format.md, "Signatures"), the
 * exact ref list (refs.txt), the LFS objects (decrypted, as git-lfs keeps them: lfs/objects/),
 * and restore.sh, which applies them with sh and git alone and copies the LFS objects into the
 * new repository's LFS store.
 * This is the way out that depends on nothing of Lifeboat's.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LifeboatError } from '../../engine/errors.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { readPlain } from '../../engine/bucket/objects.js';
import { readLfsObject, snapshotLfs } from '../../engine/lfs.js';
import { lfsStorePath } from './local-restore.js';

export interface DownloadReport {
  snapshot: string;
  directory: string;
  files: { path: string; bytes: number }[];
  /** The snapshot's LFS objects written under lfs/objects/, and the oids it names but never stored; absent when it holds none. */
  lfs?: { objects: number; missing: string[] };
}

export async function downloadSnapshot(
  store: BlobStore,
  manifest: SnapshotManifest,
  options: {
    directory: string;
    /** The manifest as stored: the bytes its signature covers. */
    manifestBytes: Uint8Array;
    /** The trusted key's signature of it as stored and checked, written beside it; absent when none signed it. */
    signature?: Uint8Array;
    identities?: string[];
    onBundle?: (index: number, total: number) => void;
    onLfsObject?: (index: number, total: number) => void;
  },
): Promise<DownloadReport> {
  const directory = resolve(options.directory);
  await mkdir(directory, { recursive: true });
  if ((await readdir(directory)).length > 0) {
    throw new LifeboatError('RESTORE_TARGET_NOT_EMPTY', `${directory} is not empty; choose a new folder.`);
  }
  const files: DownloadReport['files'] = [];
  const bundleNames: string[] = [];
  let lfs: DownloadReport['lfs'];
  try {
    for (const [index, entry] of manifest.bundles.entries()) {
      options.onBundle?.(index + 1, manifest.bundles.length);
      const name = `${String(index + 1).padStart(3, '0')}-${entry.kind}-${entry.sha256.slice(0, 12)}.bundle`;
      const bytes = await writeStreamToFile(join(directory, name), readPlain(store, manifest, entry, options.identities));
      files.push({ path: name, bytes });
      bundleNames.push(name);
    }
    const section = await snapshotLfs(store, manifest);
    for (const [index, entry] of (section?.items ?? []).entries()) {
      options.onLfsObject?.(index + 1, section!.items.length);
      const path = lfsStorePath(entry.oid);
      await mkdir(join(directory, dirname(path)), { recursive: true });
      files.push({ path, bytes: await writeStreamToFile(join(directory, path), readLfsObject(store, manifest, entry, options.identities)) });
    }
    lfs = section && { objects: section.items.length, missing: section.missing.map((entry) => entry.oid) };
    const plainFiles: [string, string | Uint8Array][] = [
      ['refs.txt', manifest.refs.map((ref) => `${ref.oid} ${ref.name}\n`).join('')],
      ['manifest.json', options.manifestBytes],
      ...(options.signature ? [['signature.json', options.signature] as [string, Uint8Array]] : []),
      ['restore.sh', restoreScript(manifest, bundleNames, (section?.items.length ?? 0) > 0)],
    ];
    for (const [name, content] of plainFiles) {
      await writeFile(join(directory, name), content, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
      files.push({ path: name, bytes: typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength });
    }
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return { snapshot: manifest.id, directory, files, ...(lfs ? { lfs } : {}) };
}

/** Writes through a temporary name, so a file with the final name is always complete. */
export async function writeStreamToFile(path: string, stream: AsyncIterable<Uint8Array>): Promise<number> {
  const partial = `${path}.partial`;
  let bytes = 0;
  async function* counted(): AsyncIterable<Uint8Array> {
    for await (const chunk of stream) {
      bytes += chunk.byteLength;
      yield chunk;
    }
  }
  try {
    await pipeline(counted(), createWriteStream(partial, { highWaterMark: 1 << 20 }));
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, path);
  return bytes;
}

/**
 * A POSIX shell script that needs nothing but sh and git: it rebuilds the
 * repository from the files beside it. Ref names stay data (read from refs.txt),
 * never script text.
 */
function restoreScript(manifest: SnapshotManifest, bundles: string[], lfs: boolean): string {
  // Manifest text is data, not script: no line breaks or quotes may reach the shell.
  const comment = (text: string): string => text.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?');
  // --no-tags: git would otherwise also copy tags into refs/tags/, where a tag `rel` of one
  // bundle and `rel/1.0` of a later one cannot both exist.
  const fetches = bundles.map((name, index) => `git -C "$target" fetch --quiet --no-tags "$here/${name}" '+refs/*:refs/lifeboat-bundles/${index + 1}/*'`);
  return `#!/bin/sh
# Lifeboat snapshot ${manifest.id} of ${comment(manifest.repository.slug ?? manifest.repository.repository)},
# taken ${manifest.createdAt} from ${comment(manifest.source)}.
# The *.bundle files are standard git bundles. This script applies them in order
# into a new bare repository (each under its own refs/lifeboat-bundles/<n>/, so
# their refs never collide), then sets the refs exactly as recorded in refs.txt:
# one transaction deletes the bundles' refs, a second creates the snapshot's.
# Needs only sh and git. Usage: sh restore.sh [target.git]
# then e.g.: git -C target.git push --mirror <url>
set -eu
case $0 in */*) here=\${0%/*} ;; *) here=. ;; esac
here=$(cd "$here" && pwd)
target=\${1:-restored.git}
git init --quiet --bare "$target"
${fetches.join('\n')}
git -C "$target" for-each-ref --format='delete %(refname)' | git -C "$target" update-ref --stdin
while read -r oid name; do printf 'create %s %s\\n' "$name" "$oid"; done < "$here/refs.txt" | git -C "$target" update-ref --stdin
${manifest.head.symref ? `git -C "$target" symbolic-ref HEAD '${manifest.head.symref.replace(/'/g, `'\\''`)}'` : ''}
${lfs ? `# The LFS objects, where git-lfs looks in a bare repository: $GIT_DIR/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>.
mkdir -p "$target/lfs"
cp -R "$here/lfs/objects" "$target/lfs/"` : ''}
echo "Restored ${manifest.refs.length} refs into $target"
`;
}
