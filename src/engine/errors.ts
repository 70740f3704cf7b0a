/**
 * Errors with stable codes. Engine code throws LifeboatError; the edges (CLI line,
 * resolver envelope, UI banner) turn a code into words. Codes survive JSON, so a
 * queue consumer or resolver can pass them on unchanged.
 */

export const ErrorCodes = {
  // Git server
  GIT_UNREACHABLE: 'GIT_UNREACHABLE',
  GIT_AUTH_REQUIRED: 'GIT_AUTH_REQUIRED',
  GIT_FORBIDDEN: 'GIT_FORBIDDEN',
  GIT_NOT_A_REPOSITORY: 'GIT_NOT_A_REPOSITORY',
  GIT_PROTOCOL: 'GIT_PROTOCOL',
  GIT_REMOTE_ERROR: 'GIT_REMOTE_ERROR',
  GIT_PUSH_REJECTED: 'GIT_PUSH_REJECTED',
  GIT_TIMEOUT: 'GIT_TIMEOUT',
  GIT_HTTP: 'GIT_HTTP',
  GIT_SERVER_BUSY: 'GIT_SERVER_BUSY',
  GIT_REF_INVALID: 'GIT_REF_INVALID',
  PACK_CORRUPT: 'PACK_CORRUPT',
  BUNDLE_CORRUPT: 'BUNDLE_CORRUPT',
  /** An LFS transfer href on a host this process may not reach (on Forge: not in the app's declared egress). */
  LFS_HOST_NOT_ALLOWED: 'LFS_HOST_NOT_ALLOWED',
  // Bucket
  BUCKET_NOT_FOUND: 'BUCKET_NOT_FOUND',
  BUCKET_ACCESS_DENIED: 'BUCKET_ACCESS_DENIED',
  BUCKET_UNREACHABLE: 'BUCKET_UNREACHABLE',
  BUCKET_NOT_INITIALIZED: 'BUCKET_NOT_INITIALIZED',
  BUCKET_ALREADY_INITIALIZED: 'BUCKET_ALREADY_INITIALIZED',
  BUCKET_ERROR: 'BUCKET_ERROR',
  OBJECT_NOT_FOUND: 'OBJECT_NOT_FOUND',
  OBJECT_LOCKED: 'OBJECT_LOCKED',
  /** Object Lock was asked for, but the bucket does not say it has Object Lock enabled (it has not, or it cannot tell). */
  OBJECT_LOCK_UNAVAILABLE: 'OBJECT_LOCK_UNAVAILABLE',
  /** Objects written with Object Lock carry no retention, or less than asked, when read back: they are not protected. */
  OBJECT_LOCK_NOT_APPLIED: 'OBJECT_LOCK_NOT_APPLIED',
  FORMAT_UNSUPPORTED: 'FORMAT_UNSUPPORTED',
  FORMAT_INVALID: 'FORMAT_INVALID',
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  OBJECT_KEY_MISMATCH: 'OBJECT_KEY_MISMATCH',
  SNAPSHOT_NOT_FOUND: 'SNAPSHOT_NOT_FOUND',
  SNAPSHOT_AMBIGUOUS: 'SNAPSHOT_AMBIGUOUS',
  CHAIN_INCOMPLETE: 'CHAIN_INCOMPLETE',
  /** A snapshot's signature by a trusted key does not match its manifest: the manifest was altered after it was signed. */
  SNAPSHOT_SIGNATURE_INVALID: 'SNAPSHOT_SIGNATURE_INVALID',
  /** A snapshot carries no signature by a key the reader trusts (never signed, or signed by another key), and the reader requires one. */
  SNAPSHOT_UNSIGNED: 'SNAPSHOT_UNSIGNED',
  /** A snapshot id dated beyond the clock's tolerance: planted or written by a host with a wrong clock; never a base. */
  SNAPSHOT_FROM_FUTURE: 'SNAPSHOT_FROM_FUTURE',
  /** A signing key file or secret that is not an Ed25519 private key, or a fingerprint that is not one. */
  SIGNING_KEY_INVALID: 'SIGNING_KEY_INVALID',
  /** The snapshot holds no such metadata: no configuration to restore, no pull request or attachment of that id. */
  METADATA_NOT_FOUND: 'METADATA_NOT_FOUND',
  LOCKED: 'LOCKED',
  // Encryption
  IDENTITY_REQUIRED: 'IDENTITY_REQUIRED',
  IDENTITY_MISMATCH: 'IDENTITY_MISMATCH',
  IDENTITY_INVALID: 'IDENTITY_INVALID',
  RECIPIENT_INVALID: 'RECIPIENT_INVALID',
  DECRYPT_FAILED: 'DECRYPT_FAILED',
  // Restore
  RESTORE_TARGET_NOT_EMPTY: 'RESTORE_TARGET_NOT_EMPTY',
  RESTORE_REF_EXISTS: 'RESTORE_REF_EXISTS',
  /** The restore's plan found a file over the target's limit and nobody confirmed the limit was lifted: nothing was written. */
  RESTORE_LARGE_FILES: 'RESTORE_LARGE_FILES',
  /** A push carrying a file over the limit was refused although the person confirmed the limit was lifted. */
  RESTORE_LARGE_FILE_REFUSED: 'RESTORE_LARGE_FILE_REFUSED',
  /** A push restore wrote every ref, but the snapshot's LFS objects did not reach the target's LFS server (e.g. a host without LFS). */
  RESTORE_LFS_NOT_UPLOADED: 'RESTORE_LFS_NOT_UPLOADED',
  LOCAL_GIT_FAILED: 'LOCAL_GIT_FAILED',
  LOCAL_FILE_ERROR: 'LOCAL_FILE_ERROR',
  /** `lifeboat attach`: the file or folder is not an issue export or a wiki clone. */
  ATTACHMENT_INVALID: 'ATTACHMENT_INVALID',
  /** `lifeboat attach`: the zip inflates beyond the limits on an entry, the whole or the ratio (a zip bomb): nothing is written. */
  ATTACHMENT_TOO_LARGE: 'ATTACHMENT_TOO_LARGE',
  // Bitbucket REST
  BITBUCKET_AUTH_REQUIRED: 'BITBUCKET_AUTH_REQUIRED',
  BITBUCKET_FORBIDDEN: 'BITBUCKET_FORBIDDEN',
  BITBUCKET_NOT_FOUND: 'BITBUCKET_NOT_FOUND',
  BITBUCKET_RATE_LIMITED: 'BITBUCKET_RATE_LIMITED',
  BITBUCKET_UNAVAILABLE: 'BITBUCKET_UNAVAILABLE',
  BITBUCKET_HTTP: 'BITBUCKET_HTTP',
  /** A metadata problem: a pull request stored without a part Bitbucket kept failing (a 5xx, e.g. the diffstat's 555). */
  PULL_REQUEST_PARTIAL: 'PULL_REQUEST_PARTIAL',
  /** A metadata problem: Bitbucket listed a pull request whose id is not a positive integer; it is left out. */
  PULL_REQUEST_ID_INVALID: 'PULL_REQUEST_ID_INVALID',
  // The app
  NOT_CONFIGURED: 'NOT_CONFIGURED',
  PLATFORM_BUSY: 'PLATFORM_BUSY',
  /** An outbound request's connection closed before its answer was complete (on Forge: also its 180 s cut). */
  CONNECTION_LOST: 'CONNECTION_LOST',
  REPOSITORY_BUSY: 'REPOSITORY_BUSY',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  JOB_STOPPED: 'JOB_STOPPED',
  // Input
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  ABORTED: 'ABORTED',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Who can act on it: the user (fix a setting), nobody yet (retry later), or us (a bug). */
export type ErrorKind = 'user' | 'transient' | 'bug';

const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'GIT_UNREACHABLE',
  'GIT_TIMEOUT',
  'GIT_SERVER_BUSY',
  'BUCKET_UNREACHABLE',
  'LOCKED',
  'BITBUCKET_RATE_LIMITED',
  'BITBUCKET_UNAVAILABLE',
  'PLATFORM_BUSY',
  'CONNECTION_LOST',
  'REPOSITORY_BUSY',
]);
const BUG: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['INTERNAL']);

export interface LifeboatErrorJson {
  code: ErrorCode;
  kind: ErrorKind;
  message: string;
  details?: Record<string, unknown>;
}

export class LifeboatError extends Error {
  override readonly name = 'LifeboatError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }

  get kind(): ErrorKind {
    if (BUG.has(this.code)) return 'bug';
    return TRANSIENT.has(this.code) ? 'transient' : 'user';
  }

  toJSON(): LifeboatErrorJson {
    return { code: this.code, kind: this.kind, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isLifeboatError(error: unknown, code?: ErrorCode): error is LifeboatError {
  return error instanceof LifeboatError && (code === undefined || error.code === code);
}

export function cancelled(cause: unknown): LifeboatError {
  return new LifeboatError('ABORTED', 'The operation was cancelled.', { cause });
}

/** File system failures on the user's machine (restore --to, download): theirs to fix, not a bug. */
const LOCAL_FILE_ERRNOS = new Set(['EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOENT', 'EMFILE']);

/** Anything thrown that is not a LifeboatError is a bug until proven otherwise. */
export function toLifeboatError(error: unknown): LifeboatError {
  if (error instanceof LifeboatError) return error;
  if (error instanceof Error && error.name === 'AbortError') return cancelled(error);
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof Error && errno && LOCAL_FILE_ERRNOS.has(errno)) {
    return new LifeboatError('LOCAL_FILE_ERROR', `${error.message} (check the folder, its permissions and free space).`, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LifeboatError('INTERNAL', message, { cause: error });
}

/** How a field of a request is wrong: what a page needs to mark the field and word the problem. */
export type FieldProblemKind = 'required' | 'wrong-type' | 'too-small' | 'too-big' | 'invalid' | 'unknown-field' | 'needs-confirmation'
  /** A credential or key that failed its connection test; the request may save it anyway. */
  | 'failed-test';

/**
 * One field a request got wrong: its path in the request (the settings' own fields
 * from the settings object, e.g. ['bucket', 'name']), the kind of problem, and the
 * rule it broke in words ("must be 3 to 63 characters"), as the schema states it.
 */
export interface FieldProblem {
  path: Array<string | number>;
  kind: FieldProblemKind;
  message: string;
}

/** A schema issue as zod reports it (structurally: the engine does not depend on zod's types). */
interface SchemaIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
  keys?: string[];
  params?: Record<string, unknown>;
}

const ISSUE_KINDS: Record<string, FieldProblemKind> = { too_small: 'too-small', too_big: 'too-big', unrecognized_keys: 'unknown-field' };

/** Each issue as a field problem; a schema marks a confirmation rule with `params: { kind: 'needs-confirmation' }`. */
export function fieldProblemsOf(issues: readonly SchemaIssue[]): FieldProblem[] {
  return issues.flatMap((issue): FieldProblem[] => {
    const path = issue.path.map((part) => (typeof part === 'number' ? part : String(part)));
    if (issue.code === 'unrecognized_keys') return (issue.keys ?? []).map((key) => ({ path: [...path, key], kind: 'unknown-field', message: 'is not a field of this request' }));
    const kind: FieldProblemKind = issue.params?.kind === 'needs-confirmation' ? 'needs-confirmation'
      : issue.code === 'invalid_type' ? (issue.input === undefined ? 'required' : 'wrong-type')
        : ISSUE_KINDS[issue.code] ?? 'invalid';
    return [{ path, kind, message: issue.message }];
  });
}

/** The field problems an INVALID_ARGUMENT carries (none for other errors). */
export function fieldProblemsIn(error: LifeboatError): FieldProblem[] {
  const problems = error.code === 'INVALID_ARGUMENT' ? error.details?.problems : undefined;
  return Array.isArray(problems) ? (problems as FieldProblem[]) : [];
}
