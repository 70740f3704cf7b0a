import { LifeboatError } from '../../engine/errors.js';
import { type PushMode, type RestoreProgress, restoreToRemote } from '../../engine/remote-restore.js';
import { restoreToDirectory } from '../services/local-restore.js';
import { defineCommand, gitOptions } from '../command.js';
import { gitClient, lfsClient, openSnapshotData } from '../context.js';
import { type Output, formatBytes } from '../output.js';

export const restoreCommand = defineCommand({
  name: 'restore',
  usage: 'lifeboat restore <snapshot> (--to <dir> | --push <git-url> [--beside | --overwrite]) [--ref <refname>]... [--identity <file>]',
  summary: 'Restore a snapshot into a new local bare repository, or push it to any git server.',
  options: {
    ...gitOptions,
    to: { type: 'string' },
    push: { type: 'string' },
    beside: { type: 'boolean' },
    overwrite: { type: 'boolean' },
    ref: { type: 'string', multiple: true },
    repo: { type: 'string' },
  },
  async run(args, output) {
    const { positionals: [id], values } = args;
    const { to, push, beside, overwrite } = values;
    if (!id || (to === undefined) === (push === undefined)) throw new LifeboatError('INVALID_ARGUMENT', `Give a snapshot and exactly one of --to or --push: ${this.usage}`);
    if (beside && overwrite) throw new LifeboatError('INVALID_ARGUMENT', '--beside and --overwrite exclude each other.');
    if (to !== undefined && (beside || overwrite)) throw new LifeboatError('INVALID_ARGUMENT', '--beside and --overwrite apply to --push only.');
    const { store, manifest, identities } = await openSnapshotData(values, id);
    const only = values.ref;
    const common = { store, manifest, ...(identities ? { identities } : {}), ...(only ? { only } : {}), onProgress: (p: RestoreProgress) => showProgress(p, output) };
    const mode: PushMode = beside ? 'beside' : overwrite ? 'overwrite' : 'empty';
    const git = push === undefined ? undefined : gitClient(push, values);
    // LFS objects go to the target's own LFS server, with the same credentials as the push.
    const report = git ? await restoreToRemote({ ...common, git, mode, lfs: lfsClient(push!, values) }) : await restoreToDirectory({ ...common, directory: to! });
    // git.url has the credentials a push URL may carry removed.
    const target = git?.url ?? to!;
    output.done();
    output.result({ ...report, target }, () => {
      const where = report.mode === 'beside' ? ` under the restored/${report.snapshot}/ namespaces (e.g. ${report.refs[0]?.to ?? `refs/heads/restored/${report.snapshot}/...`})` : '';
      const resumed = report.bundlesResumed > 0 ? ` ${report.bundlesResumed} of ${report.bundlesApplied} bundles were already on the server from an interrupted restore.` : '';
      const leftOut = report.leftOut.length > 0 ? ` Left out ${report.leftOut.length} refs of earlier restores beside work (restored/...): name them with --ref to restore them too.` : '';
      const lfs = report.lfs ? ` ${report.lfs.uploaded} LFS object(s) ${git ? 'uploaded' : 'written to its lfs/objects'}${report.lfs.present > 0 ? `, ${report.lfs.present} already there` : ''}.` : '';
      const lfsMissing = report.lfs && report.lfs.missing.length > 0 ? ` ${report.lfs.missing.length} LFS object(s) the snapshot names were never stored (see its metadata index): a checkout of them fails.` : '';
      return `Restored ${report.refs.length} refs of snapshot ${report.snapshot} into ${target}${where}.${resumed}${leftOut}${lfs}${lfsMissing}`;
    });
    return 0;
  },
});

function showProgress(progress: RestoreProgress, output: Output): void {
  if (progress.phase === 'bundle') output.progress(progress.resumed ? `Bundle ${progress.bundle}/${progress.bundles} is already on the server (from an interrupted restore)` : `Applying bundle ${progress.bundle}/${progress.bundles} (${formatBytes(progress.bytes)})`, true);
  else if (progress.phase === 'server') output.progress(`remote: ${progress.message}`);
  else if (progress.phase === 'lfs') output.progress(`Restored ${progress.objects} LFS object(s)`, true);
}
