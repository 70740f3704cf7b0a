import { downloadSnapshot } from '../services/download.js';
import { LifeboatError } from '../../engine/errors.js';
import { defineCommand, repoOptions } from '../command.js';
import { openSnapshotData } from '../context.js';
import { inLine } from '../output.js';
import { bundleMeter } from '../progress.js';
import { allowUnsignedOptions } from '../signing.js';

export const downloadCommand = defineCommand({
  name: 'download',
  usage: 'lifeboat download <snapshot> --out <dir> [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: 'Write a snapshot as plain git bundles and LFS objects (decrypted), its manifest as stored with its signature, and a restore.sh that needs only git.',
  options: { out: { type: 'string', value: '<dir>', help: 'the new folder to write the bundles, LFS objects, manifest and restore.sh into' }, ...repoOptions, ...allowUnsignedOptions },
  examples: ['lifeboat download latest --repo acme/web --out web-snapshot --identity ~/lifeboat-key.txt && sh web-snapshot/restore.sh web.git'],
  async run(args, output) {
    const { positionals: [id], values } = args;
    const out = values.out;
    if (!id || !out) throw new LifeboatError('INVALID_ARGUMENT', `Give a snapshot and --out: ${this.usage}`);
    const { store, manifest, bytes, signature, identities } = await openSnapshotData(values, id, output);
    const meter = bundleMeter(manifest.bundles.map((entry) => entry.size));
    const report = await downloadSnapshot(store, manifest, {
      manifestBytes: bytes,
      ...(signature ? { signature } : {}),
      directory: out,
      ...(identities ? { identities } : {}),
      onBundle: (index, total) => output.progress(`Downloading bundle ${index}/${total}: ${meter(index)}`, true),
      onLfsObject: (index, total) => output.progress(`Downloading LFS object ${index}/${total}`),
    });
    output.done();
    const missing = report.lfs?.missing ?? [];
    if (missing.length > 0) output.warn(`${missing.length} LFS object(s) the snapshot names were never stored (see its metadata index), so they are not in ${report.directory}: a checkout of them fails. ${missing.join(', ')}`);
    // The LFS objects are counted, not listed: a repository may hold thousands.
    const listed = report.files.filter((file) => !file.path.startsWith('lfs/'));
    output.result(report, () => [
      `Wrote snapshot ${report.snapshot} to ${report.directory}:`,
      ...listed.map((file) => `  ${inLine(file.path)}`),
      ...(report.lfs ? [`  lfs/objects/ (${report.lfs.objects} LFS object(s); restore.sh puts them in the repository's LFS store)`] : []),
      `Rebuild it with plain git: sh ${report.directory}/restore.sh`,
    ].join('\n'));
    return 0;
  },
});
