// Pull requests: the list (OPEN only unless `state` says otherwise, at most 50
// a page), create/update/decline/approve, comments (threads, inline, resolution),
// tasks, activity, statuses, and the commits and diffstat read from the real
// bare repository. Merging is not emulated: it would need a real merge.
//
// Each route is the OpenAPI spec operation of its method and path (summary named
// beside it where it matters) and answers the statuses the spec lists for it;
// what a comment marks "assumed" is not documented. Payloads follow the spec's
// `pullrequest`, `pullrequest_comment`, `task`, `commitstatus`, `commit` and
// `diffstat` definitions; the events they raise are events.ts's.
import { z } from 'zod';
import type { EmulatorState, Repository } from '../model.js';
import { eventActor, type PullRequestDetails, type PullRequestEndpoint, type PullRequestEvent, type PullRequestEventType, type PullRequestSummary } from '../events.js';
import type { RouteKit, RouteRegistry, RouteRequest, RouteResponse } from '../routes.js';
import {
  actorOf, created, demoUser, fail, findUser, idParam, idReference, link, nonBlank, parseBody, rendered, repoApi, repoWeb, userByUuid, userOrNull, userReference,
  type Json, type UserReference,
} from './common.js';
import { branchTip, commitsBetween, diffstat, resolveCommit } from './git-read.js';

const PULL_REQUEST_STATES = ['OPEN', 'MERGED', 'DECLINED', 'SUPERSEDED'] as const;
export type PullRequestState = (typeof PULL_REQUEST_STATES)[number];

/** Bitbucket refuses pull request and activity pages above 50 ("Invalid pagelen": ../shared/reference/bitbucket-api.md, "Paging"; 100 elsewhere, lowered silently: assumed). */
const PULL_REQUEST_PAGES = { maxPagelen: 50, refuseAboveMax: true } as const;

export interface Endpoint {
  branch: string;
  /** Full hash; answers show the first 12 characters, as the spec's examples and Bitbucket's answers do (not documented: assumed). */
  commit: string | null;
}

interface Review {
  userUuid: string;
  state: 'approved' | 'changes_requested';
  date: string;
}

/** A snapshot of the pull request, kept at creation and at every later change: the activity log's "update" entries. */
interface Update {
  date: string;
  authorUuid: string;
  state: PullRequestState;
  title: string;
  description: string;
  reason: string;
  source: Endpoint;
  destination: Endpoint;
}

interface StoredComment {
  id: number;
  userUuid: string;
  raw: string;
  createdOn: string;
  updatedOn: string;
  parentId: number | null;
  inline: { path: string; from?: number; to?: number } | null;
  deleted: boolean;
  resolution: { userUuid: string; createdOn: string } | null;
}

interface StoredTask {
  id: number;
  creatorUuid: string;
  raw: string;
  state: 'RESOLVED' | 'UNRESOLVED';
  createdOn: string;
  updatedOn: string;
  resolvedOn: string | null;
  resolvedByUuid: string | null;
  commentId: number | null;
}

interface StoredStatus {
  key: string;
  name: string;
  state: 'FAILED' | 'INPROGRESS' | 'STOPPED' | 'SUCCESSFUL';
  url: string;
  description: string;
  refname: string;
  commit: string;
  createdOn: string;
  updatedOn: string;
}

interface StoredPullRequest {
  id: number;
  title: string;
  description: string;
  state: PullRequestState;
  authorUuid: string;
  source: Endpoint;
  destination: Endpoint;
  mergeCommit: string | null;
  closeSourceBranch: boolean;
  closedByUuid: string | null;
  reason: string;
  draft: boolean;
  createdOn: string;
  updatedOn: string;
  reviewerUuids: string[];
  reviews: Review[];
  updates: Update[];
  comments: StoredComment[];
  tasks: StoredTask[];
  statuses: StoredStatus[];
}

interface PullRequestData {
  pullRequests: StoredPullRequest[];
}

function dataOf(kit: RouteKit, repository: Repository): PullRequestData {
  return kit.repositoryData<PullRequestData>(repository, 'pullrequests', () => ({ pullRequests: [] }));
}

function short(hash: string): string {
  return hash.slice(0, 12);
}

function prApi(kit: RouteKit, repository: Repository, id: number, rest = ''): string {
  return repoApi(kit, repository, `pullrequests/${id}${rest}`);
}

/** The form embedded in comments, tasks and activity. */
function pullRequestRef(kit: RouteKit, repository: Repository, pr: StoredPullRequest): Json {
  return {
    type: 'pullrequest',
    id: pr.id,
    title: pr.title,
    links: { self: link(prApi(kit, repository, pr.id)), html: link(repoWeb(kit, repository, `pull-requests/${pr.id}`)) },
  };
}

function endpointJson(kit: RouteKit, repository: Repository, endpoint: Endpoint, destination: boolean): Json {
  return {
    repository: kit.repositoryJson(repository),
    branch: destination
      ? { name: endpoint.branch, merge_strategies: ['merge_commit', 'squash', 'fast_forward'], default_merge_strategy: 'merge_commit' }
      : { name: endpoint.branch },
    commit: endpoint.commit === null ? null : { hash: short(endpoint.commit) },
  };
}

function participantsJson(kit: RouteKit, pr: StoredPullRequest): Json[] {
  const uuids = new Set<string>([...pr.reviewerUuids, ...pr.reviews.map((r) => r.userUuid), ...pr.comments.filter((c) => !c.deleted).map((c) => c.userUuid)]);
  uuids.delete(pr.authorUuid);
  return [...uuids].flatMap((uuid) => {
    const user = userOrNull(kit, uuid);
    if (user === null) return [];
    const review = pr.reviews.find((r) => r.userUuid === uuid);
    const lastComment = pr.comments.filter((c) => c.userUuid === uuid && !c.deleted).at(-1);
    return [{
      type: 'participant',
      user,
      role: pr.reviewerUuids.includes(uuid) ? 'REVIEWER' : 'PARTICIPANT',
      approved: review?.state === 'approved',
      state: review?.state ?? null,
      participated_on: review?.date ?? lastComment?.createdOn ?? null,
    }];
  });
}

/** `full`: the single-resource form; lists leave out reviewers and participants unless `fields` asks for them, as Bitbucket does. */
function pullRequestJson(kit: RouteKit, repository: Repository, pr: StoredPullRequest, full: boolean | { reviewers: boolean; participants: boolean }): Json {
  const web = repoWeb(kit, repository, `pull-requests/${pr.id}`);
  const json: Json = {
    type: 'pullrequest',
    id: pr.id,
    title: pr.title,
    description: pr.description,
    rendered: { title: rendered(pr.title), description: rendered(pr.description), reason: rendered(pr.reason) },
    summary: rendered(pr.description),
    state: pr.state,
    draft: pr.draft,
    queued: false,
    author: userOrNull(kit, pr.authorUuid),
    source: endpointJson(kit, repository, pr.source, false),
    destination: endpointJson(kit, repository, pr.destination, true),
    merge_commit: pr.mergeCommit === null ? null : { hash: short(pr.mergeCommit) },
    comment_count: pr.comments.filter((c) => !c.deleted).length,
    task_count: pr.tasks.length,
    close_source_branch: pr.closeSourceBranch,
    closed_by: userOrNull(kit, pr.closedByUuid),
    reason: pr.reason,
    created_on: pr.createdOn,
    updated_on: pr.updatedOn,
    links: {
      self: link(prApi(kit, repository, pr.id)),
      html: link(web),
      commits: link(prApi(kit, repository, pr.id, '/commits')),
      approve: link(prApi(kit, repository, pr.id, '/approve')),
      diff: link(prApi(kit, repository, pr.id, '/diff')),
      diffstat: link(prApi(kit, repository, pr.id, '/diffstat')),
      comments: link(prApi(kit, repository, pr.id, '/comments')),
      activity: link(prApi(kit, repository, pr.id, '/activity')),
      merge: link(prApi(kit, repository, pr.id, '/merge')),
      decline: link(prApi(kit, repository, pr.id, '/decline')),
    },
  };
  const include = typeof full === 'boolean' ? { reviewers: full, participants: full } : full;
  if (include.reviewers) json.reviewers = pr.reviewerUuids.map((uuid) => userOrNull(kit, uuid)).filter((u) => u !== null);
  if (include.participants) json.participants = participantsJson(kit, pr);
  return json;
}

function commentJson(kit: RouteKit, repository: Repository, pr: StoredPullRequest, comment: StoredComment): Json {
  const self = prApi(kit, repository, pr.id, `/comments/${comment.id}`);
  const json: Json = {
    type: 'pullrequest_comment',
    id: comment.id,
    created_on: comment.createdOn,
    updated_on: comment.updatedOn,
    content: rendered(comment.deleted ? '' : comment.raw),
    user: userOrNull(kit, comment.userUuid),
    deleted: comment.deleted,
    pending: false,
    pullrequest: pullRequestRef(kit, repository, pr),
    links: { self: link(self), html: link(`${repoWeb(kit, repository, `pull-requests/${pr.id}`)}/_/diff#comment-${comment.id}`) },
  };
  if (comment.parentId !== null) json.parent = { type: 'pullrequest_comment', id: comment.parentId, links: { self: link(prApi(kit, repository, pr.id, `/comments/${comment.parentId}`)) } };
  if (comment.inline) json.inline = comment.inline;
  if (comment.resolution) {
    json.resolution = { type: 'comment_resolution', user: userOrNull(kit, comment.resolution.userUuid), created_on: comment.resolution.createdOn };
  }
  return json;
}

function taskJson(kit: RouteKit, repository: Repository, pr: StoredPullRequest, task: StoredTask): Json {
  const json: Json = {
    type: 'task',
    id: task.id,
    created_on: task.createdOn,
    updated_on: task.updatedOn,
    state: task.state,
    content: rendered(task.raw),
    creator: userOrNull(kit, task.creatorUuid),
    pending: false,
    resolved_on: task.resolvedOn,
    resolved_by: userOrNull(kit, task.resolvedByUuid),
    links: { self: link(prApi(kit, repository, pr.id, `/tasks/${task.id}`)), html: link(`${repoWeb(kit, repository, `pull-requests/${pr.id}`)}/overview`) },
  };
  const comment = pr.comments.find((c) => c.id === task.commentId);
  if (comment) json.comment = commentJson(kit, repository, pr, comment);
  return json;
}

function statusJson(kit: RouteKit, repository: Repository, status: StoredStatus): Json {
  return {
    type: 'build',
    key: status.key,
    name: status.name,
    state: status.state,
    url: status.url,
    description: status.description,
    refname: status.refname,
    commit: { type: 'commit', hash: status.commit },
    created_on: status.createdOn,
    updated_on: status.updatedOn,
    links: {
      self: link(repoApi(kit, repository, `commit/${status.commit}/statuses/build/${encodeURIComponent(status.key)}`)),
      commit: link(repoApi(kit, repository, `commit/${status.commit}`)),
    },
  };
}

/** The activity log, newest first: updates, approvals and change requests, comments. */
function activityJson(kit: RouteKit, repository: Repository, pr: StoredPullRequest): Json[] {
  const ref = pullRequestRef(kit, repository, pr);
  const entries: Array<{ date: string; json: Json }> = [
    ...pr.updates.map((update) => ({
      date: update.date,
      json: {
        update: {
          date: update.date,
          author: userOrNull(kit, update.authorUuid),
          state: update.state,
          title: update.title,
          description: update.description,
          reason: update.reason,
          source: endpointJson(kit, repository, update.source, false),
          destination: endpointJson(kit, repository, update.destination, true),
        },
        pull_request: ref,
      },
    })),
    ...pr.reviews.map((review) => ({
      date: review.date,
      json: {
        [review.state === 'approved' ? 'approval' : 'changes_requested']: { date: review.date, user: userOrNull(kit, review.userUuid), pullrequest: ref },
        pull_request: ref,
      },
    })),
    ...pr.comments.map((comment) => ({ date: comment.createdOn, json: { comment: commentJson(kit, repository, pr, comment), pull_request: ref } })),
  ];
  return entries.sort((a, b) => b.date.localeCompare(a.date)).map((entry) => entry.json);
}

function snapshot(pr: StoredPullRequest, authorUuid: string, date: string): Update {
  return {
    date,
    authorUuid,
    state: pr.state,
    title: pr.title,
    description: pr.description,
    reason: pr.reason,
    source: { ...pr.source },
    destination: { ...pr.destination },
  };
}

function pullRequestOf(request: RouteRequest, kit: RouteKit, repository: Repository): StoredPullRequest {
  const id = idParam(request, kit, 'pull_request_id');
  const pr = dataOf(kit, repository).pullRequests.find((p) => p.id === id);
  if (!pr) fail(kit, 404, `No pull request with ID ${id}`);
  return pr;
}

function commentOf(request: RouteRequest, kit: RouteKit, pr: StoredPullRequest): StoredComment {
  const id = idParam(request, kit, 'comment_id');
  const comment = pr.comments.find((c) => c.id === id);
  if (!comment) fail(kit, 404, `No comment with ID ${id}`);
  return comment;
}

function taskOf(request: RouteRequest, kit: RouteKit, pr: StoredPullRequest): StoredTask {
  const id = idParam(request, kit, 'task_id');
  const task = pr.tasks.find((t) => t.id === id);
  if (!task) fail(kit, 404, `No task with ID ${id}`);
  return task;
}

const branchEndpoint = z.object({ branch: z.object({ name: z.string() }) });

/** What a pull request's create and update share; Bitbucket takes the description as `description` or as `summary.raw`. */
const pullRequestFields = {
  description: z.string().nullish(),
  summary: z.object({ raw: z.string() }).nullish(),
  reviewers: z.array(userReference).nullish(),
  destination: branchEndpoint.nullish(),
  draft: z.boolean().nullish(),
};
const newPullRequest = z.object({ ...pullRequestFields, title: nonBlank, source: branchEndpoint, close_source_branch: z.boolean().nullish() });
const pullRequestUpdate = z.object({ ...pullRequestFields, title: nonBlank.nullish() });

/** Comments: text that is not blank. */
const content = z.object({ raw: nonBlank });
const lineNumber = z.number().int().min(1);
const newComment = z.object({
  content,
  parent: idReference.nullish(),
  inline: z.object({ path: z.string().min(1), from: lineNumber.nullish(), to: lineNumber.nullish() }).nullish(),
});
const commentUpdate = z.object({ content });

/** The id of the live comment a body's `parent` or `comment` names, or null without one. */
function referencedComment(kit: RouteKit, pr: StoredPullRequest, ref: { id: number } | null | undefined, key: 'parent' | 'comment'): number | null {
  if (!ref) return null;
  const comment = pr.comments.find((c) => c.id === ref.id && !c.deleted);
  if (!comment) fail(kit, 400, 'Bad request', `${key}: no such comment on this pull request`);
  return comment.id;
}

/**
 * The reference's examples of these comment events name the pull request by id,
 * state and branches only, and the repository without its slug
 * (pullrequest-comment-{updated,deleted,resolved,reopened}.json); every other
 * pull request event carries the pull request's details and the slug
 * (pullrequest-created.json, pullrequest-comment-created.json…).
 */
const SUMMARY_ONLY: ReadonlySet<PullRequestEventType> = new Set([
  'avi:bitbucket:updated:pullrequest-comment',
  'avi:bitbucket:deleted:pullrequest-comment',
  'avi:bitbucket:resolved:pullrequest-comment',
  'avi:bitbucket:reopened:pullrequest-comment',
]);

/** A side of the pull request as the examples give it: the branch name and a 12-character hash. */
function eventEndpoint(endpoint: Endpoint): PullRequestEndpoint {
  return { branch: endpoint.branch, commit: { hash: endpoint.commit?.slice(0, 12) ?? '' } };
}

function eventPullRequest(kit: RouteKit, pr: StoredPullRequest, summaryOnly: boolean): PullRequestSummary | PullRequestDetails {
  const summary: PullRequestSummary = { id: pr.id, state: pr.state, source: eventEndpoint(pr.source), destination: eventEndpoint(pr.destination) };
  if (summaryOnly) return summary;
  const author = userByUuid(kit, pr.authorUuid);
  if (!author) throw new Error(`state: pull request ${pr.id} names no author`);
  return {
    ...summary,
    updatedOn: pr.updatedOn,
    createdOn: pr.createdOn,
    // Not documented when Bitbucket truncates a title: assumed never.
    title: { value: pr.title, truncated: false },
    author: { ...eventActor(author), displayName: author.displayName },
    commentCount: pr.comments.filter((comment) => !comment.deleted).length,
    taskCount: pr.tasks.length,
  };
}

function emit(kit: RouteKit, request: RouteRequest, repository: Repository, pr: StoredPullRequest, eventType: PullRequestEventType, extra: Pick<PullRequestEvent, 'comment' | 'changes' | 'reviewers'> = {}): void {
  const { actor, selfGenerated } = kit.eventActor(request);
  const project = kit.state().projects.find((p) => p.workspaceUuid === repository.workspaceUuid && p.key === repository.projectKey);
  const summaryOnly = SUMMARY_ONLY.has(eventType);
  kit.emit({
    eventType,
    actor,
    selfGenerated,
    workspace: { uuid: repository.workspaceUuid },
    repository: summaryOnly ? { uuid: repository.uuid } : { uuid: repository.uuid, slug: repository.slug },
    project: { uuid: project?.uuid ?? '' },
    timestamp: kit.now(),
    pullrequest: eventPullRequest(kit, pr, summaryOnly),
    ...extra,
  });
}

/** Bitbucket raises `updated:pullrequest-comment` only for an edit 10 minutes or more after the comment was created or last edited (README). */
const COMMENT_EDIT_EVENT_AFTER_MS = 10 * 60_000;

/** Reviewers named in a body: known users, never the author (Bitbucket refuses that with a 400). */
function reviewersOf(kit: RouteKit, references: UserReference[] | null | undefined, authorUuid: string): string[] | undefined {
  if (!references) return undefined;
  return [...new Set(references.map((reference) => {
    const user = findUser(kit, reference);
    if (!user) fail(kit, 400, 'Bad request', 'reviewers: no such user');
    if (user.uuid === authorUuid) fail(kit, 400, `${user.displayName} is the author and cannot be included as a reviewer.`);
    return user.uuid;
  }))];
}

async function resolveEndpoint(kit: RouteKit, repository: Repository, branch: string, role: 'source' | 'destination'): Promise<Endpoint> {
  const dir = kit.gitDirectory(repository);
  const commit = dir === null ? null : await branchTip(dir, branch);
  if (commit === undefined) fail(kit, 400, `${role}: branch "${branch}" does not exist`);
  return { branch, commit };
}

/**
 * Include reviewers / participants in list items when `fields` names them (`+values.participants`, `values.reviewers.uuid`…):
 * "These fields are included from the `self` URL, but not from the `/pullrequests` collections resource" (the spec's "Partial responses").
 */
function listIncludes(request: RouteRequest): { reviewers: boolean; participants: boolean } {
  const fields = request.url.searchParams.getAll('fields').join(',');
  const asks = (name: string): boolean => new RegExp(`(^|,)\\s*\\+?values\\.(${name}|\\*)(\\.|,|$)`).test(fields);
  return { reviewers: asks('reviewers'), participants: asks('participants') };
}

export function register(registry: RouteRegistry): void {
  const base = '/2.0/repositories/{workspace}/{repo_slug}/pullrequests';
  const one = `${base}/{pull_request_id}`;

  // "List pull requests": "By default only open pull requests are returned"; `state` repeats for several. An unknown
  // state is a 400, and the order without `sort` newest id first (both not documented: assumed).
  registry.add('GET', base, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const requested = request.url.searchParams.getAll('state').map((s) => s.toUpperCase());
    for (const state of requested) {
      if (!(PULL_REQUEST_STATES as readonly string[]).includes(state)) fail(kit, 400, `Invalid state: ${state}`, `state must be one of ${PULL_REQUEST_STATES.join(', ')}`);
    }
    const states = new Set(requested.length === 0 ? ['OPEN'] : requested);
    const include = listIncludes(request);
    const items = dataOf(kit, repository).pullRequests
      .filter((pr) => states.has(pr.state))
      .sort((a, b) => b.id - a.id)
      .map((pr) => pullRequestJson(kit, repository, pr, include));
    return kit.paginate(request, items, PULL_REQUEST_PAGES);
  });

  // "Create a pull request": 201; `title` and `source` required, `destination` defaults to the main branch (the spec's
  // description). Equal branches and an unknown branch are 400s (not documented: assumed).
  registry.add('POST', base, async (request, kit) => {
    const repository = kit.repository(request, 'write');
    const user = actorOf(request, kit);
    const body = await parseBody(request, kit, newPullRequest);
    const sourceBranch = body.source.branch.name;
    const destinationBranch = body.destination?.branch.name ?? repository.mainBranch;
    if (sourceBranch === destinationBranch) fail(kit, 400, 'Bad request', 'source and destination branches must differ');
    const source = await resolveEndpoint(kit, repository, sourceBranch, 'source');
    const destination = await resolveEndpoint(kit, repository, destinationBranch, 'destination');
    const now = kit.now();
    const pr: StoredPullRequest = {
      id: kit.nextId(`pullrequest:${repository.uuid}`),
      title: body.title,
      description: body.summary?.raw ?? body.description ?? '',
      state: 'OPEN',
      authorUuid: user.uuid,
      source,
      destination,
      mergeCommit: null,
      closeSourceBranch: body.close_source_branch ?? false,
      closedByUuid: null,
      reason: '',
      draft: body.draft ?? false,
      createdOn: now,
      updatedOn: now,
      reviewerUuids: reviewersOf(kit, body.reviewers, user.uuid) ?? [],
      reviews: [],
      updates: [],
      comments: [],
      tasks: [],
      statuses: [],
    };
    pr.updates.push(snapshot(pr, user.uuid, now));
    dataOf(kit, repository).pullRequests.push(pr);
    await kit.save();
    emit(kit, request, repository, pr, 'avi:bitbucket:created:pullrequest');
    return created(pullRequestJson(kit, repository, pr, true), prApi(kit, repository, pr.id));
  });

  registry.add('GET', one, (request, kit) => {
    const repository = kit.repository(request, 'read');
    return { status: 200, body: pullRequestJson(kit, repository, pullRequestOf(request, kit, repository), true) };
  });

  registry.add('PUT', one, async (request, kit) => {
    const repository = kit.repository(request, 'write');
    const pr = pullRequestOf(request, kit, repository);
    const user = actorOf(request, kit);
    // "Only open pull requests can be mutated" ("Update a pull request"); the 400 is assumed.
    if (pr.state !== 'OPEN') fail(kit, 400, 'Bad request', `This pull request is ${pr.state.toLowerCase()} and cannot be edited.`);
    const body = await parseBody(request, kit, pullRequestUpdate);
    // Everything that can be refused is checked before anything changes.
    const reviewers = reviewersOf(kit, body.reviewers, pr.authorUuid);
    const destination = body.destination ? await resolveEndpoint(kit, repository, body.destination.branch.name, 'destination') : undefined;
    pr.title = body.title ?? pr.title;
    pr.description = body.summary?.raw ?? body.description ?? pr.description;
    pr.reviewerUuids = reviewers ?? pr.reviewerUuids;
    pr.destination = destination ?? pr.destination;
    pr.draft = body.draft ?? pr.draft;
    pr.updatedOn = kit.now();
    pr.updates.push(snapshot(pr, user.uuid, pr.updatedOn));
    await kit.save();
    emit(kit, request, repository, pr, 'avi:bitbucket:updated:pullrequest');
    return { status: 200, body: pullRequestJson(kit, repository, pr, true) };
  });

  // Comments: "The default sorting is oldest to newest"; replies name their parent, inline ones a file and line.
  registry.add('GET', `${one}/comments`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    return kit.paginate(request, pr.comments.map((c) => commentJson(kit, repository, pr, c)));
  });

  registry.add('POST', `${one}/comments`, async (request, kit) => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    const user = actorOf(request, kit);
    const body = await parseBody(request, kit, newComment);
    const parentId = referencedComment(kit, pr, body.parent, 'parent');
    let inline: StoredComment['inline'] = null;
    if (body.inline) {
      const { path, from, to } = body.inline;
      inline = { path, ...(typeof from === 'number' ? { from } : {}), ...(typeof to === 'number' ? { to } : {}) };
    }
    const now = kit.now();
    const comment: StoredComment = {
      id: kit.nextId('pullrequest-comment'), userUuid: user.uuid, raw: body.content.raw, createdOn: now, updatedOn: now, parentId, inline, deleted: false, resolution: null,
    };
    pr.comments.push(comment);
    // A new comment moves the pull request's updated_on; an edit or a deletion does not (not documented: assumed).
    pr.updatedOn = now;
    await kit.save();
    emit(kit, request, repository, pr, 'avi:bitbucket:created:pullrequest-comment', { comment: { id: comment.id } });
    return created(commentJson(kit, repository, pr, comment), prApi(kit, repository, pr.id, `/comments/${comment.id}`));
  });

  registry.add('GET', `${one}/comments/{comment_id}`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    return { status: 200, body: commentJson(kit, repository, pr, commentOf(request, kit, pr)) };
  });

  /** Only a comment's author edits or deletes it: 403 for others (the spec: "does not have access to the comment"). */
  const ownComment = (request: RouteRequest, kit: RouteKit): { repository: Repository; pr: StoredPullRequest; comment: StoredComment } => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    const comment = commentOf(request, kit, pr);
    if (comment.deleted) fail(kit, 404, `Comment ${comment.id} was deleted`);
    if (comment.userUuid !== actorOf(request, kit).uuid) fail(kit, 403, 'You can only change your own comments.');
    return { repository, pr, comment };
  };

  registry.add('PUT', `${one}/comments/{comment_id}`, async (request, kit) => {
    const { repository, pr, comment } = ownComment(request, kit);
    comment.raw = (await parseBody(request, kit, commentUpdate)).content.raw;
    const lastChange = comment.updatedOn;
    comment.updatedOn = kit.now();
    await kit.save();
    if (Date.parse(comment.updatedOn) - Date.parse(lastChange) >= COMMENT_EDIT_EVENT_AFTER_MS) {
      emit(kit, request, repository, pr, 'avi:bitbucket:updated:pullrequest-comment', { comment: { id: comment.id }, changes: { content: {} } });
    }
    return { status: 200, body: commentJson(kit, repository, pr, comment) };
  });

  // Tasks (at most 100 a page: the reference's "Page sizes").
  registry.add('GET', `${one}/tasks`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    return kit.paginate(request, pr.tasks.map((t) => taskJson(kit, repository, pr, t)));
  });

  registry.add('GET', `${one}/tasks/{task_id}`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    return { status: 200, body: taskJson(kit, repository, pr, taskOf(request, kit, pr)) };
  });

  // The activity log: updates, approvals, changes requested, comments (the spec's description), newest first (assumed), at most 50 a page.
  registry.add('GET', `${one}/activity`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    return kit.paginate(request, activityJson(kit, repository, pullRequestOf(request, kit, repository)), PULL_REQUEST_PAGES);
  });

  registry.add('GET', `${one}/statuses`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    return kit.paginate(request, pr.statuses.map((s) => statusJson(kit, repository, s)));
  });

  // The commits the pull request brings: on its source, not on its destination (as recorded when it was opened or last updated);
  // "in chronological order" says the spec, not which way: newest first, as git log (assumed). Empty without a source commit.
  registry.add('GET', `${one}/commits`, async (request, kit) => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    const dir = kit.gitDirectory(repository);
    const commits = dir === null || pr.source.commit === null || pr.destination.commit === null ? [] : await commitsBetween(dir, pr.destination.commit, pr.source.commit);
    const users = kit.state().users;
    const commitLink = (hash: string): Json => ({ self: link(repoApi(kit, repository, `commit/${hash}`)), html: link(repoWeb(kit, repository, `commits/${hash}`)) });
    const items = commits.map((commit) => {
      const user = users.find((u) => u.email !== '' && u.email.toLowerCase() === commit.authorEmail.toLowerCase());
      return {
        type: 'commit',
        hash: commit.hash,
        date: commit.date,
        author: { type: 'author', raw: `${commit.authorName} <${commit.authorEmail}>`, ...(user ? { user: kit.userJson(user) } : {}) },
        message: commit.message,
        summary: rendered(commit.message),
        parents: commit.parents.map((hash) => ({ type: 'commit', hash, links: commitLink(hash) })),
        repository: kit.repositoryJson(repository),
        links: commitLink(commit.hash),
      };
    });
    return kit.paginate(request, items);
  });

  // "Get the diff stat for a pull request": 302 to the repository diffstat of its source against its destination (the
  // spec); the `from_pullrequest_id` and `topic` it carries, and the 404 without commits: not documented, assumed.
  registry.add('GET', `${one}/diffstat`, (request, kit): RouteResponse => {
    const repository = kit.repository(request, 'read');
    const pr = pullRequestOf(request, kit, repository);
    if (pr.source.commit === null || pr.destination.commit === null) fail(kit, 404, 'The pull request has no commits to compare.');
    const target = new URL(repoApi(kit, repository, `diffstat/${pr.source.commit}..${pr.destination.commit}`));
    target.searchParams.set('from_pullrequest_id', String(pr.id));
    target.searchParams.set('topic', 'true');
    return { status: 302, headers: { Location: target.href } };
  });

  // "Compare two commit diff stats": `{spec}` is `<new>..<old>` (the spec: "the opposite of the order used in git diff") or one
  // commit (against its first parent). 404 for an unknown revision (assumed); 555 when generating it timed out: faults.ts.
  registry.add('GET', '/2.0/repositories/{workspace}/{repo_slug}/diffstat/{spec}', async (request, kit) => {
    const repository = kit.repository(request, 'read');
    const dir = kit.gitDirectory(repository);
    const spec = request.params.spec ?? '';
    const [tip = '', base = `${tip}^`] = spec.split('..');
    if (dir === null || !/^[0-9a-f]{4,40}$/.test(tip) || !/^[0-9a-f]{4,40}\^?$/.test(base)) fail(kit, 404, `Unknown revision spec ${spec}`);
    let changes;
    try {
      changes = await diffstat(dir, base, tip);
    } catch {
      fail(kit, 404, `Unknown revision spec ${spec}`);
    }
    const file = (path: string | null, hash: string): Json | null =>
      path === null ? null : { type: 'commit_file', path, escaped_path: path, commit: { type: 'commit', hash }, links: { self: link(repoApi(kit, repository, `src/${hash}/${path}`)) } };
    const items = changes.map((change) => ({
      type: 'diffstat',
      status: change.status,
      lines_added: change.linesAdded,
      lines_removed: change.linesRemoved,
      old: file(change.oldPath, base),
      new: file(change.newPath, tip),
    }));
    // 500 files a page by default and at most (not documented: assumed).
    return kit.paginate(request, items, { defaultPagelen: 500, maxPagelen: 500 });
  });
}

type Role = 'admin' | 'repoAdmin' | 'member';

/**
 * A seeded pull request, on the core's seeded web-app history (sandbox/bitbucket/seed.ts):
 * main has c1..c3 (v1.0.0), "Fix a typo" and the merge of develop; develop has
 * "Document the configuration" and "Validate login input"; feature/dark-mode one
 * commit on develop; feature/login-sso one commit on main. Commits are named by
 * revisions of that history, so the ids are real.
 */
interface SeedPullRequest {
  title: string;
  description: string;
  source: { branch: string; rev: string };
  destination: { branch: string; rev: string };
  author: Role;
  createdOn: string;
  reviewers?: Role[];
  approvals?: Array<{ by: Role; at: string }>;
  draft?: boolean;
  /** For closed ones: how and when; merged ones name their merge commit. */
  closed?: { state: Exclude<PullRequestState, 'OPEN'>; by: Role; at: string; reason?: string; mergeRev?: string };
  /** Comment threads: a first comment and its replies; `inline` anchors the first one to a line. */
  threads?: Array<{ inline?: { path: string; to: number }; comments: Array<{ by: Role; at: string; raw: string }>; task?: string; resolved?: { by: Role; at: string } }>;
}

const WEB_APP_PULL_REQUESTS: SeedPullRequest[] = [
  {
    title: 'Validate login input', description: 'Refuses an empty user or password before calling the server.\n\nAlso documents the configuration.',
    source: { branch: 'develop', rev: 'main^2' }, destination: { branch: 'main', rev: 'main^1' }, author: 'repoAdmin', createdOn: '2026-10-07T15:00:00.000Z',
    reviewers: ['admin'], approvals: [{ by: 'admin', at: '2026-10-08T17:00:00.000Z' }],
    closed: { state: 'MERGED', by: 'admin', at: '2026-10-09T09:00:00.000Z', mergeRev: 'main' },
    threads: [{
      inline: { path: 'src/login.js', to: 2 },
      comments: [
        { by: 'admin', at: '2026-10-08T09:00:00.000Z', raw: 'Should this also trim whitespace?' },
        { by: 'repoAdmin', at: '2026-10-08T09:20:00.000Z', raw: 'Passwords may start with a space; I would rather not.' },
        { by: 'admin', at: '2026-10-08T09:45:00.000Z', raw: 'Fair enough.' },
      ],
      resolved: { by: 'admin', at: '2026-10-08T09:46:00.000Z' },
    }],
  },
  {
    title: 'Add a dark theme', description: 'First attempt, against main.',
    source: { branch: 'feature/dark-mode', rev: 'feature/dark-mode' }, destination: { branch: 'main', rev: 'main^1' }, author: 'member', createdOn: '2026-10-08T10:10:00.000Z',
    closed: { state: 'SUPERSEDED', by: 'member', at: '2026-10-08T10:30:00.000Z' },
  },
  {
    title: 'Add a dark theme', description: 'Follows the operating system\'s colour scheme.\n\nCloses #2.',
    source: { branch: 'feature/dark-mode', rev: 'feature/dark-mode' }, destination: { branch: 'develop', rev: 'develop' }, author: 'member', createdOn: '2026-10-08T10:30:00.000Z',
    reviewers: ['repoAdmin', 'admin'], approvals: [{ by: 'repoAdmin', at: '2026-10-09T16:00:00.000Z' }],
    threads: [
      {
        comments: [
          { by: 'repoAdmin', at: '2026-10-08T14:00:00.000Z', raw: 'Could the colours come from the design tokens?' },
          { by: 'member', at: '2026-10-08T15:10:00.000Z', raw: 'They do now, see the latest commit.' },
          { by: 'repoAdmin', at: '2026-10-09T15:55:00.000Z', raw: 'Thanks!' },
        ],
        task: 'Use the design tokens',
      },
      { inline: { path: 'src/theme.css', to: 1 }, comments: [{ by: 'admin', at: '2026-10-09T10:00:00.000Z', raw: 'Is #111 dark enough for OLED screens?' }] },
    ],
  },
  {
    title: 'Fix a typo in the README', description: 'Mentions `npm start`.',
    source: { branch: 'bugfix/readme-typo', rev: 'main^1' }, destination: { branch: 'main', rev: 'v1.0.0' }, author: 'admin', createdOn: '2026-10-08T12:05:00.000Z',
    reviewers: ['member'], approvals: [{ by: 'member', at: '2026-10-08T12:20:00.000Z' }],
    closed: { state: 'MERGED', by: 'admin', at: '2026-10-08T12:30:00.000Z', mergeRev: 'main^1' },
  },
  {
    title: 'Single sign-on', description: 'Sketch of the SSO providers.',
    source: { branch: 'feature/login-sso', rev: 'feature/login-sso' }, destination: { branch: 'develop', rev: 'develop' }, author: 'repoAdmin', createdOn: '2026-10-10T11:10:00.000Z',
    reviewers: ['admin'],
    closed: { state: 'DECLINED', by: 'admin', at: '2026-10-10T11:20:00.000Z', reason: 'Wrong destination: open it against main.' },
    threads: [{ comments: [{ by: 'admin', at: '2026-10-10T11:19:00.000Z', raw: 'This should target main, declining.' }] }],
  },
  {
    title: 'Single sign-on', description: 'Sketch of the SSO providers.\n\nReplaces #5.',
    source: { branch: 'feature/login-sso', rev: 'feature/login-sso' }, destination: { branch: 'main', rev: 'main' }, author: 'repoAdmin', createdOn: '2026-10-10T11:30:00.000Z',
    reviewers: ['admin'],
    threads: [{ inline: { path: 'src/sso.js', to: 1 }, comments: [{ by: 'admin', at: '2026-10-10T13:00:00.000Z', raw: 'Which other providers do we expect?' }] }],
  },
  {
    title: 'WIP: dark mode everywhere', description: 'Draft: not ready for review.',
    source: { branch: 'feature/dark-mode', rev: 'feature/dark-mode' }, destination: { branch: 'main', rev: 'main' }, author: 'member', createdOn: '2026-10-10T12:00:00.000Z', draft: true,
  },
];

/**
 * Demo pull requests for web-app: OPEN ×3 (one with reviewers and an approval,
 * one draft), MERGED ×2, DECLINED, SUPERSEDED; threaded and inline comments, a
 * resolved thread, a task, reviews and build statuses.
 */
export async function seed(kit: RouteKit, repository: Repository): Promise<void> {
  if (repository.slug !== 'web-app') return;
  const data = dataOf(kit, repository);
  if (data.pullRequests.length > 0) return;
  const dir = kit.gitDirectory(repository);
  const uuid = (role: Role): string => demoUser(kit, role).uuid;
  const commit = async (rev: string): Promise<string | null> => (dir === null ? null : (await resolveCommit(dir, rev)) ?? null);

  for (const spec of WEB_APP_PULL_REQUESTS) {
    const pr: StoredPullRequest = {
      id: kit.nextId(`pullrequest:${repository.uuid}`),
      title: spec.title,
      description: spec.description,
      state: 'OPEN',
      authorUuid: uuid(spec.author),
      source: { branch: spec.source.branch, commit: await commit(spec.source.rev) },
      destination: { branch: spec.destination.branch, commit: await commit(spec.destination.rev) },
      mergeCommit: null,
      closeSourceBranch: spec.closed?.state === 'MERGED',
      closedByUuid: null,
      reason: '',
      draft: spec.draft ?? false,
      createdOn: spec.createdOn,
      updatedOn: spec.createdOn,
      reviewerUuids: (spec.reviewers ?? []).map(uuid),
      reviews: (spec.approvals ?? []).map(({ by, at }) => ({ userUuid: uuid(by), state: 'approved', date: at })),
      updates: [],
      comments: [],
      tasks: [],
      statuses: [],
    };
    pr.updates.push(snapshot(pr, pr.authorUuid, spec.createdOn));
    const touch = (at: string): void => {
      if (at > pr.updatedOn) pr.updatedOn = at;
    };
    for (const thread of spec.threads ?? []) {
      let first: StoredComment | undefined;
      for (const { by, at, raw } of thread.comments) {
        const comment: StoredComment = {
          id: kit.nextId('pullrequest-comment'), userUuid: uuid(by), raw, createdOn: at, updatedOn: at,
          parentId: first?.id ?? null, inline: first === undefined ? thread.inline ?? null : null, deleted: false, resolution: null,
        };
        pr.comments.push(comment);
        first ??= comment;
        touch(at);
      }
      if (first && thread.resolved) first.resolution = { userUuid: uuid(thread.resolved.by), createdOn: thread.resolved.at };
      if (first && thread.task) {
        const last = thread.comments.at(-1)?.at ?? first.createdOn;
        pr.tasks.push({
          id: kit.nextId('pullrequest-task'), creatorUuid: first.userUuid, raw: thread.task, state: 'RESOLVED', createdOn: first.createdOn, updatedOn: last,
          resolvedOn: last, resolvedByUuid: pr.authorUuid, commentId: first.id,
        });
      }
    }
    for (const review of pr.reviews) touch(review.date);
    if (pr.source.commit !== null) {
      pr.statuses.push({
        key: 'pipelines', name: `Pipeline #${pr.id}`, state: spec.closed?.state === 'DECLINED' ? 'FAILED' : 'SUCCESSFUL',
        url: repoWeb(kit, repository, `pipelines/results/${pr.id}`), description: 'Unit tests', refname: spec.source.branch, commit: pr.source.commit,
        createdOn: spec.createdOn, updatedOn: spec.createdOn,
      });
    }
    if (spec.closed) {
      pr.state = spec.closed.state;
      pr.reason = spec.closed.reason ?? '';
      pr.closedByUuid = uuid(spec.closed.by);
      pr.mergeCommit = spec.closed.mergeRev === undefined ? null : await commit(spec.closed.mergeRev);
      touch(spec.closed.at);
      pr.updates.push(snapshot(pr, uuid(spec.closed.by), spec.closed.at));
    }
    data.pullRequests.push(pr);
  }
}

/** A small deterministic generator (mulberry32), so that generated pull requests are the same every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedPullRequests {
  count: number;
  /** Authors, reviewers and commenters. */
  userUuids: string[];
  /** Both ends of every pull request (branches of the repository and their commits). */
  source: Endpoint;
  destination: Endpoint;
  /** The first one is created then, the others a few minutes apart. */
  startedAt: string;
  seed?: number;
}

/**
 * Pull requests written straight into the emulator's state, for benchmarks that
 * need thousands: a realistic mix of states (mostly merged), reviews, comment
 * threads (some inline, some with deleted replies), tasks and a build status
 * each. `kit.nextId` keeps later pull requests and comments numbered after them.
 */
export function generatePullRequests(state: EmulatorState, repositoryUuid: string, options: GeneratedPullRequests): void {
  const next = random(options.seed ?? 1);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
  const nextId = (sequence: string): number => {
    state.nextIds[sequence] = (state.nextIds[sequence] ?? 0) + 1;
    return state.nextIds[sequence];
  };
  const data = ((state.repositoryData[repositoryUuid] ??= {}).pullrequests ??= { pullRequests: [] }) as PullRequestData;
  let clock = Date.parse(options.startedAt);
  const at = (minutes: number): string => new Date((clock += minutes * 60_000)).toISOString();
  for (let index = 0; index < options.count; index++) {
    const authorUuid = pick(options.userUuids);
    const others = options.userUuids.filter((uuid) => uuid !== authorUuid);
    const createdOn = at(1 + Math.floor(next() * 30));
    const roll = next();
    const final: PullRequestState = roll < 0.7 ? 'MERGED' : roll < 0.82 ? 'OPEN' : roll < 0.94 ? 'DECLINED' : 'SUPERSEDED';
    const pr: StoredPullRequest = {
      id: nextId(`pullrequest:${repositoryUuid}`),
      title: `${pick(['Fix', 'Add', 'Refactor', 'Document', 'Speed up'])} ${pick(['the login form', 'billing export', 'search paging', 'the settings page', 'error messages'])} (WEB-${100 + index})`,
      description: `Generated pull request ${index + 1}.\n\n${'Explains the change in some detail. '.repeat(1 + Math.floor(next() * 6))}`,
      state: 'OPEN',
      authorUuid,
      source: { ...options.source },
      destination: { ...options.destination },
      mergeCommit: null,
      closeSourceBranch: false,
      closedByUuid: null,
      reason: '',
      draft: false,
      createdOn,
      updatedOn: createdOn,
      reviewerUuids: others.slice(0, Math.floor(next() * (others.length + 1))),
      reviews: [],
      updates: [],
      comments: [],
      tasks: [],
      statuses: [],
    };
    pr.updates.push(snapshot(pr, authorUuid, createdOn));
    let last = createdOn;
    const threads = Math.floor(next() * next() * 6);
    for (let thread = 0; thread < threads; thread++) {
      const replies = Math.floor(next() * 3);
      let first: StoredComment | undefined;
      for (let reply = 0; reply <= replies; reply++) {
        last = new Date(Date.parse(last) + 60_000).toISOString();
        const deleted = reply > 0 && next() < 0.05;
        const comment: StoredComment = {
          id: nextId('pullrequest-comment'), userUuid: reply % 2 === 0 ? pick(others.length > 0 ? others : [authorUuid]) : authorUuid,
          raw: deleted ? '' : `Comment ${reply + 1} of thread ${thread + 1}.`, createdOn: last, updatedOn: last,
          parentId: first?.id ?? null, inline: first === undefined && next() < 0.4 ? { path: 'src/login.js', to: 1 + Math.floor(next() * 3) } : null,
          deleted, resolution: null,
        };
        pr.comments.push(comment);
        first ??= comment;
      }
      if (first && next() < 0.2) {
        pr.tasks.push({ id: nextId('pullrequest-task'), creatorUuid: first.userUuid, raw: `Follow up on thread ${thread + 1}`, state: 'RESOLVED', createdOn: first.createdOn, updatedOn: last, resolvedOn: last, resolvedByUuid: authorUuid, commentId: first.id });
      }
    }
    for (const reviewer of pr.reviewerUuids) {
      if (next() < 0.6) {
        last = new Date(Date.parse(last) + 60_000).toISOString();
        pr.reviews.push({ userUuid: reviewer, state: next() < 0.85 ? 'approved' : 'changes_requested', date: last });
      }
    }
    if (options.source.commit !== null) {
      pr.statuses.push({ key: 'pipelines', name: `Pipeline #${pr.id}`, state: final === 'DECLINED' ? 'FAILED' : 'SUCCESSFUL', url: `https://example.com/pipelines/${pr.id}`, description: 'Unit tests', refname: options.source.branch, commit: options.source.commit, createdOn, updatedOn: createdOn });
    }
    if (final !== 'OPEN') {
      last = new Date(Date.parse(last) + 60_000).toISOString();
      pr.state = final;
      pr.closedByUuid = final === 'MERGED' ? pick(others.length > 0 ? others : [authorUuid]) : authorUuid;
      pr.mergeCommit = final === 'MERGED' ? options.destination.commit : null;
      pr.reason = final === 'DECLINED' ? 'Not needed any more.' : '';
      pr.updates.push(snapshot(pr, pr.closedByUuid, last));
    }
    pr.updatedOn = last;
    clock = Math.max(clock, Date.parse(last));
    data.pullRequests.push(pr);
  }
}
