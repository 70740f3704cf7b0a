/**
 * The local world: everything Lifeboat needs from the cloud, on 127.0.0.1.
 * s3rver stands in for the customer's bucket, the emulator for Bitbucket
 * (REST + git), the Forge host for Atlassian's runtime, and the UI server for
 * Bitbucket's settings pages that frame the app's Custom UI. The app's own code
 * runs unmodified inside the host.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startBitbucketEmulator, type Emulator, type GitLimits } from './bitbucket/index.js';
import type { Result } from '../src/contract.js';
import type { WorkspaceSettingsInput } from '../src/settings.js';
import { DEMO_REPOSITORIES, DEMO_USERS, DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN, type DemoRole } from './demo.js';
import { startForgeHost, type EgressGroup, type ForgeHost, type Limits, type ManualClock, type ProductEvent } from './forge/index.js';
import { loadManifest, PAGE_MODULE_TYPES } from './forge/manifest.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rver } from './s3.js';
import { startUiServer, type FramedPage, type UiServer } from './ui/server.js';

export const DEMO_BUCKET = 'lifeboat-demo';

export interface WorldPorts {
  ui: number;
  bitbucket: number;
  s3: number;
}

/** Fixed ports, so the URLs a person bookmarks keep working across restarts. */
export const DEFAULT_PORTS: WorldPorts = { ui: 7100, bitbucket: 7990, s3: 4568 };

export interface WorldOptions {
  /** The app: manifest.yml, src/, static/. */
  appDir: string;
  /** All state: bucket, Bitbucket, KVS. */
  dataDir: string;
  /** Start from a fresh seed. */
  reset?: boolean;
  ports?: WorldPorts;
  log?: (line: string) => void;
  /** Tests shrink the Forge host's delays and timeouts. */
  hostLimits?: Partial<Limits>;
  /** Tests: the Forge host's delays wait on this clock (ForgeHostOptions.clock). */
  clock?: ManualClock;
  /** Forge variables for the app (`forge variables set`). */
  appVariables?: Record<string, string>;
  /** The Bitbucket emulator's log: a line per request (tests count REST calls with it) and its errors. */
  bitbucketLog?: (line: string) => void;
  /** Empty repositories seeded besides the demo ones (tests of a large workspace). */
  extraRepositories?: number;
  /** Tests: Bitbucket's git limits (rate, push, file and repository sizes) instead of the environment's or Bitbucket's. */
  bitbucketLimits?: Partial<GitLimits>;
}

/** What `npm start` prints, also written to <dataDir>/world.json for scripts. */
export interface WorldUrls {
  pages: {
    home: string;
    workspaceAdmin: string;
    repositorySettings: Record<string, string>;
  };
  bitbucket: {
    api: string;
    git: Record<string, string>;
    /** Git credentials: user name and password to give `git` (or to put in the URL). */
    gitCredentials: Array<{ who: string; username: string; password: string }>;
  };
  bucket: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
}

export interface World {
  urls: WorldUrls;
  emulator: Emulator;
  host: ForgeHost;
  ui: UiServer;
  close(): Promise<void>;
}

export async function startWorld(options: WorldOptions): Promise<World> {
  const log = options.log ?? (() => {});
  const ports = options.ports ?? DEFAULT_PORTS;
  if (options.reset) await rm(options.dataDir, { recursive: true, force: true });
  const dirs = { s3: join(options.dataDir, 's3'), bitbucket: join(options.dataDir, 'bitbucket'), forge: join(options.dataDir, 'forge') };
  await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true })));

  const started: Array<{ close(): Promise<void> }> = [];
  const close = async (): Promise<void> => {
    for (const part of started.reverse()) await part.close().catch((error: unknown) => log(`[world] stopping: ${String(error)}`));
  };
  try {
    const s3: S3rver = await startS3rver({ directory: dirs.s3, bucket: DEMO_BUCKET, port: ports.s3 });
    started.push(s3);

    // The emulator starts first (the host needs its URL); an event that comes before
    // the host is up waits for it, as Forge delivers events late rather than never.
    const delivery: { host?: ForgeHost; early: ProductEvent[] } = { early: [] };
    // The app's Bitbucket calls get exactly the scopes its manifest declares, as on Forge.
    const { scopes: appScopes } = await loadManifest(options.appDir);
    const emulator = await startBitbucketEmulator({
      dataDir: dirs.bitbucket,
      port: ports.bitbucket,
      seed: true,
      ...(options.extraRepositories ? { extraRepositories: options.extraRepositories } : {}),
      ...(options.bitbucketLimits ? { gitLimits: options.bitbucketLimits } : {}),
      appScopes: [...appScopes],
      ...(options.bitbucketLog ? { log: options.bitbucketLog } : {}),
      onEvent: async (event) => {
        const productEvent = event as unknown as ProductEvent;
        log(`[bitbucket] event ${productEvent.eventType}`);
        if (delivery.host) await delivery.host.deliverEvent(productEvent);
        else delivery.early.push(productEvent);
      },
    });
    started.push(emulator);

    const host = await startForgeHost({
      appDir: options.appDir,
      dataDir: dirs.forge,
      installation: { workspaceId: DEMO_WORKSPACE.uuid },
      bitbucket: { apiUrl: emulator.url, authorization: (accountId) => emulator.forgeAppAuthorization(accountId) },
      // Bitbucket's LFS batch API hands out transfer hrefs on Atlassian's media host (sandbox/bitbucket/lfs.ts).
      standIns: { 'https://api.bitbucket.org': emulator.url, 'https://bitbucket.org': emulator.url, 'https://api.media.atlassian.com': emulator.mediaUrl },
      customerEgress: [s3.endpoint],
      log,
      ...(options.hostLimits ? { limits: options.hostLimits } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.appVariables ? { env: options.appVariables } : {}),
    });
    started.push(host);
    delivery.host = host;
    for (const event of delivery.early.splice(0)) await host.deliverEvent(event);

    const modules = pageModules(host);
    const ui = await startUiServer({
      port: ports.ui,
      appDir: options.appDir,
      modules,
      workspace: { uuid: DEMO_WORKSPACE.uuid, slug: DEMO_WORKSPACE.slug, name: DEMO_WORKSPACE.name },
      repositories: async () => emulator.state().repositories
        .filter((repository) => repository.workspaceUuid === DEMO_WORKSPACE.uuid)
        .map(({ uuid, slug, name }) => ({ uuid, slug, name })),
      users: DEMO_USERS,
      invoke: (call) => host.invokeResolver(call),
      egress: {
        get: (keys) => host.egressGroups.get(keys),
        set(egresses, as) {
          if (as !== 'admin') throw new Error(`Only a workspace admin can allow an app to reach more domains; ${DEMO_USERS[as as DemoRole]?.displayName ?? as} is not one.`);
          return host.egressGroups.set(egresses as EgressGroup[]);
        },
      },
      scheduledTriggers: { keys: host.manifest.scheduledTriggers.map((trigger) => trigger.key), run: (key) => host.runScheduledTrigger(key) },
      events: {
        subscribed: [...new Set(host.manifest.triggers.flatMap((trigger) => trigger.events))],
        deliver: (event) => host.deliverEvent(event),
        delivered: () => host.deliveredEvents(),
      },
      log,
    });
    started.push(ui);

    const urls = worldUrls({ ui, modules, emulator, s3 });
    const urlFile = join(options.dataDir, 'world.json');
    await writeFile(`${urlFile}.tmp`, `${JSON.stringify(urls, null, 2)}\n`);
    await rename(`${urlFile}.tmp`, urlFile);
    return { urls, emulator, host, ui, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Settings that work in this world: the local bucket and the demo workspace access token. */
export function workingSettings({ urls }: Pick<World, 'urls'>): WorkspaceSettingsInput {
  return {
    bucket: { endpoint: urls.bucket.endpoint + '/', region: 'us-east-1', name: urls.bucket.bucket, prefix: 'lifeboat', addressing: 'path', accessKeyId: urls.bucket.accessKeyId },
    encryption: { recipients: [] },
    objectLock: { enabled: false, mode: 'GOVERNANCE', days: 30 },
    schedule: { interval: 'day' },
    retention: { keepDaily: 7, keepWeekly: 4 },
    repositories: { mode: 'all', chosen: [], includeNew: true },
    overrides: {},
    bitbucket: { credential: 'access-token', email: '' },
  };
}

/** Saves working settings as the workspace admin would, through the admin page's resolver (`npm start -- --configured`, tests). */
export async function configureWorld(world: World, change: Partial<WorkspaceSettingsInput> = {}, confirm: { confirmDowngrade?: true } = {}): Promise<void> {
  const answer = await world.host.invokeResolver({
    moduleKey: 'lifeboat-workspace-admin',
    functionKey: 'saveSettings',
    payload: { settings: { ...workingSettings(world), ...change }, bucketSecretAccessKey: world.urls.bucket.secretAccessKey, bitbucketToken: DEMO_WORKSPACE_TOKEN.token, ...confirm },
    accountId: DEMO_USERS.admin.accountId,
    extension: { type: 'bitbucket:workspaceSettingsMenuPage' },
  });
  if (!answer.ok) throw new Error(`saveSettings failed: ${answer.error.message}`);
  const result = answer.body as Result<unknown>;
  if (!result.ok) throw new Error(`saveSettings: ${result.error.code} ${result.error.message}`);
}

/** The Custom UI pages the manifest declares, with the folder each resource is built into. */
function pageModules(host: ForgeHost): FramedPage[] {
  const manifest = host.manifest;
  const resources = new Map(manifest.resources.map((resource) => [resource.key, resource.path]));
  const pages = PAGE_MODULE_TYPES.flatMap((type) => manifest.modules[type].map((module) => ({ ...module, type })));
  return pages.map((page) => {
    const resourcePath = resources.get(page.resource);
    if (!resourcePath) throw new Error(`manifest.yml: module ${page.key} names resource ${page.resource}, which is not declared`);
    return { ...page, resourcePath };
  });
}

function worldUrls({ ui, modules, emulator, s3 }: { ui: UiServer; modules: FramedPage[]; emulator: Emulator; s3: S3rver }): WorldUrls {
  const keyOf = (type: FramedPage['type']): string => {
    const module = modules.find((candidate) => candidate.type === type);
    if (!module) throw new Error(`manifest.yml declares no ${type} module`);
    return module.key;
  };
  const repoPage = keyOf('bitbucket:repoSettingsMenuPage');
  return {
    pages: {
      home: ui.url,
      workspaceAdmin: ui.pageUrl(keyOf('bitbucket:workspaceSettingsMenuPage'), { as: 'admin' }),
      repositorySettings: Object.fromEntries(DEMO_REPOSITORIES.map((repository) => [
        repository.slug,
        ui.pageUrl(repoPage, { repositorySlug: repository.slug, as: repository.repoAdmin ?? 'admin' }),
      ])),
    },
    bitbucket: {
      api: `${emulator.url}/2.0`,
      git: Object.fromEntries(DEMO_REPOSITORIES.map((repository) => [repository.slug, emulator.gitUrl(DEMO_WORKSPACE.slug, repository.slug)])),
      gitCredentials: [
        ...Object.values(DEMO_USERS).map((user) => ({ who: `${user.displayName} (API token)`, username: 'x-bitbucket-api-token-auth', password: user.apiToken })),
        { who: 'workspace access token', username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token },
      ],
    },
    bucket: { endpoint: s3.endpoint, bucket: DEMO_BUCKET, ...S3RVER_CREDENTIALS },
  };
}
