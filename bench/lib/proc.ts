/** Child processes measured from the outside: wall time, peak RSS, output bytes. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const GNU_TIME = '/usr/bin/time';
export const HAVE_GNU_TIME = existsSync(GNU_TIME);

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A file fed to stdin (else stdin is empty). */
  stdinFile?: string;
  /** Keep stdout as text (default); 'count' only counts its bytes. */
  stdout?: 'text' | 'count';
  /** Where GNU time writes its report; required to measure RSS. */
  scratch?: string;
  timeoutMs?: number;
}

export interface RunResult {
  ok: boolean;
  code: number | null;
  seconds: number;
  /** Peak resident set of the command itself (GNU time %M, or /proc VmHWM), KiB. */
  peakRssKiB?: number;
  stdout: string;
  stdoutBytes: number;
  stderr: string;
}

let timeFileSeq = 0;

/** Runs a command to its end. Never throws for a failing command: callers report `ok: false` as a table cell. */
export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const timeFile = options.scratch && HAVE_GNU_TIME ? join(options.scratch, `time-${process.pid}-${++timeFileSeq}.txt`) : undefined;
  const [file, argv] = timeFile ? [GNU_TIME, ['-f', '%M', '-o', timeFile, command, ...args]] : [command, args];
  const started = performance.now();
  // Own process group, so a timeout can end the command and its children, not just GNU time.
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const closed = once(child, 'close') as Promise<[number | null]>;
  child.stdin.on('error', () => undefined);
  if (options.stdinFile) createReadStream(options.stdinFile).pipe(child.stdin);
  else child.stdin.end();
  const out: Buffer[] = [];
  let stdoutBytes = 0;
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    if (options.stdout !== 'count') out.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const poller = !timeFile && options.scratch && child.pid ? pollPeakRss(child.pid) : undefined;
  const timer = options.timeoutMs ? setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), options.timeoutMs) : undefined;
  const [code] = await closed;
  const seconds = (performance.now() - started) / 1000;
  clearTimeout(timer);
  let peakRssKiB = poller?.stop();
  if (timeFile) {
    // On failure GNU time writes "Command exited with non-zero status N" before the figure.
    const report = (await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n');
    peakRssKiB = Number(report[report.length - 1]) || undefined;
    await rm(timeFile, { force: true });
  }
  return {
    ok: code === 0,
    code,
    seconds,
    ...(peakRssKiB ? { peakRssKiB } : {}),
    stdout: Buffer.concat(out).toString(),
    stdoutBytes,
    stderr: Buffer.concat(err).toString(),
  };
}

/** Fallback without GNU time: VmHWM is the process's own high-water mark, so polling it loses nothing but the last interval. */
function pollPeakRss(pid: number): { stop(): number | undefined } {
  let peak: number | undefined;
  const read = (): void => {
    readFile(`/proc/${pid}/status`, 'utf8').then((status) => {
      const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
      if (kib) peak = Math.max(peak ?? 0, kib);
    }, () => undefined);
  };
  const interval = setInterval(read, 50);
  return {
    stop() {
      clearInterval(interval);
      return peak;
    },
  };
}

/** For set-up steps that must work: throws with git's stderr. */
export async function mustRun(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (!result.ok) throw new Error(`${command} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

export function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).find((line) => line.length > 0) ?? '(no output)';
}
