/**
 * The S3 client the store talks through, configured only from what it is given:
 * the engine reads no environment (the CLI resolves AWS_ENDPOINT_URL_S3 and the
 * region at its edge, the app passes its settings).
 */
import { isIP } from 'node:net';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { LifeboatError } from '../errors.js';

export interface S3ConnectionOptions {
  /** For S3-compatible servers; otherwise AWS S3. */
  endpoint?: string;
  /**
   * A region, or a function the SDK asks for it on every request. Default us-east-1: S3-compatible
   * servers ignore it, and AWS redirects to the bucket's own region (followRegionRedirects).
   */
  region?: string | (() => Promise<string>);
  /** Otherwise the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Default: path-style when the endpoint host is an IP address or localhost. */
  forcePathStyle?: boolean;
}

export const DEFAULT_REGION = 'us-east-1';

/** Virtual-hosted addressing (bucket.host) cannot work when the host is an IP address or localhost. */
export function defaultPathStyle(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
}

export function checkEndpoint(endpoint: string | undefined): void {
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    throw new LifeboatError('INVALID_ARGUMENT', `Endpoint "${endpoint}" is not a URL (like https://s3.example.com).`);
  }
}

export function createS3Client(options: S3ConnectionOptions): S3Client {
  const { endpoint } = options;
  checkEndpoint(endpoint);
  const config: S3ClientConfig = {
    endpoint,
    region: options.region ?? DEFAULT_REGION,
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
  return new S3Client(config);
}

/** Where the client sends its requests, for messages: never the user:password an endpoint URL may carry. */
export async function describeEndpoint(client: S3Client, endpoint: string | undefined): Promise<string> {
  if (endpoint) {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    return url.href.replace(/\/$/, '');
  }
  const configured = await client.config.endpoint?.();
  if (configured) return `${configured.protocol}//${configured.hostname}${configured.port ? `:${configured.port}` : ''}${configured.path === '/' ? '' : configured.path}`;
  const region = await client.config.region().catch(() => 'unknown region');
  return `AWS S3 (${region})`;
}
