// The issue tracker's export/import archive, in Bitbucket's format: a zip
// holding `db-2.0.json` (issues, comments, attachments, logs, meta,
// milestones, versions, components; users as {display_name, account_id}) and
// the attached files under `attachments/`. An import replaces the whole
// tracker: issue ids are kept, comment ids are allocated anew, and references
// that cannot be resolved (unknown users, undeclared milestones) become null.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { User } from '../model.js';
import type { RouteKit } from '../routes.js';
import type { Json } from './common.js';
import {
  CATALOG_FIELDS, ISSUE_KINDS, ISSUE_PRIORITIES, ISSUE_STATES, catalogOf, nextCommentId,
  type CatalogItem, type ChangeField, type IssueTracker, type JobStatus, type StoredAttachment, type StoredChange, type StoredIssue, type StoredIssueComment,
} from './issue-model.js';
import { readZip, writeZip } from './zip.js';

const DB_FILE = 'db-2.0.json';

/** The export format calls the issue's state `status`. */
const LOG_FIELD: Record<ChangeField, string> = {
  assignee: 'assignee', state: 'status', title: 'title', kind: 'kind', milestone: 'milestone', component: 'component', priority: 'priority', version: 'version', content: 'content',
};

function userRef(kit: RouteKit, uuid: string | null): Json | null {
  const user = uuid === null ? undefined : kit.userByUuid(uuid);
  return user ? { display_name: user.displayName, account_id: user.accountId } : null;
}

function attachmentPath(attachment: StoredAttachment): string {
  return `attachments/${createHash('sha1').update(`${attachment.issueId}/${attachment.name}`).digest('hex')}`;
}

/** The archive of the whole tracker. */
export function buildArchive(kit: RouteKit, tracker: IssueTracker, options: { includeAttachments: boolean; exportedOn: string }): Buffer {
  const issues = [...tracker.issues].sort((a, b) => a.id - b.id);
  const attachments = options.includeAttachments ? tracker.attachments : [];
  const db = {
    issues: issues.map((issue) => ({
      id: issue.id,
      title: issue.title,
      content: issue.content,
      status: issue.state,
      kind: issue.kind,
      priority: issue.priority,
      reporter: userRef(kit, issue.reporterUuid),
      assignee: userRef(kit, issue.assigneeUuid),
      milestone: issue.milestone,
      version: issue.version,
      component: issue.component,
      created_on: issue.createdOn,
      updated_on: issue.updatedOn,
      edited_on: issue.editedOn,
      content_updated_on: issue.editedOn ?? issue.createdOn,
      watchers: issue.watcherUuids.map((uuid) => userRef(kit, uuid)).filter((u) => u !== null),
      voters: issue.voterUuids.map((uuid) => userRef(kit, uuid)).filter((u) => u !== null),
    })),
    comments: [...tracker.comments].sort((a, b) => a.id - b.id).map((comment) => ({
      id: comment.id,
      issue: comment.issueId,
      content: comment.raw,
      user: userRef(kit, comment.userUuid),
      created_on: comment.createdOn,
      updated_on: comment.updatedOn,
    })),
    attachments: attachments.map((attachment) => ({
      issue: attachment.issueId,
      filename: attachment.name,
      path: attachmentPath(attachment),
      user: userRef(kit, attachment.userUuid),
    })),
    logs: [...tracker.changes].sort((a, b) => a.id - b.id).flatMap((change) =>
      Object.entries(change.changes).map(([field, value]) => ({
        issue: change.issueId,
        comment: change.commentId,
        field: LOG_FIELD[field as ChangeField],
        changed_from: value.old,
        changed_to: value.new,
        user: userRef(kit, change.userUuid),
        created_on: change.createdOn,
      })),
    ),
    meta: tracker.meta,
    milestones: tracker.milestones.map(({ name }) => ({ name })),
    versions: tracker.versions.map(({ name }) => ({ name })),
    components: tracker.components.map(({ name }) => ({ name })),
  };
  return writeZip(
    [
      { name: DB_FILE, data: Buffer.from(JSON.stringify(db, null, 2), 'utf8') },
      ...attachments.map((attachment) => ({ name: attachmentPath(attachment), data: Buffer.from(attachment.data, 'base64') })),
    ],
    new Date(options.exportedOn),
  );
}

const dateTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'not a date-time');
const userSchema = z.object({ account_id: z.string().nullish(), display_name: z.string().nullish() }).nullish();
const named = z.array(z.object({ name: z.string().min(1) })).default([]);

/** db-2.0.json as this emulator reads it: what Bitbucket requires, with its defaults for the rest. */
const dbSchema = z.object({
  issues: z.array(
    z.object({
      id: z.number().int().positive(),
      title: z.string(),
      content: z.string().nullish(),
      status: z.enum(ISSUE_STATES).default('new'),
      kind: z.enum(ISSUE_KINDS).default('bug'),
      priority: z.enum(ISSUE_PRIORITIES).default('major'),
      reporter: userSchema,
      assignee: userSchema,
      milestone: z.string().nullish(),
      version: z.string().nullish(),
      component: z.string().nullish(),
      created_on: dateTime,
      updated_on: dateTime.nullish(),
      edited_on: dateTime.nullish(),
      watchers: z.array(userSchema).default([]),
      voters: z.array(userSchema).default([]),
    }),
  ),
  comments: z.array(
    z.object({
      id: z.number().int(),
      issue: z.number().int(),
      content: z.string().nullish(),
      user: userSchema,
      created_on: dateTime,
      updated_on: dateTime.nullish(),
    }),
  ).default([]),
  attachments: z.array(z.object({ issue: z.number().int(), filename: z.string().min(1), path: z.string().min(1), user: userSchema })).default([]),
  logs: z.array(
    z.object({
      issue: z.number().int(),
      comment: z.number().int().nullish(),
      field: z.string(),
      changed_from: z.string().nullish(),
      changed_to: z.string().nullish(),
      user: userSchema,
      created_on: dateTime,
    }),
  ).default([]),
  meta: z.record(z.string(), z.unknown()).default({}),
  milestones: named,
  versions: named,
  components: named,
});

function failure(phase: string, total = 0): JobStatus {
  return { status: 'FAILURE', phase, total, count: 0, pct: 0 };
}

/**
 * Replaces the tracker's content with the archive's. Answers the job's final
 * status; on FAILURE the tracker is untouched.
 */
export function importArchive(kit: RouteKit, tracker: IssueTracker, archive: Buffer): JobStatus {
  let files: Map<string, Buffer>;
  try {
    files = new Map(readZip(archive).map((entry) => [entry.name, entry.data]));
  } catch {
    return failure('Reading the archive');
  }
  const text = files.get(DB_FILE);
  if (!text) return failure(`Reading ${DB_FILE}`);
  let parsed: z.infer<typeof dbSchema>;
  try {
    parsed = dbSchema.parse(JSON.parse(text.toString('utf8')));
  } catch {
    return failure(`Reading ${DB_FILE}`);
  }
  const ids = new Set(parsed.issues.map((issue) => issue.id));
  if (ids.size !== parsed.issues.length) return failure('Issues', parsed.issues.length);
  for (const attachment of parsed.attachments) {
    if (ids.has(attachment.issue) && !files.has(attachment.path)) return failure('Attachments', parsed.issues.length);
  }

  const users = kit.state().users;
  const uuidOf = (ref: z.infer<typeof userSchema>): string | null =>
    (ref?.account_id ? users.find((u: User) => u.accountId === ref.account_id)?.uuid : undefined) ?? null;
  const uuidsOf = (refs: Array<z.infer<typeof userSchema>>): string[] => refs.map(uuidOf).filter((uuid) => uuid !== null);

  let nextCatalogId = tracker.nextCatalogId;
  const catalogs: Record<'milestone' | 'version' | 'component', CatalogItem[]> = {
    milestone: parsed.milestones.map(({ name }) => ({ id: nextCatalogId++, name })),
    version: parsed.versions.map(({ name }) => ({ id: nextCatalogId++, name })),
    component: parsed.components.map(({ name }) => ({ id: nextCatalogId++, name })),
  };
  const declared = (field: keyof typeof catalogs, name: string | null | undefined): string | null =>
    name && catalogs[field].some((item) => item.name === name) ? name : null;

  const issues: StoredIssue[] = parsed.issues.map((issue) => ({
    id: issue.id,
    title: issue.title,
    content: issue.content ?? '',
    state: issue.status,
    kind: issue.kind,
    priority: issue.priority,
    reporterUuid: uuidOf(issue.reporter),
    assigneeUuid: uuidOf(issue.assignee),
    milestone: declared('milestone', issue.milestone),
    version: declared('version', issue.version),
    component: declared('component', issue.component),
    createdOn: issue.created_on,
    updatedOn: issue.updated_on ?? issue.created_on,
    editedOn: issue.edited_on ?? null,
    voterUuids: uuidsOf(issue.voters),
    watcherUuids: uuidsOf(issue.watchers),
  }));

  // Comment ids are global in Bitbucket: an import allocates new ones.
  const commentIds = new Map<number, number>();
  const comments: StoredIssueComment[] = parsed.comments
    .filter((comment) => ids.has(comment.issue))
    .sort((a, b) => a.id - b.id)
    .map((comment) => {
      const id = nextCommentId(kit);
      commentIds.set(comment.id, id);
      return { id, issueId: comment.issue, userUuid: uuidOf(comment.user), raw: comment.content ?? '', createdOn: comment.created_on, updatedOn: comment.updated_on ?? null };
    });

  // One change per (issue, comment, user, time): the log lines of one edit.
  const changes: StoredChange[] = [];
  const byKey = new Map<string, StoredChange>();
  for (const log of parsed.logs) {
    const field = (Object.keys(LOG_FIELD) as ChangeField[]).find((name) => LOG_FIELD[name] === log.field);
    if (!ids.has(log.issue) || field === undefined) continue;
    const commentId = log.comment === null || log.comment === undefined ? null : commentIds.get(log.comment) ?? null;
    const userUuid = uuidOf(log.user);
    const key = JSON.stringify([log.issue, log.comment ?? null, userUuid, log.created_on]);
    let change = byKey.get(key);
    if (!change) {
      change = { id: kit.nextId('issue-change'), issueId: log.issue, userUuid, createdOn: log.created_on, changes: {}, commentId };
      byKey.set(key, change);
      changes.push(change);
    }
    change.changes[field] = { old: log.changed_from ?? '', new: log.changed_to ?? '' };
  }

  const attachments: StoredAttachment[] = parsed.attachments
    .filter((attachment) => ids.has(attachment.issue))
    .map((attachment) => {
      const created = issues.find((issue) => issue.id === attachment.issue)?.createdOn ?? kit.now();
      return { issueId: attachment.issue, name: attachment.filename, userUuid: uuidOf(attachment.user), createdOn: created, data: (files.get(attachment.path) ?? Buffer.alloc(0)).toString('base64') };
    });

  tracker.issues = issues;
  tracker.comments = comments;
  tracker.changes = changes;
  tracker.attachments = attachments;
  for (const field of CATALOG_FIELDS) catalogOf(tracker, field).splice(0, Infinity, ...catalogs[field]);
  tracker.nextCatalogId = nextCatalogId;
  tracker.meta = parsed.meta;
  tracker.nextIssueId = Math.max(0, ...issues.map((issue) => issue.id)) + 1;
  return { status: 'SUCCESS', phase: 'Done', total: issues.length, count: issues.length, pct: 100 };
}
