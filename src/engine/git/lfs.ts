/**
 * A git-lfs client (batch API, basic transfer) with the repository's git
 * credentials, through the engine's HTTP layer: "POST <lfs-url>/objects/batch"
 * with `{ operation, transfers: ["basic"], objects: [{ oid, size }] }`; each object
 * answers with actions (`download`, `upload`, `verify`: href, header) or an error
 * ("404 - The object does not exist on the server"). Bitbucket serves it at
 * `<repo>.git/info/lfs`, with the same credentials as git, and hands out the
 * transfers on another host (Atlassian's media service), each action with its
 * own header: the repository's credentials never go there (GitHttp.exchange).
 */
import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { type ByteStream, collect } from '../streams.js';
import { GitHttp } from './http.js';
import type { GitClientOptions, HttpResponse } from './types.js';

const MEDIA_TYPE = 'application/vnd.git-lfs+json';
/** Fetch's redirect statuses, and its limit of 20 hops (WHATWG Fetch, "HTTP-redirect fetch"). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
/** git-lfs asks for at most 100 objects per batch request. */
export const LFS_BATCH_SIZE = 100;

export interface LfsObjectId {
  oid: string;
  size: number;
}

const actionSchema = z.object({ href: z.string().url(), header: z.record(z.string(), z.string()).optional() });
export type LfsAction = z.infer<typeof actionSchema>;

const batchResponseSchema = z.object({
  transfer: z.string().optional(),
  objects: z.array(z.object({
    oid: z.string(),
    size: z.number().int().nonnegative(),
    actions: z.object({ download: actionSchema.optional(), upload: actionSchema.optional(), verify: actionSchema.optional() }).optional(),
    error: z.object({ code: z.number().int(), message: z.string() }).optional(),
  })),
});

/** What the server answered for one object: its actions, or its error ("404 - not found", "410 - removed", "422 - invalid"). */
export type LfsAnswer = z.infer<typeof batchResponseSchema>['objects'][number];

export interface LfsClient {
  /** The LFS endpoint, without credentials. */
  readonly url: string;
  /** One batch request (at most LFS_BATCH_SIZE objects): the server's answer per oid. */
  batch(operation: 'download' | 'upload', objects: readonly LfsObjectId[]): Promise<Map<string, LfsAnswer>>;
  /** The object's content as the server sends it, checked against its oid and size as it streams. */
  download(object: LfsObjectId, action: LfsAction): Promise<ByteStream>;
  /** Sends the object's content (`upload` action), then asks the server to verify it when it offered `verify`. */
  upload(object: LfsObjectId, actions: { upload: LfsAction; verify?: LfsAction }, content: ByteStream): Promise<void>;
}

/** "Git LFS will append .git/info/lfs to the end of a Git remote url" (…/info/lfs when it already ends in .git). */
export function lfsUrl(repositoryUrl: string): string {
  return `${repositoryUrl.replace(/\/+$/, '').replace(/(\.git)?$/, '.git')}/info/lfs`;
}

export interface LfsClientOptions extends GitClientOptions {
  /**
   * Whether this process may reach a URL (on Forge: the app's declared egress). A transfer href it may not
   * reach fails that object with LFS_HOST_NOT_ALLOWED before any request. Default: every URL.
   */
  canReach?: (url: string) => boolean;
  /**
   * Follow transfer hrefs on a loopback address (127.0.0.0/8, ::1, localhost) too: only for a repository
   * served on this machine (the sandbox, the tests; see `servedOnLoopback`). Default: refused, as every
   * href on a private, link-local or other non-public address always is.
   */
  loopbackTransfers?: boolean;
}

/**
 * Addresses a transfer href may not name: a server's answer must not make Lifeboat request this machine,
 * its network or the cloud's metadata service (169.254.169.254). IANA special-purpose registries
 * (RFC 6890): this network, private (RFC 1918), shared (RFC 6598), loopback, link-local, benchmarking,
 * multicast and reserved; for IPv6 also the forms that embed an IPv4 address (compatible, NAT64, 6to4,
 * Teredo). An IPv4-mapped IPv6 address is checked as its IPv4 address (BlockList does).
 */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [['::', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]] as const) NON_PUBLIC.addSubnet(network, prefix, 'ipv6');
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** The kind of address a URL's host names, when it is not a public one. The URL parser already wrote `0x7f.1` or `2130706433` as 127.0.0.1. */
function nonPublic(url: URL): 'loopback' | 'private' | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  const family = isIP(host) === 4 ? 'ipv4' : isIP(host) === 6 ? 'ipv6' : undefined;
  if (family === undefined) return host === 'localhost' || host.endsWith('.localhost') ? 'loopback' : undefined; // RFC 6761
  if (LOOPBACK.check(host, family)) return 'loopback';
  return NON_PUBLIC.check(host, family) ? 'private' : undefined;
}

/** Whether the repository is served on this machine: then its LFS server may send transfers there too (`loopbackTransfers`). */
export function servedOnLoopback(repositoryUrl: string): boolean {
  return URL.canParse(repositoryUrl) && nonPublic(new URL(repositoryUrl)) === 'loopback';
}

export function createLfsClient(options: LfsClientOptions): LfsClient {
  const http = new GitHttp(options);
  const url = lfsUrl(http.url);

  /**
   * Refuses, before any request, an href that is not http(s), names a non-public address (unless a loopback
   * one is allowed) or a host this process may not reach: the message names the host.
   */
  function reachable(object: LfsObjectId, action: LfsAction, what: 'download' | 'upload' | 'verify'): void {
    const target = new URL(action.href);
    const web = target.protocol === 'https:' || target.protocol === 'http:';
    const address = nonPublic(target);
    const refused = !web ? 'not an http(s) address' : address === 'private' || (address === 'loopback' && !options.loopbackTransfers) ? 'an address on this machine or a private network'
      : options.canReach && !options.canReach(action.href) ? 'a host Lifeboat may not reach' : undefined;
    if (refused === undefined) return;
    const host = target.host;
    throw new LifeboatError('LFS_HOST_NOT_ALLOWED', `The LFS server at ${url} sent the ${what} of LFS object ${object.oid} to ${host}, ${refused}.`, {
      details: { host, oid: object.oid, operation: what, url },
    });
  }

  /**
   * The error for a non-2xx answer. Only the repository's own LFS API has its message quoted, as
   * the batch API's spec words it (`{ "message": … }`); a transfer host's body is never read into an error,
   * which may be stored and shown: its status says enough.
   */
  async function failure(response: HttpResponse, body: ByteStream, what: string, reading: 'quote the message' | 'status only'): Promise<LifeboatError> {
    let message = '';
    if (reading === 'quote the message') {
      const text = (await collect(body).catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 500);
      try {
        message = String((JSON.parse(text) as { message?: unknown }).message ?? '').slice(0, 200).trim();
      } catch { /* not JSON: not quoted */ }
    } else {
      await response.body?.cancel().catch(() => undefined);
    }
    const details = { status: response.status, url, ...(http.username === undefined ? {} : { username: http.username }) };
    const said = message ? `: ${message}` : '';
    if (response.status === 401) return new LifeboatError('GIT_AUTH_REQUIRED', `The LFS server at ${url} refused the credentials (HTTP 401) for ${what}${said}`, { details });
    if (response.status === 403) return new LifeboatError('GIT_FORBIDDEN', `The credentials may not ${what} at ${url} (HTTP 403)${said}`, { details });
    const code = response.status >= 500 || response.status === 429 ? 'GIT_SERVER_BUSY' : 'GIT_HTTP';
    return new LifeboatError(code, `The LFS server at ${url} answered HTTP ${response.status} to ${what}${said}`, { details });
  }

  return {
    url,
    async batch(operation, objects) {
      if (objects.length > LFS_BATCH_SIZE) throw new LifeboatError('INTERNAL', `An LFS batch holds at most ${LFS_BATCH_SIZE} objects.`);
      const request = { operation, transfers: ['basic'], objects: objects.map(({ oid, size }) => ({ oid, size })), hash_algo: 'sha256' };
      const { response, body } = await http.exchange(`${url}/objects/batch`, {
        method: 'POST',
        headers: { Accept: MEDIA_TYPE, 'Content-Type': MEDIA_TYPE },
        body: Buffer.from(JSON.stringify(request), 'utf8'),
      });
      if (response.status !== 200) throw await failure(response, body, `a batch ${operation} request`, 'quote the message');
      const text = (await collect(body)).toString('utf8');
      let parsed: z.infer<typeof batchResponseSchema>;
      try {
        parsed = batchResponseSchema.parse(JSON.parse(text));
      } catch (error) {
        throw new LifeboatError('GIT_PROTOCOL', `The LFS server at ${url} answered a batch request with something else than a batch response.`, { cause: error });
      }
      if (parsed.transfer !== undefined && parsed.transfer !== 'basic') throw new LifeboatError('GIT_PROTOCOL', `The LFS server at ${url} chose the ${parsed.transfer} transfer, not basic.`);
      return new Map(parsed.objects.map((answer) => [answer.oid, answer]));
    },
    async download(object, action) {
      // Each redirect is checked as the href was: a public host must not send the download to a private one.
      let hop: LfsAction = action;
      for (let redirects = 0; ; redirects += 1) {
        reachable(object, hop, 'download');
        const { response, body } = await http.exchange(hop.href, { method: 'GET', headers: { ...hop.header }, redirect: 'manual' });
        const location = REDIRECTS.has(response.status) ? response.headers.get('location') : null;
        if (location !== null && redirects < MAX_REDIRECTS && URL.canParse(location, hop.href)) {
          await response.body?.cancel().catch(() => undefined);
          const next = new URL(location, hop.href);
          // As fetch does: the action's Authorization stays with its own origin.
          const header = next.origin === new URL(hop.href).origin ? hop.header : Object.fromEntries(Object.entries(hop.header ?? {}).filter(([name]) => name.toLowerCase() !== 'authorization'));
          hop = { href: next.href, ...(header ? { header } : {}) };
          continue;
        }
        if (response.status !== 200) throw await failure(response, body, `download LFS object ${object.oid}`, 'status only');
        return verified(body, object);
      }
    },
    async upload(object, actions, content) {
      reachable(object, actions.upload, 'upload');
      if (actions.verify) reachable(object, actions.verify, 'verify');
      const put = await http.exchange(actions.upload.href, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(object.size), ...actions.upload.header },
        body: content,
      });
      if (put.response.status < 200 || put.response.status > 299) throw await failure(put.response, put.body, `upload LFS object ${object.oid}`, 'status only');
      await collect(put.body);
      if (!actions.verify) return;
      const check = await http.exchange(actions.verify.href, {
        method: 'POST',
        headers: { Accept: MEDIA_TYPE, 'Content-Type': MEDIA_TYPE, ...actions.verify.header },
        body: Buffer.from(JSON.stringify({ oid: object.oid, size: object.size }), 'utf8'),
      });
      if (check.response.status !== 200) throw await failure(check.response, check.body, `verify LFS object ${object.oid}`, 'status only');
      await collect(check.body);
    },
  };
}

/** Passes an LFS object through, failing with CHECKSUM_MISMATCH at its end when it is not the object its oid and size name. */
export async function* verified(content: ByteStream, object: LfsObjectId): ByteStream {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of content) {
    hash.update(chunk);
    size += chunk.byteLength;
    if (size > object.size) break;
    yield chunk;
  }
  const oid = hash.digest('hex');
  if (size !== object.size || oid !== object.oid) {
    throw new LifeboatError('CHECKSUM_MISMATCH', `LFS object ${object.oid} is not its content: ${size > object.size ? `more than ${object.size} bytes` : `${size} bytes hashing to ${oid}`} arrived, not ${object.size} bytes hashing to its oid.`, { details: { oid: object.oid, size: object.size } });
  }
}
