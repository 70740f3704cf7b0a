/** The address of a bucket and a folder in it, as the CLI and the docs write it: s3://bucket[/prefix]. */
import { LifeboatError } from '../errors.js';
import { checkBucketPrefix } from './bucket-keys.js';

/** Parses s3://bucket[/prefix]. The prefix comes back without surrounding slashes ('' when none), checked by bucket-keys.ts's rule. */
export function parseBucketUrl(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url.trim());
  const bucket = match?.[1];
  if (!bucket || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bucket)) {
    throw new LifeboatError('INVALID_ARGUMENT', `"${url}" is not a bucket URL: use s3://<bucket>[/<prefix>].`);
  }
  return { bucket, prefix: checkBucketPrefix(trimSlashes(match[2] ?? '')) };
}

export function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, '');
}
