/**
 * Faults that tests switch on at runtime to see how the app copes with a
 * misbehaving Bitbucket. Every knob is a plain field: set it, and the emulator
 * consumes it as requests arrive. Each says whether Bitbucket documents the
 * behaviour, it was seen in the wild, or it is a what-if (not documented).
 */

export interface FaultKnobs {
  /** Added to every request, REST and git (a what-if: a slow network). */
  latencyMs: number;
  /** Added to every git fetch request (upload-pack: backups, clones) only: a slow fetch while REST and pages stay quick. */
  fetchLatencyMs: number;
  /** The next N requests (REST or git) answer `failStatus` instead (a what-if, as the outages in ../shared/reference/bitbucket-api.md). */
  failNext5xx: number;
  /** The status of those failures: 500 or 503. */
  failStatus: 500 | 503;
  /**
   * Arms a connection reset: the next git upload-pack response (POST) that
   * grows past this many bytes is cut there and its socket destroyed; then the
   * knob clears itself. Shorter responses (ls-refs) pass and leave it armed.
   * A what-if: a connection lost mid-pack.
   */
  resetPackAfterBytes?: number;
  /** The next N requests get 429, whatever their budget (documented: ../shared/reference/bitbucket-api.md "Rate limits"). */
  rateLimitStorm: number;
  /** The storm begins only after this many more requests went through: a storm in the middle of an export. */
  rateLimitStormAfter: number;
  /** When set, the storm (and its `rateLimitStormAfter`) counts only requests whose path contains this. */
  rateLimitStormPath?: string;
  /**
   * A push outage that begins right after a push: once `afterPushes` more pushes
   * (receive-pack POSTs) have arrived, the next `requests` receive-pack requests
   * (discovery or push, to any repository) answer `failStatus`, and the knob
   * clears itself. The push that starts it goes through, so a client is stopped
   * between two of its pushes; fetches (backups running meanwhile) are untouched.
   * A what-if.
   */
  pushOutage?: { afterPushes: number; requests: number };
  /**
   * Persistent failures of one pull request's part: every GET of
   * `…/pullrequests/{id}/{part}` answers `status` (with Bitbucket's error body)
   * until the entry is removed. For `diffstat` the repository diffstat its
   * redirect lands on (`from_pullrequest_id={id}`) fails too. Documented: the
   * spec's "Compare two commit diff stats" answers 555 "If generating the
   * diffstat timed out"; any other 5xx on one pull request: a what-if.
   */
  pullRequestPartFaults: Array<{ id: number; part: string; status: number }>;
  /**
   * Pull request listings answer pull request `id` with this id instead
   * (e.g. 0, -1, "7"). Not documented: the spec types `pullrequest.id` as an
   * integer "unique within their associated repository"; an id the app does not
   * expect is a what-if.
   */
  pullRequestIdAs?: { id: number; as: unknown };
  /**
   * `next` and `previous` links of listings whose path contains this lose their
   * `sort` and `fields` parameters. Seen in the wild: Bitbucket dropping them from
   * `next` on some endpoints (Atlassian community, 2025; ../shared/reference/
   * bitbucket-api.md, "Checked 2026-12-07").
   */
  pageLinksDropSortAndFields?: string;
  /**
   * LFS batch answers hand out the transfer hrefs of this oid (every oid when
   * `oid` is absent) on `origin` instead of the media stand-in: Bitbucket moving
   * its media host to one the app does not declare (a what-if).
   */
  lfsHrefOrigin?: { origin: string; oid?: string };
}

export function createFaultKnobs(): FaultKnobs {
  return { latencyMs: 0, fetchLatencyMs: 0, failNext5xx: 0, failStatus: 500, rateLimitStorm: 0, rateLimitStormAfter: 0, pullRequestPartFaults: [] };
}

/** The status a knob of `pullRequestPartFaults` makes this REST GET answer, if any. */
export function takePartFault(knobs: FaultKnobs, method: string, url: URL): number | undefined {
  if (method !== 'GET' || knobs.pullRequestPartFaults.length === 0) return undefined;
  const own = /\/pullrequests\/(\d+)\/([a-z_-]+)$/.exec(url.pathname.replace(/\/+$/, ''));
  const fromPullRequest = /\/diffstat\//.test(url.pathname) ? url.searchParams.get('from_pullrequest_id') : null;
  const id = own ? Number(own[1]) : fromPullRequest === null ? undefined : Number(fromPullRequest);
  const part = own ? own[2] : 'diffstat';
  return knobs.pullRequestPartFaults.find((fault) => fault.id === id && fault.part === part)?.status;
}

/** A listing's answer as the knobs change it: pull request ids served as others, `sort` and `fields` dropped from page links. */
export function applyListingFaults(knobs: FaultKnobs, url: URL, body: unknown): unknown {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { values?: unknown }).values)) return body;
  let page = body as { values: unknown[]; next?: unknown; previous?: unknown };
  const rename = knobs.pullRequestIdAs;
  if (rename && url.pathname.endsWith('/pullrequests')) {
    page = { ...page, values: page.values.map((value) => ((value as { id?: unknown }).id === rename.id ? { ...(value as object), id: rename.as } : value)) };
  }
  const dropIn = knobs.pageLinksDropSortAndFields;
  if (dropIn !== undefined && url.pathname.includes(dropIn)) {
    const drop = (link: unknown): unknown => {
      if (typeof link !== 'string') return link;
      const trimmed = new URL(link);
      trimmed.searchParams.delete('sort');
      trimmed.searchParams.delete('fields');
      return trimmed.href;
    };
    page = { ...page, ...(page.next === undefined ? {} : { next: drop(page.next) }), ...(page.previous === undefined ? {} : { previous: drop(page.previous) }) };
  }
  return page;
}

/** What an arriving request must suffer, consuming the one-shot knobs. */
export function takeFault(knobs: FaultKnobs, path = ''): { kind: 'fail'; status: 500 | 503 } | { kind: 'storm' } | undefined {
  if (knobs.rateLimitStorm > 0 && (knobs.rateLimitStormPath === undefined || path.includes(knobs.rateLimitStormPath))) {
    if (knobs.rateLimitStormAfter > 0) knobs.rateLimitStormAfter--;
    else {
      knobs.rateLimitStorm--;
      return { kind: 'storm' };
    }
  }
  if (knobs.failNext5xx > 0) {
    knobs.failNext5xx--;
    return { kind: 'fail', status: knobs.failStatus };
  }
  return undefined;
}

/** For an arriving receive-pack request (`isPush`: the POST): whether the push outage fails it. */
export function takePushFault(knobs: FaultKnobs, isPush: boolean): boolean {
  const outage = knobs.pushOutage;
  if (!outage) return false;
  if (outage.afterPushes > 0) {
    if (isPush) knobs.pushOutage = { ...outage, afterPushes: outage.afterPushes - 1 };
    return false;
  }
  knobs.pushOutage = outage.requests > 1 ? { ...outage, requests: outage.requests - 1 } : undefined;
  return true;
}
