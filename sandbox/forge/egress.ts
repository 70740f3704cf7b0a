// Egress control. While an app invocation runs, outbound HTTP (global fetch,
// http/https request/get) may only reach the addresses manifest.yml declares in
// permissions.external.fetch.backend (plus admin-approved origins when the
// manifest enables customer-managed egress). Local stand-ins are checked as the
// real origin they replace. Each request of a long-running function is cut at
// Forge's per-request limit (cutFetch, cutRequest). Outside invocations (the
// host, the emulator and the tests share this process) requests pass through
// untouched.
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- the matcher @forge/api's permissions.canFetchFrom uses, so both agree
import { EgressFilteringService } from '@forge/egress';
import { currentInvocation } from './runtime.js';

export interface EgressPolicyOptions {
  /** permissions.external.fetch.backend addresses, e.g. `https://*.amazonaws.com`. */
  backend: readonly string[];
  /** permissions.external.configurable.enabled. */
  configurable: boolean;
  /** Origins the workspace admin approved (used only when `configurable`). */
  customerEgress?: readonly string[];
  /** Real origin → local origin, e.g. `{ 'https://bitbucket.org': 'http://127.0.0.1:7990' }`. */
  standIns?: Readonly<Record<string, string>>;
}

export interface EgressPolicy {
  allows(url: string): boolean;
  /** Throws EgressNotAllowedError when `url` may not be fetched. */
  check(url: string): void;
}

export class EgressNotAllowedError extends Error {
  readonly status = 403;
  constructor(
    readonly url: string,
    checkedAs: readonly string[],
  ) {
    const as = checkedAs.length === 1 && checkedAs[0] === url ? '' : ` (checked as ${checkedAs.join(' and as ')}, the origin it stands in for)`;
    super(`Egress to ${url}${as} is not allowed: it is not declared in manifest.yml (permissions.external.fetch.backend).`);
    // Forge's own egress refusal carries this name (isForgePlatformError() recognizes it).
    this.name = 'REQUEST_EGRESS_ALLOWLIST_ERR';
  }
}

export function createEgressPolicy(options: EgressPolicyOptions): EgressPolicy {
  const allowList = [...options.backend, ...(options.configurable ? (options.customerEgress ?? []) : [])];
  const filter = new EgressFilteringService(allowList);
  // One local server may stand in for several real origins (api.bitbucket.org and bitbucket.org).
  const localToReal = new Map<string, string[]>();
  for (const [real, local] of Object.entries(options.standIns ?? {})) {
    const origin = new URL(local).origin;
    localToReal.set(origin, [...(localToReal.get(origin) ?? []), new URL(real).origin]);
  }
  /** The URLs a request is checked as: the real ones a local stand-in replaces, else itself. */
  const checkedAs = (url: string): string[] => {
    const parsed = new URL(url);
    const reals = localToReal.get(parsed.origin);
    return reals === undefined ? [parsed.href] : reals.map((real) => real + parsed.pathname + parsed.search);
  };
  const allows = (url: string): boolean => checkedAs(url).some((candidate) => filter.isValidUrl(candidate));
  return {
    allows,
    check(url) {
      if (!allows(url)) throw new EgressNotAllowedError(url, checkedAs(url));
    },
  };
}

/** The global fetch before the guard: for the platform's own calls (requestBitbucket goes through Forge's proxy, not egress). */
export const unguardedFetch: typeof fetch = globalThis.fetch.bind(globalThis);

// Forge terminates a single outbound request of a long-running function after 180 s
// ("Single outbound request timeout (async events)", limits-invocation: "fetch
// requests, including both Atlassian app REST API and external API requests"). How the
// end looks to the caller is not documented: assumed to be the connection closing under
// the request, which Node reports as for any peer that hangs up: undici (fetch) rejects
// with TypeError "fetch failed" before the answer and errors the body with "terminated"
// during it, both caused by an UND_ERR_SOCKET "other side closed"; http(s) requests
// fail with ECONNRESET "socket hang up".
function peerClosed(): Error {
  return Object.assign(new Error('other side closed'), { name: 'SocketError', code: 'UND_ERR_SOCKET' });
}

/** `fetchFn(input, init)`, cut after the current invocation's outbound limit (if it has one). */
export function cutFetch(fetchFn: typeof fetch, input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> {
  const limitMs = currentInvocation()?.outboundTimeoutMs;
  if (limitMs === undefined) return fetchFn(input, init);
  const cut = new AbortController();
  let answered = false;
  const timer = setTimeout(() => cut.abort(new TypeError(answered ? 'terminated' : 'fetch failed', { cause: peerClosed() })), limitMs);
  // A finished request needs no cut, and a pending cut must not keep the process alive.
  timer.unref();
  const callerSignal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
  const signal = callerSignal ? AbortSignal.any([callerSignal, cut.signal]) : cut.signal;
  return fetchFn(input, { ...init, signal }).then(
    (response) => {
      answered = true;
      return response;
    },
    (error: unknown) => {
      clearTimeout(timer);
      throw error;
    },
  );
}

/** Destroys `request` as a reset connection once the current invocation's outbound limit has passed. */
function cutRequest(request: http.ClientRequest): void {
  const limitMs = currentInvocation()?.outboundTimeoutMs;
  if (limitMs === undefined) return;
  const timer = setTimeout(() => request.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), limitMs);
  timer.unref();
  request.once('close', () => clearTimeout(timer));
}

/** Throws when the current invocation may not reach `url`; a no-op outside invocations. */
function guard(url: string): void {
  const invocation = currentInvocation();
  if (!invocation) return;
  if (invocation.ended) throw new Error(`Outbound request to ${url} after invocation ${invocation.key} ended: on Forge this code would no longer be running.`);
  invocation.services.checkEgress(url);
}

function fetchTarget(input: Parameters<typeof fetch>[0]): string {
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.href;
  return input.url;
}

/** The URL an http(s).request/get call will reach, from its (url?, options?, callback?) arguments. */
function requestTarget(defaultProtocol: string, args: unknown[]): string {
  const [first, second] = args;
  const base = typeof first === 'string' || first instanceof URL ? new URL(first) : undefined;
  const options = (base ? second : first) as http.RequestOptions | undefined;
  const given = options !== null && typeof options === 'object' ? options : {};
  const protocol = given.protocol ?? base?.protocol ?? defaultProtocol;
  const hostWithPort = given.hostname ?? given.host ?? base?.hostname ?? 'localhost';
  const hostname = given.hostname ?? hostWithPort.replace(/:\d+$/, '');
  const port = given.port ?? base?.port ?? '';
  const path = given.path ?? (base ? base.pathname + base.search : '/');
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `${protocol}//${host}${port === '' ? '' : `:${String(port)}`}${path}`;
}

let installed = false;

/** Patches fetch and http/https request/get once per process (idempotent). */
export function installEgressGuard(): void {
  if (installed) return;
  installed = true;
  const originalFetch = globalThis.fetch;
  globalThis.fetch = function guardedFetch(input, init) {
    try {
      guard(fetchTarget(input));
    } catch (error) {
      return Promise.reject(error);
    }
    return cutFetch(originalFetch, input, init);
  };
  for (const [module, protocol] of [
    [http, 'http:'],
    [https, 'https:'],
  ] as const) {
    const { request, get } = module;
    module.request = function guardedRequest(this: unknown, ...args: unknown[]) {
      guard(requestTarget(protocol, args));
      const sent = Reflect.apply(request, this, args) as http.ClientRequest;
      cutRequest(sent);
      return sent;
    } as typeof request;
    module.get = function guardedGet(this: unknown, ...args: unknown[]) {
      guard(requestTarget(protocol, args));
      const sent = Reflect.apply(get, this, args) as http.ClientRequest;
      cutRequest(sent);
      return sent;
    } as typeof get;
  }
  // ESM `import { request } from 'node:https'` bindings follow the patched functions too.
  syncBuiltinESMExports();
}
