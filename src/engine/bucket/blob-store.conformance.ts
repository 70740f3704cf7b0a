/**
 * The one suite every BlobStore passes (memory-store.test.ts, s3-store.test.ts).
 * makeStore gives each test an empty store; for S3 it should use a 5 MiB part size
 * so that the 20 MiB body below goes up in several parts.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { collect, type ByteStream } from '../streams.js';
import { isNotFound, type BlobStore } from './blob-store.js';

const MiB = 1024 * 1024;

/** Deterministic incompressible bytes (AES-CTR keystream) in odd-sized chunks, so part boundaries fall mid-chunk. */
export async function* pseudoRandomStream(size: number, seed = 'lifeboat', chunkSize = 256 * 1024 + 7): ByteStream {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  for (let sent = 0; sent < size; sent += chunkSize) {
    yield cipher.update(Buffer.alloc(Math.min(chunkSize, size - sent)));
  }
}

async function sha256Of(stream: ByteStream): Promise<{ hash: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { hash: hash.digest('hex'), size };
}

async function text(store: BlobStore, key: string): Promise<string> {
  return (await collect(await store.get(key))).toString('utf8');
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const info of store.list(prefix)) found.push(info.key);
  return found;
}

/** Yields `size` bytes, calling `at` once `after` bytes have gone out. */
async function* withHook(size: number, after: number, at: () => void): ByteStream {
  let sent = 0;
  for await (const chunk of pseudoRandomStream(size)) {
    if (sent >= after) at();
    yield chunk;
    sent += chunk.byteLength;
  }
}

export interface ConformanceOptions {
  /** Why the server behind the store cannot list and abort incomplete uploads, if it cannot: those tests are then skipped. */
  noIncompleteUploads?: string;
}

export function runBlobStoreConformance(name: string, makeStore: () => Promise<{ store: BlobStore; cleanup(): Promise<void> }>, options: ConformanceOptions = {}): void {
  describe(`BlobStore conformance: ${name}`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    it('puts and gets bytes, and an overwrite replaces them', async () => {
      await store.put('a/hello.txt', Buffer.from('hello'), { contentType: 'text/plain' });
      assert.equal(await text(store, 'a/hello.txt'), 'hello');
      await store.put('a/hello.txt', Buffer.from('hello again'));
      assert.equal(await text(store, 'a/hello.txt'), 'hello again');
    });

    it('puts a stream of chunks, and an empty body', async () => {
      await store.put('s', (async function* () { yield Buffer.from('one,'); yield Buffer.from('two,'); yield Buffer.from('three'); })());
      assert.equal(await text(store, 's'), 'one,two,three');
      await store.put('empty', (async function* () { /* nothing */ })());
      assert.equal((await collect(await store.get('empty'))).length, 0);
      assert.equal((await store.stat('empty'))?.size, 0);
    });

    it('streams 20 MiB through in several parts, reporting progress up to the total', async () => {
      const size = 20 * MiB;
      const expected = await sha256Of(pseudoRandomStream(size));
      const progress: number[] = [];
      await store.put('big', pseudoRandomStream(size), { onProgress: (sent) => progress.push(sent) });
      assert.deepEqual(await sha256Of(await store.get('big')), expected);
      assert.equal((await store.stat('big'))?.size, size);
      assert.equal(progress.at(-1), size);
      assert.ok(progress.every((sent, i) => i === 0 || sent >= (progress[i - 1] ?? 0)), 'progress never goes back');
      // A range across the boundary of the first two 5 MiB parts.
      const all = await collect(pseudoRandomStream(size));
      assert.deepEqual(await collect(await store.get('big', { start: 5 * MiB - 3, end: 5 * MiB + 3 })), all.subarray(5 * MiB - 3, 5 * MiB + 4));
    });

    it('reads byte ranges: inclusive end, open end, end past the size clamped, start past the size refused', async () => {
      await store.put('r', Buffer.from('0123456789'));
      assert.equal((await collect(await store.get('r', { start: 2, end: 5 }))).toString(), '2345');
      assert.equal((await collect(await store.get('r', { start: 7 }))).toString(), '789');
      assert.equal((await collect(await store.get('r', { start: 8, end: 100 }))).toString(), '89');
      assert.equal((await collect(await store.get('r', { start: 9, end: 9 }))).toString(), '9');
      await assert.rejects(async () => collect(await store.get('r', { start: 10 })), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
      await assert.rejects(async () => collect(await store.get('r', { start: 5, end: 4 })), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    });

    it('stats present and absent keys', async () => {
      const before = Date.now();
      await store.put('x/y', Buffer.from('abc'));
      const info = await store.stat('x/y');
      assert.equal(info?.key, 'x/y');
      assert.equal(info?.size, 3);
      // Servers keep whole seconds.
      assert.ok(info && info.lastModified.getTime() >= before - 2000 && info.lastModified.getTime() <= Date.now() + 2000);
      assert.equal(info.lock, undefined, 'written without Object Lock: no retention');
      assert.equal(await store.stat('x/z'), undefined);
      assert.equal(await store.stat('x'), undefined);
    });

    it('refuses to get a missing key with OBJECT_NOT_FOUND', async () => {
      await assert.rejects(async () => collect(await store.get('missing/key')), (error) => isNotFound(error));
    });

    it('lists by prefix in key order with keys relative to the store', async () => {
      for (const key of ['a/2', 'a/10', 'a/1', 'ab', 'b/1', 'a/sub/x']) await store.put(key, Buffer.from(key));
      assert.deepEqual(await keys(store, 'a/'), ['a/1', 'a/10', 'a/2', 'a/sub/x']);
      assert.deepEqual(await keys(store, 'a'), ['a/1', 'a/10', 'a/2', 'a/sub/x', 'ab']);
      assert.deepEqual(await keys(store, ''), ['a/1', 'a/10', 'a/2', 'a/sub/x', 'ab', 'b/1']);
      assert.deepEqual(await keys(store, 'c/'), []);
      const listed = [];
      for await (const info of store.list('b/')) listed.push(info);
      assert.equal(listed.length, 1);
      assert.equal(listed[0]?.size, 3);
      assert.ok(listed[0]?.lastModified instanceof Date);
    });

    it('lists more than 1000 keys (several pages)', async () => {
      const all = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < all.length; i += 50) {
        await Promise.all(all.slice(i, i + 50).map((key) => store.put(key, Buffer.from('.'))));
      }
      assert.deepEqual(await keys(store, 'many/'), all);
    });

    it('removes idempotently', async () => {
      await store.put('gone', Buffer.from('x'));
      await store.remove('gone');
      assert.equal(await store.stat('gone'), undefined);
      await store.remove('gone');
      await store.remove('never/was');
    });

    it('copies an object, leaving the source; a missing source is OBJECT_NOT_FOUND', async () => {
      await store.put('staging/1', Buffer.from('payload'), { contentType: 'application/octet-stream' });
      await store.copy('staging/1', 'objects/abc');
      assert.equal(await text(store, 'objects/abc'), 'payload');
      assert.equal(await text(store, 'staging/1'), 'payload');
      await assert.rejects(store.copy('staging/none', 'objects/def'), (error) => isNotFound(error));
      assert.equal(await store.stat('objects/def'), undefined);
    });

    it('when the body fails before the first part is full, rejects with its error and writes nothing', async () => {
      const failing = withHook(MiB, 256 * 1024, () => { throw new LifeboatError('GIT_UNREACHABLE', 'connection to git lost'); });
      await assert.rejects(store.put('partial', failing), (error) => isLifeboatError(error, 'GIT_UNREACHABLE'));
      assert.equal(await store.stat('partial'), undefined);
    });

    it('when the body fails after several parts, rejects with its error and keeps the previous object', async () => {
      await store.put('partial', Buffer.from('previous'));
      const failing = withHook(20 * MiB, 12 * MiB, () => { throw new LifeboatError('GIT_UNREACHABLE', 'connection to git lost'); });
      await assert.rejects(store.put('partial', failing), (error) => isLifeboatError(error, 'GIT_UNREACHABLE'));
      assert.equal(await text(store, 'partial'), 'previous');
      assert.deepEqual(await keys(store, ''), ['partial']);
    });

    const uploads = { skip: options.noIncompleteUploads ?? false };

    it('lists a put still running under its prefix; aborting it makes the put fail and leave nothing', uploads, async () => {
      let resume: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => { resume = resolve; });
      async function* stalled(): ByteStream {
        yield* pseudoRandomStream(6 * MiB); // more than a part: a multipart upload has begun
        await gate;
        yield* pseudoRandomStream(MiB, 'rest');
      }
      const before = Date.now();
      const put = store.put('up/a', stalled()).then(() => undefined, (error: unknown) => error);
      let listed = await store.listIncompleteUploads('up/');
      for (let waited = 0; listed?.length === 0 && waited < 10_000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        listed = await store.listIncompleteUploads('up/');
      }
      assert.equal(listed?.length, 1);
      const [upload] = listed ?? [];
      assert.ok(upload);
      assert.equal(upload.key, 'up/a');
      assert.ok(upload.uploadId.length > 0);
      assert.ok(upload.initiated.getTime() >= before - 2000 && upload.initiated.getTime() <= Date.now() + 2000);
      assert.deepEqual(await store.listIncompleteUploads('down/'), []);

      await store.abortIncompleteUpload(upload);
      assert.deepEqual(await store.listIncompleteUploads('up/'), []);
      await store.abortIncompleteUpload(upload); // already gone: still fine
      resume();
      assert.ok(isLifeboatError(await put), 'the put fails once its upload is gone');
      assert.equal(await store.stat('up/a'), undefined);
    });

    it('leaves no incomplete upload after a put that completed or failed', uploads, async () => {
      await store.put('done', pseudoRandomStream(11 * MiB));
      const failing = withHook(11 * MiB, 6 * MiB, () => { throw new LifeboatError('GIT_UNREACHABLE', 'connection to git lost'); });
      await assert.rejects(store.put('failed', failing), (error) => isLifeboatError(error, 'GIT_UNREACHABLE'));
      assert.deepEqual(await store.listIncompleteUploads(''), []);
    });

    it('gives up with ABORTED at once when the signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(store.put('aborted', Buffer.from('x'), { signal: controller.signal }), (error) => isLifeboatError(error, 'ABORTED'));
      await assert.rejects(store.put('aborted', pseudoRandomStream(MiB), { signal: controller.signal }), (error) => isLifeboatError(error, 'ABORTED'));
      assert.equal(await store.stat('aborted'), undefined);
    });

    it('gives up with ABORTED when the signal fires mid-stream, before and after the first part', async () => {
      for (const after of [MiB, 11 * MiB]) {
        const controller = new AbortController();
        const body = withHook(64 * MiB, after, () => controller.abort());
        await assert.rejects(store.put(`aborted-${after}`, body, { signal: controller.signal }), (error) => isLifeboatError(error, 'ABORTED'));
        assert.equal(await store.stat(`aborted-${after}`), undefined);
      }
    });
  });
}
