/**
 * The pull requests of a repository, as a metadata collector (section
 * `pullRequests`, docs/bucket-format.md "Metadata"): one `lifeboat-pull-request`
 * document per pull request, fetched again only when it changed.
 *
 * Incremental by Bitbucket's own clock: the listing asks for pull requests
 * updated after the section's watermark (`q=updated_on>…`, oldest first), so the
 * watermark only moves past what is stored. Forge's pull-request events mark
 * changes that do not move `updated_on` (an edited or deleted comment); marked
 * pull requests, and those an earlier export did not reach (`outstanding`), are
 * fetched too. An unchanged pull request costs no call: its entry is carried
 * forward with its stored object.
 *
 * Every endpoint used here accepts the app identity (`forge-oauth2` in the
 * OpenAPI spec): the app reads with `requestBitbucket` as the app, never with
 * the customer's credential. The client's meter (RequestMeter) spends the
 * workspace's hourly budget; when it, Bitbucket's 429, a Bitbucket outage or the
 * run's deadline stops the export, the section says `complete: false` with
 * everything stored so far, and the next backup goes on from there.
 */
import { type MetadataProblem, type PullRequestDocument, type PullRequestEntry, type PullRequestsSection, digestOf } from '../engine/bucket/metadata.js';
import { FORMAT_VERSION } from '../engine/bucket/format.js';
import { isLifeboatError, toLifeboatError } from '../engine/errors.js';
import type { MetadataCollector, MetadataContext } from '../engine/metadata.js';
import { type BitbucketClient, apiPath } from './client.js';
import { bracedUuid } from './uuid.js';

/** Bitbucket refuses more than 50 a page for pull requests and their activity ("Invalid pagelen"). */
const PULL_REQUEST_PAGELEN = 50;
const PAGELEN = 100;
/** The diffstat endpoint pages up to 500 files. */
const DIFFSTAT_PAGELEN = 500;
/** No pull request is started this close to the deadline: a big one takes several calls. */
const DEADLINE_MARGIN_MS = 15_000;

const STATES = ['OPEN', 'MERGED', 'DECLINED', 'SUPERSEDED'] as const;

/** What each part keeps (`fields=`): Bitbucket's JSON without links, renderings and the pull request repeated in every item. */
const FIELDS = {
  // Lists leave reviewers and participants out unless asked for; the repositories' links are the same in every item.
  list: '+values.reviewers,+values.participants,-values.links,-values.rendered,-values.summary,-values.source.repository.links,-values.destination.repository.links',
  one: '-links,-rendered,-summary,-source.repository.links,-destination.repository.links',
  activity: '-values.pull_request,-values.comment.pullrequest,-values.comment.links,-values.approval.pullrequest,-values.changes_requested.pullrequest,-values.update.source.repository,-values.update.destination.repository',
  comments: '-values.pullrequest,-values.links',
  tasks: '-values.links,-values.comment.pullrequest,-values.comment.links',
  statuses: '-values.links',
  commits: '-values.repository,-values.links,-values.parents.links,-values.summary',
  diffstat: '-values.old.links,-values.new.links',
} as const;

/** A change Forge's pull-request events recorded: `at` is when the app was told. */
export interface ChangeMark {
  id: number;
  at: string;
}

export interface PullRequestMarks {
  /**
   * The marks recorded after `coveredThrough` (every mark when undefined).
   * Marks up to it were covered by the committed snapshot this export follows
   * (fetched, or listed as outstanding), and may be cleared.
   */
  pending(coveredThrough: string | undefined): Promise<ChangeMark[]>;
}

export interface PullRequestCollectorOptions {
  /** Reads as the app, metered against the workspace's budget. */
  client: BitbucketClient;
  workspaceUuid: string;
  repositoryUuid: string;
  marks: PullRequestMarks;
}

/** A pull request as the listing (or GET) gives it, with the fields the collector reads. */
interface PullRequestJson {
  id: number;
  title: string;
  state: (typeof STATES)[number];
  created_on: string;
  updated_on: string;
  task_count?: number;
  comment_count?: number;
  source?: { branch?: { name?: string }; commit?: { hash?: string } | null };
  destination?: { branch?: { name?: string }; commit?: { hash?: string } | null };
  [key: string]: unknown;
}

/** Why an export stopped before it was done. */
type Stop = { reason: 'deadline' } | { reason: 'bitbucket'; problem: MetadataProblem };

/** Jira-style issue keys, e.g. PROJ-12. */
const ISSUE_KEY = /\b[A-Z][A-Z0-9_]+-\d+\b/g;

export function linkedIssueKeys(title: string, branch: string | undefined): string[] {
  return [...new Set([...title.matchAll(ISSUE_KEY), ...(branch ?? '').matchAll(ISSUE_KEY)].map((match) => match[0]))].sort();
}

export function pullRequestCollector(options: PullRequestCollectorOptions): MetadataCollector {
  return { section: 'pullRequests', collect: (context) => collectPullRequests(options, context) };
}

async function collectPullRequests(options: PullRequestCollectorOptions, context: MetadataContext): Promise<{ pullRequests: PullRequestsSection; problems: MetadataProblem[] }> {
  const { client } = options;
  const base = apiPath`/2.0/repositories/${bracedUuid(options.workspaceUuid)}/${bracedUuid(options.repositoryUuid)}/pullrequests`;
  const previous = context.previous?.pullRequests;
  const items = new Map<number, PullRequestEntry>((previous?.items ?? []).map((entry) => [entry.id, entry]));
  const marks = await options.marks.pending(previous?.marksThrough);
  // Known to have changed, not stored yet: fetched once, whether the listing names them or not.
  const pending = new Set<number>([...(previous?.outstanding ?? []), ...marks.map((mark) => mark.id)]);
  const marksThrough = marks.reduce<string | undefined>((latest, mark) => (latest === undefined || mark.at > latest ? mark.at : latest), previous?.marksThrough);
  let updatedThrough = previous?.updatedThrough ?? null;
  let stop: Stop | undefined;

  const stopped = (error: unknown): Stop => {
    const failure = toLifeboatError(error);
    // Bitbucket's 429, the spent budget and Bitbucket outages stop the export with what it stored; anything else is not ours to hide.
    if (failure.kind !== 'transient') throw error;
    return { reason: 'bitbucket', problem: { section: 'pullRequests', code: failure.code, message: failure.message } };
  };
  let stored = 0;
  // Every run stores at least one pull request, however short its time: an export always moves on.
  const pastDeadline = (): boolean => stored > 0 && context.deadline !== undefined && context.now().getTime() > context.deadline.getTime() - DEADLINE_MARGIN_MS;

  const store = async (pr: PullRequestJson): Promise<void> => {
    context.signal?.throwIfAborted();
    const document = await readPullRequest(client, base, pr, context.now().toISOString());
    const digest = digestOf({ ...document, fetchedAt: undefined });
    const known = items.get(pr.id);
    // Fetched again with nothing changed (a duplicate event): the stored object still says it all.
    const object = known?.digest === digest ? known.object : await context.writeDocument(document);
    items.set(pr.id, { id: pr.id, state: pr.state, updatedOn: pr.updated_on, object, digest });
    pending.delete(pr.id);
    stored++;
  };

  // 1. What changed since the watermark, oldest first.
  const query = new URLSearchParams([...STATES.map((state): [string, string] => ['state', state]), ['pagelen', String(PULL_REQUEST_PAGELEN)], ['sort', 'updated_on'], ['fields', FIELDS.list]]);
  if (updatedThrough !== null) query.set('q', `updated_on>"${updatedThrough}"`);
  let next: string | undefined = `${base}?${query}`;
  // The update times of the listed pull requests so far: the newest, and the one before it.
  let newest: string | undefined;
  let beforeNewest: string | undefined;
  listing: while (next !== undefined) {
    let page: { values: PullRequestJson[]; next?: string };
    try {
      page = await client.page<PullRequestJson>(next);
    } catch (error) {
      stop = stopped(error);
      // The next page may hold more pull requests updated at the newest instant listed.
      if (beforeNewest !== undefined) updatedThrough = beforeNewest;
      break;
    }
    for (const [index, pr] of page.values.entries()) {
      const known = items.get(pr.id);
      if (known?.updatedOn !== pr.updated_on || pending.has(pr.id)) {
        if (pastDeadline()) stop = { reason: 'deadline' };
        else {
          try {
            await store(pr);
          } catch (error) {
            stop = stopped(error);
          }
        }
      }
      if (stop) {
        // Not reached: fetched by the next export. The watermark stays below this one's time, so that pull
        // requests updated at the very same instant further on are listed again (stored ones then cost nothing).
        for (const unreached of page.values.slice(index)) pending.add(unreached.id);
        const below = newest === pr.updated_on ? beforeNewest : newest;
        if (below !== undefined) updatedThrough = below;
        break listing;
      }
      if (pr.updated_on !== newest) {
        beforeNewest = newest;
        newest = pr.updated_on;
      }
    }
    next = page.next;
  }
  if (!stop && newest !== undefined) updatedThrough = newest;

  // 2. Marked or left over, and not listed as changed: fetched one by one.
  for (const id of [...pending].sort((a, b) => a - b)) {
    if (stop) break;
    if (pastDeadline()) {
      stop = { reason: 'deadline' };
      break;
    }
    try {
      await store(await client.get<PullRequestJson>(`${base}/${id}?${new URLSearchParams({ fields: FIELDS.one })}`));
    } catch (error) {
      // A pull request Bitbucket no longer has (deleted since it was marked) is not waited for; what was stored of it stays.
      if (isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) pending.delete(id);
      else stop = stopped(error);
    }
  }

  const section: PullRequestsSection = {
    complete: stop === undefined && pending.size === 0,
    updatedThrough,
    outstanding: [...pending].sort((a, b) => a - b),
    items: [...items.values()].sort((a, b) => a.id - b.id),
    ...(marksThrough === undefined ? {} : { marksThrough }),
  };
  return { pullRequests: section, problems: stop?.reason === 'bitbucket' ? [stop.problem] : [] };
}

/** Every part of one pull request, in Bitbucket's JSON (trimmed by `fields=`). */
async function readPullRequest(client: BitbucketClient, base: string, pr: PullRequestJson, fetchedAt: string): Promise<PullRequestDocument> {
  const one = `${base}/${pr.id}`;
  const all = async <T>(path: string, fields: string, pagelen = PAGELEN, extra: Record<string, string> = {}): Promise<T[]> => {
    const values: T[] = [];
    for await (const value of client.paginate<T>(`${path}?${new URLSearchParams({ ...extra, pagelen: String(pagelen), fields })}`)) values.push(value);
    return values;
  };
  const unavailable: string[] = [];
  /** Commits and diffstat need both ends; Bitbucket answers 404 once a declined pull request's commits are gone. */
  const ofCommits = async <T>(part: string, read: () => Promise<T[]>): Promise<T[]> => {
    try {
      return await read();
    } catch (error) {
      if (!isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) throw error;
      unavailable.push(part);
      return [];
    }
  };

  // Bitbucket gives the activity newest first; the document keeps everything oldest first.
  const activity = (await all<Record<string, unknown>>(`${one}/activity`, FIELDS.activity, PULL_REQUEST_PAGELEN)).reverse();
  // The activity names every comment, deleted ones included: without any, there is nothing to list.
  const comments = (pr.comment_count ?? 1) > 0 || activity.some((entry) => 'comment' in entry)
    ? (await all<{ id: number }>(`${one}/comments`, FIELDS.comments)).sort((a, b) => a.id - b.id)
    : [];
  const tasks = (pr.task_count ?? 1) > 0 ? await all<{ id: number }>(`${one}/tasks`, FIELDS.tasks) : [];
  const statuses = await all<Record<string, unknown>>(`${one}/statuses`, FIELDS.statuses);
  const source = pr.source?.commit?.hash;
  const destination = pr.destination?.commit?.hash;
  let commits: Array<{ hash: string }> = [];
  let diffstat: Array<Record<string, unknown>> = [];
  if (source && destination) {
    commits = await ofCommits('commits', () => all<{ hash: string }>(`${one}/commits`, FIELDS.commits));
    // The pull request's own diffstat answers with a redirect to this, which would be a second call: asked for directly.
    const repository = base.slice(0, -'/pullrequests'.length);
    diffstat = await ofCommits('diffstat', () => all<Record<string, unknown>>(
      `${repository}/diffstat/${encodeURIComponent(source)}..${encodeURIComponent(destination)}`,
      FIELDS.diffstat,
      DIFFSTAT_PAGELEN,
      { topic: 'true', from_pullrequest_id: String(pr.id) },
    ));
  } else {
    unavailable.push('commits', 'diffstat');
  }
  return {
    format: 'lifeboat-pull-request',
    version: FORMAT_VERSION,
    fetchedAt,
    pullRequest: pr,
    comments,
    activity,
    tasks,
    statuses,
    commits,
    diffstat,
    linkedIssueKeys: linkedIssueKeys(pr.title, pr.source?.branch?.name),
    ...(unavailable.length > 0 ? { unavailable } : {}),
  };
}
