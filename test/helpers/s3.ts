/**
 * A real S3 server for tests: s3rver on 127.0.0.1, a free port, data in a temp dir.
 *
 * It runs in a child process because s3rver encrypts ListObjectsV2 continuation
 * tokens with DES, which OpenSSL 3 (Node >= 17) only offers with
 * --openssl-legacy-provider: in-process, every listing past 1000 keys fails. A
 * child also keeps its CPU and memory out of the tests' measurements.
 *
 * s3rver accepts only the access key S3RVER (any other is InvalidAccessKeyId) and
 * does not verify SigV4 signatures, so a wrong secret goes unnoticed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BlobStore } from '../../src/engine/bucket/blob-store.js';
import { createS3Store, type S3StoreOptions } from '../../src/engine/bucket/s3-store.js';

// Tests run on Node 20 on purpose (the lock file pins an SDK that supports it): silence the SDK's upgrade notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

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

/** Runs in the child: starts s3rver, prints its port, stops when stdin closes (also when the test process dies). */
const SERVER_SCRIPT = `
const [modulePath, directory, bucket] = process.argv.slice(1);
const S3rver = require(modulePath);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (error) => { console.error(error); process.exit(1); },
);
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

export async function startS3Server(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'lifeboat-s3rver-'));
  const bucket = `test-${randomBytes(4).toString('hex')}`;
  const modulePath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', SERVER_SCRIPT, modulePath, directory, bucket], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  let port: number;
  try {
    const lines = createInterface({ input: child.stdout });
    const [line] = (await Promise.race([once(lines, 'line'), exited.then(() => { throw new Error('s3rver exited before listening'); })])) as [string];
    lines.close();
    ({ port } = JSON.parse(line) as { port: number });
  } catch (error) {
    child.kill();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
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
      child.stdin.end();
      await exited;
      await rm(directory, { recursive: true, force: true });
    },
  };
}
