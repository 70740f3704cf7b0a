/**
 * A real S3 server for tests: s3rver (see sandbox/s3.ts) on a free port, data in
 * a temp dir, one fresh bucket.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3RVER_CREDENTIALS, startS3rver } from '../../sandbox/s3.js';
import type { BlobStore } from '../../src/engine/bucket/blob-store.js';
import { createS3Store, type S3StoreOptions } from '../../src/engine/bucket/s3-store.js';

// Tests run on Node 20 on purpose (the lock file pins an SDK that supports it): silence the SDK's upgrade notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export { S3RVER_CREDENTIALS };

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** s3rver's data directory: <directory>/<bucket>/... */
  directory: string;
  makeStore(prefix?: string, options?: Partial<S3StoreOptions>): BlobStore;
  /** For CLI child processes. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startS3Server(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'lifeboat-s3rver-'));
  const bucket = `test-${randomBytes(4).toString('hex')}`;
  let server;
  try {
    server = await startS3rver({ directory, bucket });
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const { endpoint } = server;
  return {
    endpoint,
    bucket,
    directory,
    makeStore: (prefix, options) => createS3Store({
      bucket,
      endpoint,
      region: 'us-east-1',
      credentials: S3RVER_CREDENTIALS,
      ...(prefix === undefined ? {} : { prefix }),
      ...options,
    }),
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    },
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
