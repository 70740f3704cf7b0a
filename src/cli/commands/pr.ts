import { readMetadataIndex } from '../../engine/bucket/metadata.js';
import { LifeboatError } from '../../engine/errors.js';
import { pullRequestEntry, readPullRequest, viewPullRequest } from '../../engine/pull-request-views.js';
import { defineCommand, repoOptions } from '../command.js';
import { openSnapshotData, wholeNumber } from '../context.js';
import { pullRequestText } from './pull-request-text.js';
import { allowUnsignedOptions } from '../signing.js';

export const prCommand = defineCommand({
  name: 'pr',
  usage: 'lifeboat pr <snapshot> <id> [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: 'Show one pull request of a snapshot: description, reviewers, the conversation, tasks, builds and commits.',
  options: { ...repoOptions, ...allowUnsignedOptions },
  examples: ['lifeboat pr latest 7 --repo acme/web --identity ~/lifeboat-key.txt'],
  async run(args, output) {
    const [id, number] = args.positionals;
    if (!id || !number) throw new LifeboatError('INVALID_ARGUMENT', `Which snapshot and pull request? ${this.usage}`);
    const prId = wholeNumber(number.replace(/^#/, ''), 'The pull request id', 1)!;
    const { store, manifest, identities } = await openSnapshotData(args.values, id, output);
    const index = await readMetadataIndex(store, manifest);
    const document = await readPullRequest(store, manifest, pullRequestEntry(index, prId, manifest.id), identities);
    output.result(document, () => pullRequestText(viewPullRequest(document)));
    return 0;
  },
});
