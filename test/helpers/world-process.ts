/**
 * The app's local world in a process of its own, for tests that kill it (`kill -9`)
 * and start it again on the same data. Run as
 * `node --import tsx test/helpers/world-process.ts '<WorldProcessOptions as JSON>'`;
 * the sandbox's knobs come from the environment, as for `npm start`. Once up it
 * prints one line of JSON (WorldProcessReady) on stdout, then runs until killed;
 * SIGTERM stops it the orderly way.
 */
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { DEMO_WORKSPACE, startAppWorld } from './app-world.js';
import type { WorldPorts, WorldUrls } from '../../sandbox/world.js';

export interface WorldProcessOptions {
  dataDir: string;
  /** A restart takes the earlier world's ports (the saved settings name them); free ones by default. */
  ports?: WorldPorts;
  /** Save working settings once up (the first start on new data). */
  configure?: boolean;
  appVariables?: Record<string, string>;
  /** Repositories whose bare git folder and UUID the ready line gives. */
  repositories?: string[];
}

export interface WorldProcessReady {
  pid: number;
  ports: WorldPorts;
  urls: WorldUrls;
  repositories: Record<string, { gitDir: string; uuid: string }>;
  /** Authenticated git URLs (Alice's API token) of `repositories` and of any slug asked for by `gitUrlsFor`. */
  gitUrls: Record<string, string>;
}

const SCRIPT = fileURLToPath(import.meta.url);

/** Starts a world process; resolves with it and its ready line. */
export async function startWorldProcess(options: WorldProcessOptions & { gitUrlsFor?: string[] }, env: Record<string, string> = {}): Promise<{ child: ChildProcess; ready: WorldProcessReady }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, JSON.stringify(options)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`the world process ended before it was up (${String(code ?? signal)})`);
  });
  const [line] = (await Promise.race([once(lines, 'line'), exited])) as [string];
  lines.close();
  child.stdout!.resume();
  return { child, ready: JSON.parse(line) as WorldProcessReady };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as WorldProcessOptions & { gitUrlsFor?: string[] };
  const app = await startAppWorld({
    dataDir: options.dataDir,
    ...(options.ports ? { ports: options.ports } : {}),
    ...(options.appVariables ? { appVariables: options.appVariables } : {}),
  });
  if (options.configure) await app.configure();
  const port = (url: string): number => Number(new URL(url).port);
  const { urls } = app.world;
  const slugs = options.repositories ?? [];
  const ready: WorldProcessReady = {
    pid: process.pid,
    ports: { ui: port(urls.pages.home), bitbucket: port(app.world.emulator.url), s3: port(urls.bucket.endpoint) },
    urls,
    repositories: Object.fromEntries(slugs.map((slug) => [slug, { gitDir: app.world.emulator.gitDir(DEMO_WORKSPACE.slug, slug), uuid: app.repositoryUuid(slug) }])),
    gitUrls: Object.fromEntries([...slugs, ...(options.gitUrlsFor ?? [])].map((slug) => [slug, app.gitUrl(slug)])),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0), () => process.exit(1));
  });
}

if (process.argv[1] === SCRIPT) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
