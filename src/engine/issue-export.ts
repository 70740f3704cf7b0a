/**
 * The issue tracker export Bitbucket wrote until it removed Issues on
 * 2026-08-20, as customers still hold it: a zip with `db-2.0.json` (issues,
 * comments, attachments, logs, meta, milestones, versions, components; users
 * as {display_name, account_id}) and the attached files at the paths
 * db-2.0.json names. Issue ids are the tracker's; comment ids were global.
 *
 * Nothing exports or imports these any more: `lifeboat attach` reads one that
 * a customer brings, to keep it with a repository's backups (checked first, so
 * that nothing is written for a file that is not one), and tests write one.
 * zod and fflate alone, no Node-only API: the app may use it as well.
 */
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import { z } from 'zod';
import { LifeboatError } from './errors.js';

export const ISSUE_EXPORT_DB = 'db-2.0.json';

const ISSUE_STATES = ['submitted', 'new', 'open', 'resolved', 'on hold', 'invalid', 'duplicate', 'wontfix', 'closed'] as const;
const ISSUE_KINDS = ['bug', 'enhancement', 'proposal', 'task'] as const;
const ISSUE_PRIORITIES = ['trivial', 'minor', 'major', 'critical', 'blocker'] as const;

const dateTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'not a date-time');
const user = z.object({ account_id: z.string().nullish(), display_name: z.string().nullish() }).nullish();
const named = z.array(z.object({ name: z.string().min(1) })).default([]);

/** db-2.0.json: what Bitbucket's importer required, with its defaults for the rest. */
const issueExportSchema = z.object({
  issues: z.array(z.object({
    id: z.number().int().positive(),
    title: z.string(),
    content: z.string().nullish(),
    status: z.enum(ISSUE_STATES).default('new'),
    kind: z.enum(ISSUE_KINDS).default('bug'),
    priority: z.enum(ISSUE_PRIORITIES).default('major'),
    reporter: user,
    assignee: user,
    milestone: z.string().nullish(),
    version: z.string().nullish(),
    component: z.string().nullish(),
    created_on: dateTime,
    updated_on: dateTime.nullish(),
    edited_on: dateTime.nullish(),
    watchers: z.array(user).default([]),
    voters: z.array(user).default([]),
  })),
  comments: z.array(z.object({
    id: z.number().int(),
    issue: z.number().int(),
    content: z.string().nullish(),
    user,
    created_on: dateTime,
    updated_on: dateTime.nullish(),
  })).default([]),
  attachments: z.array(z.object({ issue: z.number().int(), filename: z.string().min(1), path: z.string().min(1), user })).default([]),
  /** The change log: one line per changed field (`status` is the issue's state). */
  logs: z.array(z.object({
    issue: z.number().int(),
    comment: z.number().int().nullish(),
    field: z.string(),
    changed_from: z.string().nullish(),
    changed_to: z.string().nullish(),
    user,
    created_on: dateTime,
  })).default([]),
  meta: z.record(z.string(), z.unknown()).default({}),
  milestones: named,
  versions: named,
  components: named,
});

export type IssueExport = z.output<typeof issueExportSchema>;
/** db-2.0.json as written: what the schema's defaults may fill in can be left out. */
export type IssueExportInput = z.input<typeof issueExportSchema>;

export interface IssueExportArchive {
  db: IssueExport;
  /** The attached files, by the path db-2.0.json gives them. */
  files: Map<string, Uint8Array>;
}

/**
 * Reads an export zip, checking it as Bitbucket's importer did: db-2.0.json
 * present and valid, every issue id once, every attachment's file present.
 * Throws ATTACHMENT_INVALID saying what is wrong; returns nothing partial.
 */
export function readIssueExport(zip: Uint8Array): IssueExportArchive {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(zip);
  } catch (error) {
    throw invalid(`not a zip archive (${error instanceof Error ? error.message : String(error)})`, error);
  }
  const text = entries[ISSUE_EXPORT_DB];
  if (text === undefined) throw invalid(`it holds no ${ISSUE_EXPORT_DB}`);
  let json: unknown;
  try {
    json = JSON.parse(strFromU8(text));
  } catch {
    throw invalid(`${ISSUE_EXPORT_DB} is not JSON`);
  }
  const parsed = issueExportSchema.safeParse(json);
  if (!parsed.success) {
    throw invalid(`${ISSUE_EXPORT_DB} is not an issue export: ${parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
  }
  const db = parsed.data;
  const ids = new Set<number>();
  for (const issue of db.issues) {
    if (ids.has(issue.id)) throw invalid(`${ISSUE_EXPORT_DB} holds issue ${issue.id} twice`);
    ids.add(issue.id);
  }
  const files = new Map<string, Uint8Array>();
  for (const attachment of db.attachments) {
    const file = entries[attachment.path];
    if (file === undefined) throw invalid(`attachment ${attachment.filename} of issue ${attachment.issue} is missing (${attachment.path})`);
    files.set(attachment.path, file);
  }
  return { db, files };
}

/** What an export holds, as an attachment's listing shows it. */
export function issueExportSummary({ db }: IssueExportArchive): Record<string, number> {
  return { issues: db.issues.length, comments: db.comments.length, attachments: db.attachments.length };
}

function invalid(message: string, cause?: unknown): LifeboatError {
  return new LifeboatError('ATTACHMENT_INVALID', `Not a Bitbucket issue export: ${message}.`, cause === undefined ? undefined : { cause });
}

/** An export zip of `db` and its attached files, every entry stamped `modified` (so the bytes are the same every time). */
export function writeIssueExport(db: IssueExportInput, files: ReadonlyMap<string, Uint8Array>, modified: Date): Uint8Array {
  const entries: Zippable = { [ISSUE_EXPORT_DB]: strToU8(JSON.stringify(db, null, 2)) };
  for (const [path, data] of files) entries[path] = data;
  return zipSync(entries, { mtime: modified });
}
