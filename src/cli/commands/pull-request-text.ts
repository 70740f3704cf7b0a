// A stored pull request as plain text, for `lifeboat pr`; `lifeboat prs` shares its dates. Every field but
// the description and comments' text is one line (inLine): a line break in a title would forge a line.
import type { CommentView, ConversationEntry, PullRequestView } from '../../engine/pull-request-views.js';
import { inLine } from '../output.js';

export function shortDate(iso: string): string {
  return inLine(iso.replace('T', ' ').slice(0, 16));
}

const indent = (text: string, by: string): string[] => (text === '' ? [] : text.split('\n').map((line) => `${by}${line}`.trimEnd()));

export function pullRequestText(pr: PullRequestView): string {
  const side = (end: PullRequestView['source']): string => `${end.repository ? `${inLine(end.repository)}:` : ''}${inLine(end.branch ?? '?')}${end.commit ? ` (${inLine(end.commit.slice(0, 12))})` : ''}`;
  const lines = [
    `#${pr.id} ${inLine(pr.title)}  [${inLine(pr.state)}]`,
    `Author:   ${inLine(pr.author)}`,
    `Branches: ${side(pr.source)} -> ${side(pr.destination)}`,
    `Created:  ${shortDate(pr.createdOn)}   Updated: ${shortDate(pr.updatedOn)}`,
    ...(pr.mergeCommit ? [`Merged:   ${inLine(pr.mergeCommit.slice(0, 12))}${pr.closedBy ? ` by ${inLine(pr.closedBy)}` : ''}`] : pr.closedBy ? [`Closed by ${inLine(pr.closedBy)}`] : []),
    `Stored:   ${shortDate(pr.fetchedAt)}`,
    '',
    ...(pr.description ? indent(pr.description, '  ') : ['  (no description)']),
    '',
    `Reviewers and participants (${pr.reviewers.length}):`,
    ...pr.reviewers.map((reviewer) => `  ${inLine(reviewer.name)}${reviewer.role === 'PARTICIPANT' ? ' (participant)' : ''}${reviewer.state === 'none' ? '' : `: ${reviewer.state}`}`),
    '',
    `Conversation (${countComments(pr.conversation)} comments):`,
    ...pr.conversation.flatMap((entry) => entryText(entry, '  ')),
  ];
  if (pr.tasks.length > 0) lines.push('', `Tasks (${pr.tasks.length}):`, ...pr.tasks.map((task) => `  [${task.state === 'RESOLVED' ? 'x' : ' '}] ${inLine(task.text)} (${inLine(task.creator)}${task.commentId !== undefined ? `, on comment ${task.commentId}` : ''})`));
  if (pr.statuses.length > 0) lines.push('', `Build statuses (${pr.statuses.length}):`, ...pr.statuses.map((status) => `  ${inLine(status.state).padEnd(11)} ${inLine(status.name)}${status.commit ? ` on ${inLine(status.commit.slice(0, 12))}` : ''}${status.url ? `  ${inLine(status.url)}` : ''}`));
  lines.push('', `Commits (${pr.commits.length}):`, ...pr.commits.map((commit) => `  ${inLine(commit.hash.slice(0, 12))}  ${commit.date ? `${shortDate(commit.date)}  ` : ''}${inLine(commit.author)}  ${inLine(commit.message.split('\n')[0]!)}`));
  if (pr.diffstat.length > 0) lines.push('', `Files changed (${pr.diffstat.length}):`, ...pr.diffstat.map((file) => `  ${inLine(file.status).padEnd(8)} ${inLine(file.path)}${file.added !== undefined ? `  +${file.added} -${file.removed ?? 0}` : ''}`));
  return lines.join('\n');
}

function countComments(entries: readonly ConversationEntry[]): number {
  return entries.reduce((sum, entry) => sum + (entry.kind === 'comment' ? 1 + countComments(entry.replies) : 0), 0);
}

function entryText(entry: ConversationEntry, by: string): string[] {
  if (entry.kind === 'event') return [`${by}${shortDate(entry.date)}  ${inLine(entry.author)} ${inLine(entry.event)}${entry.detail ? ` (${inLine(entry.detail)})` : ''}`];
  return commentText(entry, by);
}

function commentText(comment: CommentView, by: string): string[] {
  const where = comment.inline ? ` on ${inLine(comment.inline.path)}${comment.inline.line !== undefined ? `:${comment.inline.line}${comment.inline.side === 'old' ? ' (old)' : ''}` : ''}${comment.inline.outdated ? ' (outdated)' : ''}` : '';
  const head = `${by}${shortDate(comment.createdOn)}  ${inLine(comment.author)}${where}${comment.updatedOn ? ' (edited)' : ''}${comment.resolved ? ` (resolved by ${inLine(comment.resolved.by)})` : ''}:`;
  const body = comment.deleted ? [`${by}    [deleted]`] : indent(comment.text, `${by}    `);
  return [head, ...body, ...comment.replies.flatMap((reply) => commentText(reply, `${by}    `))];
}
