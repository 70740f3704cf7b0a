/**
 * Segmented fetch, by history: a backup whose new history may not fit one request
 * (Forge cuts every outbound request at 180 s), a new chain's or an incremental's,
 * is fetched as a chain of bundles cut along that history, oldest first. Segment k wants the commits of cut k and
 * has every tip stored before it, so its bundle is an ordinary thin bundle whose
 * prerequisites are the previous bundles' tips; its refs name the cut's commits
 * under SEGMENT_NAMESPACE, which no restore sets as a real ref (the manifest's
 * `refs` are the real ones).
 *
 * Finding cut points. What git protocol v2 and Bitbucket offer, in order of cost:
 * - a commits-only fetch (`filter tree:0`) would list the whole first-parent
 *   history in one request, but Bitbucket Cloud does not offer partial clone
 *   ("Partial clones are still not possible for Bitbucket Cloud", Atlassian on
 *   jira.atlassian.com BSERV-11639, May 2021), and reading it needs a pack parser
 *   that resolves deltified commits: not built, as it would never run against
 *   Bitbucket Cloud.
 * - successive `deepen` fetches (deepenHistory below): Bitbucket Cloud serves
 *   shallow clones (Pipelines clones at depth 50 by default). Only the reply's
 *   shallow-info is read, then the connection is closed: a few hundred bytes per
 *   cut, and per request a server walk of one step of commits.
 * - a commits listing from a REST API (Bitbucket's `/commits`, within its hourly
 *   budget) can be injected as a HistorySource; the engine knows no REST API.
 * Measured (git 2.39 http-backend on 127.0.0.1, a single branch of 5,000 commits
 * of 4 KB each, a 20 MB pack): cuts every 100 commits took 50 requests of 60 ms
 * each, and the server had written 0.6 MB in all before the connections closed.
 * With the default step of 500 commits (doubling every 64 cuts), 100,000 commits
 * take about 130 requests.
 *
 * A segment wants its cut's commits, which no ref names: "Wants can be anything
 * and are not limited to advertised objects" (gitprotocol-v2, fetch). That
 * Bitbucket Cloud serves such wants is not documented: assumed (a cut it refuses
 * ends the plan, and the rest comes with the refs: backup.ts).
 *
 * `deepen` walks every parent, not only the first: the cut is the set of commits
 * at that distance (one commit on a linear history, a few across merges). Any set
 * of commits is a valid cut: wants and haves decide what a pack holds, whatever
 * the shape of the history.
 *
 * Sizing: how many cuts one segment covers follows a byte budget (the request cap
 * times the measured throughput, halved for safety) and the bytes per commit
 * measured on the segments already fetched; the first segment takes one cut. A
 * segment whose fetch fails is made smaller for the retry (smallerSegment), so a
 * history whose weight the plan misjudged converges instead of failing forever.
 */
import type { SegmentPlan } from './bucket/format.js';
import type { GitClient } from './git/types.js';

/** Refs naming intermediate tips of a segmented chain: never a repository's own ref, never restored. */
export const SEGMENT_NAMESPACE = 'refs/lifeboat/segments/';

export function isSegmentRef(name: string): boolean {
  return name.startsWith(SEGMENT_NAMESPACE);
}

/**
 * The cut commits a bundle brings as a segment: its refs under its own snapshot's
 * segment namespace. A repository's own ref that happens to live under
 * refs/lifeboat/segments/ (it could point at a tag or a blob) is never one.
 */
export function segmentTips(bundle: { createdBy: string; refs: readonly { name: string; oid: string }[] }): string[] {
  const own = `${SEGMENT_NAMESPACE}${bundle.createdBy}/`;
  return bundle.refs.filter((ref) => ref.name.startsWith(own)).map((ref) => ref.oid);
}

/** The ref of commit `tip` (1-based) of cut `cut` (1-based) of snapshot `snapshotId`'s plan. */
export function segmentRefName(snapshotId: string, cut: number, tip: number): string {
  return `${SEGMENT_NAMESPACE}${snapshotId}/${cut}/${tip}`;
}

/** A cut point: commits, and how many commits lie between them and the cut before (at most). */
export interface Cut {
  commits: string[];
  span: number;
}

/** Where cut points come from (deepenHistory, or an injected listing). */
export interface HistorySource {
  /**
   * Cut points below `tip`, oldest first: each about `step` commits (its span)
   * before the next one (and the last about `step` before `tip`), and ancestors
   * of it: the newest stored cut reaches every older one, so it alone is what
   * later fetches name as haves. Above `known.stored` only; where `known.tags`
   * lie on the history, cuts at them too. [] when the history is not longer than
   * a step, or cannot be walked.
   */
  cuts(tip: string, step: number, known: KnownCommits): Promise<Cut[]>;
}

export interface KnownCommits {
  /** Commits the chain already holds: an incremental's new history ends where it reaches them. */
  stored: readonly string[];
  /** What the tags this backup fetches point at (peeled; not all commits): candidate cut points. */
  tags: readonly string[];
}

export interface SegmentOptions {
  /** The longest one request may last, in seconds (Forge long-running functions: 180). */
  requestSeconds: number;
  /** Transfer rate measured on earlier requests of this repository; DEFAULT_BYTES_PER_SECOND before any. */
  bytesPerSecond?: number;
  /** A fixed byte budget per segment instead of the derived one. */
  maxBytes?: number;
  /** Commits between two cut points (default DEFAULT_COMMITS_PER_STEP). */
  commitsPerStep?: number;
  /** Where cut points come from; by default `deepen` requests to the git server. */
  history?: HistorySource;
}

/**
 * Assumed before any segment of the repository was measured: 1 MB/s, far below
 * what a data-centre link carries, since Bitbucket first has to count and
 * compress the objects of a pack it has never sent (not documented: assumed).
 */
export const DEFAULT_BYTES_PER_SECOND = 1_000_000;
/** A segment aims at half of what one request could carry: room for a slow server or link. */
const REQUEST_SHARE = 0.5;
/** A rate measured on a shorter fetch than this share of the cap is mostly latency: not adopted. */
const MEASURE_SHARE = 0.1;
export const DEFAULT_COMMITS_PER_STEP = 500;
/** At most this many tags are looked for on the history (each is a line of every request that looks). */
const MAX_TAGS = 1000;
/** At most this many steps down the history per plan (a request each, two where tags are looked for); the step doubles every STEPS_PER_DOUBLING of them. */
const MAX_CUTS = 256;
const STEPS_PER_DOUBLING = 64;

/** How many bytes one segment should carry. */
export function byteBudget(options: SegmentOptions, plan?: SegmentPlan): number {
  if (options.maxBytes !== undefined) return options.maxBytes;
  const rate = plan?.bytesPerSecond ?? options.bytesPerSecond ?? DEFAULT_BYTES_PER_SECOND;
  return Math.max(1, Math.floor(options.requestSeconds * rate * REQUEST_SHARE));
}

/**
 * Cut points from successive `deepen` fetches that read only the shallow boundary (see the module comment).
 * An incremental's new history ends where the walk reaches the chain's commits: they go with each request as
 * the client's shallow commits, and the first step whose reply unshallows one (it lies within the step) ends
 * the walk; one exactly at a boundary leaves that line's boundary out (fetch.ts, shallowBoundary). A first
 * backup has none. Across a merge the walk ends at the first line that reaches the chain, so a long line merged
 * beside a short one comes whole with the segment above the last cut.
 *
 * Tags are natural cut points (a release is where a person looks for history, and its whole history then
 * sits in the segments up to it). The issue orders them by commit date; the ref listing carries no dates and
 * reading them costs a fetch per tag, so the walk's own order (ancestry, to a step) is used instead: each step
 * also asks which tags lie within it (their commits sent as shallow, a second request of the same walk), and
 * those become a cut of their own between the step's two cuts, with the step's lower cut in it so that it
 * reaches every older cut across merges too. Where in the step they lie is not measured (log2(step) more
 * requests each): the step's span is split evenly between the two cuts, so that spans still add up to the
 * history's length and the bytes per commit measured over them stay right.
 */
export function deepenHistory(git: GitClient): HistorySource | undefined {
  const boundary = git.shallowBoundary?.bind(git);
  if (!boundary) return undefined;
  return {
    async cuts(tip, step, { stored, tags }) {
      /** Tag commits not yet found within a step; looked up once the history is longer than a step. */
      let unplaced: string[] | undefined;
      const found: Cut[] = [];
      let from = [tip];
      let size = step;
      // Each step starts from the cut the one before found (the last one pushed), the first from the tip.
      for (let steps = 0; steps < MAX_CUTS; steps += 1) {
        if (steps > 0 && steps % STEPS_PER_DOUBLING === 0) size *= 2;
        // The cut this step starts from lies at most `size` commits above the next one (or the root, or the chain's history).
        if (steps > 0) found.at(-1)!.span = size;
        // "deepen <depth>" keeps commits less than `depth` away: the boundary `size` below asks for size + 1.
        const below = await boundary({ wants: from, depth: size + 1, shallow: [...stored] });
        if (below === undefined) return [];
        if (below.unshallow.length > 0 && steps > 0) {
          // The oldest cut's span sizes the first segment, whose bytes per commit size all the others: made exact.
          found.at(-1)!.span = await distanceToStored(boundary, from, size, stored);
          break;
        }
        if (below.unshallow.length > 0) break;
        if (steps === 0 && below.boundary.length === 0) break;
        unplaced ??= await tagCommits(boundary, tags, stored);
        // Depth size + 2 unshallows the tags down to the boundary; those strictly between the two cuts make one.
        const tagged = unplaced.length > 0 ? ((await boundary({ wants: from, depth: size + 2, shallow: unplaced }))?.unshallow ?? []) : [];
        unplaced = unplaced.filter((oid) => !tagged.includes(oid));
        const inside = tagged.filter((oid) => !from.includes(oid) && !below.boundary.includes(oid));
        if (inside.length > 0 && size > 1) {
          const lower = Math.ceil(size / 2);
          if (steps > 0) found.at(-1)!.span = size - lower;
          found.push({ commits: [...new Set([...inside, ...below.boundary])].sort(), span: lower });
        }
        if (below.boundary.length === 0) break;
        found.push({ commits: below.boundary, span: size });
        from = below.boundary;
      }
      return found.reverse();
    },
  };
}

/**
 * The commits of `tags` (one request: "want" each, "deepen 1": the boundary is the
 * wants themselves, peeled to commits; a tag of a tree or a blob is left out
 * without an error: measured on git 2.39's upload-pack, not documented: assumed),
 * except those already stored. [] when that cannot be asked: cuts then ignore tags.
 */
async function tagCommits(boundary: NonNullable<GitClient['shallowBoundary']>, tags: readonly string[], stored: readonly string[]): Promise<string[]> {
  const candidates = [...new Set(tags)].filter((oid) => !stored.includes(oid)).slice(0, MAX_TAGS);
  if (candidates.length === 0) return [];
  const commits = await boundary({ wants: candidates, depth: 1 }).catch(() => undefined);
  return (commits?.boundary ?? []).filter((oid) => !stored.includes(oid));
}

/**
 * How far below `from` the nearest `stored` commit lies, known to be less than
 * `size`: the least depth whose reply unshallows one, by bisection (log2(size)
 * more requests of at most `size` commits each).
 */
async function distanceToStored(boundary: NonNullable<GitClient['shallowBoundary']>, from: string[], size: number, stored: readonly string[]): Promise<number> {
  // Invariant: a stored commit lies at a distance in [low, high].
  let [low, high] = [1, size - 1];
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    // Depth middle + 2 has its boundary middle + 1 below, and unshallows the stored commits above it.
    const within = await boundary({ wants: from, depth: middle + 2, shallow: [...stored] });
    if (within === undefined) return size;
    if (within.unshallow.length > 0) high = middle;
    else low = middle + 1;
  }
  return Math.max(1, low);
}

/** The plan of the history below `tip` above the stored commits, or undefined when it is one segment. */
export async function planSegments(options: SegmentOptions, git: GitClient, tip: string, known: KnownCommits): Promise<SegmentPlan | undefined> {
  const history = options.history ?? deepenHistory(git);
  const cuts = history ? await history.cuts(tip, options.commitsPerStep ?? DEFAULT_COMMITS_PER_STEP, known) : [];
  return cuts.length > 0 ? { cuts: cuts.map((cut) => cut.commits), spans: cuts.map((cut) => cut.span), done: 0 } : undefined;
}

function commitsIn(plan: SegmentPlan, from: number, through: number): number {
  return plan.spans.slice(from, through + 1).reduce((sum, span) => sum + span, 0);
}

/**
 * The index of the last cut the next segment covers: as many as the budget holds at
 * the bytes per commit measured so far, at least one; and of those, the last one at
 * a tag (`tagged`: what the repository's tags point at), unless that would leave the
 * segment less than half as long.
 */
export function nextCut(plan: SegmentPlan, budget: number, tagged: ReadonlySet<string> = new Set()): number {
  if (!plan.bytesPerCommit) return plan.done;
  let through = plan.done;
  while (through + 1 < plan.cuts.length && commitsIn(plan, plan.done, through + 1) * plan.bytesPerCommit <= budget) through += 1;
  const atTag = plan.cuts.findLastIndex((cut, index) => index >= plan.done && index <= through && cut.some((oid) => tagged.has(oid)));
  return atTag >= 0 && 2 * commitsIn(plan, plan.done, atTag) >= commitsIn(plan, plan.done, through) ? atTag : through;
}

/** The plan after a segment through cut `through` was stored: `bytes` fetched in `seconds`. */
export function afterSegment(plan: SegmentPlan, options: SegmentOptions, through: number, bytes: number, seconds: number): SegmentPlan {
  const rate = seconds >= options.requestSeconds * MEASURE_SHARE ? Math.floor(bytes / seconds) : plan.bytesPerSecond;
  const bytesPerCommit = Math.max(1, Math.ceil(bytes / Math.max(1, commitsIn(plan, plan.done, through))));
  return { ...plan, done: through + 1, bytesPerCommit, ...(rate ? { bytesPerSecond: rate } : {}) };
}

/**
 * After the segment through cut `through` failed (cut at the request cap, most
 * likely): a plan whose next segment is about half as large, so that retries
 * converge instead of failing alike forever. Several cuts: the estimate doubles.
 * One cut: it is split by a cut half way down (one more deepen request),
 * above the `stored` commits (deepenHistory). Undefined when it cannot be
 * smaller (a step of one commit).
 */
export async function smallerSegment(plan: SegmentPlan, git: GitClient, budget: number, through: number, stored: readonly string[]): Promise<SegmentPlan | undefined> {
  if (through > plan.done) return { ...plan, bytesPerCommit: Math.ceil((2 * budget) / commitsIn(plan, plan.done, through)) };
  const boundary = git.shallowBoundary?.bind(git);
  const span = plan.spans[through]!;
  // The oldest cut's span is an upper bound (the root, or the stored history, may be nearer): halve until a boundary is found above them.
  for (let half = Math.floor(span / 2); boundary && half >= 1; half = Math.floor(half / 2)) {
    const below = await boundary({ wants: plan.cuts[through]!, depth: half + 1, shallow: [...stored] });
    if (below === undefined) return undefined;
    if (below.unshallow.length > 0 || below.boundary.length === 0) continue;
    return {
      ...plan,
      cuts: [...plan.cuts.slice(0, through), below.boundary, ...plan.cuts.slice(through)],
      spans: [...plan.spans.slice(0, through), span - half, half, ...plan.spans.slice(through + 1)],
    };
  }
  return undefined;
}
