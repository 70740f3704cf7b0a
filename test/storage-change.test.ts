/**
 * Encryption changed between backups, through the engine with real git: the
 * backup after the change starts a new full chain stored the new way (even when
 * no ref changed), later ones extend it, a backup interrupted under the old
 * setting is not continued under the new one, and readers go by each snapshot's
 * own record, never by the marker.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backup, type BackupResult } from '../src/engine/backup.js';
import { listPending } from '../src/engine/bucket/catalog.js';
import { generateIdentity, isAgeEncrypted } from '../src/engine/bucket/crypto.js';
import { type EncryptionConfig, type SnapshotManifest, encryptionFor } from '../src/engine/bucket/format.js';
import { initBucket, readMarker, recordStorageSetting } from '../src/engine/bucket/marker.js';
import { MemoryBlobStore } from '../src/engine/bucket/memory-store.js';
import { createGitClient } from '../src/engine/git/client.js';
import { restoreToDirectory } from '../src/cli/services/local-restore.js';
import { collect } from '../src/engine/streams.js';
import { verifySnapshot } from '../src/engine/verify.js';
import { addCommit, addManyRefs, buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { git, refsOf } from './helpers/repos.js';
import { TEST_SIGNER } from './helpers/signing.js';

type GitServer = Awaited<ReturnType<typeof startGitServer>>;

let root: string;
let server: GitServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-storage-change-'));
  server = await startGitServer({ root: join(root, 'served') });
});

after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

function serve(name: string): { work: string; bare: string; url: string } {
  const work = join(root, 'work', name);
  buildRichWorkRepo(work);
  const bare = join(root, 'served', `${name}.git`);
  git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
  git(work, ['remote', 'add', 'origin', bare]);
  return { work, bare, url: server.url(`${name}.git`) };
}

const repo = { workspace: 'ws', repository: 'repo' };

// Each run a minute after the last: snapshot ids sort by their second, and runs this fast could share one.
let minutes = 0;

function run(store: MemoryBlobStore, url: string, encryption: EncryptionConfig | null, extra: Partial<Parameters<typeof backup>[0]> = {}): Promise<BackupResult> {
  const at = new Date(Date.UTC(2026, 10, 26, 6, minutes++));
  return backup({ store, repo, git: createGitClient({ url }), trigger: 'cli', ...TEST_SIGNER, encryption, objectLock: null, now: () => at, ...extra });
}

function created(result: BackupResult): SnapshotManifest {
  assert.equal(result.status, 'created');
  return (result as Extract<BackupResult, { status: 'created' }>).snapshot;
}

describe('a change of encryption between backups', () => {
  it('starts a new full chain encrypted to the new recipients, which Debian age opens; the next one extends it', async () => {
    const served = serve('turned-on');
    const store = new MemoryBlobStore();
    await initBucket(store);
    const plain = created(await run(store, served.url, null));
    assert.equal(plain.encryption, null);
    assert.ok(plain.bundles.every((bundle) => !bundle.encrypted));

    const key = await generateIdentity();
    const toKey = encryptionFor([key.recipient]);
    // The marker follows the setting; the snapshots already written keep theirs.
    assert.deepEqual((await recordStorageSetting(store, { encryption: toKey, objectLock: null })).encryption, toKey);
    assert.deepEqual((await readMarker(store)).encryption, toKey);

    // Nothing changed in the repository, yet the snapshot is not "unchanged": it is not stored the way asked.
    const encrypted = created(await run(store, served.url, toKey));
    assert.deepEqual(encrypted.encryption, toKey);
    assert.equal(encrypted.bundles.length, 1);
    const [full] = encrypted.bundles;
    assert.ok(full);
    assert.deepEqual({ kind: full.kind, prerequisites: full.prerequisites, createdBy: full.createdBy, encrypted: full.encrypted }, { kind: 'full', prerequisites: [], createdBy: encrypted.id, encrypted: true });
    assert.notEqual(full.key, plain.bundles[0]?.key);

    const stored = await collect(await store.get(full.key));
    assert.ok(isAgeEncrypted(stored), 'the object is an age file');
    const identityFile = join(root, 'identity.txt');
    writeFileSync(identityFile, `${key.identity}\n`);
    const opened = execFileSync('age', ['-d', '-i', identityFile], { input: stored, maxBuffer: 64 << 20 });
    assert.equal(opened.subarray(0, 16).toString(), '# v2 git bundle\n');
    const bundleFile = join(root, 'turned-on.bundle');
    writeFileSync(bundleFile, opened);
    execFileSync('git', ['bundle', 'verify', bundleFile], { cwd: served.bare, stdio: 'pipe' });

    // Same recipients, in another order and repeated: the chain goes on.
    addCommit(served.work, 'after encryption was turned on');
    git(served.work, ['push', '--quiet', 'origin', 'main']);
    const next = created(await run(store, served.url, encryptionFor([key.recipient, key.recipient])));
    assert.equal(next.bundles.length, 2);
    assert.deepEqual(next.bundles[0], full);
    assert.deepEqual(next.bundles.map((bundle) => [bundle.kind, bundle.encrypted]), [['full', true], ['incremental', true]]);

    // Readers go by each snapshot's record: the plain one is checked in depth without an identity, the encrypted one is not.
    assert.deepEqual(await verifySnapshot(store, plain), { snapshot: plain.id, ok: true, deep: true, bundles: 1, bytes: plain.bundles[0]!.size, metadata: 0, problems: [] });
    const shallow = await verifySnapshot(store, next);
    assert.equal(shallow.ok, true);
    assert.equal(shallow.deep, false);
    const directory = join(root, 'restored-turned-on');
    await restoreToDirectory({ store, manifest: next, directory, identities: [key.identity] });
    assert.equal(refsOf(directory), refsOf(served.bare));

    // Turned off again: a new plain chain, never a plain increment on the encrypted base.
    const off = created(await run(store, served.url, null));
    assert.equal(off.encryption, null);
    assert.deepEqual(off.bundles.map((bundle) => [bundle.kind, bundle.encrypted, bundle.createdBy]), [['full', false, off.id]]);
  });

  it('continues an interrupted backup only under the encryption it started with', async () => {
    const served = serve('interrupted');
    addManyRefs(served.bare, 8);
    const store = new MemoryBlobStore();
    await initBucket(store);
    const key = await generateIdentity();
    const toKey = encryptionFor([key.recipient]);

    const partial = await run(store, served.url, toKey, { maxRefsPerBundle: 3, deadline: new Date(0) });
    assert.equal(partial.status, 'partial');
    const [pending] = await listPending(store, repo);
    assert.deepEqual(pending?.encryption, toKey, 'the pending record says how its bundles are stored');

    // Encryption turned off meanwhile: the encrypted bundles are not taken into a plain snapshot.
    const plain = created(await run(store, served.url, null, { maxRefsPerBundle: 3 }));
    assert.notEqual(plain.id, partial.status === 'partial' ? partial.pendingId : '');
    assert.ok(plain.bundles.every((bundle) => !bundle.encrypted && bundle.createdBy === plain.id), JSON.stringify(plain.bundles.map((bundle) => [bundle.createdBy, bundle.encrypted])));
    assert.equal((await verifySnapshot(store, plain)).ok, true);

    // With the setting it started with, an interrupted backup is continued as before.
    addCommit(served.work, 'more work');
    git(served.work, ['push', '--quiet', 'origin', 'main']);
    const again = await run(store, served.url, toKey, { maxRefsPerBundle: 3, deadline: new Date(0) });
    assert.equal(again.status, 'partial');
    const continued = created(await run(store, served.url, toKey, { maxRefsPerBundle: 3 }));
    assert.equal(continued.id, again.status === 'partial' ? again.pendingId : '');
    assert.ok(continued.bundles.every((bundle) => bundle.encrypted));
  });
});
