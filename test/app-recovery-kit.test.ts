/**
 * The app keeps the recovery kit in the bucket (issue 19): after a sweep the bucket holds
 * recovery/lifeboat.mjs, its sha256sum line and the playbook; the file downloaded from there
 * checks out with `sha256sum -c` and runs with `node` alone; a kit from another build is replaced.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JobView, Result } from '../src/contract.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { RECOVERY_KEYS } from '../src/engine/bucket/bucket-keys.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { collect } from '../src/engine/streams.js';
import { RECOVERY_BUNDLE } from '../src/generated/recovery-bundle.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { startAppWorld, type AppWorld } from './helpers/app-world.js';

describe('the recovery kit the app keeps in the bucket', () => {
  let app: AppWorld;
  let store: BlobStore;
  let scratch: string;

  before(async () => {
    app = await startAppWorld();
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-app-recovery-'));
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    // No repository chosen: the sweep is all that runs (the kit does not wait for backups).
    await app.configure({ repositories: { mode: 'chosen', chosen: [], includeNew: false } });
  });

  after(async () => {
    await app?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const bytesOf = async (key: string): Promise<Buffer> => Buffer.from(await collect(await store.get(key)));
  const sweep = async (): Promise<void> => {
    const job = (await app.adminPage('sweepNow', undefined)) as Result<JobView>;
    assert.ok(job.ok, JSON.stringify(job));
    await app.world.host.idle();
  };

  it('a sweep writes the file, its SHA-256 and the playbook; downloaded, the file checks out and runs with node alone', async () => {
    await sweep();
    const file = await bytesOf(RECOVERY_KEYS.bundle);
    const sha256 = createHash('sha256').update(file).digest('hex');
    assert.equal(sha256, RECOVERY_BUNDLE.sha256, 'the build the app carries');
    const line = (await bytesOf(RECOVERY_KEYS.sha256)).toString();
    assert.equal(line, `${sha256}  lifeboat.mjs\n`);
    const readme = (await bytesOf(RECOVERY_KEYS.readme)).toString();
    assert.match(readme, new RegExp(`node lifeboat\\.mjs snapshots --bucket s3://${DEMO_BUCKET}/lifeboat --endpoint ${app.world.urls.bucket.endpoint}`));

    // As the playbook says: the folder downloaded, the sum checked, the file run.
    const folder = join(scratch, 'lifeboat-recovery');
    await mkdir(folder);
    await writeFile(join(folder, 'lifeboat.mjs'), file);
    await writeFile(join(folder, 'lifeboat.mjs.sha256'), line);
    assert.match(execFileSync('sha256sum', ['-c', 'lifeboat.mjs.sha256'], { cwd: folder, encoding: 'utf8' }), /lifeboat\.mjs: OK/);
    assert.match(execFileSync(process.execPath, ['lifeboat.mjs', 'help'], { cwd: folder, encoding: 'utf8' }), /^lifeboat — /);
  });

  it('a kit from another build is replaced by the next sweep', async () => {
    const old = Buffer.from('// an older lifeboat\n');
    await store.put(RECOVERY_KEYS.bundle, old);
    await store.put(RECOVERY_KEYS.sha256, Buffer.from(`${createHash('sha256').update(old).digest('hex')}  lifeboat.mjs\n`));
    await sweep();
    assert.equal(createHash('sha256').update(await bytesOf(RECOVERY_KEYS.bundle)).digest('hex'), RECOVERY_BUNDLE.sha256);
    assert.equal((await bytesOf(RECOVERY_KEYS.sha256)).toString(), `${RECOVERY_BUNDLE.sha256}  lifeboat.mjs\n`);
  });
});
