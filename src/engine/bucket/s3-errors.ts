/**
 * The one place S3 SDK and network errors become LifeboatErrors: told apart by S3's
 * error code, the HTTP status and the network failure. Messages name the place, never a secret.
 */
import { S3ServiceException } from '@aws-sdk/client-s3';
import { LifeboatError, cancelled, isLifeboatError } from '../errors.js';
import { notFound } from './blob-store.js';

export type S3Action = 'read' | 'write' | 'list' | 'delete';

/** What messages name: the store, its bucket, and where its requests go. */
export interface S3Place {
  bucket: string;
  /** s3://bucket/prefix */
  location: string;
  endpoint(): Promise<string>;
}

export async function s3Error(error: unknown, place: S3Place, action: S3Action, key?: string): Promise<LifeboatError> {
  if (isLifeboatError(error)) return error;
  const code = s3Code(error);
  const status = statusOf(error);
  const where = `${place.location} at ${await place.endpoint()}`;
  const options = {
    cause: error,
    details: { location: place.location, ...(key === undefined ? {} : { key }), ...(code ? { s3Code: code } : {}), ...(status ? { httpStatus: status } : {}) },
  };
  const object = key ? ` ${key}` : '';
  if (code === 'NoSuchBucket') return bucketMissing(place, error);
  if (code === 'NoSuchKey' || code === 'NotFound') return notFound(key ?? '', place.location);
  if (code === 'AccessDenied' && action === 'delete' && /object lock|retention|legal hold/i.test(messageOf(error))) {
    return new LifeboatError('OBJECT_LOCKED', `${key ?? 'The object'} in ${place.location} is under Object Lock retention and cannot be deleted yet.`, options);
  }
  if ((code !== undefined && ACCESS_DENIED.has(code)) || status === 403) {
    return new LifeboatError('BUCKET_ACCESS_DENIED', `Access denied (${code ?? 'HTTP 403'}) trying to ${action}${object} in ${where}.`, options);
  }
  if (code === 'InvalidRange') return new LifeboatError('INVALID_ARGUMENT', `The requested range is outside${object} in ${place.location}.`, options);
  if (error instanceof Error) {
    if (error.name === 'AbortError') return cancelled(error);
    if (error.name === 'CredentialsProviderError') {
      return new LifeboatError('BUCKET_ACCESS_DENIED', `No credentials found for ${where}.`, options);
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

export async function bucketMissing(place: S3Place, cause: unknown): Promise<LifeboatError> {
  return new LifeboatError('BUCKET_NOT_FOUND', `Bucket ${place.bucket} does not exist at ${await place.endpoint()}.`, {
    cause,
    details: { location: place.location, bucket: place.bucket },
  });
}

const ACCESS_DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken']);

/** S3's error code; HEAD answers have no body, so the SDK names them after the status ('NotFound', 'Unknown'). */
export function s3Code(error: unknown): string | undefined {
  return error instanceof S3ServiceException ? error.name : undefined;
}

/** The server does not implement an optional feature, or the credentials may not use it: the store cannot tell. */
export function cannotTell(error: unknown): boolean {
  const code = s3Code(error);
  return code === 'NotImplemented' || code === 'MethodNotAllowed' || code === 'AccessDenied' || statusOf(error) === 501;
}

/** Service exceptions and the SDK's failures to parse an answer both carry the response's $metadata. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The SDK could not parse the answer (a web page, a proxy's error, garbage): it then attaches the raw $response to a plain Error. */
function unparsedAnswer(error: unknown): boolean {
  return error instanceof Error && !(error instanceof S3ServiceException) && '$response' in error;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

/** ECONNREFUSED and friends; Node reports several addresses tried at once (localhost: ::1 and 127.0.0.1) as an AggregateError. */
function networkCode(error: unknown): string | undefined {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timeout';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  if (error instanceof AggregateError) return error.errors.map(networkCode).find((found) => found !== undefined);
  return undefined;
}
