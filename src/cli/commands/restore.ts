import { LifeboatError, toLifeboatError } from '../../engine/errors.js';
import type { LfsRestoreReport } from '../../engine/lfs.js';
import { type PushMode, type RestoreProgress, type RestoreReport, restoreToRemote } from '../../engine/remote-restore.js';
import { type RestorePlan, planRestore } from '../../engine/restore-plan.js';
import { restoreToDirectory } from '../services/local-restore.js';
import { branchName } from '../../engine/git/ref-name.js';
import { defineCommand, gitOptions, repoOptions } from '../command.js';
import { gitClient, openSnapshotData, wholeNumber } from '../context.js';
import { formatBytes, inLine, type Output, reportError } from '../output.js';
import { bundleMeter } from '../progress.js';
import { lfsLine, pushLfsObjects } from './lfs-push.js';
import { allowUnsignedOptions } from '../signing.js';

export const restoreCommand = defineCommand({
  name: 'restore',
  usage: 'lifeboat restore <snapshot> (--to <dir> | --push <git-url> [--beside | --overwrite] [--plan] [--allow-large-files] [--file-limit <bytes>] [--push-limit <bytes>] [--no-lfs]) [--ref <refname>]... [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: 'Restore a snapshot into a new local bare repository, or push it to any git server.',
  options: {
    ...gitOptions,
    to: { type: 'string', value: '<dir>', help: 'restore into a new local bare repository in this folder' },
    push: { type: 'string', value: '<git-url>', help: 'push the refs to this git server (an empty repository, unless --beside or --overwrite)' },
    beside: { type: 'boolean', help: 'push beside what the target holds, under refs/*/restored/<snapshot>/...' },
    overwrite: { type: 'boolean', help: "set the target's refs to the snapshot's, over what is there" },
    ref: { type: 'string', multiple: true, value: '<refname>', help: 'restore only this ref (repeatable)' },
    ...repoOptions,
    plan: { type: 'boolean', help: 'only print what the push restore would do: size, pushes, files the target may refuse' },
    'allow-large-files': { type: 'boolean', help: 'confirm the target takes files over --file-limit (on Bitbucket: its limit was turned off)' },
    'file-limit': { type: 'string', value: '<bytes>', help: "the target's largest file (Bitbucket's 100 MB unless given)" },
    'push-limit': { type: 'string', value: '<bytes>', help: "the target's largest push (Bitbucket's 3.5 GB unless given)" },
    'no-lfs': { type: 'boolean', help: 'push the refs only; `lifeboat lfs-push` uploads the LFS objects on their own' },
    ...allowUnsignedOptions,
  },
  examples: [
    'lifeboat restore latest --repo acme/web --to web.git --identity ~/lifeboat-key.txt',
    'lifeboat restore 20261126T061500Z-3fa9c1 --push https://gitlab.example.com/acme/web.git --identity ~/lifeboat-key.txt',
  ],
  async run(args, output) {
    const { positionals: [id], values } = args;
    const { to, push, beside, overwrite } = values;
    if (!id || (to === undefined) === (push === undefined)) throw new LifeboatError('INVALID_ARGUMENT', `Give a snapshot and exactly one of --to or --push: ${this.usage}`);
    if (beside && overwrite) throw new LifeboatError('INVALID_ARGUMENT', '--beside and --overwrite exclude each other.');
    if (to !== undefined && (beside || overwrite)) throw new LifeboatError('INVALID_ARGUMENT', '--beside and --overwrite apply to --push only.');
    const pushOnly = (['plan', 'allow-large-files', 'file-limit', 'push-limit', 'no-lfs'] as const).filter((flag) => values[flag] !== undefined);
    if (to !== undefined && pushOnly.length > 0) throw new LifeboatError('INVALID_ARGUMENT', `${pushOnly.map((flag) => `--${flag}`).join(', ')} apply to --push only.`);
    const fileMaxBytes = wholeNumber(values['file-limit'], '--file-limit', 1);
    const pushMaxBytes = wholeNumber(values['push-limit'], '--push-limit', 1);
    const { store, manifest, identities } = await openSnapshotData(values, id, output);
    const only = values.ref;
    const common = { store, manifest, ...(identities ? { identities } : {}), ...(only ? { only } : {}), onProgress: restoreProgress(manifest.bundles.map((entry) => entry.size), output) };
    const mode: PushMode = beside ? 'beside' : overwrite ? 'overwrite' : 'empty';
    const git = push === undefined ? undefined : gitClient(push, values);
    // Read before anything is written, and shown, so that the person sees what the push will carry.
    const plan = git ? await planRestore({ ...common, limits: { ...(fileMaxBytes ? { fileMaxBytes } : {}), ...(pushMaxBytes ? { pushMaxBytes } : {}) } }) : undefined;
    if (plan) {
      output.done();
      if (values.plan) {
        output.result({ plan }, () => planLines(plan).join('\n'));
        return 0;
      }
      if (!output.json) for (const line of planLines(plan)) output.warn(line);
    }
    if (!git) {
      const report = await restoreToDirectory({ ...common, directory: to! });
      output.done();
      output.result({ ...report, target: to! }, () => `${restoredLine(report, to!)}${report.lfs ? ` ${lfsLine(report.lfs, 'written to its lfs/objects')}` : ''}`);
      return 0;
    }
    const report = await restoreToRemote({ ...common, git, mode, plan: plan!, largeFilesConfirmed: values['allow-large-files'] === true });
    output.done();
    // The LFS objects are a step of their own, after the refs (a server may take them only for a repository with commits):
    // its failure (a host without LFS answers 404) leaves the refs restored, and `lfs-push` retries it alone.
    // git.url has the credentials a push URL may carry removed.
    const target = git.url;
    const retry = `lifeboat lfs-push ${manifest.id} --push ${target}`;
    let lfs: LfsStep;
    if (values['no-lfs']) lfs = { step: 'skipped', retry };
    else {
      try {
        const uploaded = await pushLfsObjects({ store, manifest, identities, url: push!, values, output });
        lfs = uploaded ? { step: 'uploaded', report: uploaded } : { step: 'none' };
      } catch (error) {
        lfs = { step: 'failed', error: toLifeboatError(error), retry };
      }
    }
    // The refs (`refs`) and the LFS step (`steps.lfs`; `lfs` as before when it uploaded) are said apart.
    output.result({
      ...report,
      ...(lfs.step === 'uploaded' ? { lfs: lfs.report } : {}),
      target,
      plan,
      steps: { refs: 'restored', lfs: lfs.step },
      ...(lfs.step === 'failed' ? { lfsError: { code: lfs.error.code, message: lfs.error.message } } : {}),
      ...(lfs.step === 'failed' || lfs.step === 'skipped' ? { lfsRetry: lfs.retry } : {}),
    }, () => {
      const line = `${restoredLine(report, target)}${defaultBranchLine(report)}`;
      if (lfs.step === 'uploaded') return `${line} ${lfsLine(lfs.report, 'uploaded')}`;
      if (lfs.step === 'skipped') return `${line} LFS objects not uploaded (--no-lfs): \`${retry}\` uploads them.`;
      return line;
    });
    if (lfs.step !== 'failed') return 0;
    return reportError(new LifeboatError('RESTORE_LFS_NOT_UPLOADED', `Refs restored, LFS objects not uploaded: [${lfs.error.code}] ${lfs.error.message}`, { details: { retry } }), undefined, { debug: values.debug === true });
  },
});

type LfsStep =
  | { step: 'uploaded'; report: LfsRestoreReport }
  | { step: 'none' }
  | { step: 'skipped'; retry: string }
  | { step: 'failed'; error: LifeboatError; retry: string };

/** A push cannot set the target's HEAD (git-protocol.md): say which branch to make its default, where the restore wrote it. */
function defaultBranchLine(report: RestoreReport): string {
  const branch = branchName(report.head);
  return branch === undefined ? '' : ` A push cannot set the default branch: make ${inLine(branch)} the target's default branch (on Bitbucket: Repository settings > Repository details > Main branch), or a clone warns that HEAD names a missing ref.`;
}

/** The refs a restore wrote, where, and what it left out. */
function restoredLine(report: RestoreReport, target: string): string {
  const where = report.mode === 'beside' ? ` under the restored/${report.snapshot}/ namespaces (e.g. ${report.refs[0] ? inLine(report.refs[0].to) : `refs/heads/restored/${report.snapshot}/...`})` : '';
  const resumed = report.bundlesResumed > 0 ? ` ${report.bundlesResumed} of ${report.bundlesApplied} bundles were already on the server from an interrupted restore.` : '';
  const leftOut = report.leftOut.length > 0 ? ` Left out ${report.leftOut.length} refs of earlier restores beside work (restored/...): name them with --ref to restore them too.` : '';
  return `Restored ${report.refs.length} refs of snapshot ${report.snapshot} into ${target}${where}.${resumed}${leftOut}`;
}

const LISTED_LARGE_FILES = 20;

/** The plan as lines for a person: size, pushes, and what the target may refuse. */
function planLines(plan: RestorePlan): string[] {
  const { limits } = plan;
  const lines = [`Plan: ${formatBytes(plan.bytes)} in ${plan.bundles.length} bundle(s), pushed in at most ${plan.pushes} pushes (each bundle under staging refs, then the real refs at once).`];
  for (const bundle of plan.oversizedBundles) {
    lines.push(`Bundle ${bundle} alone is ${formatBytes(plan.bundles[bundle - 1]!.bytes)}, over the push limit of ${formatBytes(limits.pushMaxBytes)}: the restore cannot push it within that limit (Bitbucket refuses a push over 3.5 GB).`);
  }
  if (plan.overRepositoryLimit) lines.push(`The snapshot is ${formatBytes(plan.bytes)}, over Bitbucket's repository size limit of ${formatBytes(limits.repositoryMaxBytes)} (${limits.repositoryMaxBytes} bytes): Bitbucket locks a repository that large.`);
  if (plan.largeFiles.length > 0) {
    lines.push(`${plan.largeFiles.length} file(s) over ${formatBytes(limits.fileMaxBytes)} (${limits.fileMaxBytes} bytes), which Bitbucket refuses in a push unless the repository's file size limit is turned off (Repository settings > Advanced):`);
    for (const file of plan.largeFiles.slice(0, LISTED_LARGE_FILES)) lines.push(`  ${file.path ? `${inLine(file.path)}: ` : ''}${file.blob ? `blob ${file.blob}` : 'a blob stored as a delta (its id is not read)'}, ${formatBytes(file.size)}, in bundle ${file.bundle}`);
    if (plan.largeFiles.length > LISTED_LARGE_FILES) lines.push(`  and ${plan.largeFiles.length - LISTED_LARGE_FILES} more (--plan --json lists them all)`);
    // A delta's blob id is not read, and the trees kept to find paths have a memory budget.
    if (plan.largeFiles.some((file) => !file.path)) lines.push('  (Where no path is shown, `git rev-list --objects --all | grep <blob>` in a copy restored with --to names it.)');
  }
  return lines;
}

/** One redrawn line: the bundle being applied, bytes so far, rate and time left (from the bundles' stored sizes). */
function restoreProgress(sizes: number[], output: Output): (progress: RestoreProgress) => void {
  const meter = bundleMeter(sizes);
  let label = '';
  return (progress) => {
    if (progress.phase === 'plan') output.progress(`Reading bundle ${progress.bundle}/${progress.bundles} for the plan (${formatBytes(progress.bytes)})`);
    else if (progress.phase === 'bundle') {
      label = progress.resumed ? `Bundle ${progress.bundle}/${progress.bundles} is already on the server (from an interrupted restore)` : `Applying bundle ${progress.bundle}/${progress.bundles} (${formatBytes(progress.bytes)})`;
      output.progress(`${label}: ${meter(progress.bundle, progress.resumed)}`, true);
    } else if (progress.phase === 'server') output.progress(`${label}: remote: ${progress.message}`);
    else if (progress.phase === 'lfs') output.progress(`Restored ${progress.objects} LFS object(s)`, true);
  };
}
