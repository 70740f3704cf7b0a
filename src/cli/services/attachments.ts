/**
 * Pre-sunset exports on this machine: checking what `lifeboat attach` is given
 * before anything is written (an issue export zip, inflated as a stream within limits; a wiki clone,
 * bundled with the local git), and writing attachments back out (`lifeboat
 * attachments --out`): the zip byte for byte, the wiki as its bundle and a clone of it.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import type { AttachmentEntry } from '../../engine/bucket/metadata.js';
import { readPlain } from '../../engine/bucket/objects.js';
import { LifeboatError, isLifeboatError } from '../../engine/errors.js';
import { issueExportSummary, readIssueExport } from '../../engine/issue-export.js';
import { type ByteStream, fromBytes } from '../../engine/streams.js';
import { writeStreamToFile } from './download.js';
import { runGit } from './local-git.js';

export interface PreparedAttachment {
  kind: AttachmentEntry['kind'];
  name: string;
  summary: Record<string, number>;
  /** The content from its start, on every call. */
  content: () => ByteStream;
  /** Removes what preparing left on disk (a wiki's temporary bundle). */
  cleanup(): Promise<void>;
}

/** A zip file is an issue export, a folder a wiki clone; anything else is refused, and nothing is written. */
export async function prepareAttachment(path: string): Promise<PreparedAttachment> {
  const full = resolve(path);
  let info;
  try {
    info = await stat(full);
  } catch (error) {
    throw new LifeboatError('ATTACHMENT_INVALID', `Cannot read ${path}: ${(error as Error).message}.`, { cause: error });
  }
  const name = basename(full);
  if (!info.isDirectory()) {
    const bytes = await readFile(full);
    let summary: Record<string, number>;
    try {
      summary = issueExportSummary(readIssueExport(bytes));
    } catch (error) {
      if (isLifeboatError(error, 'ATTACHMENT_INVALID') || isLifeboatError(error, 'ATTACHMENT_TOO_LARGE')) {
        throw new LifeboatError(error.code, `${path}: ${error.message}`, { cause: error, ...(error.details ? { details: error.details } : {}) });
      }
      throw error;
    }
    return { kind: 'issues-export', name, summary, content: () => fromBytes(bytes), cleanup: async () => undefined };
  }
  return prepareWiki(path, full, name);
}

async function prepareWiki(path: string, full: string, name: string): Promise<PreparedAttachment> {
  // No looking upwards: a plain folder inside some other repository's work tree is not a wiki clone.
  const env = { GIT_CEILING_DIRECTORIES: dirname(full) };
  try {
    await runGit(['-C', full, 'rev-parse', '--git-dir'], undefined, env);
  } catch (error) {
    if (isLifeboatError(error, 'LOCAL_GIT_FAILED')) throw new LifeboatError('ATTACHMENT_INVALID', `${path} is neither an issue export zip nor a git repository (a clone of the wiki).`, { cause: error });
    throw error;
  }
  const refs = (await runGit(['-C', full, 'for-each-ref', '--format=%(refname)'], undefined, env)).split('\n').filter(Boolean).length;
  if (refs === 0) throw new LifeboatError('ATTACHMENT_INVALID', `${path} is a git repository without any commit: clone the wiki with its history.`);
  const commits = Number((await runGit(['-C', full, 'rev-list', '--all', '--count'], undefined, env)).trim());
  const scratch = await mkdtemp(join(tmpdir(), 'lifeboat-wiki-'));
  const cleanup = () => rm(scratch, { recursive: true, force: true });
  try {
    const bundle = join(scratch, 'wiki.bundle');
    await runGit(['-C', full, 'bundle', 'create', '--quiet', bundle, '--all'], undefined, env);
    return { kind: 'wiki', name, summary: { refs, commits }, content: () => createReadStream(bundle), cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

export interface WrittenAttachment {
  kind: AttachmentEntry['kind'];
  name: string;
  /** Relative to the folder: the zip, or the wiki's bundle and its clone. */
  paths: string[];
}

/** Writes every attachment into a new (or empty) folder; on failure the folder is removed, never left half-written. */
export async function writeAttachments(
  store: BlobStore,
  manifest: SnapshotManifest,
  attachments: readonly AttachmentEntry[],
  options: { directory: string; identities?: string[]; onAttachment?: (index: number, total: number) => void },
): Promise<{ directory: string; written: WrittenAttachment[] }> {
  const directory = resolve(options.directory);
  await mkdir(directory, { recursive: true });
  if ((await readdir(directory)).length > 0) throw new LifeboatError('RESTORE_TARGET_NOT_EMPTY', `${directory} is not empty; choose a new folder.`);
  const written: WrittenAttachment[] = [];
  const taken = new Set<string>();
  try {
    for (const [index, entry] of attachments.entries()) {
      options.onAttachment?.(index + 1, attachments.length);
      const name = unique(safeName(entry.name), taken);
      const content = readPlain(store, manifest, entry.object, options.identities);
      if (entry.kind === 'issues-export') {
        await writeStreamToFile(join(directory, name), content);
        written.push({ kind: entry.kind, name: entry.name, paths: [name] });
      } else {
        const bundle = `${name}.bundle`;
        await writeStreamToFile(join(directory, bundle), content);
        await runGit(['clone', '--quiet', join(directory, bundle), join(directory, name)]);
        written.push({ kind: entry.kind, name: entry.name, paths: [bundle, name] });
      }
    }
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return { directory, written };
}

/** A name from the bucket becomes one file name in the folder, never a path out of it. */
function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._ -]/g, '_').replace(/^\.+/, '_');
  return cleaned === '' ? 'attachment' : cleaned;
}

function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate) || taken.has(`${candidate}.bundle`); n += 1) candidate = `${name}-${n}`;
  taken.add(candidate);
  return candidate;
}
