/** The lifeboat command line as a child process, as a person runs it: one helper for every CLI test. */
import { type ChildProcess, spawn } from 'node:child_process';

export interface CliResult { code: number; stdout: string; stderr: string }

/** Starts the CLI with `env` over this process's environment (LIFEBOAT_BUCKET cleared: each test names its bucket); the result once it exits (code -1 when killed). */
export function spawnCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', ...args], {
    env: { ...process.env, LIFEBOAT_BUCKET: '', ...env },
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
