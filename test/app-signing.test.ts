// Signed snapshots, the app's side (issue 18, "Signed snapshots"), end to end in
// the local world: the app signs with its own key (a Forge secret), trusts its own
// record of that key (not the bucket's marker), shows per snapshot whether it is
// signed, never restores or shows as good a snapshot whose signature broke, sets
// apart ids dated in the future, and signs once the snapshots from before signing
// that its own index recorded.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry, JobView, Paged, Result, SnapshotPage, SnapshotSummary } from '../src/contract.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { type RepoPath, signatureKey, signaturesPrefix, snapshotKey } from '../src/engine/bucket/bucket-keys.js';
import { listSnapshotIds, readSealedManifest } from '../src/engine/bucket/catalog.js';
import { type SnapshotManifest, manifestSchema, parseDocument, serializeDocument } from '../src/engine/bucket/format.js';
import { readMarker } from '../src/engine/bucket/marker.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { generateSigningKey, signManifest } from '../src/engine/bucket/signing.js';
import { collect } from '../src/engine/streams.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { jobOfKind } from './helpers/jobs.js';

const ADMIN = { as: 'admin' as const };

function valueOf<T>(result: Result<T>, what: string): T {
  assert.ok(result.ok, `${what}: ${JSON.stringify(result)}`);
  return result.value;
}

describe('signed snapshots in the local world', () => {
  let app: AppWorld;
  let store: BlobStore;

  before(async () => {
    app = await startAppWorld({ clock: new ManualClock() });
    await app.configure();
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  });

  after(async () => {
    await app?.close();
  });

  const repo = (slug: string): RepoPath => ({ workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid(slug)) });
  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };
  const page = (slug: string) => ({ ...ADMIN, repositorySlug: slug });
  const backUpNow = async (slug: string): Promise<JobView<'backup'>> => {
    const { job } = valueOf(await app.repoPage('backupNow', {}, page(slug)), 'backupNow');
    await settle();
    return jobOfKind(valueOf(await app.repoPage('getJob', { jobId: job.id }, page(slug)), 'getJob'), 'backup');
  };
  const rebuildIndex = async (): Promise<JobView<'index'>> => {
    const job = valueOf(await app.adminPage('rebuildIndex', {}, ADMIN), 'rebuildIndex');
    await settle();
    return jobOfKind(valueOf(await app.adminPage('getJob', { jobId: job.id }, ADMIN), 'getJob'), 'index');
  };
  const listed = async (slug: string): Promise<SnapshotPage> => valueOf(await app.repoPage('listSnapshots', {}, page(slug)), 'listSnapshots');
  const manifestBytes = async (slug: string, id: string): Promise<Buffer> => collect(await store.get(snapshotKey(repo(slug), id)));
  /** Writes a manifest as someone with only bucket write access would: straight into the bucket. */
  const plant = async (slug: string, manifest: SnapshotManifest): Promise<void> => {
    await store.put(snapshotKey(repo(slug), manifest.id), serializeDocument(manifest), { contentType: 'application/json' });
  };
  /** The newest snapshot id the bucket holds for `slug`, dated now or before. */
  const newestId = async (slug: string): Promise<string> => {
    const id = (await listSnapshotIds(store, repo(slug))).filter((candidate) => !candidate.startsWith('2999')).at(-1);
    assert.ok(id, `${slug} has a snapshot`);
    return id;
  };

  /**
   * Makes a repository's snapshots what an installation from before signing had: no signatures in the bucket,
   * and index entries without a seal or a digest (an earlier Lifeboat wrote neither), except `keepDigest`'s,
   * which keep their digest; and no once-only mark (the rebuilds and backups of the tests before set it).
   */
  const asBeforeSigning = async (slug: string, entries: SnapshotSummary[], keepDigest: SnapshotSummary[] = []): Promise<void> => {
    for await (const blob of store.list(signaturesPrefix(repo(slug)))) await store.remove(blob.key);
    await app.world.host.runInInvocation(async () => {
      const { appState } = await import('../src/forge/state/context.js');
      const { kvsKeys } = await import('../src/app/state/state-keys.js');
      // JSON drops undefined fields, as KVS stores values.
      for (const entry of entries) await appState().set(kvsKeys.snapshotEntry(app.repositoryUuid(slug), entry.id), { ...entry, signedBy: undefined, manifestSha256: undefined });
      for (const entry of keepDigest) await appState().set(kvsKeys.snapshotEntry(app.repositoryUuid(slug), entry.id), { ...entry, signedBy: undefined });
      await appState().delete(kvsKeys.legacySigned(app.repositoryUuid(slug)));
    });
  };

  it('a backup is signed by the app\'s key, which the marker lists and the admin page shows; the private key is only a Forge secret', async () => {
    const done = await backUpNow('web-app');
    assert.equal(done.state, 'done', JSON.stringify(done.error ?? done.note));
    const { keys } = app.trust();
    assert.equal(keys.length, 1, 'the app keeps one key');
    const [fingerprint] = keys as [string];
    const id = await newestId('web-app');
    const { seal } = await readSealedManifest(store, { repo: repo('web-app'), id }, app.trust());
    assert.deepEqual(seal, { signed: true, key: fingerprint });
    const marker = await readMarker(store);
    assert.deepEqual(marker.signing?.keys.map((key) => [key.fingerprint, key.validUntil]), [[fingerprint, null]]);

    const settings = valueOf(await app.adminPage('getSettings', {}, ADMIN), 'getSettings');
    assert.equal(settings.signingKey?.fingerprint, fingerprint);
    const entry = (await listed('web-app')).items.find((item) => item.id === id);
    assert.equal(entry?.signedBy, fingerprint, 'the list says which key signed it');
    assert.equal(entry?.manifestSha256, createHash('sha256').update(await manifestBytes('web-app', id)).digest('hex'), 'the index records the digest of the bytes in the bucket');

    // The private half: a secret under the key's name, and nowhere else the app writes or answers.
    assert.ok(app.world.host.secretKeys().includes(`secret:signing-key:${fingerprint.slice('SHA256:'.length)}`));
    const kvs = JSON.stringify(app.world.host.kvsDump());
    const audit = valueOf(await app.adminPage('getAuditLog', {}, ADMIN), 'getAuditLog') as Paged<AuditEntry>;
    for (const [where, text] of [['KVS', kvs], ['getSettings', JSON.stringify(settings)], ['the audit log', JSON.stringify(audit)], ['the job', JSON.stringify(done)]] as const) {
      assert.doesNotMatch(text, /PRIVATE KEY/, `no private key in ${where}`);
    }
  });

  it('a key added to the marker is not trusted: a snapshot it signed is never built on, and is shown not signed', async () => {
    const base = await newestId('web-app');
    const planted = parseDocument(manifestSchema, await manifestBytes('web-app', base), 'manifest');
    // Dated now: newer than every snapshot so far, and not in the future.
    const id = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-ffffff`;
    assert.ok(id > base, `${id} sorts after ${base}`);
    // A stranger's key, added to the marker as a rotation would, signing a manifest that names an extra ref.
    const stranger = generateSigningKey().key;
    const marker = await readMarker(store);
    await store.put('lifeboat.json', serializeDocument({ ...marker, signing: { keys: [...(marker.signing?.keys ?? []), { fingerprint: stranger.fingerprint, publicKey: stranger.publicKeyPem, validFrom: marker.createdAt, validUntil: null }] } }), { contentType: 'application/json' });
    const forged: SnapshotManifest = { ...planted, id, refs: [...planted.refs, { name: 'refs/heads/planted', oid: planted.refs[0]!.oid }] };
    const bytes = serializeDocument(forged);
    await store.put(signatureKey(repo('web-app'), id, stranger.fingerprint), serializeDocument(signManifest(bytes, id, stranger, new Date())), { contentType: 'application/json' });
    await store.put(snapshotKey(repo('web-app'), id), bytes, { contentType: 'application/json' });

    const done = await backUpNow('web-app');
    assert.equal(done.state, 'done', JSON.stringify(done.error ?? done.note));
    // A snapshot of its own after the planted one, so that the newest is one the app trusts again.
    const newest = await newestId('web-app');
    assert.ok(newest > id, `${newest} after ${id}`);
    assert.ok((await readSealedManifest(store, { repo: repo('web-app'), id: newest }, app.trust())).seal.signed);
    const snapshots = await listed('web-app');
    assert.deepEqual(snapshots.unreadable.filter((entry) => entry.id === id).map((entry) => entry.code), ['SNAPSHOT_UNSIGNED'], 'the backup says it passed it by');

    await rebuildIndex();
    const rebuilt = await listed('web-app');
    const entry = rebuilt.items.find((item) => item.id === id);
    assert.ok(entry, 'readable, so listed');
    assert.equal(entry.signedBy, undefined, 'but not signed by a key the app trusts');
    assert.ok(rebuilt.items.filter((item) => item.id !== id).every((item) => item.signedBy === app.trust().keys[0]), 'the app\'s own snapshots stay signed');
  });

  it('a manifest changed after signing is refused wherever the app would read it, and listed as a problem', async () => {
    const done = await backUpNow('docs');
    assert.equal(done.state, 'done', JSON.stringify(done.error ?? done.note));
    const id = await newestId('docs');
    const manifest = parseDocument(manifestSchema, await manifestBytes('docs', id), 'manifest');
    // The same refs, one moved: what the signature exists to catch.
    await plant('docs', { ...manifest, refs: manifest.refs.map((ref, index) => (index === 0 ? { ...ref, oid: 'e'.repeat(40) } : ref)) });

    const details = await app.repoPage('getSnapshot', { snapshotId: id }, page('docs'));
    assert.equal(!details.ok && details.error.code, 'SNAPSHOT_SIGNATURE_INVALID');
    assert.match(!details.ok ? details.error.hint ?? '' : '', /never restored/);
    const restore = await app.repoPage('startRestore', { snapshotId: id, mode: 'new-repository', newRepositorySlug: 'docs-copy' }, page('docs'));
    assert.equal(!restore.ok && restore.error.code, 'SNAPSHOT_SIGNATURE_INVALID');

    const rebuilt = await rebuildIndex();
    const snapshots = await listed('docs');
    assert.ok(!snapshots.items.some((item) => item.id === id), `never listed as a snapshot: ${JSON.stringify({ rebuilt, snapshots })}`);
    assert.deepEqual(snapshots.unreadable.filter((entry) => entry.id === id).map((entry) => entry.code), ['SNAPSHOT_SIGNATURE_INVALID']);
  });

  it('a snapshot id dated in the future is never built on and is reported with the unreadable ones', async () => {
    const base = await newestId('api-server').catch(async () => {
      assert.equal((await backUpNow('api-server')).state, 'done');
      return newestId('api-server');
    });
    const manifest = parseDocument(manifestSchema, await manifestBytes('api-server', base), 'manifest');
    const future = '29991231T000000Z-abcdef';
    await plant('api-server', { ...manifest, id: future, createdAt: '2999-12-31T00:00:00.000Z' });

    const done = await backUpNow('api-server');
    assert.equal(done.state, 'done', JSON.stringify(done.error ?? done.note));
    assert.deepEqual((await listed('api-server')).unreadable.filter((entry) => entry.id === future).map((entry) => entry.code), ['SNAPSHOT_FROM_FUTURE'], 'the backup reports it');

    await rebuildIndex();
    const snapshots = await listed('api-server');
    assert.ok(!snapshots.items.some((item) => item.id === future), 'never the newest, never listed as a snapshot');
    assert.deepEqual(snapshots.unreadable.filter((entry) => entry.id === future).map((entry) => entry.code), ['SNAPSHOT_FROM_FUTURE'], 'the index job reports it too');
    const status = valueOf(await app.repoPage('getRepoStatus', {}, page('api-server')), 'getRepoStatus');
    assert.notEqual(status.latest?.id, future);
  });

  it('snapshots from before signing: the app signs, once, exactly those its index recorded with the same content', async () => {
    // A repository where nothing was planted yet; two more backups of new refs, so that there are several to look at.
    const slug = 'api-server';
    for (const name of ['one', 'two', 'three']) {
      execFileSync('git', ['-C', app.world.emulator.gitDir(DEMO_WORKSPACE.slug, slug), 'update-ref', `refs/heads/legacy-${name}`, 'HEAD']);
      assert.equal((await backUpNow(slug)).state, 'done');
    }
    const entries = (await listed(slug)).items.filter((item) => item.signedBy !== undefined);
    assert.ok(entries.length >= 4, `several signed snapshots: ${entries.length}`);
    const [withDigest, moved, planted, ...legacy] = entries as [SnapshotSummary, SnapshotSummary, SnapshotSummary, ...SnapshotSummary[]];
    await asBeforeSigning(slug, [planted, ...legacy], [withDigest, moved]);
    // One whose index entry kept its digest, changed with every count kept (a ref moved): only the digest tells.
    const recorded = parseDocument(manifestSchema, await manifestBytes(slug, moved.id), 'manifest');
    await plant(slug, { ...recorded, refs: recorded.refs.map((ref, index) => (index === 0 ? { ...ref, oid: 'd'.repeat(40) } : ref)) });
    // One changed since its backup recorded it: a ref added, which the recorded count refuses.
    const original = parseDocument(manifestSchema, await manifestBytes(slug, planted.id), 'manifest');
    await plant(slug, { ...original, refs: [...original.refs, { name: 'refs/heads/planted-later', oid: original.refs[0]!.oid }] });

    const first = await rebuildIndex();
    assert.equal(first.state, 'done', JSON.stringify(first.error ?? first.note));
    const expected = [withDigest.id, ...legacy.map((entry) => entry.id)].sort();
    assert.equal(first.result?.signed, expected.length, 'the job says how many it signed');
    const after = await listed(slug);
    assert.deepEqual(after.items.filter((item) => item.signedBy !== undefined).map((item) => item.id).sort(), expected, 'exactly those, by the app\'s key');
    assert.equal(after.items.find((item) => item.id === planted.id)?.signedBy, undefined, 'the changed one stays not signed');
    assert.equal(after.items.find((item) => item.id === moved.id)?.signedBy, undefined, 'so does the one whose digest differs');
    for (const id of expected) {
      const { seal } = await readSealedManifest(store, { repo: repo(slug), id }, app.trust());
      assert.ok(seal.signed, `${id} verifies by the app's key`);
    }
    const audit = valueOf(await app.adminPage('getAuditLog', {}, ADMIN), 'getAuditLog') as Paged<AuditEntry>;
    assert.ok(audit.items.some((entry) => entry.note?.code === 'indexed' && entry.note.signed === expected.length), 'the audit log says it too');

    // Once: the changed ones put back as they were recorded are not signed by a later rebuild.
    await plant(slug, original);
    await plant(slug, recorded);
    const second = await rebuildIndex();
    assert.equal(second.result?.signed, undefined);
    assert.equal((await listed(slug)).items.find((item) => item.id === planted.id)?.signedBy, undefined);
  });
  it('an installation from before signing: the first backup signs what the index recorded, says so, and builds on it', async () => {
    const slug = 'api-server';
    const entries = (await listed(slug)).items;
    assert.ok(entries.length >= 3, `several snapshots: ${entries.length}`);
    await asBeforeSigning(slug, entries);
    const newest = entries[0]!;
    execFileSync('git', ['-C', app.world.emulator.gitDir(DEMO_WORKSPACE.slug, slug), 'update-ref', 'refs/heads/after-upgrade', 'HEAD']);

    const done = await backUpNow(slug);
    assert.equal(done.state, 'done', JSON.stringify(done.error ?? done.note));
    const audit = valueOf(await app.adminPage('getAuditLog', {}, ADMIN), 'getAuditLog') as Paged<AuditEntry>;
    const note = audit.items.find((entry) => entry.action === 'snapshots signed')?.note;
    assert.deepEqual(note, { code: 'snapshots-signed', snapshots: entries.length });
    const after = await listed(slug);
    assert.ok(after.items.every((item) => item.signedBy === app.trust().keys[0]), 'every one signed, the new one too');
    // Built on the newest of them: an increment of its chain, not a new full one.
    const taken = after.items[0]!;
    assert.notEqual(taken.id, newest.id);
    assert.equal(taken.chain, 'incremental', JSON.stringify(taken));
    assert.ok(!after.unreadable.some((entry) => entry.code === 'SNAPSHOT_UNSIGNED'), 'nothing passed by as not signed');
  });
});
