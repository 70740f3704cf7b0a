/**
 * Signed snapshots from the command line (issue 18): the key file that signs what
 * `lifeboat` writes, the pins it reads with, and what each command does with a
 * snapshot that is signed, altered, planted (not signed) or dated in the future.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { newSnapshotId } from '../src/engine/backup.js';
import { MARKER_KEY, signatureKey, snapshotKey } from '../src/engine/bucket/bucket-keys.js';
import { serializeDocument } from '../src/engine/bucket/format.js';
import { fingerprintOf, generateSigningKey, loadSigningKey, shortFingerprint, signManifest } from '../src/engine/bucket/signing.js';
import { collect } from '../src/engine/streams.js';
import { addCommit } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { git, refsOf } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';
import { TEST_SIGNING_KEY } from './helpers/signing.js';
import { type CliResult, runCli as runTestCli } from './helpers/cli.js';

let root: string;
let work: string;
let bare: string;
let server: Awaited<ReturnType<typeof startGitServer>>;
let s3: Awaited<ReturnType<typeof startS3Server>>;
let prefixes = 0;
const REPO = { workspace: 'acme', repository: 'signed' };
const TEST_KEY = TEST_SIGNING_KEY.fingerprint;

function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runTestCli(args, { ...s3.env, ...env });
}

async function cliJson<T>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const result = await runCli([...args, '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

/** A new prefix, initialised with the test key file (the helper's default). */
async function initialized(): Promise<{ bucketUrl: string; store: BlobStore }> {
  const prefix = `signing-${++prefixes}`;
  const bucketUrl = `s3://${s3.bucket}/${prefix}`;
  const init = await runCli(['init', '--bucket', bucketUrl]);
  assert.equal(init.code, 0, init.stderr);
  return { bucketUrl, store: s3.makeStore(prefix) };
}

async function backedUp(bucketUrl: string, env: Record<string, string> = {}, extra: string[] = []): Promise<string> {
  const { snapshot } = await cliJson<{ snapshot: string }>(['backup', server.url('signed.git'), '--repo', 'acme/signed', '--bucket', bucketUrl, ...extra], env);
  return snapshot;
}

async function readText(store: BlobStore, key: string): Promise<string> {
  return (await collect(await store.get(key))).toString('utf8');
}

async function keys(store: BlobStore): Promise<string[]> {
  const found: string[] = [];
  for await (const blob of store.list('')) found.push(blob.key);
  return found.sort();
}

function keyFile(name: string): string {
  return join(root, 'keys', name);
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern, 'g'))?.length ?? 0;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-cli-signing-'));
  mkdirSync(join(root, 'keys'));
  work = join(root, 'work');
  git(undefined, ['init', '--quiet', '--initial-branch=main', work]);
  addCommit(work, 'First');
  bare = join(root, 'served', 'signed.git');
  git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
  server = await startGitServer({ root: join(root, 'served') });
  s3 = await startS3Server();
});

after(async () => {
  await server?.close();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

function pushNewCommit(message: string): void {
  addCommit(work, message);
  git(work, ['push', '--quiet', bare, 'HEAD:refs/heads/main']);
}

describe('lifeboat keygen and init: the key that signs', () => {
  it('keygen writes a new Ed25519 key readable by its owner only, prints its fingerprint and never overwrites a file', async () => {
    const path = keyFile('keygen.key');
    const made = await cliJson<{ file: string; fingerprint: string; publicKey: string }>(['keygen', '--out', path]);
    const pem = readFileSync(path, 'utf8');
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(made.fingerprint, loadSigningKey(pem).fingerprint);
    assert.equal(made.fingerprint, fingerprintOf(made.publicKey));

    const again = await runCli(['keygen', '--out', path]);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /exists already: a signing key is never overwritten/);
    assert.equal(readFileSync(path, 'utf8'), pem, 'the key is as it was');

    const text = await runCli(['keygen', '--out', keyFile('keygen-text.key')]);
    assert.match(text.stdout, /Fingerprint: SHA256:[0-9a-f]{64}\n.*--trust <fingerprint>/);
  });

  it('init needs a key, creates the file when it does not exist and records the key in the marker', async () => {
    const bucketUrl = `s3://${s3.bucket}/signing-init`;
    const store = s3.makeStore('signing-init');
    const refused = await runCli(['init', '--bucket', bucketUrl], { LIFEBOAT_SIGNING_KEY: '' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /\[INVALID_ARGUMENT\].*--signing-key <file>/);
    assert.deepEqual(await keys(store), [], 'nothing written');

    const path = keyFile('init.key');
    const init = await cliJson<{ signingKey: { fingerprint: string; created: boolean } }>(['init', '--bucket', bucketUrl, '--signing-key', path]);
    assert.equal(init.signingKey.created, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const key = loadSigningKey(readFileSync(path, 'utf8'));
    assert.equal(init.signingKey.fingerprint, key.fingerprint);
    const marker = JSON.parse(await readText(store, MARKER_KEY)) as { signing: { keys: { fingerprint: string; publicKey: string; validUntil: string | null }[] } };
    assert.deepEqual(marker.signing.keys.map((entry) => [entry.fingerprint, entry.publicKey, entry.validUntil]), [[key.fingerprint, key.publicKeyPem, null]]);
  });
});

describe('lifeboat backup and attach: every write is signed', () => {
  it('without a key a backup is refused with a hint naming keygen, writing nothing', async () => {
    const { bucketUrl, store } = await initialized();
    const before = await keys(store);
    const refused = await runCli(['backup', server.url('signed.git'), '--repo', 'acme/signed', '--bucket', bucketUrl], { LIFEBOAT_SIGNING_KEY: '' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /backup signs what it writes: give --signing-key <file> or set LIFEBOAT_SIGNING_KEY \(create one with `lifeboat keygen --out <file>`\)/);
    const attach = await runCli(['attach', work, '--repo', 'acme/signed', '--bucket', bucketUrl], { LIFEBOAT_SIGNING_KEY: keyFile('missing.key') });
    assert.equal(attach.code, 1, attach.stderr);
    assert.match(attach.stderr, /\[SIGNING_KEY_INVALID\]: No signing key file .*missing\.key\. — .*lifeboat keygen --out <file>/);
    const notAKey = keyFile('not-a-key.pem');
    writeFileSync(notAKey, 'not a key\n');
    const garbage = await runCli(['backup', server.url('signed.git'), '--repo', 'acme/signed', '--bucket', bucketUrl], { LIFEBOAT_SIGNING_KEY: notAKey });
    assert.equal(garbage.code, 1, garbage.stderr);
    assert.match(garbage.stderr, /\[SIGNING_KEY_INVALID\]: .*not-a-key\.pem: The signing key is not a PEM private key\./);
    assert.deepEqual(await keys(store), before, 'nothing written');
  });

  it('a backup signs its manifest; listings say by which key, trusting the marker\'s keys (said once) or the pinned ones', async () => {
    const { bucketUrl, store } = await initialized();
    const id = await backedUp(bucketUrl);
    const signature = JSON.parse(await readText(store, signatureKey(REPO, id, TEST_KEY))) as { key: string; manifestSha256: string };
    assert.equal(signature.key, TEST_KEY);

    const listed = await runCli(['snapshots', '--bucket', bucketUrl]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${id} .*signed by ${escape(shortFingerprint(TEST_KEY))}`));
    assert.equal(count(listed.stderr, /no key pinned/), 1, listed.stderr);
    assert.ok(listed.stderr.includes(TEST_KEY), 'the trusted keys are named');

    // Pinned: nothing said; the variable takes several, comma or space separated, with or without "SHA256:".
    const other = generateSigningKey().key.fingerprint;
    const pinned = await runCli(['verify', id, '--bucket', bucketUrl], { LIFEBOAT_TRUST: `${other.replace('SHA256:', '')}, ${TEST_KEY}` });
    assert.equal(pinned.code, 0, pinned.stdout + pinned.stderr);
    assert.equal(pinned.stderr, '');
    assert.match(pinned.stdout, new RegExp(`^ok +${id} +signed by ${escape(shortFingerprint(TEST_KEY))}`));
    const shown = await cliJson<{ signedBy: string }>(['show', id, '--bucket', bucketUrl, '--trust', TEST_KEY]);
    assert.equal(shown.signedBy, TEST_KEY);

    const bad = await runCli(['snapshots', '--bucket', bucketUrl, '--trust', 'SHA256:abc']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\[SIGNING_KEY_INVALID\].*is not a key fingerprint.* — .*SHA256: and 64 hex digits/);

    // Another key, pinned alone: the snapshot is not signed by it; listed as such, refused for its data.
    const stranger = await runCli(['snapshots', '--bucket', bucketUrl, '--trust', other, '--json']);
    assert.deepEqual((JSON.parse(stranger.stdout) as { snapshots: { signedBy: string | null }[] }).snapshots.map((s) => s.signedBy), [null]);
    const restore = await runCli(['restore', id, '--to', join(root, 'stranger'), '--bucket', bucketUrl, '--trust', other]);
    assert.equal(restore.code, 1);
    assert.match(restore.stderr, /\[SNAPSHOT_UNSIGNED\].* — .*--allow-unsigned/);
  });

  it('an altered manifest is refused by every reader, --allow-unsigned or not, and fails verify', async () => {
    const { bucketUrl, store } = await initialized();
    const id = await backedUp(bucketUrl);
    const key = snapshotKey(REPO, id);
    const manifest = JSON.parse(await readText(store, key)) as { trigger: string };
    await store.put(key, serializeDocument({ ...manifest, trigger: 'manual' }), { contentType: 'application/json' });

    const verify = await runCli(['verify', '--all', '--bucket', bucketUrl, '--trust', TEST_KEY]);
    assert.equal(verify.code, 3, verify.stderr);
    assert.match(verify.stdout, new RegExp(`FAILED ${id}.*\\n.*SNAPSHOT_SIGNATURE_INVALID: .*changed after signing`));
    for (const args of [['restore', id, '--to', join(root, 'altered'), '--allow-unsigned'], ['download', id, '--out', join(root, 'altered-download')], ['show', id]]) {
      const result = await runCli([...args, '--bucket', bucketUrl]);
      assert.equal(result.code, 1, `${args[0]}: ${result.stdout}`);
      assert.match(result.stderr, /\[SNAPSHOT_SIGNATURE_INVALID\].* — the snapshot was changed after it was signed: do not restore it/);
    }
  });

  it('a planted (unsigned) snapshot is listed as not signed, fails verify, is read only with --allow-unsigned and is never built on', async () => {
    const { bucketUrl, store } = await initialized();
    const real = await backedUp(bucketUrl);
    const realManifest = JSON.parse(await readText(store, snapshotKey(REPO, real))) as { bundles: unknown[] };
    // Later than the real one, naming no refs and no bundles: a backup building on it would start a new chain.
    const planted = newSnapshotId(new Date(), real);
    await store.put(snapshotKey(REPO, planted), serializeDocument({ ...realManifest, id: planted, refs: [], bundles: [] }), { contentType: 'application/json' });

    const listed = await cliJson<{ snapshots: { id: string; signedBy: string | null }[] }>(['snapshots', '--bucket', bucketUrl]);
    assert.deepEqual(listed.snapshots.map((s) => [s.id, s.signedBy]), [[real, TEST_KEY], [planted, null]]);
    const text = await runCli(['snapshots', '--bucket', bucketUrl]);
    assert.match(text.stdout, new RegExp(`${planted} .*not signed`));

    const verify = await runCli(['verify', '--all', '--bucket', bucketUrl]);
    assert.equal(verify.code, 3);
    assert.match(verify.stdout, new RegExp(`FAILED ${planted}  not signed[\\s\\S]*SNAPSHOT_UNSIGNED: Not signed by a trusted key`));
    const accepted = await runCli(['verify', planted, '--bucket', bucketUrl, '--allow-unsigned']);
    assert.equal(accepted.code, 0, accepted.stdout);
    assert.match(accepted.stdout, new RegExp(`^ok +${planted}  not signed`));

    const refused = await runCli(['restore', planted, '--to', join(root, 'planted'), '--bucket', bucketUrl, '--trust', TEST_KEY]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\[SNAPSHOT_UNSIGNED\]/);
    const prs = await runCli(['prs', planted, '--bucket', bucketUrl]);
    assert.match(prs.stderr, /\[SNAPSHOT_UNSIGNED\]/, 'the marker lists a key: an unsigned snapshot is refused without a pin too');
    const allowed = await runCli(['restore', real, '--to', join(root, 'real-restored'), '--bucket', bucketUrl, '--trust', TEST_KEY]);
    assert.equal(allowed.code, 0, allowed.stderr);
    // `latest` is the newest snapshot a trusted key signed: the plant is passed over, and said so.
    const latest = await runCli(['show', 'latest', '--repo', `${REPO.workspace}/${REPO.repository}`, '--bucket', bucketUrl, '--trust', TEST_KEY, '--json']);
    assert.equal(latest.code, 0, latest.stderr);
    assert.equal((JSON.parse(latest.stdout) as { id: string }).id, real);
    assert.match(latest.stderr, new RegExp(`latest passes over 1 newer snapshot\\(s\\) .*${planted} \\(SNAPSHOT_UNSIGNED\\)`));
    const read = await runCli(['download', planted, '--out', join(root, 'planted-download'), '--bucket', bucketUrl, '--trust', TEST_KEY, '--allow-unsigned']);
    assert.equal(read.code, 0, read.stderr);
    assert.match(read.stderr, new RegExp(`snapshot ${planted} is not signed by a trusted key`));

    pushNewCommit('After the plant');
    const backup = await runCli(['backup', server.url('signed.git'), '--repo', 'acme/signed', '--bucket', bucketUrl, '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stderr, new RegExp(`warning \\[SNAPSHOT_UNSIGNED\\]: 1 newer snapshot\\(s\\) \\(the newest ${planted}\\) are not signed by this key`));
    const next = (JSON.parse(backup.stdout) as { snapshot: string }).snapshot;
    const nextManifest = JSON.parse(await readText(store, snapshotKey(REPO, next))) as { bundles: unknown[] };
    assert.deepEqual(nextManifest.bundles.slice(0, 1), realManifest.bundles, 'built on the real snapshot, not the planted one');
  });

  it('a bucket from before signing: read with "not signed" on stderr and no pin; the first signed write records the key', async () => {
    const { bucketUrl, store } = await initialized();
    const old = await backedUp(bucketUrl);
    // As a Lifeboat before signing left it: no signature, no keys in the marker.
    await store.remove(signatureKey(REPO, old, TEST_KEY));
    const oldMarker = JSON.parse(await readText(store, MARKER_KEY)) as Record<string, unknown>;
    delete oldMarker.signing;
    await store.put(MARKER_KEY, serializeDocument(oldMarker), { contentType: 'application/json' });

    const restore = await runCli(['restore', old, '--to', join(root, 'before-signing'), '--bucket', bucketUrl]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stderr, /no key pinned .*and the bucket lists no signing keys/);
    assert.match(restore.stderr, new RegExp(`snapshot ${old} is not signed: nothing shows that Lifeboat wrote it`));
    assert.equal(refsOf(join(root, 'before-signing')), refsOf(bare));
    const verify = await runCli(['verify', old, '--bucket', bucketUrl]);
    assert.equal(verify.code, 0, verify.stdout);
    assert.match(verify.stdout, /not signed/);

    pushNewCommit('First signed');
    const signed = await backedUp(bucketUrl);
    const marker = JSON.parse(await readText(store, MARKER_KEY)) as { signing: { keys: { fingerprint: string }[] } };
    assert.deepEqual(marker.signing.keys.map((entry) => entry.fingerprint), [TEST_KEY]);
    const listed = await cliJson<{ snapshots: { id: string; signedBy: string | null }[] }>(['snapshots', '--bucket', bucketUrl]);
    assert.deepEqual(listed.snapshots.map((s) => [s.id, s.signedBy]), [[old, null], [signed, TEST_KEY]]);

    // The key list removed from a bucket whose snapshots are signed does not make it "a bucket from before signing".
    const stripped = JSON.parse(await readText(store, MARKER_KEY)) as Record<string, unknown>;
    delete stripped.signing;
    await store.put(MARKER_KEY, serializeDocument(stripped), { contentType: 'application/json' });
    const refused = await runCli(['restore', old, '--to', join(root, 'after-stripping'), '--bucket', bucketUrl]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /\[SNAPSHOT_UNSIGNED\]: The bucket's lifeboat\.json lists no signing keys, but snapshots of .* are signed: the key list was removed/);
    const pinned = await runCli(['restore', signed, '--to', join(root, 'after-stripping-pinned'), '--bucket', bucketUrl, '--trust', TEST_KEY]);
    assert.equal(pinned.code, 0, pinned.stderr);
  });

  it('a new key is listed beside the marker\'s; a backup with it builds on the old key\'s snapshots only when that key is pinned', async () => {
    const { bucketUrl, store } = await initialized();
    const first = await backedUp(bucketUrl);
    const firstBundles = (JSON.parse(await readText(store, snapshotKey(REPO, first))) as { bundles: unknown[] }).bundles;
    const path = keyFile('rotated.key');
    const made = await cliJson<{ fingerprint: string }>(['keygen', '--out', path]);

    pushNewCommit('With the new key');
    const backup = await runCli(['backup', server.url('signed.git'), '--repo', 'acme/signed', '--bucket', bucketUrl, '--trust', TEST_KEY, '--json'], { LIFEBOAT_SIGNING_KEY: path });
    assert.equal(backup.code, 0, backup.stderr);
    assert.doesNotMatch(backup.stderr, /SNAPSHOT_UNSIGNED/);
    const second = (JSON.parse(backup.stdout) as { snapshot: string }).snapshot;
    assert.deepEqual((JSON.parse(await readText(store, snapshotKey(REPO, second))) as { bundles: unknown[] }).bundles.slice(0, 1), firstBundles, 'built on the old key\'s snapshot');
    const marker = JSON.parse(await readText(store, MARKER_KEY)) as { signing: { keys: { fingerprint: string; validUntil: string | null }[] } };
    // A second key is listed beside the first (the command line does not know it replaces a key: the app and it may share a bucket).
    assert.deepEqual(marker.signing.keys.map((entry) => [entry.fingerprint, entry.validUntil === null]), [[TEST_KEY, true], [made.fingerprint, true]]);

    // Both keys of the marker are trusted without a pin: the old snapshots still verify.
    const verify = await runCli(['verify', '--all', '--bucket', bucketUrl]);
    assert.equal(verify.code, 0, verify.stdout);
    assert.match(verify.stdout, new RegExp(`${first}  signed by ${escape(shortFingerprint(TEST_KEY))}.*\\n.*${second}  signed by ${escape(shortFingerprint(made.fingerprint))}`));
  });

  it('verify reports a snapshot dated in the future, even one properly signed; a backup after it is dated now', async () => {
    const { bucketUrl, store } = await initialized();
    const real = await backedUp(bucketUrl);
    const manifest = JSON.parse(await readText(store, snapshotKey(REPO, real))) as Record<string, unknown>;
    const future = '29990101T000000Z-abcdef';
    const bytes = serializeDocument({ ...manifest, id: future });
    await store.put(signatureKey(REPO, future, TEST_KEY), serializeDocument(signManifest(bytes, future, TEST_SIGNING_KEY, new Date())), { contentType: 'application/json' });
    await store.put(snapshotKey(REPO, future), bytes, { contentType: 'application/json' });

    const verify = await runCli(['verify', '--all', '--bucket', bucketUrl, '--trust', TEST_KEY]);
    assert.equal(verify.code, 3, verify.stderr);
    assert.match(verify.stdout, new RegExp(`ok +${real}`));
    assert.match(verify.stdout, new RegExp(`FAILED ${future}  signed by .*\\n.*SNAPSHOT_FROM_FUTURE: Snapshot ${future} of acme/signed is dated 2999-01-01`));

    pushNewCommit('After the future');
    const backup = await runCli(['backup', server.url('signed.git'), '--repo', 'acme/signed', '--bucket', bucketUrl, '--json']);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stderr, /warning \[SNAPSHOT_FROM_FUTURE\]/);
    assert.ok((JSON.parse(backup.stdout) as { snapshot: string }).snapshot.startsWith(real.slice(0, 4)), 'dated now, not after 2999');
  });
});

describe('checking a signature without Lifeboat, as docs/bucket-format.md says', () => {
  /** The block the doc marks as checked by this test, as it is written there. */
  function documentedCheck(): string {
    const doc = readFileSync(new URL('../docs/bucket-format.md', import.meta.url), 'utf8');
    const block = /<!-- checked by test\/cli-signing\.test\.ts[^\n]*-->\n```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block, 'the doc marks the commands it gives');
    return block;
  }

  function runCheck(dir: string, pin: string, id: string): { code: number; output: string } {
    const result = spawnSync('sh', ['-c', documentedCheck()], { cwd: dir, env: { ...process.env, pin, id }, encoding: 'utf8' });
    return { code: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
  }

  it('openssl and jq verify a snapshot the CLI wrote (in the bucket and downloaded), and refuse it once the manifest is edited or under another pin', async () => {
    const { bucketUrl, store } = await initialized();
    const id = await backedUp(bucketUrl);
    const pin = TEST_KEY;
    // What the doc's `aws s3 cp` lines fetch: the stored bytes, unchanged.
    const dir = mkdtempSync(join(root, 'openssl-'));
    writeFileSync(join(dir, 'manifest.json'), await collect(await store.get(`acme/signed/snapshots/${id}.json`)));
    writeFileSync(join(dir, 'signature.json'), await collect(await store.get(`acme/signed/signatures/${id}.${pin.replace(/^SHA256:/, '')}.json`)));

    const good = runCheck(dir, pin, id);
    assert.equal(good.code, 0, good.output);
    assert.match(good.output, /Signature Verified Successfully/);

    const other = runCheck(dir, generateSigningKey().key.fingerprint, id);
    assert.equal(other.code, 1, other.output);
    assert.match(other.output, /not the pinned key/);

    // A folder `lifeboat download` wrote holds the same two files.
    const downloaded = join(root, 'openssl-download');
    const download = await runCli(['download', id, '--out', downloaded, '--bucket', bucketUrl, '--trust', pin]);
    assert.equal(download.code, 0, download.stderr);
    assert.ok(readFileSync(join(downloaded, 'manifest.json')).equals(readFileSync(join(dir, 'manifest.json'))), 'the manifest as stored');
    const offline = runCheck(downloaded, pin, id);
    assert.equal(offline.code, 0, offline.output);
    assert.match(offline.output, /Signature Verified Successfully/);

    const manifest = readFileSync(join(dir, 'manifest.json'), 'utf8');
    assert.ok(manifest.includes('"trigger": "cli"'));
    writeFileSync(join(dir, 'manifest.json'), manifest.replace('"trigger": "cli"', '"trigger": "cron"'));
    const edited = runCheck(dir, pin, id);
    assert.notEqual(edited.code, 0, edited.output);
    assert.match(edited.output, /Signature Verification Failure/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
