/**
 * A stand-in for Bitbucket Cloud on 127.0.0.1: REST API 2.0 and git smart
 * HTTP, for `npm start` and the tests, and on a second origin the stand-in for
 * Atlassian's media host, where LFS transfers go (lfs.ts).
 *
 * Data directory:
 *   <dataDir>/state.json                              everything but git (atomic writes)
 *   <dataDir>/git/<workspace-slug>/<repo-slug>.git    bare repositories
 * Restarting on the same directory keeps everything; `seed` fills an empty one
 * with the demo world of sandbox/demo.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { actingUser, canSeeWorkspace, atLeast, ForgeIdentity, FORGE_APP_USER, repositoryPermission } from './auth.js';
import { registerCoreRoutes } from './core-routes.js';
import { EventBus, eventActor, type EventDeliverySettings, type ForgeProductEvent } from './events.js';
import { createFaultKnobs, type FaultKnobs } from './faults.js';
import { directorySize, initBare, listRefInfo, repositoryGitDir, setHead } from './git.js';
import { defaultGitLimits, type GitLimits } from './limits.js';
import type { AccessToken, AccessTokenKind, EmulatorState, Repository, User, WorkspacePermission } from './model.js';
import { paginate } from './paging.js';
import { GIT_REQUESTS_PER_HOUR, RateLimiter } from './ratelimit.js';
import { resourceModules as defaultResourceModules } from './resources/index.js';
import { RouteAnswer, type RouteKit, type RouteRequest } from './routes.js';
import { seedDemoWorld, type ResourceModule } from './seed.js';
import { errorResponse, Serializer } from './serialize.js';
import { MediaStandIn } from './lfs.js';
import { EmulatorServer, type LfsBatchLog, Router, type RequestRecord } from './server.js';
import { allForgeScopes } from './spec.js';
import { Store } from './store.js';

export type { ForgeProductEvent, PushEvent, CommitPush, TagPush, PushCommit, PullRequestEvent, PullRequestEventType, RepositoryLifecycleEvent, RepositoryUpdatedEvent, ForgeEventActor, ForgeEventResource, EventDeliverySettings } from './events.js';
export type { FaultKnobs } from './faults.js';
export { DEFAULT_GIT_LIMITS, defaultGitLimits, sizeLabel, type GitLimits } from './limits.js';
export type { RequestRecord } from './server.js';
export type { ResourceModule } from './seed.js';
export { validateResponse, validateSchema, findOperation } from './spec.js';

export interface EmulatorOptions {
  dataDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The media stand-in's port; 0 (default) picks a free one. */
  mediaPort?: number;
  /** Seed the demo world when dataDir holds no state yet. */
  seed?: boolean;
  /** With seed: this many empty repositories besides the demo ones (a workspace of hundreds or thousands). */
  extraRepositories?: number;
  /** REST requests per credential per rolling hour (default 1000); git has its own 60,000. */
  rateLimitPerHour?: number;
  /** Forge scopes granted to the app (manifest.yml `permissions.scopes`); default: every scope the spec names. */
  appScopes?: string[];
  /** Receives Forge product events (asynchronously, after `events.delayMs`, 1 + `events.duplicate` times). */
  onEvent?: (event: ForgeProductEvent) => void | Promise<void>;
  /** Request log lines; without it they are printed only when LIFEBOAT_SANDBOX_DEBUG is set. Errors always go here (or to stderr). */
  log?: (line: string) => void;
  /** The resource modules (pull requests, settings…); default: resources/index.ts. */
  resourceModules?: readonly ResourceModule[];
  /** Bitbucket's git transfer limits; default: Bitbucket's, with what the environment sets (limits.ts). */
  gitLimits?: Partial<GitLimits>;
}

export interface NewApiToken {
  /** Workspace slug the service account joins. */
  workspace: string;
  /** Its role there: owners administer every repository of the workspace. */
  permission: WorkspacePermission;
  /** API token scopes (read:repository:bitbucket…). */
  scopes: string[];
}

export interface NewAccessToken {
  kind: AccessTokenKind;
  /** Workspace slug. */
  workspace: string;
  /** Repository slug, for repository tokens. */
  repository?: string;
  /** Project key, for project tokens. */
  projectKey?: string;
  scopes: string[];
  /** The secret; default: a random one. */
  token?: string;
}

export interface Emulator {
  /** http://127.0.0.1:port (REST under /2.0). */
  url: string;
  gitUrl(workspace: string, repository: string): string;
  /** The Authorization header a Forge host sends for requestBitbucket: asApp, or asUser on behalf of `accountId`. */
  forgeAppAuthorization(accountId?: string): string;
  /** Fault knobs, settable at runtime. */
  faults: FaultKnobs;
  /** Bitbucket's limits on git transfers (rate, push, file and repository sizes), settable at runtime. */
  limits: GitLimits;
  /**
   * Turns a repository's push file size limit on or off, as its admin does in Repository settings > Advanced
   * (Bitbucket offers no API for it; model.ts `fileSizeLimitDisabled`).
   */
  setFileSizeLimit(workspace: string, repository: string, enabled: boolean): Promise<void>;
  /** Event delivery: delay and duplicates, settable at runtime. */
  events: EventDeliverySettings;
  /** Every LFS batch request so far (`<ws>/<repo>`, operation, oids), oldest first. */
  lfsBatches: LfsBatchLog[];
  /** http://127.0.0.1:port of the stand-in for Atlassian's media host (api.media.atlassian.com), where LFS hrefs point. */
  mediaUrl: string;
  /** Every LFS transfer the media stand-in answered, oldest first. */
  lfsTransfers: Array<{ operation: 'download' | 'upload'; oid: string; status: number }>;
  /** The live state (read it; change it only through the API). */
  state(): EmulatorState;
  /** A repository's bare git directory. */
  gitDir(workspace: string, repository: string): string;
  /** Creates an access token (Bitbucket offers no API for that) with its bot user. */
  createAccessToken(options: NewAccessToken): Promise<AccessToken>;
  /** Creates a service account in a workspace with an API token of these scopes (what the admin page advises). */
  createApiToken(options: NewApiToken): Promise<User>;
  /** Every request answered since the start (or the last `clearRequests`), oldest first. */
  requests(): readonly RequestRecord[];
  clearRequests(): void;
  /** Resolves when the requests so far are done and every event they caused has been delivered. */
  eventsIdle(): Promise<void>;
  close(): Promise<void>;
}

/** Fixed clock and UUIDs while seeding, so that the demo world is the same every time. */
class SeedClock {
  private tick = 0;
  private uuids = 0;
  active = false;

  now(): string {
    return new Date(Date.parse('2026-10-12T09:00:00Z') + 1000 * this.tick++).toISOString();
  }

  uuid(): string {
    const hex = createHash('sha256').update(`lifeboat-seed-${this.uuids++}`).digest('hex');
    return `{${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((Number.parseInt(hex[16] ?? '0', 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}}`;
  }
}

export async function startBitbucketEmulator(options: EmulatorOptions): Promise<Emulator> {
  const debugging = options.log !== undefined || Boolean(process.env.LIFEBOAT_SANDBOX_DEBUG);
  const log = options.log ?? ((line: string) => console.error(line));
  const store = await Store.open(options.dataDir);
  const state = (): EmulatorState => store.state;
  const gitRoot = join(options.dataDir, 'git');
  const modules = options.resourceModules ?? defaultResourceModules;
  let origin = '';
  const clock = new SeedClock();
  const events = new EventBus(options.onEvent, log);
  const forge = new ForgeIdentity();
  const faults = createFaultKnobs();
  const gitLimits: GitLimits = { ...defaultGitLimits(), ...options.gitLimits };
  const requests: RequestRecord[] = [];
  const lfsBatches: LfsBatchLog[] = [];
  const lfsTransfers: Emulator['lfsTransfers'] = [];
  let mediaOrigin = '';
  const media = new MediaStandIn(() => mediaOrigin, (transfer) => lfsTransfers.push(transfer));

  const workspaceOf = (repository: Repository) => {
    const workspace = store.state.workspaces.find((candidate) => candidate.uuid === repository.workspaceUuid);
    if (!workspace) throw new Error(`state: repository ${repository.slug} names no workspace`);
    return workspace;
  };
  const gitDirOf = (repository: Repository): string => repositoryGitDir(gitRoot, workspaceOf(repository).slug, repository.slug);
  // Bitbucket recomputes a repository's size lazily too; walking the directory for every repository JSON (a page of
  // 50 pull requests names 100) would make the emulator, not the client, the cost of a large export.
  const sizes = new Map<string, { at: number; size: number }>();
  const repositorySize = (repository: Repository): number => {
    const dir = gitDirOf(repository);
    const known = sizes.get(dir);
    if (known && Date.now() - known.at < 2000) return known.size;
    const size = directorySize(dir);
    sizes.set(dir, { at: Date.now(), size });
    return size;
  };
  const serializer = new Serializer({ state, origin: () => origin, repositorySize });

  const kit: RouteKit = {
    state,
    // While seeding, one save at the end: a seed cut short leaves no state.json, so the next start seeds again.
    save: () => (clock.active ? Promise.resolve() : store.save()),
    nextId: (sequence) => store.nextId(sequence),
    now: () => (clock.active ? clock.now() : new Date().toISOString()),
    newUuid: () => (clock.active ? clock.uuid() : `{${randomUUID()}}`),
    workspace(request) {
      const id = request.params.workspace ?? '';
      const workspace = store.state.workspaces.find((candidate) => candidate.slug === id.toLowerCase() || candidate.uuid === id);
      if (workspace && canSeeWorkspace(request.principal, workspace)) return workspace;
      if (workspace && request.principal.kind === 'anonymous') throw new RouteAnswer(errorResponse(401, 'Authentication required'));
      throw new RouteAnswer(errorResponse(404, `No workspace with identifier '${id}'.`));
    },
    repository(request, need) {
      const workspace = kit.workspace(request);
      const slug = request.params.repo_slug ?? '';
      const repository = store.state.repositories.find((candidate) => candidate.workspaceUuid === workspace.uuid && (candidate.slug === slug.toLowerCase() || candidate.uuid === slug));
      const notFound = new RouteAnswer(errorResponse(404, `Repository ${workspace.slug}/${slug} not found`));
      if (!repository) throw notFound;
      const permission = repositoryPermission(store.state, request.principal, repository);
      if (request.principal.kind === 'anonymous' && !atLeast(permission, need)) throw new RouteAnswer(errorResponse(401, 'Authentication required'));
      // Bitbucket hides a repository the caller may not read: 404, as if it did not exist.
      if (permission === undefined) throw notFound;
      if (!atLeast(permission, need)) throw new RouteAnswer(errorResponse(403, `Access denied. You must have ${need === 'admin' ? 'admin' : 'write or admin'} access to ${workspace.slug}/${repository.slug}.`));
      return repository;
    },
    repositoryData<T>(repository: Repository, resource: string, initial: () => T): T {
      const data = (store.state.repositoryData[repository.uuid] ??= {});
      if (!(resource in data)) data[resource] = initial();
      return data[resource] as T;
    },
    paginate: (request, items, pageOptions) => paginate(request.url, origin, items, pageOptions),
    error: errorResponse,
    userJson: (user) => serializer.userJson(user),
    workspaceJson: (workspace) => serializer.workspaceJson(workspace),
    repositoryJson: (repository) => serializer.repositoryJson(repository),
    apiUrl: (path) => serializer.apiUrl(path),
    webUrl: (path) => serializer.webUrl(path),
    userByUuid: (uuid) => store.state.users.find((user) => user.uuid === uuid),
    emit: (event) => events.emit(event),
    eventActor(request: RouteRequest) {
      const user = actingUser(request.principal);
      if (!user) throw new Error('an anonymous request cannot cause an event');
      return { actor: eventActor(user), selfGenerated: request.principal.kind === 'forge-app' };
    },
    gitDirectory(repository) {
      const path = gitDirOf(repository);
      return existsSync(path) ? path : null;
    },
  };

  const router = new Router(log);
  registerCoreRoutes(router, {
    serializer,
    createStorage: (repository) => initBare(gitDirOf(repository), repository.mainBranch),
    deleteStorage: (repository) => rm(gitDirOf(repository), { recursive: true, force: true }),
    updateStorage: (repository) => setHead(gitDirOf(repository), repository.mainBranch),
    listRefs: (repository, kind) => listRefInfo(gitDirOf(repository), kind),
  });
  for (const module of modules) module.register(router);

  const emulatorServer = new EmulatorServer({
    state,
    router,
    kit,
    forge,
    appScopes: options.appScopes ?? allForgeScopes(),
    faults,
    gitLimits,
    apiLimiter: new RateLimiter(options.rateLimitPerHour ?? 1000),
    gitLimiter: new RateLimiter(GIT_REQUESTS_PER_HOUR),
    gitRoot,
    media,
    onLfsBatch: (batch) => lfsBatches.push(batch),
    origin: () => origin,
    async onPush(repository, principal, changes) {
      const user: User = actingUser(principal) ?? FORGE_APP_USER;
      const project = store.state.projects.find((candidate) => candidate.workspaceUuid === repository.workspaceUuid && candidate.key === repository.projectKey);
      repository.updatedOn = new Date().toISOString();
      await store.save();
      const timestamp = new Date().toISOString();
      for (const push of changes) {
        // push-branch.json, push-annotated-tag.json: the repository with its slug.
        events.emit({
          eventType: 'avi:bitbucket:push:repository',
          actor: eventActor(user),
          workspace: { uuid: repository.workspaceUuid },
          repository: { uuid: repository.uuid, slug: repository.slug },
          project: { uuid: project?.uuid ?? '' },
          timestamp,
          // Never the app's own: a Forge function has no git identity (it pushes with a stored credential).
          selfGenerated: false,
          push,
        });
      }
    },
    onRequest: (record) => requests.push(record),
    ...(debugging ? { debug: log } : {}),
    log,
  });

  // Requests wait until seeding is done (a fixed port is reachable before that).
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => { markReady = resolve; });
  const server = createServer((req, res) => {
    void ready.then(() => emulatorServer.handle(req, res));
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const mediaServer = createServer((req, res) => {
    media.handle(req, res).catch((error: unknown) => {
      log(`[media] ${req.method} ${req.url} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  mediaServer.listen(options.mediaPort ?? 0, '127.0.0.1');
  try {
    await new Promise<void>((resolve, reject) => {
      mediaServer.once('listening', resolve);
      mediaServer.once('error', reject);
    });
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  mediaOrigin = `http://127.0.0.1:${(mediaServer.address() as AddressInfo).port}`;

  const close = async (): Promise<void> => {
    await Promise.all([server, mediaServer].map((listening) => new Promise<void>((resolve) => {
      listening.close(() => resolve());
      listening.closeAllConnections();
    })));
    await emulatorServer.idle();
    await events.close();
    await store.flush();
  };

  try {
    if (options.seed && !store.existed) {
      clock.active = true;
      try {
        await seedDemoWorld({ state: store.state, gitRoot, kit, modules, ...(options.extraRepositories ? { extraRepositories: options.extraRepositories } : {}) });
      } finally {
        clock.active = false;
      }
      await store.save();
    }
  } catch (error) {
    await close();
    throw error;
  }
  markReady();

  return {
    url: origin,
    gitUrl: (workspace, repository) => `${origin}/${workspace}/${repository}.git`,
    forgeAppAuthorization: (accountId) => forge.authorization(accountId),
    faults,
    limits: gitLimits,
    async setFileSizeLimit(workspaceSlug, repositorySlug, enabled) {
      const workspace = store.state.workspaces.find((candidate) => candidate.slug === workspaceSlug);
      const repository = workspace && store.state.repositories.find((candidate) => candidate.workspaceUuid === workspace.uuid && candidate.slug === repositorySlug);
      if (!repository) throw new Error(`setFileSizeLimit: no repository ${workspaceSlug}/${repositorySlug}`);
      if (enabled) delete repository.fileSizeLimitDisabled;
      else repository.fileSizeLimitDisabled = true;
      await store.save();
    },
    lfsBatches,
    mediaUrl: mediaOrigin,
    lfsTransfers,
    events: events.settings,
    state,
    gitDir: (workspace, repository) => repositoryGitDir(gitRoot, workspace, repository),
    async createAccessToken(request) {
      const workspace = store.state.workspaces.find((candidate) => candidate.slug === request.workspace);
      if (!workspace) throw new Error(`createAccessToken: no workspace ${request.workspace}`);
      const repository = request.repository === undefined ? undefined : store.state.repositories.find((candidate) => candidate.workspaceUuid === workspace.uuid && candidate.slug === request.repository);
      if (request.kind === 'repository' && !repository) throw new Error(`createAccessToken: no repository ${request.workspace}/${request.repository ?? '(missing)'}`);
      if (request.kind === 'project' && !store.state.projects.some((project) => project.workspaceUuid === workspace.uuid && project.key === request.projectKey)) {
        throw new Error(`createAccessToken: no project ${request.projectKey ?? '(missing)'} in ${workspace.slug}`);
      }
      const bot: User = {
        uuid: `{${randomUUID()}}`,
        accountId: `712020:${randomUUID()}`,
        nickname: `${request.kind}-access-token-${store.state.accessTokens.length + 1}`,
        displayName: `${request.kind === 'repository' ? repository?.name : request.kind === 'project' ? request.projectKey : workspace.name} ${request.kind} access token`,
        email: '',
        apiToken: '',
        createdOn: new Date().toISOString(),
      };
      const token: AccessToken = {
        token: request.token ?? `ATCTT3xFfGN0${randomUUID().replace(/-/g, '')}`,
        kind: request.kind,
        workspaceUuid: workspace.uuid,
        ...(request.kind === 'repository' && repository ? { repositoryUuid: repository.uuid } : {}),
        ...(request.kind === 'project' ? { projectKey: request.projectKey } : {}),
        scopes: [...request.scopes],
        botUserUuid: bot.uuid,
      };
      store.state.users.push(bot);
      store.state.accessTokens.push(token);
      await store.save();
      return token;
    },
    async createApiToken(request) {
      const workspace = store.state.workspaces.find((candidate) => candidate.slug === request.workspace);
      if (!workspace) throw new Error(`createApiToken: no workspace ${request.workspace}`);
      const id = randomUUID();
      const user: User = {
        uuid: `{${randomUUID()}}`,
        accountId: `712020:${id}`,
        nickname: `service-account-${id.slice(0, 8)}`,
        displayName: 'Service account',
        email: `service-${id.slice(0, 8)}@example.com`,
        apiToken: `ATATT3xFfGF0${id.replace(/-/g, '')}`,
        apiTokenScopes: [...request.scopes],
        createdOn: new Date().toISOString(),
      };
      store.state.users.push(user);
      workspace.members.push({ userUuid: user.uuid, permission: request.permission });
      await store.save();
      return user;
    },
    requests: () => requests,
    clearRequests: () => {
      requests.length = 0;
    },
    async eventsIdle() {
      await emulatorServer.idle();
      await events.idle();
    },
    close,
  };
}
