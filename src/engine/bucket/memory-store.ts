/**
 * BlobStore in memory, for tests. Behaves like the S3 store as the conformance
 * suite sees it, plus Object Lock retention: a locked object cannot be removed or
 * overwritten before its retainUntil. A streamed put is an incomplete upload from its
 * first chunk until it ends, as a multipart upload is on S3.
 */
import { LifeboatError, cancelled, toLifeboatError } from '../errors.js';
import { fromBytes, type ByteStream } from '../streams.js';
import { checkRange, notFound, type BlobInfo, type BlobStat, type BlobStore, type ByteRange, type IncompleteUpload, type ObjectLockOptions, type PutOptions } from './blob-store.js';

export interface MemoryBlobStoreOptions {
  /** What objectLockEnabled() answers (default false); lock puts need true or undefined, as on S3. */
  objectLockEnabled?: boolean | undefined;
  /** Clock for lastModified and retention; default the real one. */
  now?: () => Date;
  location?: string;
}

interface StoredObject {
  bytes: Uint8Array;
  lastModified: Date;
  lock: ObjectLockOptions | undefined;
}

/** get() hands out the bytes in pieces, so readers meet chunk boundaries as they would over HTTP. */
const READ_CHUNK = 64 * 1024;

export class MemoryBlobStore implements BlobStore {
  readonly location: string;
  private readonly objects = new Map<string, StoredObject>();
  /** By upload id. */
  private readonly uploads = new Map<string, IncompleteUpload>();
  private uploadsStarted = 0;
  private readonly lockEnabled: boolean | undefined;
  private readonly now: () => Date;

  constructor(options: MemoryBlobStoreOptions = {}) {
    this.location = options.location ?? 'memory://';
    this.lockEnabled = 'objectLockEnabled' in options ? options.objectLockEnabled : false;
    this.now = options.now ?? (() => new Date());
  }

  async put(key: string, body: ByteStream | Uint8Array, options: PutOptions = {}): Promise<void> {
    const { signal, lock, onProgress } = options;
    if (lock && this.lockEnabled === false) {
      throw new LifeboatError('BUCKET_ERROR', `${this.location} refused to write ${key}: Object Lock is not enabled on the bucket.`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    let uploadId: string | undefined;
    /** Another party (a prune) aborted the upload: like S3's next UploadPart, the put fails. */
    const checkUpload = (): void => {
      if (uploadId !== undefined && !this.uploads.has(uploadId)) {
        throw new LifeboatError('BUCKET_ERROR', `${this.location} refused to write ${key}: its upload was aborted before it completed.`, { details: { key } });
      }
    };
    try {
      if (signal?.aborted) throw cancelled(signal.reason);
      for await (const chunk of body instanceof Uint8Array ? fromBytes(body) : body) {
        if (signal?.aborted) throw cancelled(signal.reason);
        if (uploadId === undefined && !(body instanceof Uint8Array)) {
          uploadId = `upload-${++this.uploadsStarted}`;
          this.uploads.set(uploadId, { key, uploadId, initiated: this.now() });
        }
        checkUpload();
        chunks.push(chunk);
        size += chunk.byteLength;
        onProgress?.(size);
      }
      if (signal?.aborted) throw cancelled(signal.reason);
      checkUpload();
    } catch (error) {
      throw toLifeboatError(error);
    } finally {
      // Completed, or aborted on failure: either way no longer incomplete.
      if (uploadId !== undefined) this.uploads.delete(uploadId);
    }
    this.checkNotRetained(key, 'overwritten');
    // Buffer.concat copies, so a caller reusing its buffers cannot change what was stored.
    this.objects.set(key, { bytes: Buffer.concat(chunks, size), lastModified: this.now(), lock });
  }

  async get(key: string, range?: ByteRange): Promise<ByteStream> {
    const object = this.objects.get(key);
    if (!object) throw notFound(key, this.location);
    const { bytes } = object;
    let start = 0;
    let end = bytes.byteLength;
    if (range) {
      checkRange(range);
      if (range.start >= bytes.byteLength) {
        throw new LifeboatError('INVALID_ARGUMENT', `The requested range is outside ${key} in ${this.location}.`, { details: { key } });
      }
      start = range.start;
      end = Math.min(bytes.byteLength, (range.end ?? Infinity) + 1);
    }
    return chunked(bytes.subarray(start, end));
  }

  /** With the retention in effect as S3 answers it (S3 API Reference, HeadObject: ObjectLockMode, ObjectLockRetainUntilDate): the mode and date the put or copy asked for. */
  async stat(key: string): Promise<BlobStat | undefined> {
    const object = this.objects.get(key);
    return object && { ...this.info(key, object), ...(object.lock ? { lock: { ...object.lock } } : {}) };
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    // S3 lists in UTF-8 byte order, which differs from UTF-16 string order outside the BMP.
    const keys = [...this.objects.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const key of keys) {
      const object = this.objects.get(key);
      if (object) yield this.info(key, object);
    }
  }

  async remove(key: string): Promise<void> {
    this.checkNotRetained(key, 'deleted');
    this.objects.delete(key);
  }

  async copy(fromKey: string, toKey: string, options: { lock?: ObjectLockOptions } = {}): Promise<void> {
    const source = this.objects.get(fromKey);
    if (!source) throw notFound(fromKey, this.location);
    if (options.lock && this.lockEnabled === false) {
      throw new LifeboatError('BUCKET_ERROR', `${this.location} refused to write ${toKey}: Object Lock is not enabled on the bucket.`);
    }
    this.checkNotRetained(toKey, 'overwritten');
    // Like S3, the copy gets the retention asked for, not the source's.
    this.objects.set(toKey, { bytes: source.bytes, lastModified: this.now(), lock: options.lock });
  }

  async objectLockEnabled(): Promise<boolean | undefined> {
    return this.lockEnabled;
  }

  async listIncompleteUploads(prefix: string): Promise<IncompleteUpload[]> {
    return [...this.uploads.values()]
      .filter((upload) => upload.key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)) || a.initiated.getTime() - b.initiated.getTime())
      .map((upload) => ({ ...upload }));
  }

  async abortIncompleteUpload(upload: { key: string; uploadId: string }): Promise<void> {
    if (this.uploads.get(upload.uploadId)?.key === upload.key) this.uploads.delete(upload.uploadId);
  }

  private info(key: string, object: StoredObject): BlobInfo {
    return { key, size: object.bytes.byteLength, lastModified: object.lastModified };
  }

  private checkNotRetained(key: string, what: 'deleted' | 'overwritten'): void {
    const lock = this.objects.get(key)?.lock;
    if (lock && lock.retainUntil > this.now()) {
      throw new LifeboatError('OBJECT_LOCKED', `${key} in ${this.location} is under Object Lock retention until ${lock.retainUntil.toISOString()} and cannot be ${what}.`, {
        details: { key, retainUntil: lock.retainUntil.toISOString() },
      });
    }
  }
}

async function* chunked(bytes: Uint8Array): ByteStream {
  for (let offset = 0; offset < bytes.byteLength; offset += READ_CHUNK) {
    yield bytes.subarray(offset, offset + READ_CHUNK);
  }
}
