import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, startS3Server, type S3TestServer } from '../../../test/helpers/s3.js';
import { isLifeboatError } from '../errors.js';
import { collect } from '../streams.js';
import { pseudoRandomStream, runBlobStoreConformance } from './blob-store.conformance.js';
import { createS3Store, partSizeFor } from './s3-store.js';

const MiB = 1024 * 1024;
let server: S3TestServer;
before(async () => { server = await startS3Server(); });
after(async () => { await server.close(); });

// Each test gets its own prefix in the one bucket, which also checks that keys come back relative to it.
runBlobStoreConformance('s3 (s3rver)', async () => ({
  store: server.makeStore(`conformance/${randomBytes(4).toString('hex')}`, { partSizeBytes: 5 * MiB }),
  cleanup: async () => undefined,
}), {
  noIncompleteUploads: 's3rver 3.7 answers ListMultipartUploads with NotImplemented and AbortMultipartUpload with MethodNotAllowed; see "incomplete uploads" below',
});

/** A client that records the name of every command it sends. */
function recordingClient(): { client: S3Client; sent: string[] } {
  const client = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  const sent: string[] = [];
  client.middlewareStack.add((next, context) => (args) => {
    sent.push(context.commandName ?? '?');
    return next(args);
  }, { step: 'initialize' });
  return { client, sent };
}

describe('S3 store', () => {
  it('keeps stores with different prefixes apart and names its location', async () => {
    const one = server.makeStore('tenant-1/');
    const two = server.makeStore('/tenant-2');
    assert.equal(one.location, `s3://${server.bucket}/tenant-1`);
    assert.equal(two.location, `s3://${server.bucket}/tenant-2`);
    assert.equal(server.makeStore().location, `s3://${server.bucket}`);
    await one.put('k', Buffer.from('one'));
    await two.put('k', Buffer.from('two'));
    assert.equal((await collect(await one.get('k'))).toString(), 'one');
    assert.equal((await collect(await two.get('k'))).toString(), 'two');
    const root: string[] = [];
    for await (const info of server.makeStore().list('tenant-')) root.push(info.key);
    assert.deepEqual(root, ['tenant-1/k', 'tenant-2/k']);
  });

  it('reports a missing bucket as BUCKET_NOT_FOUND naming bucket and endpoint, for every operation', async () => {
    const store = createS3Store({ bucket: 'no-such-bucket', endpoint: server.endpoint, credentials: S3RVER_CREDENTIALS });
    const missing = (error: unknown): boolean =>
      isLifeboatError(error, 'BUCKET_NOT_FOUND') && error.message.includes('no-such-bucket') && error.message.includes(server.endpoint);
    await assert.rejects(store.put('k', Buffer.from('x')), missing);
    await assert.rejects(store.put('k', pseudoRandomStream(6 * MiB)), missing);
    await assert.rejects(store.get('k'), missing);
    await assert.rejects(store.stat('k'), missing);
    await assert.rejects(store.remove('k'), missing);
    await assert.rejects(store.copy('a', 'b'), missing);
    await assert.rejects(store.list('')[Symbol.asyncIterator]().next(), missing);
  });

  it('reports an unknown access key as BUCKET_ACCESS_DENIED, naming the bucket but no secret (and no variable: that is the CLI\'s hint)', async () => {
    const store = createS3Store({ bucket: server.bucket, endpoint: server.endpoint, credentials: { accessKeyId: 'AKIAWRONG', secretAccessKey: 'very-secret-value' } });
    const denied = (error: unknown): boolean =>
      isLifeboatError(error, 'BUCKET_ACCESS_DENIED') && !error.message.includes('very-secret-value') && error.message.includes(server.bucket);
    await assert.rejects(store.get('k'), denied);
    await assert.rejects(store.stat('k'), denied);
    await assert.rejects(store.put('k', Buffer.from('x')), denied);

    await withEnv({ AWS_ACCESS_KEY_ID: 'AKIAWRONG', AWS_SECRET_ACCESS_KEY: 'very-secret-value' }, async () => {
      const fromEnv = createS3Store({ bucket: server.bucket, endpoint: server.endpoint });
      await assert.rejects(fromEnv.get('k'), (error) => denied(error) && !/AWS_ACCESS_KEY_ID/.test((error as Error).message));
    });
  });

  it('reports a wrong secret (SignatureDoesNotMatch) as BUCKET_ACCESS_DENIED without the secret', async () => {
    // s3rver does not check signatures, so this server on 127.0.0.1 gives S3's documented answer to every request.
    const http = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' })
        .end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><RequestId>1</RequestId></Error>');
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    try {
      const endpoint = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const store = createS3Store({ bucket: 'b', endpoint, credentials: { accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: 'very-secret-value' } });
      for (const attempt of [store.get('k'), store.put('k', Buffer.from('x'))]) {
        await assert.rejects(attempt, (error) => isLifeboatError(error, 'BUCKET_ACCESS_DENIED') && error.details?.s3Code === 'SignatureDoesNotMatch'
          && error.message.includes('SignatureDoesNotMatch') && error.message.includes(endpoint) && !error.message.includes('very-secret-value'));
      }
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });

  it('reports an endpoint with nothing listening as BUCKET_UNREACHABLE', async () => {
    const port = await freePort();
    const store = createS3Store({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, credentials: S3RVER_CREDENTIALS });
    await assert.rejects(store.stat('k'), (error) => isLifeboatError(error, 'BUCKET_UNREACHABLE') && error.kind === 'transient' && error.message.includes(`127.0.0.1:${port}`));
  });

  it('reports a bucket that goes away mid-upload as BUCKET_UNREACHABLE naming the endpoint, not as a cancellation', async () => {
    const own = await startS3Server();
    let closing: Promise<void> | undefined;
    async function* body() {
      let sent = 0;
      for await (const chunk of pseudoRandomStream(64 * MiB)) {
        // Two parts in, the server goes away (its process exits).
        if (sent >= 11 * MiB) closing ??= own.close();
        yield chunk;
        sent += chunk.byteLength;
      }
    }
    try {
      await assert.rejects(own.makeStore('gone', { partSizeBytes: 5 * MiB }).put('k', body()), (error) =>
        isLifeboatError(error, 'BUCKET_UNREACHABLE') && error.message.includes(own.endpoint));
    } finally {
      await (closing ?? own.close());
    }
  });

  it('takes credentials from the SDK\'s default chain when none are given', async () => {
    await withEnv(server.env, async () => {
      const store = createS3Store({ bucket: server.bucket, prefix: 'env', endpoint: server.endpoint });
      await store.put('k', Buffer.from('via env'));
      assert.equal((await collect(await store.get('k'))).toString(), 'via env');
    });
  });

  it('works on a localhost endpoint, which needs path-style addressing', async () => {
    const store = createS3Store({ bucket: server.bucket, endpoint: server.endpoint.replace('127.0.0.1', 'localhost'), credentials: S3RVER_CREDENTIALS, prefix: 'localhost' });
    await store.put('k', Buffer.from('x'));
    assert.equal((await store.stat('k'))?.size, 1);
  });

  it('aborts the multipart upload when the body fails after the first part', async () => {
    const { client, sent } = recordingClient();
    const store = createS3Store({ bucket: server.bucket, client, prefix: 'abort', partSizeBytes: 5 * MiB });
    async function* failing() {
      yield* pseudoRandomStream(11 * MiB);
      throw new Error('source broke');
    }
    await assert.rejects(store.put('k', failing()), (error) => isLifeboatError(error, 'INTERNAL') && error.message === 'source broke');
    assert.ok(sent.includes('CreateMultipartUploadCommand'));
    assert.ok(sent.includes('AbortMultipartUploadCommand'), `sent: ${sent.join(', ')}`);
    assert.ok(!sent.includes('CompleteMultipartUploadCommand'));
    assert.equal(await store.stat('k'), undefined);
  });

  it('sends a byte array larger than a part in several parts', async () => {
    const { client, sent } = recordingClient();
    const store = createS3Store({ bucket: server.bucket, client, prefix: 'bytes', partSizeBytes: 5 * MiB });
    const bytes = await collect(pseudoRandomStream(6 * MiB));
    await store.put('k', bytes);
    assert.equal(sent.filter((name) => name === 'UploadPartCommand').length, 2);
    assert.ok(bytes.equals(await collect(await store.get('k'))));
  });

  it('keeps memory near partSize × (queueSize + 1) however large the upload', async () => {
    const store = server.makeStore('memory');
    const size = 256 * MiB;
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
    try {
      await store.put('big', pseudoRandomStream(size, 'memory', 64 * 1024));
    } finally {
      clearInterval(timer);
    }
    assert.equal((await store.stat('big'))?.size, size);
    // Default 5 MiB parts, 2 in flight; buffering the body would be 256+ MiB. The figure includes buffers awaiting GC.
    assert.ok(peak - before < 160 * MiB, `RSS grew by ${((peak - before) / MiB).toFixed(0)} MiB`);
  });

  it('answers objectLockEnabled with undefined: s3rver does not implement Object Lock', async () => {
    assert.equal(await server.makeStore().objectLockEnabled(), undefined);
  });

  it('sends Object Lock settings and a checksum with locked puts', async () => {
    const { client, sent } = recordingClient();
    const seen: Record<string, string>[] = [];
    client.middlewareStack.add((next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) seen.push({ ...request.headers });
      return next(args);
    }, { step: 'finalizeRequest' });
    const store = createS3Store({ bucket: server.bucket, client, prefix: 'lock', partSizeBytes: 5 * MiB });
    const retainUntil = new Date('2030-01-01T00:00:00Z');
    await store.put('small', Buffer.from('x'), { lock: { mode: 'COMPLIANCE', retainUntil } });
    await store.put('large', pseudoRandomStream(6 * MiB), { lock: { mode: 'GOVERNANCE', retainUntil } });
    assert.ok(sent.includes('CreateMultipartUploadCommand'));
    const put = seen[0] ?? {};
    assert.equal(put['x-amz-object-lock-mode'], 'COMPLIANCE');
    assert.equal(new Date(put['x-amz-object-lock-retain-until-date'] ?? '').getTime(), retainUntil.getTime());
    assert.ok(put['x-amz-checksum-crc32'], 'a checksum header on the locked put');
    assert.ok(seen.some((headers) => headers['x-amz-object-lock-mode'] === 'GOVERNANCE'));
  });

  it('stats an object\'s retention from HeadObject\'s Object Lock headers; s3rver accepts a locked put and keeps none', async () => {
    // S3 API Reference, HeadObject: x-amz-object-lock-mode and x-amz-object-lock-retain-until-date (ISO 8601) for an object under retention.
    const headers: Record<string, string> = { 'content-length': '5', 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT' };
    const http = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(200, headers).end();
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    try {
      const store = createS3Store({ bucket: 'b', endpoint: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, credentials: S3RVER_CREDENTIALS });
      assert.equal((await store.stat('plain'))?.lock, undefined);
      Object.assign(headers, { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00.000Z' });
      assert.deepEqual((await store.stat('locked'))?.lock, { mode: 'GOVERNANCE', retainUntil: new Date('2030-01-01T00:00:00.000Z') });
    } finally {
      http.closeAllConnections();
      http.close();
    }
    // What a backup's retention check meets on a server without Object Lock.
    const local = server.makeStore('lock-ignored');
    await local.put('a', Buffer.from('x'), { lock: { mode: 'COMPLIANCE', retainUntil: new Date('2030-01-01T00:00:00Z') } });
    assert.equal((await local.stat('a'))?.lock, undefined);
  });

  it('copies large objects part by part above the threshold; s3rver lacks UploadPartCopy, so the copy fails cleanly', async () => {
    const { client, sent } = recordingClient();
    const store = createS3Store({ bucket: server.bucket, client, prefix: 'copy', multipartCopyThresholdBytes: 5 * MiB, copyPartSizeBytes: 5 * MiB });
    await store.put('source', pseudoRandomStream(6 * MiB));
    await assert.rejects(store.copy('source', 'target'), (error) => isLifeboatError(error, 'BUCKET_ERROR') && error.details?.s3Code === 'NotImplemented');
    const copying = sent.slice(sent.indexOf('CreateMultipartUploadCommand', sent.indexOf('HeadObjectCommand')));
    assert.deepEqual(copying, ['CreateMultipartUploadCommand', 'UploadPartCopyCommand', 'UploadPartCopyCommand', 'AbortMultipartUploadCommand']);
    assert.equal(await store.stat('target'), undefined);
    // Below the threshold it is one CopyObject.
    await store.put('small', Buffer.from('small'));
    await store.copy('small', 'small-copy');
    assert.equal((await collect(await store.get('small-copy'))).toString(), 'small');
  });

  it('sizes parts to the memory and the request cap: as large as an eighth of the memory allows, whole MiB, never under 5 MiB', () => {
    // Forge's backup consumer: 1024 MB, requests cut at 180 s; 3 parts in memory (2 in flight, 1 filling).
    assert.equal(partSizeFor({ memoryBytes: 1024 * MiB, requestSeconds: 180 }), 42 * MiB);
    assert.equal(partSizeFor({ memoryBytes: 256 * MiB, requestSeconds: 180 }), 10 * MiB);
    assert.equal(partSizeFor({ memoryBytes: 1024 * MiB, requestSeconds: 180, queueSize: 7 }), 16 * MiB);
    // A part must go up within one request at 1 MiB/s; S3's minimum holds whatever the budget.
    assert.equal(partSizeFor({ memoryBytes: 1024 * MiB, requestSeconds: 20 }), 20 * MiB);
    assert.equal(partSizeFor({ memoryBytes: 128 * MiB, requestSeconds: 180 }), 5 * MiB);
    assert.equal(partSizeFor({ memoryBytes: 1024 * MiB, requestSeconds: 1 }), 5 * MiB);
  });

  it('refuses bad options up front', () => {
    assert.throws(() => server.makeStore(undefined, { partSizeBytes: MiB }), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    assert.throws(() => server.makeStore(undefined, { queueSize: 0 }), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    assert.throws(() => createS3Store({ bucket: 'b', endpoint: 'not a url' }), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
  });
});

describe('S3 store: incomplete uploads', () => {
  interface Seen { method: string; path: string; query: URLSearchParams }
  /**
   * s3rver cannot list or abort multipart uploads, so this server on 127.0.0.1 answers the two
   * requests with the documents the S3 API reference gives (ListMultipartUploads, two per page;
   * AbortMultipartUpload; NoSuchUpload), and records what the SDK sent.
   */
  async function withUploadServer(answer: 'documented' | 'NotImplemented' | 'AccessDenied', run: (endpoint: string, seen: Seen[]) => Promise<void>): Promise<void> {
    const uploads = [
      { key: 'pre/acme/app/staging/a', id: 'upload-a', initiated: '2026-06-01T10:00:00.000Z' },
      { key: 'pre/acme/app/staging/b', id: 'upload-b1', initiated: '2026-06-01T11:00:00.000Z' },
      { key: 'pre/acme/app/staging/b', id: 'upload-b2', initiated: '2026-06-01T12:00:00.000Z' },
      { key: 'pre/acme/other/staging/c', id: 'upload-c', initiated: '2026-06-01T13:00:00.000Z' },
    ];
    const seen: Seen[] = [];
    const xml = (status: number, body: string, res: ServerResponse): void => {
      res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
    };
    const http = createHttpServer((req, res) => {
      req.resume();
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      seen.push({ method: req.method ?? '', path: decodeURIComponent(url.pathname), query: url.searchParams });
      if (answer !== 'documented') {
        xml(answer === 'NotImplemented' ? 501 : 403, `<Error><Code>${answer}</Code><Message>no</Message><RequestId>1</RequestId></Error>`, res);
        return;
      }
      if (req.method === 'GET' && url.searchParams.has('uploads')) {
        const prefix = url.searchParams.get('prefix') ?? '';
        const matching = uploads.filter((upload) => upload.key.startsWith(prefix));
        const marker = url.searchParams.get('key-marker');
        const start = marker === null ? 0 : matching.findIndex((upload) => upload.key === marker && upload.id === url.searchParams.get('upload-id-marker')) + 1;
        const page = matching.slice(start, start + 2);
        const truncated = start + 2 < matching.length;
        const last = page.at(-1);
        xml(200, `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><KeyMarker>${marker ?? ''}</KeyMarker><UploadIdMarker></UploadIdMarker>`
          + (truncated && last ? `<NextKeyMarker>${last.key}</NextKeyMarker><NextUploadIdMarker>${last.id}</NextUploadIdMarker>` : '')
          + `<Prefix>${prefix}</Prefix><MaxUploads>2</MaxUploads><IsTruncated>${truncated}</IsTruncated>`
          + page.map((upload) => `<Upload><Key>${upload.key}</Key><UploadId>${upload.id}</UploadId><StorageClass>STANDARD</StorageClass><Initiated>${upload.initiated}</Initiated></Upload>`).join('')
          + '</ListMultipartUploadsResult>', res);
        return;
      }
      const uploadId = url.searchParams.get('uploadId');
      const index = uploads.findIndex((upload) => `/b/${upload.key}` === decodeURIComponent(url.pathname) && upload.id === uploadId);
      if (req.method === 'DELETE' && index >= 0) {
        uploads.splice(index, 1);
        res.writeHead(204).end();
      } else if (req.method === 'DELETE') {
        xml(404, `<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${uploadId}</UploadId><RequestId>2</RequestId></Error>`, res);
      } else {
        xml(400, '<Error><Code>InvalidRequest</Code><Message>unexpected</Message><RequestId>3</RequestId></Error>', res);
      }
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    try {
      await run(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, seen);
    } finally {
      http.closeAllConnections();
      http.close();
    }
  }

  it('lists page by page under the store prefix, keys relative to it, and aborts idempotently', async () => {
    await withUploadServer('documented', async (endpoint, seen) => {
      const store = createS3Store({ bucket: 'b', prefix: 'pre', endpoint, credentials: S3RVER_CREDENTIALS });
      const listed = await store.listIncompleteUploads('acme/app/');
      assert.deepEqual(listed, [
        { key: 'acme/app/staging/a', uploadId: 'upload-a', initiated: new Date('2026-06-01T10:00:00.000Z') },
        { key: 'acme/app/staging/b', uploadId: 'upload-b1', initiated: new Date('2026-06-01T11:00:00.000Z') },
        { key: 'acme/app/staging/b', uploadId: 'upload-b2', initiated: new Date('2026-06-01T12:00:00.000Z') },
      ]);
      assert.deepEqual(seen.map(({ method, path, query }) => [method, path, query.get('prefix'), query.get('key-marker'), query.get('upload-id-marker')]), [
        ['GET', '/b/', 'pre/acme/app/', null, null],
        ['GET', '/b/', 'pre/acme/app/', 'pre/acme/app/staging/b', 'upload-b1'],
      ]);
      seen.length = 0;
      await store.abortIncompleteUpload({ key: 'acme/app/staging/b', uploadId: 'upload-b1' });
      await store.abortIncompleteUpload({ key: 'acme/app/staging/b', uploadId: 'upload-b1' }); // NoSuchUpload: already gone
      assert.deepEqual(seen.map(({ method, path, query }) => [method, path, query.get('uploadId')]), [
        ['DELETE', '/b/pre/acme/app/staging/b', 'upload-b1'],
        ['DELETE', '/b/pre/acme/app/staging/b', 'upload-b1'],
      ]);
      assert.deepEqual((await store.listIncompleteUploads('acme/'))?.map((upload) => upload.uploadId), ['upload-a', 'upload-b2', 'upload-c']);
    });
  });

  it('cannot tell (undefined) when the server does not implement the listing or the credentials may not', async () => {
    for (const answer of ['NotImplemented', 'AccessDenied'] as const) {
      await withUploadServer(answer, async (endpoint) => {
        assert.equal(await createS3Store({ bucket: 'b', endpoint, credentials: S3RVER_CREDENTIALS }).listIncompleteUploads(''), undefined, answer);
      });
    }
    // The real s3rver, as the conformance suite's skip says.
    assert.equal(await server.makeStore('uploads').listIncompleteUploads(''), undefined);
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Runs `fn` with environment variables set; the SDK reads them when the client is made and when credentials are first needed. */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
