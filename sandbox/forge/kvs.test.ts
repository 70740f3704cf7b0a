import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startFixtureHost } from './testing.js';

interface Captured {
  value?: unknown;
  error?: { name: string; code: string; message: string; isForgeKvsAPIError: boolean };
}

test('KVS limits throw the real ForgeKvsAPIError with Forge codes: key pattern and length, value size, query page', async () => {
  const fixture = await startFixtureHost();
  try {
    const set = (key: string, value: unknown): Promise<Captured> => fixture.body<Captured>('kvs:set', { key, value });
    const refused = async (captured: Promise<Captured>, code: string): Promise<void> => {
      const { error } = await captured;
      assert.equal(error?.code, code);
      assert.equal(error?.isForgeKvsAPIError, true);
    };
    await refused(set('a', 1), 'KEY_TOO_SHORT');
    await refused(set('k'.repeat(501), 1), 'KEY_TOO_LONG');
    await refused(set('repo/with/slashes', 1), 'INVALID_KEY');
    await refused(set('   ', 1), 'INVALID_KEY');
    assert.deepEqual(await set('k'.repeat(500), 1), {});
    assert.deepEqual(await set('ok: key.with_all-allowed #chars', 1), {});

    // 240 KiB of serialized JSON: the quotes count.
    assert.deepEqual(await set('value:max', 'v'.repeat(240 * 1024 - 2)), {});
    await refused(set('value:over', 'v'.repeat(240 * 1024 - 1)), 'MAX_SIZE');
    let deep: unknown = 'leaf';
    for (let i = 0; i < 33; i++) deep = { deep };
    await refused(set('value:deep', deep), 'MAX_DEPTH');
    assert.equal(fixture.host.kvsDump()['value:over'], undefined);

    await refused(fixture.body<Captured>('kvs:query', { limit: 21 }), 'LIST_QUERY_LIMIT_EXCEEDED');
  } finally {
    await fixture.close();
  }
});

test('queries page by key order with cursors, at most 20 per page; getMany sees only its prefix', async () => {
  const fixture = await startFixtureHost();
  try {
    for (let i = 0; i < 45; i++) await fixture.body('kvs:set', { key: `snap:${String(i).padStart(2, '0')}`, value: i });
    await fixture.body('kvs:set', { key: 'other', value: 'x' });
    const keys: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const { value } = await fixture.body<{ value: { results: Array<{ key: string; value: number }>; nextCursor?: string } }>('kvs:query', { prefix: 'snap:', limit: 20, ...(cursor === undefined ? {} : { cursor }) });
      assert.ok(value.results.length <= 20);
      keys.push(...value.results.map((result) => result.key));
      cursor = value.nextCursor;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(keys, Array.from({ length: 45 }, (_, i) => `snap:${String(i).padStart(2, '0')}`));
  } finally {
    await fixture.close();
  }
});

test('secrets are stored apart: readable with getSecret, never in query results, kvsDump or kvs.json', async () => {
  const fixture = await startFixtureHost();
  try {
    await fixture.body('kvs:setSecret', { key: 'credentials:s3', value: { secretAccessKey: 'very-secret' } });
    await fixture.body('kvs:set', { key: 'credentials:note', value: 'public' });
    assert.deepEqual(await fixture.body('kvs:getSecret', { key: 'credentials:s3' }), { value: { secretAccessKey: 'very-secret' } });
    assert.deepEqual(await fixture.body('kvs:get', { key: 'credentials:s3' }), {}, 'kvs.get does not see secrets');
    const { value } = await fixture.body<{ value: { results: Array<{ key: string }> } }>('kvs:query', { prefix: 'credentials:' });
    assert.deepEqual(value.results.map((result) => result.key), ['credentials:note']);
    assert.deepEqual(fixture.host.kvsDump(), { 'credentials:note': 'public' });
    assert.deepEqual(fixture.host.secretKeys(), ['credentials:s3'], 'the secret\'s key, not its value');

    await fixture.host.close();
    assert.doesNotMatch(await readFile(join(fixture.dataDir, 'kvs.json'), 'utf8'), /very-secret/);
    assert.match(await readFile(join(fixture.dataDir, 'kvs-secrets.json'), 'utf8'), /very-secret/);
  } finally {
    await fixture.close();
  }
});

test('the store survives a restart of the host on the same data directory', async () => {
  const first = await startFixtureHost();
  try {
    await first.body('kvs:set', { key: 'restart:me', value: [1, 2, 3] });
    await first.body('kvs:setSecret', { key: 'restart:secret', value: 's' });
    await first.body('kvs:set', { key: 'restart:gone', value: true });
    await first.body('kvs:delete', { key: 'restart:gone' });
    await first.host.close();
    const second = await startFixtureHost({ dataDir: first.dataDir });
    try {
      assert.deepEqual(await second.body('kvs:get', { key: 'restart:me' }), { value: [1, 2, 3] });
      assert.deepEqual(await second.body('kvs:getSecret', { key: 'restart:secret' }), { value: 's' });
      assert.deepEqual(second.host.kvsDump(), { 'restart:me': [1, 2, 3] });
    } finally {
      await second.close();
    }
  } finally {
    await first.close();
  }
});

test('batchSet reports failed keys one by one; a transaction applies all or nothing', async () => {
  const fixture = await startFixtureHost();
  try {
    const { value: batch } = await fixture.body<{ value: { successfulKeys: Array<{ key: string }>; failedKeys: Array<{ key: string; error: { code: string } }> } }>('kvs:batchSet', {
      items: [
        { key: 'batch:one', value: 1 },
        { key: 'batch/two', value: 2 },
      ],
    });
    assert.deepEqual(batch.successfulKeys, [{ key: 'batch:one' }]);
    assert.deepEqual(batch.failedKeys.map((failed) => [failed.key, failed.error.code]), [['batch/two', 'INVALID_KEY']]);

    const failed = await fixture.body<Captured>('kvs:transact', { set: { 'tx:a': 1, 'tx/b': 2 }, remove: ['batch:one'] });
    assert.equal(failed.error?.code, 'INVALID_KEY');
    assert.deepEqual(fixture.host.kvsDump(), { 'batch:one': 1 }, 'nothing of the failed transaction was applied');
    assert.deepEqual(await fixture.body('kvs:transact', { set: { 'tx:a': 1, 'tx:b': 2 }, remove: ['batch:one'] }), {});
    assert.deepEqual(fixture.host.kvsDump(), { 'tx:a': 1, 'tx:b': 2 });
  } finally {
    await fixture.close();
  }
});

test('a FAIL_IF_EXISTS conflict is the real ForgeKvsAPIError with HTTP 409 (code assumed: KEY_CONFLICT)', async () => {
  const fixture = await startFixtureHost();
  try {
    const setIfAbsent = (value: unknown): Promise<Captured & { error?: { status?: number } }> =>
      fixture.body('kvs:set', { key: 'lock:repo', value, options: { keyPolicy: 'FAIL_IF_EXISTS' } });
    assert.deepEqual(await setIfAbsent('first'), {});
    const { error } = await setIfAbsent('second');
    assert.equal(error?.isForgeKvsAPIError, true);
    assert.equal(error?.name, 'ForgeKvsAPIError');
    assert.equal(error?.status, 409);
    assert.equal(error?.code, 'KEY_CONFLICT');
    assert.deepEqual(fixture.host.kvsDump(), { 'lock:repo': 'first' });
  } finally {
    await fixture.close();
  }
});

test('a write is on disk once answered: a host killed right after keeps it', async () => {
  const fixture = await startFixtureHost();
  try {
    // Read straight after each answer, before anything else runs: no flush, no close.
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await fixture.body('kvs:set', { key: `durable:${i}`, value: i }), {});
      const stored = JSON.parse(await readFile(join(fixture.dataDir, 'kvs.json'), 'utf8')) as Record<string, { value: unknown }>;
      assert.equal(stored[`durable:${i}`]?.value, i, `write ${i} is in kvs.json`);
    }
    assert.deepEqual(await fixture.body('kvs:delete', { key: 'durable:0' }), {});
    const stored = JSON.parse(await readFile(join(fixture.dataDir, 'kvs.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(stored['durable:0'], undefined, 'so is a delete');
  } finally {
    await fixture.close();
  }
});
