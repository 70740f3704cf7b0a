/**
 * The emulator's git side: bare repositories on disk, served over smart HTTP
 * by the real `git http-backend` (a CGI per request, bodies streamed both ways
 * with backpressure), plus the ref reading that the REST routes and the push
 * events need.
 *
 * Layout: `<dataDir>/git/<workspace-slug>/<repo-slug>.git`. URLs:
 * `/<workspace>/<repo>.git/...` (the clone URL `https://bitbucket.org/{ws}/{repo}.git`
 * of ../shared/reference/bitbucket-api.md; the `.git` being optional: not
 * documented, assumed). The protocol is git's own (gitprotocol-http), answered by
 * git itself. Wikis (`<repo>.git/wiki`) went with Bitbucket's sunset of them on
 * 2026-08-20 (the reference's "What Bitbucket removed in 2026").
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CommitPush, ForgeEventActor, PushAuthor, PushCommit, TagPush } from './events.js';
import { throttle } from './limits.js';

const execFileAsync = promisify(execFile);

/** No system or user configuration: the emulator behaves the same on every machine. */
export const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };

export async function runGit(cwd: string | undefined, args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<string> {
  const child = execFileAsync('git', args, {
    ...(cwd === undefined ? {} : { cwd }),
    env: { ...process.env, ...GIT_ENV, ...options.env },
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  if (options.input !== undefined) child.child.stdin?.end(options.input);
  try {
    return (await child).stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`git ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: error });
  }
}

export function repositoryGitDir(root: string, workspaceSlug: string, repositorySlug: string): string {
  return join(root, workspaceSlug, `${repositorySlug}.git`);
}

/** An empty bare repository whose HEAD names `mainBranch`. */
export async function initBare(path: string, mainBranch: string): Promise<void> {
  await runGit(undefined, ['init', '--quiet', '--bare', `--initial-branch=${mainBranch}`, path]);
}

export async function setHead(path: string, branch: string): Promise<void> {
  await runGit(path, ['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
}

/** Every ref of a repository: full name → object id. */
export async function readRefs(gitDir: string): Promise<Map<string, string>> {
  const output = await runGit(gitDir, ['for-each-ref', '--format=%(objectname) %(refname)']);
  const refs = new Map<string, string>();
  for (const line of output.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) refs.set(line.slice(space + 1), line.slice(0, space));
  }
  return refs;
}

export interface CommitInfo {
  hash: string;
  /** "Name <email>" */
  author: string;
  committer: string;
  /** Author date, ISO 8601. */
  date: string;
  message: string;
  parents: string[];
}

export interface RefInfo {
  type: 'branch' | 'tag';
  /** Short name: main, feature/x, v1.0. */
  name: string;
  /** The ref's own object id (a tag object for annotated tags). */
  oid: string;
  /** The commit the ref finally points to. */
  commit: CommitInfo;
  /** Annotated tags only. */
  tag?: { message: string; tagger: string; date: string };
}

// for-each-ref fields, %00-separated, records ended by %01. The `*` fields are the
// peeled object's, which annotated tags need; for branches they stay empty.
const REF_FORMAT = [
  '%(refname)', '%(objectname)', '%(objecttype)',
  '%(authorname) %(authoremail)', '%(committername) %(committeremail)', '%(authordate:iso-strict)', '%(contents)', '%(parent)',
  '%(taggername) %(taggeremail)', '%(taggerdate:iso-strict)',
  '%(*objectname)', '%(*objecttype)', '%(*authorname) %(*authoremail)', '%(*committername) %(*committeremail)', '%(*authordate:iso-strict)', '%(*contents)', '%(*parent)',
].join('%00') + '%01';

/** Branches and tags (those that end at a commit) with their commits, sorted by name. */
export async function listRefInfo(gitDir: string, kind: 'branch' | 'tag'): Promise<RefInfo[]> {
  const prefix = kind === 'branch' ? 'refs/heads/' : 'refs/tags/';
  const output = await runGit(gitDir, ['for-each-ref', `--format=${REF_FORMAT}`, prefix]);
  const refs: RefInfo[] = [];
  for (const record of output.split('\x01\n')) {
    const fields = record.split('\x00');
    if (fields.length < 17) continue;
    const [refname = '', oid = '', type = '', author = '', committer = '', date = '', contents = '', parents = '', tagger = '', taggerDate = '', peeledOid = '', peeledType = '', peeledAuthor = '', peeledCommitter = '', peeledDate = '', peeledContents = '', peeledParents = ''] = fields;
    const name = refname.slice(prefix.length);
    if (type === 'commit') {
      refs.push({ type: kind, name, oid, commit: { hash: oid, author, committer, date, message: contents, parents: parents.split(' ').filter(Boolean) } });
    } else if (type === 'tag' && peeledType === 'commit') {
      refs.push({
        type: kind,
        name,
        oid,
        commit: { hash: peeledOid, author: peeledAuthor, committer: peeledCommitter, date: peeledDate, message: peeledContents, parents: peeledParents.split(' ').filter(Boolean) },
        tag: { message: contents, tagger, date: taggerDate },
      });
    }
  }
  return refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** As Bitbucket's webhooks document it ("up to 5 of the most recent commits"); the Forge reference does not say. */
const MAX_PUSH_COMMITS = 5;

/** Names the Bitbucket account behind a git author or tagger email, when there is one. */
export type AccountByEmail = (email: string) => ForgeEventActor | undefined;

async function isAncestor(gitDir: string, ancestor: string, descendant: string): Promise<boolean> {
  try {
    await runGit(gitDir, ['merge-base', '--is-ancestor', ancestor, descendant]);
    return true;
  } catch {
    return false;
  }
}

function authorOf(email: string, accountByEmail: AccountByEmail): PushAuthor {
  const user = accountByEmail(email);
  return user ? { user } : {};
}

/** The newest commits reachable from `tip` and from none of `exclude`, newest first. */
async function newCommits(gitDir: string, tip: string, exclude: string[], accountByEmail: AccountByEmail): Promise<{ commits: PushCommit[]; truncated: boolean }> {
  let output: string;
  try {
    output = await runGit(gitDir, ['rev-list', `--max-count=${MAX_PUSH_COMMITS + 1}`, '--stdin'], { input: [tip, ...exclude.map((oid) => `^${oid}`)].join('\n') + '\n' });
  } catch {
    return { commits: [], truncated: false }; // a ref on a tree or blob has no commits to list
  }
  const hashes = output.split('\n').filter(Boolean);
  const shown = hashes.slice(0, MAX_PUSH_COMMITS);
  if (shown.length === 0) return { commits: [], truncated: false };
  const log = await runGit(gitDir, ['show', '--no-patch', '--no-walk=unsorted', '--format=%H%x00%ae%x00%aI%x00%B%x01', ...shown]);
  const commits = log.split('\x01').map((record) => record.replace(/^\n/, '')).filter(Boolean).map((record): PushCommit => {
    const [hash = '', email = '', date = '', message = ''] = record.split('\x00');
    // Not documented when Bitbucket truncates a message: assumed never.
    return { hash, message: { value: message, truncated: false }, date: new Date(date).toISOString(), author: authorOf(email, accountByEmail) };
  });
  return { commits, truncated: hashes.length > MAX_PUSH_COMMITS };
}

/** An annotated tag's tagger, date and message (TagPush's `author`, `date`, `message`); undefined for a lightweight tag. */
async function tagObject(gitDir: string, oid: string, accountByEmail: AccountByEmail): Promise<Pick<TagPush, 'author' | 'date' | 'message'> | undefined> {
  if ((await runGit(gitDir, ['cat-file', '-t', oid])).trim() !== 'tag') return undefined;
  const raw = await runGit(gitDir, ['cat-file', 'tag', oid]);
  const blank = raw.indexOf('\n\n');
  const header = blank < 0 ? raw : raw.slice(0, blank);
  const tagger = /^tagger .*<([^>]*)> (\d+) [+-]\d{4}$/m.exec(header);
  return {
    ...(tagger ? { author: authorOf(tagger[1] ?? '', accountByEmail), date: new Date(Number(tagger[2]) * 1000).toISOString() } : {}),
    message: { value: blank < 0 ? '' : raw.slice(blank + 2), truncated: false },
  };
}

/**
 * What a push changed, as the `push` of Forge's push events: one per branch or
 * tag that moved, appeared or went away (README: `CommitPush` for branches,
 * `TagPush` for tags, `ref` the short name).
 */
export async function pushChanges(gitDir: string, before: Map<string, string>, after: Map<string, string>, repository: { mainBranch: string; accountByEmail: AccountByEmail }): Promise<Array<CommitPush | TagPush>> {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: Array<CommitPush | TagPush> = [];
  for (const refname of names) {
    const old = before.get(refname);
    const current = after.get(refname);
    if (old === current) continue;
    const type = refname.startsWith('refs/heads/') ? 'branch' : refname.startsWith('refs/tags/') ? 'tag' : undefined;
    if (!type) continue; // Bitbucket reports branches and tags only
    const ref = refname.slice(type === 'branch' ? 'refs/heads/'.length : 'refs/tags/'.length);
    const common = {
      ref,
      ...(old === undefined ? {} : { before: old }),
      ...(current === undefined ? {} : { after: current }),
      created: old === undefined,
      closed: current === undefined,
      forced: old !== undefined && current !== undefined && !(await isAncestor(gitDir, old, current)),
    };
    if (type === 'tag') {
      changes.push({ ...common, ...(current === undefined ? {} : await tagObject(gitDir, current, repository.accountByEmail)) });
      continue;
    }
    // A new branch lists the commits no other ref had; a moved one those since its old tip; a deleted one none.
    const listed = current === undefined
      ? { commits: [], truncated: false }
      : await newCommits(gitDir, current, old !== undefined ? [old] : [...before.values()], repository.accountByEmail);
    changes.push({ ...common, mainbranch: ref === repository.mainBranch, truncated: listed.truncated, commits: listed.commits });
  }
  return changes;
}

/** Bytes a repository takes on disk: Bitbucket's `size` (the spec's `repository.size`; how Bitbucket counts it is not documented: assumed on-disk bytes). */
export function directorySize(path: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) total += directorySize(child);
    else if (entry.isFile()) total += statSync(child).size;
  }
  return total;
}

export interface GitPath {
  workspace: string;
  repository: string;
  /** What follows the repository: /info/refs, /git-upload-pack… */
  rest: string;
  /** The service asked for: upload-pack (reading) or receive-pack (pushing). */
  service: 'git-upload-pack' | 'git-receive-pack';
}

// Smart HTTP (info/refs, the two services), the LFS API, and dumb-HTTP paths (HEAD, objects/), which http-backend answers as git does.
const GIT_PATH = /^\/([^/]+)\/([^/]+?)(?:\.git)?(\/(?:info\/refs|info\/lfs\/.+|git-upload-pack|git-receive-pack|HEAD|objects\/.+))$/;

/** A git smart-HTTP (or dumb) request path, or undefined for anything else. */
export function parseGitPath(pathname: string, query: URLSearchParams): GitPath | undefined {
  const match = GIT_PATH.exec(pathname);
  if (!match) return undefined;
  const [, workspace = '', repository = '', rest = ''] = match;
  const service = rest === '/git-receive-pack' || (rest === '/info/refs' && query.get('service') === 'git-receive-pack') ? 'git-receive-pack' : 'git-upload-pack';
  try {
    return { workspace: decodeURIComponent(workspace), repository: decodeURIComponent(repository), rest, service };
  } catch {
    return undefined; // a malformed %-escape names no repository
  }
}

export interface BackendOptions {
  /** GIT_PROJECT_ROOT. */
  root: string;
  /** The repository's path under the root plus the request's rest, e.g. /ws/repo.git/info/refs. */
  pathInfo: string;
  receivePack: boolean;
  remoteUser?: string;
  /** Cut the response body after this many bytes, destroying the socket. */
  cutAfterBytes?: number;
  /** Called as the cut happens, before the client can notice it (a fault knob disarms itself here). */
  onCut?: () => void;
  /** The transfer rate of the request body and of the response, bytes a second (limits.ts); unlimited when absent. */
  bytesPerSecond?: number;
  /** git configuration for this request (`-c name=value`), e.g. receive-pack's limits. */
  config?: Record<string, string>;
  /** Environment for the CGI and what it runs (the pre-receive hook reads its limits here). */
  env?: Record<string, string>;
}

export interface BackendResult {
  /** The CGI's exit code (null when killed). */
  code: number | null;
  /** The HTTP status it answered. */
  status: number;
  /** Response body bytes passed on to the client. */
  bytesOut: number;
}

/** Where the CGI header block ends ("\r\n\r\n", or a bare "\n\n") and the body starts. */
function headerEnd(head: Buffer): { end: number; body: number } | undefined {
  const crlf = head.indexOf('\r\n\r\n');
  if (crlf >= 0) return { end: crlf, body: crlf + 4 };
  const lf = head.indexOf('\n\n');
  return lf >= 0 ? { end: lf, body: lf + 2 } : undefined;
}

/** Runs `git http-backend` for one request; resolves once the CGI has exited. */
export function runHttpBackend(req: IncomingMessage, res: ServerResponse, options: BackendOptions): Promise<BackendResult> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const contentLength = header('content-length');
  const contentEncoding = header('content-encoding');
  const protocol = header('git-protocol');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...GIT_ENV,
    GIT_PROJECT_ROOT: options.root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: options.pathInfo,
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: header('content-type') ?? '',
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    // Without CONTENT_LENGTH (a chunked body) http-backend reads the body to EOF.
    ...(contentLength === undefined ? {} : { CONTENT_LENGTH: contentLength }),
    ...(contentEncoding === undefined ? {} : { HTTP_CONTENT_ENCODING: contentEncoding }),
    ...(protocol === undefined ? {} : { GIT_PROTOCOL: protocol }),
    ...(options.remoteUser === undefined ? {} : { REMOTE_USER: options.remoteUser }),
    ...options.env,
  };
  const config = Object.entries({ 'http.receivepack': String(options.receivePack), ...options.config }).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const child = spawn('git', [...config, 'http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const rate = options.bytesPerSecond;
  const limited = rate !== undefined && Number.isFinite(rate);
  const body = limited ? req.pipe(throttle(rate)) : req;
  body.pipe(child.stdin);
  // The backend may stop reading early (e.g. receive-pack refusing a pack over its size); the rest of the body is
  // read and dropped, so that the client, still sending, gets to read the answer instead of a reset.
  child.stdin.on('error', () => undefined);
  const drained = new Promise<void>((resolve) => {
    if (req.readableEnded) resolve();
    else req.once('end', resolve).once('close', resolve);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4096); });

  let status = 200;
  let cut = false;
  let sent = 0;
  let head = Buffer.alloc(0);
  let headersDone = false;
  const out = limited ? child.stdout.pipe(throttle(rate)) : child.stdout;

  const forward = (chunk: Buffer): void => {
    const limit = options.cutAfterBytes;
    if (limit !== undefined && sent + chunk.byteLength > limit) {
      cut = true;
      options.onCut?.();
      const part = chunk.subarray(0, Math.max(0, limit - sent));
      out.off('data', onData);
      child.kill();
      // A reset, not a clean end: the client sees the body stop mid-stream.
      res.write(part, () => req.socket.destroy());
      return;
    }
    sent += chunk.byteLength;
    if (!res.write(chunk)) {
      out.pause();
      res.once('drain', () => out.resume());
    }
  };

  const onData = (chunk: Buffer): void => {
    if (headersDone) {
      forward(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const found = headerEnd(head);
    if (!found) return;
    headersDone = true;
    for (const line of head.subarray(0, found.end).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    if (head.byteLength > found.body) forward(head.subarray(found.body));
  };
  out.on('data', onData);

  res.on('close', () => {
    if (res.writableFinished) return;
    child.kill();
    // A client gone mid-answer (a deepen request read up to its shallow-info) leaves stdout paused
    // on backpressure: never read to its end, it never closes, and this request never ends. Closing
    // our end ends it, and any process still writing to it (upload-pack, pack-objects) with EPIPE.
    child.stdout.destroy();
    if (out !== child.stdout) out.destroy();
  });

  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (error) => { stderr += String(error); });
    child.on('close', resolve);
  });
  // All the CGI wrote has gone through the throttle (child.stdout itself has, once the child closed).
  const flushed = out === child.stdout ? Promise.resolve() : new Promise<void>((resolve) => { out.once('end', resolve).once('close', resolve); });
  return exited.then(async (code) => {
    req.unpipe();
    if (body !== req) body.unpipe();
    req.resume();
    await Promise.all([drained, flushed]);
    if (!res.headersSent) {
      status = 502;
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`git http-backend exited with ${code} before its headers: ${stderr}`);
    } else if (!cut) {
      res.end();
    }
    return { code, status, bytesOut: sent };
  });
}
