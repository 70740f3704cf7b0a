/**
 * `lifeboat config`: a snapshot's repository configuration read offline through the
 * command line (a child process and a real S3 server), from snapshots the engine
 * wrote with the real configuration collector against the seeded Bitbucket emulator.
 * Every section in words, never a secret; --json the documents as stored; --section;
 * an encrypted snapshot needs the identity; a snapshot without configuration says where to look.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestEmulator, WORKSPACE_TOKEN_AUTH, type TestEmulator } from '../sandbox/bitbucket/test-support.js';
import { DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN } from '../sandbox/demo.js';
import { BitbucketClient } from '../src/bitbucket/client.js';
import { configurationCollector } from '../src/bitbucket/configuration.js';
import { backup, newSnapshotId } from '../src/engine/backup.js';
import { snapshotKey } from '../src/engine/bucket/bucket-keys.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import { readMarker } from '../src/engine/bucket/marker.js';
import { type ConfigurationDocument, readEntryDocument, readMetadataIndex } from '../src/engine/bucket/metadata.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { type SnapshotManifest, serializeDocument } from '../src/engine/bucket/format.js';
import { CONFIGURATION_SECTIONS } from '../src/engine/configuration-views.js';
import { createGitClient } from '../src/engine/git/client.js';
import { type CliResult, runCli as runTestCli } from './helpers/cli.js';
import { startS3Server } from './helpers/s3.js';
import { TEST_SIGNER } from './helpers/signing.js';

// The seeded emulator's web-app: what its configuration holds (sandbox/bitbucket/seed.ts), and the secrets it never serves.
const WEBHOOK_URL = 'https://ci.example.com/hooks/bitbucket';
const SECRETS = ['demo-webhook-secret', 'demo-secured-deploy-token', 'demo-secured-db-password'];

let emulator: TestEmulator;
let s3: Awaited<ReturnType<typeof startS3Server>>;
let root: string;
let prefixes = 0;

const runCli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => runTestCli(args, { ...s3.env, ...env });

async function initialized(extra: string[] = []): Promise<{ url: string; store: BlobStore }> {
  const url = `s3://${s3.bucket}/config-${++prefixes}`;
  const init = await runCli(['init', '--bucket', url, ...extra]);
  assert.equal(init.code, 0, init.stderr);
  return { url, store: s3.makeStore(url.split('/').slice(3).join('/')) };
}

const client = (authorization: () => string): BitbucketClient =>
  new BitbucketClient((path, init) => fetch(new URL(path, emulator.url), { ...init, headers: { ...init?.headers, authorization: authorization() } }));

/** A backup of web-app into `store` as `repository`, with the configuration collector (`credential`: the token the app stores) or with none. */
async function backUp(store: BlobStore, repository: string, options: { configuration: boolean; credential?: string }): Promise<SnapshotManifest> {
  const marker = await readMarker(store);
  const clients = { app: client(() => emulator.forgeAppAuthorization()), credential: client(() => options.credential ?? WORKSPACE_TOKEN_AUTH) };
  const result = await backup({
    store, repo: { workspace: 'acme', repository }, trigger: 'cli', ...TEST_SIGNER, encryption: marker.encryption, objectLock: null,
    git: createGitClient({ url: emulator.gitUrl(DEMO_WORKSPACE.slug, 'web-app'), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } }),
    metadata: options.configuration ? [configurationCollector({ clients, address: { workspace: DEMO_WORKSPACE.slug, repository: 'web-app' }, credential: 'access-token' })] : [],
  });
  assert.equal(result.status, 'created');
  return (result as { snapshot: SnapshotManifest }).snapshot;
}

/** The stored documents by section, read as the engine reads them. */
async function storedDocuments(store: BlobStore, manifest: SnapshotManifest, identities?: string[]): Promise<Record<string, ConfigurationDocument>> {
  const index = await readMetadataIndex(store, manifest);
  const found: Record<string, ConfigurationDocument> = {};
  for (const entry of index?.configuration ?? []) found[entry.section] = await readEntryDocument(store, manifest, entry, identities);
  return found;
}

function oneLineError(result: CliResult, code: string): void {
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, new RegExp(`(^|\\n)lifeboat: error \\[${code}\\]: [^\\n]+\\n$`));
}

interface ConfigJson {
  snapshot: string;
  sections: Record<string, ConfigurationDocument>;
  unreadable: Array<{ section: string; item: string; reason: string }>;
  missing: Array<{ section: string }>;
  problems: Array<{ section: string; subject?: string; code: string }>;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-cli-config-'));
  emulator = await startTestEmulator({ rateLimitPerHour: 100_000 });
  s3 = await startS3Server();
});

after(async () => {
  await emulator?.dispose();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('lifeboat config', () => {
  it('prints every section in words and never a secret; --json is the documents as stored; --section filters', async () => {
    const { url, store } = await initialized();
    const manifest = await backUp(store, 'web', { configuration: true });

    const shown = await runCli(['config', 'latest', '--repo', 'acme/web', '--bucket', url]);
    assert.equal(shown.code, 0, shown.stderr);
    const text = shown.stdout;
    assert.match(text, new RegExp(`^Configuration of snapshot ${manifest.id} \\(acme/web\\)\\n`));
    for (const section of CONFIGURATION_SECTIONS) assert.match(text, new RegExp(`^${section} \\(read [^)]+\\)$`, 'm'), `section ${section}:\n${text}`);
    const line = (pattern: RegExp): void => assert.match(text, pattern, text);
    line(/^ {2}Name: Web App$/m);
    line(/^ {2}Main branch: main$/m);
    line(/^ {2}push on main \(exempt: Alice Admin, Bob Maintainer\)$/m);
    line(/^ {2}delete on release branches$/m);
    line(/^ {2}Production: the main branch$/m);
    line(/^ {2}hotfix: hotfix\/ \(off\)$/m);
    line(new RegExp(`^ {2}${WEBHOOK_URL.replace(/[./]/g, '\\$&')} {2}active {2}"CI builds" {2}events: repo:push, pullrequest:created, pullrequest:updated, pullrequest:fulfilled {2}secret set \\(not in the snapshot\\)$`, 'm'));
    // The fingerprint `ssh-keygen -l` prints for the seeded key.
    line(/^ {2}Production deploy {2}ssh-ed25519 SHA256:gNSIRW\+2Iyiuvsdp\/bgjy38bvWHw6wQm3tuoXrl3WjQ {2}deploy@web-app$/m);
    line(/^ {2}Bob Maintainer: admin$/m);
    line(/^group-permissions \(read [^)]+\)\n {2}none$/m);
    line(/^ {2}Pipelines: enabled$/m);
    line(/^ {2}DEPLOY_ENV$/m);
    line(/^ {2}DEPLOY_TOKEN \(secured\)$/m);
    line(/^ {2}Production: API_URL, DB_PASSWORD \(secured\)$/m);
    line(/^Not in the snapshot \(Bitbucket never returns them\):\n {2}webhooks: secret of webhook https:\/\/ci\.example\.com\/hooks\/bitbucket: /m);
    line(/^ {2}environments: Production\/DB_PASSWORD: secured: /m);
    assert.doesNotMatch(text, /Problems the backup met/, 'the backup read every section');
    // Neither a secret (none is stored) nor a variable's value is printed.
    for (const secret of [...SECRETS, 'staging', 'https://staging.example.com']) assert.ok(!text.includes(secret), `${secret} is not printed`);

    const json = await runCli(['config', manifest.id, '--repo', 'acme/web', '--bucket', url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as ConfigJson;
    assert.deepEqual(parsed.sections, await storedDocuments(store, manifest), 'the documents as stored');
    assert.deepEqual(Object.keys(parsed.sections), [...CONFIGURATION_SECTIONS]);
    assert.deepEqual(parsed.unreadable.map((item) => `${item.section}: ${item.item}`), [`webhooks: secret of webhook ${WEBHOOK_URL}`, 'pipeline-variables: DEPLOY_TOKEN', 'environments: Production/DB_PASSWORD']);
    assert.deepEqual([parsed.snapshot, parsed.missing, parsed.problems], [manifest.id, [], []]);
    for (const secret of SECRETS) assert.ok(!json.stdout.includes(secret), secret);

    const hooks = await runCli(['config', manifest.id, '--bucket', url, '--section', 'webhooks', '--section', 'deploy-keys', '--json']);
    assert.equal(hooks.code, 0, hooks.stderr);
    const filtered = JSON.parse(hooks.stdout) as ConfigJson;
    assert.deepEqual(Object.keys(filtered.sections), ['webhooks', 'deploy-keys']);
    assert.deepEqual(filtered.unreadable.map((item) => item.section), ['webhooks']);
    const hooksText = await runCli(['config', manifest.id, '--bucket', url, '--section', 'webhooks']);
    assert.deepEqual(hooksText.stdout.split('\n').filter((row) => /^\S/.test(row)).map((row) => row.replace(/ \(read .*\)$/, '')),
      [`Configuration of snapshot ${manifest.id} (acme/web)`, 'webhooks', 'Not in the snapshot (Bitbucket never returns them):']);
    const typo = await runCli(['config', manifest.id, '--bucket', url, '--section', 'webhook']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /no configuration section "webhook" \(did you mean webhooks\?\)/);
  });

  it('shows control characters in the stored text, never obeys them', async () => {
    const { url, store } = await initialized();
    const forged = 'Web\x1b]52;c;cm0gLXJmIH4=\x07 App\nForged: line \u202eevil';
    // The repository section as stored with a hostile name (the documents are Bitbucket's text, and the bucket anyone's who can write it).
    const marker = await readMarker(store);
    const result = await backup({
      store, repo: { workspace: 'acme', repository: 'web' }, trigger: 'cli', ...TEST_SIGNER, encryption: marker.encryption, objectLock: null,
      git: createGitClient({ url: emulator.gitUrl(DEMO_WORKSPACE.slug, 'web-app'), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } }),
      metadata: [{
        section: 'configuration',
        async collect(context) {
          const document: ConfigurationDocument = { format: 'lifeboat-configuration', version: 1, fetchedAt: context.now().toISOString(), section: 'repository', data: { name: forged, mainbranch: { name: 'main' } }, unreadable: [] };
          return { configuration: [{ section: 'repository', digest: 'a'.repeat(64), object: await context.writeDocument(document) }] };
        },
      }],
    });
    assert.equal(result.status, 'created');
    const shown = await runCli(['config', 'latest', '--repo', 'acme/web', '--bucket', url]);
    assert.equal(shown.code, 0, shown.stderr);
    // eslint-disable-next-line no-control-regex -- what must not reach the terminal
    assert.doesNotMatch(shown.stdout, /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
    assert.match(shown.stdout, /^ {2}Name: Web\\x1b\]52;c;cm0gLXJmIH4=\\x07 App\\nForged: line \\u202eevil$/m);
    assert.doesNotMatch(shown.stdout, /^Forged/m, 'no forged line');
  });

  it('an encrypted snapshot needs the identity; with it, the same documents', async () => {
    const key = await generateIdentity();
    const identityFile = join(root, 'config-identity.txt');
    writeFileSync(identityFile, `${key.identity}\n`);
    const { url, store } = await initialized(['--recipient', key.recipient]);
    const manifest = await backUp(store, 'web', { configuration: true });
    const locked = await runCli(['config', manifest.id, '--bucket', url]);
    oneLineError(locked, 'IDENTITY_REQUIRED');
    assert.match(locked.stderr, /pass --identity <file> or set LIFEBOAT_IDENTITY/);
    const opened = await runCli(['config', manifest.id, '--bucket', url, '--identity', identityFile, '--json']);
    assert.equal(opened.code, 0, opened.stderr);
    assert.deepEqual((JSON.parse(opened.stdout) as ConfigJson).sections, await storedDocuments(store, manifest, [key.identity]));
  });

  it('says which sections the backup could not read, with the index\'s problems', async () => {
    const { url, store } = await initialized();
    // A stored credential Bitbucket refuses: the sections only a token may read (webhooks, deploy keys) are problems.
    const manifest = await backUp(store, 'web', { configuration: true, credential: 'Bearer not-a-token' });
    const parsed = JSON.parse((await runCli(['config', manifest.id, '--bucket', url, '--json'])).stdout) as ConfigJson;
    assert.deepEqual(parsed.problems.map((problem) => problem.subject), ['webhooks', 'deploy-keys']);
    assert.deepEqual(parsed.missing.map((note) => note.section), ['webhooks', 'deploy-keys']);
    assert.ok(!('webhooks' in parsed.sections));
    const shown = await runCli(['config', manifest.id, '--bucket', url]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^webhooks\n {2}not held: the backup could not read it \(below\)$/m);
    assert.match(shown.stdout, new RegExp(`^Problems the backup met:\\n {2}\\[${parsed.problems[0]!.code}\\] webhooks: .+\\n {2}\\[${parsed.problems[1]!.code}\\] deploy-keys: `, 'm'));
  });

  it('a snapshot no trusted key signed is read only with --allow-unsigned', async () => {
    const { url, store } = await initialized();
    const manifest = await backUp(store, 'web', { configuration: true });
    // A copy of the real manifest under a later id, with no signature: what anyone who can write the bucket could plant.
    const planted = newSnapshotId(new Date(), manifest.id);
    await store.put(snapshotKey(manifest.repository, planted), serializeDocument({ ...manifest, id: planted }), { contentType: 'application/json' });
    const refused = await runCli(['config', planted, '--bucket', url]);
    oneLineError(refused, 'SNAPSHOT_UNSIGNED');
    assert.match(refused.stderr, /config and attachments read it with --allow-unsigned/);
    const read = await runCli(['config', planted, '--bucket', url, '--allow-unsigned', '--section', 'webhooks']);
    assert.equal(read.code, 0, read.stderr);
    assert.match(read.stderr, new RegExp(`snapshot ${planted} is not signed by a trusted key`));
    assert.match(read.stdout, /^ {2}https:\/\/ci\.example\.com\/hooks\/bitbucket {2}active/m);
  });

  it('a snapshot without configuration: METADATA_NOT_FOUND, and where to look', async () => {
    const { url, store } = await initialized();
    const manifest = await backUp(store, 'plain', { configuration: false });
    const result = await runCli(['config', manifest.id, '--bucket', url]);
    oneLineError(result, 'METADATA_NOT_FOUND');
    assert.match(result.stderr, new RegExp(`Snapshot ${manifest.id} holds no repository configuration: .* — \`lifeboat log --repo acme/plain\` lists its snapshots, \`lifeboat show <snapshot>\` the configuration each holds\\n$`));
  });
});
