// A restore's plan in the local world: the app's resolver and restore consumer
// against the Bitbucket emulator (real git) and s3rver. A snapshot holding a file
// over Bitbucket's 100 MB limit stops at the plan until the request confirms the
// target's file size limit is off.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JobView, Result } from '../src/contract.js';
import { backup } from '../src/engine/backup.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { initBucket } from '../src/engine/bucket/marker.js';
import { isLifeboatError } from '../src/engine/errors.js';
import { createGitClient } from '../src/engine/git/client.js';
import { besideRefName } from '../src/engine/remote-restore.js';
import { repoPath } from '../src/forge/bucket.js';
import { DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN } from '../sandbox/demo.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { apiTokenAuth, call, gitAsync } from '../sandbox/bitbucket/test-support.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { type AppWorld, startAppWorld } from './helpers/app-world.js';
import { TEST_SIGNER } from './helpers/signing.js';
import { jobOfKind } from './helpers/jobs.js';

const ADMIN = { as: 'admin' as const };

function valueOf<T>(result: Result<T>, what: string): T {
  if (!result.ok) assert.fail(`${what}: ${result.error.code} ${result.error.message}`);
  return result.value;
}

describe('a restore\'s plan in the local world', () => {
  let app: AppWorld;
  let scratch: string;

  const remoteRefs = async (slug: string): Promise<Map<string, string>> => {
    const out = await gitAsync(undefined, ['ls-remote', app.gitUrl(slug)]);
    return new Map(out.trim().split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string])
      .filter(([, name]) => name.startsWith('refs/') && !name.endsWith('^{}')).map(([oid, name]) => [name, oid]));
  };

  const settledJob = async (jobId: string, slug: string): Promise<JobView<'restore'>> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
    return jobOfKind(valueOf(await app.repoPage('getJob', { jobId }, { ...ADMIN, repositorySlug: slug }), 'getJob'), 'restore');
  };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-app-plan-'));
    // The emulator's file limit at the plan's reading of "100 MB" (README, platform assumptions): the
    // file below is over it, so only a repository whose limit is lifted takes it.
    app = await startAppWorld({ clock: new ManualClock(), bitbucketLimits: { fileMaxBytes: 100 * 1000 * 1000 } });
    await app.configure({ retention: {} });
  });

  after(async () => {
    await app?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('a snapshot holding a file over 100 MB stops at the restore\'s plan, writing nothing, until the request confirms the file size limit is off', async () => {
    const slug = 'large-files';
    const created = await call(app.world.emulator, `/2.0/repositories/${DEMO_WORKSPACE.slug}/${slug}`, apiTokenAuth('admin'), { method: 'POST', body: { scm: 'git', is_private: true } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const work = await mkdtemp(join(scratch, 'large-'));
    await gitAsync(undefined, ['init', '--quiet', work]);
    // One byte over Bitbucket's 100 MB, of zeros: about 100 KB once compressed, in the packs and on the wire.
    const size = 100 * 1000 * 1000 + 1;
    await writeFile(join(work, 'video.bin'), Buffer.alloc(size));
    await gitAsync(work, ['add', 'video.bin']);
    await gitAsync(work, ['-c', 'user.name=Test', '-c', 'user.email=test@lifeboat.invalid', 'commit', '--quiet', '-m', 'a large file']);
    // Seeded with the repository's limit lifted, then put back on as a new repository has it.
    await app.world.emulator.setFileSizeLimit(DEMO_WORKSPACE.slug, slug, false);
    await gitAsync(work, ['push', '--quiet', app.gitUrl(slug), 'HEAD:refs/heads/main']);
    await app.world.emulator.setFileSizeLimit(DEMO_WORKSPACE.slug, slug, true);
    const blob = (await gitAsync(work, ['rev-parse', 'HEAD:video.bin'])).trim();
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();

    // A snapshot taken with the engine straight into the app's bucket path.
    const { bucket } = app.world.urls;
    const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: `${bucket.endpoint}/`, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    await initBucket(store).catch((error: unknown) => {
      if (!isLifeboatError(error, 'BUCKET_ALREADY_INITIALIZED')) throw error;
    });
    const git = createGitClient({ url: app.world.emulator.gitUrl(DEMO_WORKSPACE.slug, slug), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } });
    const result = await backup({ store, repo: repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(slug)), git, trigger: 'manual', encryption: null, objectLock: null, ...TEST_SIGNER, repository: { slug, name: slug, uuid: app.repositoryUuid(slug), workspaceSlug: DEMO_WORKSPACE.slug } });
    // 'unchanged' when the push's own backup already took it.
    assert.notEqual(result.status, 'partial');
    const taken = (result as { snapshot: SnapshotManifest }).snapshot;
    const refsBefore = await remoteRefs(slug);

    const page = { ...ADMIN, repositorySlug: slug };
    const stopped = await settledJob(valueOf(await app.repoPage('startRestore', { snapshotId: taken.id, mode: 'beside' }, page), 'startRestore').id, slug);
    assert.equal(stopped.state, 'failed');
    assert.equal(stopped.error?.code, 'RESTORE_LARGE_FILES');
    assert.match(stopped.error?.message ?? '', new RegExp(`video\\.bin: blob ${blob}, ${size} bytes`));
    assert.match(stopped.error?.hint ?? '', /Repository settings > Advanced/);
    assert.deepEqual(await remoteRefs(slug), refsBefore, 'nothing was written');

    // Confirmed, into a new repository, whose limit is on as every new repository's: Bitbucket refuses the
    // push (the file is new to it), and the job says why; no real ref was set there.
    const copy = 'large-files-copy';
    const refused = await settledJob(valueOf(await app.repoPage('startRestore', { snapshotId: taken.id, mode: 'new-repository', newRepositorySlug: copy, largeFilesConfirmed: true }, page), 'startRestore').id, slug);
    assert.equal(refused.state, 'failed');
    assert.equal(refused.error?.code, 'RESTORE_LARGE_FILE_REFUSED', refused.error?.message);
    assert.equal((await remoteRefs(copy)).get('refs/heads/main'), undefined, 'no real ref was set by the refused restore');

    // Beside, into the repository that holds the file already, the confirmed restore completes (Bitbucket's
    // limit is on pushes of new files: this repository's own objects are not sent again).
    const confirmed = await settledJob(valueOf(await app.repoPage('startRestore', { snapshotId: taken.id, mode: 'beside', largeFilesConfirmed: true }, page), 'startRestore').id, slug);
    assert.equal(confirmed.state, 'done', confirmed.error?.message);
    assert.equal(confirmed.result?.plan?.largeFileCount, 1);
    assert.deepEqual(confirmed.result?.plan?.largeFiles, [{ bundle: 1, size, blob, path: 'video.bin' }]);
    assert.equal(confirmed.result?.plan?.pushes, taken.bundles.length + 1);
    assert.equal((await remoteRefs(slug)).get(besideRefName(taken.id, 'refs/heads/main')), taken.refs.find((ref) => ref.name === 'refs/heads/main')?.oid);
  });
});
