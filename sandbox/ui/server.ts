/**
 * The sandbox's stand-in for Bitbucket's settings pages: it frames the app's
 * Custom UI resources as Bitbucket does, serves them (with the bridge shim
 * injected), and carries the pages' resolver calls to the Forge host, with the
 * identity and location that the framing page stands for. Binds 127.0.0.1.
 *
 *   GET  /                                                   the app's pages
 *   GET  /<workspace>/workspace/settings/<moduleKey>?as=role   workspace settings page
 *   GET  /<workspace>/<repository>/admin/<moduleKey>?as=role   repository settings page
 *   GET  /__resources/<resource>/<file>                        a resource's build folder
 *   GET  /__sandbox/bridge-shim.js, frame.js, frame.css         the sandbox's own files
 *   POST /__sandbox/invoke                                     { moduleKey, functionKey, payload?, as, repositorySlug? }
 *   POST /__sandbox/events                                     a product event as Forge delivers it: runs the app's triggers for it
 *   GET  /__sandbox/events                                     the events the host delivered, newest first
 *   POST /__sandbox/scheduled/<key>                            runs a scheduled trigger now (a button on the index)
 */
import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getThemeHtmlAttrs } from '@atlaskit/tokens/get-theme-html-attrs';
import { getThemeStyles } from '@atlaskit/tokens/get-theme-styles';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { DeliveredEvent, InvocationRecord, ProductEvent } from '../forge/index.js';
import type { PageModule, PageModuleType } from '../forge/manifest.js';
import { renderFrame, renderIndex, renderProblem, type PageLink } from './pages.js';

/** A page module of manifest.yml as Bitbucket frames it: with its type and the folder its resource is built into. */
export interface FramedPage extends PageModule {
  type: PageModuleType;
  /** The resource's folder relative to appDir, e.g. static/repo-settings/build. */
  resourcePath: string;
}

export interface Place {
  uuid: string;
  slug: string;
  name: string;
}

export interface SandboxUser {
  accountId: string;
  displayName: string;
}

/** A resolver call as the Forge host takes it: identity and location decided here, never by the page. */
export interface InvokeCall {
  moduleKey: string;
  functionKey: string;
  payload?: unknown;
  accountId: string;
  extension: Record<string, unknown>;
}

export type InvokeResult = { ok: true; body: unknown } | { ok: false; error: { message: string } };

export interface UiServerOptions {
  port?: number;
  /** The app's root: manifest.yml and the resource folders. */
  appDir: string;
  modules: FramedPage[];
  workspace: Place;
  /** Asked on every page load and call, so that new repositories show up. */
  repositories(): Promise<Place[]>;
  /** Signed-in users by role; the first is the default. */
  users: Readonly<Record<string, SandboxUser>>;
  invoke(call: InvokeCall): Promise<InvokeResult>;
  /** Customer-managed egress (@forge/bridge permissions.egress): what the admin approved, and approving more. */
  egress?: {
    get(keys?: string[]): unknown[];
    /** Throws, with words for the page, when `as` may not approve (only a workspace admin may). */
    set(egresses: unknown[], as: string): unknown[];
  };
  /** The manifest's scheduled triggers, and how to run one on demand. */
  scheduledTriggers?: { keys: string[]; run(key: string): Promise<void> };
  /** Product events: the types the app's triggers subscribe to, delivery the way the emulator's events go, and what was delivered. */
  events?: {
    subscribed: readonly string[];
    deliver(event: ProductEvent): Promise<InvocationRecord[]>;
    delivered(): DeliveredEvent[];
  };
  log?: (line: string) => void;
}

export interface UiServer {
  /** http://127.0.0.1:<port>, without a trailing slash. */
  url: string;
  pageUrl(moduleKey: string, where?: { repositorySlug?: string; as?: string }): string;
  close(): Promise<void>;
}

const SHIM_TAG = '<script src="/__sandbox/bridge-shim.js"></script>';
const SANDBOX_FILES: Record<string, string> = {
  'bridge-shim.js': 'text/javascript; charset=utf-8',
  'frame.js': 'text/javascript; charset=utf-8',
  'frame.css': 'text/css; charset=utf-8',
};
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};
/** Forge refuses resolver requests over 500 KB. */
const MAX_INVOKE_BYTES = 500 * 1024;
/** Not documented for product events: the sandbox's own bound on a posted one. */
const MAX_EVENT_BYTES = 500 * 1024;
/** The sandbox's one Forge environment, in the place of a real environment's id. */
const ENVIRONMENT_ID = 'sandbox';

const EgressRequest = z.object({
  cmd: z.enum(['get', 'set']),
  as: z.string(),
  payload: z.object({ keys: z.array(z.string()).optional(), egresses: z.array(z.unknown()).optional() }).passthrough().optional(),
});

const InvokeRequest = z.object({
  moduleKey: z.string(),
  functionKey: z.string().min(1),
  payload: z.unknown().optional(),
  as: z.string(),
  repositorySlug: z.string().optional(),
});

/** Bitbucket's two colour modes; the framing page chooses one, as a person does in Bitbucket. */
export const COLOR_MODES = ['light', 'dark'] as const;
export type ColorMode = (typeof COLOR_MODES)[number];

function colorModeOf(value: string | null): ColorMode {
  if (value === null) return 'light';
  const mode = COLOR_MODES.find((candidate) => candidate === value);
  if (!mode) throw new HttpProblem(400, `There is no colour mode '${value}'. Modes: ${COLOR_MODES.join(', ')}.`);
  return mode;
}

/** What Bitbucket gives a page that enables theming: the <html> attributes and the tokens' theme CSS. */
export interface ThemeAnswer {
  attrs: Record<string, string>;
  styles: Array<{ id: string; attrs: Record<string, string>; css: string }>;
}

// Made once per mode, by Atlassian's own functions, exactly as setGlobalTheme would apply them.
const themes = new Map<ColorMode, Promise<ThemeAnswer>>();
function themeOf(colorMode: ColorMode): Promise<ThemeAnswer> {
  let theme = themes.get(colorMode);
  if (!theme) {
    theme = getThemeStyles({ colorMode }).then((styles) => ({ attrs: getThemeHtmlAttrs({ colorMode }), styles }));
    themes.set(colorMode, theme);
  }
  return theme;
}

class HttpProblem extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const log = options.log ?? (() => {});
  const here = dirname(fileURLToPath(import.meta.url));
  const roles = Object.keys(options.users);
  const defaultRole = roles[0] ?? fail('startUiServer: no users to sign in as');
  const appId = await readAppId(options.appDir);
  const resources = new Map(options.modules.map((module) => [module.resource, module.resourcePath]));
  const moduleOf = (key: string): FramedPage | undefined => options.modules.find((module) => module.key === key);
  const userOf = (role: string): SandboxUser | undefined => (Object.hasOwn(options.users, role) ? options.users[role] : undefined);

  function pagePath(module: FramedPage, repositorySlug: string | undefined, role: string | undefined, colorMode?: ColorMode): string {
    const workspace = encodeURIComponent(options.workspace.slug);
    let path: string;
    if (module.type === 'bitbucket:workspaceSettingsMenuPage') path = `/${workspace}/workspace/settings/${encodeURIComponent(module.key)}`;
    else if (repositorySlug) path = `/${workspace}/${encodeURIComponent(repositorySlug)}/admin/${encodeURIComponent(module.key)}`;
    else throw new Error(`module ${module.key} is a repository page: name the repository`);
    const query = new URLSearchParams();
    if (role) query.set('as', role);
    if (colorMode) query.set('theme', colorMode);
    return query.size ? `${path}?${query}` : path;
  }

  /** What a real Forge page and resolver are told about where they are. */
  function extensionOf(module: FramedPage, repository: Place | undefined): Record<string, unknown> {
    if (module.type === 'bitbucket:repoSettingsMenuPage') {
      if (!repository) throw new HttpProblem(400, `${module.key} is a repository page: the call names no repository`);
      return { type: module.type, repository: { uuid: repository.uuid } };
    }
    if (repository) throw new HttpProblem(400, `${module.key} is a workspace page: it has no repository`);
    return { type: module.type };
  }

  async function repositoryOf(slug: string | undefined): Promise<Place | undefined> {
    if (slug === undefined) return undefined;
    const repository = (await options.repositories()).find((candidate) => candidate.slug === slug);
    if (!repository) throw new HttpProblem(404, `There is no repository ${options.workspace.slug}/${slug}.`);
    return repository;
  }

  async function serveIndex(res: ServerResponse): Promise<void> {
    const repositories = await options.repositories();
    const workspacePages: PageLink[] = [];
    const repositoryPages: PageLink[] = [];
    for (const module of options.modules) {
      if (module.type === 'bitbucket:workspaceSettingsMenuPage') workspacePages.push({ title: module.title, href: pagePath(module, undefined, undefined) });
      else for (const repository of repositories) repositoryPages.push({ title: `${repository.name} (${repository.slug}): ${module.title}`, href: pagePath(module, repository.slug, undefined) });
    }
    send(res, 200, 'text/html; charset=utf-8', renderIndex({ workspaceName: options.workspace.name, workspacePages, repositoryPages, scheduledTriggers: options.scheduledTriggers?.keys ?? [] }));
  }

  async function serveFrame(res: ServerResponse, module: FramedPage, repositorySlug: string | undefined, query: URLSearchParams): Promise<void> {
    const role = query.get('as') ?? defaultRole;
    const user = userOf(role);
    if (!user) throw new HttpProblem(400, `Nobody signs in as '${role}'. Roles: ${roles.join(', ')}.`);
    const colorMode = colorModeOf(query.get('theme'));
    const repository = await repositoryOf(repositorySlug);
    const extension = extensionOf(module, repository);
    const location = repository ? 'Repository settings' : 'Workspace settings';
    const sameKind = options.modules.filter((candidate) => candidate.type === module.type);
    send(res, 200, 'text/html; charset=utf-8', renderFrame({
      title: module.title,
      breadcrumbs: [
        { text: options.workspace.name, href: '/' },
        ...(repository ? [{ text: repository.name }] : []),
        { text: location },
        { text: module.title },
      ],
      menu: {
        heading: location,
        items: sameKind.map((candidate) => ({ title: candidate.title, href: pagePath(candidate, repository?.slug, role, query.has('theme') ? colorMode : undefined), current: candidate.key === module.key })),
      },
      users: roles.map((candidate) => ({ role: candidate, displayName: options.users[candidate]!.displayName, selected: candidate === role })),
      colorMode,
      iframeSrc: `/__resources/${encodeURIComponent(module.resource)}/index.html`,
      config: {
        moduleKey: module.key,
        as: role,
        colorMode,
        workspaceSlug: options.workspace.slug,
        repositorySlug: repository?.slug,
        modules: options.modules.map(({ key, type }) => ({ key, type })),
        // The context view.getContext() answers; frame.js adds the browser's locale and time zone.
        context: {
          accountId: user.accountId,
          workspaceId: options.workspace.uuid,
          localId: `ari:cloud:ecosystem::extension/${appId}/${ENVIRONMENT_ID}/static/${module.key}`,
          moduleKey: module.key,
          extension,
          environmentId: ENVIRONMENT_ID,
          environmentType: 'DEVELOPMENT',
          siteUrl: baseUrl,
        },
      },
    }));
  }

  async function serveResource(res: ServerResponse, resourceKey: string, rest: string[]): Promise<void> {
    const resourcePath = resources.get(resourceKey);
    if (resourcePath === undefined) throw new HttpProblem(404, `No resource ${resourceKey}.`);
    const atRoot = rest.length === 0 || (rest.length === 1 && rest[0] === '');
    const relative = atRoot ? ['index.html'] : rest;
    if (relative.includes('')) throw new HttpProblem(404, 'Not found.');
    const root = await realpath(join(options.appDir, resourcePath)).catch(() => {
      throw new HttpProblem(404, `Resource ${resourceKey} is not built (${resourcePath}): build the pages first.`);
    });
    // Segments were checked already; resolving links must not leave the folder either.
    const file = await realpath(join(root, ...relative)).catch(() => undefined);
    const info = file?.startsWith(root + sep) ? await stat(file) : undefined;
    if (!file || !info?.isFile()) throw new HttpProblem(404, 'Not found.');
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    if (relative.length === 1 && relative[0] === 'index.html') {
      send(res, 200, type, injectShim(await readFile(file, 'utf8')));
      return;
    }
    res.writeHead(200, { 'content-type': type, 'content-length': info.size, 'cache-control': 'no-store' });
    await pipeline(createReadStream(file), res);
  }

  /**
   * A page on another site must not act as the signed-in user, nor feed events in:
   * browsers send Origin on cross-site POSTs, and a JSON body cannot come from a plain form.
   */
  function refuseCrossSite(req: IncomingMessage, what: string): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== baseUrl) throw new HttpProblem(403, `${what} come from the sandbox's own pages, not from ${origin}.`);
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HttpProblem(415, `Send ${what.toLowerCase()} as application/json.`);
  }

  async function serveInvoke(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, result: InvokeResult): void => send(res, status, 'application/json; charset=utf-8', JSON.stringify(result));
    refuseCrossSite(req, 'Calls');
    const parsed = InvokeRequest.safeParse(parseJson(await readBody(req, MAX_INVOKE_BYTES)));
    if (!parsed.success) throw new HttpProblem(400, `Not a call: ${z.prettifyError(parsed.error)}`);
    const request = parsed.data;
    const module = moduleOf(request.moduleKey);
    if (!module) throw new HttpProblem(404, `This app has no page with the module key '${request.moduleKey}'.`);
    const user = userOf(request.as);
    if (!user) throw new HttpProblem(400, `Nobody signs in as '${request.as}'. Roles: ${roles.join(', ')}.`);
    const repository = await repositoryOf(request.repositorySlug);
    const call: InvokeCall = {
      moduleKey: module.key,
      functionKey: request.functionKey,
      ...(request.payload === undefined ? {} : { payload: request.payload }),
      accountId: user.accountId,
      extension: extensionOf(module, repository),
    };
    const where = repository ? ` in ${repository.slug}` : '';
    let result: InvokeResult;
    try {
      result = await options.invoke(call);
    } catch (error) {
      log(`[ui] invoke ${module.key} ${request.functionKey} as ${request.as}${where}: the host failed: ${describe(error)}`);
      reply(500, { ok: false, error: { message: `The Forge host failed: ${describe(error)}` } });
      return;
    }
    log(`[ui] invoke ${module.key} ${request.functionKey} as ${request.as}${where}: ${result.ok ? 'ok' : `error: ${result.error.message}`}`);
    reply(200, result);
  }

  /**
   * A raw product event, exactly as Forge delivers it, into the app's triggers for
   * its type: the same delivery as the emulator's events (the Forge host's).
   * Answers once the triggers returned (what they queued may still run).
   */
  async function servePostedEvent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const events = options.events ?? fail404('This sandbox delivers no product events.');
    refuseCrossSite(req, 'Events');
    const body = parseJson(await readBody(req, MAX_EVENT_BYTES, `A posted event is at most ${MAX_EVENT_BYTES} bytes (the sandbox's own limit).`), 'The event');
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new HttpProblem(400, `An event is a JSON object, as Forge delivers it; this is ${Array.isArray(body) ? 'an array' : body === null ? 'null' : `a ${typeof body}`}.`);
    }
    const { eventType } = body as { eventType?: unknown };
    if (typeof eventType !== 'string') throw new HttpProblem(400, 'The event has no eventType (a string such as avi:bitbucket:push:repository).');
    if (!events.subscribed.includes(eventType)) {
      throw new HttpProblem(400, `No trigger of the app subscribes to ${eventType}; manifest.yml's triggers take ${events.subscribed.join(', ')}.`);
    }
    const ran = await events.deliver(body as ProductEvent);
    log(`[ui] posted event ${eventType}: ${ran.map((record) => `${record.key} ${record.outcome}`).join(', ') || 'no trigger ran (host closed)'}`);
    send(res, 202, 'application/json; charset=utf-8', JSON.stringify({ eventType, triggers: ran.map(({ key, outcome, error }) => ({ key, outcome, ...(error === undefined ? {} : { error }) })) }));
  }

  /**
   * permissions.egress.get and .set, after the framing page had the person confirm a set.
   * As in Bitbucket, only a workspace admin may approve: the app's page cannot decide that.
   */
  async function serveEgress(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = EgressRequest.safeParse(parseJson(await readBody(req, MAX_INVOKE_BYTES)));
    if (!parsed.success) throw new HttpProblem(400, `Not an egress request: ${z.prettifyError(parsed.error)}`);
    const egress = options.egress;
    if (!egress) throw new HttpProblem(404, 'This sandbox has no customer-managed egress.');
    const request = parsed.data;
    const reply = (status: number, body: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
    if (request.cmd === 'get') {
      reply(200, { ok: true, result: { results: egress.get(request.payload?.keys) } });
      return;
    }
    let results: unknown[];
    try {
      results = egress.set(request.payload?.egresses ?? [], request.as);
    } catch (error) {
      reply(200, { ok: false, error: { message: describe(error) } });
      return;
    }
    log(`[ui] customer-managed egress approved by ${request.as}: ${JSON.stringify(results)}`);
    reply(200, { ok: true, result: { results } });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split('?', 2);
    const segments = decodeSegments(rawPath);
    const query = new URLSearchParams(rawQuery);
    const method = req.method ?? 'GET';
    const [first = '', second, third, fourth, ...more] = segments;

    if (first === '__sandbox' && second === 'invoke' && segments.length === 2) {
      if (method !== 'POST') throw new HttpProblem(405, 'POST a call here.');
      return serveInvoke(req, res);
    }
    if (first === '__sandbox' && second === 'events' && segments.length === 2) {
      if (method === 'POST') return servePostedEvent(req, res);
      if (method !== 'GET') throw new HttpProblem(405, 'POST an event here, or GET the events delivered.');
      const events = options.events ?? fail404('This sandbox delivers no product events.');
      send(res, 200, 'application/json; charset=utf-8', JSON.stringify({ events: events.delivered() }));
      return;
    }
    if (first === '__sandbox' && second === 'egress' && segments.length === 2) {
      if (method !== 'POST') throw new HttpProblem(405, 'POST an egress request here.');
      return serveEgress(req, res);
    }
    if (first === '__sandbox' && second === 'scheduled' && third !== undefined && segments.length === 3 && method === 'POST') {
      const schedules = options.scheduledTriggers;
      if (!schedules?.keys.includes(third)) throw new HttpProblem(404, `The manifest has no scheduled trigger ${third}.`);
      log(`[ui] running scheduled trigger ${third} on demand`);
      await schedules.run(third);
      res.writeHead(303, { location: '/' }).end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw new HttpProblem(405, 'Only GET and HEAD here.');
    if (segments.length === 1 && first === '') return serveIndex(res);
    if (first === '__sandbox' && second !== undefined && segments.length === 2 && Object.hasOwn(SANDBOX_FILES, second)) {
      send(res, 200, SANDBOX_FILES[second]!, await readFile(join(here, second)));
      return;
    }
    if (first === '__sandbox' && second === 'theme' && segments.length === 3) {
      const mode = COLOR_MODES.find((candidate) => `${candidate}.json` === third);
      if (!mode) throw new HttpProblem(404, `No theme ${third}; there are ${COLOR_MODES.map((candidate) => `${candidate}.json`).join(' and ')}.`);
      send(res, 200, CONTENT_TYPES['.json']!, JSON.stringify(await themeOf(mode)));
      return;
    }
    if (first === '__resources' && second !== undefined) return serveResource(res, second, segments.slice(2));
    if (first === options.workspace.slug && fourth !== undefined && more.length === 0) {
      const module = moduleOf(fourth);
      if (module?.type === 'bitbucket:workspaceSettingsMenuPage' && second === 'workspace' && third === 'settings') return serveFrame(res, module, undefined, query);
      if (module?.type === 'bitbucket:repoSettingsMenuPage' && second && third === 'admin') return serveFrame(res, module, second, query);
    }
    throw new HttpProblem(404, 'This sandbox has only the pages of the app.');
  }

  let baseUrl = '';
  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const status = error instanceof HttpProblem ? error.status : 500;
      if (status === 500) log(`[ui] ${req.method} ${req.url}: ${describe(error)}`);
      const message = error instanceof HttpProblem ? error.message : `The sandbox failed: ${describe(error)}`;
      if (res.headersSent) {
        res.destroy();
      } else if (req.url?.startsWith('/__sandbox/invoke') || req.url?.startsWith('/__sandbox/events')) {
        send(res, status, 'application/json; charset=utf-8', JSON.stringify({ ok: false, error: { message } }));
      } else {
        send(res, status, 'text/html; charset=utf-8', renderProblem(status === 404 ? 'Not found' : `Error ${status}`, message));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    pageUrl(moduleKey, where = {}) {
      const module = moduleOf(moduleKey);
      if (!module) throw new Error(`pageUrl: no page module ${moduleKey}`);
      if (where.as !== undefined && !userOf(where.as)) throw new Error(`pageUrl: nobody signs in as '${where.as}'`);
      return `${baseUrl}${pagePath(module, where.repositorySlug, where.as)}`;
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // A browser keeps connections open; they must not hold the sandbox up.
      server.closeAllConnections();
    }),
  };
}

/** Bitbucket's chrome injects the bridge before anything of the app's runs. */
function injectShim(html: string): string {
  const head = /<head(\s[^>]*)?>/i.exec(html);
  if (!head) throw new Error('the resource index.html has no <head>, so the bridge shim cannot go first');
  const end = head.index + head[0].length;
  return `${html.slice(0, end)}${SHIM_TAG}${html.slice(end)}`;
}

/**
 * Path segments, decoded. Node hands over the path as the client sent it, so
 * "..", "." and encoded separators are refused here, before any route sees them.
 */
function decodeSegments(rawPath: string): string[] {
  return rawPath.split('/').slice(1).map((raw) => {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw new HttpProblem(404, 'Not found.');
    }
    if (segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) throw new HttpProblem(404, 'Not found.');
    return segment;
  });
}

async function readAppId(appDir: string): Promise<string> {
  const manifest = parseYaml(await readFile(join(appDir, 'manifest.yml'), 'utf8')) as { app?: { id?: unknown } } | null;
  const id = manifest?.app?.id;
  if (typeof id !== 'string') throw new Error(`${join(appDir, 'manifest.yml')} has no app.id`);
  // ari:cloud:ecosystem::app/<uuid>: extension ids carry the bare uuid.
  return id.slice(id.lastIndexOf('/') + 1);
}

async function readBody(req: IncomingMessage, limit: number, tooLarge = `A call is at most ${limit} bytes, as in Forge.`): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // A body over the limit is still read to its end, and dropped: answering 413 while
  // the client is still sending leaves the connection half-read, and on a busy machine
  // the client's next request on it fails ("fetch failed", seen in CI).
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw new HttpProblem(413, tooLarge);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, what = 'The call'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpProblem(400, `${what} is not JSON.`);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function fail(message: string): never {
  throw new Error(message);
}

function fail404(message: string): never {
  throw new HttpProblem(404, message);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
