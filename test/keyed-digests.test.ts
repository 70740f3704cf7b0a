// Keyed digests (docs/bucket-format.md, "Metadata"): the metadata index is never
// encrypted, so an encrypted snapshot's index must not carry plain SHA-256 digests
// of its documents, which anyone reading the bucket could confirm a guess against
// (a branching model is one of a few). Backups with the real collectors against the
// seeded emulator: an encrypted snapshot's digests are keyed by the writer's signing
// key and still detect change; another key stores the documents once again and
// settles; plain snapshots keep plain SHA-256, and none is carried into an
// encrypted snapshot.
import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { BitbucketClient } from '../src/bitbucket/client.js';
import { CONFIGURATION_SECTIONS, configurationCollector, readSection, sectionDigest } from '../src/bitbucket/configuration.js';
import { pullRequestCollector } from '../src/bitbucket/pull-request-collector.js';
import { type BackupResult, backup } from '../src/engine/backup.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { objectsPrefix } from '../src/engine/bucket/bucket-keys.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import type { EncryptionConfig, SnapshotManifest } from '../src/engine/bucket/format.js';
import { initBucket } from '../src/engine/bucket/marker.js';
import { MemoryBlobStore } from '../src/engine/bucket/memory-store.js';
import { type MetadataIndex, digestOf, readEntryDocument, readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { type SigningKey, type Trust, generateSigningKey } from '../src/engine/bucket/signing.js';
import { createGitClient } from '../src/engine/git/client.js';
import { collect } from '../src/engine/streams.js';
import { startTestEmulator, WORKSPACE_TOKEN_AUTH, type TestEmulator } from '../sandbox/bitbucket/test-support.js';
import { DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN } from '../sandbox/demo.js';
import { TEST_SIGNER, TEST_SIGNING_KEY } from './helpers/signing.js';

const repo = { workspace: 'ws', repository: 'web-app' };
const address = { workspace: DEMO_WORKSPACE.slug, repository: 'web-app' };
type Committed = Exclude<BackupResult, { status: 'partial' }>;

describe('metadata digests', () => {
  let emulator: TestEmulator;
  let repositoryUuid: string;
  let clients: { app: BitbucketClient; credential: BitbucketClient };

  before(async () => {
    emulator = await startTestEmulator({ rateLimitPerHour: 100_000 });
    const repository = emulator.state().repositories.find((candidate) => candidate.slug === 'web-app');
    assert.ok(repository);
    repositoryUuid = repository.uuid;
    const client = (authorization: () => string): BitbucketClient => new BitbucketClient((path, init) => fetch(new URL(path, emulator.url), { ...init, headers: { ...init?.headers, authorization: authorization() } }));
    clients = { app: client(() => emulator.forgeAppAuthorization()), credential: client(() => WORKSPACE_TOKEN_AUTH) };
  });
  after(async () => {
    await emulator?.dispose();
  });

  const newBucket = async (): Promise<BlobStore> => {
    const store = new MemoryBlobStore();
    await initBucket(store, {});
    return store;
  };
  const run = async (store: BlobStore, encryption: EncryptionConfig | null, signer: { signingKey: SigningKey; trust: Trust } = TEST_SIGNER): Promise<Committed> => {
    const result = await backup({
      store,
      repo,
      git: createGitClient({ url: emulator.gitUrl(DEMO_WORKSPACE.slug, 'web-app'), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } }),
      trigger: 'cli',
      ...signer,
      encryption,
      objectLock: null,
      metadata: [
        configurationCollector({ clients, address, credential: 'access-token' }),
        pullRequestCollector({ client: clients.app, workspaceUuid: DEMO_WORKSPACE.uuid, repositoryUuid, marks: { pending: () => Promise.resolve([]) } }),
      ],
    });
    assert.notEqual(result.status, 'partial');
    return result as Committed;
  };
  const indexOf = async (store: BlobStore, manifest: SnapshotManifest): Promise<{ index: MetadataIndex; text: string }> => {
    assert.ok(manifest.metadata, 'the snapshot names a metadata index');
    const index = await readMetadataIndex(store, manifest);
    assert.ok(index?.configuration && index.pullRequests);
    // The index as anyone reading the bucket sees it (never encrypted).
    return { index, text: gunzipSync(await collect(await store.get(manifest.metadata.index.key))).toString('utf8') };
  };
  /** SHA-256 of each document as the collectors compare it: what a reader of the bucket computes of a guess. */
  const plainDigests = async (store: BlobStore, manifest: SnapshotManifest, index: MetadataIndex, identities?: string[]): Promise<Map<string, string>> => {
    const digests = new Map<string, string>();
    for (const entry of index.configuration ?? []) {
      const document = await readEntryDocument(store, manifest, entry, identities);
      digests.set(entry.section, sectionDigest(document, digestOf));
    }
    for (const entry of index.pullRequests?.items ?? []) {
      const document = await readEntryDocument(store, manifest, entry, identities);
      digests.set(`#${entry.id}`, digestOf({ ...document, fetchedAt: undefined }));
    }
    return digests;
  };
  const objectKeys = async (store: BlobStore): Promise<string[]> => {
    const keys: string[] = [];
    for await (const blob of store.list(objectsPrefix(repo))) keys.push(blob.key);
    return keys.sort();
  };
  /** Every digest an index records, configuration and pull requests. */
  const digestsIn = (index: MetadataIndex): string[] => [
    ...(index.configuration ?? []).map((entry) => entry.digest),
    ...(index.pullRequests?.items ?? []).flatMap((entry) => (entry.digest === undefined ? [] : [entry.digest])),
  ];

  it('an encrypted snapshot\'s index confirms no guess of a document, and still tells that nothing changed', async () => {
    const { identity, recipient } = await generateIdentity();
    const encryption = { scheme: 'age' as const, recipients: [recipient] };
    const store = await newBucket();
    const first = await run(store, encryption);
    assert.equal(first.status, 'created');
    const { index, text } = await indexOf(store, first.snapshot);
    assert.equal(index.digestKey, TEST_SIGNING_KEY.fingerprint, 'the index names the key its digests are keyed by');
    assert.deepEqual(index.configuration?.map((entry) => entry.section), [...CONFIGURATION_SECTIONS]);
    assert.ok((index.pullRequests?.items.length ?? 0) > 0);

    // The attack: read the branching model as Bitbucket serves it (the right one among the guesses) and look for its digest.
    const truth = await readSection(clients, address, 'branching-model');
    assert.ok(!text.includes(sectionDigest(truth, digestOf)), 'the right guess of the branching model is not confirmed by the index');
    // Nor any other document's: every configuration section and every pull request.
    const plain = await plainDigests(store, first.snapshot, index, [identity]);
    assert.equal(plain.size, CONFIGURATION_SECTIONS.length + (index.pullRequests?.items.length ?? 0));
    for (const [item, digest] of plain) assert.ok(!text.includes(digest), `the SHA-256 of ${item} is nowhere in the index`);
    // The holder of the signing key computes it as the format says ("Digests"): HKDF of the private key, HMAC of the canonical JSON.
    const key = hkdfSync('sha256', Buffer.from(TEST_SIGNING_KEY.privateKey.export({ format: 'jwk' }).d!, 'base64url'), Buffer.alloc(0), 'lifeboat metadata digest v1', 32);
    const canonical = (value: unknown): string => JSON.stringify(value, (_key, item: unknown) => (item && typeof item === 'object' && !Array.isArray(item) ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : 1))) : item));
    const branchingModel = index.configuration?.find((entry) => entry.section === 'branching-model');
    assert.equal(branchingModel?.digest, createHmac('sha256', Buffer.from(key)).update(canonical({ data: truth.data, unreadable: truth.unreadable })).digest('hex'));

    // Change detection still works on the keyed digests: the same repository again stores nothing.
    const stored = await objectKeys(store);
    const again = await run(store, encryption);
    assert.equal(again.status, 'unchanged');
    assert.deepEqual(await objectKeys(store), stored, 'nothing new is stored');
  });

  it('another signing key stores the documents once again, then settles', async () => {
    const { recipient } = await generateIdentity();
    const encryption = { scheme: 'age' as const, recipients: [recipient] };
    const store = await newBucket();
    const first = await run(store, encryption);
    const before = await indexOf(store, first.snapshot);

    const rotated = generateSigningKey().key;
    // Trusting both keys: the snapshot the old key signed is the base.
    const signer = { signingKey: rotated, trust: { keys: [TEST_SIGNING_KEY.fingerprint, rotated.fingerprint], unsigned: 'refuse' as const } };
    const next = await run(store, encryption, signer);
    assert.equal(next.status, 'created', 'digests keyed by another key match nothing: the configuration is stored again');
    assert.ok(next.status === 'created');
    assert.deepEqual(next.snapshot.bundles, first.snapshot.bundles, 'with the same bundles');
    const after = await indexOf(store, next.snapshot);
    assert.equal(after.index.digestKey, rotated.fingerprint);
    for (const entry of after.index.configuration ?? []) {
      const old = before.index.configuration?.find((candidate) => candidate.section === entry.section);
      assert.notEqual(entry.object.key, old?.object.key, `${entry.section} is stored again`);
    }
    for (const digest of digestsIn(before.index)) assert.ok(!after.text.includes(digest), 'no digest keyed by the old key is carried');

    const stored = await objectKeys(store);
    const settled = await run(store, encryption, signer);
    assert.equal(settled.status, 'unchanged', 'once, then the new key\'s digests match');
    assert.deepEqual(await objectKeys(store), stored);
  });

  it('a plain snapshot keeps plain SHA-256 digests, and an encrypted one after it carries none of them', async () => {
    const store = await newBucket();
    const first = await run(store, null);
    const plain = await indexOf(store, first.snapshot);
    assert.equal(plain.index.digestKey, undefined, 'plain digests: no key named');
    const expected = await plainDigests(store, first.snapshot, plain.index);
    assert.deepEqual(plain.index.configuration?.map((entry) => entry.digest), plain.index.configuration?.map((entry) => expected.get(entry.section)));
    assert.deepEqual(plain.index.pullRequests?.items.map((entry) => entry.digest), plain.index.pullRequests?.items.map((entry) => expected.get(`#${entry.id}`)));

    const { recipient } = await generateIdentity();
    const encryption = { scheme: 'age' as const, recipients: [recipient] };
    const encrypted = await run(store, encryption);
    assert.equal(encrypted.status, 'created');
    const after = await indexOf(store, encrypted.snapshot);
    assert.equal(after.index.digestKey, TEST_SIGNING_KEY.fingerprint);
    for (const digest of digestsIn(plain.index)) assert.ok(!after.text.includes(digest), 'no plain digest is carried into the encrypted snapshot\'s index');

    const stored = await objectKeys(store);
    assert.equal((await run(store, encryption)).status, 'unchanged', 'and it settles');
    assert.deepEqual(await objectKeys(store), stored);
  });
});
