/**
 * Stored pull requests for tests that read them back (CLI, page): documents
 * shaped as Bitbucket's REST API answers them (pullrequest, pullrequest_comment,
 * the /activity items, task, commitstatus, commit, diffstat), written through
 * the engine's own path (a backup with a collector) as the real collector does.
 */
import type { PullRequestDocument } from '../../src/engine/bucket/metadata.js';
import type { MetadataCollector } from '../../src/engine/metadata.js';

const account = (name: string, id: string) => ({ type: 'user', display_name: name, nickname: name.split(' ')[0]!.toLowerCase(), account_id: id, uuid: `{${id}}` });
export const ALICE = account('Alice Archer', '557058:aaaa');
export const BOB = account('Bob Builder', '557058:bbbb');
export const CAROL = account('Carol Chen', '557058:cccc');

const content = (raw: string) => ({ type: 'rendered', raw, markup: 'markdown', html: `<p>${raw}</p>` });

/** A merged pull request with a thread, an inline comment, a deleted comment, a task and a build. */
export function reviewedPullRequest(id: number, overrides: { title?: string; state?: PullRequestDocument['pullRequest']['state']; updatedOn?: string } = {}): PullRequestDocument {
  const updatedOn = overrides.updatedOn ?? '2026-05-04T09:30:00.000000+00:00';
  const link = (path: string) => ({ self: { href: `https://api.bitbucket.org/2.0/repositories/acme/rich/pullrequests/${id}${path}` } });
  const comment = (commentId: number, user: object, raw: string, createdOn: string, extra: object = {}) => ({
    type: 'pullrequest_comment', id: commentId, created_on: createdOn, updated_on: createdOn, content: content(raw), user, deleted: false, pending: false,
    links: link(`/comments/${commentId}`), pullrequest: { type: 'pullrequest', id, title: overrides.title ?? 'Retry uploads with backoff' }, ...extra,
  });
  return {
    format: 'lifeboat-pull-request',
    version: 1,
    fetchedAt: '2026-05-05T00:00:00.000Z',
    pullRequest: {
      type: 'pullrequest', id, title: overrides.title ?? 'Retry uploads with backoff', state: overrides.state ?? 'MERGED',
      description: 'Uploads fail on a flaky network.\n\nThis retries them with exponential backoff (PROJ-42).',
      summary: content('Uploads fail on a flaky network.\n\nThis retries them with exponential backoff (PROJ-42).'),
      author: ALICE, created_on: '2026-05-01T08:00:00.000000+00:00', updated_on: updatedOn,
      source: { branch: { name: 'feature/retry' }, commit: { hash: '1111111111111111111111111111111111111111' }, repository: { full_name: 'acme/rich' } },
      destination: { branch: { name: 'main' }, commit: { hash: '2222222222222222222222222222222222222222' }, repository: { full_name: 'acme/rich' } },
      merge_commit: { hash: '3333333333333333333333333333333333333333' }, close_source_branch: true, closed_by: BOB,
      comment_count: 4, task_count: 1,
      reviewers: [BOB, CAROL],
      participants: [
        { type: 'participant', user: BOB, role: 'REVIEWER', approved: true, state: 'approved', participated_on: '2026-05-03T10:00:00.000000+00:00' },
        { type: 'participant', user: CAROL, role: 'REVIEWER', approved: false, state: 'changes_requested', participated_on: '2026-05-02T11:00:00.000000+00:00' },
        { type: 'participant', user: ALICE, role: 'PARTICIPANT', approved: false, state: null, participated_on: '2026-05-02T12:00:00.000000+00:00' },
      ],
      links: link(''),
    },
    comments: [
      comment(501, BOB, 'Why 5 attempts and not 3?', '2026-05-02T10:00:00.000000+00:00'),
      comment(502, ALICE, 'Three was not enough on the CI runners.', '2026-05-02T12:00:00.000000+00:00', { parent: { id: 501, links: link('/comments/501') } }),
      comment(503, CAROL, 'This sleeps on the event loop; use a timer.', '2026-05-02T11:00:00.000000+00:00', { inline: { from: null, to: 42, path: 'src/upload.ts' } }),
      { ...comment(504, BOB, '', '2026-05-02T13:00:00.000000+00:00'), deleted: true, content: { type: 'rendered', raw: '', markup: 'markdown', html: '' } },
      comment(505, BOB, 'Fixed in the last push, thanks.', '2026-05-03T09:00:00.000000+00:00', { parent: { id: 503 }, inline: { from: null, to: 42, path: 'src/upload.ts' } }),
    ],
    activity: [
      { changes_requested: { date: '2026-05-02T11:05:00.000000+00:00', user: CAROL }, pull_request: { id } },
      { approval: { date: '2026-05-03T10:00:00.000000+00:00', user: BOB, pullrequest: { id } }, pull_request: { id } },
      { update: { state: 'MERGED', date: '2026-05-04T09:30:00.000000+00:00', author: BOB, title: overrides.title ?? 'Retry uploads with backoff' }, pull_request: { id } },
    ],
    tasks: [{ type: 'pullrequest_task', id: 71, state: 'RESOLVED', content: content('Add a test for the backoff'), creator: CAROL, created_on: '2026-05-02T11:01:00.000000+00:00', updated_on: '2026-05-03T08:00:00.000000+00:00', comment: { id: 503 } }],
    statuses: [{ type: 'build', key: 'PIPELINE-7', name: 'Pipeline #7', state: 'SUCCESSFUL', url: 'https://bitbucket.org/acme/rich/pipelines/results/7', refname: 'feature/retry', commit: { hash: '1111111111111111111111111111111111111111' }, created_on: '2026-05-03T09:10:00.000000+00:00', updated_on: '2026-05-03T09:20:00.000000+00:00' }],
    commits: [{ type: 'commit', hash: '1111111111111111111111111111111111111111', date: '2026-05-03T08:55:00+00:00', message: 'Retry uploads with exponential backoff\n\nPROJ-42', author: { type: 'author', raw: 'Alice Archer <alice@example.com>', user: ALICE } }],
    diffstat: [{ type: 'diffstat', status: 'modified', lines_added: 30, lines_removed: 4, old: { path: 'src/upload.ts' }, new: { path: 'src/upload.ts' } }],
  };
}

/** A collector that stores the given documents as the snapshot's pull requests section. */
export function storedPullRequests(documents: readonly PullRequestDocument[]): MetadataCollector {
  return {
    section: 'pullRequests',
    async collect(context) {
      const items = [];
      for (const document of [...documents].sort((a, b) => a.pullRequest.id - b.pullRequest.id)) {
        const { id, state, updated_on: updatedOn } = document.pullRequest;
        items.push({ id, state, updatedOn: new Date(updatedOn).toISOString(), object: await context.writeDocument(document) });
      }
      return { pullRequests: { complete: true, updatedThrough: context.now().toISOString(), outstanding: [], items } };
    },
  };
}
