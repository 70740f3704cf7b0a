/**
 * The metadata mechanism every collector goes through (src/engine/metadata.ts,
 * src/engine/bucket/metadata.ts): a snapshot names one plain index; unchanged
 * refs and unchanged metadata make no snapshot; changed metadata alone does;
 * a collector's transient failure leaves its section as it was and marks the
 * snapshot partial; prune keeps what any kept index names.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backup } from '../src/engine/backup.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import { initBucket } from '../src/engine/bucket/marker.js';
import { MemoryBlobStore } from '../src/engine/bucket/memory-store.js';
import { type MetadataIndex, configurationDocumentSchema, nextIndex, readMetadataDocument, readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { prune } from '../src/engine/bucket/prune.js';
import { LifeboatError } from '../src/engine/errors.js';
import { createGitClient } from '../src/engine/git/client.js';
import type { MetadataCollector } from '../src/engine/metadata.js';
import { addCommit, buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { git } from './helpers/repos.js';
import { TEST_SIGNER } from './helpers/signing.js';

let root: string;
let server: Awaited<ReturnType<typeof startGitServer>>;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-metadata-'));
  server = await startGitServer({ root: join(root, 'served') });
});

after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const repo = { workspace: 'ws', repository: 'repo' };

/** A configuration collector over a value the test changes. */
function configuration(read: () => unknown): MetadataCollector {
  return {
    section: 'configuration',
    async collect(context) {
      const data = read();
      const digest = context.digest(data);
      const known = context.previous?.configuration?.find((entry) => entry.section === 'repository');
      if (known?.digest === digest) return { configuration: context.previous?.configuration ?? [] };
      return { configuration: [{ section: 'repository', digest, object: await context.writeDocument({ format: 'lifeboat-configuration', version: 1, fetchedAt: context.now().toISOString(), section: 'repository', data, unreadable: [] }) }] };
    },
  };
}

describe('metadata in snapshots', () => {
  it('names one plain index; only changed metadata or refs make a new snapshot; prune keeps what is named', async () => {
    const work = join(root, 'work');
    buildRichWorkRepo(work);
    const bare = join(root, 'served', 'repo.git');
    git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
    const store = new MemoryBlobStore();
    const { identity, recipient } = await generateIdentity();
    const encryption = { scheme: 'age' as const, recipients: [recipient] };
    await initBucket(store, { recipients: [recipient] });
    let description = 'first';
    const run = (collectors: MetadataCollector[]) => backup({
      store, repo, git: createGitClient({ url: server.url('repo.git') }), trigger: 'cli', ...TEST_SIGNER, encryption, objectLock: null, metadata: collectors,
    });

    const first = await run([configuration(() => ({ description }))]);
    assert.equal(first.status, 'created');
    assert.ok(first.status === 'created' && first.snapshot.metadata, 'the manifest names an index');
    assert.equal(first.snapshot.metadata.index.encrypted, false, 'the index is plain');
    assert.equal(first.snapshot.metadata.partial, false);
    const index = await readMetadataIndex(store, first.snapshot);
    const entry = index?.configuration?.[0];
    assert.ok(entry?.object.encrypted, 'the configuration document is encrypted like the bundles');
    assert.deepEqual((await readMetadataDocument(store, first.snapshot, entry.object, [identity], configurationDocumentSchema)).data, { description: 'first' });
    await assert.rejects(readMetadataDocument(store, first.snapshot, entry.object, undefined, configurationDocumentSchema), (error: unknown) => error instanceof LifeboatError && error.code === 'IDENTITY_REQUIRED');

    const same = await run([configuration(() => ({ description }))]);
    assert.equal(same.status, 'unchanged', 'same refs, same metadata: no snapshot');

    description = 'second';
    const metadataOnly = await run([configuration(() => ({ description }))]);
    assert.equal(metadataOnly.status, 'created', 'changed metadata alone makes a snapshot');
    assert.ok(metadataOnly.status === 'created');
    assert.deepEqual(metadataOnly.snapshot.bundles, first.snapshot.bundles, 'with the same bundles');

    const failing: MetadataCollector = { section: 'configuration', collect: () => Promise.reject(new LifeboatError('BITBUCKET_RATE_LIMITED', 'Rate limited.')) };
    addCommit(work, 'more');
    git(work, ['push', '--quiet', bare, 'HEAD:refs/heads/main']);
    const interrupted = await run([failing]);
    assert.ok(interrupted.status === 'created' && interrupted.snapshot.metadata);
    assert.equal(interrupted.snapshot.metadata.partial, true, 'a transient failure marks the snapshot partial');
    const carried = await readMetadataIndex(store, interrupted.snapshot);
    assert.equal(carried?.configuration?.[0]?.digest, (await readMetadataIndex(store, metadataOnly.snapshot))?.configuration?.[0]?.digest, 'the section is carried forward');
    assert.deepEqual(carried?.problems.map((problem) => problem.code), ['BITBUCKET_RATE_LIMITED']);

    const withoutCollectors = await backup({ store, repo, git: createGitClient({ url: server.url('repo.git') }), trigger: 'cli', ...TEST_SIGNER, encryption, objectLock: null });
    assert.equal(withoutCollectors.status, 'unchanged');

    // Keep only the newest: the first snapshot's configuration object is no longer named; the second's is.
    const report = await prune(store, repo, { keepLast: 1 }, { owner: 'test', graceMs: 0 });
    assert.equal(report.forgottenSnapshots.length, 2);
    const kept = (await readMetadataIndex(store, interrupted.snapshot))!;
    assert.ok(await store.stat(kept.configuration![0]!.object.key), 'an object the kept index names survives');
    assert.ok(await store.stat(interrupted.snapshot.metadata.index.key), 'so does the index');
    assert.equal(await store.stat(entry.object.key), undefined, 'an object only a forgotten snapshot named is deleted');
  });
});

describe('metadata when the encryption changes', () => {
  it('encrypts plain objects anew, and leaves out what another recipient encrypted for the collectors to fetch again', async () => {
    const bare = join(root, 'served', 'changing.git');
    const work = join(root, 'work-changing');
    buildRichWorkRepo(work);
    git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
    const store = new MemoryBlobStore();
    await initBucket(store, {});
    const run = (encryption: { scheme: 'age'; recipients: string[] } | null, collectors: MetadataCollector[]) => backup({
      store, repo, git: createGitClient({ url: server.url('changing.git') }), trigger: 'cli', ...TEST_SIGNER, encryption, objectLock: null, metadata: collectors,
    });
    const settings = () => ({ description: 'same' });

    const plain = await run(null, [configuration(settings)]);
    assert.ok(plain.status === 'created' && plain.snapshot.metadata);
    const plainEntry = (await readMetadataIndex(store, plain.snapshot))!.configuration![0]!;
    assert.equal(plainEntry.object.encrypted, false);

    const alice = await generateIdentity();
    // Without collectors: what the next snapshot names of the configuration is the previous one's, carried forward.
    const toAlice = await run({ scheme: 'age', recipients: [alice.recipient] }, []);
    assert.ok(toAlice.status === 'created');
    const aliceEntry = (await readMetadataIndex(store, toAlice.snapshot))!.configuration![0]!;
    assert.notEqual(aliceEntry.digest, plainEntry.digest, 'carried forward without its plain digest (an encrypted snapshot keys its digests)…');
    assert.ok(aliceEntry.object.encrypted && aliceEntry.object.key !== plainEntry.object.key, '…and encrypted anew, as the snapshot is');
    assert.deepEqual((await readMetadataDocument(store, toAlice.snapshot, aliceEntry.object, [alice.identity], configurationDocumentSchema)).data, { description: 'same' });

    const bob = await generateIdentity();
    const toBobWithout = await run({ scheme: 'age', recipients: [bob.recipient] }, []);
    assert.ok(toBobWithout.status === 'created');
    assert.equal((await readMetadataIndex(store, toBobWithout.snapshot))?.configuration, undefined, 'what only Alice can read is not named by a snapshot encrypted to Bob');

    addCommit(work, 'for bob');
    git(work, ['push', '--quiet', bare, 'HEAD:refs/heads/main']);
    const toBob = await run({ scheme: 'age', recipients: [bob.recipient] }, [configuration(settings)]);
    assert.ok(toBob.status === 'created');
    const bobEntry = (await readMetadataIndex(store, toBob.snapshot))!.configuration![0]!;
    assert.deepEqual((await readMetadataDocument(store, toBob.snapshot, bobEntry.object, [bob.identity], configurationDocumentSchema)).data, { description: 'same' }, 'fetched again, for Bob');
  });
});

describe('metadata problems across backups', () => {
  it('a section failing backup after backup is one problem, with when it was first and last seen', async () => {
    const work = join(root, 'work-problems');
    buildRichWorkRepo(work);
    const bare = join(root, 'served', 'problems.git');
    git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
    const store = new MemoryBlobStore();
    await initBucket(store, {});
    let clock = Date.parse('2026-12-01T01:00:00Z');
    const run = (collectors: MetadataCollector[]) => backup({
      store, repo, git: createGitClient({ url: server.url('problems.git') }), trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null, metadata: collectors, now: () => new Date(clock),
    });
    const failing: MetadataCollector = { section: 'configuration', collect: () => Promise.reject(new LifeboatError('BITBUCKET_FORBIDDEN', 'The credential may not read the configuration.')) };
    const times: string[] = [];
    let newest;
    for (let day = 0; day < 4; day += 1) {
      clock += 24 * 3600_000;
      times.push(new Date(clock).toISOString());
      addCommit(work, `day ${day}`);
      git(work, ['push', '--quiet', bare, 'HEAD:refs/heads/main']);
      const result = await run([failing]);
      assert.equal(result.status, 'created');
      assert.ok(result.status === 'created');
      newest = result.snapshot;
    }
    const index = await readMetadataIndex(store, newest!);
    assert.deepEqual(index?.problems, [{ section: 'configuration', code: 'BITBUCKET_FORBIDDEN', message: 'The credential may not read the configuration.', firstSeen: times[0], lastSeen: times[3] }]);
    // Met again with nothing else changed: the same problem is no reason for a snapshot.
    clock += 24 * 3600_000;
    assert.equal((await run([failing])).status, 'unchanged');
  });
  it('keeps firstSeen of a problem its section meets again when collected, and folds copies an older Lifeboat piled up into one', () => {
    const problem = { section: 'configuration' as const, subject: 'webhooks', code: 'BITBUCKET_FORBIDDEN', message: 'No access to webhooks.' };
    const piled: MetadataIndex = { format: 'lifeboat-metadata', version: 1, createdAt: '2026-12-01T00:00:00.000Z', configuration: [], problems: [problem, problem, problem, { ...problem, subject: 'deploy-keys' }] };
    // The section is collected (a partial read) and meets the webhooks problem again: one entry, first seen by the piled index's time.
    const { index } = nextIndex(piled, { configuration: [], problems: [{ ...problem, message: 'Still no access to webhooks.' }] }, '2026-12-02T00:00:00.000Z');
    assert.deepEqual(index.problems, [{ ...problem, message: 'Still no access to webhooks.', firstSeen: '2026-12-01T00:00:00.000Z', lastSeen: '2026-12-02T00:00:00.000Z' }]);
    const { index: later, changed } = nextIndex(index, { configuration: [], problems: [problem] }, '2026-12-03T00:00:00.000Z');
    assert.deepEqual(later.problems, [{ ...problem, firstSeen: '2026-12-01T00:00:00.000Z', lastSeen: '2026-12-03T00:00:00.000Z' }]);
    assert.equal(changed, true, 'its message changed');
    // Not collected now: carried forward as one entry, its dates as they were.
    assert.deepEqual(nextIndex(piled, { problems: [] }, '2026-12-02T00:00:00.000Z').index.problems, [problem, { ...problem, subject: 'deploy-keys' }]);
  });
});
