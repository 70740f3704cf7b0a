// The issue tracker: issues, their comments, attachments and change log, the
// tracker's milestones, versions and components (read-only in the API), and
// the export/import archive (issue-archive.ts). Bitbucket serves these to API
// tokens only, never to a Forge app; the core enforces that from the spec.
import type { DemoRole } from '../../demo.js';
import type { Repository, User } from '../model.js';
import type { RouteKit, RouteRegistry, RouteRequest, RouteResponse } from '../routes.js';
import { buildArchive, importArchive } from './issue-archive.js';
import {
  actorOf, created, demoUser, fail, findUser, idParam, link, objectBody, objectField, rawText, rendered, repoApi, repoWeb, stringField, userOrNull,
  type Json,
} from './common.js';
import {
  CATALOG_FIELDS, CHANGE_FIELDS, ISSUE_KINDS, ISSUE_PRIORITIES, ISSUE_STATES, catalogOf, nextCommentId, trackerData,
  type CatalogField, type CatalogItem, type ChangeField, type IssueKind, type IssuePriority, type IssueState, type IssueTracker, type JobStatus,
  type StoredAttachment, type StoredChange, type StoredIssue, type StoredIssueComment,
} from './issue-model.js';

/** The repository, if it has an issue tracker: Bitbucket answers 404 for a repository without one. */
function trackerRepository(request: RouteRequest, kit: RouteKit, need: 'read' | 'write' | 'admin'): { repository: Repository; tracker: IssueTracker } {
  const repository = kit.repository(request, need);
  if (!repository.hasIssues) fail(kit, 404, 'Repository has no issue tracker.');
  return { repository, tracker: trackerData(kit, repository) };
}

function issueOf(request: RouteRequest, kit: RouteKit, tracker: IssueTracker): StoredIssue {
  const id = idParam(request, kit, 'issue_id');
  const issue = tracker.issues.find((i) => i.id === id);
  if (!issue) fail(kit, 404, `No Issue with ID ${id}`);
  return issue;
}

function catalogJson(kit: RouteKit, repository: Repository, field: CatalogField, item: CatalogItem): Json {
  return { type: field, id: item.id, name: item.name, links: { self: link(repoApi(kit, repository, `${field}s/${item.id}`)) } };
}

function catalogRef(kit: RouteKit, repository: Repository, tracker: IssueTracker, field: CatalogField, name: string | null): Json | null {
  const item = name === null ? undefined : catalogOf(tracker, field).find((c) => c.name === name);
  return item ? catalogJson(kit, repository, field, item) : null;
}

function issueLinks(kit: RouteKit, repository: Repository, id: number): Json {
  return { self: link(repoApi(kit, repository, `issues/${id}`)), html: link(repoWeb(kit, repository, `issues/${id}`)) };
}

/** The short form embedded in comments and changes. */
function issueRef(kit: RouteKit, repository: Repository, issue: StoredIssue): Json {
  return { type: 'issue', id: issue.id, repository: kit.repositoryJson(repository), links: issueLinks(kit, repository, issue.id), title: issue.title };
}

function issueJson(kit: RouteKit, repository: Repository, tracker: IssueTracker, issue: StoredIssue): Json {
  const api = repoApi(kit, repository, `issues/${issue.id}`);
  return {
    type: 'issue',
    id: issue.id,
    repository: kit.repositoryJson(repository),
    links: {
      ...issueLinks(kit, repository, issue.id),
      comments: link(`${api}/comments`),
      attachments: link(`${api}/attachments`),
      watch: link(`${api}/watch`),
      vote: link(`${api}/vote`),
    },
    title: issue.title,
    content: rendered(issue.content),
    reporter: userOrNull(kit, issue.reporterUuid),
    assignee: userOrNull(kit, issue.assigneeUuid),
    created_on: issue.createdOn,
    updated_on: issue.updatedOn,
    edited_on: issue.editedOn,
    state: issue.state,
    kind: issue.kind,
    priority: issue.priority,
    milestone: catalogRef(kit, repository, tracker, 'milestone', issue.milestone),
    version: catalogRef(kit, repository, tracker, 'version', issue.version),
    component: catalogRef(kit, repository, tracker, 'component', issue.component),
    votes: issue.voterUuids.length,
    watches: issue.watcherUuids.length,
  };
}

function commentJson(kit: RouteKit, repository: Repository, issue: StoredIssue, comment: StoredIssueComment): Json {
  return {
    type: 'issue_comment',
    id: comment.id,
    created_on: comment.createdOn,
    updated_on: comment.updatedOn,
    content: rendered(comment.raw),
    user: userOrNull(kit, comment.userUuid),
    issue: issueRef(kit, repository, issue),
    links: {
      self: link(repoApi(kit, repository, `issues/${issue.id}/comments/${comment.id}`)),
      html: link(repoWeb(kit, repository, `issues/${issue.id}#comment-${comment.id}`)),
    },
  };
}

function changeJson(kit: RouteKit, repository: Repository, tracker: IssueTracker, issue: StoredIssue, change: StoredChange): Json {
  const comment = tracker.comments.find((c) => c.id === change.commentId);
  return {
    type: 'issue_change',
    id: change.id,
    name: String(change.id),
    created_on: change.createdOn,
    user: userOrNull(kit, change.userUuid),
    issue: issueRef(kit, repository, issue),
    changes: change.changes,
    message: rendered(comment?.raw ?? ''),
    links: {
      self: link(repoApi(kit, repository, `issues/${issue.id}/changes/${change.id}`)),
      issue: link(repoApi(kit, repository, `issues/${issue.id}`)),
    },
  };
}

function attachmentJson(kit: RouteKit, repository: Repository, attachment: StoredAttachment): Json {
  return {
    type: 'issue_attachment',
    name: attachment.name,
    links: { self: link(repoApi(kit, repository, `issues/${attachment.issueId}/attachments/${encodeURIComponent(attachment.name)}`)) },
  };
}

function oneOf<T extends string>(kit: RouteKit, allowed: readonly T[], value: string, field: string): T {
  if (!(allowed as readonly string[]).includes(value)) fail(kit, 400, 'Bad request', `${field}: "${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

/** Text a change log keeps for a field's value: strings, never objects, so the log survives renames. */
function changeText(kit: RouteKit, field: ChangeField, issue: StoredIssue): string {
  if (field === 'assignee') {
    const user = issue.assigneeUuid === null ? undefined : kit.userByUuid(issue.assigneeUuid);
    return user?.nickname ?? '';
  }
  const value = field === 'content' ? issue.content : issue[field];
  return value ?? '';
}

/**
 * Applies the fields of an issue body (POST, PUT) to `issue`: absent fields
 * keep their value, null clears the nullable ones. Returns the change record's
 * entries for the fields whose value changed.
 */
function applyIssueFields(kit: RouteKit, tracker: IssueTracker, issue: StoredIssue, body: Json): StoredChange['changes'] {
  const before = Object.fromEntries(CHANGE_FIELDS.map((field) => [field, changeText(kit, field, issue)])) as Record<ChangeField, string>;
  const title = stringField(kit, body, 'title');
  if (title !== undefined) {
    if (title.trim() === '') fail(kit, 400, 'Bad request', 'title: may not be blank');
    issue.title = title;
  }
  const content = rawText(kit, body);
  if (content !== undefined) issue.content = content;
  const state = stringField(kit, body, 'state');
  if (state !== undefined) issue.state = oneOf(kit, ISSUE_STATES, state, 'state');
  const kind = stringField(kit, body, 'kind');
  if (kind !== undefined) issue.kind = oneOf(kit, ISSUE_KINDS, kind, 'kind');
  const priority = stringField(kit, body, 'priority');
  if (priority !== undefined) issue.priority = oneOf(kit, ISSUE_PRIORITIES, priority, 'priority');
  if (body.assignee === null) issue.assigneeUuid = null;
  else if (body.assignee !== undefined) {
    const user = findUser(kit, body.assignee);
    if (!user) fail(kit, 400, 'Bad request', 'assignee: no such user');
    issue.assigneeUuid = user.uuid;
  }
  for (const field of CATALOG_FIELDS) {
    if (body[field] === null) issue[field] = null;
    else if (body[field] !== undefined) {
      const name = stringField(kit, objectField(kit, body, field) ?? {}, 'name');
      const id = (body[field] as Json).id;
      const item = catalogOf(tracker, field).find((c) => c.name === name || c.id === id);
      if (!item) fail(kit, 400, 'Bad request', `${field}: no such ${field}`);
      issue[field] = item.name;
    }
  }
  const changes: StoredChange['changes'] = {};
  for (const field of CHANGE_FIELDS) {
    const after = changeText(kit, field, issue);
    if (after !== before[field]) changes[field] = { old: before[field], new: after };
  }
  return changes;
}

/** Records a change and its comment (Bitbucket pairs every change with one). */
function recordChange(kit: RouteKit, tracker: IssueTracker, issue: StoredIssue, user: User, changes: StoredChange['changes'], message: string): StoredChange {
  const now = kit.now();
  const comment: StoredIssueComment = { id: nextCommentId(kit), issueId: issue.id, userUuid: user.uuid, raw: message, createdOn: now, updatedOn: null };
  tracker.comments.push(comment);
  const change: StoredChange = { id: kit.nextId('issue-change'), issueId: issue.id, userUuid: user.uuid, createdOn: now, changes, commentId: comment.id };
  tracker.changes.push(change);
  issue.updatedOn = now;
  return change;
}

/** Status answers of the export and import jobs. */
function jobJson(status: JobStatus): Json {
  return { type: 'issue_job_status', ...status };
}

function exportPath(repository: Repository, taskId: string): string {
  return `issues/export/${repository.slug}-issues-${taskId}.zip`;
}

/**
 * A multipart form of the request. Parsed by the web platform's Request (undici)
 * rather than by hand; a body that is not multipart is a 400, as in Bitbucket.
 */
async function formOf(request: RouteRequest, kit: RouteKit): Promise<FormData> {
  const type = request.raw.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) fail(kit, 400, 'Bad request', 'Expected a multipart/form-data body.');
  try {
    return await new Request(request.url, { method: 'POST', headers: { 'content-type': type }, body: await request.bytes() }).formData();
  } catch {
    fail(kit, 400, 'Bad request', 'The multipart body could not be parsed.');
  }
}

const ATTACHMENT_DOWNLOAD = 'download';

export function register(registry: RouteRegistry): void {
  const base = '/2.0/repositories/{workspace}/{repo_slug}';

  registry.add('GET', `${base}/issues`, (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const items = [...tracker.issues].sort((a, b) => a.id - b.id).map((issue) => issueJson(kit, repository, tracker, issue));
    return kit.paginate(request, items);
  });

  registry.add('POST', `${base}/issues`, async (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const user = actorOf(request, kit);
    const body = await objectBody(request, kit);
    if (stringField(kit, body, 'title') === undefined) fail(kit, 400, 'Bad request', 'title: This field is required.');
    const now = kit.now();
    const issue: StoredIssue = {
      id: tracker.nextIssueId,
      title: '',
      content: '',
      state: 'new',
      kind: 'bug',
      priority: 'major',
      reporterUuid: user.uuid,
      assigneeUuid: null,
      milestone: null,
      version: null,
      component: null,
      createdOn: now,
      updatedOn: now,
      editedOn: null,
      voterUuids: [],
      watcherUuids: [user.uuid],
    };
    applyIssueFields(kit, tracker, issue, body);
    tracker.nextIssueId += 1;
    tracker.issues.push(issue);
    await kit.save();
    return created(issueJson(kit, repository, tracker, issue), repoApi(kit, repository, `issues/${issue.id}`));
  });

  registry.add('GET', `${base}/issues/{issue_id}`, (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    return { status: 200, body: issueJson(kit, repository, tracker, issueOf(request, kit, tracker)) };
  });

  registry.add('PUT', `${base}/issues/{issue_id}`, async (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'write');
    const issue = issueOf(request, kit, tracker);
    const user = actorOf(request, kit);
    const changes = applyIssueFields(kit, tracker, issue, await objectBody(request, kit));
    if (Object.keys(changes).length > 0) {
      recordChange(kit, tracker, issue, user, changes, '');
      issue.editedOn = issue.updatedOn;
    }
    await kit.save();
    return { status: 200, body: issueJson(kit, repository, tracker, issue) };
  });

  registry.add('DELETE', `${base}/issues/{issue_id}`, async (request, kit) => {
    const { tracker } = trackerRepository(request, kit, 'write');
    const issue = issueOf(request, kit, tracker);
    tracker.issues = tracker.issues.filter((i) => i !== issue);
    tracker.comments = tracker.comments.filter((c) => c.issueId !== issue.id);
    tracker.attachments = tracker.attachments.filter((a) => a.issueId !== issue.id);
    tracker.changes = tracker.changes.filter((c) => c.issueId !== issue.id);
    await kit.save();
    return { status: 204 };
  });

  // Comments: oldest first.
  registry.add('GET', `${base}/issues/{issue_id}/comments`, (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const issue = issueOf(request, kit, tracker);
    const items = tracker.comments.filter((c) => c.issueId === issue.id).sort((a, b) => a.id - b.id).map((c) => commentJson(kit, repository, issue, c));
    return kit.paginate(request, items);
  });

  registry.add('POST', `${base}/issues/{issue_id}/comments`, async (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const issue = issueOf(request, kit, tracker);
    const user = actorOf(request, kit);
    const raw = rawText(kit, await objectBody(request, kit));
    if (raw === undefined) fail(kit, 400, 'Bad request', 'content.raw: This field is required.');
    const comment: StoredIssueComment = { id: nextCommentId(kit), issueId: issue.id, userUuid: user.uuid, raw, createdOn: kit.now(), updatedOn: null };
    tracker.comments.push(comment);
    issue.updatedOn = comment.createdOn;
    await kit.save();
    return created(commentJson(kit, repository, issue, comment), repoApi(kit, repository, `issues/${issue.id}/comments/${comment.id}`));
  });

  const commentOf = (request: RouteRequest, kit: RouteKit, tracker: IssueTracker, issue: StoredIssue): StoredIssueComment => {
    const id = idParam(request, kit, 'comment_id');
    const comment = tracker.comments.find((c) => c.id === id && c.issueId === issue.id);
    if (!comment) fail(kit, 404, `No comment with ID ${id}`);
    return comment;
  };

  /** Comment edits: their author, or anyone who may write to the repository. */
  const editableComment = (request: RouteRequest, kit: RouteKit): { repository: Repository; tracker: IssueTracker; issue: StoredIssue; comment: StoredIssueComment } => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const issue = issueOf(request, kit, tracker);
    const comment = commentOf(request, kit, tracker, issue);
    if (comment.userUuid !== actorOf(request, kit).uuid) kit.repository(request, 'write');
    return { repository, tracker, issue, comment };
  };

  registry.add('GET', `${base}/issues/{issue_id}/comments/{comment_id}`, (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const issue = issueOf(request, kit, tracker);
    return { status: 200, body: commentJson(kit, repository, issue, commentOf(request, kit, tracker, issue)) };
  });

  registry.add('PUT', `${base}/issues/{issue_id}/comments/{comment_id}`, async (request, kit) => {
    const { repository, issue, comment } = editableComment(request, kit);
    const raw = rawText(kit, await objectBody(request, kit));
    if (raw === undefined) fail(kit, 400, 'Bad request', 'content.raw: This field is required.');
    comment.raw = raw;
    comment.updatedOn = kit.now();
    await kit.save();
    return { status: 200, body: commentJson(kit, repository, issue, comment) };
  });

  registry.add('DELETE', `${base}/issues/{issue_id}/comments/{comment_id}`, async (request, kit) => {
    const { tracker, comment } = editableComment(request, kit);
    tracker.comments = tracker.comments.filter((c) => c !== comment);
    for (const change of tracker.changes) if (change.commentId === comment.id) change.commentId = null;
    await kit.save();
    return { status: 204 };
  });

  // Changes: oldest first.
  registry.add('GET', `${base}/issues/{issue_id}/changes`, (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const issue = issueOf(request, kit, tracker);
    const items = tracker.changes.filter((c) => c.issueId === issue.id).sort((a, b) => a.id - b.id).map((c) => changeJson(kit, repository, tracker, issue, c));
    return kit.paginate(request, items);
  });

  registry.add('GET', `${base}/issues/{issue_id}/changes/{change_id}`, (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const issue = issueOf(request, kit, tracker);
    const id = idParam(request, kit, 'change_id');
    const change = tracker.changes.find((c) => c.id === id && c.issueId === issue.id);
    if (!change) fail(kit, 404, `No change with ID ${id}`);
    return { status: 200, body: changeJson(kit, repository, tracker, issue, change) };
  });

  // A change names new values as strings: `{changes: {state: {new: "resolved"}}, message: {raw}}`.
  registry.add('POST', `${base}/issues/{issue_id}/changes`, async (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'write');
    const issue = issueOf(request, kit, tracker);
    const user = actorOf(request, kit);
    const body = await objectBody(request, kit);
    const requested = objectField(kit, body, 'changes') ?? {};
    const fields: Json = {};
    for (const [field, value] of Object.entries(requested)) {
      const next = stringField(kit, (value ?? {}) as Json, 'new');
      if (next === undefined) fail(kit, 400, 'Bad request', `changes.${field}.new: This field is required.`);
      if (field === 'assignee_account_id') fields.assignee = next === '' ? null : { account_id: next };
      else if (field === 'assignee') fields.assignee = next === '' ? null : { nickname: next };
      else if (field === 'content') fields.content = { raw: next };
      else if ((CATALOG_FIELDS as string[]).includes(field)) fields[field] = next === '' ? null : { name: next };
      else if ((CHANGE_FIELDS as readonly string[]).includes(field)) fields[field] = next;
      else fail(kit, 400, 'Bad request', `changes.${field}: not a field an issue change can set`);
    }
    const changes = applyIssueFields(kit, tracker, issue, fields);
    const change = recordChange(kit, tracker, issue, user, changes, rawText(kit, body, 'message') ?? '');
    await kit.save();
    return created(changeJson(kit, repository, tracker, issue, change), repoApi(kit, repository, `issues/${issue.id}/changes/${change.id}`));
  });

  // Attachments: ordered by upload date; an upload with an existing name replaces that file.
  registry.add('GET', `${base}/issues/{issue_id}/attachments`, (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'read');
    const issue = issueOf(request, kit, tracker);
    const items = tracker.attachments.filter((a) => a.issueId === issue.id).map((a) => attachmentJson(kit, repository, a));
    return kit.paginate(request, items);
  });

  registry.add('POST', `${base}/issues/{issue_id}/attachments`, async (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'write');
    const issue = issueOf(request, kit, tracker);
    const user = actorOf(request, kit);
    const files = [...(await formOf(request, kit)).values()].filter((value) => typeof value !== 'string');
    if (files.length === 0) fail(kit, 400, 'Bad request', 'No files were uploaded.');
    for (const file of files) {
      const attachment: StoredAttachment = {
        issueId: issue.id,
        name: file.name,
        userUuid: user.uuid,
        createdOn: kit.now(),
        data: Buffer.from(await file.arrayBuffer()).toString('base64'),
      };
      tracker.attachments = [...tracker.attachments.filter((a) => !(a.issueId === issue.id && a.name === file.name)), attachment];
    }
    await kit.save();
    return { status: 201, headers: { Location: repoApi(kit, repository, `issues/${issue.id}/attachments`) } };
  });

  const attachmentOf = (request: RouteRequest, kit: RouteKit, tracker: IssueTracker, issue: StoredIssue): StoredAttachment => {
    const name = request.params.path ?? '';
    const attachment = tracker.attachments.find((a) => a.issueId === issue.id && a.name === name);
    if (!attachment) fail(kit, 404, `No attachment named ${name}`);
    return attachment;
  };

  // Bitbucket redirects to a short-lived URL that serves the bytes; here that URL
  // is this same resource with a query flag (same origin, so clients that follow
  // redirects keep their credentials).
  registry.add('GET', `${base}/issues/{issue_id}/attachments/{path}`, (request, kit): RouteResponse => {
    const { tracker } = trackerRepository(request, kit, 'read');
    const issue = issueOf(request, kit, tracker);
    const attachment = attachmentOf(request, kit, tracker, issue);
    if (request.url.searchParams.has(ATTACHMENT_DOWNLOAD)) {
      return {
        status: 200,
        bytes: Buffer.from(attachment.data, 'base64'),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(attachment.name)}` },
      };
    }
    const target = new URL(request.url);
    target.search = '';
    target.searchParams.set(ATTACHMENT_DOWNLOAD, '1');
    return { status: 302, headers: { Location: target.href } };
  });

  registry.add('DELETE', `${base}/issues/{issue_id}/attachments/{path}`, async (request, kit) => {
    const { tracker } = trackerRepository(request, kit, 'write');
    const issue = issueOf(request, kit, tracker);
    const attachment = attachmentOf(request, kit, tracker, issue);
    tracker.attachments = tracker.attachments.filter((a) => a !== attachment);
    await kit.save();
    return { status: 204 };
  });

  // Milestones, versions, components: read-only lists (set up in the UI, or by an import).
  for (const field of CATALOG_FIELDS) {
    registry.add('GET', `${base}/${field}s`, (request, kit) => {
      const { repository, tracker } = trackerRepository(request, kit, 'read');
      return kit.paginate(request, catalogOf(tracker, field).map((item) => catalogJson(kit, repository, field, item)));
    });
    registry.add('GET', `${base}/${field}s/{${field}_id}`, (request, kit) => {
      const { repository, tracker } = trackerRepository(request, kit, 'read');
      const id = idParam(request, kit, `${field}_id`);
      const item = catalogOf(tracker, field).find((c) => c.id === id);
      if (!item) fail(kit, 404, `No ${field} with ID ${id}`);
      return { status: 200, body: catalogJson(kit, repository, field, item) };
    });
  }

  // Export: a job whose zip is polled for; the first poll answers "in progress",
  // so that clients are seen to poll as they must against Bitbucket.
  registry.add('POST', `${base}/issues/export`, async (request, kit) => {
    const { repository, tracker } = trackerRepository(request, kit, 'admin');
    const options = await objectBody(request, kit, true);
    const includeAttachments = options.include_attachments !== false;
    const taskId = String(kit.nextId('issue-export'));
    tracker.exports.push({ taskId, includeAttachments, polls: 0 });
    await kit.save();
    const location = repoApi(kit, repository, exportPath(repository, taskId));
    return { status: 202, headers: { Location: location }, body: jobJson({ status: 'ACCEPTED', phase: 'Initializing', total: 0, count: 0, pct: 0 }) };
  });

  registry.add('GET', `${base}/issues/export/{repo_name}-issues-{task_id}.zip`, async (request, kit): Promise<RouteResponse> => {
    const { repository, tracker } = trackerRepository(request, kit, 'admin');
    const job = tracker.exports.find((e) => e.taskId === request.params.task_id);
    if (!job || request.params.repo_name !== repository.slug) fail(kit, 404, 'No export job has begun');
    job.polls += 1;
    await kit.save();
    if (job.polls === 1) {
      return { status: 202, body: jobJson({ status: 'STARTED', phase: 'Exporting', total: tracker.issues.length, count: 0, pct: 0 }) };
    }
    const archive = buildArchive(kit, tracker, { includeAttachments: job.includeAttachments, exportedOn: kit.now() });
    return {
      status: 200,
      bytes: archive,
      headers: { 'Content-Type': 'application/zip', 'Content-Disposition': `attachment; filename="${repository.slug}-issues-${job.taskId}.zip"` },
    };
  });

  // Import REPLACES every issue of the repository: issue ids are kept, comment ids are new.
  registry.add('POST', `${base}/issues/import`, async (request, kit) => {
    const { tracker } = trackerRepository(request, kit, 'admin');
    const archive = (await formOf(request, kit)).get('archive');
    if (archive === null || typeof archive === 'string') fail(kit, 400, 'Bad request', 'The form field "archive" must be a file.');
    const result = importArchive(kit, tracker, Buffer.from(await archive.arrayBuffer()));
    tracker.lastImport = { result, polls: 0 };
    await kit.save();
    return { status: 202, body: jobJson({ status: 'ACCEPTED', phase: 'Attachments', total: result.total, count: 0, pct: 0 }) };
  });

  registry.add('GET', `${base}/issues/import`, async (request, kit) => {
    const { tracker } = trackerRepository(request, kit, 'admin');
    const job = tracker.lastImport;
    if (!job) fail(kit, 404, 'No import job has begun');
    job.polls += 1;
    await kit.save();
    if (job.polls === 1) return { status: 202, body: jobJson({ status: 'STARTED', phase: 'Importing', total: job.result.total, count: 0, pct: 0 }) };
    return { status: 200, body: jobJson(job.result) };
  });
}

/** Fixed dates, so a seeded world is the same every time. */
const day = (n: number, hour = 9): string => new Date(Date.UTC(2026, 8, n, hour, 15, 0)).toISOString();

/** A 1×1 PNG: the seeded attachment. */
const PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==';

interface SeedIssue {
  title: string;
  content: string;
  kind: IssueKind;
  priority: IssuePriority;
  reporter: DemoRole;
  assignee?: DemoRole;
  milestone?: string;
  version?: string;
  component?: string;
  comments?: Array<[author: DemoRole, raw: string]>;
  /** State changes after creation, each with its comment. */
  changes?: Array<[author: DemoRole, state: IssueState, message: string]>;
}

const WEB_APP_ISSUES: SeedIssue[] = [
  {
    title: 'Login form accepts an empty password', content: 'Submitting the form with an empty password shows a spinner forever.', kind: 'bug', priority: 'critical',
    reporter: 'member', assignee: 'repoAdmin', milestone: 'M1', version: '1.0', component: 'frontend',
    comments: [['repoAdmin', 'Reproduced on Firefox and Chromium.'], ['member', 'Screenshot attached.']],
    changes: [['repoAdmin', 'open', 'Taking this one.'], ['repoAdmin', 'resolved', 'Fixed by validating the form before submitting.']],
  },
  {
    title: 'Dark mode', content: 'Follow the operating system\'s colour scheme.', kind: 'enhancement', priority: 'minor',
    reporter: 'admin', milestone: 'M2', component: 'frontend', comments: [['member', 'Please also remember the choice per user.']],
  },
  {
    title: 'Session cookie lacks SameSite', content: 'Set `SameSite=Lax` on the session cookie.', kind: 'bug', priority: 'major',
    reporter: 'repoAdmin', assignee: 'admin', milestone: 'M1', version: '1.0', component: 'backend',
    changes: [['admin', 'open', '']],
  },
  {
    title: 'Document the deployment', content: 'A page on how the app is deployed and rolled back.', kind: 'task', priority: 'minor',
    reporter: 'admin', assignee: 'member', component: 'docs',
  },
  {
    title: 'Search is slow on large projects', content: 'Searching 10 000 items takes several seconds.', kind: 'bug', priority: 'major',
    reporter: 'member', version: '1.1', component: 'backend',
    comments: [['admin', 'We should add an index.'], ['repoAdmin', 'Agreed; measured 4.2 s on the demo data.']],
  },
  {
    title: 'Export to CSV', content: 'Let users download their data as CSV.', kind: 'proposal', priority: 'trivial',
    reporter: 'member', changes: [['admin', 'wontfix', 'Out of scope for 1.x.']],
  },
  {
    title: 'Typo on the welcome page', content: '"Welcom" should read "Welcome".', kind: 'bug', priority: 'trivial',
    reporter: 'member', assignee: 'member', version: '1.0', component: 'frontend',
    changes: [['member', 'resolved', '']],
  },
  {
    title: 'Upgrade the UI framework', content: 'Move to the next major version before 1.1.', kind: 'task', priority: 'major',
    reporter: 'repoAdmin', assignee: 'repoAdmin', milestone: 'M2', version: '1.1',
    comments: [['admin', 'Check the migration guide first.']],
  },
];

const API_SERVER_ISSUES: SeedIssue[] = [
  {
    title: 'Rate limit responses lack Retry-After', content: 'Clients cannot tell how long to wait.', kind: 'bug', priority: 'major',
    reporter: 'admin', assignee: 'admin', milestone: 'M1', component: 'backend',
    comments: [['member', 'Seen from the mobile client too.']], changes: [['admin', 'open', '']],
  },
  {
    title: 'OpenAPI description', content: 'Publish an OpenAPI document for the public endpoints.', kind: 'enhancement', priority: 'minor',
    reporter: 'member', component: 'docs',
  },
  {
    title: 'Health check endpoint', content: 'GET /health for the load balancer.', kind: 'task', priority: 'major',
    reporter: 'admin', assignee: 'member', version: '1.0',
    changes: [['member', 'resolved', 'Added in the 1.0 release.']],
  },
];

/** Demo issues for the repositories with an issue tracker (web-app, api-server). */
export function seed(kit: RouteKit, repository: Repository): void {
  if (!repository.hasIssues) return;
  const issues = repository.slug === 'web-app' ? WEB_APP_ISSUES : repository.slug === 'api-server' ? API_SERVER_ISSUES : [];
  if (issues.length === 0) return;
  const tracker = trackerData(kit, repository);
  if (tracker.issues.length > 0) return;
  const uuidOf = (role: DemoRole): string => demoUser(kit, role).uuid;

  for (const name of ['M1', 'M2']) tracker.milestones.push({ id: tracker.nextCatalogId++, name });
  for (const name of ['1.0', '1.1']) tracker.versions.push({ id: tracker.nextCatalogId++, name });
  for (const name of ['frontend', 'backend', 'docs']) tracker.components.push({ id: tracker.nextCatalogId++, name });

  issues.forEach((spec, index) => {
    let clock = 0;
    const at = (): string => day(1 + index * 2, 9 + clock++);
    const createdOn = at();
    const issue: StoredIssue = {
      id: tracker.nextIssueId++,
      title: spec.title,
      content: spec.content,
      state: 'new',
      kind: spec.kind,
      priority: spec.priority,
      reporterUuid: uuidOf(spec.reporter),
      assigneeUuid: spec.assignee ? uuidOf(spec.assignee) : null,
      milestone: spec.milestone ?? null,
      version: spec.version ?? null,
      component: spec.component ?? null,
      createdOn,
      updatedOn: createdOn,
      editedOn: null,
      voterUuids: spec.reporter === 'member' ? [uuidOf('member')] : [],
      watcherUuids: [uuidOf(spec.reporter)],
    };
    tracker.issues.push(issue);
    for (const [author, raw] of spec.comments ?? []) {
      const comment: StoredIssueComment = { id: nextCommentId(kit), issueId: issue.id, userUuid: uuidOf(author), raw, createdOn: at(), updatedOn: null };
      tracker.comments.push(comment);
      issue.updatedOn = comment.createdOn;
    }
    for (const [author, state, message] of spec.changes ?? []) {
      const createdOnChange = at();
      const comment: StoredIssueComment = { id: nextCommentId(kit), issueId: issue.id, userUuid: uuidOf(author), raw: message, createdOn: createdOnChange, updatedOn: null };
      tracker.comments.push(comment);
      tracker.changes.push({
        id: kit.nextId('issue-change'),
        issueId: issue.id,
        userUuid: uuidOf(author),
        createdOn: createdOnChange,
        changes: { state: { old: issue.state, new: state } },
        commentId: comment.id,
      });
      issue.state = state;
      issue.updatedOn = createdOnChange;
    }
  });

  const first = tracker.issues[0];
  if (first && repository.slug === 'web-app') {
    tracker.attachments.push({ issueId: first.id, name: 'screenshot.png', userUuid: uuidOf('member'), createdOn: day(1, 11), data: PIXEL_PNG });
  }
}
