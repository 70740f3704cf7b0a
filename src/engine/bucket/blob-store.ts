/**
 * The bucket as the engine sees it: a narrow port with two implementations (S3,
 * memory) that pass one conformance suite (blob-store.conformance.ts).
 * Keys are relative to the store's prefix and always use '/' separators.
 */
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { ByteStream } from '../streams.js';

export interface BlobInfo {
  key: string;
  size: number;
  lastModified: Date;
}

export interface ObjectLockOptions {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  retainUntil: Date;
}

/**
 * What stat() says of one object: besides BlobInfo, the Object Lock retention in
 * effect (S3 API Reference, HeadObject: ObjectLockMode and ObjectLockRetainUntilDate,
 * "only returned if the requester has the s3:GetObjectRetention permission").
 */
export interface BlobStat extends BlobInfo {
  /** Absent when the object has no retention, or the store may not read it. */
  lock?: ObjectLockOptions;
}

export interface PutOptions {
  contentType?: string;
  /** Byte length when known up front; a single request is used then, multipart otherwise. */
  contentLength?: number;
  lock?: ObjectLockOptions;
  /** Bytes sent so far. */
  onProgress?: (bytesSent: number) => void;
  signal?: AbortSignal;
}

/** A multipart upload begun and neither completed nor aborted: its parts are stored (and billed) but are no object. */
export interface IncompleteUpload {
  key: string;
  /** The store's name for the upload, given back to abortIncompleteUpload. */
  uploadId: string;
  initiated: Date;
}

export interface ByteRange {
  start: number;
  /** Inclusive, as in HTTP Range; omitted reads to the end. */
  end?: number;
}

export interface BlobStore {
  /** Human description for messages, e.g. "s3://bucket/prefix". */
  readonly location: string;
  /**
   * Streams `body` to `key`. All or nothing: on any error (including a failing
   * body stream) the upload is aborted and nothing is visible under `key`.
   */
  put(key: string, body: ByteStream | Uint8Array, options?: PutOptions): Promise<void>;
  /** Throws OBJECT_NOT_FOUND when absent. */
  get(key: string, range?: ByteRange): Promise<ByteStream>;
  /** undefined when absent. */
  stat(key: string): Promise<BlobStat | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  /** Idempotent: removing an absent key succeeds. Throws OBJECT_LOCKED under retention. */
  remove(key: string): Promise<void>;
  /** Server-side copy (used to publish a staged upload under its content address). */
  copy(fromKey: string, toKey: string, options?: { lock?: ObjectLockOptions }): Promise<void>;
  /** Whether the bucket has Object Lock enabled (undefined when the store cannot tell). */
  objectLockEnabled(): Promise<boolean | undefined>;
  /**
   * Uploads of keys starting with `prefix` still incomplete: running, or left by a process that died
   * mid-put; in key order, then oldest first. undefined when the store cannot list them (the server does not implement it, or the
   * credentials may not).
   */
  listIncompleteUploads(prefix: string): Promise<IncompleteUpload[] | undefined>;
  /** Discards an incomplete upload's parts; a put still feeding it then fails. Idempotent: an upload already gone succeeds. */
  abortIncompleteUpload(upload: { key: string; uploadId: string }): Promise<void>;
}

export function isNotFound(error: unknown): boolean {
  return isLifeboatError(error, 'OBJECT_NOT_FOUND');
}

export function notFound(key: string, location: string): LifeboatError {
  return new LifeboatError('OBJECT_NOT_FOUND', `No object ${key} in ${location}.`, { details: { key } });
}

/** A range of whole numbers, end (inclusive) not before start: refused before any request. */
export function checkRange(range: ByteRange | undefined): void {
  if (range && (!Number.isInteger(range.start) || range.start < 0 || (range.end !== undefined && (!Number.isInteger(range.end) || range.end < range.start)))) {
    throw new LifeboatError('INVALID_ARGUMENT', `Invalid byte range ${range.start}-${range.end ?? ''}.`);
  }
}
