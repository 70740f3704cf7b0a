/**
 * Helpers for the emulator's tests (and for other sandbox tests that need a
 * seeded Bitbucket): a seeded emulator in a temporary directory, credential
 * headers for the demo identities, and git over the network run asynchronously
 * (a synchronous child would block the in-process server it talks to).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEMO_USERS, DEMO_WORKSPACE_TOKEN, type DemoRole } from '../demo.js';
import { startBitbucketEmulator, type Emulator, type EmulatorOptions, type ForgeProductEvent } from './index.js';

const execFileAsync = promisify(execFile);

export interface TestEmulator extends Emulator {
  dataDir: string;
  /** Every event delivered so far, in delivery order. */
  received: ForgeProductEvent[];
  /** Closes the emulator and removes its data directory. */
  dispose(): Promise<void>;
}

/** A seeded emulator on a fresh temporary directory (or `dataDir`, which is then kept on dispose). */
export async function startTestEmulator(options: Partial<EmulatorOptions> = {}): Promise<TestEmulator> {
  const owned = options.dataDir === undefined;
  const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'lifeboat-bitbucket-'));
  const received: ForgeProductEvent[] = [];
  const lines: string[] = [];
  const emulator = await startBitbucketEmulator({
    seed: true,
    log: (line) => { lines.push(line); },
    ...options,
    dataDir,
    onEvent: async (event) => {
      received.push(event);
      await options.onEvent?.(event);
    },
  });
  return Object.assign(emulator, {
    dataDir,
    received,
    async dispose() {
      await emulator.close();
      if (owned) await rm(dataDir, { recursive: true, force: true });
    },
  });
}

export function apiTokenAuth(role: DemoRole): string {
  const user = DEMO_USERS[role];
  return `Basic ${Buffer.from(`${user.email}:${user.apiToken}`).toString('base64')}`;
}

export const WORKSPACE_TOKEN_AUTH = `Bearer ${DEMO_WORKSPACE_TOKEN.token}`;

/** GET (or another method) with an Authorization header; the JSON body parsed when there is one. */
export async function call(emulator: Emulator, path: string, authorization?: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(path.startsWith('http') ? path : `${emulator.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(authorization ? { Authorization: authorization } : {}), ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) as unknown };
}

/** A URL with git credentials in it. */
export function withCredentials(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(username);
  parsed.password = encodeURIComponent(password);
  return parsed.href;
}

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Bob Maintainer',
  GIT_AUTHOR_EMAIL: 'bob@example.com',
  GIT_COMMITTER_NAME: 'Bob Maintainer',
  GIT_COMMITTER_EMAIL: 'bob@example.com',
};

/** Runs git without blocking the event loop; rejects with git's stderr on failure. */
export async function gitAsync(cwd: string | undefined, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('git', ['-c', 'credential.helper=', '-c', 'protocol.version=2', ...args], {
      ...(cwd === undefined ? {} : { cwd }),
      env: { ...process.env, ...GIT_ENV },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new Error(`git ${args.join(' ')} failed: ${stderr}`, { cause: error });
  }
}
