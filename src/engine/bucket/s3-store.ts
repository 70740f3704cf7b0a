/**
 * BlobStore on S3 and S3-compatible servers (@aws-sdk/client-s3). Uploads go through
 * lib-storage's Upload: bounded part queue (memory ≈ partSize × (queueSize + 1)),
 * multipart aborted on failure. Every SDK error is turned into a LifeboatError here
 * and nowhere else.
 */
import { isIP } from 'node:net';
import { Readable, addAbortSignal } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  paginateListObjectsV2,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LifeboatError, isLifeboatError, toLifeboatError } from '../errors.js';
import { fromBytes, type ByteStream } from '../streams.js';
import { trimSlashes } from './bucket-url.js';
import { notFound, type BlobInfo, type BlobStore, type ByteRange, type IncompleteUpload, type ObjectLockOptions, type PutOptions } from './blob-store.js';
import { ACCESS_DENIED, cannotTell, messageOf, networkCode, s3Code, statusOf, unparsedAnswer } from './s3-errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's limits: smallest part but the last, parts per upload, largest object one CopyObject may copy. */
const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;
const MAX_COPY_OBJECT_BYTES = 5 * GiB;
/**
 * S3's minimum keeps a streaming upload's memory small (bench: the CLI's peak RSS);
 * with 10,000 parts it still allows 48 GiB. Callers limited in requests per minute
 * (Forge: ~100) pass bigger parts.
 */
const DEFAULT_PART_SIZE = MIN_PART_SIZE;

export interface S3StoreOptions {
  bucket: string;
  /** Folder inside the bucket; keys given to the store are relative to it. */
  prefix?: string;
  /** For S3-compatible servers; otherwise AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, otherwise AWS. */
  endpoint?: string;
  /** Otherwise the SDK's chain (AWS_REGION, profile), otherwise us-east-1. */
  region?: string;
  /** Otherwise the SDK's chain (AWS_ACCESS_KEY_ID..., AWS_PROFILE, SSO, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Default: path-style when the endpoint host is an IP address or localhost. */
  forcePathStyle?: boolean;
  /** Multipart part size; default and minimum 5 MiB (S3's minimum). */
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

/** Virtual-hosted addressing (bucket.host) cannot work when the host is an IP address or localhost. */
export function defaultPathStyle(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

export function createS3Store(options: S3StoreOptions): BlobStore {
  const partSize = options.partSizeBytes ?? DEFAULT_PART_SIZE;
  const queueSize = options.queueSize ?? 2;
  if (partSize < MIN_PART_SIZE) {
    throw new LifeboatError('INVALID_ARGUMENT', `Part size ${partSize} is below S3's minimum of ${MIN_PART_SIZE} bytes.`);
  }
  if (!Number.isInteger(queueSize) || queueSize < 1) {
    throw new LifeboatError('INVALID_ARGUMENT', `Queue size must be a positive integer, not ${queueSize}.`);
  }
  const endpoint = options.client ? undefined : configuredEndpoint(options.endpoint);
  const client = options.client ?? new S3Client(clientConfig(options, endpoint));
  return new S3BlobStore(client, {
    bucket: options.bucket,
    prefix: options.prefix ? `${trimSlashes(options.prefix)}/` : '',
    endpoint,
    explicitCredentials: options.credentials !== undefined,
    partSize,
    queueSize,
    multipartCopyThreshold: options.multipartCopyThresholdBytes ?? MAX_COPY_OBJECT_BYTES,
    copyPartSize: options.copyPartSizeBytes ?? 512 * MiB,
  });
}

function configuredEndpoint(endpoint: string | undefined): string | undefined {
  const value = endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (value === undefined || value === '') return undefined;
  if (!URL.canParse(value)) throw new LifeboatError('INVALID_ARGUMENT', `Endpoint "${value}" is not a URL (like https://s3.example.com).`);
  return value;
}

function clientConfig(options: S3StoreOptions, endpoint: string | undefined): S3ClientConfig {
  return {
    endpoint,
    region: options.region ?? memoize(regionOrDefault),
    credentials: options.credentials,
    forcePathStyle: options.forcePathStyle ?? defaultPathStyle(endpoint),
    followRegionRedirects: true,
    // Without this a dead endpoint is noticed only after the OS connect timeout (minutes) per retry.
    requestHandler: { connectionTimeout: 10_000 },
    // S3-compatible servers differ on the SDK's default CRC32 checksums (s3rver stores the aws-chunked
    // framing of a streamed body as data; some R2/B2/MinIO versions refuse the headers). AWS keeps the
    // SDK default, which AWS_REQUEST_CHECKSUM_CALCULATION can change.
    ...(endpoint === undefined ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
  };
}

/** The SDK asks for the region on every request. */
function memoize<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load());
}

/** The SDK's region chain (env, profile), falling back to us-east-1 so S3-compatible endpoints work unconfigured. */
async function regionOrDefault(): Promise<string> {
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return 'us-east-1';
  } finally {
    probe.destroy();
  }
}

interface Settings {
  bucket: string;
  /** '' or ends with '/'. */
  prefix: string;
  endpoint: string | undefined;
  explicitCredentials: boolean;
  partSize: number;
  queueSize: number;
  multipartCopyThreshold: number;
  copyPartSize: number;
}

class S3BlobStore implements BlobStore {
  readonly location: string;
  /** Set once any request reached the bucket: a 404 on HEAD then means the key, not the bucket. */
  private bucketSeen = false;

  constructor(private readonly client: S3Client, private readonly settings: Settings) {
    this.location = `s3://${settings.bucket}${settings.prefix ? `/${trimSlashes(settings.prefix)}` : ''}`;
  }

  async put(key: string, body: ByteStream | Uint8Array, options: PutOptions = {}): Promise<void> {
    const { signal, onProgress, lock, contentType } = options;
    if (signal?.aborted) throw aborted(signal);
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
        throw signal?.aborted ? aborted(signal) : await this.fail(error, 'write', key);
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
      if (signal?.aborted) throw aborted(signal);
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

  async stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.fullKey(key) }));
      this.bucketSeen = true;
      return { key, size: head.ContentLength ?? 0, lastModified: head.LastModified ?? new Date(0) };
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
      throw statusOf(error) === 404 ? await this.bucketMissing(error) : await this.fail(error, 'read');
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
      const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({
        ...target,
        ...lockParams(options.lock),
        ContentType: head.ContentType,
        Metadata: head.Metadata,
      }));
      try {
        const parts = await this.copyParts(copySource, { ...target, UploadId }, size);
        await this.client.send(new CompleteMultipartUploadCommand({ ...target, UploadId, MultipartUpload: { Parts: parts } }));
      } catch (error) {
        await this.client.send(new AbortMultipartUploadCommand({ ...target, UploadId })).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throw await this.fail(error, 'write', toKey);
    }
  }

  /** UploadPartCopy in ranges, `queueSize` at a time; on a failure the others stop and are waited for. */
  private async copyParts(copySource: string, upload: { Bucket: string; Key: string; UploadId: string | undefined }, size: number): Promise<CompletedPart[]> {
    const partSize = Math.max(this.settings.copyPartSize, Math.ceil(size / MAX_PARTS));
    const count = Math.ceil(size / partSize);
    const parts: CompletedPart[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = next++;
        const start = index * partSize;
        try {
          const result = await this.client.send(new UploadPartCopyCommand({
            ...upload,
            PartNumber: index + 1,
            CopySource: copySource,
            CopySourceRange: `bytes=${start}-${Math.min(size, start + partSize) - 1}`,
          }));
          parts[index] = { PartNumber: index + 1, ETag: result.CopyPartResult?.ETag };
        } catch (error) {
          next = count;
          throw error;
        }
      }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(this.settings.queueSize, count) }, worker));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
    return parts;
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

  /** The one place SDK and network errors become LifeboatErrors. Messages name the place, never a secret. */
  private async fail(error: unknown, action: 'read' | 'write' | 'list' | 'delete', key?: string): Promise<LifeboatError> {
    if (isLifeboatError(error)) return error;
    const code = s3Code(error);
    const status = statusOf(error);
    const where = `${this.location} at ${await this.endpointText()}`;
    const options = {
      cause: error,
      details: { location: this.location, ...(key === undefined ? {} : { key }), ...(code ? { s3Code: code } : {}), ...(status ? { httpStatus: status } : {}) },
    };
    const object = key ? ` ${key}` : '';
    if (code === 'NoSuchBucket') return this.bucketMissing(error);
    if (code === 'NoSuchKey' || code === 'NotFound') return notFound(key ?? '', this.location);
    if (code === 'AccessDenied' && action === 'delete' && /object lock|retention|legal hold/i.test(messageOf(error))) {
      return new LifeboatError('OBJECT_LOCKED', `${key ?? 'The object'} in ${this.location} is under Object Lock retention and cannot be deleted yet.`, options);
    }
    if ((code !== undefined && ACCESS_DENIED.has(code)) || status === 403) {
      return new LifeboatError('BUCKET_ACCESS_DENIED', `Access denied (${code ?? 'HTTP 403'}) trying to ${action}${object} in ${where}: ${this.credentialHint()}`, options);
    }
    if (code === 'InvalidRange') return new LifeboatError('INVALID_ARGUMENT', `The requested range is outside${object} in ${this.location}.`, options);
    if (error instanceof Error) {
      if (error.name === 'AbortError') return new LifeboatError('ABORTED', 'The operation was cancelled.', options);
      if (error.name === 'CredentialsProviderError') {
        return new LifeboatError('BUCKET_ACCESS_DENIED', `No credentials found for ${where}: ${this.credentialHint()}`, options);
      }
    }
    const network = networkCode(error);
    if (network) {
      return new LifeboatError('BUCKET_UNREACHABLE', `Cannot reach ${where} (${network}): check the endpoint and the network, then try again.`, options);
    }
    if (status !== undefined && status >= 500 && status !== 501) {
      return new LifeboatError('BUCKET_UNREACHABLE', `${where} failed to ${action}${object} (${code ?? `HTTP ${status}`}) even after retries; try again later.`, options);
    }
    if (unparsedAnswer(error)) {
      return new LifeboatError('BUCKET_ERROR', `${where} gave an answer that is not S3's (HTTP ${status ?? 'status unknown'}) when asked to ${action}${object}: check that the endpoint is the S3 API of the bucket's provider.`, options);
    }
    return new LifeboatError('BUCKET_ERROR', `${where} refused to ${action}${object}: ${code ?? 'error'}: ${messageOf(error)}`, options);
  }

  private async bucketMissing(cause: unknown): Promise<LifeboatError> {
    return new LifeboatError('BUCKET_NOT_FOUND', `Bucket ${this.settings.bucket} does not exist at ${await this.endpointText()}.`, {
      cause,
      details: { location: this.location, bucket: this.settings.bucket },
    });
  }

  private credentialHint(): string {
    return this.settings.explicitCredentials
      ? 'check the access key ID and secret access key configured for this bucket, and that they may read and write it.'
      : 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials) or AWS_PROFILE, and that they may read and write the bucket.';
  }

  private async endpointText(): Promise<string> {
    if (this.settings.endpoint) {
      // An endpoint URL could carry user:password@.
      const url = new URL(this.settings.endpoint);
      url.username = '';
      url.password = '';
      return url.href.replace(/\/$/, '');
    }
    const endpoint = await this.client.config.endpoint?.();
    if (endpoint) return `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path === '/' ? '' : endpoint.path}`;
    const region = await this.client.config.region().catch(() => 'unknown region');
    return `AWS S3 (${region})`;
  }
}

function lockParams(lock: ObjectLockOptions | undefined) {
  return lock ? { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: lock.retainUntil } : {};
}

function checkRange(range: ByteRange | undefined): void {
  if (range && (!Number.isInteger(range.start) || range.start < 0 || (range.end !== undefined && (!Number.isInteger(range.end) || range.end < range.start)))) {
    throw new LifeboatError('INVALID_ARGUMENT', `Invalid byte range ${range.start}-${range.end ?? ''}.`);
  }
}

function aborted(signal: AbortSignal): LifeboatError {
  return new LifeboatError('ABORTED', 'The operation was cancelled.', { cause: signal.reason });
}
