/**
 * Serves the bare repositories under `root` over smart HTTP on 127.0.0.1 by
 * running the real `git http-backend` as a CGI per request, bodies streamed
 * both ways with backpressure. Every request is logged with its byte counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitServerOptions {
  root: string;
  /** HTTP Basic credentials every request must carry (401 otherwise). */
  auth?: { username: string; password: string };
  /** Enables pushing (http.receivepack); off by default. */
  receivePack?: boolean;
  /** Default true; false drops the Git-Protocol header so the server speaks v0. */
  protocolV2?: boolean;
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

/** Where the CGI header block ends ("\r\n\r\n", or bare "\n\n") and the body starts. */
function headerEnd(head: Buffer): { end: number; body: number } | undefined {
  const crlf = head.indexOf('\r\n\r\n');
  if (crlf >= 0) return { end: crlf, body: crlf + 4 };
  const lf = head.indexOf('\n\n');
  return lf >= 0 ? { end: lf, body: lf + 2 } : undefined;
}

function runBackend(options: GitServerOptions, req: IncomingMessage, res: ServerResponse, entry: GitRequestLog, user: string | undefined): ChildProcess {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const protocol = options.protocolV2 === false ? undefined : header('git-protocol');
  const contentLength = header('content-length');
  const contentEncoding = header('content-encoding');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_PROJECT_ROOT: options.root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: header('content-type') ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    // Without CONTENT_LENGTH (a chunked body) http-backend reads the body to EOF.
    ...(contentLength === undefined ? {} : { CONTENT_LENGTH: contentLength }),
    ...(contentEncoding === undefined ? {} : { HTTP_CONTENT_ENCODING: contentEncoding }),
    ...(protocol === undefined ? {} : { GIT_PROTOCOL: protocol }),
    ...(user === undefined ? {} : { REMOTE_USER: user }),
  };
  const child = spawn('git', ['-c', `http.receivepack=${options.receivePack === true}`, 'http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });

  req.on('data', (chunk: Buffer) => { entry.bytesIn += chunk.byteLength; });
  req.pipe(child.stdin);
  // The backend may stop reading early (e.g. after an error); the rest of the body does not matter then.
  child.stdin.on('error', () => undefined);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4096); });

  // The CGI reply: header lines (with "Status:" when not 200), an empty line, the body.
  let head = Buffer.alloc(0);
  const onHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const found = headerEnd(head);
    if (!found) return;
    child.stdout.off('data', onHead);
    let status = 200;
    for (const line of head.subarray(0, found.end).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    if (head.byteLength > found.body) child.stdout.unshift(head.subarray(found.body));
    child.stdout.on('data', (data: Buffer) => { entry.bytesOut += data.byteLength; });
    child.stdout.pipe(res);
  };
  child.stdout.on('data', onHead);

  child.on('error', (error) => { stderr += String(error); });
  child.on('close', (code) => {
    if (res.headersSent) return;
    res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`git http-backend exited with ${code} before its headers: ${stderr}`);
  });
  res.on('close', () => {
    if (!res.writableFinished) child.kill();
  });
  return child;
}

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const requests: GitRequestLog[] = [];
  const children = new Set<ChildProcess>();
  const server = createServer((req, res) => {
    const entry: GitRequestLog = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] ?? '/', bytesIn: 0, bytesOut: 0 };
    requests.push(entry);
    if (options.auth && !authorized(req.headers.authorization, options.auth)) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' }).end('Authentication required\n');
      return;
    }
    const child = runBackend(options, req, res, entry, options.auth?.username);
    children.add(child);
    child.on('close', () => children.delete(child));
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
      for (const child of children) child.kill();
      await closed;
    },
  };
}
