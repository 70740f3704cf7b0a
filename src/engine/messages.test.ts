/**
 * Engine errors say what happened, in words that hold on every edge: no CLI flag, no
 * environment variable, no command to run. Each edge adds its own hint from the code
 * and the details (src/cli/hints.ts, the app's hints).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findSnapshot } from './bucket/catalog.js';
import { decryptStream } from './bucket/crypto.js';
import { snapshotKey } from './bucket/bucket-keys.js';
import { readMarker } from './bucket/marker.js';
import { MemoryBlobStore } from './bucket/memory-store.js';
import { readPlain } from './bucket/objects.js';
import { type LifeboatError, isLifeboatError } from './errors.js';
import { statusError } from './git/http.js';
import { drain } from './streams.js';

const EDGE_WORDS = /--[a-z]|LIFEBOAT_|AWS_|`lifeboat |\blifeboat (init|snapshots|restore|verify)\b/;

function edgeFree(error: unknown): error is LifeboatError {
  assert.ok(isLifeboatError(error), String(error));
  assert.doesNotMatch(error.message, EDGE_WORDS);
  return true;
}

const id = '20260401T100000Z-abcdef';
const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

describe('engine error messages', () => {
  it('a snapshot not found, or found in several repositories: the repositories are in the details', async () => {
    const store = new MemoryBlobStore();
    await assert.rejects(findSnapshot(store, id, { workspace: 'acme', repository: 'web' }), (error) =>
      edgeFree(error) && error.code === 'SNAPSHOT_NOT_FOUND' && error.details?.repo === 'acme/web');
    for (const repository of ['web', 'api']) await store.put(snapshotKey({ workspace: 'acme', repository }, id), Buffer.from('{}'));
    await assert.rejects(findSnapshot(store, id), (error) =>
      edgeFree(error) && error.code === 'SNAPSHOT_AMBIGUOUS' && JSON.stringify(error.details?.repos) === JSON.stringify(['acme/api', 'acme/web']));
    // A prefix of several ids lists them; latest across repositories names them.
    await assert.rejects(findSnapshot(store, '20260401T10'), (error) =>
      edgeFree(error) && error.code === 'SNAPSHOT_AMBIGUOUS' && /is the start of 2 snapshot ids: 20260401T100000Z-abcdef \(acme\/api\), 20260401T100000Z-abcdef \(acme\/web\)/.test(error.message) && Array.isArray(error.details?.matches));
    await assert.rejects(findSnapshot(store, 'latest'), (error) => edgeFree(error) && error.code === 'SNAPSHOT_AMBIGUOUS' && !('matches' in (error.details ?? {})));
    assert.deepEqual(await findSnapshot(store, 'latest', { workspace: 'acme', repository: 'web' }), { repo: { workspace: 'acme', repository: 'web' }, id });
    assert.deepEqual(await findSnapshot(store, '2026', { workspace: 'acme', repository: 'api' }), { repo: { workspace: 'acme', repository: 'api' }, id });
  });

  it('a bucket without a marker', async () => {
    await assert.rejects(readMarker(new MemoryBlobStore()), (error) => edgeFree(error) && error.code === 'BUCKET_NOT_INITIALIZED');
  });

  it('encrypted data and no identity: the recipients are in the details', async () => {
    const entry = { key: 'acme/web/objects/x', sha256: '0'.repeat(64), size: 1, encrypted: true };
    assert.throws(() => readPlain(new MemoryBlobStore(), { repository: { workspace: 'acme', repository: 'web' }, encryption: { scheme: 'age', recipients: [recipient] } }, entry, undefined), (error) =>
      edgeFree(error) && error.code === 'IDENTITY_REQUIRED' && JSON.stringify(error.details?.recipients) === JSON.stringify([recipient]));
    await assert.rejects(drain(decryptStream((async function* () { yield new Uint8Array(1); })(), [])), (error) => edgeFree(error) && error.code === 'IDENTITY_REQUIRED');
  });

  it('git credentials refused or missing: the user name is in the details', () => {
    const context = { url: 'https://bitbucket.org/ws/repo.git', service: 'git-upload-pack' as const };
    const refused = statusError(401, 'Unauthorized', { ...context, username: 'x-token-auth' });
    assert.ok(edgeFree(refused));
    assert.equal(refused.details?.username, 'x-token-auth');
    assert.ok(edgeFree(statusError(401, '', { ...context, username: undefined })));
  });
});
