/**
 * The app in the local world, for end-to-end tests: the real sandbox (emulator,
 * s3rver, Forge host running src/index.ts) on free ports in a temp folder, with
 * helpers that act the way a person would — through the pages' resolvers, as a
 * chosen demo user, and with plain git.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminPageResolvers, RepoPageResolvers } from '../../src/contract.js';
import type { WorkspaceSettingsInput } from '../../src/settings.js';
import type { SigningKey, Trust } from '../../src/engine/bucket/signing.js';
import { DEMO_REPOSITORIES, DEMO_USERS, DEMO_WORKSPACE, type DemoRole } from '../../sandbox/demo.js';
import type { GitLimits } from '../../sandbox/bitbucket/index.js';
import type { Limits, ManualClock } from '../../sandbox/forge/index.js';
import { configureWorld, startWorld, workingSettings, type World } from '../../sandbox/world.js';

const appDir = fileURLToPath(new URL('../..', import.meta.url));

type Payload<D, K extends keyof D> = D[K] extends (request: infer P) => unknown ? P : undefined;
type Answer<D, K extends keyof D> = D[K] extends (...args: never[]) => infer R ? R : never;

export interface AppWorld {
  world: World;
  dataDir: string;
  /** A repository settings page resolver, called as `as` on the page of `repositorySlug`. */
  repoPage<K extends keyof RepoPageResolvers>(key: K, payload: Payload<RepoPageResolvers, K>, options: { as: DemoRole; repositorySlug: string }): Promise<Answer<RepoPageResolvers, K>>;
  /** A workspace admin page resolver, called as `as`. */
  adminPage<K extends keyof AdminPageResolvers>(key: K, payload: Payload<AdminPageResolvers, K>, options?: { as?: DemoRole }): Promise<Answer<AdminPageResolvers, K>>;
  /** Saves working settings (the local bucket, the workspace access token) as the workspace admin. */
  /** Saves the working settings with `change`; `confirm` answers the page's confirmation (turning encryption off). */
  configure(change?: Partial<WorkspaceSettingsInput>, confirm?: { confirmDowngrade?: true }): Promise<void>;
  repositoryUuid(slug: string): string;
  /**
   * What the app trusts, from its own KVS record of its signing keys (none before its first backup),
   * refusing anything else: a test reading the bucket with it checks that the app signed what it reads.
   */
  trust(): Trust;
  /**
   * The app's own signing key (made if it has none yet) and its trust: for snapshots a test writes with the engine
   * in the app's stead. Read inside an invocation of the host, the way the app reads its secret.
   */
  signer(): Promise<{ signingKey: SigningKey; trust: Trust }>;
  /** An authenticated https-style git URL for `git` commands (Alice's API token). */
  gitUrl(slug: string): string;
  /** Stops the world; its data is removed unless the caller gave it (options.dataDir). */
  close(): Promise<void>;
}

export async function startAppWorld(options: {
  /** A world's data kept from an earlier start (KVS, bucket, Bitbucket): a restart; the caller removes it. */
  dataDir?: string;
  /** Fixed ports (a restart takes the earlier world's, which the saved settings name); free ones by default. */
  ports?: { ui: number; bitbucket: number; s3: number };
  hostLimits?: Partial<Limits>; bitbucketLimits?: Partial<GitLimits>; clock?: ManualClock; appVariables?: Record<string, string>; log?: (line: string) => void; bitbucketLog?: (line: string) => void; extraRepositories?: number } = {}): Promise<AppWorld> {
  const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'lifeboat-app-world-'));
  const world = await startWorld({
    appDir,
    dataDir,
    ports: options.ports ?? { ui: 0, bitbucket: 0, s3: 0 },
    log: options.log ?? (process.env.LIFEBOAT_SANDBOX_DEBUG ? (line) => console.log(line) : () => {}),
    ...(options.hostLimits ? { hostLimits: options.hostLimits } : {}),
    ...(options.bitbucketLimits ? { bitbucketLimits: options.bitbucketLimits } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.appVariables ? { appVariables: options.appVariables } : {}),
    ...(options.bitbucketLog ? { bitbucketLog: options.bitbucketLog } : {}),
    ...(options.extraRepositories ? { extraRepositories: options.extraRepositories } : {}),
  });
  const repositoryUuid = (slug: string): string => {
    const repository = world.emulator.state().repositories.find((candidate) => candidate.slug === slug);
    if (!repository) throw new Error(`no repository ${slug} in the emulator`);
    return repository.uuid;
  };
  const call = async (moduleKey: string, functionKey: string, payload: unknown, as: DemoRole, extension: Record<string, unknown>): Promise<never> => {
    const result = await world.host.invokeResolver({ moduleKey, functionKey, payload, accountId: DEMO_USERS[as].accountId, extension });
    if (!result.ok) throw new Error(`resolver ${functionKey} failed: ${result.error.message}`);
    return result.body as never;
  };
  const appWorld: AppWorld = {
    world,
    dataDir,
    repoPage: (key, payload, { as, repositorySlug }) => call('lifeboat-repo-settings', key, payload, as, {
      type: 'bitbucket:repoSettingsMenuPage',
      repository: { uuid: repositoryUuid(repositorySlug) },
    }),
    adminPage: (key, payload, callOptions) => call('lifeboat-workspace-admin', key, payload, callOptions?.as ?? 'admin', { type: 'bitbucket:workspaceSettingsMenuPage' }),
    configure: (change = {}, confirm = {}) => configureWorld(world, change, confirm),
    repositoryUuid,
    trust() {
      const record = world.host.kvsDump()['signing:keys'] as { keys: Array<{ fingerprint: string }> } | undefined;
      return { keys: record?.keys.map((key) => key.fingerprint) ?? [], unsigned: 'refuse' };
    },
    async signer() {
      // Imported here, not at the top: the host's seam for @forge/kvs is in place only once the world runs.
      const { appSigningKey } = await import('../../src/app/settings/signing-keys.js');
      const signingKey = await world.host.runInInvocation(() => appSigningKey());
      return { signingKey, trust: appWorld.trust() };
    },
    gitUrl(slug) {
      const url = new URL(world.emulator.gitUrl(DEMO_WORKSPACE.slug, slug));
      url.username = 'x-bitbucket-api-token-auth';
      url.password = DEMO_USERS.admin.apiToken;
      return url.href;
    },
    async close() {
      await world.close();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return appWorld;
}

export { DEMO_REPOSITORIES, DEMO_WORKSPACE, workingSettings };
