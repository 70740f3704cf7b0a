/**
 * Smart HTTP transport (gitprotocol-http): discovery is `GET $GIT_URL/info/refs?service=<service>`,
 * requests are `POST $GIT_URL/<service>`. Failures become LifeboatErrors a user can act on;
 * passwords never appear in messages.
 */
import { LifeboatError, cancelled, isLifeboatError } from '../errors.js';
import { fromWebStream, toWebStream, within, type ByteStream, type IdleTimeout } from '../streams.js';
import type { GitCredentials, HttpFetch, HttpRequestInit, HttpResponse } from './types.js';

export type GitService = 'git-upload-pack' | 'git-receive-pack';

export const DEFAULT_USER_AGENT = 'git/2.0 (lifeboat)';
/** Our `agent=` capability value ("agent-string: printable ASCII without space"). */
export const AGENT = 'lifeboat';

/** git sends progress or keep-alives every few seconds while it prepares a pack: a minute of silence is a stall. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface GitHttpOptions {
  url: string;
  credentials?: GitCredentials;
  fetch?: HttpFetch;
  userAgent?: string;
  signal?: AbortSignal;
  /** How long the server may send nothing while an answer is awaited; default 60 s. */
  idleTimeoutMs?: number;
}

/** The URL as given minus credentials and trailing slashes; credentials from the URL unless given explicitly. */
export function parseRemoteUrl(url: string, credentials?: GitCredentials): { url: string; credentials?: GitCredentials } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Everything up to the last '@' may be credentials (a password may hold '/'): never echo it.
    throw new LifeboatError('INVALID_ARGUMENT', `Not a repository URL: ${JSON.stringify(url.replace(/\/\/.*@/, '//'))}.`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new LifeboatError('INVALID_ARGUMENT', `Only http(s) repository URLs are supported, not ${parsed.protocol}.`);
  }
  const fromUrl = parsed.username === ''
    ? undefined
    : { username: decodeUserInfo(parsed.username), password: decodeUserInfo(parsed.password) };
  parsed.username = '';
  parsed.password = '';
  const chosen = credentials ?? fromUrl;
  return { url: parsed.href.replace(/\/+$/, ''), ...(chosen ? { credentials: chosen } : {}) };
}

/** A literal '%' that is no escape (a password like "100%") stays as typed. */
function decodeUserInfo(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** "$GIT_URL/info/refs?service=<service>" */
export function infoRefsUrl(url: string, service: GitService): string {
  return `${url}/info/refs?service=${service}`;
}

/** "$GIT_URL/<service>" */
export function serviceUrl(url: string, service: GitService): string {
  return `${url}/${service}`;
}

/** RFC 7617: "Basic " + base64(user-id ":" password). */
export function basicAuth({ username, password }: GitCredentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Maps a non-2xx answer to the error a user can act on. */
export function statusError(status: number, statusText: string | undefined, context: {
  url: string;
  service: GitService;
  username: string | undefined;
}): LifeboatError {
  const { url, service, username } = context;
  const details = { status, url, ...(username === undefined ? {} : { username }) };
  const access = service === 'git-receive-pack' ? 'write' : 'read';
  if (status === 401) {
    const message = username === undefined
      ? `The git server requires credentials for ${url} and none were given (HTTP 401).`
      : `The git server refused the credentials for user "${username}" at ${url} (HTTP 401).`;
    return new LifeboatError('GIT_AUTH_REQUIRED', message, { details });
  }
  if (status === 403) {
    const who = username === undefined ? 'Anonymous access' : `The credentials of user "${username}"`;
    return new LifeboatError('GIT_FORBIDDEN', `${who} may not ${access} ${url} (HTTP 403): the credential needs ${access} access to the repository.`, { details });
  }
  if (status === 404) {
    return new LifeboatError('GIT_NOT_A_REPOSITORY', `No git repository at ${url} (HTTP 404). Check the URL, and for a private repository that the credentials may ${access} it.`, { details });
  }
  const text = statusText ? ` ${statusText}` : '';
  // 5xx (and 429) pass: retry later. Other answers will not change by themselves.
  const code = status >= 500 || status === 429 ? 'GIT_SERVER_BUSY' : 'GIT_HTTP';
  return new LifeboatError(code, `The git server at ${url} answered HTTP ${status}${text} to ${service}.`, { details });
}

function findLifeboatError(error: unknown): LifeboatError | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (isLifeboatError(current)) return current;
  }
  return undefined;
}

/** The innermost cause, which names what actually failed (ECONNREFUSED, ENOTFOUND, ...). */
function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  return current;
}

/** Maps a failure of the connection (before or during a body) to a LifeboatError. */
export function transportError(error: unknown, url: string): LifeboatError {
  // Our own error from a request body stream (e.g. a corrupt pack being pushed) comes back wrapped.
  const own = findLifeboatError(error);
  if (own) return own;
  const root = rootCause(error);
  const name = error instanceof Error ? error.name : '';
  if (name === 'AbortError') return cancelled(error);
  if (name === 'TimeoutError') return new LifeboatError('GIT_TIMEOUT', `The git server at ${url} did not answer in time.`, { cause: error });
  const reason = root instanceof Error ? root.message : String(root);
  return new LifeboatError('GIT_UNREACHABLE', `Could not reach the git server at ${url}: ${reason}.`, { cause: error });
}

/**
 * Node's fetch with git's default redirect rule (http.followRedirects=initial: the
 * discovery GET follows redirects, requests do not). Following would also make
 * undici tee a streamed body to replay it, holding the whole pack in memory.
 */
const nodeFetch: HttpFetch = async (url, init) => {
  try {
    return await fetch(url, { ...init, redirect: init.method !== 'GET' ? 'error' : init.redirect ?? 'follow' });
  } catch (error) {
    const root = rootCause(error);
    if (root instanceof Error && root.message === 'unexpected redirect') {
      throw new LifeboatError('GIT_HTTP', `The git server redirected ${url} elsewhere: use the repository's current URL.`, { cause: error });
    }
    throw error;
  }
};

function mediaType(response: HttpResponse): string {
  return (response.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** A response body whose network failures and stalls surface as LifeboatErrors. */
async function* body(response: HttpResponse, url: string, idle: IdleTimeout): ByteStream {
  if (response.body === null) return;
  try {
    yield* fromWebStream(response.body, idle);
  } catch (error) {
    throw transportError(error, url);
  }
}

/** The stream, and a promise that resolves once it has been read to its end. */
function whenSent(stream: ByteStream): { stream: ByteStream; sent: Promise<void> } {
  let done: () => void = () => undefined;
  const sent = new Promise<void>((resolve) => { done = resolve; });
  async function* watched(): ByteStream {
    yield* stream;
    done();
  }
  return { stream: watched(), sent };
}

export class GitHttp {
  readonly url: string;
  private readonly credentials: GitCredentials | undefined;
  private readonly fetch: HttpFetch;
  private readonly userAgent: string;
  private readonly signal: AbortSignal | undefined;
  private readonly idle: IdleTimeout;

  constructor(options: GitHttpOptions) {
    const remote = parseRemoteUrl(options.url, options.credentials);
    this.url = remote.url;
    this.credentials = remote.credentials;
    this.fetch = options.fetch ?? nodeFetch;
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.signal = options.signal;
    const ms = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (!Number.isFinite(ms) || ms <= 0) throw new LifeboatError('INVALID_ARGUMENT', `The git idle timeout must be a positive number of milliseconds, not ${ms}.`);
    const url = this.url;
    this.idle = {
      ms,
      error: () => new LifeboatError('GIT_TIMEOUT', `The git server at ${url} sent nothing for ${ms / 1000} s, so Lifeboat stopped waiting; try again later.`, {
        details: { url, idleTimeoutMs: ms },
      }),
    };
  }

  /** Discovery: the service's advertisement ("Content-Type must be application/x-$servicename-advertisement"). */
  async advertisement(service: GitService, protocolV2: boolean): Promise<ByteStream> {
    const response = await this.send(infoRefsUrl(this.url, service), service, {
      method: 'GET',
      headers: { ...this.headers(protocolV2), 'Cache-Control': 'no-cache' },
    }, this.idle);
    const type = mediaType(response);
    if (type !== `application/x-${service}-advertisement`) {
      await response.body?.cancel().catch(() => undefined);
      throw new LifeboatError('GIT_NOT_A_REPOSITORY', `${this.url} is not a git repository URL: its server answered with ${type || 'no content type'} instead of a git smart-HTTP advertisement.`, { details: { url: this.url, contentType: type } });
    }
    return body(response, this.url, this.idle);
  }

  /** A stateless request: "POST $GIT_URL/<service>" with an application/x-<service>-request body. */
  async request(service: GitService, requestBody: Uint8Array | ByteStream, protocolV2: boolean): Promise<ByteStream> {
    // A server may answer the headers at once and then, rightly, nothing until it has the whole
    // request (a pack being pushed, however long its upload takes): the idle clock starts after it.
    let idle = this.idle;
    let sendBody: Pick<HttpRequestInit, 'body' | 'duplex'>;
    if (requestBody instanceof Uint8Array) {
      sendBody = { body: requestBody };
    } else {
      const { stream, sent } = whenSent(requestBody);
      idle = { ...idle, after: sent };
      sendBody = { body: toWebStream(stream), duplex: 'half' };
    }
    const response = await this.send(serviceUrl(this.url, service), service, {
      method: 'POST',
      headers: {
        ...this.headers(protocolV2),
        'Content-Type': `application/x-${service}-request`,
        Accept: `application/x-${service}-result`,
      },
      ...sendBody,
    }, idle);
    const type = mediaType(response);
    if (type !== `application/x-${service}-result`) {
      await response.body?.cancel().catch(() => undefined);
      throw new LifeboatError('GIT_PROTOCOL', `The git server at ${this.url} answered ${service} with ${type || 'no content type'} instead of application/x-${service}-result.`);
    }
    return body(response, this.url, idle);
  }

  /**
   * Any other request on the repository's behalf (the LFS API, its transfers). The
   * repository's credentials go only to its own origin, and only when `headers`
   * carry no Authorization of their own; the answer is returned whatever its status.
   */
  async exchange(url: string, init: { method: 'GET' | 'POST' | 'PUT'; headers: Record<string, string>; body?: Uint8Array | ByteStream; redirect?: 'manual' }): Promise<{ response: HttpResponse; body: ByteStream }> {
    let idle = this.idle;
    let sendBody: Pick<HttpRequestInit, 'body' | 'duplex'> = {};
    if (init.body instanceof Uint8Array) sendBody = { body: init.body };
    else if (init.body) {
      const { stream, sent } = whenSent(init.body);
      idle = { ...idle, after: sent };
      sendBody = { body: toWebStream(stream), duplex: 'half' };
    }
    const own = new URL(url).origin === new URL(this.url).origin;
    const given = Object.keys(init.headers).some((name) => name.toLowerCase() === 'authorization');
    const headers = { 'User-Agent': this.userAgent, ...(own && !given && this.credentials ? { Authorization: basicAuth(this.credentials) } : {}), ...init.headers };
    const response = await this.send(url, undefined, { method: init.method, headers, ...sendBody, ...(init.redirect ? { redirect: init.redirect } : {}) }, idle);
    return { response, body: body(response, this.url, idle) };
  }

  /** The user name of the credentials, for messages. */
  get username(): string | undefined {
    return this.credentials?.username;
  }

  private headers(protocolV2: boolean): Record<string, string> {
    return {
      'User-Agent': this.userAgent,
      ...(this.credentials ? { Authorization: basicAuth(this.credentials) } : {}),
      // "Clients may send Extra Parameters ... as a colon-separated string in the Git-Protocol HTTP header."
      ...(protocolV2 ? { 'Git-Protocol': 'version=2' } : {}),
    };
  }

  /** Waits for the answer's headers at most the idle timeout; a non-2xx answer to a git service becomes its error. */
  private async send(url: string, service: GitService | undefined, init: Omit<HttpRequestInit, 'signal'>, idle: IdleTimeout): Promise<HttpResponse> {
    const stalled = new AbortController();
    const signal = this.signal ? AbortSignal.any([this.signal, stalled.signal]) : stalled.signal;
    let response: HttpResponse;
    try {
      response = await within(this.fetch(url, { ...init, signal }), idle, (error) => stalled.abort(error));
    } catch (error) {
      throw transportError(error, this.url);
    }
    if (service && (response.status < 200 || response.status > 299)) {
      await response.body?.cancel().catch(() => undefined);
      throw statusError(response.status, response.statusText, { url: this.url, service, username: this.credentials?.username });
    }
    return response;
  }
}
