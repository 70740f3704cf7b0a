import { readMetadataIndex } from '../../engine/bucket/metadata.js';
import { LifeboatError } from '../../engine/errors.js';
import { attachmentSummaries, describeSummary } from '../../engine/snapshot-contents.js';
import { defineCommand, repoOptions } from '../command.js';
import { openSnapshotData } from '../context.js';
import { formatBytes } from '../output.js';
import { writeAttachments } from '../services/attachments.js';
import { table } from './snapshots.js';
import { allowUnsignedOptions } from '../signing.js';

export const attachmentsCommand = defineCommand({
  name: 'attachments',
  usage: 'lifeboat attachments <snapshot> [--out <dir>] [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: 'List the issue exports and wikis attached to a snapshot; with --out, write them out (the zip as it was, the wiki as a bundle and a clone).',
  options: { ...repoOptions, out: { type: 'string', value: '<dir>', help: 'write the attachments into this new folder: the zip as it was, the wiki as a bundle and a clone' }, ...allowUnsignedOptions },
  examples: ['lifeboat attachments latest --repo acme/rich', 'lifeboat attachments latest --repo acme/rich --out rich-presunset --identity ~/lifeboat-key.txt'],
  async run(args, output) {
    const [id] = args.positionals;
    if (!id) throw new LifeboatError('INVALID_ARGUMENT', `Which snapshot? ${this.usage}`);
    const { store, manifest, identities } = await openSnapshotData(args.values, id, output);
    const attachments = (await readMetadataIndex(store, manifest))?.attachments ?? [];
    const out = args.values.out;
    if (out !== undefined) {
      const report = await writeAttachments(store, manifest, attachments, {
        directory: out,
        ...(identities ? { identities } : {}),
        onAttachment: (index, total) => output.progress(`Writing attachment ${index}/${total}`, true),
      });
      output.done();
      output.result({ snapshot: manifest.id, ...report }, () => (report.written.length === 0
        ? `Snapshot ${manifest.id} has no attachments; ${report.directory} is empty.`
        : [`Wrote the attachments of snapshot ${manifest.id} to ${report.directory}:`, ...report.written.flatMap((item) => item.paths.map((path) => `  ${path}`))].join('\n')));
      return 0;
    }
    const listed = attachmentSummaries(attachments);
    output.result({ snapshot: manifest.id, attachments: listed }, () => (listed.length === 0
      ? `Snapshot ${manifest.id} has no attachments.`
      : table([['KIND', 'NAME', 'ATTACHED', 'HOLDS', 'SIZE', ''], ...listed.map((item) => [item.kind, item.name, item.attachedAt, describeSummary(item.summary), formatBytes(item.bytes), item.encrypted ? 'encrypted' : ''])])));
    return 0;
  },
});
