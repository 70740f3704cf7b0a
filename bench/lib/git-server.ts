/**
 * Minimal stand-in for test/helpers/git-server.ts (not written yet when the
 * benchmarks were): serves the bare repositories under `root` through the real
 * `git http-backend` CGI on 127.0.0.1 and logs every request with its byte counts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitRequestLog {
  method: string;
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

export async function startGitServer(options: { root: string; receivePack?: boolean }): Promise<GitServer> {
  const requests: GitRequestLog[] = [];
  const server = createServer((req, res) => {
    const entry: GitRequestLog = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, bytesIn: 0, bytesOut: 0 };
    requests.push(entry);
    serve(options, req, res, entry).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500).end(error.message);
      else res.destroy(error);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    url: (repoName) => `${baseUrl}/${repoName}`,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function serve(options: { root: string; receivePack?: boolean }, req: IncomingMessage, res: ServerResponse, entry: GitRequestLog): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GIT_PROJECT_ROOT: options.root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method,
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_ADDR: '127.0.0.1',
    // No CONTENT_LENGTH: http-backend then reads the (possibly chunked) body to EOF.
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    ...(options.receivePack ? { REMOTE_USER: 'bench', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.receivepack', GIT_CONFIG_VALUE_0: 'true' } : {}),
  };
  const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  req.on('data', (chunk: Buffer) => { entry.bytesIn += chunk.length; });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => undefined);

  // The CGI reply: header lines (Status: among them), an empty line, then the body.
  let head = Buffer.alloc(0);
  let headerDone = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headerDone) {
      entry.bytesOut += chunk.length;
      if (!res.write(chunk)) {
        cgi.stdout.pause();
        res.once('drain', () => cgi.stdout.resume());
      }
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    headerDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    const body = head.subarray(end + 4);
    entry.bytesOut += body.length;
    res.write(body);
  });
  const [code] = (await once(cgi, 'close')) as [number | null];
  if (!headerDone) throw new Error(`git http-backend exited with ${code} before its headers`);
  res.end();
}
