/** How the S3 SDK's errors are told apart: S3's error codes, HTTP statuses, network failures. */
import { S3ServiceException } from '@aws-sdk/client-s3';

export const ACCESS_DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken']);

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
export function unparsedAnswer(error: unknown): boolean {
  return error instanceof Error && !(error instanceof S3ServiceException) && '$response' in error;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);

/** ECONNREFUSED and friends; Node reports several addresses tried at once (localhost: ::1 and 127.0.0.1) as an AggregateError. */
export function networkCode(error: unknown): string | undefined {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timeout';
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  if (error instanceof AggregateError) return error.errors.map(networkCode).find((found) => found !== undefined);
  return undefined;
}
