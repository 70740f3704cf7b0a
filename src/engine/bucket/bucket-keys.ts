/**
 * The one module that names bucket objects (docs/bucket-format.md, "Layout").
 * Keys are relative to the store's prefix. Writers build keys here; the CLI
 * parses them here.
 *
 *   lifeboat.json                                   format marker
 *   <workspace>/<repo>/objects/<sha256>             immutable, content-addressed blobs (bundles)
 *   <workspace>/<repo>/snapshots/<snapshot-id>.json snapshot manifests, written last
 *   <workspace>/<repo>/signatures/<snapshot-id>.<key-hex>.json  a manifest's signature by one key (signing.ts)
 *   <workspace>/<repo>/pending/<snapshot-id>.json   progress of a backup still running (resumable)
 *   <workspace>/<repo>/staging/<upload-id>          uploads not yet published under their hash
 *   <workspace>/<repo>/locks/<lock-id>.json         backup (shared) and prune (exclusive) locks
 *   recovery/lifeboat.mjs, .sha256, README.txt      the recovery kit (recovery-kit.ts): two segments, never a repository's key
 */
import { LifeboatError } from '../errors.js';

export const MARKER_KEY = 'lifeboat.json';

/**
 * The recovery kit the app keeps in the bucket: the command line in one file, its SHA-256 in
 * `sha256sum`'s format (written last: a refresh compares it) and the playbook. A repository's keys
 * have four segments, so a workspace named "recovery" keeps its own.
 */
export const RECOVERY_KEYS = {
  bundle: 'recovery/lifeboat.mjs',
  sha256: 'recovery/lifeboat.mjs.sha256',
  readme: 'recovery/README.txt',
} as const;

/** Where one repository's objects live: the workspace and repository UUIDs (Forge) or slugs (CLI). */
export interface RepoPath {
  workspace: string;
  repository: string;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** 20261126T061500Z-3fa9c1: sortable by time, unique enough, safe inside a ref name. */
const SNAPSHOT_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
const LOCK_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Longest bucket prefix: every key under it still fits S3's 1024 bytes. */
const MAX_PREFIX_LENGTH = 200;

/**
 * The one rule for the bucket prefix, the folder inside the bucket that holds
 * everything above (the app's bucket.prefix setting, the command line's
 * s3://<bucket>/<prefix>): empty, or segments separated by "/", none empty, "."
 * or "..", no control characters, at most 200 characters. S3 keys are not paths,
 * but S3-compatible servers that keep objects as files resolve "..", and a
 * backup would land outside the prefix that readers look in. Returns what is
 * wrong, worded to follow the value's name ("bucket.prefix has ..."), or undefined.
 */
export function bucketPrefixProblem(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  if (prefix.length > MAX_PREFIX_LENGTH) return `is ${prefix.length} characters long; at most ${MAX_PREFIX_LENGTH} are allowed`;
  if (/\p{Cc}/u.test(prefix)) return 'holds a control character (a line break, tab or similar)';
  const segments = prefix.split('/');
  if (segments.some((segment) => segment === '')) return `"${prefix}" has an empty segment (a leading, trailing or doubled "/"); write it like backups/lifeboat`;
  if (segments.some((segment) => segment === '.' || segment === '..')) return `"${prefix}" has a "." or ".." segment, which would resolve outside the prefix on some servers; write it like backups/lifeboat`;
  return undefined;
}

/** Throws INVALID_ARGUMENT unless `prefix` passes bucketPrefixProblem. */
export function checkBucketPrefix(prefix: string): string {
  const problem = bucketPrefixProblem(prefix);
  if (problem !== undefined) throw new LifeboatError('INVALID_ARGUMENT', `The bucket prefix ${problem}.`, { details: { problem } });
  return prefix;
}

export function isValidSegment(segment: string): boolean {
  return SEGMENT.test(segment) && segment !== '..' && !segment.endsWith('.');
}

export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}

/** When a backup started, from its snapshot id (to the second). */
export function snapshotIdTime(id: string): Date {
  checkSnapshotId(id);
  const stamp = id.slice(0, 16);
  return new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
}

/**
 * The one order of snapshots: by id, the newest is the one whose id sorts last.
 * An id sorts after the id of the snapshot that was newest when it was made
 * (newSnapshotId); two backups that overlap (they share the bucket lock) may
 * commit in the other order, so neither commit order nor `createdAt` decides.
 * The catalogue, the app's summary and its index all order by this.
 */
export function compareSnapshotIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A key that sorts newest first in ascending order (stores such as Forge's KVS list
 * keys only ascending): each digit of the time and each hex digit of the random
 * part complemented, the full id kept, so even ids of the same second keep the
 * order of compareSnapshotIds. Digits stay digits and letters stay hex letters.
 */
export function newestFirstKey(id: string): string {
  checkSnapshotId(id);
  const [time = '', random = ''] = id.split('-');
  const complement = (text: string, radix: number): string => text.replace(/[0-9a-f]/g, (digit) => (radix - 1 - Number.parseInt(digit, radix)).toString(radix));
  return `${complement(time, 10)}-${complement(random, 16)}`;
}

/** Parses "workspace/repo"; UUIDs may be given with braces, which are dropped. */
export function parseRepoPath(text: string): RepoPath {
  const parts = text.split('/').map((part) => part.replace(/^\{(.*)\}$/, '$1'));
  const [workspace, repository] = parts;
  if (parts.length !== 2 || !workspace || !repository || !isValidSegment(workspace) || !isValidSegment(repository)) {
    throw new LifeboatError('INVALID_ARGUMENT', `"${text}" is not a repository path: use <workspace>/<repository>, letters, digits, '.', '_' and '-' only.`);
  }
  return { workspace, repository };
}

export function formatRepoPath(repo: RepoPath): string {
  return `${repo.workspace}/${repo.repository}`;
}

export function repoPrefix(repo: RepoPath): string {
  checkRepo(repo);
  return `${formatRepoPath(repo)}/`;
}

export function objectKey(repo: RepoPath, sha256: string): string {
  if (!SHA256.test(sha256)) throw new LifeboatError('INTERNAL', `Not a SHA-256: ${sha256}`);
  return `${objectsPrefix(repo)}${sha256}`;
}

export function objectsPrefix(repo: RepoPath): string {
  return `${repoPrefix(repo)}objects/`;
}

export function snapshotKey(repo: RepoPath, snapshotId: string): string {
  checkSnapshotId(snapshotId);
  return `${snapshotsPrefix(repo)}${snapshotId}.json`;
}

export function snapshotsPrefix(repo: RepoPath): string {
  return `${repoPrefix(repo)}snapshots/`;
}

/** The signature of a snapshot's manifest by the key of `fingerprint` (SHA256:<hex>): one object per key, so a key rotation adds one and replaces none. */
export function signatureKey(repo: RepoPath, snapshotId: string, fingerprint: string): string {
  checkSnapshotId(snapshotId);
  const hex = fingerprint.replace(/^SHA256:/, '');
  if (!SHA256.test(hex)) throw new LifeboatError('INTERNAL', `Not a key fingerprint: ${fingerprint}`);
  return `${signaturesPrefix(repo)}${snapshotId}.${hex}.json`;
}

export function signaturesPrefix(repo: RepoPath): string {
  return `${repoPrefix(repo)}signatures/`;
}

export function pendingKey(repo: RepoPath, snapshotId: string): string {
  checkSnapshotId(snapshotId);
  return `${pendingPrefix(repo)}${snapshotId}.json`;
}

export function pendingPrefix(repo: RepoPath): string {
  return `${repoPrefix(repo)}pending/`;
}

export function stagingKey(repo: RepoPath, uploadId: string): string {
  if (!LOCK_ID.test(uploadId)) throw new LifeboatError('INTERNAL', `Bad upload id: ${uploadId}`);
  return `${stagingPrefix(repo)}${uploadId}`;
}

export function stagingPrefix(repo: RepoPath): string {
  return `${repoPrefix(repo)}staging/`;
}

export function lockKey(repo: RepoPath, lockId: string): string {
  if (!LOCK_ID.test(lockId)) throw new LifeboatError('INTERNAL', `Bad lock id: ${lockId}`);
  return `${locksPrefix(repo)}${lockId}.json`;
}

export function locksPrefix(repo: RepoPath): string {
  return `${repoPrefix(repo)}locks/`;
}

export type ParsedKey =
  | { kind: 'marker' }
  | { kind: 'recovery' }
  | { kind: 'object'; repo: RepoPath; sha256: string }
  | { kind: 'snapshot'; repo: RepoPath; snapshotId: string }
  | { kind: 'signature'; repo: RepoPath; snapshotId: string; fingerprint: string }
  | { kind: 'pending'; repo: RepoPath; snapshotId: string }
  | { kind: 'staging'; repo: RepoPath; uploadId: string }
  | { kind: 'lock'; repo: RepoPath; lockId: string }
  | { kind: 'unknown' };

export function parseKey(key: string): ParsedKey {
  if (key === MARKER_KEY) return { kind: 'marker' };
  if ((Object.values(RECOVERY_KEYS) as string[]).includes(key)) return { kind: 'recovery' };
  const parts = key.split('/');
  if (parts.length !== 4) return { kind: 'unknown' };
  const [workspace, repository, area, name] = parts as [string, string, string, string];
  if (!isValidSegment(workspace) || !isValidSegment(repository)) return { kind: 'unknown' };
  const repo = { workspace, repository };
  const json = name.endsWith('.json') ? name.slice(0, -'.json'.length) : undefined;
  switch (area) {
    case 'objects':
      return SHA256.test(name) ? { kind: 'object', repo, sha256: name } : { kind: 'unknown' };
    case 'snapshots':
      return json && isSnapshotId(json) ? { kind: 'snapshot', repo, snapshotId: json } : { kind: 'unknown' };
    case 'signatures': {
      const [snapshotId = '', hex = ''] = json?.split('.') ?? [];
      return isSnapshotId(snapshotId) && SHA256.test(hex) && json === `${snapshotId}.${hex}` ? { kind: 'signature', repo, snapshotId, fingerprint: `SHA256:${hex}` } : { kind: 'unknown' };
    }
    case 'pending':
      return json && isSnapshotId(json) ? { kind: 'pending', repo, snapshotId: json } : { kind: 'unknown' };
    case 'staging':
      return LOCK_ID.test(name) ? { kind: 'staging', repo, uploadId: name } : { kind: 'unknown' };
    case 'locks':
      return json && LOCK_ID.test(json) ? { kind: 'lock', repo, lockId: json } : { kind: 'unknown' };
    default:
      return { kind: 'unknown' };
  }
}

function checkRepo(repo: RepoPath): void {
  if (!isValidSegment(repo.workspace) || !isValidSegment(repo.repository)) {
    throw new LifeboatError('INVALID_ARGUMENT', `Invalid repository path ${repo.workspace}/${repo.repository}.`);
  }
}

function checkSnapshotId(id: string): void {
  if (!isSnapshotId(id)) throw new LifeboatError('INVALID_ARGUMENT', `"${id}" is not a snapshot id (like 20261126T061500Z-3fa9c1).`);
}
