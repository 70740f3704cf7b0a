/**
 * Bitbucket's paged collections: `{ values, page, pagelen, size, next?, previous? }`
 * (the spec's narrative "Pagination"). `q=` and `sort=` apply to the JSON items
 * first ("Filter and sort API objects"); `next`/`previous` are absolute URLs on
 * the emulator that keep every other query parameter (list-based pagination,
 * `?page=N`; "The only contract around the next link is that it will return the
 * next chunk of results": that they keep the others is not documented, assumed;
 * faults.ts can drop `sort` and `fields`, as seen in the wild).
 */
import { BbqlError, parseBbql, sortItems } from './bbql.js';
import { RouteAnswer, type PageOptions, type RouteResponse } from './routes.js';
import { errorResponse } from './serialize.js';

/** "Globally, the minimum length is 10 and the maximum is 100" ("Pagination"); 10 is the default. Smaller pagelens are served, not refused (a client issue shows `pagelen=1` answered: MunifTanjim/node-bitbucket#10). */
const DEFAULT_PAGELEN = 10;
const MAX_PAGELEN = 100;

function positiveInteger(raw: string | null, name: string): number | undefined {
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new RouteAnswer(errorResponse(400, `Invalid ${name}: ${raw}`));
  return Number(raw);
}

/**
 * One page of `items` for the request URL `url`; `origin` is the emulator's
 * base URL. A pagelen above the maximum is lowered to it (the answer's
 * `pagelen` says so: not documented, assumed), or refused where Bitbucket refuses
 * it ("Invalid pagelen": ../shared/reference/bitbucket-api.md, "Paging"); a page
 * past the end is empty, and a bad `page`/`pagelen` or query a 400 (not documented:
 * assumed).
 */
export function paginate(url: URL, origin: string, items: unknown[], options: PageOptions = {}): RouteResponse {
  const maxPagelen = options.maxPagelen ?? MAX_PAGELEN;
  const asked = positiveInteger(url.searchParams.get('pagelen'), 'pagelen');
  if (asked !== undefined && asked > maxPagelen && options.refuseAboveMax) throw new RouteAnswer(errorResponse(400, 'Invalid pagelen', `pagelen must be between 1 and ${maxPagelen}.`));
  const pagelen = Math.min(asked ?? options.defaultPagelen ?? DEFAULT_PAGELEN, maxPagelen);
  const page = positiveInteger(url.searchParams.get('page'), 'page') ?? 1;

  let selected = items;
  try {
    const q = url.searchParams.get('q');
    if (q !== null && q.trim() !== '') selected = selected.filter(parseBbql(q));
    const sort = url.searchParams.get('sort');
    if (sort !== null && sort.trim() !== '') selected = sortItems(selected, sort);
  } catch (error) {
    if (error instanceof BbqlError) throw new RouteAnswer(errorResponse(400, `Invalid query: ${error.message}`, url.searchParams.get('q') ?? url.searchParams.get('sort') ?? undefined));
    throw error;
  }

  const start = (page - 1) * pagelen;
  const values = selected.slice(start, start + pagelen);
  const link = (target: number): string => {
    const next = new URL(url.pathname + url.search, origin);
    next.searchParams.set('page', String(target));
    return next.href;
  };
  // `size`, `page` and `previous` are optional in the spec; list-based pages carry them.
  const body: Record<string, unknown> = { values, pagelen, size: selected.length, page };
  if (start + pagelen < selected.length) body.next = link(page + 1);
  if (page > 1) body.previous = link(Math.min(page - 1, Math.max(1, Math.ceil(selected.length / pagelen))));
  return { status: 200, body };
}
