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
import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { type ByteStream, collect } from '../streams.js';
import { GitHttp } from './http.js';
import type { GitClientOptions } from './types.js';

const MEDIA_TYPE = 'application/vnd.git-lfs+json';
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
}

export function createLfsClient(options: LfsClientOptions): LfsClient {
  const http = new GitHttp(options);
  const url = lfsUrl(http.url);

  /** Refuses, before any request, an href on a host this process may not reach: the message names the host. */
  function reachable(object: LfsObjectId, action: LfsAction, what: 'download' | 'upload' | 'verify'): void {
    if (!options.canReach || options.canReach(action.href)) return;
    const host = new URL(action.href).host;
    throw new LifeboatError('LFS_HOST_NOT_ALLOWED', `The LFS server at ${url} sent the ${what} of LFS object ${object.oid} to ${host}, a host Lifeboat may not reach.`, {
      details: { host, oid: object.oid, operation: what, url },
    });
  }

  async function failure(response: { status: number }, body: ByteStream, what: string): Promise<LifeboatError> {
    const text = (await collect(body).catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 500);
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch { /* not JSON */ }
    const details = { status: response.status, url, ...(http.username === undefined ? {} : { username: http.username }) };
    const said = message.trim() ? `: ${message.trim()}` : '';
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
      if (response.status !== 200) throw await failure(response, body, `a batch ${operation} request`);
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
      reachable(object, action, 'download');
      const { response, body } = await http.exchange(action.href, { method: 'GET', headers: { ...action.header } });
      if (response.status !== 200) throw await failure(response, body, `download LFS object ${object.oid}`);
      return verified(body, object);
    },
    async upload(object, actions, content) {
      reachable(object, actions.upload, 'upload');
      if (actions.verify) reachable(object, actions.verify, 'verify');
      const put = await http.exchange(actions.upload.href, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(object.size), ...actions.upload.header },
        body: content,
      });
      if (put.response.status < 200 || put.response.status > 299) throw await failure(put.response, put.body, `upload LFS object ${object.oid}`);
      await collect(put.body);
      if (!actions.verify) return;
      const check = await http.exchange(actions.verify.href, {
        method: 'POST',
        headers: { Accept: MEDIA_TYPE, 'Content-Type': MEDIA_TYPE, ...actions.verify.header },
        body: Buffer.from(JSON.stringify({ oid: object.oid, size: object.size }), 'utf8'),
      });
      if (check.response.status !== 200) throw await failure(check.response, check.body, `verify LFS object ${object.oid}`);
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
