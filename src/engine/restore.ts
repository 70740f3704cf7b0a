/**
 * Restore: a snapshot's bundle chain replayed into a git repository, either over
 * receive-pack (any git host) or into a local bare repository with the local git.
 * Restore never destroys by default: into an empty repository, or beside existing
 * work under refs/heads/restored/<snapshot>/...; overwriting is an explicit mode.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LifeboatError } from './errors.js';
import type { BlobStore } from './bucket/blob-store.js';
import type { BundleEntry, SnapshotManifest, SnapshotRef } from './bucket/format.js';
import { readPlain } from './bucket/objects.js';
import { readBundle } from './git/bundle.js';
import { type GitClient, type PushCommand, ZERO_OID } from './git/types.js';
import type { ByteStream } from './streams.js';

export type RestoreMode = 'empty' | 'beside' | 'overwrite';

export type RestoreProgress =
  | { phase: 'bundle'; bundle: number; bundles: number; bytes: number }
  | { phase: 'server'; message: string }
  | { phase: 'refs'; refs: number };

export interface RestoreSource {
  store: BlobStore;
  manifest: SnapshotManifest;
  /** age identities (AGE-SECRET-KEY-1...) for encrypted snapshots. */
  identities?: string[];
  /** Restore only these refs (full names); all when omitted. */
  only?: string[];
  onProgress?: (progress: RestoreProgress) => void;
}

export interface RestoreReport {
  snapshot: string;
  mode: RestoreMode | 'directory';
  /** Snapshot ref → ref written in the target. */
  refs: { from: string; to: string; oid: string }[];
  bundlesApplied: number;
}

/** Where a snapshot ref lands when restored beside existing work. */
export function besideRefName(snapshotId: string, name: string): string {
  if (name.startsWith('refs/heads/')) return `refs/heads/restored/${snapshotId}/${name.slice('refs/heads/'.length)}`;
  if (name.startsWith('refs/tags/')) return `refs/tags/restored/${snapshotId}/${name.slice('refs/tags/'.length)}`;
  return `refs/restored/${snapshotId}/${name.slice('refs/'.length)}`;
}

export function selectRefs(manifest: SnapshotManifest, only: string[] | undefined): SnapshotRef[] {
  if (!only) return manifest.refs;
  const byName = new Map(manifest.refs.map((ref) => [ref.name, ref]));
  const missing = only.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new LifeboatError('INVALID_ARGUMENT', `Snapshot ${manifest.id} has no ref ${missing.join(', ')}.`, { details: { missing } });
  }
  return only.map((name) => byName.get(name)!);
}

/** The pack inside a stored bundle, after checking that the bundle is the one the manifest names. */
async function bundlePack(source: RestoreSource, entry: BundleEntry): Promise<ByteStream> {
  const plain = readPlain(source.store, entry, source.manifest.encryption, source.identities);
  const bundle = await readBundle(plain);
  const expected = new Map(entry.refs.map((ref) => [ref.name, ref.oid]));
  const matches = bundle.refs.length === entry.refs.length && bundle.refs.every((ref) => expected.get(ref.name) === ref.oid);
  if (!matches) {
    throw new LifeboatError('BUNDLE_CORRUPT', `Bundle ${entry.key} does not list the refs its snapshot manifest records.`);
  }
  return bundle.pack;
}

/**
 * Push the chain over receive-pack. Each bundle's pack goes with its own refs (so
 * the next, thin, pack finds its bases); a last push sets every ref to the
 * snapshot's value and removes the intermediate refs this restore created.
 */
export async function restoreToRemote(source: RestoreSource & { git: GitClient; mode: RestoreMode }): Promise<RestoreReport> {
  const { manifest, git, mode } = source;
  const selected = selectRefs(manifest, source.only);
  const target = (name: string): string => (mode === 'beside' ? besideRefName(manifest.id, name) : name);
  const remote = new Map((await git.listPushRefs()).refs.map((ref) => [ref.name, ref.oid]));

  if (mode === 'empty' && remote.size > 0) {
    throw new LifeboatError('RESTORE_TARGET_NOT_EMPTY', `${git.url} already has ${remote.size} refs. Restore beside them (refs/heads/restored/${manifest.id}/...) or choose to overwrite explicitly.`);
  }
  if (mode === 'beside') {
    const taken = selected.map((ref) => target(ref.name)).filter((name) => remote.has(name));
    if (taken.length > 0) throw new LifeboatError('RESTORE_REF_EXISTS', `${git.url} already has ${taken.join(', ')}; nothing was changed.`);
  }

  const wanted = new Map(selected.map((ref) => [ref.name, ref.oid]));
  const created = new Set<string>();
  for (const [index, entry] of manifest.bundles.entries()) {
    const commands: PushCommand[] = [];
    for (const ref of entry.refs) {
      // Overwrite mode touches an existing ref only to give it its final value: other refs pass through the restored/ namespace.
      const name = mode === 'overwrite' && !wanted.has(ref.name) ? besideRefName(manifest.id, ref.name) : target(ref.name);
      const current = remote.get(name) ?? ZERO_OID;
      if (current !== ref.oid) commands.push({ ref: name, old: current, new: ref.oid });
    }
    source.onProgress?.({ phase: 'bundle', bundle: index + 1, bundles: manifest.bundles.length, bytes: entry.size });
    if (commands.length === 0) continue;
    await git.push({ commands, pack: await bundlePack(source, entry), onProgress: (message) => source.onProgress?.({ phase: 'server', message }) });
    for (const command of commands) {
      if (!remote.has(command.ref)) created.add(command.ref);
      remote.set(command.ref, command.new);
    }
  }

  const finalCommands: PushCommand[] = [];
  for (const [name, oid] of wanted) {
    const to = target(name);
    const current = remote.get(to) ?? ZERO_OID;
    if (current !== oid) finalCommands.push({ ref: to, old: current, new: oid });
  }
  const finalTargets = new Set([...wanted.keys()].map(target));
  for (const name of created) {
    if (!finalTargets.has(name)) finalCommands.push({ ref: name, old: remote.get(name)!, new: ZERO_OID });
  }
  if (finalCommands.length > 0) {
    await git.push({ commands: finalCommands, onProgress: (message) => source.onProgress?.({ phase: 'server', message }) });
  }

  const after = new Map((await git.listPushRefs()).refs.map((ref) => [ref.name, ref.oid]));
  const wrong = [...wanted].filter(([name, oid]) => after.get(target(name)) !== oid).map(([name]) => target(name));
  if (wrong.length > 0) {
    throw new LifeboatError('GIT_PUSH_REJECTED', `After the restore, ${wrong.join(', ')} on ${git.url} do not hold the snapshot's values.`);
  }
  source.onProgress?.({ phase: 'refs', refs: wanted.size });
  return { snapshot: manifest.id, mode, refs: [...wanted].map(([name, oid]) => ({ from: name, to: target(name), oid })), bundlesApplied: manifest.bundles.length };
}

/**
 * A bare repository holding exactly the snapshot's refs, built with the local git:
 * each pack streams into `git index-pack --stdin --fix-thin`, then one ref
 * transaction. Built beside `directory` and renamed into place only when complete.
 */
export async function restoreToDirectory(source: RestoreSource & { directory: string }): Promise<RestoreReport> {
  const { manifest } = source;
  const directory = resolve(source.directory);
  const selected = selectRefs(manifest, source.only);
  if (await isNonEmptyDirectory(directory)) {
    throw new LifeboatError('RESTORE_TARGET_NOT_EMPTY', `${directory} exists and is not empty; choose a new folder.`);
  }
  await mkdir(dirname(directory), { recursive: true });
  const work = join(dirname(directory), `.${basename(directory)}.lifeboat-partial-${process.pid}`);
  await rm(work, { recursive: true, force: true });
  try {
    await runGit(['init', '--quiet', '--bare', work]);
    for (const [index, entry] of manifest.bundles.entries()) {
      source.onProgress?.({ phase: 'bundle', bundle: index + 1, bundles: manifest.bundles.length, bytes: entry.size });
      await runGit(['-C', work, 'index-pack', '--stdin', '--fix-thin'], await bundlePack(source, entry));
    }
    const transaction = selected.map((ref) => `create ${ref.name} ${ref.oid}\n`).join('');
    if (transaction) await runGit(['-C', work, 'update-ref', '--stdin'], Buffer.from(transaction));
    if (manifest.head.symref) await runGit(['-C', work, 'symbolic-ref', 'HEAD', manifest.head.symref]);
    // Every ref must reach complete history: a missing object fails here, not in the user's hands later.
    if (selected.length > 0) await runGit(['-C', work, 'rev-list', '--objects', '--all', '--quiet']);
    await rm(directory, { recursive: true, force: true });
    await rename(work, directory);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  source.onProgress?.({ phase: 'refs', refs: selected.length });
  return { snapshot: manifest.id, mode: 'directory', refs: selected.map((ref) => ({ from: ref.name, to: ref.name, oid: ref.oid })), bundlesApplied: manifest.bundles.length };
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

/** Runs the local git, streaming `input` to its stdin with backpressure. */
export async function runGit(args: string[], input?: ByteStream | Uint8Array): Promise<string> {
  const child = spawn('git', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number>((resolveExit, reject) => {
    child.on('error', (error) => reject(new LifeboatError('LOCAL_GIT_FAILED', `Could not run git (${error.message}); install git and try again.`, { cause: error })));
    child.on('close', (code) => resolveExit(code ?? 1));
  });
  child.stdin.on('error', () => undefined); // git exiting early shows up as its exit code
  let inputError: unknown;
  try {
    if (input instanceof Uint8Array) child.stdin.write(input);
    else if (input) {
      for await (const chunk of input) {
        if (!child.stdin.write(chunk)) await new Promise<void>((ok) => { child.stdin.once('drain', ok); child.once('close', ok); });
        if (child.exitCode !== null) break;
      }
    }
  } catch (error) {
    inputError = error;
    child.kill();
  } finally {
    child.stdin.end();
  }
  const code = await exited;
  if (inputError) throw inputError;
  if (code !== 0) {
    throw new LifeboatError('LOCAL_GIT_FAILED', `git ${args.filter((arg) => arg !== '-C').slice(1).join(' ')} failed: ${Buffer.concat(stderr).toString('utf8').trim()}`);
  }
  return Buffer.concat(stdout).toString('utf8');
}
