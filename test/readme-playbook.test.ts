/**
 * The README's "Bitbucket is down" playbook, run as written (issue 19): the block marked as
 * checked by this test runs in `sh -e` against a bucket the app filled in the local world
 * (a plain chain of two backups, an encrypted snapshot with an LFS object, the recovery kit its sweep wrote),
 * with only the variables the README's set-up block exports given values. Each run must
 * leave a bare repository with exactly the source's refs that `git fsck` finds clean.
 * The fetch step uses the machine's `aws` when it reads AWS_ENDPOINT_URL, otherwise test/helpers/fake-aws.mjs.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { JobView, Result } from '../src/contract.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { createLfsClient } from '../src/engine/git/lfs.js';
import { fromBytes } from '../src/engine/streams.js';
import { lfsObjectPath } from '../sandbox/bitbucket/lfs.js';
import { gitAsync } from '../sandbox/bitbucket/test-support.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { assertBuilt } from './helpers/cli.js';
import { write } from './helpers/fixtures.js';
import { lfsObject, pointerFile } from './helpers/lfs.js';
import { fsck, refsOf } from './helpers/repos.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The README's "Bitbucket is down" section: its set-up block (the first) and the block it marks as checked here. */
function playbook(): { setup: string; commands: string } {
  const section = /^### Bitbucket is down\n([\s\S]*?)(?=^#{1,3} )/m.exec(README)?.[1];
  assert.ok(section, 'the README has a "Bitbucket is down" section');
  const setup = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  const commands = /<!-- checked by test\/readme-playbook\.test\.ts[^\n]*-->\n```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(setup && commands, 'the section sets variables, then marks the commands this test runs');
  return { setup, commands };
}

const variablesUsed = (script: string): Set<string> => new Set([...script.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!));
const variablesExported = (script: string): Set<string> =>
  new Set(script.split('\n').filter((line) => line.startsWith('export ')).flatMap((line) => [...line.matchAll(/(?:^export |\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((match) => match[1]!)));

/**
 * Whether this machine's `aws` reads AWS_ENDPOINT_URL: AWS CLI 1.29.0 and 2.13.0 on ("Using endpoints in the AWS CLI",
 * AWS CLI user guide; the release is named in localstack/awscli-local#76). An older one would go to AWS itself.
 */
function awsReadsEndpointVariable(): boolean {
  const answer = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  const version = /aws-cli\/(\d+)\.(\d+)\./.exec(`${answer.stdout ?? ''}${answer.stderr ?? ''}`);
  if (!version) return false;
  const [major, minor] = [Number(version[1]), Number(version[2])];
  return major > 2 || (major === 2 && minor >= 13) || (major === 1 && minor >= 29);
}

describe('the README\'s "Bitbucket is down" playbook, run as written', () => {
  let app: AppWorld;
  let store: BlobStore;
  let scratch: string;
  let identityFile: string;
  /** Directories put before the PATH: the node running the tests, and the stand-in `aws` when the machine has none that reads AWS_ENDPOINT_URL. */
  let pathDirs: string[];
  const clones = new Map<string, string>();
  const media = lfsObject();

  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };
  const repo = (slug: string) => ({ workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid(slug)) });
  const newest = async (slug: string): Promise<SnapshotManifest> => {
    const id = (await listSnapshotIds(store, repo(slug))).at(-1);
    assert.ok(id, `${slug} has a snapshot`);
    return readManifest(store, { repo: repo(slug), id }, app.trust());
  };
  /** A commit (with `files` added) pushed to the repository's current branch. */
  const commitAndPush = async (slug: string, message: string, files: Record<string, string> = {}): Promise<void> => {
    let dir = clones.get(slug);
    if (!dir) {
      dir = join(scratch, 'clones', slug);
      await gitAsync(undefined, ['clone', '--quiet', app.gitUrl(slug), dir]);
      clones.set(slug, dir);
    }
    for (const [path, content] of Object.entries(files)) write(dir, path, content);
    await gitAsync(dir, ['add', '-A']);
    await gitAsync(dir, ['-c', 'user.name=Alice', '-c', 'user.email=alice@example.com', 'commit', '--quiet', '--allow-empty', '-m', message]);
    await gitAsync(dir, ['push', '--quiet', 'origin', 'HEAD']);
  };
  /** The source: the emulator's bare repository, as `for-each-ref` lists it. */
  const sourceRefs = (slug: string): string => refsOf(app.world.emulator.gitDir(DEMO_WORKSPACE.slug, slug));

  before(async () => {
    // The app carries the recovery build (src/generated/, made with dist/recovery/lifeboat.mjs): not an old one.
    assertBuilt(fileURLToPath(new URL('../dist/recovery/lifeboat.mjs', import.meta.url)), 'npm run build:recovery');
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-readme-playbook-'));
    pathDirs = [dirname(process.execPath)];
    if (!awsReadsEndpointVariable()) {
      const bin = await mkdtemp(join(scratch, 'bin-'));
      const fake = fileURLToPath(new URL('./helpers/fake-aws.mjs', import.meta.url));
      writeFileSync(join(bin, 'aws'), `#!/bin/sh\nexec '${process.execPath}' '${fake}' "$@"\n`);
      chmodSync(join(bin, 'aws'), 0o755);
      pathDirs.unshift(bin);
    }
    app = await startAppWorld({ clock: new ManualClock() });
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    identityFile = join(scratch, 'lifeboat-key.txt');
    execFileSync('age-keygen', ['-o', identityFile], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', identityFile], { encoding: 'utf8' }).trim();

    const repositories = { mode: 'chosen' as const, chosen: [app.repositoryUuid('web-app'), app.repositoryUuid('docs')], includeNew: false };
    await app.configure({ repositories });
    // The sweep backs both up and writes the recovery kit; a push to web-app then adds a second bundle to its chain.
    const job = (await app.adminPage('sweepNow', undefined)) as Result<JobView>;
    assert.ok(job.ok, JSON.stringify(job));
    await settle();
    await commitAndPush('web-app', 'after the first backup');
    await settle();
    // Encryption on: docs' next snapshot starts a chain encrypted to the identity's recipient, with an LFS
    // object (uploaded through the batch API as git-lfs would, then its pointer pushed).
    await app.configure({ repositories, encryption: { recipients: [recipient] } });
    const lfs = createLfsClient({ url: app.gitUrl('docs'), loopbackTransfers: true });
    const upload = (await lfs.batch('upload', [media])).get(media.oid)?.actions?.upload;
    assert.ok(upload, 'the emulator offers an upload');
    await lfs.upload(media, { upload }, fromBytes(media.content));
    await commitAndPush('docs', 'after encryption was turned on', { 'media/logo.bin': pointerFile(media) });
    await settle();
  });

  after(async () => {
    await app?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** Runs the checked block in a new folder with the README's variables, as a person who set them would. */
  const runPlaybook = async (values: Record<string, string>): Promise<{ code: number; output: string; cwd: string; commands: string }> => {
    const { setup, commands } = playbook();
    const exported = variablesExported(setup);
    for (const name of variablesUsed(commands)) assert.ok(exported.has(name), `the set-up block exports ${name}, which the commands use`);
    assert.deepEqual([...exported].sort(), Object.keys(values).sort(), 'the test gives a value to each variable the set-up block exports');

    // Nothing from this machine's own AWS or Lifeboat set-up: only what the README says to set.
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AWS|LIFEBOAT)_/.test(name)));
    const cwd = await mkdtemp(join(scratch, 'machine-'));
    const env = {
      ...inherited,
      // Not this machine's ~/.aws: no profile, region or endpoint from there.
      AWS_CONFIG_FILE: join(cwd, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(cwd, 'no-aws-credentials'),
      PATH: [...pathDirs, process.env.PATH ?? ''].join(delimiter),
      // Where the local world's s3rver is: the README names this variable for S3-compatible servers.
      AWS_ENDPOINT_URL: app.world.urls.bucket.endpoint,
      ...values,
    };
    const child = spawn('sh', ['-e', '-c', commands], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (status) => resolve(status ?? -1));
    });
    return { code, output, cwd, commands };
  };

  const values = (slug: string): Record<string, string> => {
    const { bucket } = app.world.urls;
    const trust = app.trust().keys;
    assert.equal(trust.length, 1, 'the app signed with one key');
    return {
      AWS_ACCESS_KEY_ID: bucket.accessKeyId,
      AWS_SECRET_ACCESS_KEY: bucket.secretAccessKey,
      AWS_REGION: 'us-east-1',
      LIFEBOAT_BUCKET: `s3://${DEMO_BUCKET}/lifeboat`,
      LIFEBOAT_TRUST: trust[0]!,
      LIFEBOAT_IDENTITY: identityFile,
      REPO: `${DEMO_WORKSPACE.slug}/${slug}`,
    };
  };

  const restoresAsTheSource = async (slug: string): Promise<string> => {
    const run = await runPlaybook(values(slug));
    assert.equal(run.code, 0, run.output);
    assert.ok(run.commands.trim().split('\n').length <= 4, 'at most four commands');
    assert.match(run.output, /lifeboat\.mjs: OK/, 'the kit checked out');
    assert.match(run.output, new RegExp(`^${DEMO_WORKSPACE.slug} +${slug} `, 'm'), 'repos lists it by name');
    const to = /--to (\S+)/.exec(run.commands)?.[1];
    assert.ok(to, 'the restore names its folder');
    const restored = join(run.cwd, to);
    assert.equal(refsOf(restored), sourceRefs(slug), 'exactly the source\'s refs');
    fsck(restored);
    return restored;
  };

  it('restores the newest snapshot of a plain repository whose chain has two bundles', async () => {
    const manifest = await newest('web-app');
    assert.equal(manifest.encryption, null);
    assert.ok(manifest.bundles.length >= 2, `a chain of ${manifest.bundles.length} bundle(s)`);
    await restoresAsTheSource('web-app');
  });

  it('restores the newest snapshot of an encrypted repository, its LFS object too, with the identity the set-up block names', async () => {
    const manifest = await newest('docs');
    assert.notEqual(manifest.encryption, null, 'docs\' newest snapshot is encrypted');
    const restored = await restoresAsTheSource('docs');
    assert.deepEqual(readFileSync(lfsObjectPath(restored, media.oid)), media.content, 'the LFS object, in the folder\'s LFS store');
  });
});
