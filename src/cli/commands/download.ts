import { downloadSnapshot } from '../services/download.js';
import { LifeboatError } from '../../engine/errors.js';
import { defineCommand, repoOptions } from '../command.js';
import { openSnapshotData } from '../context.js';
import { inLine } from '../output.js';
import { allowUnsignedOptions } from '../signing.js';

export const downloadCommand = defineCommand({
  name: 'download',
  usage: 'lifeboat download <snapshot> --out <dir> [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: 'Write a snapshot as plain git bundles (decrypted), its manifest as stored with its signature, and a restore.sh that needs only git.',
  options: { out: { type: 'string', value: '<dir>', help: 'the new folder to write the bundles, manifest and restore.sh into' }, ...repoOptions, ...allowUnsignedOptions },
  examples: ['lifeboat download latest --repo acme/web --out web-snapshot --identity ~/lifeboat-key.txt && sh web-snapshot/restore.sh web.git'],
  async run(args, output) {
    const { positionals: [id], values } = args;
    const out = values.out;
    if (!id || !out) throw new LifeboatError('INVALID_ARGUMENT', `Give a snapshot and --out: ${this.usage}`);
    const { store, manifest, seal, bytes, identities } = await openSnapshotData(values, id, output);
    const report = await downloadSnapshot(store, manifest, {
      manifestBytes: bytes,
      ...(seal.signed ? { signedBy: seal.key } : {}),
      directory: out,
      ...(identities ? { identities } : {}),
      onBundle: (index, total) => output.progress(`Downloading bundle ${index}/${total}`, true),
    });
    output.done();
    output.result(report, () => [`Wrote snapshot ${report.snapshot} to ${report.directory}:`, ...report.files.map((file) => `  ${inLine(file.path)}`), `Rebuild it with plain git: sh ${report.directory}/restore.sh`].join('\n'));
    return 0;
  },
});
