/**
 * The real git CLI for fixtures and checks. Hermetic: no system or user config,
 * a fixed identity, and fixed dates unless the caller passes others.
 */
import { execFileSync } from 'node:child_process';

export const FIXED_DATE = '1700000000 +0000';

const BASE_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_DATE: FIXED_DATE,
  GIT_COMMITTER_DATE: FIXED_DATE,
};

/** Runs git in `cwd` (or the current directory) and returns its stdout as bytes; throws with stderr on failure. */
export function gitBytes(cwd: string | undefined, args: string[], env?: Record<string, string>, input?: string | Uint8Array): Buffer {
  try {
    return execFileSync('git', ['-c', 'user.name=Lifeboat Test', '-c', 'user.email=test@lifeboat.invalid', '-c', 'init.defaultBranch=main', ...args], {
      ...(cwd === undefined ? {} : { cwd }),
      env: { ...process.env, ...BASE_ENV, ...env },
      ...(input === undefined ? {} : { input }),
      maxBuffer: 1024 * 1024 * 1024,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`git ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: error });
  }
}

/** Runs git and returns its stdout as text. */
export function git(cwd: string | undefined, args: string[], env?: Record<string, string>, input?: string | Uint8Array): string {
  return gitBytes(cwd, args, env, input).toString('utf8');
}

/** An empty bare repository whose HEAD names refs/heads/main. */
export function initBare(path: string): void {
  git(undefined, ['init', '--quiet', '--bare', '--initial-branch=main', path]);
}

/** Every ref as "<oid> <refname>" lines (sorted by name): equal strings mean identical refs. */
export function refsOf(repository: string): string {
  return git(repository, ['for-each-ref', '--format=%(objectname) %(refname)']);
}

/** Throws unless `git fsck --strict` finds the repository clean. */
export function fsck(repository: string): void {
  git(repository, ['fsck', '--strict', '--no-progress']);
}
