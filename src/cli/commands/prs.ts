import { readMetadataIndex } from '../../engine/bucket/metadata.js';
import { LifeboatError } from '../../engine/errors.js';
import { listPullRequests, pullRequestEntries } from '../../engine/pull-request-views.js';
import { defineCommand, repoOptions } from '../command.js';
import { openSnapshotData } from '../context.js';
import { shortDate } from './pull-request-text.js';
import { table } from './snapshots.js';
import { allowUnsignedOptions } from '../signing.js';

export const prsCommand = defineCommand({
  name: 'prs',
  usage: 'lifeboat prs <snapshot> [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: "List a snapshot's pull requests, newest first (most recently updated).",
  options: { ...repoOptions, ...allowUnsignedOptions },
  examples: ['lifeboat prs latest --repo acme/web --identity ~/lifeboat-key.txt'],
  async run(args, output) {
    const [id] = args.positionals;
    if (!id) throw new LifeboatError('INVALID_ARGUMENT', `Which snapshot? ${this.usage}`);
    const { store, manifest, identities } = await openSnapshotData(args.values, id, output);
    const index = await readMetadataIndex(store, manifest);
    const entries = pullRequestEntries(index);
    const items = await listPullRequests(store, manifest, entries, identities);
    // Encrypted documents with no identity to open them: the listing holds only what the plain index says, and says so.
    const encrypted = entries.some((entry) => entry.object.encrypted);
    const decrypted = !encrypted || identities !== undefined;
    const locked = 'The pull requests are encrypted: only ids, states and times are listed; pass --identity <file> for titles, authors and comments.';
    if (!decrypted && output.json) output.warn(locked);
    output.result({ snapshot: manifest.id, collected: index?.pullRequests !== undefined, encrypted, decrypted, pullRequests: items }, () => {
      if (!index?.pullRequests) return `Snapshot ${manifest.id} holds no pull requests (they were not collected).`;
      if (items.length === 0) return `Snapshot ${manifest.id} holds no pull requests (the repository has none).`;
      const rows = table([['ID', 'STATE', 'UPDATED', 'COMMENTS', 'AUTHOR', 'TITLE'], ...items.map((item) => [`#${item.id}`, item.state, shortDate(item.updatedOn), String(item.comments ?? ''), item.author ?? '', item.title ?? ''])]);
      return decrypted ? rows : `${rows}\n${locked}`;
    });
    return 0;
  },
});
