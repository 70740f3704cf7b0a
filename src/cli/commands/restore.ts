import { LifeboatError } from '../../engine/errors.js';
import { type PushMode, type RestoreProgress, restoreToRemote } from '../../engine/remote-restore.js';
import { type RestorePlan, planRestore } from '../../engine/restore-plan.js';
import { restoreToDirectory } from '../services/local-restore.js';
import { defineCommand, gitOptions, repoOptions } from '../command.js';
import { gitClient, lfsClient, openSnapshotData, wholeNumber } from '../context.js';
import { formatBytes, inLine, type Output } from '../output.js';
import { allowUnsignedOptions } from '../signing.js';

export const restoreCommand = defineCommand({
  name: 'restore',
  usage: 'lifeboat restore <snapshot> (--to <dir> | --push <git-url> [--beside | --overwrite] [--plan] [--allow-large-files] [--file-limit <bytes>] [--push-limit <bytes>]) [--ref <refname>]... [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
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
    const pushOnly = (['plan', 'allow-large-files', 'file-limit', 'push-limit'] as const).filter((flag) => values[flag] !== undefined);
    if (to !== undefined && pushOnly.length > 0) throw new LifeboatError('INVALID_ARGUMENT', `${pushOnly.map((flag) => `--${flag}`).join(', ')} apply to --push only.`);
    const fileMaxBytes = wholeNumber(values['file-limit'], '--file-limit', 1);
    const pushMaxBytes = wholeNumber(values['push-limit'], '--push-limit', 1);
    const { store, manifest, identities } = await openSnapshotData(values, id, output);
    const only = values.ref;
    const common = { store, manifest, ...(identities ? { identities } : {}), ...(only ? { only } : {}), onProgress: (p: RestoreProgress) => showProgress(p, output) };
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
    // LFS objects go to the target's own LFS server, with the same credentials as the push.
    const report = git ? await restoreToRemote({ ...common, git, mode, lfs: lfsClient(push!, values), plan: plan!, largeFilesConfirmed: values['allow-large-files'] === true }) : await restoreToDirectory({ ...common, directory: to! });
    // git.url has the credentials a push URL may carry removed.
    const target = git?.url ?? to!;
    output.done();
    output.result({ ...report, target, ...(plan ? { plan } : {}) }, () => {
      const where = report.mode === 'beside' ? ` under the restored/${report.snapshot}/ namespaces (e.g. ${report.refs[0] ? inLine(report.refs[0].to) : `refs/heads/restored/${report.snapshot}/...`})` : '';
      const resumed = report.bundlesResumed > 0 ? ` ${report.bundlesResumed} of ${report.bundlesApplied} bundles were already on the server from an interrupted restore.` : '';
      const leftOut = report.leftOut.length > 0 ? ` Left out ${report.leftOut.length} refs of earlier restores beside work (restored/...): name them with --ref to restore them too.` : '';
      const lfs = report.lfs ? ` ${report.lfs.uploaded} LFS object(s) ${git ? 'uploaded' : 'written to its lfs/objects'}${report.lfs.present > 0 ? `, ${report.lfs.present} already there` : ''}.` : '';
      const lfsMissing = report.lfs && report.lfs.missing.length > 0 ? ` ${report.lfs.missing.length} LFS object(s) the snapshot names were never stored (see its metadata index): a checkout of them fails.` : '';
      return `Restored ${report.refs.length} refs of snapshot ${report.snapshot} into ${target}${where}.${resumed}${leftOut}${lfs}${lfsMissing}`;
    });
    return 0;
  },
});

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

function showProgress(progress: RestoreProgress, output: Output): void {
  if (progress.phase === 'plan') output.progress(`Reading bundle ${progress.bundle}/${progress.bundles} for the plan (${formatBytes(progress.bytes)})`);
  else if (progress.phase === 'bundle') output.progress(progress.resumed ? `Bundle ${progress.bundle}/${progress.bundles} is already on the server (from an interrupted restore)` : `Applying bundle ${progress.bundle}/${progress.bundles} (${formatBytes(progress.bytes)})`, true);
  else if (progress.phase === 'server') output.progress(`remote: ${progress.message}`);
  else if (progress.phase === 'lfs') output.progress(`Restored ${progress.objects} LFS object(s)`, true);
}
