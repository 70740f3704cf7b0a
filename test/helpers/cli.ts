/** The lifeboat command line as a child process, as a person runs it: one helper for every CLI test. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_SIGNING_KEY } from './signing.js';

export interface CliResult { code: number; stdout: string; stderr: string }

const root = fileURLToPath(new URL('../..', import.meta.url));
/** The installed command: bin/ runs the build in dist/ (half the start-up time of running src/ through tsx). */
const BIN = join(root, 'bin', 'lifeboat.js');
const BUILT = join(root, 'dist', 'cli', 'run.js');

/** The newest modification time under `dir` (the build's inputs). */
function newestMtime(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .reduce((newest, entry) => Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs), 0);
}

const checked = new Set<string>();
/** A test of a stale build would test old code: refuse it (once per file and process). `command` is the build that makes `built`. */
export function assertBuilt(built = BUILT, command = 'npm run build'): void {
  if (checked.has(built)) return;
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`${command}\` (npm test builds first).`);
  }
  if (newestMtime(join(root, 'src')) > builtAt) throw new Error(`${built} is older than src/: run \`${command}\` (npm test builds first).`);
  checked.add(built);
}

let keyFile: string | undefined;
/**
 * The key file the CLI signs with unless a test gives another (LIFEBOAT_SIGNING_KEY): TEST_SIGNING_KEY,
 * so that snapshots the engine's writers sign in a test are the CLI's own too.
 */
export function testSigningKeyFile(): string {
  if (keyFile) return keyFile;
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-test-key-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  keyFile = join(dir, 'signing.key');
  writeFileSync(keyFile, TEST_SIGNING_KEY.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return keyFile;
}

/**
 * Starts the CLI with `env` over this process's environment (LIFEBOAT_BUCKET and LIFEBOAT_TRUST cleared: each test
 * names its bucket and pins; LIFEBOAT_SIGNING_KEY the test key file); the result once it exits (code -1 when killed).
 */
export function spawnCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; result: Promise<CliResult> } {
  assertBuilt();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, LIFEBOAT_BUCKET: '', LIFEBOAT_TRUST: '', LIFEBOAT_SIGNING_KEY: testSigningKeyFile(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  return { child, result };
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return spawnCli(args, env).result;
}
