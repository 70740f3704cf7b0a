/**
 * The git-lfs batch API (basic transfer) as Bitbucket serves it at
 * `<repo>.git/info/lfs`, with the git credentials (../shared/reference/
 * bitbucket-api.md: "standard git-lfs batch API, same credentials as git"):
 * `POST objects/batch` answers each object with `download` or `upload` (+
 * `verify`) actions carrying an href and a header, or with an object error
 * ("404 Object does not exist"); an upload of an object the server has already
 * gets no actions (git-lfs's docs/api/batch.md; the transfers themselves: its
 * docs/api/basic-transfers.md). Which statuses Bitbucket gives a malformed
 * request (422) or an upload without write access (403) is not documented:
 * assumed from batch.md's list. Objects live
 * per repository under `<git dir>/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>`
 * (git-lfs's own layout). Shared by the emulator and the tests' plain git server.
 *
 * Bitbucket hands out the transfer hrefs on Atlassian's media service
 * (`api.media.atlassian.com` in public git-lfs traces of Bitbucket; still the
 * host today: unverified, ../shared/reference/bitbucket-api.md "Checked
 * 2026-12-07"), each with its own authorization header: the emulator's
 * MediaStandIn plays that host on its own local origin. Its paths, token form
 * and lifetime are not documented: assumed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const MEDIA_TYPE = 'application/vnd.git-lfs+json';
const OID = /^[0-9a-f]{64}$/;

export interface LfsServerOptions {
  /** The repository's git directory: objects go under its lfs/objects/. */
  gitDir: string;
  /** The repository's LFS URL as clients reach it: `<origin>/<ws>/<repo>.git/info/lfs`. */
  lfsUrl: string;
  /** Whether the credential may write the repository (uploads). */
  canWrite: boolean;
  /** The header the transfer actions carry (Bitbucket signs its own; here the request's own credential). */
  authorization: string | undefined;
  /** Called with each batch request's operation and oids (for tests that count them). */
  onBatch?: (operation: string, oids: string[]) => void;
  /**
   * Where an object's transfer goes (Bitbucket: its media host, MediaStandIn.grant); the objects are then not
   * served under the LFS URL. Default: `<lfsUrl>/objects/<oid>` with `authorization`.
   */
  transfer?: (operation: 'download' | 'upload', oid: string) => LfsAction;
}

/** A batch answer's action: "href", "header", "expires_in" (git-lfs batch API). */
export interface LfsAction {
  href: string;
  header?: Record<string, string>;
  expires_in: number;
}

/** How long a transfer href lasts (git-lfs's `expires_in`; Bitbucket's own value is not documented: assumed). */
const TRANSFER_SECONDS = 3600;

/** Whether a path after the repository is an LFS one. */
export function isLfsPath(rest: string): boolean {
  return rest.startsWith('/info/lfs/');
}

export function lfsObjectPath(gitDir: string, oid: string): string {
  return join(gitDir, 'lfs', 'objects', oid.slice(0, 2), oid.slice(2, 4), oid);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': MEDIA_TYPE }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sizeOf(path: string): number | undefined {
  return existsSync(path) ? statSync(path).size : undefined;
}

/** Answers one request under `<repo>.git/info/lfs/`; `rest` is the path after the repository. */
export async function handleLfs(req: IncomingMessage, res: ServerResponse, rest: string, options: LfsServerOptions): Promise<void> {
  const method = req.method ?? 'GET';
  const header = options.authorization ? { Authorization: options.authorization } : undefined;
  const action = (href: string): LfsAction => ({ href, ...(header ? { header } : {}), expires_in: TRANSFER_SECONDS });
  const transfer = options.transfer ?? ((_operation: 'download' | 'upload', oid: string): LfsAction => action(`${options.lfsUrl}/objects/${oid}`));

  if (rest === '/info/lfs/objects/batch' && method === 'POST') {
    let request: { operation?: unknown; objects?: unknown };
    try {
      request = JSON.parse((await readBody(req)).toString('utf8')) as typeof request;
    } catch {
      return send(res, 422, { message: 'The request body is not JSON.' });
    }
    const { operation, objects } = request;
    if ((operation !== 'download' && operation !== 'upload') || !Array.isArray(objects)) return send(res, 422, { message: 'A batch request needs an operation (download or upload) and objects.' });
    // batch.md: "403 - The user has read, but not write access. Only applicable when the operation in the request is upload."
    if (operation === 'upload' && !options.canWrite) return send(res, 403, { message: 'You need write access to this repository to upload LFS objects.' });
    options.onBatch?.(operation, objects.map((object) => String((object as { oid?: unknown }).oid)));
    const answers = (objects as { oid?: unknown; size?: unknown }[]).map(({ oid, size }) => {
      // batch.md's object errors: 404 not found, 422 "Validation error"; `authenticated: true`: the actions carry their own header.
      if (typeof oid !== 'string' || !OID.test(oid) || typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
        return { oid: String(oid), size: Number(size) || 0, error: { code: 422, message: 'Invalid object id or size' } };
      }
      const have = sizeOf(lfsObjectPath(options.gitDir, oid));
      if (operation === 'download') {
        return have === size ? { oid, size, authenticated: true, actions: { download: transfer('download', oid) } } : { oid, size, error: { code: 404, message: 'Object does not exist' } };
      }
      // Where Bitbucket's `verify` href points is not documented: assumed on the LFS URL, with the git credentials.
      return have === size ? { oid, size } : { oid, size, authenticated: true, actions: { upload: transfer('upload', oid), verify: action(`${options.lfsUrl}/verify`) } };
    });
    return send(res, 200, { transfer: 'basic', objects: answers, hash_algo: 'sha256' });
  }

  const object = options.transfer ? null : /^\/info\/lfs\/objects\/([0-9a-f]{64})$/.exec(rest);
  if (object && method === 'GET') return serveObject(req, res, options.gitDir, object[1]!);
  if (object && method === 'PUT') {
    if (!options.canWrite) {
      req.resume();
      return send(res, 403, { message: 'You need write access to this repository to upload LFS objects.' });
    }
    return receiveObject(req, res, options.gitDir, object[1]!);
  }
  // basic-transfers.md "Verification": POST {oid, size}, 200 when the server has it; otherwise 404 (assumed).
  if (rest === '/info/lfs/verify' && method === 'POST') {
    let body: { oid?: unknown; size?: unknown };
    try {
      body = JSON.parse((await readBody(req)).toString('utf8')) as typeof body;
    } catch {
      return send(res, 422, { message: 'The request body is not JSON.' });
    }
    const have = typeof body.oid === 'string' && OID.test(body.oid) ? sizeOf(lfsObjectPath(options.gitDir, body.oid)) : undefined;
    return have !== undefined && have === body.size ? send(res, 200, { message: 'ok' }) : send(res, 404, { message: 'Object does not exist' });
  }
  req.resume();
  send(res, 404, { message: 'Not found' });
}

/** `answering`: told the status just before it is sent (so that a test reading the log after the answer finds it). */
async function serveObject(req: IncomingMessage, res: ServerResponse, gitDir: string, oid: string, answering?: (status: number) => void): Promise<void> {
  const path = lfsObjectPath(gitDir, oid);
  req.resume();
  const size = sizeOf(path);
  answering?.(size === undefined ? 404 : 200);
  if (size === undefined) return send(res, 404, { message: 'Object does not exist' });
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
  await pipeline(createReadStream(path), res);
}

async function receiveObject(req: IncomingMessage, res: ServerResponse, gitDir: string, oid: string, answering?: (status: number) => void): Promise<void> {
  const path = lfsObjectPath(gitDir, oid);
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.${randomBytes(4).toString('hex')}.partial`;
  const hash = createHash('sha256');
  req.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(req, createWriteStream(partial));
  // Nothing half-written: an object is in place only once its content is its oid.
  if (hash.digest('hex') !== oid) {
    rmSync(partial, { force: true });
    answering?.(422);
    return send(res, 422, { message: 'The uploaded content does not match its oid.' });
  }
  renameSync(partial, path);
  answering?.(200);
  res.writeHead(200).end();
}

/**
 * The stand-in for Atlassian's media host: `GET` (download) and `PUT` (upload)
 * of `/file/<oid>/binary`, each allowed by the bearer token the batch answer
 * granted for that object and operation, until it expires. The git credentials
 * mean nothing here, as on a host that is not bitbucket.org.
 */
export class MediaStandIn {
  private readonly grants = new Map<string, { gitDir: string; oid: string; operation: 'download' | 'upload'; until: number }>();

  /** `origin()`: where it listens; `onTransfer`: each transfer it answers, as the answer goes (for tests that count them). */
  constructor(private readonly origin: () => string, private readonly onTransfer?: (transfer: { operation: 'download' | 'upload'; oid: string; status: number }) => void) {}

  /** A batch answer's action for one object: an href on this host (or on `origin`, a fault) and its own token. */
  grant(gitDir: string, operation: 'download' | 'upload', oid: string, origin = this.origin()): LfsAction {
    const token = randomBytes(24).toString('base64url');
    this.grants.set(token, { gitDir, oid, operation, until: Date.now() + TRANSFER_SECONDS * 1000 });
    return { href: `${origin}/file/${oid}/binary`, header: { Authorization: `Bearer ${token}` }, expires_in: TRANSFER_SECONDS };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const oid = /^\/file\/([0-9a-f]{64})\/binary$/.exec(new URL(req.url ?? '/', 'http://media').pathname)?.[1];
    const operation = req.method === 'GET' ? 'download' : req.method === 'PUT' ? 'upload' : undefined;
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = token === undefined ? undefined : this.grants.get(token);
    const answer = (status: number, message: string): void => {
      req.resume();
      this.onTransfer?.({ operation: operation ?? 'download', oid: oid ?? '', status });
      send(res, status, { message });
    };
    if (!oid || !operation) return answer(404, 'Not found');
    if (!grant || grant.until < Date.now()) return answer(401, 'The token is missing, unknown or expired.');
    if (grant.oid !== oid || grant.operation !== operation) return answer(403, `The token does not allow the ${operation} of ${oid}.`);
    const answering = (status: number): void => this.onTransfer?.({ operation, oid, status });
    if (operation === 'download') await serveObject(req, res, grant.gitDir, oid, answering);
    else await receiveObject(req, res, grant.gitDir, oid, answering);
  }
}
