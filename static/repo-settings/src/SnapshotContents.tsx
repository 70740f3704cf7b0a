// What a snapshot holds besides git, in its details dialog: pull requests (a page
// at a time, each opened with its conversation), configuration, LFS objects and
// attached pre-sunset exports. The app holds no age identity: for an encrypted
// snapshot it says so and gives the CLI command that reads the rest.
import Button from '@atlaskit/button/new';
import DynamicTable from '@atlaskit/dynamic-table';
import Heading from '@atlaskit/heading';
import Lozenge from '@atlaskit/lozenge';
import SectionMessage from '@atlaskit/section-message';
import Spinner from '@atlaskit/spinner';
import { useState } from 'react';
import { invoke, type CommentView, type ConversationEntry, type PullRequestView, type SnapshotContents } from './api.js';
import { describeSummary } from '../../../src/engine/snapshot-contents.js';
import { ErrorMessage } from '../../shared/page-error.js';
import { absoluteTime, bytes, plural, relativeTime } from './format.js';
import { useMorePages, useResource } from '../../shared/data.js';
import { Panel, Subtle } from '../../shared/layout.js';

type State = PullRequestView['state'];
const STATE_LOOK: Record<State, 'inprogress' | 'success' | 'removed' | 'default'> = { OPEN: 'inprogress', MERGED: 'success', DECLINED: 'removed', SUPERSEDED: 'default' };

const StateLozenge = ({ state }: { state: State }) => <Lozenge appearance={STATE_LOOK[state]}>{state.toLowerCase()}</Lozenge>;
const Time = ({ iso }: { iso: string }) => <time dateTime={iso} title={absoluteTime(iso)}>{relativeTime(iso)}</time>;

export function SnapshotContentsView({ snapshotId, contents }: { snapshotId: string; contents: SnapshotContents | null }) {
  if (!contents) return <Subtle as="p">Besides git, this snapshot holds nothing: it was taken without metadata.</Subtle>;
  const { lfs } = contents;
  return (
    <Panel labelledBy="contents-heading">
      <Heading size="small" as="h3" id="contents-heading">Besides git</Heading>
      {contents.partial && (
        <SectionMessage appearance="warning" title="Partial metadata">
          <p>Some metadata stopped before it was complete (a rate limit or a time budget); the next backup completes it.</p>
        </SectionMessage>
      )}
      <dl>
        <dt>Pull requests</dt>
        <dd>{contents.pullRequests === null ? 'not collected' : `${contents.pullRequests}${contents.pullRequestsOutstanding > 0 ? ` (${contents.pullRequestsOutstanding} changed since, stored by the next backup)` : ''}`}</dd>
        <dt>Configuration</dt>
        <dd>{contents.configuration.length === 0 ? 'none' : contents.configuration.join(', ')}</dd>
        <dt>LFS objects</dt>
        <dd>{lfs === null ? 'not collected' : `${lfs.objects} (${bytes(lfs.bytes)})${lfs.missing > 0 ? `, ${lfs.missing} missing` : ''}`}</dd>
      </dl>
      {contents.problems.length > 0 && (
        <SectionMessage appearance="warning" title={`${plural(contents.problems.length, 'problem')} reading metadata`}>
          <ul>{contents.problems.map((problem, index) => <li key={index}>{problem.section}{problem.subject ? ` (${problem.subject})` : ''}: {problem.message}</li>)}</ul>
        </SectionMessage>
      )}
      <Attachments snapshotId={snapshotId} attachments={contents.attachments} />
      {contents.pullRequests !== null && contents.pullRequests > 0 && <PullRequests snapshotId={snapshotId} />}
    </Panel>
  );
}

function Attachments({ snapshotId, attachments }: { snapshotId: string; attachments: SnapshotContents['attachments'] }) {
  if (attachments.length === 0) return null;
  return (
    <>
      <table className="refs">
        <caption>Attached exports</caption>
        <thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Holds</th><th scope="col">Size</th><th scope="col">Attached</th></tr></thead>
        <tbody>
          {attachments.map((item) => (
            <tr key={`${item.kind}:${item.name}:${item.attachedAt}`}>
              <td>{item.kind === 'wiki' ? 'Wiki' : 'Issue export'}</td>
              <td>{item.name}{item.encrypted && <> <Lozenge>encrypted</Lozenge></>}</td>
              <td>{describeSummary(item.summary)}</td>
              <td>{bytes(item.bytes)}</td>
              <td><Time iso={item.attachedAt} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      <Subtle as="p">Write them out with <code>lifeboat attachments {snapshotId} --out &lt;folder&gt;</code>: the zip as it was, the wiki as a git clone.</Subtle>
    </>
  );
}

const HEAD = {
  cells: [
    { key: 'state', content: 'State' },
    { key: 'title', content: 'Pull request' },
    { key: 'author', content: 'Author' },
    { key: 'updated', content: 'Updated' },
  ],
};

function PullRequests({ snapshotId }: { snapshotId: string }) {
  const { pages, error, more, loadingMore } = useMorePages((cursor) => invoke('listPullRequests', cursor === undefined ? { snapshotId } : { snapshotId, cursor }), [snapshotId]);
  const [open, setOpen] = useState<number>();

  if (open !== undefined) return <PullRequestDetails snapshotId={snapshotId} id={open} onBack={() => setOpen(undefined)} />;
  const items = pages?.flatMap((page) => page.items) ?? [];
  const encrypted = pages?.some((page) => page.encrypted) ?? false;
  const rows = items.map((item) => ({
    key: String(item.id),
    cells: [
      { key: 'state', content: <StateLozenge state={item.state} /> },
      {
        key: 'title',
        content: item.title === undefined
          ? <span>#{item.id}</span>
          : <Button appearance="subtle" onClick={() => setOpen(item.id)}>{`#${item.id} ${item.title}`}</Button>,
      },
      { key: 'author', content: item.author ?? '' },
      { key: 'updated', content: <Time iso={item.updatedOn} /> },
    ],
  }));
  return (
    <section aria-labelledby="pull-requests-heading">
      <Heading size="small" as="h3" id="pull-requests-heading">Pull requests{pages ? ` (${pages[0]!.total})` : ''}</Heading>
      {error !== undefined && <ErrorMessage error={error} title="Could not list the pull requests" />}
      {encrypted && (
        <SectionMessage appearance="information" title="The pull requests are encrypted">
          <p>Lifeboat holds no age identity, so this page shows only their numbers, states and times. Read one with the command line and your key:</p>
          <p><code>lifeboat pr {snapshotId} &lt;id&gt; --identity key.txt</code></p>
        </SectionMessage>
      )}
      <DynamicTable label="Pull requests of this snapshot, newest first" head={HEAD} rows={rows} isLoading={pages === undefined && error === undefined} testId="pull-requests" />
      {more && <Button onClick={() => void more()} isLoading={loadingMore}>Show more pull requests</Button>}
    </section>
  );
}

function PullRequestDetails({ snapshotId, id, onBack }: { snapshotId: string; id: number; onBack: () => void }) {
  const { data: pr, error } = useResource(() => invoke('getPullRequest', { snapshotId, pullRequestId: id }), [snapshotId, id]);
  const side = (end: PullRequestView['source']): string => `${end.branch ?? '?'}${end.commit ? ` (${end.commit.slice(0, 12)})` : ''}`;
  return (
    <article aria-labelledby="pull-request-heading">
      <Button onClick={onBack}>Back to the pull requests</Button>
      {error !== undefined && <ErrorMessage error={error} title={`Could not read pull request #${id}`} />}
      {!pr && error === undefined && <Spinner label="Loading the pull request" />}
      {pr && (
        <>
          <Heading size="small" as="h3" id="pull-request-heading">#{pr.id} {pr.title}</Heading>
          <p><StateLozenge state={pr.state} /> {pr.author} · {side(pr.source)} → {side(pr.destination)} · opened <Time iso={pr.createdOn} />, updated <Time iso={pr.updatedOn} />{pr.mergeCommit && <> · merged as <code>{pr.mergeCommit.slice(0, 12)}</code>{pr.closedBy && ` by ${pr.closedBy}`}</>}</p>
          <p className="description">{pr.description || 'No description.'}</p>
          {pr.reviewers.length > 0 && (
            <>
              <Heading size="xsmall" as="h4">Reviewers</Heading>
              <ul>{pr.reviewers.map((reviewer) => <li key={reviewer.name}>{reviewer.name}{reviewer.role === 'PARTICIPANT' ? ' (participant)' : ''}{reviewer.state !== 'none' && <> <Lozenge appearance={reviewer.state === 'approved' ? 'success' : 'moved'}>{reviewer.state}</Lozenge></>}</li>)}</ul>
            </>
          )}
          <Heading size="xsmall" as="h4">Conversation</Heading>
          {pr.conversation.length === 0 ? <Subtle as="p">No comments.</Subtle> : <ol className="conversation" aria-label="Conversation">{pr.conversation.map((entry, index) => <Entry key={index} entry={entry} />)}</ol>}
          {pr.tasks.length > 0 && (
            <>
              <Heading size="xsmall" as="h4">Tasks</Heading>
              <ul>{pr.tasks.map((task) => <li key={task.id}>{task.state === 'RESOLVED' ? '✓ ' : '○ '}{task.text} <Subtle>({task.creator}{task.state === 'RESOLVED' ? ', resolved' : ''})</Subtle></li>)}</ul>
            </>
          )}
          {pr.statuses.length > 0 && (
            <>
              <Heading size="xsmall" as="h4">Builds</Heading>
              <ul>{pr.statuses.map((status, index) => <li key={index}><Lozenge appearance={status.state === 'SUCCESSFUL' ? 'success' : status.state === 'FAILED' ? 'removed' : 'default'}>{status.state.toLowerCase()}</Lozenge> {status.name}{status.commit && <> on <code>{status.commit.slice(0, 12)}</code></>}</li>)}</ul>
            </>
          )}
          <Heading size="xsmall" as="h4">Commits</Heading>
          <ul>{pr.commits.map((commit) => <li key={commit.hash}><code>{commit.hash.slice(0, 12)}</code> {commit.message.split('\n')[0]} <Subtle>({commit.author})</Subtle></li>)}</ul>
        </>
      )}
    </article>
  );
}

function Entry({ entry }: { entry: ConversationEntry }) {
  if (entry.kind === 'event') return <li><Subtle>{entry.author} {entry.event}{entry.detail ? ` (${entry.detail.toLowerCase()})` : ''} · <Time iso={entry.date} /></Subtle></li>;
  return <li><Comment comment={entry} /></li>;
}

function Comment({ comment }: { comment: CommentView }) {
  const anchor = comment.inline && `${comment.inline.path}${comment.inline.line !== undefined ? `:${comment.inline.line}` : ''}`;
  return (
    <article className="comment" aria-label={`Comment by ${comment.author}`}>
      <p>
        <strong>{comment.author}</strong>{anchor && <> on <code>{anchor}</code>{comment.inline?.outdated && ' (outdated)'}</>} · <Time iso={comment.createdOn} />{comment.updatedOn && ' (edited)'}{comment.resolved && ` · resolved by ${comment.resolved.by}`}
      </p>
      {comment.deleted ? <Subtle as="p">This comment was deleted.</Subtle> : <p className="description">{comment.text}</p>}
      {comment.replies.length > 0 && <ol className="conversation" aria-label={`Replies to ${comment.author}`}>{comment.replies.map((reply) => <li key={reply.id}><Comment comment={reply} /></li>)}</ol>}
    </article>
  );
}
