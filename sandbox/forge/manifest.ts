// manifest.yml as the Forge host needs it: the functions and the modules that
// invoke them, scopes and egress. Only the parts the host runs are modelled; a
// feature the host cannot run faithfully (Forge Remote endpoints, trigger filter
// expressions, resolver-style consumers) is refused with a message rather than
// silently ignored.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

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
  /** `filter.ignoreSelf`: skip events the app caused itself (`selfGenerated`). */
  ignoreSelf: boolean;
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

const moduleKey = z.string().regex(/^[a-zA-Z0-9_-]+$/, 'module keys use [a-zA-Z0-9_-]');
const functionRef = z.string().regex(/^[a-zA-Z0-9-._]+$/).max(255);
const eventFilter = z.object({ ignoreSelf: z.boolean().optional(), expression: z.string().optional(), onError: z.string().optional() });
const egressEntry = z.union([z.string(), z.object({ address: z.string() }), z.object({ remote: z.string() })]);

const schema = z.object({
  app: z.object({
    id: z.string().optional(),
    runtime: z.object({
      name: z.enum(['nodejs20.x', 'nodejs22.x', 'nodejs24.x']),
      memoryMB: z.number().min(128).max(1024).optional(),
    }),
  }),
  permissions: z
    .object({
      scopes: z.union([z.array(z.string()), z.record(z.string(), z.unknown())]).optional(),
      external: z
        .object({
          fetch: z.object({ backend: z.array(egressEntry).optional() }).optional(),
          configurable: z.object({ enabled: z.boolean() }).optional(),
        })
        .optional(),
    })
    .optional(),
  modules: z
    .object({
      function: z
        .array(
          z.object({
            key: moduleKey,
            handler: z.string().regex(/^[^.]+(\.[^.]+)*\.[A-Za-z_$][\w$]*$/, 'handler is <file>.<export>, e.g. index.run'),
            timeoutSeconds: z.number().int().min(1).max(900).optional(),
          }),
        )
        .optional(),
      trigger: z
        .array(
          z.object({
            key: moduleKey,
            function: functionRef.optional(),
            endpoint: z.string().optional(),
            events: z.array(z.union([z.string(), z.object({ eventType: z.string(), filter: eventFilter.optional() })])),
            filter: eventFilter.optional(),
          }),
        )
        .optional(),
      scheduledTrigger: z
        .array(
          z.object({
            key: moduleKey,
            function: functionRef.optional(),
            endpoint: z.string().optional(),
            interval: z.enum(['fiveMinute', 'hour', 'day', 'week']),
          }),
        )
        .optional(),
      consumer: z
        .array(
          z.object({
            key: moduleKey,
            queue: z.string().regex(/^[a-zA-Z0-9-_]+$/).min(1).max(36),
            function: functionRef.optional(),
            resolver: z.unknown().optional(),
            endpoint: z.string().optional(),
          }),
        )
        .optional(),
    })
    .catchall(z.unknown())
    .optional(),
  resources: z.array(z.object({ key: z.string().max(23), path: z.string() })).optional(),
});

type RawModules = NonNullable<z.infer<typeof schema>['modules']>;

export class ManifestError extends Error {
  constructor(file: string, problems: string[]) {
    super(`${file} cannot be run by the sandbox Forge host:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

export async function loadManifest(appDir: string): Promise<ForgeManifest> {
  const file = join(appDir, 'manifest.yml');
  const raw: unknown = parse(await readFile(file, 'utf8'));
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ManifestError(file, parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const problems: string[] = [];
  const data = parsed.data;
  const modules: RawModules = data.modules ?? {};

  const functions = new Map<string, FunctionModule>();
  for (const fn of modules.function ?? []) {
    if (functions.has(fn.key)) problems.push(`function ${fn.key} is declared twice`);
    functions.set(fn.key, { key: fn.key, handler: fn.handler, ...(fn.timeoutSeconds === undefined ? {} : { timeoutSeconds: fn.timeoutSeconds }) });
  }
  const needFunction = (where: string, ref: { function?: string | undefined; endpoint?: string | undefined }): string => {
    if (ref.endpoint !== undefined) problems.push(`${where} uses a Forge Remote endpoint, which the sandbox cannot call`);
    else if (ref.function === undefined) problems.push(`${where} names no function`);
    else if (!functions.has(ref.function)) problems.push(`${where} names function ${ref.function}, which modules.function does not declare`);
    return ref.function ?? '';
  };

  const triggers: TriggerModule[] = [];
  for (const trigger of modules.trigger ?? []) {
    const where = `trigger ${trigger.key}`;
    const filters = [trigger.filter, ...trigger.events.map((e) => (typeof e === 'string' ? undefined : e.filter))];
    if (filters.some((f) => f?.expression !== undefined)) problems.push(`${where} has a filter expression, which the sandbox cannot evaluate`);
    const ignoreSelf = filters.some((f) => f?.ignoreSelf === true);
    triggers.push({ key: trigger.key, function: needFunction(where, trigger), events: trigger.events.map((e) => (typeof e === 'string' ? e : e.eventType)), ignoreSelf });
  }

  const scheduledTriggers = (modules.scheduledTrigger ?? []).map((t) => ({
    key: t.key,
    function: needFunction(`scheduledTrigger ${t.key}`, t),
    interval: t.interval,
  }));

  const consumers: ConsumerModule[] = [];
  for (const consumer of modules.consumer ?? []) {
    const where = `consumer ${consumer.key}`;
    if (consumer.resolver !== undefined) {
      problems.push(`${where} uses the resolver form of @forge/events 1.x; @forge/events 2+ consumers name a function`);
      continue;
    }
    if (consumers.some((c) => c.queue === consumer.queue)) problems.push(`queue ${consumer.queue} has more than one consumer`);
    consumers.push({ key: consumer.key, queue: consumer.queue, function: needFunction(where, consumer) });
  }

  const resolverModules = new Map<string, ResolverModule>();
  const pages: Record<PageModuleType, PageModule[]> = { 'bitbucket:repoSettingsMenuPage': [], 'bitbucket:workspaceSettingsMenuPage': [] };
  for (const [type, list] of Object.entries(modules)) {
    if (['function', 'trigger', 'scheduledTrigger', 'consumer'].includes(type) || !Array.isArray(list)) continue;
    for (const entry of list as unknown[]) {
      const mod = z
        .object({ key: moduleKey, title: z.string().optional(), resource: z.string().optional(), resolver: z.object({ function: z.string().optional(), endpoint: z.string().optional() }).optional() })
        .safeParse(entry);
      if (!mod.success) {
        problems.push(`modules.${type}: ${mod.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        continue;
      }
      const { key, title, resource, resolver } = mod.data;
      if ((PAGE_MODULE_TYPES as readonly string[]).includes(type)) {
        if (title === undefined || resource === undefined) problems.push(`${type} ${key} needs a title and a resource (Custom UI); UI Kit 1 pages were removed from Forge`);
        else pages[type as PageModuleType].push({ key, title, resource, ...(resolver?.function === undefined ? {} : { function: resolver.function }) });
      }
      if (!resolver) continue;
      if (resolverModules.has(key)) problems.push(`module key ${key} is used twice`);
      resolverModules.set(key, {
        key,
        type,
        function: needFunction(`${type} ${key} resolver`, resolver),
        ...(title === undefined ? {} : { title }),
        ...(resource === undefined ? {} : { resource }),
      });
    }
  }

  const resources = data.resources ?? [];
  for (const mod of resolverModules.values()) {
    if (mod.resource !== undefined && !resources.some((r) => r.key === mod.resource)) problems.push(`${mod.type} ${mod.key} names resource ${mod.resource}, which resources does not declare`);
  }

  const backend: string[] = [];
  for (const entry of data.permissions?.external?.fetch?.backend ?? []) {
    if (typeof entry === 'string') backend.push(entry);
    else if ('address' in entry) backend.push(entry.address);
    else problems.push(`permissions.external.fetch.backend remote ${entry.remote}: Forge Remote egress is not supported by the sandbox`);
  }
  const scopes = data.permissions?.scopes;

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
    resources,
    scopes: Array.isArray(scopes) ? scopes : Object.keys(scopes ?? {}),
    egress: { backend, configurable: data.permissions?.external?.configurable?.enabled === true },
    raw: raw as Record<string, unknown>,
  };
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
