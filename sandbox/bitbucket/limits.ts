/**
 * Bitbucket Cloud's limits on git transfers, which the emulator enforces, each
 * with a knob that `npm start` and the tests read from the environment (the
 * defaults are Bitbucket's). Settable at runtime: a request takes the values of
 * the moment it arrives.
 *
 * Sizes: Bitbucket writes "MB" and "GB" without saying whether it means 1000 or
 * 1024 (not documented: assumed 1024, the larger reading; the app's restore plan takes
 * the smaller one, so it asks whenever either could refuse).
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface GitLimits {
  /**
   * The git transfer rate in both directions, bytes a second, of smart-HTTP
   * responses and request bodies (LIFEBOAT_SANDBOX_GIT_BYTES_PER_S). Bitbucket
   * documents none: unlimited by default; tests and benchmarks lower it to make
   * a large fetch take the time it takes on the internet.
   */
  bytesPerSecond: number;
  /**
   * The largest pack a push may carry (LIFEBOAT_SANDBOX_PUSH_MAX_BYTES). Bitbucket
   * blog "Git push size limits are coming to Bitbucket Cloud starting April 4th,
   * 2022": a push over 3.5 GB fails with "remote: fatal: pack exceeds maximum
   * allowed size" — git's own `receive.maxInputSize` refusal, which the emulator
   * uses (git.ts).
   */
  pushMaxBytes: number;
  /**
   * The largest file (blob) a push may contain unless the repository's setting
   * lifts the limit (LIFEBOAT_SANDBOX_FILE_MAX_BYTES). Atlassian Community,
   * "Bitbucket Cloud is implementing a 100 MB limit on files included in pushes"
   * (2024): 100 MB, from May 6, 2024; "can be disabled by a repository admin within
   * the Advanced settings in Repository settings"; files already in the repository
   * and not pushed again are not affected.
   */
  fileMaxBytes: number;
  /**
   * The repository size limit (LIFEBOAT_SANDBOX_REPO_MAX_BYTES). Bitbucket Cloud
   * docs, "Reduce repository size": 4.0 GB; once a repository is over it, pushes
   * that add anything are refused and only pushes that undo the latest commits
   * go through (the refusal is shown "following the first push attempted after
   * the repository has exceeded the 4 GB limit": the push that crosses the limit
   * is itself accepted).
   */
  repositoryMaxBytes: number;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export const DEFAULT_GIT_LIMITS: Readonly<GitLimits> = {
  bytesPerSecond: Number.POSITIVE_INFINITY,
  pushMaxBytes: 3.5 * GIB,
  fileMaxBytes: 100 * MIB,
  repositoryMaxBytes: 4 * GIB,
};

const ENVIRONMENT: Record<keyof GitLimits, string> = {
  bytesPerSecond: 'LIFEBOAT_SANDBOX_GIT_BYTES_PER_S',
  pushMaxBytes: 'LIFEBOAT_SANDBOX_PUSH_MAX_BYTES',
  fileMaxBytes: 'LIFEBOAT_SANDBOX_FILE_MAX_BYTES',
  repositoryMaxBytes: 'LIFEBOAT_SANDBOX_REPO_MAX_BYTES',
};

/** The defaults, with what the environment sets (a value that is not a positive number is ignored). */
export function defaultGitLimits(env: NodeJS.ProcessEnv = process.env): GitLimits {
  const limits: GitLimits = { ...DEFAULT_GIT_LIMITS };
  for (const key of Object.keys(ENVIRONMENT) as Array<keyof GitLimits>) {
    const value = Number(env[ENVIRONMENT[key]] ?? Number.NaN);
    if (Number.isFinite(value) && value > 0) limits[key] = value;
  }
  return limits;
}

/** A size as Bitbucket words its limits: "4 GB", "100 MB", "3.5 GB". */
export function sizeLabel(bytes: number): string {
  const units: Array<[string, number]> = [['GB', GIB], ['MB', MIB], ['KB', 1024]];
  for (const [unit, size] of units) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}

/**
 * Passes bytes on at most `bytesPerSecond`, in slices of about 50 ms each, with
 * backpressure (a slice waits for its time before the next chunk is taken).
 */
export function throttle(bytesPerSecond: number): Transform {
  const slice = Math.max(1, Math.ceil(bytesPerSecond / 20));
  let due = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const send = (offset: number): void => {
        if (offset >= chunk.byteLength) {
          callback();
          return;
        }
        const part = chunk.subarray(offset, offset + slice);
        const now = Date.now();
        due = Math.max(due, now) + (part.byteLength * 1000) / bytesPerSecond;
        setTimeout(() => {
          this.push(part);
          send(offset + part.byteLength);
        }, due - now);
      };
      send(0);
    },
  });
}
