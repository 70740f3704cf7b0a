// A stored pull request as plain text, for `lifeboat pr`; `lifeboat prs` shares its dates.
import type { CommentView, ConversationEntry, PullRequestView } from '../../engine/pull-request-views.js';

export function shortDate(iso: string): string {
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
