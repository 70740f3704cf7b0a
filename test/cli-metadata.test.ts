/**
 * What a snapshot holds besides git, through the `lifeboat` command line (a child
 * process, a real git server and a real S3 server): attaching a pre-sunset issue
 * export and a wiki clone, listing and writing them back out, refused attachments
 * changing nothing, reading pull requests offline, and verify checking metadata objects.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { demoIssueExport } from '../sandbox/presunset/demo-issues.js';
import { backup } from '../src/engine/backup.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { readManifest } from '../src/engine/bucket/catalog.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import { readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { readMarker } from '../src/engine/bucket/marker.js';
import { createGitClient } from '../src/engine/git/client.js';
import { collect } from '../src/engine/streams.js';
import { addCommit, buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { reviewedPullRequest, storedPullRequests } from './helpers/pull-requests.js';
import { git } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';
import { type CliResult, runCli as runTestCli } from './helpers/cli.js';
import { zipBomb } from './helpers/zip-bomb.js';
import { TEST_SIGNER } from './helpers/signing.js';
import { UNCHECKED } from '../src/engine/bucket/signing.js';

let root: string;
let work: string;
let bare: string;
let server: Awaited<ReturnType<typeof startGitServer>>;
let s3: Awaited<ReturnType<typeof startS3Server>>;
let prefixes = 0;

function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runTestCli(args, { ...s3.env, ...env });
}

async function cliJson<T>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const result = await runCli([...args, '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

async function initialized(extra: string[] = []): Promise<string> {
  const bucketUrl = `s3://${s3.bucket}/meta-${++prefixes}`;
  const init = await runCli(['init', '--bucket', bucketUrl, ...extra]);
  assert.equal(init.code, 0, init.stderr);
  return bucketUrl;
}

const storeFor = (bucketUrl: string): BlobStore => s3.makeStore(bucketUrl.split('/').slice(3).join('/'));

/** Every key under the bucket prefix with its size: what "nothing changed" compares. */
async function contentsOf(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const blob of store.list('')) keys.push(`${blob.key} ${blob.size}`);
  return keys.sort();
}

function oneLineError(result: CliResult, code: string): void {
  assert.notEqual(result.code, 0);
  // Progress lines may come first; the error is one line, the last.
  assert.match(result.stderr, new RegExp(`(^|\\n)lifeboat: error \\[${code}\\]: [^\\n]+\\n$`));
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-cli-metadata-'));
  work = join(root, 'work');
  buildRichWorkRepo(work);
  bare = join(root, 'served', 'rich.git');
  git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
  server = await startGitServer({ root: join(root, 'served') });
  s3 = await startS3Server();
});

after(async () => {
  await server?.close();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A wiki as a customer cloned it before the sunset: a work tree with history and two branches. */
function wikiClone(path: string): void {
  mkdirSync(path, { recursive: true });
  git(path, ['init', '--quiet', '--initial-branch=master']);
  writeFileSync(join(path, 'Home.md'), '# Welcome\n\nSee [[Setup]].\n');
  git(path, ['add', '.']);
  git(path, ['-c', 'user.name=Wiki', '-c', 'user.email=wiki@example.com', 'commit', '--quiet', '-m', 'Home']);
  writeFileSync(join(path, 'Setup.md'), '# Setup\n\nRun `make`.\n');
  git(path, ['add', '.']);
  git(path, ['-c', 'user.name=Wiki', '-c', 'user.email=wiki@example.com', 'commit', '--quiet', '-m', 'Setup page']);
  git(path, ['branch', 'draft']);
}

describe('lifeboat attach, attachments', () => {
  it('attaches an issue export and a wiki clone; lists them; writes them back byte for byte and as a clone; they survive backups and prune', async () => {
    const bucketUrl = await initialized();
    const store = storeFor(bucketUrl);
    const zipPath = join(root, 'rich-issues.zip');
    const zip = demoIssueExport();
    writeFileSync(zipPath, zip);
    const wiki = join(root, 'rich.wiki');
    wikiClone(wiki);

    // No snapshot yet: refused, nothing written.
    const before = await contentsOf(store);
    oneLineError(await runCli(['attach', zipPath, '--repo', 'acme/rich', '--bucket', bucketUrl]), 'SNAPSHOT_NOT_FOUND');
    assert.deepEqual(await contentsOf(store), before);

    const backedUp = await cliJson<{ snapshot: string }>(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl]);
    const first = await readManifest(store, { repo: { workspace: 'acme', repository: 'rich' }, id: backedUp.snapshot }, UNCHECKED);

    const attached = await cliJson<{ status: string; snapshot: string; attachment: { kind: string; summary: Record<string, number> } }>(['attach', zipPath, '--repo', 'acme/rich', '--bucket', bucketUrl]);
    assert.equal(attached.status, 'attached');
    assert.equal(attached.attachment.kind, 'issues-export');
    assert.deepEqual(Object.keys(attached.attachment.summary), ['issues', 'comments', 'attachments']);
    assert.ok(attached.attachment.summary.issues! > 0);
    const withZip = await readManifest(store, { repo: first.repository, id: attached.snapshot }, UNCHECKED);
    assert.notEqual(withZip.id, first.id);
    assert.deepEqual(withZip.bundles, first.bundles, 'the newest snapshot\'s bundles, unchanged');
    assert.deepEqual(withZip.refs, first.refs);

    const again = await cliJson<{ status: string }>(['attach', zipPath, '--repo', 'acme/rich', '--bucket', bucketUrl]);
    assert.equal(again.status, 'unchanged', 'the same export twice is one attachment');

    const wikiAttached = await cliJson<{ snapshot: string; attachment: { kind: string; summary: Record<string, number> } }>(['attach', wiki, '--repo', 'acme/rich', '--bucket', bucketUrl]);
    assert.equal(wikiAttached.attachment.kind, 'wiki');
    assert.deepEqual(wikiAttached.attachment.summary, { refs: 2, commits: 2 });

    // A later backup and a prune keeping only it: the attachments are carried forward and kept.
    addCommit(work, 'after attach');
    git(work, ['push', '--quiet', bare, 'HEAD:refs/heads/main']);
    const later = await cliJson<{ snapshot: string; status: string }>(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl]);
    assert.equal(later.status, 'created');
    const pruned = await runCli(['prune', '--keep-last', '1', '--bucket', bucketUrl]);
    assert.equal(pruned.code, 0, pruned.stderr);

    const listed = await cliJson<{ attachments: { kind: string; name: string; encrypted: boolean }[] }>(['attachments', later.snapshot, '--bucket', bucketUrl]);
    assert.deepEqual(listed.attachments.map((item) => [item.kind, item.name, item.encrypted]), [['issues-export', 'rich-issues.zip', false], ['wiki', 'rich.wiki', false]]);
    const text = await runCli(['attachments', later.snapshot, '--bucket', bucketUrl]);
    assert.match(text.stdout, /issues-export\s+rich-issues\.zip .*\d+ issues/);
    const show = await runCli(['show', later.snapshot, '--bucket', bucketUrl]);
    assert.match(show.stdout, /Attachments: issues-export rich-issues\.zip \(\d+ issues, \d+ comments, \d+ attachments?\); wiki rich\.wiki \(2 refs, 2 commits\)/);

    const out = join(root, 'attachments-out');
    const written = await cliJson<{ written: { paths: string[] }[] }>(['attachments', later.snapshot, '--out', out, '--bucket', bucketUrl]);
    assert.deepEqual(written.written.map((item) => item.paths), [['rich-issues.zip'], ['rich.wiki.bundle', 'rich.wiki']]);
    assert.ok(readFileSync(join(out, 'rich-issues.zip')).equals(Buffer.from(zip)), 'the zip as it was attached');
    const refs = (repository: string, pattern: string) => git(repository, ['for-each-ref', '--format=%(objectname) %(refname:lstrip=2)', pattern]).split('\n').map((line) => line.replace(/^(\w+) (?:origin\/)?/, '$1 ')).filter((line) => !line.endsWith(' HEAD')).join('\n');
    assert.equal(refs(join(out, 'rich.wiki'), 'refs/remotes/origin'), refs(wiki, 'refs/heads'), 'the clone holds every branch of the wiki');
    assert.equal(git(join(out, 'rich.wiki'), ['rev-parse', 'HEAD']), git(wiki, ['rev-parse', 'HEAD']));
    assert.equal(readFileSync(join(out, 'rich.wiki', 'Setup.md'), 'utf8'), readFileSync(join(wiki, 'Setup.md'), 'utf8'));
    // The bundle alone, with plain git.
    assert.match(git(undefined, ['bundle', 'list-heads', join(out, 'rich.wiki.bundle')]), /refs\/heads\/draft/);

    const verify = await runCli(['verify', later.snapshot, '--bucket', bucketUrl]);
    assert.equal(verify.code, 0, verify.stdout);
    assert.match(verify.stdout, /3 metadata objects/, 'the index and both attachments');
  });

  it('refuses a bad zip, a folder that is not a git repository and an empty repository, writing nothing', async () => {
    const bucketUrl = await initialized();
    const store = storeFor(bucketUrl);
    await cliJson(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl]);
    const before = await contentsOf(store);
    const badZip = join(root, 'not-an-export.zip');
    writeFileSync(badZip, 'PK but not really');
    const plainFolder = join(work, 'src'); // inside a git work tree, yet not a repository itself
    const emptyRepository = join(root, 'empty.wiki');
    mkdirSync(emptyRepository);
    git(emptyRepository, ['init', '--quiet']);
    for (const [path, pattern] of [[badZip, /not-an-export\.zip: Not a Bitbucket issue export: not a zip archive/], [plainFolder, /is neither an issue export zip nor a git repository/], [emptyRepository, /without any commit/], [join(root, 'missing.zip'), /Cannot read/]] as const) {
      const result = await runCli(['attach', path, '--repo', 'acme/rich', '--bucket', bucketUrl]);
      oneLineError(result, 'ATTACHMENT_INVALID');
      assert.match(result.stderr, pattern);
    }
    assert.deepEqual(await contentsOf(store), before, 'nothing was written');
  });

  it('refuses a zip bomb with its own code, writing nothing; an issue export still attaches after it', async () => {
    const bucketUrl = await initialized();
    const store = storeFor(bucketUrl);
    await cliJson(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl]);
    const before = await contentsOf(store);
    const bombPath = join(root, 'bomb-issues.zip');
    writeFileSync(bombPath, zipBomb(8, 16 * 2 ** 20)); // about 130 KiB; 128 MiB inflated
    const refused = await runCli(['attach', bombPath, '--repo', 'acme/rich', '--bucket', bucketUrl]);
    oneLineError(refused, 'ATTACHMENT_TOO_LARGE');
    assert.match(refused.stderr, /bomb-issues\.zip: Refused as a possible zip bomb: attachments\/0 inflates more than 100 times its compressed size\. — nothing was written/);
    assert.deepEqual(await contentsOf(store), before, 'nothing was written');
    const zipPath = join(root, 'after-bomb-issues.zip');
    writeFileSync(zipPath, demoIssueExport());
    const attached = await cliJson<{ status: string }>(['attach', zipPath, '--repo', 'acme/rich', '--bucket', bucketUrl]);
    assert.equal(attached.status, 'attached');
  });

  it('encrypts an attachment in an encrypted bucket; writing it out needs the identity', async () => {
    const key = await generateIdentity();
    const identityFile = join(root, 'attach-identity.txt');
    writeFileSync(identityFile, `${key.identity}\n`);
    const bucketUrl = await initialized(['--recipient', key.recipient]);
    const store = storeFor(bucketUrl);
    await cliJson(['backup', server.url('rich.git'), '--repo', 'acme/rich', '--bucket', bucketUrl]);
    const zipPath = join(root, 'encrypted-issues.zip');
    writeFileSync(zipPath, demoIssueExport());
    const { snapshot } = await cliJson<{ snapshot: string }>(['attach', zipPath, '--repo', 'acme/rich', '--bucket', bucketUrl]);
    const manifest = await readManifest(store, { repo: { workspace: 'acme', repository: 'rich' }, id: snapshot }, UNCHECKED);
    const [entry] = (await readMetadataIndex(store, manifest))!.attachments!;
    assert.equal(entry!.object.encrypted, true);
    assert.ok(!(await collect(await store.get(entry!.object.key))).subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'binary')), 'no zip bytes in the bucket');
    assert.equal(entry!.sha256, createHash('sha256').update(readFileSync(zipPath)).digest('hex'), 'the hash of the zip itself');
    const again = await cliJson<{ status: string; snapshot: string }>(['attach', zipPath, '--repo', 'acme/rich', '--bucket', bucketUrl]);
    assert.deepEqual(again, { ...again, status: 'unchanged', snapshot }, 'the same zip again, though encrypted anew: known by its own hash');
    oneLineError(await runCli(['attachments', snapshot, '--out', join(root, 'no-key-out'), '--bucket', bucketUrl]), 'IDENTITY_REQUIRED');
    const out = join(root, 'key-out');
    await cliJson(['attachments', snapshot, '--out', out, '--bucket', bucketUrl, '--identity', identityFile]);
    assert.ok(readFileSync(join(out, 'encrypted-issues.zip')).equals(readFileSync(zipPath)));
  });
});

describe('lifeboat prs, pr, verify of metadata', () => {
  it('prints titles and comments with control characters shown, never obeyed: no escape, no forged row, no reordering', async () => {
    const bucketUrl = await initialized();
    const store = storeFor(bucketUrl);
    // An OSC 52 clipboard write, a line break forging a row, a right-to-left override, an 8-bit CSI.
    const title = 'Fix \x1b]52;c;cm0gLXJmIH4=\x07it\n#1  MERGED  2026-01-01 00:00  0  Admin  Forged row \u202eevil\u202c \u009b2J';
    const document = reviewedPullRequest(5, { title });
    (document.comments[0] as unknown as { content: { raw: string } }).content.raw = 'Looks fine\r\x1b[2KApproved by the admin \u2066hidden\u2069';
    const result = await backup({
      store, repo: { workspace: 'acme', repository: 'rich' }, git: createGitClient({ url: server.url('rich.git') }), trigger: 'cli', ...TEST_SIGNER,
      encryption: null, objectLock: null, metadata: [storedPullRequests([document])],
    });
    assert.equal(result.status, 'created');
    const id = result.snapshot.id;
    // eslint-disable-next-line no-control-regex -- what must not reach the terminal
    const obeyed = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

    const listed = await runCli(['prs', id, '--bucket', bucketUrl]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.doesNotMatch(listed.stdout, obeyed);
    const rows = listed.stdout.trimEnd().split('\n');
    assert.equal(rows.length, 2, `a header and one row:\n${listed.stdout}`);
    assert.ok(rows[1]!.endsWith('Fix \\x1b]52;c;cm0gLXJmIH4=\\x07it\\n#1  MERGED  2026-01-01 00:00  0  Admin  Forged row \\u202eevil\\u202c \\x9b2J'), rows[1]);

    const shown = await runCli(['pr', id, '5', '--bucket', bucketUrl]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.doesNotMatch(shown.stdout, obeyed);
    assert.equal(shown.stdout.split('\n')[0], '#5 Fix \\x1b]52;c;cm0gLXJmIH4=\\x07it\\n#1  MERGED  2026-01-01 00:00  0  Admin  Forged row \\u202eevil\\u202c \\x9b2J  [MERGED]');
    assert.match(shown.stdout, /^ {6}Looks fine\\r\\x1b\[2KApproved by the admin \\u2066hidden\\u2069$/m);

    // --json: the same text once parsed, with nothing a terminal obeys in the raw output.
    const json = await runCli(['prs', id, '--bucket', bucketUrl, '--json']);
    assert.doesNotMatch(json.stdout, obeyed);
    assert.equal((JSON.parse(json.stdout) as { pullRequests: { title: string }[] }).pullRequests[0]!.title, title);
  });

  it('prs lists the most recently updated first, and says (text and --json) when encrypted details were left out', async () => {
    const key = await generateIdentity();
    const identityFile = join(root, 'prs-order-identity.txt');
    writeFileSync(identityFile, `${key.identity}\n`);
    const bucketUrl = await initialized(['--recipient', key.recipient]);
    const marker = await readMarker(storeFor(bucketUrl));
    // Ids and update times in different orders: #3 is the oldest id and the newest update; times in other offsets.
    const documents = [
      reviewedPullRequest(7, { updatedOn: '2026-05-04T09:30:00.000000+00:00' }),
      reviewedPullRequest(12, { updatedOn: '2026-05-06T12:00:00.000000+02:00' }),
      reviewedPullRequest(3, { updatedOn: '2026-05-08T01:00:00.000000+00:00' }),
      reviewedPullRequest(9, { updatedOn: '2026-05-05T20:00:00.000000-08:00' }),
    ];
    const result = await backup({
      store: storeFor(bucketUrl), repo: { workspace: 'acme', repository: 'rich' }, git: createGitClient({ url: server.url('rich.git') }), trigger: 'cli', ...TEST_SIGNER,
      encryption: marker.encryption, objectLock: null, metadata: [storedPullRequests(documents)],
    });
    assert.equal(result.status, 'created');
    const id = result.snapshot.id;
    // #12 (05-06 12:00 +02:00, 10:00Z) is newer than #9 (05-05 20:00 -08:00, 05-06 04:00Z).
    const newestFirst = [3, 12, 9, 7];

    const locked = await cliJson<{ encrypted: boolean; decrypted: boolean; pullRequests: { id: number }[] }>(['prs', id, '--bucket', bucketUrl]);
    assert.deepEqual(locked.pullRequests.map((item) => item.id), newestFirst);
    assert.equal(locked.encrypted, true);
    assert.equal(locked.decrypted, false);
    const text = await runCli(['prs', id, '--bucket', bucketUrl]);
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(text.stdout.split('\n').slice(1, 5).map((line) => line.split(' ')[0]), newestFirst.map((n) => `#${n}`));
    assert.match(text.stdout, /^The pull requests are encrypted: only ids, states and times are listed; pass --identity <file> for titles, authors and comments\.$/m);

    const opened = await cliJson<{ encrypted: boolean; decrypted: boolean; pullRequests: { id: number }[] }>(['prs', id, '--bucket', bucketUrl, '--identity', identityFile]);
    assert.deepEqual(opened.pullRequests.map((item) => item.id), newestFirst);
    assert.deepEqual([opened.encrypted, opened.decrypted], [true, true]);
    assert.doesNotMatch((await runCli(['prs', id, '--bucket', bucketUrl, '--identity', identityFile])).stdout, /encrypted/);
  });

  it('lists and shows pull requests with threads, inline and deleted comments; verify catches a damaged document', async () => {
    const key = await generateIdentity();
    const identityFile = join(root, 'prs-identity.txt');
    writeFileSync(identityFile, `${key.identity}\n`);
    const bucketUrl = await initialized(['--recipient', key.recipient]);
    const store = storeFor(bucketUrl);
    const marker = await readMarker(store);
    const documents = [reviewedPullRequest(7), reviewedPullRequest(12, { title: 'Document the bucket format', state: 'OPEN', updatedOn: '2026-05-06T10:00:00.000000+00:00' })];
    const result = await backup({
      store, repo: { workspace: 'acme', repository: 'rich' }, git: createGitClient({ url: server.url('rich.git') }), trigger: 'cli', ...TEST_SIGNER,
      encryption: marker.encryption, objectLock: null, metadata: [storedPullRequests(documents)],
    });
    assert.equal(result.status, 'created');
    const id = result.snapshot.id;
    const withKey = { LIFEBOAT_IDENTITY: identityFile };

    // Without the identity: what the plain index says, and how to see the rest.
    const locked = await runCli(['prs', id, '--bucket', bucketUrl, '--json']);
    assert.equal(locked.code, 0, locked.stderr);
    assert.deepEqual((JSON.parse(locked.stdout) as { pullRequests: unknown[] }).pullRequests, [{ id: 12, state: 'OPEN', updatedOn: '2026-05-06T10:00:00.000Z' }, { id: 7, state: 'MERGED', updatedOn: '2026-05-04T09:30:00.000Z' }]);
    assert.match(locked.stderr, /encrypted.*--identity/);
    oneLineError(await runCli(['pr', id, '7', '--bucket', bucketUrl]), 'IDENTITY_REQUIRED');
    const listed = await cliJson<{ pullRequests: unknown[] }>(['prs', id, '--bucket', bucketUrl], withKey);
    assert.deepEqual(listed.pullRequests, [
      { id: 12, state: 'OPEN', updatedOn: '2026-05-06T10:00:00.000Z', title: 'Document the bucket format', author: 'Alice Archer', comments: 4 },
      { id: 7, state: 'MERGED', updatedOn: '2026-05-04T09:30:00.000Z', title: 'Retry uploads with backoff', author: 'Alice Archer', comments: 4 },
    ]);
    const table = await runCli(['prs', id, '--bucket', bucketUrl], withKey);
    assert.match(table.stdout, /^#12\s+OPEN\s+2026-05-06 10:00\s+4\s+Alice Archer\s+Document the bucket format$/m);

    const shown = await runCli(['pr', id, '7', '--bucket', bucketUrl], withKey);
    assert.equal(shown.code, 0, shown.stderr);
    const lines = shown.stdout.split('\n');
    const at = (pattern: RegExp): number => {
      const index = lines.findIndex((line) => pattern.test(line));
      assert.ok(index >= 0, `no line matches ${pattern}:\n${shown.stdout}`);
      return index;
    };
    assert.match(lines[0]!, /^#7 Retry uploads with backoff {2}\[MERGED\]$/);
    at(/^Branches: acme\/rich:feature\/retry \(111111111111\) -> acme\/rich:main \(222222222222\)$/);
    at(/^Merged: {3}333333333333 by Bob Builder$/);
    at(/^ {2}This retries them with exponential backoff \(PROJ-42\)\.$/);
    at(/^ {2}Bob Builder: approved$/);
    at(/^ {2}Carol Chen: changes requested$/);
    // In order: the question, the inline comment, Carol's request, the answer indented under the question.
    const question = at(/^ {2}2026-05-02 10:00 {2}Bob Builder:$/);
    const inline = at(/^ {2}2026-05-02 11:00 {2}Carol Chen on src\/upload\.ts:42:$/);
    const answer = at(/^ {6}2026-05-02 12:00 {2}Alice Archer:$/);
    const inlineReply = at(/^ {6}2026-05-03 09:00 {2}Bob Builder on src\/upload\.ts:42:$/);
    const deleted = at(/^ {2}2026-05-02 13:00 {2}Bob Builder:$/);
    assert.ok(question < answer && answer < inline && inline < inlineReply && inlineReply < deleted, shown.stdout);
    assert.equal(lines[answer + 1], '          Three was not enough on the CI runners.');
    assert.equal(lines[deleted + 1], '      [deleted]');
    at(/^ {2}2026-05-03 10:00 {2}Bob Builder approved$/);
    at(/^ {2}\[x\] Add a test for the backoff \(Carol Chen, on comment 503\)$/);
    at(/^ {2}SUCCESSFUL {2}Pipeline #7 on 111111111111 {2}https:\/\/bitbucket\.org\/acme\/rich\/pipelines\/results\/7$/);
    at(/^ {2}111111111111 {2}2026-05-03 08:55 {2}Alice Archer <alice@example\.com> {2}Retry uploads with exponential backoff$/);
    at(/^ {2}modified src\/upload\.ts {2}\+30 -4$/);

    const json = await cliJson<unknown>(['pr', id, '7', '--bucket', bucketUrl], withKey);
    assert.deepEqual(json, documents[0], '--json: the stored document as it was written');
    const missing = await runCli(['pr', id, '99', '--bucket', bucketUrl], withKey);
    oneLineError(missing, 'METADATA_NOT_FOUND');
    assert.match(missing.stderr, new RegExp(`holds no pull request #99\\. — list them with \`lifeboat prs ${id}\``));

    const show = await runCli(['show', id, '--bucket', bucketUrl]);
    assert.match(show.stdout, /Pull requests: 2\n/);

    const verified = await runCli(['verify', id, '--bucket', bucketUrl, '--json'], withKey);
    assert.equal(verified.code, 0, verified.stdout);
    const [report] = (JSON.parse(verified.stdout) as { snapshots: { metadata: number; deep: boolean }[] }).snapshots;
    assert.deepEqual([report!.metadata, report!.deep], [3, true]);

    // Damage one stored document: verify names it, with and without the identity.
    const index = (await readMetadataIndex(store, result.snapshot))!;
    const damaged = index.pullRequests!.items[1]!.object;
    const bytes = await collect(await store.get(damaged.key));
    bytes[bytes.length - 20]! ^= 0xff;
    await store.put(damaged.key, bytes);
    for (const env of [{}, withKey]) {
      const failed = await runCli(['verify', id, '--bucket', bucketUrl, '--json'], env);
      assert.equal(failed.code, 3, failed.stdout);
      const [problem, ...more] = (JSON.parse(failed.stdout) as { snapshots: { problems: { code: string; key: string }[] }[] }).snapshots[0]!.problems;
      assert.deepEqual([problem?.code, problem?.key, more.length], ['CHECKSUM_MISMATCH', damaged.key, 0]);
    }
  });
});
