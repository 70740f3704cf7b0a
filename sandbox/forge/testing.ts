// Shared by the host's tests: a host running the fixture app in a temp data
// directory, and a resolver call shortcut.
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startForgeHost, type ForgeHost, type ForgeHostOptions, type ResolverResult } from './index.js';

export const FIXTURE_APP = fileURLToPath(new URL('./fixtures/app/', import.meta.url));
export const WORKSPACE_ID = '{0d6c3b1e-4a5f-4c2d-9e8f-7a6b5c4d3e21}';
export const REPOSITORY_UUID = '{6f1e2d3c-4b5a-4978-8c6d-5e4f3a2b1c0d}';
export const ACCOUNT_ID = '712020:3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';

export interface FixtureHost {
  host: ForgeHost;
  dataDir: string;
  lines: string[];
  /** Invokes a resolver definition of the fixture's repository settings page. */
  call(functionKey: string, payload?: unknown, accountId?: string): Promise<ResolverResult>;
  /** The resolver's body, failing the test when the call itself failed. */
  body<T = Record<string, unknown>>(functionKey: string, payload?: unknown): Promise<T>;
  close(): Promise<void>;
}

export async function startFixtureHost(options: Partial<ForgeHostOptions> = {}): Promise<FixtureHost> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'lifeboat-forge-')));
  const lines: string[] = [];
  let host: ForgeHost;
  try {
    host = await startForgeHost({
      appDir: FIXTURE_APP,
      installation: { workspaceId: WORKSPACE_ID },
      bitbucket: { apiUrl: 'http://127.0.0.1:9', authorization: (accountId) => (accountId === undefined ? 'Bearer app-token' : `Bearer user:${accountId}`) },
      log: (line) => lines.push(line),
      ...options,
      dataDir,
    });
  } catch (error) {
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const call = (functionKey: string, payload?: unknown, accountId = ACCOUNT_ID): Promise<ResolverResult> =>
    host.invokeResolver({
      moduleKey: 'fixture-repo-settings',
      functionKey,
      payload,
      accountId,
      extension: { type: 'bitbucket:repoSettingsMenuPage', repository: { uuid: REPOSITORY_UUID } },
    });
  return {
    host,
    dataDir,
    lines,
    call,
    async body<T>(functionKey: string, payload?: unknown): Promise<T> {
      const result = await call(functionKey, payload);
      if (!result.ok) throw new Error(`resolver ${functionKey} failed: ${result.error.message}`);
      return result.body as T;
    },
    async close() {
      await host.close();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The fixture app with its manifest.yml rewritten by `edit`, in a temp folder.
 * src/ and static/ are symlinks, so the code still loads as the repository's
 * ESM TypeScript and the resources @forge/manifest checks exist.
 */
export async function fixtureVariant(edit: (manifest: string) => string): Promise<{ appDir: string; remove(): Promise<void> }> {
  const appDir = await mkdtemp(join(tmpdir(), 'lifeboat-forge-app-'));
  await symlink(join(FIXTURE_APP, 'src'), join(appDir, 'src'), 'dir');
  await symlink(join(FIXTURE_APP, 'static'), join(appDir, 'static'), 'dir');
  await writeFile(join(appDir, 'manifest.yml'), edit(await readFile(join(FIXTURE_APP, 'manifest.yml'), 'utf8')));
  return { appDir, remove: () => rm(appDir, { recursive: true, force: true }) };
}

/** Resolves when `predicate` holds for an invocation recorded from now on; rejects after `ms`. */
export function nextInvocation(host: ForgeHost, predicate: (record: ForgeHost['invocations'][number]) => boolean, ms = 5000): Promise<ForgeHost['invocations'][number]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no matching invocation within ${ms} ms`));
    }, ms);
    const stop = host.onInvocation((record) => {
      if (!predicate(record)) return;
      clearTimeout(timer);
      stop();
      resolve(record);
    });
  });
}
