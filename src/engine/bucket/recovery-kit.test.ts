import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { collect } from '../streams.js';
import { RECOVERY_KEYS, objectKey, parseKey } from './bucket-keys.js';
import { MemoryBlobStore } from './memory-store.js';
import { listRepositories } from './prune.js';
import { type RecoveryBundle, recoveryReadme, refreshRecoveryKit, sha256sumLine, storedRecoveryKitSha256 } from './recovery-kit.js';

function bundleOf(text: string, version = '1.2.3'): RecoveryBundle & { reads: number } {
  const bytes = new TextEncoder().encode(text);
  const bundle = { version, sha256: createHash('sha256').update(bytes).digest('hex'), reads: 0, bytes: () => { bundle.reads += 1; return bytes; } };
  return bundle;
}

const read = async (store: MemoryBlobStore, key: string): Promise<string> => new TextDecoder().decode(await collect(await store.get(key)));

describe('the recovery kit in the bucket', () => {
  it('is written once per file: the file, its sha256sum line and the playbook; the same file again reads only the line', async () => {
    const store = new MemoryBlobStore();
    const bundle = bundleOf('console.log("lifeboat");\n');
    assert.equal(await refreshRecoveryKit(store, bundle, { objectLock: null }), 'written');
    assert.equal(await read(store, RECOVERY_KEYS.bundle), 'console.log("lifeboat");\n');
    assert.equal(await read(store, RECOVERY_KEYS.sha256), `${bundle.sha256}  lifeboat.mjs\n`);
    assert.equal(await storedRecoveryKitSha256(store), bundle.sha256);
    const readme = await read(store, RECOVERY_KEYS.readme);
    assert.match(readme, /lifeboat 1\.2\.3/);
    assert.match(readme, /sha256sum -c lifeboat\.mjs\.sha256/);
    assert.match(readme, /node lifeboat\.mjs snapshots --bucket memory:\/\//);

    assert.equal(await refreshRecoveryKit(store, bundle, { objectLock: null }), 'current');
    assert.equal(bundle.reads, 1, 'a current kit needs not the file');
  });

  it('is written again when the app carries another file', async () => {
    const store = new MemoryBlobStore();
    await refreshRecoveryKit(store, bundleOf('one'), { objectLock: null });
    const next = bundleOf('two', '1.2.4');
    assert.equal(await refreshRecoveryKit(store, next, { objectLock: null }), 'written');
    assert.equal(await read(store, RECOVERY_KEYS.bundle), 'two');
    assert.equal(await storedRecoveryKitSha256(store), next.sha256);
    assert.match(await read(store, RECOVERY_KEYS.readme), /lifeboat 1\.2\.4/);
  });

  it('carries the bucket\'s Object Lock on each object', async () => {
    const now = new Date('2026-12-08T00:00:00Z');
    const store = new MemoryBlobStore({ objectLockEnabled: true, now: () => now });
    await refreshRecoveryKit(store, bundleOf('locked'), { objectLock: { mode: 'COMPLIANCE', days: 30 }, now });
    for (const key of Object.values(RECOVERY_KEYS)) {
      assert.deepEqual((await store.stat(key))?.lock, { mode: 'COMPLIANCE', retainUntil: new Date('2027-01-07T00:00:00Z') }, key);
    }
  });

  it('refuses a file that is not the one its SHA-256 names, and writes nothing', async () => {
    const store = new MemoryBlobStore();
    await assert.rejects(refreshRecoveryKit(store, { ...bundleOf('good'), bytes: () => new TextEncoder().encode('bad') }, { objectLock: null }), { code: 'INTERNAL' });
    assert.equal(await store.stat(RECOVERY_KEYS.bundle), undefined);
  });

  it('is no repository: prune lists none for it, and a workspace named "recovery" keeps its keys', async () => {
    const store = new MemoryBlobStore();
    await refreshRecoveryKit(store, bundleOf('kit'), { objectLock: null });
    for (const key of Object.values(RECOVERY_KEYS)) assert.deepEqual(parseKey(key), { kind: 'recovery' });
    assert.deepEqual(await listRepositories(store), []);
    const repo = { workspace: 'recovery', repository: 'web' };
    const sha256 = 'a'.repeat(64);
    assert.deepEqual(parseKey(objectKey(repo, sha256)), { kind: 'object', repo, sha256 });
  });

  it('says how to check the file the way sha256sum does, and names an endpoint where the bucket has one', () => {
    assert.match(sha256sumLine('b'.repeat(64)), /^b{64} {2}lifeboat\.mjs\n$/);
    const readme = recoveryReadme({ version: '1.0.0', location: 's3://backups/lifeboat', endpoint: 'https://s3.example.net' });
    assert.equal(readme.trim().split('\n').filter((line) => /^\d\. /.test(line)).length, 5, 'five steps');
    assert.match(readme, /aws s3 cp --recursive s3:\/\/backups\/lifeboat\/recovery\/ lifeboat-recovery\/ --endpoint-url https:\/\/s3\.example\.net/);
    assert.match(readme, /node lifeboat\.mjs restore <snapshot-id> --to <folder> --bucket s3:\/\/backups\/lifeboat --endpoint https:\/\/s3\.example\.net/);
  });
});
