import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import type { BlobStore, ObjectLockOptions } from './blob-store.js';
import { type BundleEntry, type PendingBackup, type SnapshotManifest, serializeDocument } from './format.js';
import { type RepoPath, lockKey, locksPrefix, objectKey, pendingKey, signatureKey, snapshotKey, stagingKey } from './bucket-keys.js';
import { acquireLock } from './locks.js';
import { MemoryBlobStore } from './memory-store.js';
import { signManifest } from './signing.js';
import { collect } from '../streams.js';
import { TEST_SIGNING_KEY, TEST_TRUST } from '../../../test/helpers/signing.js';
import { type PruneReport, listRepositories, prune, pruneAll } from './prune.js';

const repo: RepoPath = { workspace: 'acme', repository: 'app' };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const START = Date.parse('2026-06-01T00:00:00Z');

/** One bucket and the one clock that both the store (lastModified, retention) and prune read. */
class World {
  time = START;
  readonly now = (): Date => new Date(this.time);
  readonly store = new MemoryBlobStore({ now: this.now, objectLockEnabled: true });

  at(ms: number): this {
    this.time = START + ms;
    return this;
  }

  /** An object at its content address, as a backup stores a bundle. */
  async object(content: string, options: { lock?: ObjectLockOptions; target?: RepoPath } = {}): Promise<{ key: string; sha256: string; size: number }> {
    const bytes = Buffer.from(content);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = objectKey(options.target ?? repo, sha256);
    await this.store.put(key, bytes, options.lock ? { lock: options.lock } : {});
    return { key, sha256, size: bytes.byteLength };
  }

  async manifest(id: string, bundles: BundleEntry[], options: { lock?: ObjectLockOptions } = {}): Promise<void> {
    const manifest: SnapshotManifest = {
      format: 'lifeboat-snapshot',
      version: 1,
      id,
      repository: { workspace: repo.workspace, repository: repo.repository },
      source: 'https://git.example.test/acme/app.git',
      createdAt: this.now().toISOString(),
      trigger: 'schedule',
      head: { symref: 'refs/heads/main' },
      refs: [{ name: 'refs/heads/main', oid: '1'.repeat(40) }],
      bundles,
      encryption: null,
    };
    await this.store.put(snapshotKey(repo, id), serializeDocument(manifest), options.lock ? { lock: options.lock } : {});
  }

  async pending(id: string, base: string | null, bundles: BundleEntry[]): Promise<void> {
    const record: PendingBackup = { format: 'lifeboat-pending', version: 1, id, startedAt: this.now().toISOString(), updatedAt: this.now().toISOString(), after: base, base, bundles };
    await this.store.put(pendingKey(repo, id), serializeDocument(record));
  }

  async keys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const blob of this.store.list('')) keys.push(blob.key);
    return keys;
  }

  /**
   * A streamed put that sends one chunk and then waits, as a backup killed mid-upload leaves its
   * multipart upload. finish() lets it go on: to its end, or to the error of an aborted upload.
   */
  async interruptedUpload(key: string): Promise<{ finish(): Promise<unknown> }> {
    let resume: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { resume = resolve; });
    async function* body() {
      yield Buffer.from('the first part');
      await gate;
      yield Buffer.from(', and the rest');
    }
    const put = this.store.put(key, body()).then(() => 'completed', (error: unknown) => error);
    while (!(await this.store.listIncompleteUploads(key)).some((upload) => upload.key === key)) await new Promise((resolve) => setImmediate(resolve));
    return { finish: () => { resume(); return put; } };
  }

  lockedUntil(ms: number): ObjectLockOptions {
    return { mode: 'COMPLIANCE', retainUntil: new Date(START + ms) };
  }
}

function bundle(object: { key: string; sha256: string; size: number }, kind: 'full' | 'incremental', createdBy: string): BundleEntry {
  return {
    ...object,
    kind,
    prerequisites: kind === 'full' ? [] : ['2'.repeat(40)],
    refs: [{ name: 'refs/heads/main', oid: '1'.repeat(40) }],
    pack: { objectCount: 3, trailer: '3'.repeat(40), bytes: object.size },
    encrypted: false,
    createdBy,
  };
}

/** A snapshot id for a moment of the test's calendar, e.g. day 2 → 20260603T000000Z-000002. */
function sid(day: number): string {
  const stamp = new Date(START + day * DAY).toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `${stamp}Z-${String(day).padStart(6, '0')}`;
}

/**
 * Five daily snapshots in two chains, S0 ← S1 ← S2 on full F0 and S3 ← S4 on full F3,
 * plus an old unreferenced object and staging upload, and young ones written
 * ten minutes before the prune runs (day 5).
 */
async function fiveDays(world: World, options: { lockGarbage?: boolean; lockFirstManifest?: boolean } = {}) {
  world.at(0);
  const f0 = bundle(await world.object('full 0'), 'full', sid(0));
  const garbage = await world.object('abandoned by a crashed backup', options.lockGarbage ? { lock: world.lockedUntil(30 * DAY) } : {});
  await world.manifest(sid(0), [f0], options.lockFirstManifest ? { lock: world.lockedUntil(30 * DAY) } : {});
  world.at(DAY);
  const i1 = bundle(await world.object('increment 1'), 'incremental', sid(1));
  await world.manifest(sid(1), [f0, i1]);
  const oldStaging = stagingKey(repo, 'interrupted-upload');
  await world.store.put(oldStaging, Buffer.from('half an upload'));
  world.at(2 * DAY);
  const i2 = bundle(await world.object('increment 2'), 'incremental', sid(2));
  await world.manifest(sid(2), [f0, i1, i2]);
  world.at(3 * DAY);
  const f3 = bundle(await world.object('full 3'), 'full', sid(3));
  await world.manifest(sid(3), [f3]);
  world.at(4 * DAY);
  const i4 = bundle(await world.object('increment 4'), 'incremental', sid(4));
  await world.manifest(sid(4), [f3, i4]);
  world.at(5 * DAY - 10 * MINUTE);
  const young = await world.object('being written right now');
  const youngStaging = stagingKey(repo, 'upload-in-progress');
  await world.store.put(youngStaging, Buffer.from('uploading'));
  world.at(5 * DAY);
  return { f0, i1, i2, f3, i4, garbage, oldStaging, young, youngStaging };
}

/** The store's methods bound to it, to override some in a test double. */
function bind(store: MemoryBlobStore): BlobStore {
  return {
    location: store.location,
    put: store.put.bind(store),
    get: store.get.bind(store),
    stat: store.stat.bind(store),
    list: store.list.bind(store),
    remove: store.remove.bind(store),
    copy: store.copy.bind(store),
    objectLockEnabled: store.objectLockEnabled.bind(store),
    listIncompleteUploads: store.listIncompleteUploads.bind(store),
    abortIncompleteUpload: store.abortIncompleteUpload.bind(store),
  };
}

const options = (world: World, extra: Partial<Parameters<typeof prune>[3]> = {}) => ({ owner: 'prune test', now: world.now, ...extra });

describe('prune', () => {
  it('forgets snapshots outside the policy and deletes only what no kept snapshot needs', async () => {
    const world = new World();
    const s = await fiveDays(world);
    const progress: string[] = [];
    const report = await prune(world.store, repo, { keepLast: 2 }, options(world, { onProgress: (message) => progress.push(message) }));

    assert.deepEqual(report.keptSnapshots, [{ id: sid(3), reasons: ['last'] }, { id: sid(4), reasons: ['newest', 'last'] }]);
    assert.deepEqual(report.forgottenSnapshots, [sid(0), sid(1), sid(2)]);
    assert.deepEqual(report.deletedObjects.map((object) => object.key).sort(), [s.f0.key, s.i1.key, s.i2.key, s.garbage.key, s.oldStaging].sort());
    assert.equal(report.bytesFreed, report.deletedObjects.reduce((sum, object) => sum + object.size, 0));
    assert.equal(report.bytesFreed, s.f0.size + s.i1.size + s.i2.size + s.garbage.size + 'half an upload'.length);
    assert.deepEqual(report.youngObjects.map((object) => object.key).sort(), [s.young.key, s.youngStaging].sort());
    assert.equal(report.referencedObjects, 2);
    assert.deepEqual(report.lockedObjects, []);
    assert.equal(report.dryRun, false);
    assert.deepEqual(report.repo, repo);
    assert.deepEqual(report.policy, { keepLast: 2 });

    assert.deepEqual((await world.keys()).sort(), [snapshotKey(repo, sid(3)), snapshotKey(repo, sid(4)), s.f3.key, s.i4.key, s.young.key, s.youngStaging].sort());
    assert.ok(progress.some((line) => line.startsWith('acme/app: forgetting 3 snapshots')));
  });

  it('never forgets a pinned snapshot, nor the objects of its chain; keepWithin keeps the window before the newest', async () => {
    const world = new World();
    const s = await fiveDays(world);
    // S1 is pinned (an undo needs it); keepWithin 1d keeps only the newest (S3 is exactly a day older: not strictly newer).
    const report = await prune(world.store, repo, { keepWithin: '1d' }, options(world, { pinned: new Set([sid(1)]) }));
    assert.deepEqual(report.keptSnapshots, [{ id: sid(1), reasons: ['pinned'] }, { id: sid(4), reasons: ['newest', 'within'] }]);
    assert.deepEqual(report.forgottenSnapshots, [sid(0), sid(2), sid(3)]);
    for (const needed of [s.f0, s.i1, s.f3, s.i4]) assert.ok(await world.store.stat(needed.key), `${needed.key} must survive`);
    assert.ok(!(await world.store.stat(s.i2.key)), 'S2 alone named increment 2');
  });

  it('deletes the signatures of the snapshots it forgets, and keeps those of kept snapshots and one written just now', async () => {
    const world = new World();
    await fiveDays(world);
    const fingerprint = `SHA256:${'ab'.repeat(32)}`;
    world.at(4 * DAY);
    for (const day of [0, 1, 2, 3, 4]) await world.store.put(signatureKey(repo, sid(day), fingerprint), Buffer.from('{}'));
    world.at(5 * DAY - MINUTE);
    // A backup committing right now: its signature is written before its manifest (commit.ts).
    const committing = signatureKey(repo, sid(5), fingerprint);
    await world.store.put(committing, Buffer.from('{}'));
    world.at(5 * DAY);
    await prune(world.store, repo, { keepLast: 2 }, options(world));
    const signatures = (await world.keys()).filter((key) => key.includes('/signatures/')).sort();
    assert.deepEqual(signatures, [signatureKey(repo, sid(3), fingerprint), signatureKey(repo, sid(4), fingerprint), committing].sort());
  });

  it('with a trust, counts only signed snapshots: a planted one neither takes the newest\'s place nor has real ones forgotten', async () => {
    const world = new World();
    await fiveDays(world);
    for (const day of [0, 1, 2, 3, 4]) {
      const bytes = await collect(await world.store.get(snapshotKey(repo, sid(day))));
      await world.store.put(signatureKey(repo, sid(day), TEST_SIGNING_KEY.fingerprint), serializeDocument(signManifest(bytes, sid(day), TEST_SIGNING_KEY, world.now())));
    }
    await world.manifest(sid(5), []); // planted: unsigned, the newest id
    const trusting = await prune(world.store, repo, { keepLast: 1 }, options(world, { dryRun: true, trust: TEST_TRUST }));
    assert.deepEqual(trusting.keptSnapshots, [{ id: sid(4), reasons: ['newest', 'last'] }, { id: sid(5), reasons: ['untrusted'] }]);
    const blind = await prune(world.store, repo, { keepLast: 1 }, options(world, { dryRun: true }));
    assert.deepEqual(blind.keptSnapshots, [{ id: sid(5), reasons: ['newest', 'last'] }], 'without a trust the plant would have been the newest');
  });

  it('never forgets the newest snapshot, even under the narrowest policy', async () => {
    const world = new World();
    await fiveDays(world);
    const report = await prune(world.store, repo, { keepWithin: '1h', keepLast: 0 }, options(world));
    assert.deepEqual(report.keptSnapshots, [{ id: sid(4), reasons: ['newest', 'within'] }]);
    assert.ok(await world.store.stat(snapshotKey(repo, sid(4))));
  });

  it('never deletes an old full bundle that a kept incremental still needs', async () => {
    const world = new World();
    const s = await fiveDays(world);
    await world.store.remove(snapshotKey(repo, sid(3)));
    await world.store.remove(snapshotKey(repo, sid(4)));
    // S2 alone is kept; F0 was written five days ago and only S2's chain names it.
    const report = await prune(world.store, repo, { keepLast: 1 }, options(world));
    assert.deepEqual(report.keptSnapshots, [{ id: sid(2), reasons: ['newest', 'last'] }]);
    for (const needed of [s.f0, s.i1, s.i2]) assert.ok(await world.store.stat(needed.key), `${needed.key} must survive`);
    assert.ok(!report.deletedObjects.some((object) => [s.f0.key, s.i1.key, s.i2.key].includes(object.key)));
    assert.ok(report.deletedObjects.some((object) => object.key === s.f3.key)); // its snapshots were gone already: garbage now
  });

  it('a dry run deletes nothing, takes no lock, and reports the same plan as the real run', async () => {
    const world = new World();
    await fiveDays(world);
    const stale = await acquireLock(world.store, repo, 'shared', { owner: 'dead backup', now: () => new Date(START + 4 * DAY) });
    const writes: string[] = [];
    const watched: BlobStore = {
      ...bind(world.store),
      put: (key, body, putOptions) => { writes.push(`put ${key}`); return world.store.put(key, body, putOptions); },
      remove: (key) => { writes.push(`remove ${key}`); return world.store.remove(key); },
      copy: (from, to, copyOptions) => { writes.push(`copy ${to}`); return world.store.copy(from, to, copyOptions); },
      abortIncompleteUpload: (upload) => { writes.push(`abort ${upload.key}`); return world.store.abortIncompleteUpload(upload); },
    };
    const dry = await prune(watched, repo, { keepDaily: 2 }, options(world, { dryRun: true }));
    assert.deepEqual(writes, []);
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.removedStaleLocks, [stale.id]);

    const real = await prune(world.store, repo, { keepDaily: 2 }, options(world));
    assert.deepEqual({ ...dry, dryRun: false }, real);
    assert.ok(real.deletedObjects.length > 0);
  });

  it('refuses to run while a backup holds a fresh shared lock, and deletes nothing', async () => {
    const world = new World();
    await fiveDays(world);
    world.at(5 * DAY - 5 * MINUTE);
    const backup = await acquireLock(world.store, repo, 'shared', { owner: 'backup on worker-7', now: world.now });
    world.at(5 * DAY);
    const before = await world.keys();
    await assert.rejects(
      prune(world.store, repo, { keepLast: 1 }, options(world)),
      (error) => isLifeboatError(error, 'LOCKED') && /backup on worker-7/.test(error.message),
    );
    assert.deepEqual(await world.keys(), before);
    assert.ok(before.includes(lockKey(repo, backup.id)));
  });

  it('ignores a stale lock, removes it, and releases its own lock', async () => {
    const world = new World();
    await fiveDays(world);
    world.at(4 * DAY);
    const dead = await acquireLock(world.store, repo, 'shared', { owner: 'crashed backup', now: world.now });
    world.at(5 * DAY);
    const report = await prune(world.store, repo, { keepLast: 2 }, options(world));
    assert.deepEqual(report.removedStaleLocks, [dead.id]);
    assert.ok(!(await world.keys()).some((key) => key.startsWith(locksPrefix(repo))));
  });

  it('skips objects and manifests under Object Lock, keeping what a locked manifest names', async () => {
    const world = new World();
    const s = await fiveDays(world, { lockGarbage: true, lockFirstManifest: true });
    const report = await prune(world.store, repo, { keepLast: 2 }, options(world));
    assert.deepEqual(report.lockedSnapshots, [sid(0)]);
    assert.deepEqual(report.forgottenSnapshots, [sid(1), sid(2)]);
    assert.deepEqual(report.lockedObjects, [s.garbage.key]);
    assert.ok(await world.store.stat(snapshotKey(repo, sid(0))));
    assert.ok(await world.store.stat(s.f0.key), 'F0 is still named by the locked manifest');
    assert.ok(await world.store.stat(s.garbage.key));
    assert.deepEqual(report.deletedObjects.map((object) => object.key).sort(), [s.i1.key, s.i2.key, s.oldStaging].sort());
    assert.equal(report.referencedObjects, 3);
  });

  it("keeps a live pending backup's objects and its base snapshot; removes a dead one and its objects", async () => {
    const world = new World();
    const s = await fiveDays(world);
    world.at(2 * DAY + HOUR);
    const orphan = bundle(await world.object('bundle of a backup that died'), 'incremental', '20260603T010000Z-dead00');
    await world.pending('20260603T010000Z-dead00', sid(2), [orphan]);
    world.at(4 * DAY);
    const resumable = bundle(await world.object('first bundle of a long backup'), 'incremental', '20260605T000000Z-beef00');
    world.at(5 * DAY - 20 * MINUTE);
    await world.pending('20260605T000000Z-beef00', sid(2), [resumable]);
    world.at(5 * DAY);

    const report = await prune(world.store, repo, { keepLast: 2 }, options(world));
    assert.deepEqual(report.keptSnapshots, [
      { id: sid(2), reasons: ['pending-base'] },
      { id: sid(3), reasons: ['last'] },
      { id: sid(4), reasons: ['newest', 'last'] },
    ]);
    assert.deepEqual(report.removedPending, ['20260603T010000Z-dead00']);
    assert.ok(await world.store.stat(resumable.key), 'written a day ago, but a live backup names it');
    assert.ok(await world.store.stat(pendingKey(repo, '20260605T000000Z-beef00')));
    assert.equal(await world.store.stat(pendingKey(repo, '20260603T010000Z-dead00')), undefined);
    assert.deepEqual(report.deletedObjects.map((object) => object.key).sort(), [orphan.key, s.garbage.key, s.oldStaging].sort());
  });

  for (const [label, bytes, code] of [
    ['not JSON', '{"format": "lifeboat-snapsh', 'FORMAT_INVALID'],
    ['missing fields', JSON.stringify({ format: 'lifeboat-snapshot', version: 1, id: sid(5) }), 'FORMAT_INVALID'],
    ['from a newer format', JSON.stringify({ format: 'lifeboat-snapshot', version: 2, id: sid(5) }), 'FORMAT_UNSUPPORTED'],
  ] as const) {
    it(`stops before deleting anything on a manifest ${label}`, async () => {
      const world = new World();
      await fiveDays(world);
      await world.store.put(snapshotKey(repo, sid(5)), Buffer.from(bytes));
      const before = await world.keys();
      await assert.rejects(
        prune(world.store, repo, { keepLast: 1 }, options(world)),
        (error) => isLifeboatError(error, code) && /Prune stopped before deleting anything/.test(error.message),
      );
      assert.deepEqual(await world.keys(), before, 'nothing deleted, and the lock released');
    });
  }

  it('stops before deleting anything on an unreadable pending record', async () => {
    const world = new World();
    await fiveDays(world);
    await world.store.put(pendingKey(repo, sid(5)), Buffer.from('not json'));
    const before = await world.keys();
    await assert.rejects(prune(world.store, repo, { keepLast: 1 }, options(world)), (error) => isLifeboatError(error, 'FORMAT_INVALID'));
    assert.deepEqual(await world.keys(), before);
  });

  it('with no rule (unlimited) keeps every snapshot and deletes only garbage', async () => {
    const world = new World();
    const s = await fiveDays(world);
    const report = await prune(world.store, repo, {}, options(world));
    assert.deepEqual(report.keptSnapshots.map((entry) => entry.id), [0, 1, 2, 3, 4].map(sid));
    assert.ok(report.keptSnapshots.every((entry) => entry.reasons.includes('unlimited')));
    assert.deepEqual(report.forgottenSnapshots, []);
    assert.deepEqual(report.deletedObjects.map((object) => object.key).sort(), [s.garbage.key, s.oldStaging].sort());
    assert.equal(report.referencedObjects, 5);
  });

  it('honours the grace period it is given', async () => {
    const world = new World();
    const s = await fiveDays(world);
    const report = await prune(world.store, repo, {}, options(world, { graceMs: 5 * MINUTE, dryRun: true }));
    assert.deepEqual(report.deletedObjects.map((object) => object.key).sort(), [s.garbage.key, s.oldStaging, s.young.key, s.youngStaging].sort());
  });

  it('aborts incomplete uploads older than the grace period, sparing younger ones and other repositories; a dry run only reports them', async () => {
    const world = new World();
    const other: RepoPath = { workspace: 'acme', repository: 'other' };
    const killed = await world.interruptedUpload(stagingKey(repo, 'killed-backup'));
    const othersKilled = await world.interruptedUpload(stagingKey(other, 'killed-backup'));
    world.at(2 * HOUR - 10 * MINUTE);
    const running = await world.interruptedUpload(stagingKey(repo, 'recent-backup'));
    world.at(2 * HOUR);

    const aborts: string[] = [];
    const watched: BlobStore = { ...bind(world.store), abortIncompleteUpload: (upload) => { aborts.push(upload.key); return world.store.abortIncompleteUpload(upload); } };
    const dry = await prune(watched, repo, {}, options(world, { dryRun: true }));
    assert.deepEqual(aborts, []);
    const expected = [{ key: stagingKey(repo, 'killed-backup'), initiated: new Date(START).toISOString() }];
    assert.deepEqual(dry.abortedUploads, expected);
    assert.equal(dry.uploadsChecked, true);

    const real = await prune(watched, repo, {}, options(world));
    assert.deepEqual(real.abortedUploads, expected);
    assert.deepEqual(aborts, [stagingKey(repo, 'killed-backup')]);
    assert.deepEqual((await world.store.listIncompleteUploads('')).map((upload) => upload.key).sort(), [stagingKey(other, 'killed-backup'), stagingKey(repo, 'recent-backup')].sort());
    // Had the killed backup's process lived on, its put would now fail and publish nothing.
    assert.ok(isLifeboatError(await killed.finish(), 'BUCKET_ERROR'));
    assert.equal(await world.store.stat(stagingKey(repo, 'killed-backup')), undefined);
    assert.equal(await running.finish(), 'completed');
    assert.equal(await othersKilled.finish(), 'completed');
  });

  it('says so when the bucket cannot list incomplete uploads, and prunes the rest', async () => {
    const world = new World();
    const s = await fiveDays(world);
    const blind: BlobStore = { ...bind(world.store), listIncompleteUploads: async () => undefined };
    const report = await prune(blind, repo, {}, options(world));
    assert.equal(report.uploadsChecked, false);
    assert.deepEqual(report.abortedUploads, []);
    assert.deepEqual(report.deletedObjects.map((object) => object.key).sort(), [s.garbage.key, s.oldStaging].sort());
  });

  it('refuses a bad policy or duration before touching the bucket', async () => {
    const world = new World();
    await fiveDays(world);
    const before = await world.keys();
    await assert.rejects(prune(world.store, repo, { keepDaily: -1 }, options(world)), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    await assert.rejects(prune(world.store, repo, {}, options(world, { graceMs: -1 })), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
    assert.deepEqual(await world.keys(), before);
  });
});

describe('pruneAll', () => {
  it('prunes every repository with keys, reports the ones it could not, and cleans a repository without snapshots', async () => {
    const world = new World();
    const s = await fiveDays(world);
    const busy: RepoPath = { workspace: 'acme', repository: 'busy' };
    const unfinished: RepoPath = { workspace: 'other', repository: 'first-backup-died' };
    world.at(DAY);
    const orphan = await world.object('orphan', { target: unfinished });
    world.at(5 * DAY - 10 * MINUTE);
    await world.object('busy bundle', { target: busy });
    await acquireLock(world.store, busy, 'shared', { owner: 'backup of busy', now: world.now });
    world.at(5 * DAY);

    assert.deepEqual(await listRepositories(world.store), [repo, busy, unfinished]);
    const result = await pruneAll(world.store, { keepLast: 2 }, options(world));
    assert.deepEqual(result.reports.map((report: PruneReport) => report.repo), [repo, unfinished]);
    assert.deepEqual(result.failures.map((failure) => [failure.repo, failure.error.code]), [[busy, 'LOCKED']]);
    assert.deepEqual(result.reports[1]?.deletedObjects, [{ key: orphan.key, size: orphan.size }]);
    assert.equal(await world.store.stat(s.f0.key), undefined);
  });

  it('refuses a bad policy once, up front', async () => {
    const world = new World();
    await fiveDays(world);
    await assert.rejects(pruneAll(world.store, { keepWeekly: 0.5 }, options(world)), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'));
  });
});
