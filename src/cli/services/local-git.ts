/**
 * The local git, for the commands that work on this machine's repositories
 * (restore --to, attach of a wiki clone, writing an attached wiki out).
 */
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, isLifeboatError } from '../../engine/errors.js';
import type { ByteStream } from '../../engine/streams.js';

/** Runs the local git, streaming `input` to its stdin with backpressure. */
export async function runGit(args: string[], input?: ByteStream | Uint8Array, env?: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn('git', args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<number>((resolveExit, reject) => {
    child.on('error', (error) => reject(new LifeboatError('LOCAL_GIT_FAILED', `Could not run git (${error.message}); install git and try again.`, { cause: error })));
    child.on('close', (code) => resolveExit(code ?? 1));
  });
  const feeding = input && child.stdin ? pipeline(input instanceof Uint8Array ? [input] : input, child.stdin) : Promise.resolve();
  const [fed, code] = await Promise.allSettled([feeding, exited]);
  // A failing source (a checksum, the bucket) is the cause; git then only saw its input end early.
  if (fed.status === 'rejected' && isLifeboatError(fed.reason)) throw fed.reason;
  if (code.status === 'rejected') throw code.reason;
  if (code.value !== 0) {
    throw new LifeboatError('LOCAL_GIT_FAILED', `git ${args.filter((arg) => arg !== '-C').slice(1).join(' ')} failed: ${Buffer.concat(stderr).toString('utf8').trim()}`);
  }
  if (fed.status === 'rejected') throw fed.reason;
  return Buffer.concat(stdout).toString('utf8');
}
