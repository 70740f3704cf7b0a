/**
 * The emulator's HTTP front: one server on 127.0.0.1 for REST (`/2.0/...`) and
 * git (`/<workspace>/<repo>.git/...`). In order, a request meets: the fault
 * knobs (latency, 429 storms, 5xx), authentication, its credential's rolling
 * rate budget, the route, the operation's accepted credential kinds and scopes
 * (from the OpenAPI spec: each operation's `x-atlassian-auth-types` and
 * `x-atlassian-oauth2-scopes`), and finally its handler; `fields=` trims the
 * answer. A handler that throws gets a 500 with Bitbucket's error body and a log
 * line; the process never goes down with it. The wording of the emulator's own
 * refusals (unknown path, wrong method, missing scope, wrong credential kind) is
 * not documented: assumed, with the spec's status codes where it gives them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  WWW_AUTHENTICATE, atLeast, authenticateGit, authenticateRest, credentialKey, describePrincipal, expandScopes, missingScopes, repositoryPermission,
  type ForgeIdentity,
} from './auth.js';
import { applyListingFaults, takeFault, takePartFault, takePushFault, type FaultKnobs } from './faults.js';
import { applyFields } from './fields.js';
import { type MediaStandIn, handleLfs, isLfsPath } from './lfs.js';
import { directorySize, parseGitPath, pushChanges, readRefs, repositoryGitDir, runHttpBackend, type BackendResult } from './git.js';
import { sizeLabel, type GitLimits } from './limits.js';
import { eventActor, type CommitPush, type TagPush } from './events.js';
import type { EmulatorState, Repository } from './model.js';
import { RATE_LIMITED_BODY, rateLimitHeaders, type RateLimiter } from './ratelimit.js';
import { RouteAnswer, type Principal, type RouteHandler, type RouteKit, type RouteRegistry, type RouteRequest, type RouteResponse } from './routes.js';
import { errorResponse } from './serialize.js';
import { compareSpecificity, compileTemplate, findOperation, matchPath, type SpecOperation, type TemplateMatcher } from './spec.js';

interface Route extends TemplateMatcher {
  method: string;
  handler: RouteHandler;
  operation: SpecOperation | undefined;
}

export type RouteMatch = { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined;

/** The routes of the core and the resource modules, matched most specific first. */
export class Router implements RouteRegistry {
  private readonly routes: Route[] = [];

  constructor(private readonly warn: (line: string) => void) {}

  add(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: RouteHandler): void {
    if (!path.startsWith('/2.0/')) throw new Error(`route ${method} ${path}: paths start with /2.0/`);
    if (this.routes.some((route) => route.method === method && route.template === path)) throw new Error(`route ${method} ${path} is registered twice`);
    const found = findOperation(method, path);
    const operation = found?.template === path ? found : undefined;
    // Without an operation the route still works, but no credential kind or scope is checked for it.
    if (!operation) this.warn(`[bitbucket] route ${method} ${path} is not an operation of the OpenAPI spec`);
    this.routes.push({ ...compileTemplate(path), method, handler, operation });
    this.routes.sort(compareSpecificity);
  }

  match(method: string, pathname: string): RouteMatch {
    const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchPath(route, path);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}

/** One request as the emulator answered it. */
export interface RequestRecord {
  method: string;
  /** Path and query, as sent. */
  path: string;
  status: number;
  rest: boolean;
  /** From arrival until the answer was sent (a throttled git transfer included). */
  ms: number;
}

export interface LfsBatchLog {
  repository: string;
  operation: string;
  oids: string[];
}

export interface ServerDeps {
  state(): EmulatorState;
  router: Router;
  kit: RouteKit;
  forge: ForgeIdentity;
  appScopes: readonly string[];
  faults: FaultKnobs;
  /** Bitbucket's limits on git transfers, read as each request arrives. */
  gitLimits: GitLimits;
  apiLimiter: RateLimiter;
  gitLimiter: RateLimiter;
  gitRoot: string;
  /** Where LFS transfers go: the stand-in for Atlassian's media host. */
  media: MediaStandIn;
  origin(): string;
  /** After a push changed refs of a repository. */
  onPush(repository: Repository, principal: Principal, changes: Array<CommitPush | TagPush>): Promise<void>;
  /** Every request handled, for tests and benchmarks that count calls. */
  onRequest?: (record: RequestRecord) => void;
  /** After each LFS batch request (what tests count). */
  onLfsBatch?: (batch: LfsBatchLog) => void;
  /** Request lines, when debugging. */
  debug?: (line: string) => void;
  /** Errors: always. */
  log(line: string): void;
}

const HOOKS_DIR = fileURLToPath(new URL('./hooks', import.meta.url));

/**
 * What receive-pack is given to enforce Bitbucket's push limits (limits.ts): git's own `receive.maxInputSize` for the
 * pack, whose refusal is the very "remote: fatal: pack exceeds maximum allowed size" Bitbucket documents; the
 * emulator's pre-receive hook (hooks/pre-receive) for the file size limit and the repository lock.
 */
function pushLimits(limits: GitLimits, repository: Repository, gitDir: string): { config: Record<string, string>; env: Record<string, string> } {
  // Every variable set, empty for "off": the hook must not see a value from the shell that started the emulator.
  const env: Record<string, string> = { LIFEBOAT_REPO_LOCKED: '', LIFEBOAT_FILE_MAX_BYTES: '', LIFEBOAT_FILE_MAX_LABEL: '' };
  // The repository's size as its REST `size` reports it, measured before the push (under the push lock).
  if (directorySize(gitDir) > limits.repositoryMaxBytes) env.LIFEBOAT_REPO_LOCKED = sizeLabel(limits.repositoryMaxBytes);
  if (!repository.fileSizeLimitDisabled) {
    env.LIFEBOAT_FILE_MAX_BYTES = String(Math.floor(limits.fileMaxBytes));
    env.LIFEBOAT_FILE_MAX_LABEL = sizeLabel(limits.fileMaxBytes);
  }
  return { config: { 'receive.maxInputSize': String(Math.floor(limits.pushMaxBytes)), 'core.hooksPath': HOOKS_DIR }, env };
}

/** Bitbucket's answer to an unknown API path (not documented: assumed). */
const NOT_FOUND_DETAIL = 'There is no API hosted at this URL.\n\nFor information about our API\'s, please refer to the documentation at: https://developer.atlassian.com/bitbucket/api/2/reference/';

function sendJson(res: ServerResponse, response: RouteResponse, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { ...extraHeaders, ...response.headers };
  if (response.status === 401) headers['WWW-Authenticate'] ??= WWW_AUTHENTICATE;
  if (response.body !== undefined && response.status !== 204) {
    const text = JSON.stringify(response.body);
    res.writeHead(response.status, { 'Content-Type': 'application/json; charset=utf-8', ...headers, 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
  } else {
    res.writeHead(response.status, headers).end();
  }
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);
}

/** A request body read once, on demand. */
function bodyReader(req: IncomingMessage): () => Promise<Buffer> {
  let body: Promise<Buffer> | undefined;
  return () => {
    body ??= (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    })();
    return body;
  };
}

export class EmulatorServer {
  /** Per bare repository: the receive-pack under way, so that ref snapshots around a push do not interleave. */
  private readonly pushLocks = new Map<string, Promise<unknown>>();

  /** Requests being handled, including work after the answer (a push's events). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: ServerDeps) {}

  /** Resolves when every request that has arrived so far is completely done. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** The whole request, never rejecting: errors become 500s. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const work = this.process(req, res);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
    return work;
  }

  private async process(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', this.deps.origin());
    } catch {
      req.resume();
      sendText(res, 400, 'Bad request');
      return;
    }
    try {
      if (this.deps.faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.deps.faults.latencyMs));
      const rest = url.pathname === '/2.0' || url.pathname.startsWith('/2.0/');
      const fault = takeFault(this.deps.faults, url.pathname);
      if (fault) {
        req.resume();
        const headers = rateLimitHeaders({ limit: (rest ? this.deps.apiLimiter : this.deps.gitLimiter).limit, nearLimit: true }, rest ? 'api' : 'git');
        if (fault.kind === 'storm') {
          if (rest) sendJson(res, { status: 429, body: RATE_LIMITED_BODY }, headers);
          else sendText(res, 429, RATE_LIMITED_BODY.error.message, headers);
        } else if (rest) {
          sendJson(res, errorResponse(fault.status, fault.status === 503 ? 'Service unavailable' : 'Something went wrong'));
        } else {
          sendText(res, fault.status, fault.status === 503 ? 'Service unavailable' : 'Internal server error');
        }
      } else if (rest) {
        await this.rest(req, res, url);
      } else {
        const gitPath = parseGitPath(url.pathname, url.searchParams);
        if (gitPath) await this.git(req, res, url, gitPath);
        else {
          req.resume();
          sendText(res, 404, 'Not found');
        }
      }
    } catch (error) {
      this.deps.log(`[bitbucket] ${req.method} ${url.pathname} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      if (!res.headersSent) sendJson(res, errorResponse(500, 'Something went wrong', error instanceof Error ? error.message : String(error)));
      else res.destroy();
    } finally {
      this.deps.onRequest?.({ method: req.method ?? 'GET', path: url.pathname + url.search, status: res.statusCode, rest: url.pathname === '/2.0' || url.pathname.startsWith('/2.0/'), ms: Date.now() - started });
      this.deps.debug?.(`[bitbucket] ${req.method} ${url.pathname}${url.search} → ${res.statusCode} (${Date.now() - started} ms)`);
    }
  }

  private async rest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const authentication = authenticateRest(req.headers.authorization, this.deps.state(), this.deps.forge, this.deps.appScopes);
    if (!authentication.ok) {
      req.resume();
      sendJson(res, errorResponse(401, 'Invalid credentials', authentication.reason));
      return;
    }
    const principal = authentication.principal;
    const decision = this.deps.apiLimiter.take(credentialKey(principal));
    const headers = rateLimitHeaders(decision, 'api');
    const reply = (response: RouteResponse): void => {
      req.resume();
      sendJson(res, response, headers);
    };
    if (!decision.allowed) return reply({ status: 429, body: RATE_LIMITED_BODY });

    const match = this.deps.router.match(method, url.pathname);
    if (!match) return reply(errorResponse(404, 'Resource not found', NOT_FOUND_DETAIL));
    if ('allowed' in match) {
      // 405 with Allow (HTTP's own rule; Bitbucket's answer here is not documented: assumed).
      headers.Allow = match.allowed.join(', ');
      return reply(errorResponse(405, `Method ${method} not allowed`));
    }
    const refusal = this.refuse(principal, match.route.operation);
    if (refusal) return reply(refusal);
    const failing = takePartFault(this.deps.faults, method, url);
    // 555: the spec's "If generating the diffstat timed out" (its error body's wording is not documented: assumed).
    if (failing !== undefined) return reply(errorResponse(failing, failing === 555 ? 'Generating the diffstat timed out.' : 'Something went wrong'));

    const bytes = bodyReader(req);
    const request: RouteRequest = {
      method,
      url,
      params: match.params,
      principal,
      async json() {
        const text = (await bytes()).toString('utf8');
        try {
          return text.trim() === '' ? undefined : JSON.parse(text);
        } catch {
          throw new RouteAnswer(errorResponse(400, 'Bad request', 'The request body is not valid JSON.'));
        }
      },
    };
    let response: RouteResponse;
    try {
      response = await match.route.handler(request, this.deps.kit);
    } catch (error) {
      if (!(error instanceof RouteAnswer)) throw error;
      response = error.response;
    }
    if (response.status === 200) response = { ...response, body: applyListingFaults(this.deps.faults, url, response.body) };
    const fields = url.searchParams.get('fields');
    if (fields !== null && response.status < 300 && response.body !== undefined) {
      response = { ...response, body: applyFields(response.body, fields) };
    }
    reply(response);
  }

  /**
   * Why a credential may not call an operation at all (kind or scopes), or undefined: the operation's
   * `x-atlassian-auth-types` (forge-oauth2, api-token) and its scopes (Forge scopes for the app, token scopes for
   * access tokens, with Bitbucket's implied scopes, auth.ts). 403 for both (not documented: assumed).
   */
  private refuse(principal: Principal, operation: SpecOperation | undefined): RouteResponse | undefined {
    if (!operation) return undefined;
    const lacking = (required: string[], missing: string[]): RouteResponse =>
      errorResponse(403, 'Your credentials lack one or more required privilege scopes.', `Required: ${required.join(', ')}. Missing: ${missing.join(', ')}.`);
    switch (principal.kind) {
      case 'forge-app': {
        if (!operation.authTypes.includes('forge-oauth2')) {
          return errorResponse(403, 'Forge apps cannot use this API.', `${operation.method} ${operation.template} accepts ${operation.authTypes.join(', ') || 'no'} credentials, not the Forge app identity.`);
        }
        const missing = operation.forgeScopes.filter((scope) => !principal.scopes.includes(scope));
        return missing.length > 0 ? lacking(operation.forgeScopes, missing) : undefined;
      }
      case 'access-token': {
        const missing = missingScopes(principal.scopes, operation.tokenScopes);
        return missing.length > 0 ? lacking(operation.tokenScopes, missing) : undefined;
      }
      case 'api-token':
        return operation.authTypes.length > 0 && !operation.authTypes.includes('api-token') ? errorResponse(403, 'API tokens cannot use this API.') : undefined;
      case 'anonymous':
        return undefined;
    }
  }

  private async git(req: IncomingMessage, res: ServerResponse, url: URL, path: NonNullable<ReturnType<typeof parseGitPath>>): Promise<void> {
    const state = this.deps.state();
    const authentication = authenticateGit(req.headers.authorization, state);
    if (!authentication.ok) {
      req.resume();
      sendText(res, 401, `Invalid credentials (${authentication.reason})`, { 'WWW-Authenticate': WWW_AUTHENTICATE });
      return;
    }
    const principal = authentication.principal;
    const decision = this.deps.gitLimiter.take(credentialKey(principal));
    const headers = rateLimitHeaders(decision, 'git');
    if (!decision.allowed) {
      req.resume();
      sendText(res, 429, RATE_LIMITED_BODY.error.message, headers);
      return;
    }
    const deny = (status: number, text: string): void => {
      req.resume();
      sendText(res, status, text, status === 401 ? { ...headers, 'WWW-Authenticate': WWW_AUTHENTICATE } : headers);
    };

    const workspace = state.workspaces.find((candidate) => candidate.slug === path.workspace.toLowerCase());
    const repository = workspace && state.repositories.find((candidate) => candidate.workspaceUuid === workspace.uuid && candidate.slug === path.repository.toLowerCase());
    if (!workspace || !repository) return deny(404, 'Repository not found');

    // Git takes the same credentials as REST; clone needs read, push `write:repository` (`repository:write` on an
    // access token): ../shared/reference/bitbucket-api.md "Credentials". 401 for no or anonymous credentials, 403 for
    // too little access, 404 for no such repository (statuses: not documented, assumed as git servers answer).
    const writing = path.service === 'git-receive-pack';
    const permission = repositoryPermission(state, principal, repository);
    if (principal.kind === 'anonymous' && (permission === undefined || writing)) return deny(401, 'Authentication required');
    if (permission === undefined) return deny(403, `Access denied: ${describePrincipal(principal)} cannot read ${workspace.slug}/${repository.slug}`);
    if (principal.kind === 'access-token') {
      const scopes = expandScopes(principal.scopes);
      if (!scopes.has(writing ? 'repository:write' : 'repository')) return deny(403, `Access denied: the access token lacks the ${writing ? 'repository:write' : 'repository'} scope`);
    }
    if (writing && !atLeast(permission, 'write')) return deny(403, `Access denied: ${describePrincipal(principal)} cannot write to ${workspace.slug}/${repository.slug}`);
    if (isLfsPath(path.rest)) {
      // The LFS batch API takes the git credentials (the reference's "LFS objects" row); writing (uploads) needs write
      // access, as a push does (not documented: assumed). Transfers go to the media stand-in (lfs.ts).
      const canWrite = atLeast(permission, 'write') && (principal.kind !== 'access-token' || expandScopes(principal.scopes).has('repository:write'));
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      const gitDir = repositoryGitDir(this.deps.gitRoot, workspace.slug, repository.slug);
      const elsewhere = this.deps.faults.lfsHrefOrigin;
      await handleLfs(req, res, path.rest, {
        gitDir,
        lfsUrl: `${url.origin}/${workspace.slug}/${repository.slug}.git/info/lfs`,
        canWrite,
        authorization: req.headers.authorization,
        onBatch: (operation, oids) => this.deps.onLfsBatch?.({ repository: `${workspace.slug}/${repository.slug}`, operation, oids }),
        transfer: (operation, oid) => this.deps.media.grant(gitDir, operation, oid, elsewhere && (elsewhere.oid === undefined || elsewhere.oid === oid) ? elsewhere.origin : undefined),
      });
      return;
    }
    const isPack = req.method === 'POST' && path.rest === `/${path.service}`;
    if (writing && takePushFault(this.deps.faults, isPack)) return deny(this.deps.faults.failStatus, 'Internal server error');
    if (!writing && this.deps.faults.fetchLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.deps.faults.fetchLatencyMs));

    const gitDir = repositoryGitDir(this.deps.gitRoot, workspace.slug, repository.slug);
    const pathInfo = `/${workspace.slug}/${repository.slug}.git${path.rest}`;
    const remoteUser = principal.kind === 'anonymous' ? undefined : principal.kind === 'forge-app' ? 'forge-app' : principal.user.nickname;
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    const limits = this.deps.gitLimits;
    const backend = { root: this.deps.gitRoot, pathInfo, receivePack: writing, bytesPerSecond: limits.bytesPerSecond, ...(remoteUser === undefined ? {} : { remoteUser }) };

    if (!(isPack && writing)) {
      const cutAfter = isPack ? this.deps.faults.resetPackAfterBytes : undefined;
      const disarm = (): void => { this.deps.faults.resetPackAfterBytes = undefined; };
      await runHttpBackend(req, res, { ...backend, ...(cutAfter === undefined ? {} : { cutAfterBytes: cutAfter, onCut: disarm }) });
      return;
    }

    // A push: snapshot the refs around it, under a per-repository lock.
    const previous = this.pushLocks.get(gitDir) ?? Promise.resolve();
    let result: BackendResult | undefined;
    let before = new Map<string, string>();
    let after = new Map<string, string>();
    const run = previous.then(async () => {
      before = await readRefs(gitDir);
      result = await runHttpBackend(req, res, { ...backend, ...pushLimits(limits, repository, gitDir) });
      after = await readRefs(gitDir);
    });
    const settled = run.catch(() => undefined);
    this.pushLocks.set(gitDir, settled);
    try {
      await run;
    } finally {
      if (this.pushLocks.get(gitDir) === settled) this.pushLocks.delete(gitDir);
    }
    if (result?.code !== 0) return;
    const changes = await pushChanges(gitDir, before, after, {
      mainBranch: repository.mainBranch,
      accountByEmail: (email) => {
        const user = email === '' ? undefined : this.deps.state().users.find((candidate) => candidate.email.toLowerCase() === email.toLowerCase());
        return user && eventActor(user);
      },
    });
    if (changes.length > 0) await this.deps.onPush(repository, principal, changes);
  }
}
