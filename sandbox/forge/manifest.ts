// manifest.yml as the Forge host needs it: validated by @forge/manifest (the
// package the Forge CLI validates with), then mapped to the functions and the
// modules that invoke them, scopes and egress.
import { createHash } from 'node:crypto';
import { access, lstat, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FullValidationProcessor } from '@forge/manifest'; // the validator, not a platform API
import { parse as parseYaml } from 'yaml';

export type ScheduleInterval = 'fiveMinute' | 'hour' | 'day' | 'week';

export interface FunctionModule {
  key: string;
  /** As written: `<file under src/ without extension>.<export>`, e.g. `index.run`. */
  handler: string;
  /** Declared `timeoutSeconds`, if any (1–900). */
  timeoutSeconds?: number;
}

export interface TriggerModule {
  key: string;
  function: string;
  events: string[];
}

export interface ScheduledTriggerModule {
  key: string;
  function: string;
  interval: ScheduleInterval;
}

export interface ConsumerModule {
  key: string;
  queue: string;
  function: string;
}

/** Any module with `resolver: { function }`, e.g. `bitbucket:repoSettingsMenuPage`. */
export interface ResolverModule {
  key: string;
  /** The module type, e.g. `bitbucket:workspaceSettingsMenuPage`. */
  type: string;
  function: string;
  title?: string;
  /** Key of a `resources` entry (Custom UI). */
  resource?: string;
}

export const PAGE_MODULE_TYPES = ['bitbucket:repoSettingsMenuPage', 'bitbucket:workspaceSettingsMenuPage'] as const;
export type PageModuleType = (typeof PAGE_MODULE_TYPES)[number];

/** A Custom UI page Bitbucket frames: its title, `resources` key and resolver function. */
export interface PageModule {
  key: string;
  title: string;
  resource: string;
  /** The resolver's function, if it has one. */
  function?: string;
}

export interface ForgeManifest {
  /** Folder holding manifest.yml. */
  appDir: string;
  appId?: string;
  runtime: { name: string; memoryMB?: number };
  functions: ReadonlyMap<string, FunctionModule>;
  triggers: readonly TriggerModule[];
  scheduledTriggers: readonly ScheduledTriggerModule[];
  consumers: readonly ConsumerModule[];
  resolverModules: ReadonlyMap<string, ResolverModule>;
  /** The Bitbucket settings pages, by module type (empty lists when absent). */
  modules: Readonly<Record<PageModuleType, readonly PageModule[]>>;
  /** Custom UI resources; `path` as written, relative to the app folder. */
  resources: ReadonlyArray<{ key: string; path: string }>;
  scopes: readonly string[];
  egress: {
    /** `permissions.external.fetch.backend` addresses. */
    backend: readonly string[];
    /** `permissions.external.configurable.enabled`: admins may approve more origins. */
    configurable: boolean;
  };
  /** The parsed YAML, for anything else a caller wants to read. */
  raw: Record<string, unknown>;
}

/** manifest.yml as @forge/manifest has validated it: only the fields the host reads. */
interface ValidManifest {
  app: { id?: string; runtime: { name: string; memoryMB?: number } };
  permissions?: {
    scopes?: string[] | Record<string, unknown>;
    external?: { fetch?: { backend?: Array<string | { address?: string; remote?: string }> }; configurable?: { enabled?: boolean } };
  };
  modules?: Record<string, Array<Record<string, unknown>>> & {
    function?: Array<{ key: string; handler: string; timeoutSeconds?: number }>;
    trigger?: Array<{ key: string; function?: string; endpoint?: string; events: Array<string | { eventType: string; filter?: { expression?: string } }>; filter?: { expression?: string } }>;
    scheduledTrigger?: Array<{ key: string; function?: string; endpoint?: string; interval: ScheduleInterval }>;
    consumer?: Array<{ key: string; queue: string; function?: string; endpoint?: string; resolver?: unknown }>;
  };
  resources?: Array<{ key: string; path: string }>;
}

interface ResolverEntry {
  key: string;
  title?: string;
  resource?: string;
  resolver?: { function?: string; endpoint?: string };
}

export class ManifestError extends Error {
  constructor(file: string, problems: string[]) {
    super(`${file} cannot be run by the sandbox Forge host:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

/**
 * Reads manifest.yml as `forge deploy` does: what @forge/manifest's
 * FullValidationProcessor refuses (schema, unknown function keys, duplicate
 * module keys, ignoreSelf outside Jira events, missing handlers or resources),
 * the host refuses too, with its messages. On top, the few valid features the
 * host cannot run faithfully are refused rather than silently ignored.
 */
export async function loadManifest(appDir: string): Promise<ForgeManifest> {
  const file = join(appDir, 'manifest.yml');
  const verdict = await validate(file);
  const errors = verdict.errors.filter((error) => error.level === 'error');
  if (!verdict.success || errors.length > 0 || !verdict.content) {
    throw new ManifestError(file, errors.map((error) => `${error.line === undefined ? '' : `line ${error.line}: `}${error.message}`));
  }
  const data = verdict.content as unknown as ValidManifest;
  const modules = data.modules ?? {};
  const problems: string[] = [];
  const needFunction = (where: string, ref: { function?: string | undefined; endpoint?: string | undefined }): string => {
    if (ref.endpoint !== undefined) problems.push(`${where} uses a Forge Remote endpoint, which the sandbox cannot call`);
    return ref.function ?? '';
  };

  const functions = new Map<string, FunctionModule>(
    (modules.function ?? []).map((fn) => [fn.key, { key: fn.key, handler: fn.handler, ...(fn.timeoutSeconds === undefined ? {} : { timeoutSeconds: fn.timeoutSeconds }) }]),
  );

  const triggers: TriggerModule[] = (modules.trigger ?? []).map((trigger) => {
    const where = `trigger ${trigger.key}`;
    const filters = [trigger.filter, ...trigger.events.map((e) => (typeof e === 'string' ? undefined : e.filter))];
    if (filters.some((f) => f?.expression !== undefined)) problems.push(`${where} has a filter expression, which the sandbox cannot evaluate`);
    return { key: trigger.key, function: needFunction(where, trigger), events: trigger.events.map((e) => (typeof e === 'string' ? e : e.eventType)) };
  });

  const scheduledTriggers = (modules.scheduledTrigger ?? []).map((t) => ({ key: t.key, function: needFunction(`scheduledTrigger ${t.key}`, t), interval: t.interval }));

  const consumers: ConsumerModule[] = [];
  for (const consumer of modules.consumer ?? []) {
    const where = `consumer ${consumer.key}`;
    if (consumer.resolver !== undefined) problems.push(`${where} uses the resolver form of @forge/events 1.x; @forge/events 2+ consumers name a function`);
    else consumers.push({ key: consumer.key, queue: consumer.queue, function: needFunction(where, consumer) });
  }

  const resolverModules = new Map<string, ResolverModule>();
  const pages: Record<PageModuleType, PageModule[]> = { 'bitbucket:repoSettingsMenuPage': [], 'bitbucket:workspaceSettingsMenuPage': [] };
  for (const [type, list] of Object.entries(modules)) {
    if (['function', 'trigger', 'scheduledTrigger', 'consumer'].includes(type)) continue;
    for (const { key, title, resource, resolver } of list as ResolverEntry[]) {
      if ((PAGE_MODULE_TYPES as readonly string[]).includes(type)) {
        if (title === undefined || resource === undefined) problems.push(`${type} ${key} needs a title and a resource (Custom UI); UI Kit 1 pages were removed from Forge`);
        else pages[type as PageModuleType].push({ key, title, resource, ...(resolver?.function === undefined ? {} : { function: resolver.function }) });
      }
      if (!resolver) continue;
      resolverModules.set(key, {
        key,
        type,
        function: needFunction(`${type} ${key} resolver`, resolver),
        ...(title === undefined ? {} : { title }),
        ...(resource === undefined ? {} : { resource }),
      });
    }
  }

  const backend: string[] = [];
  for (const entry of data.permissions?.external?.fetch?.backend ?? []) {
    if (typeof entry === 'string') backend.push(entry);
    else if (entry.address !== undefined) backend.push(entry.address);
    else problems.push(`permissions.external.fetch.backend remote ${entry.remote}: Forge Remote egress is not supported by the sandbox`);
  }

  if (problems.length > 0) throw new ManifestError(file, problems);
  return {
    appDir,
    ...(data.app.id === undefined ? {} : { appId: data.app.id }),
    runtime: data.app.runtime,
    functions,
    triggers,
    scheduledTriggers,
    consumers,
    resolverModules,
    modules: pages,
    resources: data.resources ?? [],
    scopes: Array.isArray(data.permissions?.scopes) ? data.permissions.scopes : Object.keys(data.permissions?.scopes ?? {}),
    egress: { backend, configurable: data.permissions?.external?.configurable?.enabled === true },
    raw: verdict.content,
  };
}

/** What FullValidationProcessor says of a manifest: only what loadManifest reads, so that it can be cached as JSON. */
interface Verdict {
  success: boolean;
  errors: Array<{ level: string; line?: number; message: string }>;
  content?: Record<string, unknown>;
}

// One processor per process: building it compiles the whole manifest schema (about 2.5 s of CPU); reuse costs milliseconds.
let validator: FullValidationProcessor | undefined;

// Every test file that starts a host is a process of its own, so each would pay those 2.5 s. As build tools do,
// the verdict is cached under node_modules/.cache, keyed by all that the validator reads (see validationInputs);
// a stale entry is never read, since any change to those inputs is a new key. Losing the cache only costs time.
const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/lifeboat-forge-manifest/', import.meta.url));

async function validate(file: string): Promise<Verdict> {
  const inputs = await validationInputs(file).catch(() => undefined);
  const cached = inputs === undefined ? undefined : join(CACHE_DIR, `${createHash('sha256').update(JSON.stringify(inputs)).digest('hex')}.json`);
  if (cached) {
    const verdict = await readFile(cached, 'utf8').then((text) => JSON.parse(text) as Verdict, () => undefined);
    if (verdict) return verdict;
  }
  // Paths (handlers, resources) resolve from the manifest's folder, so no chdir is needed.
  // Loaded only on a miss: the package alone takes about 0.4 s to load.
  validator ??= new (await import('@forge/manifest')).FullValidationProcessor({});
  const result = await validator.process(file);
  const verdict: Verdict = {
    success: result.success,
    errors: (result.errors ?? []).map(({ level, line, message }) => ({ level, message, ...(line === undefined ? {} : { line }) })),
    ...(result.manifestObject ? { content: result.manifestObject.typedContent as unknown as Record<string, unknown> } : {}),
  };
  if (cached) {
    // Written aside, then renamed: a test file starting at the same time reads a whole entry or none.
    const part = `${cached}.${process.pid}.part`;
    await mkdir(CACHE_DIR, { recursive: true })
      .then(() => writeFile(part, JSON.stringify(verdict)))
      .then(() => rename(part, cached))
      .catch(() => {});
  }
  return verdict;
}

/**
 * All that FullValidationProcessor reads for `file`, or undefined when the
 * manifest names files beyond those listed here (then it is validated afresh):
 * the package's version, the manifest's text, which handler files exist under
 * src/ (ModulesValidator), and each resource folder's listing and index.html
 * (ResourcesValidator). Its messages name paths as the manifest writes them, so
 * the key holds no absolute path: a copy of the app elsewhere (the host tests'
 * variants in temp folders) shares the verdict. Translations (TranslationsValidator),
 * `app.package` (PackageValidator, and it moves the handlers' folder) and Rovo
 * skills (modules-validators/rovo) read other files: not cached.
 */
async function validationInputs(file: string): Promise<object | undefined> {
  const appDir = dirname(file);
  const { version } = JSON.parse(await readFile(join(dirname(createRequire(import.meta.url).resolve('@forge/manifest')), '..', 'package.json'), 'utf8')) as { version: string };
  const text = await readFile(file, 'utf8');
  const yaml = parseYaml(text) as (Partial<ValidManifest> & { translations?: unknown; app?: { package?: unknown } }) | null;
  if (!yaml || typeof yaml !== 'object') return { validator: version, text };
  if (yaml.translations !== undefined || yaml.app?.package !== undefined || Object.keys(yaml.modules ?? {}).some((type) => type.startsWith('rovo:'))) return undefined;
  const handlers = await Promise.all(
    (Array.isArray(yaml.modules?.function) ? yaml.modules.function : []).map(async ({ handler }) => {
      const base = join(appDir, 'src', String(handler).split('.')[0] ?? '');
      return Promise.all(HANDLER_EXTENSIONS.map((extension) => access(base + extension).then(() => extension, () => '')));
    }),
  );
  const resources = await Promise.all((Array.isArray(yaml.resources) ? yaml.resources : []).map(({ path }) => resourceFacts(resolve(appDir, String(path)))));
  return { validator: version, text, handlers, resources };
}

/** A resource path as ResourcesValidator sees it: what it is (lstat), what lies under it, and its index.html. */
async function resourceFacts(path: string): Promise<unknown> {
  const digest = (data: Buffer | undefined): string | undefined => data && createHash('sha256').update(data).digest('hex');
  const info = await lstat(path).catch(() => undefined);
  const kind = !info ? 'missing' : info.isDirectory() ? 'directory' : info.isFile() ? 'file' : info.isSymbolicLink() ? 'link' : 'other';
  const listing = await readdir(path, { recursive: true, withFileTypes: true }).then(
    (entries) => entries.map((entry) => `${relative(path, join(entry.parentPath, entry.name))}${entry.isDirectory() ? '/' : ''}`).sort(),
    () => undefined,
  );
  const content = listing ? undefined : digest(await readFile(path).catch(() => undefined));
  return { kind, listing, content, index: digest(await readFile(join(path, 'index.html')).catch(() => undefined)) };
}

const HANDLER_EXTENSIONS = ['.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs'];

/**
 * Where a handler lives, as Forge resolves it: `index.run` is export `run` of
 * src/index.(ts|tsx|js|jsx|mjs|cjs); `forge/jobs.consume` is export `consume` of src/forge/jobs.*.
 */
export async function locateHandler(appDir: string, handler: string): Promise<{ file: string; exportName: string }> {
  const dot = handler.lastIndexOf('.');
  const base = join(appDir, 'src', handler.slice(0, dot));
  const exportName = handler.slice(dot + 1);
  for (const extension of HANDLER_EXTENSIONS) {
    const file = base + extension;
    try {
      await access(file);
      return { file, exportName };
    } catch {
      // try the next extension
    }
  }
  throw new Error(`handler ${handler}: no file ${base}{${HANDLER_EXTENSIONS.join(',')}}`);
}
