import { attach } from '../../engine/attach.js';
import { readMetadataIndex } from '../../engine/bucket/metadata.js';
import { parseRepoPath } from '../../engine/bucket/keys.js';
import { readMarker } from '../../engine/bucket/marker.js';
import { LifeboatError } from '../../engine/errors.js';
import { type CommentView, type ConversationEntry, type PullRequestView, listPullRequests, pullRequestEntries, pullRequestEntry, readPullRequest, viewPullRequest } from '../../engine/pull-requests.js';
import { attachmentSummaries, describeSummary } from '../../engine/snapshot-contents.js';
import { defineCommand } from '../command.js';
import { openBucket, openSnapshotData, wholeNumber } from '../context.js';
import { formatBytes } from '../output.js';
import { prepareAttachment, writeAttachments } from '../services/attachments.js';
import { table } from './snapshots.js';

export const attachCommand = defineCommand({
  name: 'attach',
  usage: 'lifeboat attach <issue-export.zip | wiki-folder> --repo <workspace>/<repo>',
  summary: "Keep a pre-sunset issue export (zip) or wiki clone with a repository's backups, in a new snapshot of it.",
  options: { repo: { type: 'string' } },
  async run(args, output) {
    const [path, extra] = args.positionals;
    if (!path || extra !== undefined) throw new LifeboatError('INVALID_ARGUMENT', `Give one zip file or wiki folder: ${this.usage}`);
    const { values } = args;
    if (!values.repo) throw new LifeboatError('INVALID_ARGUMENT', '--repo <workspace>/<repo> is required: it names the repository whose backups keep the attachment.');
    const repo = parseRepoPath(values.repo);
    const store = openBucket(values);
    const marker = await readMarker(store);
    // Checked in full before anything is written.
    const prepared = await prepareAttachment(path);
    try {
      output.progress(`Attaching ${prepared.name}`);
      const result = await attach({
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

export const attachmentsCommand = defineCommand({
  name: 'attachments',
  usage: 'lifeboat attachments <snapshot> [--out <dir>] [--repo <workspace>/<repo>] [--identity <file>]',
  summary: 'List the issue exports and wikis attached to a snapshot; with --out, write them out (the zip as it was, the wiki as a bundle and a clone).',
  options: { repo: { type: 'string' }, out: { type: 'string' } },
  async run(args, output) {
    const [id] = args.positionals;
    if (!id) throw new LifeboatError('INVALID_ARGUMENT', `Which snapshot? ${this.usage}`);
    const { store, manifest, identities } = await openSnapshotData(args.values, id);
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

export const prsCommand = defineCommand({
  name: 'prs',
  usage: 'lifeboat prs <snapshot> [--repo <workspace>/<repo>] [--identity <file>]',
  summary: "List a snapshot's pull requests, newest first.",
  options: { repo: { type: 'string' } },
  async run(args, output) {
    const [id] = args.positionals;
    if (!id) throw new LifeboatError('INVALID_ARGUMENT', `Which snapshot? ${this.usage}`);
    const { store, manifest, identities } = await openSnapshotData(args.values, id);
    const index = await readMetadataIndex(store, manifest);
    const entries = pullRequestEntries(index);
    const items = await listPullRequests(store, manifest, entries, identities);
    if (!identities && entries.some((entry) => entry.object.encrypted)) output.warn(`The pull requests are encrypted: only ids, states and times are listed; pass --identity <file> for titles, authors and comments.`);
    output.result({ snapshot: manifest.id, collected: index?.pullRequests !== undefined, pullRequests: items }, () => {
      if (!index?.pullRequests) return `Snapshot ${manifest.id} holds no pull requests (they were not collected).`;
      if (items.length === 0) return `Snapshot ${manifest.id} holds no pull requests (the repository has none).`;
      return table([['ID', 'STATE', 'UPDATED', 'COMMENTS', 'AUTHOR', 'TITLE'], ...items.map((item) => [`#${item.id}`, item.state, shortDate(item.updatedOn), String(item.comments ?? ''), item.author ?? '', item.title ?? ''])]);
    });
    return 0;
  },
});

export const prCommand = defineCommand({
  name: 'pr',
  usage: 'lifeboat pr <snapshot> <id> [--repo <workspace>/<repo>] [--identity <file>]',
  summary: 'Show one pull request of a snapshot: description, reviewers, the conversation, tasks, builds and commits.',
  options: { repo: { type: 'string' } },
  async run(args, output) {
    const [id, number] = args.positionals;
    if (!id || !number) throw new LifeboatError('INVALID_ARGUMENT', `Which snapshot and pull request? ${this.usage}`);
    const prId = wholeNumber(number.replace(/^#/, ''), 'The pull request id', 1)!;
    const { store, manifest, identities } = await openSnapshotData(args.values, id);
    const index = await readMetadataIndex(store, manifest);
    const document = await readPullRequest(store, manifest, pullRequestEntry(index, prId, manifest.id), identities);
    output.result(document, () => pullRequestText(viewPullRequest(document)));
    return 0;
  },
});

function shortDate(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}

const indent = (text: string, by: string): string[] => (text === '' ? [] : text.split('\n').map((line) => `${by}${line}`.trimEnd()));

export function pullRequestText(pr: PullRequestView): string {
  const side = (end: PullRequestView['source']): string => `${end.repository ? `${end.repository}:` : ''}${end.branch ?? '?'}${end.commit ? ` (${end.commit.slice(0, 12)})` : ''}`;
  const lines = [
    `#${pr.id} ${pr.title}  [${pr.state}]`,
    `Author:   ${pr.author}`,
    `Branches: ${side(pr.source)} -> ${side(pr.destination)}`,
    `Created:  ${shortDate(pr.createdOn)}   Updated: ${shortDate(pr.updatedOn)}`,
    ...(pr.mergeCommit ? [`Merged:   ${pr.mergeCommit.slice(0, 12)}${pr.closedBy ? ` by ${pr.closedBy}` : ''}`] : pr.closedBy ? [`Closed by ${pr.closedBy}`] : []),
    `Stored:   ${shortDate(pr.fetchedAt)}`,
    '',
    ...(pr.description ? indent(pr.description, '  ') : ['  (no description)']),
    '',
    `Reviewers and participants (${pr.reviewers.length}):`,
    ...pr.reviewers.map((reviewer) => `  ${reviewer.name}${reviewer.role === 'PARTICIPANT' ? ' (participant)' : ''}${reviewer.state === 'none' ? '' : `: ${reviewer.state}`}`),
    '',
    `Conversation (${countComments(pr.conversation)} comments):`,
    ...pr.conversation.flatMap((entry) => entryText(entry, '  ')),
  ];
  if (pr.tasks.length > 0) lines.push('', `Tasks (${pr.tasks.length}):`, ...pr.tasks.map((task) => `  [${task.state === 'RESOLVED' ? 'x' : ' '}] ${task.text} (${task.creator}${task.commentId !== undefined ? `, on comment ${task.commentId}` : ''})`));
  if (pr.statuses.length > 0) lines.push('', `Build statuses (${pr.statuses.length}):`, ...pr.statuses.map((status) => `  ${status.state.padEnd(11)} ${status.name}${status.commit ? ` on ${status.commit.slice(0, 12)}` : ''}${status.url ? `  ${status.url}` : ''}`));
  lines.push('', `Commits (${pr.commits.length}):`, ...pr.commits.map((commit) => `  ${commit.hash.slice(0, 12)}  ${commit.date ? `${shortDate(commit.date)}  ` : ''}${commit.author}  ${commit.message.split('\n')[0]}`));
  if (pr.diffstat.length > 0) lines.push('', `Files changed (${pr.diffstat.length}):`, ...pr.diffstat.map((file) => `  ${file.status.padEnd(8)} ${file.path}${file.added !== undefined ? `  +${file.added} -${file.removed ?? 0}` : ''}`));
  return lines.join('\n');
}

function countComments(entries: readonly ConversationEntry[]): number {
  return entries.reduce((sum, entry) => sum + (entry.kind === 'comment' ? 1 + countComments(entry.replies) : 0), 0);
}

function entryText(entry: ConversationEntry, by: string): string[] {
  if (entry.kind === 'event') return [`${by}${shortDate(entry.date)}  ${entry.author} ${entry.event}${entry.detail ? ` (${entry.detail})` : ''}`];
  return commentText(entry, by);
}

function commentText(comment: CommentView, by: string): string[] {
  const where = comment.inline ? ` on ${comment.inline.path}${comment.inline.line !== undefined ? `:${comment.inline.line}${comment.inline.side === 'old' ? ' (old)' : ''}` : ''}${comment.inline.outdated ? ' (outdated)' : ''}` : '';
  const head = `${by}${shortDate(comment.createdOn)}  ${comment.author}${where}${comment.updatedOn ? ' (edited)' : ''}${comment.resolved ? ` (resolved by ${comment.resolved.by})` : ''}:`;
  const body = comment.deleted ? [`${by}    [deleted]`] : indent(comment.text, `${by}    `);
  return [head, ...body, ...comment.replies.flatMap((reply) => commentText(reply, `${by}    `))];
}
