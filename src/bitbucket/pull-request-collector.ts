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
 * One pull request never holds the others back: a part Bitbucket keeps failing
 * (the diffstat's documented 555, any 5xx) is left out of its document, named in
 * its entry and in a problem, and asked for again by every later export; a
 * listed id the index cannot hold (0, negative, not a number) is a problem, not a
 * failed backup.
 *
 * Every endpoint used here accepts the app identity (`forge-oauth2` in the
 * OpenAPI spec): the app reads with `requestBitbucket` as the app, never with
 * the customer's credential. The client's meter (RequestMeter) spends the
 * workspace's hourly budget; when it, Bitbucket's 429, a Bitbucket outage or the
 * run's deadline stops the export, the section says `complete: false` with
 * everything stored so far, and the next backup goes on from there.
 */
import type { MetadataProblem, PullRequestDocument, PullRequestEntry, PullRequestsSection } from '../engine/bucket/metadata.js';
import { FORMAT_VERSION } from '../engine/bucket/format.js';
import { type LifeboatError, isLifeboatError, toLifeboatError } from '../engine/errors.js';
import type { MetadataCollector, MetadataContext } from '../engine/metadata.js';
import { type BitbucketClient, apiPath } from './client.js';
import { bracedUuid } from './uuid.js';

/** Bitbucket refuses more than 50 a page for pull requests and their activity ("Invalid pagelen"). */
const PULL_REQUEST_PAGELEN = 50;
const PAGELEN = 100;
/** The diffstat endpoint pages up to 500 files. */
const DIFFSTAT_PAGELEN = 500;
/** Bitbucket's answer when generating a diffstat timed out (the spec's "Compare two commit diff stats", response 555). */
const TIMED_OUT = 555;
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
  // Listed with an id the index cannot hold: said in every snapshot, since nothing will store them.
  const invalid = new Map<string, MetadataProblem>((context.previous?.problems ?? [])
    .filter((problem) => problem.section === 'pullRequests' && problem.code === 'PULL_REQUEST_ID_INVALID')
    .map((problem) => [problem.subject ?? '', problem]));

  const stopped = (error: unknown): Stop => {
    const failure = toLifeboatError(error);
    // Bitbucket's 429, the spent budget and Bitbucket outages stop the export with what it stored; anything else is not ours to hide.
    if (failure.kind !== 'transient') throw error;
    return { reason: 'bitbucket', problem: { section: 'pullRequests', code: failure.code, message: failure.message } };
  };
  let stored = 0;
  // Every run stores at least one pull request, however short its time: an export always moves on.
  const pastDeadline = (): boolean => stored > 0 && context.deadline !== undefined && context.now().getTime() > context.deadline.getTime() - DEADLINE_MARGIN_MS;
  /** Whether the pull request stored last lacks a part Bitbucket failed (see `store`). */
  let previousFailed = false;
  /** Stored by this export. */
  const fetched = new Set<number>();

  /** `gotItself`: the pull request's own JSON was just read (GET), so Bitbucket answers about it. */
  const store = async (pr: PullRequestJson, gotItself: boolean): Promise<void> => {
    context.signal?.throwIfAborted();
    const { document, failed, answered } = await readPullRequest(client, base, pr, context.now().toISOString());
    // One pull request that Bitbucket keeps failing is stored without those parts and never holds the others back.
    // Every request about this one failing right after the one before failed too is Bitbucket failing: an outage stops the export.
    if (failed.length > 0 && previousFailed && !answered && !gotItself) throw failed[0]!.error;
    previousFailed = failed.length > 0;
    const digest = context.digest({ ...document, fetchedAt: undefined });
    const known = items.get(pr.id);
    // Fetched again with nothing changed (a duplicate event): the stored object still says it all.
    const object = known?.digest === digest ? known.object : await context.writeDocument(document);
    items.set(pr.id, { id: pr.id, state: pr.state, updatedOn: pr.updated_on, object, digest, ...(failed.length > 0 ? { failed: failed.map(({ part, status }) => ({ part, status })) } : {}) });
    pending.delete(pr.id);
    fetched.add(pr.id);
    stored++;
  };

  // 1. What changed since the watermark, oldest first. Each page after the first is asked afresh from the newest
  // update listed (`updated_on>=`, what was listed already is passed over), not through the page's `next` link: a
  // `next` link may lose `sort` (seen on Bitbucket), and page numbers shift when a listed pull request changes
  // meanwhile (Atlassian's answer on the community: filter by the last value instead of paging). Every pull request
  // updated up to the newest one listed has then been listed, so the watermark never passes one not seen.
  const listing = (after: string | null, from: '>' | '>='): string => {
    const query = new URLSearchParams([...STATES.map((state): [string, string] => ['state', state]), ['pagelen', String(PULL_REQUEST_PAGELEN)], ['sort', 'updated_on'], ['fields', FIELDS.list]]);
    // Date times unquoted, as the spec's "Filter and sort" section writes them (`updated_on > 2015-11-11T00:00:00-07:00`).
    if (after !== null) query.set('q', `updated_on${from}${after}`);
    return `${base}?${query}`;
  };
  /** What this export listed: id (as Bitbucket gave it) → updated_on. */
  const listed = new Map<unknown, string>();
  /** false once Bitbucket listed a pull request older than one before it: not the order asked for, so the watermark stays. */
  let ordered = true;
  const advance = (watermark: string | undefined): void => {
    if (ordered && watermark !== undefined) updatedThrough = watermark;
  };
  let next: string | undefined = listing(updatedThrough, '>');
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
      advance(beforeNewest);
      break;
    }
    const fresh = page.values.filter((pr) => listed.get(pr.id) !== pr.updated_on);
    for (const [index, pr] of fresh.entries()) {
      if (newest !== undefined && Date.parse(pr.updated_on) < Date.parse(newest)) ordered = false;
      if (!validId(pr.id)) {
        const subject = JSON.stringify(pr.id) ?? String(pr.id);
        invalid.set(subject, {
          section: 'pullRequests', subject, code: 'PULL_REQUEST_ID_INVALID',
          // No title: the index is never encrypted, and holds no content.
          message: `Bitbucket listed a pull request with the id ${subject} (updated ${pr.updated_on}); a pull request id is a positive whole number, so Lifeboat cannot store this one and leaves it out.`,
        });
      } else if (items.get(pr.id)?.updatedOn !== pr.updated_on || pending.has(pr.id)) {
        if (pastDeadline()) stop = { reason: 'deadline' };
        else {
          try {
            await store(pr, false);
          } catch (error) {
            stop = stopped(error);
          }
        }
      }
      if (stop) {
        // Not reached: fetched by the next export. The watermark stays below this one's time, so that pull
        // requests updated at the very same instant further on are listed again (stored ones then cost nothing).
        for (const unreached of fresh.slice(index)) if (validId(unreached.id)) pending.add(unreached.id);
        advance(newest === pr.updated_on ? beforeNewest : newest);
        break listing;
      }
      listed.set(pr.id, pr.updated_on);
      if (pr.updated_on !== newest) {
        beforeNewest = newest;
        newest = pr.updated_on;
      }
    }
    // A page with nothing new (more pull requests updated at one instant than a page holds) goes on through its `next` link.
    next = page.next === undefined ? undefined : fresh.length > 0 && ordered ? listing(newest!, '>=') : page.next;
  }
  if (!stop) advance(newest);

  // 2. Marked or left over, and not listed as changed: fetched one by one.
  for (const id of [...pending].sort((a, b) => a - b)) {
    if (stop) break;
    if (pastDeadline()) {
      stop = { reason: 'deadline' };
      break;
    }
    try {
      await store(await client.get<PullRequestJson>(`${base}/${id}?${new URLSearchParams({ fields: FIELDS.one })}`), true);
    } catch (error) {
      // A pull request Bitbucket no longer has (deleted since it was marked) is not waited for; what was stored of it stays.
      if (isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) pending.delete(id);
      else stop = stopped(error);
    }
  }

  // 3. Stored without a part Bitbucket was failing: asked again while time allows, so that a passing failure heals.
  // Nothing waits for them: stored as they are, they leave the export complete.
  for (const id of [...items.values()].filter((entry) => entry.failed && !fetched.has(entry.id)).map((entry) => entry.id)) {
    if (stop || pastDeadline()) break;
    try {
      await store(await client.get<PullRequestJson>(`${base}/${id}?${new URLSearchParams({ fields: FIELDS.one })}`), true);
    } catch (error) {
      if (isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) continue;
      // Busy, rate limited or down: the stored copies stay, a later backup asks again.
      stopped(error);
      break;
    }
  }

  const section: PullRequestsSection = {
    complete: stop === undefined && pending.size === 0,
    updatedThrough,
    outstanding: [...pending].sort((a, b) => a - b),
    items: [...items.values()].sort((a, b) => a.id - b.id),
    ...(marksThrough === undefined ? {} : { marksThrough }),
  };
  return {
    pullRequests: section,
    problems: [...(stop?.reason === 'bitbucket' ? [stop.problem] : []), ...section.items.flatMap(partialProblem), ...invalid.values()],
  };
}

/** Bitbucket's pull request ids are integers, unique within the repository (the spec's `pullrequest.id`); the index holds positive ones. */
function validId(id: unknown): id is number {
  return Number.isSafeInteger(id) && (id as number) > 0;
}

/** The problem a pull request stored without some parts names, stable from one export to the next while they keep failing. */
function partialProblem(entry: PullRequestEntry): MetadataProblem[] {
  if (!entry.failed) return [];
  const parts = entry.failed.map(({ part, status }) => `${part} (HTTP ${status}${status === TIMED_OUT ? ': generating it timed out' : ''})`);
  return [{
    section: 'pullRequests',
    subject: String(entry.id),
    code: 'PULL_REQUEST_PARTIAL',
    message: `Pull request #${entry.id} is stored without its ${parts.join(', ')}: Bitbucket kept failing to serve ${parts.length === 1 ? 'it' : 'them'}. Every backup asks again.`,
  }];
}

/** A part Bitbucket answered with a server error, after one retry. */
interface PartFailure {
  part: string;
  status: number;
  error: LifeboatError;
}

/**
 * Every part of one pull request, in Bitbucket's JSON (trimmed by `fields=`). A
 * part Bitbucket answers with a server error, even when asked once more at once,
 * is left out and named in `failed`; `answered`: some request about this pull
 * request got an answer (Bitbucket is up).
 */
async function readPullRequest(client: BitbucketClient, base: string, pr: PullRequestJson, fetchedAt: string): Promise<{ document: PullRequestDocument; failed: PartFailure[]; answered: boolean }> {
  const one = `${base}/${pr.id}`;
  let answered = false;
  const page = async <T>(path: string): Promise<{ values: T[]; next?: string }> => {
    let got: { values: T[]; next?: string };
    try {
      got = await client.page<T>(path);
    } catch (error) {
      // A blip heals when asked again; the diffstat's timeout would only take as long once more.
      if (!isLifeboatError(error, 'BITBUCKET_UNAVAILABLE') || error.details?.status === TIMED_OUT) throw error;
      got = await client.page<T>(path);
    }
    answered = true;
    return got;
  };
  const all = async <T>(path: string, fields: string, pagelen = PAGELEN, extra: Record<string, string> = {}): Promise<T[]> => {
    const values: T[] = [];
    let next: string | undefined = `${path}?${new URLSearchParams({ ...extra, pagelen: String(pagelen), fields })}`;
    while (next !== undefined) {
      const got: { values: T[]; next?: string } = await page<T>(next);
      values.push(...got.values);
      next = got.next;
    }
    return values;
  };
  const unavailable: string[] = [];
  const failed: PartFailure[] = [];
  /**
   * A part, or nothing when Bitbucket does not serve it: a server error (recorded in `failed`), or, with `gone`,
   * a 404 (commits and diffstat need both ends; Bitbucket answers 404 once a declined pull request's commits are gone).
   */
  const part = async <T>(name: string, read: () => Promise<T[]>, gone = false): Promise<T[]> => {
    try {
      return await read();
    } catch (error) {
      if (gone && isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) {
        unavailable.push(name);
        return [];
      }
      if (!isLifeboatError(error, 'BITBUCKET_UNAVAILABLE')) throw error;
      const status = Number(error.details?.status);
      // The diffstat's documented timeout is an answer about this one resource.
      if (status === TIMED_OUT) answered = true;
      failed.push({ part: name, status, error });
      unavailable.push(name);
      return [];
    }
  };

  // Bitbucket gives the activity newest first; the document keeps everything oldest first.
  const activity = (await part('activity', () => all<Record<string, unknown>>(`${one}/activity`, FIELDS.activity, PULL_REQUEST_PAGELEN))).reverse();
  // The activity names every comment, deleted ones included: without any, there is nothing to list.
  const comments = (pr.comment_count ?? 1) > 0 || activity.some((entry) => 'comment' in entry)
    ? (await part('comments', () => all<{ id: number }>(`${one}/comments`, FIELDS.comments))).sort((a, b) => a.id - b.id)
    : [];
  const tasks = (pr.task_count ?? 1) > 0 ? await part('tasks', () => all<{ id: number }>(`${one}/tasks`, FIELDS.tasks)) : [];
  const statuses = await part('statuses', () => all<Record<string, unknown>>(`${one}/statuses`, FIELDS.statuses));
  const source = pr.source?.commit?.hash;
  const destination = pr.destination?.commit?.hash;
  let commits: Array<{ hash: string }> = [];
  let diffstat: Array<Record<string, unknown>> = [];
  if (source && destination) {
    commits = await part('commits', () => all<{ hash: string }>(`${one}/commits`, FIELDS.commits), true);
    // The pull request's own diffstat answers with a redirect to this, which would be a second call: asked for directly.
    const repository = base.slice(0, -'/pullrequests'.length);
    diffstat = await part('diffstat', () => all<Record<string, unknown>>(
      `${repository}/diffstat/${encodeURIComponent(source)}..${encodeURIComponent(destination)}`,
      FIELDS.diffstat,
      DIFFSTAT_PAGELEN,
      { topic: 'true', from_pullrequest_id: String(pr.id) },
    ), true);
  } else {
    unavailable.push('commits', 'diffstat');
  }
  const document: PullRequestDocument = {
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
  return { document, failed, answered };
}
