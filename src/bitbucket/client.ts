/**
 * Bitbucket Cloud REST API 2.0, over whatever transport the edge provides:
 * Forge's `requestBitbucket` (as the app or as the user) inside the app, a
 * token-authenticated fetch elsewhere. Paging follows `next` as Bitbucket
 * asks (never building page URLs) and stops on an empty page too, because some
 * endpoints answer a last page with a bogus `next`. A `next` link that lost the
 * request's `sort` or `fields` (Bitbucket was seen dropping them on some
 * endpoints: Atlassian community, 2025) gets them back: without them the next
 * page would come in another order, or with other fields.
 */
import { LifeboatError, type ErrorCode } from '../engine/errors.js';

/** The subset of a fetch Response the client reads (Forge's requestBitbucket returns one). */
export interface BitbucketResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** `path` starts with /2.0/ and is already encoded (see `apiPath`). */
export type BitbucketTransport = (path: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<BitbucketResponse>;

/**
 * Fetch with a stored credential (`authorization`), for the calls Bitbucket takes from tokens
 * but not from a Forge app. Every request goes to `apiOrigin`, whatever the path holds.
 */
export function tokenTransport(apiOrigin: string, authorization: string): BitbucketTransport {
  const origin = new URL(apiOrigin).origin;
  // Appended, not resolved: `new URL('//host/…', origin)` would be another host.
  return (path, init) => fetch(new URL(origin + path), { ...init, headers: { ...init?.headers, authorization } });
}

export interface Page<T> {
  values?: T[];
  next?: string;
}

/** Builds an API path with every parameter encoded, like Forge's `route` tag. */
export function apiPath(strings: TemplateStringsArray, ...parameters: Array<string | number>): string {
  return strings.reduce((path, part, index) => path + part + (index < parameters.length ? encodeURIComponent(String(parameters[index])) : ''), '');
}

/**
 * Sees every request a client sends: `before` may refuse one (throw, e.g. when
 * a request budget is spent), `after` reads the answer's rate-limit headers.
 */
export interface RequestMeter {
  before(path: string): Promise<void>;
  after(response: BitbucketResponse): Promise<void>;
}

export class BitbucketClient {
  constructor(private readonly transport: BitbucketTransport, private readonly meter?: RequestMeter) {}

  async get<T>(path: string): Promise<T> {
    return this.send<T>('GET', path);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('POST', path, body);
  }

  async put<T>(path: string, body: unknown): Promise<T> {
    return this.send<T>('PUT', path, body);
  }

  async delete(path: string): Promise<void> {
    await this.send<unknown>('DELETE', path);
  }

  /** Every item of a paged collection, page by page; stop early by breaking out of the loop. */
  async *paginate<T>(path: string): AsyncGenerator<T> {
    let next: string | undefined = path;
    while (next !== undefined) {
      const page: { values: T[]; next?: string } = await this.page<T>(next);
      yield* page.values;
      next = page.next;
    }
  }

  /** One page, with the path of the next one (for work that continues in a later invocation). */
  async page<T>(path: string): Promise<{ values: T[]; next?: string }> {
    const page = await this.get<Page<T>>(path);
    const values = page.values ?? [];
    return { values, ...(values.length > 0 && page.next ? { next: nextPath(path, page.next) } : {}) };
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    // Every API path starts so; one that does not (a `next` link's `//host/…`) could name another host to a transport.
    if (!path.startsWith('/2.0/')) throw new LifeboatError('BITBUCKET_HTTP', `Bitbucket gave a link outside its API (${method}).`);
    await this.meter?.before(path);
    const response = await this.transport(path, {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await this.meter?.after(response);
    const text = await response.text();
    if (response.status >= 200 && response.status < 300) return (text ? JSON.parse(text) : undefined) as T;
    throw responseError(method, path, response, text);
  }
}

const API_ORIGIN = 'https://api.bitbucket.org';
/** Parameters a `next` link must keep for the next page to continue the one asked for (see the module comment). */
const KEPT_PARAMETERS = ['sort', 'fields'] as const;

/** `next` is an absolute URL on the API host; the transport takes paths. Parameters of `KEPT_PARAMETERS` it lost come from the request. */
function nextPath(requested: string, next: string): string {
  const url = new URL(next, API_ORIGIN);
  const asked = new URL(requested, API_ORIGIN).searchParams;
  for (const name of KEPT_PARAMETERS) {
    if (url.searchParams.has(name)) continue;
    for (const value of asked.getAll(name)) url.searchParams.append(name, value);
  }
  return url.pathname + url.search;
}

function responseError(method: string, path: string, response: BitbucketResponse, text: string): LifeboatError {
  let detail: string;
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    detail = body.error?.message ?? '';
  } catch {
    detail = text.slice(0, 200);
  }
  const where = `${method} ${path.split('?')[0]}`;
  const status = response.status;
  const [code, message]: [ErrorCode, string] =
    status === 401 ? ['BITBUCKET_AUTH_REQUIRED', 'Bitbucket did not accept the credential']
      : status === 403 ? ['BITBUCKET_FORBIDDEN', 'Bitbucket refused access']
        : status === 404 ? ['BITBUCKET_NOT_FOUND', 'Bitbucket has no such resource (or hides it from this credential)']
          : status === 429 ? ['BITBUCKET_RATE_LIMITED', 'Bitbucket rate limit reached; the hourly budget refills gradually']
            : status >= 500 ? ['BITBUCKET_UNAVAILABLE', `Bitbucket answered ${status}`]
              : ['BITBUCKET_HTTP', `Bitbucket answered ${status}`];
  const retryAfter = Number(response.headers.get('retry-after'));
  return new LifeboatError(code, `${message}${detail ? `: ${detail}` : ''} (${where}).`, {
    details: { status, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}) },
  });
}
