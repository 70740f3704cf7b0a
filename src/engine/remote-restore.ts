/**
 * Restore: a snapshot's bundle chain replayed into a git repository over
 * receive-pack (any git host); the CLI's local restore (src/cli/services/local-restore.ts)
 * shares the sources and the report. Restore never destroys by default: into an
 * empty repository, or beside existing work under refs/heads/restored/<snapshot>/...;
 * overwriting is an explicit mode.
 */
import { LifeboatError, isLifeboatError } from './errors.js';
import type { BlobStore } from './bucket/blob-store.js';
import type { SnapshotManifest, SnapshotRef } from './bucket/format.js';
import { openStoredBundle } from './stored-bundle.js';
import type { LfsClient } from './git/lfs.js';
import { type GitClient, type PushCommand, ZERO_OID } from './git/types.js';
import { type LfsRestoreReport, uploadLfsObjects } from './lfs.js';
import { type PlanProgress, type RestoreLimits, type RestorePlan, largeFileRefused, planRestore, requireLargeFilesConfirmed } from './restore-plan.js';

/** How a push restore meets the target's refs: only into an empty repository, beside them (restored/<snapshot>/), or over them. */
export type PushMode = 'empty' | 'beside' | 'overwrite';

export type RestoreProgress =
  | PlanProgress
  /** `resumed`: an earlier, interrupted attempt already staged this bundle on the server. */
  | { phase: 'bundle'; bundle: number; bundles: number; bytes: number; resumed: boolean }
  | { phase: 'server'; message: string }
  | { phase: 'refs'; refs: number }
  | { phase: 'lfs'; objects: number };

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
  mode: PushMode | 'directory';
  /** Snapshot ref → ref written in the target. */
  refs: { from: string; to: string; oid: string }[];
  /** The snapshot's own restored/ refs that a restore beside current work left out (not named in `only`). */
  leftOut: string[];
  bundlesApplied: number;
  /** Bundles an earlier, interrupted attempt had already staged on the server: not pushed again. */
  bundlesResumed: number;
  /** The snapshot's LFS objects put in the target; absent when the snapshot holds none (or none were asked for). */
  lfs?: LfsRestoreReport;
  /**
   * A push restore's ref the target's HEAD (its default branch) should name: the
   * snapshot's HEAD, when this restore wrote the ref it names and not beside other
   * work. A push cannot set a remote's HEAD (receive-pack updates refs only), so the
   * caller sets it where the host lets it (Bitbucket: the repository's `mainbranch`),
   * or says which branch to make default.
   */
  head?: string;
}

/** What a push restore knows before it writes: its plan (read here when not given), and whether the person confirmed the target takes the plan's large files. */
export interface RestorePlanning {
  plan?: RestorePlan;
  /** Limits of a plan read here. */
  limits?: Partial<RestoreLimits>;
  largeFilesConfirmed?: boolean;
}

/**
 * Where snapshot refs land when restored beside existing work, by prefix: the
 * first that matches. One table, so that placing a ref there and recognising
 * one placed there cannot disagree.
 */
const BESIDE_NAMESPACES = [
  { from: 'refs/heads/', to: 'refs/heads/restored/' },
  { from: 'refs/tags/', to: 'refs/tags/restored/' },
  { from: 'refs/', to: 'refs/restored/' },
] as const;

/** Where a snapshot ref lands when restored beside existing work. */
export function besideRefName(snapshotId: string, name: string): string {
  const space = BESIDE_NAMESPACES.find(({ from }) => name.startsWith(from))!;
  return `${space.to}${snapshotId}/${name.slice(space.from.length)}`;
}

/** Whether a ref is one that a restore beside existing work wrote (or looks like one). */
export function isRestoredRef(name: string): boolean {
  return BESIDE_NAMESPACES.some(({ to }) => name.startsWith(to));
}

/**
 * The refs a restore writes: `only` when given, else all of the snapshot's —
 * except that beside existing work the snapshot's own restored/ refs are left
 * out, or every beside restore of a snapshot holding earlier ones would nest
 * them (restored/<B>/restored/<A>/...). Named in `only`, they are restored.
 */
export function selectRefs(manifest: SnapshotManifest, only: string[] | undefined, beside: boolean): { selected: SnapshotRef[]; leftOut: string[] } {
  if (!only) {
    if (!beside) return { selected: manifest.refs, leftOut: [] };
    return { selected: manifest.refs.filter((ref) => !isRestoredRef(ref.name)), leftOut: manifest.refs.filter((ref) => isRestoredRef(ref.name)).map((ref) => ref.name) };
  }
  const byName = new Map(manifest.refs.map((ref) => [ref.name, ref]));
  const missing = only.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new LifeboatError('INVALID_ARGUMENT', `Snapshot ${manifest.id} has no ref ${missing.join(', ')}.`, { details: { missing } });
  }
  return { selected: only.map((name) => byName.get(name)!), leftOut: [] };
}

/**
 * Push the chain over receive-pack. Bundle k's pack goes with its refs under a
 * private namespace (refs/lifeboat-restore/<snapshot>/<k>/...), where bundles can
 * never collide (a branch `release` in one, `release/1.0` in the next); the real
 * refs change only in one last atomic push, which also drops the private ones.
 * A failure part-way leaves the real refs as they were and removes the staging
 * refs it can. A run that was killed leaves its staging refs; the next run of
 * the same snapshot resumes from them: a bundle whose staging refs already hold
 * their values is on the server complete (receive-pack accepted them only so)
 * and is not pushed again, and the last push removes them all.
 *
 * Before anything is written, the plan (restore-plan.ts) is read: a snapshot
 * holding a file over the limit is refused unless the person confirmed the
 * target takes it, and a push of such a file that is refused anyway says so.
 */
export async function restoreToRemote(source: RestoreSource & RestorePlanning & { git: GitClient; mode: PushMode; lfs?: LfsClient }): Promise<RestoreReport> {
  const { manifest, git, mode } = source;
  const { selected, leftOut } = selectRefs(manifest, source.only, mode === 'beside');
  const target = (name: string): string => (mode === 'beside' ? besideRefName(manifest.id, name) : name);
  const remote = new Map((await git.listPushRefs()).refs.map((ref) => [ref.name, ref.oid]));

  // Staging refs are scratch space of restores, never work: they do not make a target non-empty.
  const work = [...remote.keys()].filter((name) => !name.startsWith(`${STAGING_NAMESPACE}/`));
  if (mode === 'empty' && work.length > 0) {
    throw new LifeboatError('RESTORE_TARGET_NOT_EMPTY', `${git.url} already has ${work.length} refs. Restore beside them (refs/heads/restored/${manifest.id}/...) or choose to overwrite explicitly.`);
  }
  if (mode === 'beside') {
    // A ref already holding the snapshot's value is this restore, done before (a retry after the last push): not a clash.
    const taken = selected.filter((ref) => remote.has(target(ref.name)) && remote.get(target(ref.name)) !== ref.oid).map((ref) => target(ref.name));
    if (taken.length > 0) throw new LifeboatError('RESTORE_REF_EXISTS', `${git.url} already has ${taken.join(', ')}; nothing was changed.`);
  }

  const plan = source.plan ?? await planRestore({
    store: source.store, manifest,
    ...(source.identities ? { identities: source.identities } : {}),
    ...(source.limits ? { limits: source.limits } : {}),
    ...(source.onProgress ? { onProgress: source.onProgress } : {}),
  });
  requireLargeFilesConfirmed(plan, source.largeFilesConfirmed === true);

  // This snapshot's staging refs on the server, with their values: an interrupted run's, then this run's.
  const ownStaging = `${STAGING_NAMESPACE}/${manifest.id}/`;
  const staged = new Map([...remote].filter(([name]) => name.startsWith(ownStaging)));
  let resumed = 0;
  const onProgress = (message: string): void => source.onProgress?.({ phase: 'server', message });
  try {
    for (const [index, entry] of manifest.bundles.entries()) {
      const commands = entry.refs
        .map((ref) => {
          const name = stagingRefName(manifest.id, index, ref.name);
          return { ref: name, old: staged.get(name) ?? ZERO_OID, new: ref.oid };
        })
        .filter((command) => command.old !== command.new);
      source.onProgress?.({ phase: 'bundle', bundle: index + 1, bundles: manifest.bundles.length, bytes: entry.size, resumed: commands.length === 0 });
      if (commands.length === 0) {
        resumed++;
        continue;
      }
      const bundle = await openStoredBundle(source.store, manifest, entry, source.identities);
      try {
        await git.push({ commands, pack: bundle.pack, onProgress });
      } catch (error) {
        const refused = isLifeboatError(error, 'GIT_PUSH_REJECTED') || isLifeboatError(error, 'GIT_REMOTE_ERROR');
        if (refused && plan.largeFiles.some((file) => file.bundle === index + 1)) throw largeFileRefused(plan, index + 1, error);
        throw error;
      }
      for (const command of commands) staged.set(command.ref, command.new);
    }
    const finalCommands: PushCommand[] = selected
      .map((ref) => ({ ref: target(ref.name), old: remote.get(target(ref.name)) ?? ZERO_OID, new: ref.oid }))
      .filter((command) => command.old !== command.new);
    for (const [ref, oid] of staged) finalCommands.push({ ref, old: oid, new: ZERO_OID });
    if (finalCommands.length > 0) await git.push({ commands: finalCommands, onProgress });
    staged.clear();
  } finally {
    if (staged.size > 0) await dropStaged(git, [...staged.keys()]).catch(() => undefined); // best effort: the failure itself is what the caller must see
  }

  const after = new Map((await git.listPushRefs()).refs.map((ref) => [ref.name, ref.oid]));
  const wrong = selected.filter((ref) => after.get(target(ref.name)) !== ref.oid).map((ref) => target(ref.name));
  if (wrong.length > 0) {
    throw new LifeboatError('GIT_PUSH_REJECTED', `After the restore, ${wrong.join(', ')} on ${git.url} do not hold the snapshot's values.`);
  }
  source.onProgress?.({ phase: 'refs', refs: selected.length });
  // After the refs: a server may take LFS objects only for a repository that has commits.
  const lfs = source.lfs ? await uploadLfsObjects({ store: source.store, manifest, client: source.lfs, ...(source.identities ? { identities: source.identities } : {}) }) : undefined;
  if (lfs) source.onProgress?.({ phase: 'lfs', objects: lfs.uploaded + lfs.present });
  const head = manifest.head.symref;
  return {
    ...(lfs ? { lfs } : {}),
    ...(head && mode !== 'beside' && selected.some((ref) => ref.name === head) ? { head } : {}),
    snapshot: manifest.id,
    mode,
    refs: selected.map((ref) => ({ from: ref.name, to: target(ref.name), oid: ref.oid })),
    leftOut,
    bundlesApplied: manifest.bundles.length,
    bundlesResumed: resumed,
  };
}

const STAGING_NAMESPACE = 'refs/lifeboat-restore';

function stagingRefName(snapshotId: string, bundleIndex: number, name: string): string {
  return `${STAGING_NAMESPACE}/${snapshotId}/${bundleIndex + 1}/${name.slice('refs/'.length)}`;
}

async function dropStaged(git: GitClient, staged: string[]): Promise<void> {
  const current = new Map((await git.listPushRefs()).refs.map((ref) => [ref.name, ref.oid]));
  const commands = staged.filter((ref) => current.has(ref)).map((ref) => ({ ref, old: current.get(ref)!, new: ZERO_OID }));
  if (commands.length > 0) await git.push({ commands });
}
