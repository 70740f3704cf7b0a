import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { write } from '../../../test/helpers/fixtures.js';
import { startGitServer } from '../../../test/helpers/git-server.js';
import { git } from '../../../test/helpers/repos.js';
import { TEST_SIGNER, TEST_SIGNING_KEY, TEST_TRUST } from '../../../test/helpers/signing.js';
import { type BackupResult, backup } from '../backup.js';
import { isLifeboatError } from '../errors.js';
import { createGitClient } from '../git/client.js';
import { collect } from '../streams.js';
import { parseKey, signatureKey, snapshotKey } from './bucket-keys.js';
import { readManifests, readNewest, readSealedManifest } from './catalog.js';
import { serializeDocument } from './format.js';
import { initBucket, readMarker, recordSigningKey } from './marker.js';
import { MemoryBlobStore } from './memory-store.js';
import { UNCHECKED, fingerprintOf, generateSigningKey, loadSigningKey, parseFingerprint, shortFingerprint, signManifest, signatureHolds } from './signing.js';

const repo = { workspace: 'ws', repository: 'repo' };

describe('signing keys and signatures', () => {
  it('a key written as PEM loads back with the same fingerprint, and the fingerprint is the SHA-256 of the public key DER', () => {
    const { key, privateKeyPem } = generateSigningKey();
    assert.equal(loadSigningKey(privateKeyPem).fingerprint, key.fingerprint);
    assert.equal(fingerprintOf(key.publicKeyPem), key.fingerprint);
    assert.match(key.fingerprint, /^SHA256:[0-9a-f]{64}$/);
    assert.match(shortFingerprint(key.fingerprint), /^SHA256:[0-9a-f]{16}…[0-9a-f]{4}$/);
  });

  it('refuses what is not an Ed25519 private key, and fingerprints that are not one', () => {
    assert.throws(() => loadSigningKey('not a key'), (error) => isLifeboatError(error, 'SIGNING_KEY_INVALID'));
    assert.throws(() => parseFingerprint('SHA256:abc'), (error) => isLifeboatError(error, 'SIGNING_KEY_INVALID'));
    const hex = TEST_SIGNING_KEY.fingerprint.slice('SHA256:'.length);
    assert.equal(parseFingerprint(hex.toUpperCase()), TEST_SIGNING_KEY.fingerprint, 'without the prefix, any case');
    assert.equal(parseFingerprint(` sha256:${hex.match(/.{4}/g)!.join(':')} `), TEST_SIGNING_KEY.fingerprint, 'grouped');
  });

  it('a signature holds for the exact bytes and the key it names, and for nothing else', () => {
    const bytes = Buffer.from('{"a":1}\n');
    const signature = signManifest(bytes, '20261201T000000Z-000000', TEST_SIGNING_KEY, new Date());
    assert.ok(signatureHolds(bytes, signature, TEST_SIGNING_KEY.fingerprint));
    assert.ok(!signatureHolds(Buffer.from('{"a":2}\n'), signature, TEST_SIGNING_KEY.fingerprint), 'other bytes');
    const other = generateSigningKey().key;
    assert.ok(!signatureHolds(bytes, signature, other.fingerprint), 'another key');
    // A signature by another key that claims the trusted fingerprint: the key it carries must be the trusted one.
    const forged = { ...signManifest(bytes, '20261201T000000Z-000000', other, new Date()), key: TEST_SIGNING_KEY.fingerprint };
    assert.ok(!signatureHolds(bytes, forged, TEST_SIGNING_KEY.fingerprint));
  });

  it('signature keys parse as signatures of their snapshot and key', () => {
    const key = signatureKey(repo, '20261201T000000Z-00000a', TEST_SIGNING_KEY.fingerprint);
    assert.deepEqual(parseKey(key), { kind: 'signature', repo, snapshotId: '20261201T000000Z-00000a', fingerprint: TEST_SIGNING_KEY.fingerprint });
    assert.deepEqual(parseKey('ws/repo/signatures/20261201T000000Z-00000a.json'), { kind: 'unknown' });
  });

  it('the marker lists each key with when it became valid: writers with keys of their own leave each other\'s open', async () => {
    const store = new MemoryBlobStore();
    await initBucket(store);
    const cli = generateSigningKey().key;
    const listed = async () => (await readMarker(store)).signing?.keys.map(({ fingerprint, validFrom, validUntil }) => ({ fingerprint, validFrom, validUntil }));
    await recordSigningKey(store, TEST_SIGNING_KEY, new Date('2026-12-01T00:00:00Z'));
    await recordSigningKey(store, cli, new Date('2026-12-02T00:00:00Z'));
    await recordSigningKey(store, TEST_SIGNING_KEY, new Date('2026-12-02T01:00:00Z'));
    const bothOpen = [
      { fingerprint: TEST_SIGNING_KEY.fingerprint, validFrom: '2026-12-01T00:00:00.000Z', validUntil: null },
      { fingerprint: cli.fingerprint, validFrom: '2026-12-02T00:00:00.000Z', validUntil: null },
    ];
    assert.deepEqual(await listed(), bothOpen, 'the app and the command line writing in turn change nothing');
  });
});

describe('readers check signatures (a backup through a real git server)', () => {
  let root: string;
  let server: Awaited<ReturnType<typeof startGitServer>>;
  let work: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'lifeboat-signing-'));
    server = await startGitServer({ root: join(root, 'served') });
    work = join(root, 'work');
    git(undefined, ['init', '--quiet', '--initial-branch=main', work]);
    write(work, 'a.txt', 'one\n');
    git(work, ['add', '-A']);
    git(work, ['commit', '--quiet', '-m', 'first']);
    git(undefined, ['clone', '--quiet', '--mirror', work, join(root, 'served', 'repo.git')]);
  });

  after(async () => {
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const run = async (store: MemoryBlobStore, now = new Date()): Promise<Extract<BackupResult, { status: 'created' }>> => {
    const result = await backup({ store, repo, git: createGitClient({ url: server.url('repo.git') }), trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null, now: () => now });
    assert.equal(result.status, 'created');
    return result as Extract<BackupResult, { status: 'created' }>;
  };

  const storeWithOne = async (): Promise<{ store: MemoryBlobStore; id: string }> => {
    const store = new MemoryBlobStore();
    await initBucket(store);
    return { store, id: (await run(store)).snapshot.id };
  };

  it('a snapshot a backup wrote reads as signed by its key', async () => {
    const { store, id } = await storeWithOne();
    const { seal } = await readSealedManifest(store, { repo, id }, TEST_TRUST);
    assert.deepEqual(seal, { signed: true, key: TEST_SIGNING_KEY.fingerprint });
  });

  it('a manifest changed after signing is refused, whatever the reader allows of unsigned ones', async () => {
    const { store, id } = await storeWithOne();
    const bytes = await collect(await store.get(snapshotKey(repo, id)));
    const edited = JSON.parse(bytes.toString('utf8'));
    edited.refs[0].oid = 'f'.repeat(40);
    await store.put(snapshotKey(repo, id), serializeDocument(edited));
    for (const unsigned of ['flag', 'refuse'] as const) {
      await assert.rejects(readSealedManifest(store, { repo, id }, { ...TEST_TRUST, unsigned }), (error) => isLifeboatError(error, 'SNAPSHOT_SIGNATURE_INVALID'));
    }
    const listing = await readManifests(store, [{ repo, id }], { ...TEST_TRUST, unsigned: 'flag' });
    assert.deepEqual(listing.unreadable.map((entry) => entry.code), ['SNAPSHOT_SIGNATURE_INVALID'], 'a listing reports it and goes on');
  });

  it('one signed by a key the reader does not trust is refused or flagged as not signed, as the reader asks', async () => {
    const { store, id } = await storeWithOne();
    const stranger = { keys: [generateSigningKey().key.fingerprint] };
    await assert.rejects(readSealedManifest(store, { repo, id }, { ...stranger, unsigned: 'refuse' }), (error) => isLifeboatError(error, 'SNAPSHOT_UNSIGNED'));
    assert.deepEqual((await readSealedManifest(store, { repo, id }, { ...stranger, unsigned: 'flag' })).seal, { signed: false });
    assert.deepEqual((await readSealedManifest(store, { repo, id }, UNCHECKED)).seal, { signed: false });
  });

  it('a second key signs beside the first: a reader trusting either finds its own signature', async () => {
    const { store, id } = await storeWithOne();
    const second = generateSigningKey().key;
    const bytes = await collect(await store.get(snapshotKey(repo, id)));
    await store.put(signatureKey(repo, id, second.fingerprint), serializeDocument(signManifest(bytes, id, second, new Date())));
    assert.deepEqual((await readSealedManifest(store, { repo, id }, { keys: [second.fingerprint], unsigned: 'refuse' })).seal, { signed: true, key: second.fingerprint });
    assert.deepEqual((await readSealedManifest(store, { repo, id }, TEST_TRUST)).seal, { signed: true, key: TEST_SIGNING_KEY.fingerprint });
  });

  it('a planted unsigned manifest under a later id is never built on: the next backup skips it and reports it', async () => {
    const { store, id } = await storeWithOne();
    const plantedId = `${id.slice(0, 'YYYYMMDDTHHMMSSZ-'.length)}ffffff`; // same second, sorts last
    const original = JSON.parse((await collect(await store.get(snapshotKey(repo, id)))).toString('utf8'));
    await store.put(snapshotKey(repo, plantedId), serializeDocument({ ...original, id: plantedId, refs: [] }));
    const reported: string[] = [];
    const result = await backup({
      store, repo, git: createGitClient({ url: server.url('repo.git') }), trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null,
      onProgress: (progress) => { if (progress.phase === 'skipped') reported.push(...progress.unreadable.map((entry) => `${entry.id} ${entry.code}`)); },
    });
    assert.deepEqual(reported, [`${plantedId} SNAPSHOT_UNSIGNED`]);
    assert.equal(result.status, 'created', 'not "unchanged" on the planted one');
    const created = (result as Extract<BackupResult, { status: 'created' }>).snapshot;
    assert.ok(created.id > plantedId, 'still sorts after it');
    assert.deepEqual(created.refs, original.refs, 'the planted refs were not carried forward');
  });

  it('a snapshot dated in the future is never a base, and later snapshots are not stamped after it', async () => {
    const { store, id } = await storeWithOne();
    const future = '29991231T000000Z-000000';
    const bytes = await collect(await store.get(snapshotKey(repo, id)));
    const planted = serializeDocument({ ...JSON.parse(bytes.toString('utf8')), id: future });
    // Signed with the trusted key too: the date alone must keep it out.
    await store.put(snapshotKey(repo, future), planted);
    await store.put(signatureKey(repo, future, TEST_SIGNING_KEY.fingerprint), serializeDocument(signManifest(planted, future, TEST_SIGNING_KEY, new Date())));
    const now = new Date();
    const newest = await readNewest(store, repo, TEST_TRUST, now);
    assert.equal(newest.manifest?.id, id);
    assert.equal(newest.newestId, id);
    assert.deepEqual(newest.future.map((entry) => [entry.id, entry.code]), [[future, 'SNAPSHOT_FROM_FUTURE']]);
    git(work, ['commit', '--quiet', '--allow-empty', '-m', 'second']);
    git(work, ['push', '--quiet', join(root, 'served', 'repo.git'), 'main']);
    const next = await run(store, now);
    assert.ok(next.snapshot.id < '30000000', `${next.snapshot.id} is stamped now, not after 2999`);
    assert.equal(next.previous?.id, id);
  });
});
