/**
 * Serves the bare repositories under `root` over smart HTTP on 127.0.0.1 by
 * running the real `git http-backend` as a CGI per request, bodies streamed
 * both ways with backpressure. Every request is logged with its byte counts.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runHttpBackend } from '../../sandbox/bitbucket/git.js';
import { handleLfs } from '../../sandbox/bitbucket/lfs.js';

export interface GitServerOptions {
  root: string;
  /** HTTP Basic credentials every request must carry (401 otherwise). */
  auth?: { username: string; password: string };
  /** Enables pushing (http.receivepack); off by default. */
  receivePack?: boolean;
  /** Default true; false drops the Git-Protocol header so the server speaks v0. */
  protocolV2?: boolean;
  /**
   * Called as each request arrives, before git sees any of it. Answering 'drop'
   * destroys the connection unanswered: git never runs for that request.
   */
  onRequest?: (request: GitRequestLog) => 'drop' | undefined | Promise<'drop' | undefined>;
  /** Serves the LFS batch API at <repo>/info/lfs (objects in the repository's lfs/objects/), writable when receivePack is. */
  lfs?: boolean;
}

export interface GitRequestLog {
  method: string;
  /** URL path without the query. */
  path: string;
  bytesIn: number;
  bytesOut: number;
}

export interface GitServer {
  baseUrl: string;
  url(repoName: string): string;
  requests: GitRequestLog[];
  close(): Promise<void>;
}

function authorized(header: string | undefined, auth: { username: string; password: string }): boolean {
  if (!header?.startsWith('Basic ')) return false;
  return Buffer.from(header.slice(6), 'base64').toString('utf8') === `${auth.username}:${auth.password}`;
}

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const requests: GitRequestLog[] = [];
  const running = new Set<Promise<unknown>>();
  const server = createServer((req, res) => {
    const entry: GitRequestLog = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] ?? '/', bytesIn: 0, bytesOut: 0 };
    requests.push(entry);
    if (options.auth && !authorized(req.headers.authorization, options.auth)) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' }).end('Authentication required\n');
      return;
    }
    // v0 only: without the header http-backend speaks protocol v0.
    if (options.protocolV2 === false) delete req.headers['git-protocol'];
    const user = options.auth?.username;
    const done = Promise.resolve(options.onRequest?.(entry)).then(async (verdict) => {
      if (verdict === 'drop') {
        req.socket.destroy();
        return;
      }
      const lfs = options.lfs ? /^\/(.+?)(\/info\/lfs\/.*)$/.exec(entry.path) : null;
      if (lfs) {
        const [, repo = '', rest = ''] = lfs;
        await handleLfs(req, res, rest, {
          gitDir: `${options.root}/${decodeURIComponent(repo)}`,
          lfsUrl: `http://${req.headers.host ?? ''}/${repo}/info/lfs`,
          canWrite: options.receivePack === true,
          authorization: req.headers.authorization,
        });
        return;
      }
      // Counting only now: a 'data' listener starts the flow, and nothing may pass before the backend is attached.
      req.on('data', (chunk: Buffer) => { entry.bytesIn += chunk.byteLength; });
      const result = await runHttpBackend(req, res, {
        root: options.root,
        pathInfo: decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname),
        receivePack: options.receivePack === true,
        ...(user === undefined ? {} : { remoteUser: user }),
      });
      entry.bytesOut = result.bytesOut;
    });
    running.add(done);
    void done.finally(() => running.delete(done));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    url: (repoName) => `${baseUrl}/${repoName}`,
    requests,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      // Dropping the connections kills the backends still answering; wait for them to exit.
      await Promise.all([closed, ...running]);
    },
  };
}

/**
 * A hostile git server: it forwards every request to `upstream` (a server from
 * startGitServer), but renames the refs its ls-refs answers list (protocol v2).
 * The renamed refs point at real objects, so fetching them works: the way a server
 * can offer names git itself would never create (`refs/heads/evil[1]`).
 */
export async function startRenamingGitProxy(upstream: GitServer, rename: (name: string) => string): Promise<Pick<GitServer, 'baseUrl' | 'url' | 'close'>> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers[name] = value;
      }
      void fetch(`${upstream.baseUrl}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(req.method === 'POST' ? { body } : {}) })
        .then(async (response) => {
          const answer = Buffer.from(await response.arrayBuffer());
          const out = body.includes('command=ls-refs') ? renameListedRefs(answer, rename) : answer;
          const responseHeaders: Record<string, string> = {};
          response.headers.forEach((value, name) => { if (name !== 'content-length' && name !== 'transfer-encoding') responseHeaders[name] = value; });
          res.writeHead(response.status, responseHeaders).end(out);
        })
        .catch((error: unknown) => res.destroy(error as Error));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    url: (repoName) => `${baseUrl}/${repoName}`,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** ls-refs lines are "<oid> <refname> [attributes]" pkt-lines; the name and any symref-target are renamed. */
function renameListedRefs(answer: Buffer, rename: (name: string) => string): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < answer.length) {
    const length = Number.parseInt(answer.subarray(offset, offset + 4).toString('latin1'), 16);
    if (length < 4) {
      out.push(answer.subarray(offset, offset + 4));
      offset += 4;
      continue;
    }
    const line = answer.subarray(offset + 4, offset + length).toString('utf8').replace(/\n$/, '');
    const [oid, name, ...attributes] = line.split(' ');
    const renamed = [oid, rename(name ?? ''), ...attributes.map((attribute) => attribute.replace(/^symref-target:(.*)$/, (_, target: string) => `symref-target:${rename(target)}`))].join(' ');
    const payload = Buffer.from(`${renamed}\n`, 'utf8');
    out.push(Buffer.from((payload.length + 4).toString(16).padStart(4, '0'), 'latin1'), payload);
    offset += length;
  }
  return Buffer.concat(out);
}
