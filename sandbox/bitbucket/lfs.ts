/**
 * The git-lfs batch API (basic transfer) as Bitbucket serves it at
 * `<repo>.git/info/lfs`, with the git credentials: `POST objects/batch` answers
 * each object with `download` or `upload` (+ `verify`) actions carrying an href and
 * a header, or with an object error ("404 Object does not exist"); an upload of an
 * object the server has already gets no actions. Objects live per repository under
 * `<git dir>/lfs/objects/<oid[0:2]>/<oid[2:4]>/<oid>` (git-lfs's own layout).
 * Shared by the emulator and the tests' plain git server.
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
}

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
  const action = (href: string): Record<string, unknown> => ({ href, ...(header ? { header } : {}), expires_in: 3600 });

  if (rest === '/info/lfs/objects/batch' && method === 'POST') {
    let request: { operation?: unknown; objects?: unknown };
    try {
      request = JSON.parse((await readBody(req)).toString('utf8')) as typeof request;
    } catch {
      return send(res, 422, { message: 'The request body is not JSON.' });
    }
    const { operation, objects } = request;
    if ((operation !== 'download' && operation !== 'upload') || !Array.isArray(objects)) return send(res, 422, { message: 'A batch request needs an operation (download or upload) and objects.' });
    if (operation === 'upload' && !options.canWrite) return send(res, 403, { message: 'You need write access to this repository to upload LFS objects.' });
    options.onBatch?.(operation, objects.map((object) => String((object as { oid?: unknown }).oid)));
    const answers = (objects as { oid?: unknown; size?: unknown }[]).map(({ oid, size }) => {
      if (typeof oid !== 'string' || !OID.test(oid) || typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
        return { oid: String(oid), size: Number(size) || 0, error: { code: 422, message: 'Invalid object id or size' } };
      }
      const have = sizeOf(lfsObjectPath(options.gitDir, oid));
      const href = `${options.lfsUrl}/objects/${oid}`;
      if (operation === 'download') {
        return have === size ? { oid, size, authenticated: true, actions: { download: action(href) } } : { oid, size, error: { code: 404, message: 'Object does not exist' } };
      }
      return have === size ? { oid, size } : { oid, size, authenticated: true, actions: { upload: action(href), verify: action(`${options.lfsUrl}/verify`) } };
    });
    return send(res, 200, { transfer: 'basic', objects: answers, hash_algo: 'sha256' });
  }

  const object = /^\/info\/lfs\/objects\/([0-9a-f]{64})$/.exec(rest);
  if (object && method === 'GET') {
    const path = lfsObjectPath(options.gitDir, object[1]!);
    req.resume();
    const size = sizeOf(path);
    if (size === undefined) return send(res, 404, { message: 'Object does not exist' });
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
    await pipeline(createReadStream(path), res);
    return;
  }
  if (object && method === 'PUT') {
    if (!options.canWrite) {
      req.resume();
      return send(res, 403, { message: 'You need write access to this repository to upload LFS objects.' });
    }
    const oid = object[1]!;
    const path = lfsObjectPath(options.gitDir, oid);
    mkdirSync(dirname(path), { recursive: true });
    const partial = `${path}.${randomBytes(4).toString('hex')}.partial`;
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(req, createWriteStream(partial));
    // Nothing half-written: an object is in place only once its content is its oid.
    if (hash.digest('hex') !== oid) {
      rmSync(partial, { force: true });
      return send(res, 422, { message: 'The uploaded content does not match its oid.' });
    }
    renameSync(partial, path);
    res.writeHead(200).end();
    return;
  }
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
