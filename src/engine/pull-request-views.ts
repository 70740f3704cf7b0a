/**
 * Reading a snapshot's pull requests back, for the CLI (`lifeboat prs`, `lifeboat
 * pr`) and the repository page alike: one view of a stored `lifeboat-pull-request`
 * document (Bitbucket's own JSON, bucket/metadata.ts) with the conversation in
 * order, threads nested under the comment they answer, inline comments with their
 * file and line, and approvals and updates from the activity among them.
 */
import type { BlobStore } from './bucket/blob-store.js';
import type { SnapshotManifest } from './bucket/format.js';
import { type MetadataIndex, type PullRequestDocument, type PullRequestEntry, readEntryDocument } from './bucket/metadata.js';
import { inTurns } from './concurrency.js';
import { LifeboatError } from './errors.js';

export interface PullRequestListItem {
  id: number;
  state: PullRequestEntry['state'];
  /** As of its last update; from the index alone. */
  updatedOn: string;
  /** From the document: absent when it could not be read (encrypted, and no identity to decrypt it). */
  title?: string;
  author?: string;
  /** Comments not deleted. */
  comments?: number;
}

export interface InlineAnchor {
  path: string;
  /** The line in the new version of the file (`to`), or else in the old one (`from`); absent for a comment on the file. */
  line?: number;
  /** Which version `line` counts in. */
  side?: 'new' | 'old';
  /** Bitbucket marks an anchor outdated once later commits changed the lines. */
  outdated?: boolean;
}

export interface CommentView {
  kind: 'comment';
  id: number;
  author: string;
  createdOn: string;
  /** Set when it was edited after it was written. */
  updatedOn?: string;
  /** Deleted comments keep their place in a thread; Bitbucket no longer gives their text. */
  deleted: boolean;
  text: string;
  inline?: InlineAnchor;
  /** Resolved threads (Bitbucket's comment resolution). */
  resolved?: { by: string; on: string };
  /** Answers to it, oldest first. */
  replies: CommentView[];
}

export interface EventView {
  kind: 'event';
  event: 'approved' | 'changes requested' | 'updated';
  author: string;
  date: string;
  /** For an update: the state it moved to, or a new title. */
  detail?: string;
}

export type ConversationEntry = CommentView | EventView;

export interface PullRequestView {
  id: number;
  title: string;
  state: PullRequestEntry['state'];
  author: string;
  createdOn: string;
  updatedOn: string;
  source: { branch?: string; commit?: string; repository?: string };
  destination: { branch?: string; commit?: string; repository?: string };
  mergeCommit?: string;
  closedBy?: string;
  description: string;
  reviewers: { name: string; role: 'REVIEWER' | 'PARTICIPANT'; state: 'approved' | 'changes requested' | 'none' }[];
  /** Oldest first: top-level comments and activity events; replies nested in their comment. */
  conversation: ConversationEntry[];
  tasks: { id: number; state: string; text: string; creator: string; commentId?: number }[];
  statuses: { state: string; name: string; key?: string; url?: string; commit?: string }[];
  commits: { hash: string; message: string; author: string; date?: string }[];
  diffstat: { path: string; status: string; added?: number; removed?: number }[];
  fetchedAt: string;
}

type Json = Record<string, unknown>;

const record = (value: unknown): Json => (value && typeof value === 'object' && !Array.isArray(value) ? value as Json : {});
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const whole = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) ? value : undefined);
/** An account as Bitbucket gives it (display_name, nickname), or what a removed account leaves. */
const who = (account: unknown): string => text(record(account).display_name) ?? text(record(account).nickname) ?? 'Former user';
/** Bitbucket's rendered content: `{ raw, markup, html }`; the raw text is what was typed. */
const raw = (content: unknown): string => (typeof content === 'string' ? content : text(record(content).raw) ?? '');
const byDate = <T>(date: (item: T) => string) => (a: T, b: T): number => date(a).localeCompare(date(b));

/** The index's pull requests, newest first: the most recently updated, then the highest id (times carry offsets: compared as instants). */
export function pullRequestEntries(index: MetadataIndex | undefined): PullRequestEntry[] {
  return [...(index?.pullRequests?.items ?? [])].sort((a, b) => Date.parse(b.updatedOn) - Date.parse(a.updatedOn) || b.id - a.id);
}

export function pullRequestEntry(index: MetadataIndex | undefined, id: number, snapshot: string): PullRequestEntry {
  const entry = index?.pullRequests?.items.find((item) => item.id === id);
  if (!entry) throw new LifeboatError('METADATA_NOT_FOUND', `Snapshot ${snapshot} holds no pull request #${id}.`, { details: { snapshot, id } });
  return entry;
}

export async function readPullRequest(store: BlobStore, manifest: SnapshotManifest, entry: PullRequestEntry, identities: string[] | undefined): Promise<PullRequestDocument> {
  return readEntryDocument(store, manifest, entry, identities);
}

/**
 * List items for `entries`: read at most `concurrency` documents at once; an
 * encrypted one with no identity to open it gives what the plain index says.
 */
export async function listPullRequests(store: BlobStore, manifest: SnapshotManifest, entries: readonly PullRequestEntry[], identities: string[] | undefined, concurrency = 8): Promise<PullRequestListItem[]> {
  return inTurns(entries, concurrency, async (entry) => (entry.object.encrypted && !identities?.length ? listItem(entry) : listItem(entry, await readPullRequest(store, manifest, entry, identities))));
}

function listItem(entry: PullRequestEntry, document?: PullRequestDocument): PullRequestListItem {
  const item: PullRequestListItem = { id: entry.id, state: entry.state, updatedOn: entry.updatedOn };
  if (!document) return item;
  return { ...item, title: document.pullRequest.title, author: who(document.pullRequest.author), comments: document.comments.filter((comment) => comment.deleted !== true).length };
}

function endpoint(value: unknown): PullRequestView['source'] {
  const side = record(value);
  const branch = text(record(side.branch).name);
  const commit = text(record(side.commit).hash);
  const repository = text(record(side.repository).full_name);
  return { ...(branch ? { branch } : {}), ...(commit ? { commit } : {}), ...(repository ? { repository } : {}) };
}

function anchor(value: unknown): InlineAnchor | undefined {
  const inline = record(value);
  const path = text(inline.path);
  if (path === undefined) return undefined;
  const to = whole(inline.to);
  const from = whole(inline.from);
  const line = to ?? from;
  return { path, ...(line !== undefined ? { line, side: to !== undefined ? 'new' as const : 'old' as const } : {}), ...(inline.outdated === true ? { outdated: true } : {}) };
}

function commentView(comment: Json): CommentView {
  const createdOn = text(comment.created_on) ?? '';
  const updatedOn = text(comment.updated_on);
  const inline = anchor(comment.inline);
  const resolution = record(comment.resolution);
  const resolvedOn = text(resolution.created_on);
  return {
    kind: 'comment',
    id: whole(comment.id) ?? 0,
    author: who(comment.user),
    createdOn,
    ...(updatedOn && updatedOn !== createdOn ? { updatedOn } : {}),
    deleted: comment.deleted === true,
    text: raw(comment.content),
    ...(inline ? { inline } : {}),
    ...(resolvedOn ? { resolved: { by: who(resolution.user), on: resolvedOn } } : {}),
    replies: [],
  };
}

/** Approvals, requested changes and state or title updates from /activity (comments come from /comments, complete). */
function eventView(item: Json): EventView | undefined {
  const approval = record(item.approval);
  if (text(approval.date)) return { kind: 'event', event: 'approved', author: who(approval.user), date: text(approval.date)! };
  const changes = record(item.changes_requested);
  if (text(changes.date)) return { kind: 'event', event: 'changes requested', author: who(changes.user), date: text(changes.date)! };
  const update = record(item.update);
  if (text(update.date)) {
    const state = text(update.state);
    return { kind: 'event', event: 'updated', author: who(update.author), date: text(update.date)!, ...(state ? { detail: state } : {}) };
  }
  return undefined;
}

/** Comments threaded by `parent`, each thread oldest first; a reply whose parent is missing stays at the top. */
function threads(comments: readonly Json[]): CommentView[] {
  const views = new Map<number, CommentView>();
  for (const comment of [...comments].sort(byDate((item) => text(item.created_on) ?? ''))) views.set(whole(comment.id) ?? 0, commentView(comment));
  const top: CommentView[] = [];
  for (const comment of comments) {
    const view = views.get(whole(comment.id) ?? 0)!;
    const parent = views.get(whole(record(comment.parent).id) ?? -1);
    (parent && parent !== view ? parent.replies : top).push(view);
  }
  const order = (list: CommentView[]): CommentView[] => list.sort(byDate((item) => item.createdOn)).map((item) => ({ ...item, replies: order(item.replies) }));
  return order(top);
}

export function viewPullRequest(document: PullRequestDocument): PullRequestView {
  const pr = document.pullRequest as PullRequestDocument['pullRequest'] & Json;
  const events = document.activity.map(eventView).filter((event): event is EventView => event !== undefined);
  const conversation: ConversationEntry[] = [...threads(document.comments), ...events]
    .sort(byDate((entry) => (entry.kind === 'comment' ? entry.createdOn : entry.date)));
  const mergeCommit = text(record(pr.merge_commit).hash);
  const closedBy = pr.closed_by ? who(pr.closed_by) : undefined;
  return {
    id: pr.id,
    title: pr.title,
    state: pr.state,
    author: who(pr.author),
    createdOn: pr.created_on,
    updatedOn: pr.updated_on,
    source: endpoint(pr.source),
    destination: endpoint(pr.destination),
    ...(mergeCommit ? { mergeCommit } : {}),
    ...(closedBy ? { closedBy } : {}),
    description: text(pr.description) ?? raw(pr.summary),
    reviewers: (Array.isArray(pr.participants) ? pr.participants : []).map(record).map((participant) => ({
      name: who(participant.user),
      role: participant.role === 'REVIEWER' ? 'REVIEWER' as const : 'PARTICIPANT' as const,
      state: participant.state === 'changes_requested' ? 'changes requested' as const : participant.approved === true || participant.state === 'approved' ? 'approved' as const : 'none' as const,
    })),
    conversation,
    tasks: document.tasks.map((task) => {
      const commentId = whole(record(task.comment).id);
      return { id: task.id, state: text(task.state) ?? 'UNRESOLVED', text: raw(task.content), creator: who(task.creator), ...(commentId !== undefined ? { commentId } : {}) };
    }),
    statuses: document.statuses.map((status) => {
      const key = text(status.key);
      const url = text(status.url);
      const commit = text(record(status.commit).hash);
      return { state: text(status.state) ?? 'UNKNOWN', name: text(status.name) ?? key ?? '', ...(key ? { key } : {}), ...(url ? { url } : {}), ...(commit ? { commit } : {}) };
    }),
    commits: document.commits.map((commit) => {
      const date = text(commit.date);
      return { hash: commit.hash, message: text(commit.message) ?? '', author: text(record(commit.author).raw) ?? who(record(commit.author).user), ...(date ? { date } : {}) };
    }),
    diffstat: document.diffstat.map((entry) => {
      const added = whole(entry.lines_added);
      const removed = whole(entry.lines_removed);
      return { path: text(record(entry.new).path) ?? text(record(entry.old).path) ?? '', status: text(entry.status) ?? 'modified', ...(added !== undefined ? { added } : {}), ...(removed !== undefined ? { removed } : {}) };
    }),
    fetchedAt: document.fetchedAt,
  };
}
