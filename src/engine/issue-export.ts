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
import { Unzip, UnzipInflate, strFromU8, strToU8, unzipSync, zipSync, type UnzipFile, type Zippable } from 'fflate';
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
  /** The size of each attached file once inflated, by the path db-2.0.json gives it (the content is checked, not kept). */
  files: Map<string, number>;
}

/**
 * How far an export may inflate before it is refused as a zip bomb (not documented for Bitbucket's exports: assumed,
 * generous for screenshots and logs). Deflate reaches about 1032:1; a JSON document or a log rarely passes 20:1, and
 * screenshots are compressed already. Only db-2.0.json is held in memory; every other entry is inflated and dropped.
 */
export interface InflateLimits {
  /** Inflated bytes of one entry. */
  entryBytes: number;
  /** Inflated bytes of all entries together. */
  totalBytes: number;
  /** Inflated bytes per compressed byte of one entry, once it has passed `ratioAfterBytes`. */
  ratio: number;
  ratioAfterBytes: number;
}

export const ISSUE_EXPORT_LIMITS: InflateLimits = { entryBytes: 256 * 2 ** 20, totalBytes: 4 * 2 ** 30, ratio: 100, ratioAfterBytes: 2 ** 20 };

/** Compressed bytes handed to the inflater at a time: each inflates to at most about 1032 times as much (16 MiB) before the limits are checked; smaller pushes cost more time per byte. */
const PUSH_BYTES = 16 * 1024;

/**
 * Reads an export zip, checking it as Bitbucket's importer did: db-2.0.json
 * present and valid, every issue id once, every attachment's file present.
 * Entries are inflated as a stream, within `limits` (ATTACHMENT_TOO_LARGE
 * beyond them). Throws ATTACHMENT_INVALID saying what is wrong; returns nothing partial.
 */
export function readIssueExport(zip: Uint8Array, limits: InflateLimits = ISSUE_EXPORT_LIMITS): IssueExportArchive {
  let listed: Array<{ name: string; size: number }>;
  try {
    listed = centralDirectory(zip);
  } catch (error) {
    throw invalid(`not a zip archive (${error instanceof Error ? error.message : String(error)})`, error);
  }
  const { sizes, db: text, names } = inflateEntries(zip, listed, limits);
  // Other tools read the central directory, this stream the local headers: a zip where they differ is not what it seems.
  if (names.join('\n') !== listed.map((entry) => entry.name).join('\n')) throw invalid('its entries and its central directory name different files');
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
  const files = new Map<string, number>();
  for (const attachment of db.attachments) {
    const size = sizes.get(attachment.path);
    if (size === undefined) throw invalid(`attachment ${attachment.filename} of issue ${attachment.issue} is missing (${attachment.path})`);
    files.set(attachment.path, size);
  }
  return { db, files };
}

/** The entries the central directory lists, in order, with their compressed sizes, inflating nothing (the filter keeps no entry). */
function centralDirectory(zip: Uint8Array): Array<{ name: string; size: number }> {
  const entries: Array<{ name: string; size: number }> = [];
  unzipSync(zip, { filter: ({ name, size }) => { entries.push({ name, size }); return false; } });
  return entries;
}

/** Every entry inflated in turn by its local header, counted against the limits; only db-2.0.json is kept. */
function inflateEntries(zip: Uint8Array, listed: ReadonlyArray<{ size: number }>, limits: InflateLimits): { sizes: Map<string, number>; db: Uint8Array | undefined; names: string[] } {
  const sizes = new Map<string, number>();
  const names: string[] = [];
  const dbChunks: Uint8Array[] = [];
  let total = 0;
  let failure: LifeboatError | undefined;
  const unzip = new Unzip((file: UnzipFile) => {
    // The directory's compressed size (a local header may defer it to a data descriptor); the whole archive bounds it.
    const compressed = Math.min(listed[names.length]?.size ?? zip.length, zip.length);
    names.push(file.name);
    let inflated = 0;
    file.ondata = (error, chunk) => {
      if (failure) return;
      if (error) {
        failure = invalid(`${file.name} cannot be inflated (${error.message})`, error);
        return;
      }
      inflated += chunk.length;
      total += chunk.length;
      const over = inflated > limits.entryBytes ? `${file.name} inflates to more than ${mebibytes(limits.entryBytes)}`
        : total > limits.totalBytes ? `its entries inflate to more than ${mebibytes(limits.totalBytes)}`
          : inflated > limits.ratioAfterBytes && inflated > compressed * limits.ratio ? `${file.name} inflates more than ${limits.ratio} times its compressed size`
            : undefined;
      if (over !== undefined) {
        failure = new LifeboatError('ATTACHMENT_TOO_LARGE', `Refused as a possible zip bomb: ${over}.`, { details: { entry: file.name, ...limits } });
        file.terminate();
        return;
      }
      sizes.set(file.name, inflated);
      if (file.name === ISSUE_EXPORT_DB) dbChunks.push(chunk);
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  try {
    for (let offset = 0; offset < zip.length && !failure; offset += PUSH_BYTES) {
      unzip.push(zip.subarray(offset, offset + PUSH_BYTES), offset + PUSH_BYTES >= zip.length);
    }
  } catch (error) {
    failure ??= invalid(`not a zip archive (${error instanceof Error ? error.message : String(error)})`, error);
  }
  if (failure) throw failure;
  return { sizes, db: names.includes(ISSUE_EXPORT_DB) ? concat(dbChunks) : undefined, names };
}

function mebibytes(bytes: number): string {
  return bytes >= 2 ** 20 ? `${Math.round(bytes / 2 ** 20)} MiB` : `${Math.round(bytes / 1024)} KiB`;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
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
