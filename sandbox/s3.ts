/**
 * The local bucket: s3rver (the npm S3 API server) on 127.0.0.1, used by
 * `npm start` and by the tests.
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
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3rver {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** Runs in the child: starts s3rver, prints its port, stops when stdin closes (also when the parent dies). */
const SERVER_SCRIPT = `
const [modulePath, directory, bucket, port] = process.argv.slice(1);
const S3rver = require(modulePath);
// S3 has no folders, but s3rver's file store removes a key's emptied parent folders on delete,
// racing a concurrent put into the same folder (its write stream then fails to open, and the
// unhandled error ends the server). Keeping empty folders is what S3 looks like from outside.
const FilesystemStore = require(require('node:path').join(require('node:path').dirname(modulePath), 'stores', 'filesystem.js'));
FilesystemStore.prototype.deleteObject = async function deleteObject(bucketName, key) {
  const fs = require('node:fs/promises');
  await Promise.all(['object', 'object.md5', 'metadata.json'].map((type) =>
    fs.unlink(this.getResourcePath(bucketName, key, type)).catch((error) => { if (error.code !== 'ENOENT') throw error; })));
};
const server = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory, configureBuckets: [{ name: bucket }] });
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (error) => { console.error(error); process.exit(1); },
);
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

/** Starts s3rver serving `directory`, with `bucket` created if missing; port 0 picks a free one. */
export async function startS3rver(options: { directory: string; bucket: string; port?: number }): Promise<S3rver> {
  const modulePath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', SERVER_SCRIPT, modulePath, options.directory, options.bucket, String(options.port ?? 0)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  let port: number;
  try {
    const lines = createInterface({ input: child.stdout });
    const [line] = (await Promise.race([
      once(lines, 'line'),
      exited.then(() => { throw new Error('s3rver exited before listening'); }),
    ])) as [string];
    lines.close();
    ({ port } = JSON.parse(line) as { port: number });
  } catch (error) {
    child.kill();
    throw error;
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    async close() {
      child.stdin.end();
      await exited;
    },
  };
}
