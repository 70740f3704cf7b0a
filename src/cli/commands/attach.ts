import { attach } from '../../engine/attach.js';
import { readMarker } from '../../engine/bucket/marker.js';
import { LifeboatError } from '../../engine/errors.js';
import { describeSummary } from '../../engine/snapshot-contents.js';
import { defineCommand, repoOptions } from '../command.js';
import { openBucketFromOptions, resolveRepo } from '../context.js';
import { formatBytes } from '../output.js';
import { prepareAttachment } from '../services/attachments.js';
import { signingKeyOptions, writerSigning } from '../signing.js';

export const attachCommand = defineCommand({
  name: 'attach',
  usage: 'lifeboat attach <issue-export.zip | wiki-folder> --repo <workspace>/<repo> --signing-key <file> [--trust <fingerprint>]...',
  summary: "Keep a pre-sunset issue export (zip) or wiki clone with a repository's backups, in a new snapshot of it.",
  options: { ...repoOptions, ...signingKeyOptions },
  examples: ['lifeboat attach rich-issues.zip --repo acme/rich --signing-key ~/lifeboat-signing.key', 'lifeboat attach ./rich.wiki --repo acme/rich --signing-key ~/lifeboat-signing.key'],
  async run(args, output) {
    const [path, extra] = args.positionals;
    if (!path || extra !== undefined) throw new LifeboatError('INVALID_ARGUMENT', `Give one zip file or wiki folder: ${this.usage}`);
    const { values } = args;
    if (!values.repo) throw new LifeboatError('INVALID_ARGUMENT', '--repo <workspace>/<repo> is required: it names the repository whose backups keep the attachment.');
    const store = openBucketFromOptions(values);
    const marker = await readMarker(store);
    const repo = await resolveRepo(store, values.repo);
    // Checked in full before anything is written.
    const prepared = await prepareAttachment(path);
    try {
      const signing = await writerSigning(store, values, 'attach');
      output.progress(`Attaching ${prepared.name}`);
      const result = await attach({
        ...signing,
        store,
        repo,
        kind: prepared.kind,
        name: prepared.name,
        summary: prepared.summary,
        content: prepared.content,
        objectLock: marker.objectLock,
        owner: `lifeboat-cli pid ${process.pid}`,
      });
      output.done();
      const { attachment, snapshot } = result;
      output.result({ status: result.status, snapshot: snapshot.id, attachment }, () => (result.status === 'attached'
        ? `Attached ${attachment.kind} ${attachment.name} (${describeSummary(attachment.summary)}, ${formatBytes(attachment.object.size)}) in snapshot ${snapshot.id}.`
        : `${attachment.name} is attached already (snapshot ${snapshot.id}); nothing was written.`));
    } finally {
      await prepared.cleanup();
    }
    return 0;
  },
});
