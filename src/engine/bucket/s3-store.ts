/**
 * BlobStore on S3 and S3-compatible servers (@aws-sdk/client-s3). Uploads go through
 * lib-storage's Upload: bounded part queue (memory ≈ partSize × (queueSize + 1)),
 * multipart aborted on failure. The client is configured in s3-client.ts, large copies
 * are s3-copy.ts's, and every SDK error becomes a LifeboatError in s3-errors.ts.
 */
import { Readable, addAbortSignal } from 'node:stream';
import {
  CopyObjectCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LifeboatError, cancelled, toLifeboatError } from '../errors.js';
import { fromBytes, type ByteStream } from '../streams.js';
import { trimSlashes } from './bucket-url.js';
import { checkRange, notFound, type BlobInfo, type BlobStat, type BlobStore, type ByteRange, type IncompleteUpload, type ObjectLockOptions, type PutOptions } from './blob-store.js';
import { checkBucketPrefix } from './bucket-keys.js';
import { type S3ConnectionOptions, createS3Client, describeEndpoint } from './s3-client.js';
import { MAX_PARTS, multipartCopy } from './s3-copy.js';
import { type S3Action, type S3Place, bucketMissing, cannotTell, s3Code, s3Error, statusOf } from './s3-errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's limits: smallest part but the last, largest object one CopyObject may copy. */
const MIN_PART_SIZE = 5 * MiB;
const MAX_COPY_OBJECT_BYTES = 5 * GiB;
/**
 * S3's minimum keeps a streaming upload's memory small (bench: the CLI's peak RSS);
 * with 10,000 parts it still allows 48 GiB. Callers limited in requests per minute
 * (Forge: ~100) pass bigger parts: partSizeFor.
 */
const DEFAULT_PART_SIZE = MIN_PART_SIZE;
const DEFAULT_QUEUE_SIZE = 2;
/** The slowest upload a part must still finish within one request at (not documented: assumed). */
const SLOWEST_UPLOAD_BYTES_PER_SECOND = MiB;

/**
 * The part size of streaming uploads in a process with `memoryBytes` whose requests are
 * cut after `requestSeconds` (Forge: the function's memory and 180 s). As large as memory
 * allows, since each part is a request (Forge allows about 100 a minute): an eighth of the
 * memory for the parts held at once (partSize × (queueSize + 1)), because an upload costs
 * about three times its parts' bytes (measured, ../shared/reference/git-protocol.md: 16 MiB
 * parts, 2 in flight, 214 MB against 82 MB without S3) and the rest is the git stream's and
 * the runtime's; and no larger than what goes up within one request at the slowest rate.
 * Whole MiB, never under S3's minimum.
 */
export function partSizeFor(budget: { memoryBytes: number; requestSeconds: number; queueSize?: number }): number {
  const byMemory = budget.memoryBytes / 8 / ((budget.queueSize ?? DEFAULT_QUEUE_SIZE) + 1);
  const byTime = budget.requestSeconds * SLOWEST_UPLOAD_BYTES_PER_SECOND;
  return Math.max(MIN_PART_SIZE, Math.floor(Math.min(byMemory, byTime) / MiB) * MiB);
}

export interface S3StoreOptions extends S3ConnectionOptions {
  bucket: string;
  /** Folder inside the bucket; keys given to the store are relative to it. */
  prefix?: string;
  /** Multipart part size; default and minimum 5 MiB (S3's minimum); partSizeFor sizes it to a memory and request budget. */
  partSizeBytes?: number;
  /** Parts uploaded at once; default 2. */
  queueSize?: number;
  /** Objects larger than this are copied with UploadPartCopy; default 5 GiB, S3's CopyObject limit. */
  multipartCopyThresholdBytes?: number;
  /** Part size of a multipart copy; default 512 MiB (server-side, so large parts cost no memory). */
  copyPartSizeBytes?: number;
  /** An already configured client; endpoint, region, credentials and forcePathStyle are then ignored. */
  client?: S3Client;
}

export function createS3Store(options: S3StoreOptions): BlobStore {
  const partSize = options.partSizeBytes ?? DEFAULT_PART_SIZE;
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  if (partSize < MIN_PART_SIZE) {
    throw new LifeboatError('INVALID_ARGUMENT', `Part size ${partSize} is below S3's minimum of ${MIN_PART_SIZE} bytes.`);
  }
  if (!Number.isInteger(queueSize) || queueSize < 1) {
    throw new LifeboatError('INVALID_ARGUMENT', `Queue size must be a positive integer, not ${queueSize}.`);
  }
  // Every way into a bucket takes the one prefix rule: settings stored before it was written too.
  if (options.prefix !== undefined) checkBucketPrefix(trimSlashes(options.prefix));
  const endpoint = options.client ? undefined : options.endpoint;
  const client = options.client ?? createS3Client(options);
  return new S3BlobStore(client, {
    bucket: options.bucket,
    prefix: options.prefix ? `${trimSlashes(options.prefix)}/` : '',
    endpoint,
    partSize,
    queueSize,
    multipartCopyThreshold: options.multipartCopyThresholdBytes ?? MAX_COPY_OBJECT_BYTES,
    copyPartSize: options.copyPartSizeBytes ?? 512 * MiB,
  });
}

interface Settings {
  bucket: string;
  /** '' or ends with '/'. */
  prefix: string;
  endpoint: string | undefined;
  partSize: number;
  queueSize: number;
  multipartCopyThreshold: number;
  copyPartSize: number;
}

class S3BlobStore implements BlobStore {
  readonly location: string;
  /** Set once any request reached the bucket: a 404 on HEAD then means the key, not the bucket. */
  private bucketSeen = false;
  private readonly place: S3Place;

  constructor(private readonly client: S3Client, private readonly settings: Settings) {
    this.location = `s3://${settings.bucket}${settings.prefix ? `/${trimSlashes(settings.prefix)}` : ''}`;
    this.place = {
      bucket: settings.bucket,
      location: this.location,
      endpoint: () => describeEndpoint(client, settings.endpoint),
    };
  }

  async put(key: string, body: ByteStream | Uint8Array, options: PutOptions = {}): Promise<void> {
    const { signal, onProgress, lock, contentType } = options;
    if (signal?.aborted) throw cancelled(signal.reason);
    const params = {
      Bucket: this.settings.bucket,
      Key: this.fullKey(key),
      ContentType: contentType,
      ...lockParams(lock),
      // S3 refuses Object Lock uploads without Content-MD5 or a checksum; the SDK computes CRC32 when asked.
      ...(lock ? { ChecksumAlgorithm: 'CRC32' as const } : {}),
    };
    if (body instanceof Uint8Array && body.byteLength <= this.settings.partSize) {
      try {
        await this.client.send(new PutObjectCommand({ ...params, Body: body }), { abortSignal: signal });
      } catch (error) {
        throw signal?.aborted ? cancelled(signal.reason) : await this.fail(error, 'write', key);
      }
      this.bucketSeen = true;
      onProgress?.(body.byteLength);
      return;
    }

    // Upload replaces the body's error with the AbortMultipartUpload error when that fails too. Only what
    // the body itself throws counts: when a part fails, Upload stops reading and the Readable below is
    // destroyed with an AbortError, thrown in at the yield, that says nothing about the body.
    let bodyError: unknown;
    async function* watched(stream: ByteStream): ByteStream {
      const iterator = stream[Symbol.asyncIterator]();
      try {
        for (;;) {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await iterator.next();
          } catch (error) {
            bodyError = error;
            throw error;
          }
          if (next.done) return;
          yield next.value;
        }
      } finally {
        await iterator.return?.();
      }
    }
    // highWaterMark 1: read ahead one chunk, not 16; Upload itself buffers the parts.
    const source = Readable.from(watched(body instanceof Uint8Array ? fromBytes(body) : body), { highWaterMark: 1 });
    if (signal) addAbortSignal(signal, source);
    const partSize = Math.max(this.settings.partSize, Math.ceil((options.contentLength ?? 0) / MAX_PARTS));
    const upload = new Upload({
      client: this.client,
      params: { ...params, Body: source },
      partSize,
      queueSize: this.settings.queueSize,
      leavePartsOnError: false,
    });
    if (onProgress) upload.on('httpUploadProgress', (progress) => { if (progress.loaded !== undefined) onProgress(progress.loaded); });
    try {
      await upload.done();
      this.bucketSeen = true;
    } catch (error) {
      if (signal?.aborted) throw cancelled(signal.reason);
      if (bodyError !== undefined) throw toLifeboatError(bodyError);
      throw await this.fail(error, 'write', key);
    } finally {
      source.destroy();
    }
  }

  async get(key: string, range?: ByteRange): Promise<ByteStream> {
    checkRange(range);
    try {
      const output = await this.client.send(new GetObjectCommand({
        Bucket: this.settings.bucket,
        Key: this.fullKey(key),
        Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
      }));
      this.bucketSeen = true;
      // The Node runtime always answers with an IncomingMessage.
      if (!(output.Body instanceof Readable)) throw new LifeboatError('INTERNAL', `Unexpected body type for ${key}.`);
      return this.readBody(output.Body, key);
    } catch (error) {
      throw await this.fail(error, 'read', key);
    }
  }

  private async *readBody(body: Readable, key: string): ByteStream {
    try {
      yield* body;
    } catch (error) {
      throw await this.fail(error, 'read', key);
    }
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.fullKey(key) }));
      this.bucketSeen = true;
      const { ObjectLockMode: mode, ObjectLockRetainUntilDate: retainUntil } = head;
      // HeadObject sends both headers for an object under retention (and a caller with s3:GetObjectRetention).
      const lock = mode && retainUntil ? { lock: { mode, retainUntil } } : {};
      return { key, size: head.ContentLength ?? 0, lastModified: head.LastModified ?? new Date(0), ...lock };
    } catch (error) {
      // HEAD answers carry no error code: a 404 is the same for a missing key and a missing bucket.
      if (statusOf(error) === 404) {
        await this.checkBucket();
        return undefined;
      }
      throw await this.fail(error, 'read', key);
    }
  }

  private async checkBucket(): Promise<void> {
    if (this.bucketSeen) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.settings.bucket }));
      this.bucketSeen = true;
    } catch (error) {
      throw statusOf(error) === 404 ? await bucketMissing(this.place, error) : await this.fail(error, 'read');
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const pages = paginateListObjectsV2({ client: this.client }, { Bucket: this.settings.bucket, Prefix: this.fullKey(prefix) });
    try {
      for await (const page of pages) {
        this.bucketSeen = true;
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield { key: object.Key.slice(this.settings.prefix.length), size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
        }
      }
    } catch (error) {
      throw await this.fail(error, 'list', prefix);
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.fullKey(key) }));
      this.bucketSeen = true;
    } catch (error) {
      throw await this.fail(error, 'delete', key);
    }
  }

  async copy(fromKey: string, toKey: string, options: { lock?: ObjectLockOptions } = {}): Promise<void> {
    const { bucket } = this.settings;
    const source = this.fullKey(fromKey);
    const target = { Bucket: bucket, Key: this.fullKey(toKey) };
    // S3 wants the copy source URL-encoded, '/' kept.
    const copySource = `${bucket}/${encodeURIComponent(source).replace(/%2F/g, '/')}`;
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: source }));
    } catch (error) {
      if (statusOf(error) !== 404) throw await this.fail(error, 'read', fromKey);
      await this.checkBucket();
      throw notFound(fromKey, this.location);
    }
    const size = head.ContentLength ?? 0;
    try {
      if (size <= this.settings.multipartCopyThreshold) {
        // Metadata and content type come along (MetadataDirective COPY); retention is only what is asked for.
        await this.client.send(new CopyObjectCommand({ ...target, ...lockParams(options.lock), CopySource: copySource }));
        return;
      }
      await multipartCopy(this.client, {
        copySource,
        size,
        target: { ...target, ...lockParams(options.lock), ContentType: head.ContentType, Metadata: head.Metadata },
        partSize: this.settings.copyPartSize,
        queueSize: this.settings.queueSize,
      });
    } catch (error) {
      throw await this.fail(error, 'write', toKey);
    }
  }

  async objectLockEnabled(): Promise<boolean | undefined> {
    try {
      const output = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.settings.bucket }));
      this.bucketSeen = true;
      return output.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (error) {
      if (s3Code(error) === 'ObjectLockConfigurationNotFoundError') return false;
      // Servers without Object Lock, or a policy without s3:GetBucketObjectLockConfiguration.
      if (cannotTell(error)) return undefined;
      throw await this.fail(error, 'read');
    }
  }

  async listIncompleteUploads(prefix: string): Promise<IncompleteUpload[] | undefined> {
    const uploads: IncompleteUpload[] = [];
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    try {
      for (;;) {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.settings.bucket, Prefix: this.fullKey(prefix), ...markers }));
        this.bucketSeen = true;
        for (const upload of page.Uploads ?? []) {
          // Without its initiation time an upload's age cannot be judged: left to the bucket's lifecycle rule.
          if (upload.Key === undefined || upload.UploadId === undefined || upload.Initiated === undefined) continue;
          uploads.push({ key: upload.Key.slice(this.settings.prefix.length), uploadId: upload.UploadId, initiated: upload.Initiated });
        }
        if (!page.IsTruncated || page.NextKeyMarker === undefined) return uploads;
        markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
    } catch (error) {
      // Servers without ListMultipartUploads (s3rver 3.7), or a policy without s3:ListBucketMultipartUploads.
      if (cannotTell(error)) return undefined;
      throw await this.fail(error, 'list', prefix);
    }
  }

  async abortIncompleteUpload(upload: { key: string; uploadId: string }): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.settings.bucket, Key: this.fullKey(upload.key), UploadId: upload.uploadId }));
      this.bucketSeen = true;
    } catch (error) {
      if (s3Code(error) === 'NoSuchUpload') return; // completed or aborted meanwhile
      throw await this.fail(error, 'delete', upload.key);
    }
  }

  private fullKey(key: string): string {
    return this.settings.prefix + key;
  }

  private fail(error: unknown, action: S3Action, key?: string): Promise<LifeboatError> {
    return s3Error(error, this.place, action, key);
  }
}

function lockParams(lock: ObjectLockOptions | undefined) {
  return lock ? { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: lock.retainUntil } : {};
}
