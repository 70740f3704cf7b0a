/**
 * A stand-in for the AWS CLI, used by test/readme-playbook.test.ts only when the machine has
 * no `aws` that reads AWS_ENDPOINT_URL (CI's has none): the README's playbook fetches the recovery kit with
 * `aws s3 cp`, and this runs that line as written. It does only what the line needs,
 * `aws s3 cp [--recursive] s3://<bucket>/<key> <local path>`, through the AWS SDK the engine
 * already uses, reading the endpoint, region and keys from the environment as the CLI does
 * (AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL). Anything else exits 2: the test would then
 * be checking the stand-in, not the README.
 */
import console from 'node:console';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

const args = process.argv.slice(2);
const recursive = args.includes('--recursive');
const [service, command, source, target, ...rest] = args.filter((arg) => arg !== '--recursive');
const location = /^s3:\/\/([^/]+)\/(.*)$/.exec(source ?? '');
if (service !== 's3' || command !== 'cp' || !location || !target || rest.length > 0) {
  console.error(`fake aws: only "s3 cp [--recursive] s3://<bucket>/<key> <path>" is implemented, not: ${args.join(' ')}`);
  process.exit(2);
}
const [, bucket, key] = location;
const endpoint = process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL;
const client = new S3Client({ region: process.env.AWS_REGION || 'us-east-1', ...(endpoint ? { endpoint, forcePathStyle: true } : {}) });

async function download(objectKey, path) {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, await object.Body.transformToByteArray());
  console.log(`download: s3://${bucket}/${objectKey} to ${path}`);
}

if (recursive) {
  // As the CLI does: every object under the prefix, at its path relative to it.
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  let token;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) await download(object.Key, join(target, object.Key.slice(prefix.length)));
    token = page.NextContinuationToken;
  } while (token);
} else {
  await download(key, target.endsWith('/') ? join(target, key.slice(key.lastIndexOf('/') + 1)) : target);
}
