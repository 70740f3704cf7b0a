/**
 * Repository locks in the bucket, as restic does them (restic `internal/restic/lock.go`):
 * S3 offers no compare-and-swap on every provider, so a process first writes its
 * own lock and then lists the others. Object stores list what was written before
 * the list began, so of two racing processes at least the later writer sees the
 * earlier one and backs off; both may back off, neither may proceed unseen.
 * Backups hold shared locks, prune an exclusive one (restores take none: they must work
 * with read-only credentials). A holder that dies leaves its lock behind; once it has
 * not been refreshed for the stale age it is ignored.
 */
import { randomBytes } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import type { BlobStore } from './blob-store.js';
import { readDocuments } from './catalog.js';
import { FORMAT_VERSION, type LockRecord, lockSchema, parseDocument, serializeDocument } from './format.js';
import { type RepoPath, formatRepoPath, lockKey, locksPrefix, parseKey } from './bucket-keys.js';

export type LockMode = LockRecord['mode'];

export const DEFAULT_STALE_AFTER_MS = 30 * 60_000;

export interface LockOptions {
  /** Who holds it, for the message others see, e.g. "lifeboat prune on host (pid 42)". */
  owner: string;
  now?: () => Date;
  /** A lock not refreshed for this long is ignored: its holder is presumed dead. */
  staleAfterMs?: number;
}

export interface HeldLock {
  readonly id: string;
  /** Marks the lock alive again; call well within the stale age. Throws LOCKED if the lock was removed as stale. */
  refresh(): Promise<void>;
  /** Removes the lock; calling it again does nothing. */
  release(): Promise<void>;
}

export interface LockEntry {
  id: string;
  key: string;
  /** undefined when the lock file could not be read (damaged, or a newer format). */
  record: LockRecord | undefined;
  lastModified: Date;
}

/** Every lock file of a repository, read. One removed between list and read is left out. */
export async function listLocks(store: BlobStore, repo: RepoPath): Promise<LockEntry[]> {
  const entries: LockEntry[] = [];
  for await (const { blob, bytes } of readDocuments(store, locksPrefix(repo))) {
    const parsed = parseKey(blob.key);
    if (parsed.kind !== 'lock') continue;
    let record: LockRecord | undefined;
    try {
      record = parseDocument(lockSchema, bytes, `Lock ${blob.key}`);
    } catch {
      record = undefined;
    }
    entries.push({ id: parsed.lockId, key: blob.key, record, lastModified: blob.lastModified });
  }
  return entries;
}

/**
 * Whether a lock's holder is presumed dead. An unreadable lock is judged by the
 * time it was written, and until then treated as exclusive: it may be a newer
 * Lifeboat's, and guessing wrong the other way could let prune delete under it.
 */
export function isStale(entry: LockEntry, now: Date, staleAfterMs: number = DEFAULT_STALE_AFTER_MS): boolean {
  const refreshed = entry.record ? Date.parse(entry.record.refreshedAt) : entry.lastModified.getTime();
  return now.getTime() - refreshed > staleAfterMs;
}

export async function acquireLock(store: BlobStore, repo: RepoPath, mode: LockMode, options: LockOptions): Promise<HeldLock> {
  const now = options.now ?? (() => new Date());
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  if (!options.owner) throw new LifeboatError('INVALID_ARGUMENT', 'A lock needs an owner (who holds it).');
  if (!Number.isFinite(staleAfterMs) || staleAfterMs <= 0) {
    throw new LifeboatError('INVALID_ARGUMENT', `The lock stale age must be a positive number of milliseconds; got ${staleAfterMs}.`);
  }

  const id = randomBytes(12).toString('hex');
  const key = lockKey(repo, id);
  const createdAt = now().toISOString();
  const write = (refreshedAt: string): Promise<void> => {
    const record: LockRecord = { format: 'lifeboat-lock', version: FORMAT_VERSION, mode, owner: options.owner, createdAt, refreshedAt };
    return store.put(key, serializeDocument(record), { contentType: 'application/json' });
  };
  await write(createdAt);

  let conflict: LockEntry | undefined;
  try {
    const checkedAt = now();
    conflict = (await listLocks(store, repo)).find((entry) =>
      entry.id !== id && !isStale(entry, checkedAt, staleAfterMs) && (mode === 'exclusive' || (entry.record?.mode ?? 'exclusive') === 'exclusive'));
  } catch (error) {
    await store.remove(key).catch(() => undefined);
    throw error;
  }
  if (conflict) {
    await store.remove(key).catch(() => undefined); // if this fails the lock goes stale on its own
    throw lockedError(repo, conflict, staleAfterMs);
  }

  let released = false;
  return {
    id,
    async refresh() {
      if (released) throw new LifeboatError('INTERNAL', `Lock ${id} on ${formatRepoPath(repo)} was refreshed after its release.`);
      // Gone means another process judged it stale and may already be acting on that: stop.
      if (!(await store.stat(key))) {
        throw new LifeboatError('LOCKED', `The ${mode} lock on ${formatRepoPath(repo)} was removed because it was not refreshed for ${minutes(staleAfterMs)}; stopping.`, { details: { lockId: id } });
      }
      await write(now().toISOString());
    },
    async release() {
      if (released) return;
      await store.remove(key);
      released = true;
    },
  };
}

function lockedError(repo: RepoPath, holder: LockEntry, staleAfterMs: number): LifeboatError {
  const record = holder.record;
  const who = record
    ? `${record.owner} (${record.mode} lock since ${record.createdAt}, last refreshed ${record.refreshedAt})`
    : `an unreadable lock ${holder.key} (written ${holder.lastModified.toISOString()})`;
  return new LifeboatError(
    'LOCKED',
    `${formatRepoPath(repo)} is locked by ${who}. Try again later; a lock not refreshed for ${minutes(staleAfterMs)} is ignored.`,
    { details: { lockId: holder.id, ...(record ? { owner: record.owner, mode: record.mode, createdAt: record.createdAt, refreshedAt: record.refreshedAt } : {}) } },
  );
}

function minutes(ms: number): string {
  const value = Math.round(ms / 60_000);
  return value === 1 ? '1 minute' : `${value} minutes`;
}
