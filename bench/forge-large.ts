/**
 * "Large repository on Forge": the Forge app's first backup of a generated
 * single-branch repository through the local world (the Forge host running the
 * app, the Bitbucket emulator, s3rver), with Forge's per-request cap and
 * Bitbucket's git rate scaled down together so that the run takes minutes, not
 * hours: a request at the cap carries CAP_SECONDS × BYTES_PER_SECOND, and one
 * fetch of the whole repository would pass it several times over. Reports the
 * segments, the longest git request (the cap cuts anything longer), the total
 * time and the peak memory of this process (the app with the sandbox around it:
 * emulator and s3rver share it; git's own processes do not count).
 *
 * LIFEBOAT_BENCH_LARGE_MB sets the repository's size (default 1000).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { BackupRequested, JobView, Result } from '../src/contract.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { isSegmentRef } from '../src/engine/segments.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld } from '../test/helpers/app-world.js';
import { git, refsOf } from '../test/helpers/repos.js';

/** Forge's 180 s cap scaled down 18 times; the rate keeps a request at the cap to 40 MiB. */
const CAP_SECONDS = 10;
const BYTES_PER_SECOND = 4 * 1024 * 1024;
/** Random, so incompressible: the pack is as large as the content. 25 commits a MB puts a cut point every 20 MB. */
const BLOB_BYTES = 40_000;
const SLUG = 'docs';

export interface ForgeLargeRow {
  measure: string;
  value: string;
  detail: string;
}

export async function benchForgeLarge(log: (line: string) => void): Promise<ForgeLargeRow[]> {
  const megabytes = Number(process.env.LIFEBOAT_BENCH_LARGE_MB ?? 1000);
  if (!Number.isFinite(megabytes) || megabytes < 10) throw new Error('LIFEBOAT_BENCH_LARGE_MB needs a number of megabytes ≥ 10.');
  const app = await startAppWorld({
    hostLimits: { outboundRequestSeconds: CAP_SECONDS },
    bitbucketLimits: { bytesPerSecond: BYTES_PER_SECOND },
    appVariables: { LIFEBOAT_OUTBOUND_REQUEST_SECONDS: String(CAP_SECONDS) },
  });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 200);
  try {
    await app.configure();
    const bare = app.world.emulator.gitDir(DEMO_WORKSPACE.slug, SLUG);
    const commits = Math.ceil((megabytes * 1e6) / BLOB_BYTES);
    log(`forge: generating ${commits} commits of ${BLOB_BYTES / 1000} kB of random bytes on one branch`);
    const generatedAt = Date.now();
    await generateHistory(bare, commits);
    const packBytes = Number(/size-pack: (\d+)/.exec(git(bare, ['count-objects', '-v']))?.[1] ?? 0) * 1024;
    const sourceRefs = refsOf(bare).trim().split('\n').filter(Boolean).sort();
    log(`forge: pack ${(packBytes / 1e6).toFixed(0)} MB generated in ${((Date.now() - generatedAt) / 1000).toFixed(0)} s; backing up through the app`);

    app.world.emulator.clearRequests();
    const started = Date.now();
    const asked = (await app.repoPage('backupNow', undefined, { as: 'admin', repositorySlug: SLUG })) as Result<BackupRequested>;
    if (!asked.ok) throw new Error(`backupNow: ${asked.error.message}`);
    await app.world.host.idle();
    const seconds = (Date.now() - started) / 1000;
    const job = (await app.repoPage('getJob', { jobId: asked.value.job.id }, { as: 'admin', repositorySlug: SLUG })) as Result<JobView>;
    if (!job.ok || job.value.state !== 'done') throw new Error(`the backup did not finish: ${JSON.stringify(job)}`);

    const { bucket } = app.world.urls;
    const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    const repo = { workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid(SLUG)) };
    const [id] = await listSnapshotIds(store, repo);
    const snapshot = await readManifest(store, { repo, id: id! }, app.trust());
    const segments = snapshot.bundles.filter((bundle) => bundle.refs.every((ref) => isSegmentRef(ref.name))).length;
    const refsMatch = JSON.stringify(snapshot.refs.map((ref) => `${ref.oid} ${ref.name}`).sort()) === JSON.stringify(sourceRefs);
    const gitRequests = app.world.emulator.requests().filter((request) => !request.rest);
    const longest = gitRequests.reduce((most, request) => (request.ms > most.ms ? request : most), gitRequests[0]!);
    const runs = app.world.host.invocations.filter((record) => record.functionKey === 'run-backup');
    const failed = runs.filter((record) => record.outcome !== 'ok').length;
    const largest = Math.max(...snapshot.bundles.map((bundle) => bundle.pack.bytes));
    const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
    return [
      { measure: 'repository', value: mb(packBytes), detail: `${commits} commits on one branch; cap ${CAP_SECONDS} s, git ${mb(BYTES_PER_SECOND)}/s: one fetch of it all would take ${(packBytes / BYTES_PER_SECOND).toFixed(0)} s` },
      { measure: 'segments', value: `${segments} + ${snapshot.bundles.length - segments}`, detail: `segments of history + the refs' bundle; largest bundle ${mb(largest)}; refs ${refsMatch ? 'identical to the source' : 'DIFFER from the source'}` },
      { measure: 'longest request', value: `${(longest.ms / 1000).toFixed(1)} s`, detail: `${longest.method} ${longest.path.replace(/^.*\//, '')}, of ${gitRequests.length} git requests; cap ${CAP_SECONDS} s` },
      { measure: 'total time', value: `${seconds.toFixed(0)} s`, detail: `${runs.length} backup job(s), ${failed} failed or retried; ${(packBytes / 1e6 / seconds).toFixed(1)} MB/s end to end` },
      { measure: 'peak memory', value: mb(peakRss), detail: 'RSS of the process running the app, the emulator and s3rver, sampled every 200 ms' },
    ];
  } finally {
    clearInterval(sampler);
    await app.close();
  }
}

/** `commits` commits of random content on refs/heads/main, the repository's other refs removed, streamed into git fast-import. */
async function generateHistory(bare: string, commits: number): Promise<void> {
  for (const line of refsOf(bare).trim().split('\n').filter(Boolean)) git(bare, ['update-ref', '-d', line.split(' ')[1]!]);
  const importer = spawn('git', ['fast-import', '--quiet'], { cwd: bare, stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = once(importer, 'exit');
  for (let n = 1; n <= commits; n += 1) {
    const content = randomBytes(BLOB_BYTES);
    const header = `commit refs/heads/main\ncommitter Lifeboat Bench <bench@lifeboat.invalid> ${1700000000 + n} +0000\ndata 12\nWork ${String(n).padStart(7, '0')}\nM 644 inline data/file-${n % 97}.bin\ndata ${content.length}\n`;
    if (!importer.stdin.write(Buffer.concat([Buffer.from(header), content, Buffer.from('\n')]))) await once(importer.stdin, 'drain');
  }
  importer.stdin.end();
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`git fast-import exited with ${code}`);
  git(bare, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
}
