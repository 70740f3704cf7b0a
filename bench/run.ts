/**
 * `npm run bench [-- [--repeat N] [--prs N] [small] [medium] [large] [prs] [forge]]`: Lifeboat's CLI against plain git on
 * generated repositories, all on 127.0.0.1 (git http-backend and s3rver), and the
 * REST calls of the pull request export against the Bitbucket emulator
 * (bench/pull-requests.ts), and the Forge app's first backup of a large single-branch repository
 * under scaled Forge and Bitbucket limits (bench/forge-large.ts). Prints the tables and writes bench/.data/results.json. It is a report: the exit code is
 * 0 whatever the figures, and a failing Lifeboat command shows as its error.
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGitServer, type GitServer } from '../test/helpers/git-server.js';
import { startS3Server } from '../test/helpers/s3.js';
import { BENCH_REPOS as REPOS, DATA_DIR, generateRepo, type GeneratedRepo } from './generate-repo.js';
import { benchPullRequests, type PullRequestRow } from './pull-requests.js';
import { benchForgeLarge, type ForgeLargeRow } from './forge-large.js';
import { firstLine, HAVE_GNU_TIME, mustRun, run, type RunResult } from './lib/proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIFEBOAT = join(ROOT, 'bin', 'lifeboat.js');
/** Time and memory targets apply to these; the small repository's figures are mostly process start-up. */
const TARGETED = new Set(['medium', 'large']);
const TARGETS = { vsMirrorBundle: 0.35, vsUploadPack: 1.3, rssBytes: 150e6, incrementalShare: 0.01, restoreVsPush: 1.1 };
const COMMAND_TIMEOUT_MS = 30 * 60_000;
/** Fixed identity and dates, so the incremental commit is the same object in every run. */
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_AUTHOR_DATE: '1700000000 +0000',
  GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com', GIT_COMMITTER_DATE: '1700000000 +0000',
  GIT_TERMINAL_PROMPT: '0',
};

interface Row {
  repo: string;
  measure: string;
  lifeboat: string;
  baseline: string;
  value: string;
  target: string;
  result: 'PASS' | 'FAIL' | 'info' | 'error';
}

/** A Lifeboat CLI run: its process figures and parsed --json output, or the reason it failed. */
type CliRun = { ok: true; run: RunResult; json: Record<string, unknown> } | { ok: false; run?: RunResult; error: string };

interface Context {
  /** Timed steps run this many times; the fastest counts. */
  repeat: number;
  scratch: string;
  git: GitServer;
  gitRoot: string;
  bucket: string;
  bucketDir: string;
  childEnv: NodeJS.ProcessEnv;
}

const mb = (bytes: number): string => bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} kB` : `${bytes} B`;
const secs = (seconds: number): string => `${seconds.toFixed(1)} s`;
const rss = (kib: number | undefined): string => kib === undefined ? 'n/a' : mb(kib * 1024);
const verdict = (ok: boolean): Row['result'] => ok ? 'PASS' : 'FAIL';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { repeat: { type: 'string', default: '1' }, prs: { type: 'string', default: '5000' } }, allowPositionals: true });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat needs a whole number ≥ 1.');
  const pullRequests = Number(values.prs);
  if (!Number.isInteger(pullRequests) || pullRequests < 20) throw new Error('--prs needs a whole number ≥ 20.');
  const unknown = positionals.filter((name) => name !== 'prs' && name !== 'forge' && !REPOS.some((spec) => spec.name === name));
  if (unknown.length > 0) throw new Error(`Unknown benchmark ${unknown.join(', ')}; choose among ${[...REPOS.map((spec) => spec.name), 'prs', 'forge'].join(', ')}.`);
  const specs = positionals.length === 0 ? REPOS : REPOS.filter((spec) => positionals.includes(spec.name));
  const withPullRequests = positionals.length === 0 || positionals.includes('prs');
  const withForge = positionals.length === 0 || positionals.includes('forge');
  if (!HAVE_GNU_TIME) console.error('GNU time (/usr/bin/time) is missing: install it with `apt-get install -y time`. Falling back to polling VmHWM in /proc.');

  const log = (line: string): void => console.error(line);
  const repos: GeneratedRepo[] = [];
  for (const spec of specs) {
    const repo = await generateRepo(spec, log);
    log(`${spec.name}: pack ${mb(repo.packBytes)}, ${repo.objects} objects, ${repo.commits} commits, ${repo.refs} refs, generated in ${secs(repo.generateSeconds)}${repo.cached ? ' (cached)' : ''}`);
    repos.push(repo);
  }

  const notes: string[] = [];
  if (specs.length > 0) {
    log('building the CLI (tsc -p tsconfig.build.json)');
    const build = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT });
    if (!build.ok) notes.push(`The CLI build reported errors (output still emitted): ${firstLine(build.stdout + build.stderr)}`);
  }

  const scratch = join(DATA_DIR, `run-${process.pid}`);
  const gitRoot = join(scratch, 'git');
  await mkdir(gitRoot, { recursive: true });
  // s3rver's data directory (the helper uses os.tmpdir()) and every child's temp files stay under bench/.data.
  process.env.TMPDIR = scratch;
  const git = await startGitServer({ root: gitRoot, receivePack: true });
  const s3 = await startS3Server();
  const rows: Row[] = [];
  const details: Record<string, unknown>[] = [];
  let pullRequestRows: PullRequestRow[] = [];
  let forgeRows: ForgeLargeRow[] = [];
  try {
    const context: Context = {
      repeat,
      scratch, git, gitRoot,
      bucket: s3.bucket,
      bucketDir: join(s3.directory, s3.bucket),
      // Every write is signed: the first `lifeboat init` creates this key file, later commands sign with it.
      childEnv: { ...process.env, ...s3.env, ...GIT_ENV, LIFEBOAT_SIGNING_KEY: join(scratch, 'signing.key') },
    };
    for (const repo of repos) {
      const measured = await measureRepo(context, repo, log);
      rows.push(...measured.rows);
      details.push({ repo: { ...repo, gitDir: relative(ROOT, repo.gitDir) }, measurements: measured.measurements });
    }
    if (withPullRequests) pullRequestRows = await benchPullRequests(join(scratch, 'pull-requests'), pullRequests, 10, log);
    if (withForge) forgeRows = await benchForgeLarge(log);
  } finally {
    await s3.close();
    await git.close();
    await rm(scratch, { recursive: true, force: true });
  }

  notes.push(
    `Times are wall-clock, ${repeat === 1 ? 'one run each' : `the fastest of ${repeat} runs`} (--repeat N), page cache warm; git, s3rver and the CLI share this machine and talk over 127.0.0.1.`,
    'upload-pack baseline: `GIT_PROTOCOL=version=2 git upload-pack --stateless-rpc <repo>` fed the v2 fetch request Lifeboat sends (command=fetch, thin-pack, ofs-delta, progress on, one want per distinct ref oid, done): the process git http-backend runs for the fetch POST, without HTTP; its output is counted and discarded. The served packs have a bitmap index (git repack\'s default for bare repositories), as Lifeboat\'s backups see them; "via HTTP" is the same request by curl through http-backend and test/helpers/git-server.ts, "no bitmaps" is upload-pack with pack.useBitmaps=false (info only).',
    'clone baseline: `git clone --mirror <http url>` through the same git http-backend, then `git bundle create <file> --all` in the mirror.',
    'restore baseline: `git push --mirror <http url>` from the served repository into another empty served repository.',
    'RSS: peak resident set of the CLI process (GNU time %M). Time and RSS targets apply to the medium and large repositories; the small one is dominated by process start-up (info only).',
  );
  console.log(`\nLifeboat benchmarks — ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, node ${process.version}, ${firstLine(await mustRun('git', ['--version']))}\n`);
  for (const repo of repos) {
    console.log(`- ${repo.spec.name}: pack ${mb(repo.packBytes)}, ${repo.objects} objects, ${repo.commits} commits, ${repo.refs} refs; generated in ${secs(repo.generateSeconds)} (repack ${secs(repo.repackSeconds)})`);
  }
  if (rows.length > 0) {
    console.log(`\n${table(rows)}\n`);
    for (const note of notes) console.log(`* ${note}`);
  }
  if (withPullRequests) {
    console.log(`\nPull request export, REST calls counted on the Bitbucket emulator\n\n${pullRequestTable(pullRequestRows)}\n`);
  }
  if (withForge) {
    console.log(`\nLarge repository on Forge (the app in the local world, limits scaled: bench/forge-large.ts)\n\n${forgeTable(forgeRows)}\n`);
  }
  const resultsPath = join(DATA_DIR, 'results.json');
  await writeFile(resultsPath, JSON.stringify({ date: new Date().toISOString(), rows, notes, details, pullRequests: pullRequestRows, forge: forgeRows }, null, 2) + '\n');
  console.log(`\nResults: ${relative(ROOT, resultsPath)}`);
}

async function measureRepo(ctx: Context, repo: GeneratedRepo, log: (line: string) => void): Promise<{ rows: Row[]; measurements: Record<string, unknown> }> {
  const name = repo.spec.name;
  const step = (text: string): void => log(`[${name}] ${text}`);
  const served = `${name}.git`;
  const servedDir = join(ctx.gitRoot, served);
  // A hard-linked copy: pushes below must not touch the cached repository.
  await mustRun('git', ['clone', '--quiet', '--mirror', repo.gitDir, servedDir]);
  await warmPageCache(servedDir);
  const url = ctx.git.url(served);
  const work = join(ctx.scratch, name);
  await mkdir(work);
  const timed = (result: RunResult): number | undefined => result.ok ? result.seconds : undefined;
  const cliTimed = (result: CliRun): number | undefined => result.ok ? result.run.seconds : undefined;

  step('baseline: git upload-pack alone');
  const uploadPackFigures = await uploadPackBaseline(ctx, servedDir, url, work);
  const uploadPack = uploadPackFigures.bitmaps;

  step('baseline: git clone --mirror + git bundle create --all');
  const cloneBundle = await fastest(ctx.repeat, (result) => result.seconds, async () => {
    const mirrorDir = join(work, 'mirror.git');
    const clone = await run('git', ['clone', '--quiet', '--mirror', url, mirrorDir], { scratch: ctx.scratch, env: ctx.childEnv });
    const bundle = await run('git', ['bundle', 'create', '--quiet', join(work, 'all.bundle'), '--all'], { cwd: mirrorDir, scratch: ctx.scratch, env: ctx.childEnv });
    if (!clone.ok || !bundle.ok) throw new Error(`clone/bundle baseline failed: ${firstLine(clone.stderr + bundle.stderr)}`);
    const bundleBytes = (await stat(join(work, 'all.bundle'))).size;
    await rm(mirrorDir, { recursive: true });
    await rm(join(work, 'all.bundle'));
    return { clone, bundle, bundleBytes, seconds: clone.seconds + bundle.seconds };
  });
  const { clone, bundle } = cloneBundle.best;

  // Each full backup goes to its own prefix (a second one into the same prefix would be a no-change backup).
  // The first prefix then carries the restore, incremental and no-change steps.
  step('lifeboat init + full backup');
  const cliAt = (attempt: number) => (args: string[]): Promise<CliRun> =>
    lifeboat(ctx, [...args, '--bucket', `s3://${ctx.bucket}/bench-${name}-${attempt}`, '--json', '--quiet']);
  const cli = cliAt(0);
  const fulls = await fastest(ctx.repeat, (result: { run: CliRun; written: number }) => cliTimed(result.run), async (attempt) => {
    const init = await cliAt(attempt)(['init']);
    const before = await bucketFiles(ctx.bucketDir);
    const backup = init.ok ? await cliAt(attempt)(['backup', url, '--repo', `bench/${name}`]) : init;
    return { run: backup, written: writtenBytes(before, await bucketFiles(ctx.bucketDir)) };
  });
  const full = fulls.best.run;
  const first = fulls.attempts[0]!.run;
  const fullWritten = fulls.attempts[0]!.written;
  const fullPeakKiB = Math.max(...fulls.attempts.map((attempt) => attempt.run.ok ? attempt.run.run.peakRssKiB ?? 0 : 0)) || undefined;
  const snapshot = first.ok && typeof first.json.snapshot === 'string' ? first.json.snapshot : undefined;

  step('baseline: git push --mirror into an empty repository');
  const emptyRepo = async (repoName: string): Promise<string> => {
    await mustRun('git', ['init', '--quiet', '--bare', join(ctx.gitRoot, repoName)]);
    return ctx.git.url(repoName);
  };
  const push = (await fastest(ctx.repeat, timed, async (attempt) => {
    const result = await run('git', ['push', '--quiet', '--mirror', await emptyRepo(`${name}-push-${attempt}.git`)], { cwd: servedDir, scratch: ctx.scratch, env: ctx.childEnv });
    if (!result.ok) throw new Error(`push --mirror baseline failed: ${firstLine(result.stderr)}`);
    return result;
  })).best;

  step('lifeboat restore into an empty repository');
  const restore = snapshot
    ? (await fastest(ctx.repeat, cliTimed, async (attempt) => cli(['restore', snapshot, '--push', await emptyRepo(`${name}-restore-${attempt}.git`)]))).best
    : { ok: false as const, error: 'no snapshot from the full backup' };
  const refsCheck = restore.ok ? await compareRefs(join(ctx.gitRoot, `${name}-push-0.git`), join(ctx.gitRoot, `${name}-restore-0.git`)) : undefined;
  for (const entry of await readdir(ctx.gitRoot)) {
    if (entry.startsWith(`${name}-push-`) || entry.startsWith(`${name}-restore-`)) await rm(join(ctx.gitRoot, entry), { recursive: true });
  }

  step('one commit pushed, then incremental backup');
  await pushOneCommit(ctx, servedDir, url, work);
  let before = await bucketFiles(ctx.bucketDir);
  const incremental = first.ok ? await cli(['backup', url, '--repo', `bench/${name}`]) : first;
  const incrementalWritten = writtenBytes(before, await bucketFiles(ctx.bucketDir));

  step('no-change backup');
  before = await bucketFiles(ctx.bucketDir);
  const requestsBefore = ctx.git.requests.length;
  const unchanged = incremental.ok ? await cli(['backup', url, '--repo', `bench/${name}`]) : incremental;
  const unchangedRequests = ctx.git.requests.slice(requestsBefore);
  const unchangedWritten = writtenBytes(before, await bucketFiles(ctx.bucketDir));

  await rm(servedDir, { recursive: true });
  await rm(work, { recursive: true });

  const cloneBundleSeconds = cloneBundle.best.seconds;
  const targeted = TARGETED.has(name);
  /** Untargeted repositories show the target in parentheses and 'info' instead of a verdict. */
  const target = (text: string): string => targeted ? text : `(${text})`;
  const judge = (ok: boolean): Row['result'] => targeted ? verdict(ok) : 'info';
  const rows: Row[] = [];
  const row = (measure: string, cells: Omit<Row, 'repo' | 'measure'>): void => { rows.push({ repo: name, measure, ...cells }); };
  const failed = (measure: string, run: CliRun & { ok: false }, baseline: string, target: string): void =>
    row(measure, { lifeboat: `error: ${run.error}`, baseline, value: '—', target, result: 'error' });

  const cloneBaseline = `${secs(cloneBundleSeconds)} (clone ${secs(clone.seconds)} + bundle ${secs(bundle.seconds)})`;
  if (full.ok) {
    const ratio = full.run.seconds / cloneBundleSeconds;
    row('full backup ÷ clone --mirror + bundle --all', { lifeboat: secs(full.run.seconds), baseline: cloneBaseline, value: ratio.toFixed(2), target: target(`≤ ${TARGETS.vsMirrorBundle}`), result: judge(ratio <= TARGETS.vsMirrorBundle) });
    const packRatio = full.run.seconds / uploadPack.seconds;
    row('full backup ÷ upload-pack alone', { lifeboat: secs(full.run.seconds), baseline: `${secs(uploadPack.seconds)} (${mb(uploadPack.stdoutBytes)}; ${uploadPackFigures.http ? `via HTTP ${secs(uploadPackFigures.http.seconds)}, ` : ''}no bitmaps ${secs(uploadPackFigures.noBitmaps.seconds)})`, value: packRatio.toFixed(2), target: target(`≤ ${TARGETS.vsUploadPack}`), result: judge(packRatio <= TARGETS.vsUploadPack) });
    row('full backup peak RSS', {
      lifeboat: `${rss(fullPeakKiB)}${ctx.repeat > 1 ? ` (highest of ${ctx.repeat})` : ''}`,
      baseline: `clone ${rss(clone.peakRssKiB)}, bundle ${rss(bundle.peakRssKiB)}`,
      value: rss(fullPeakKiB),
      target: target(`≤ ${mb(TARGETS.rssBytes)}`),
      result: fullPeakKiB === undefined ? 'error' : judge(fullPeakKiB * 1024 <= TARGETS.rssBytes),
    });
  } else {
    failed('full backup ÷ clone --mirror + bundle --all', full, cloneBaseline, target(`≤ ${TARGETS.vsMirrorBundle}`));
    failed('full backup ÷ upload-pack alone', full, secs(uploadPack.seconds), target(`≤ ${TARGETS.vsUploadPack}`));
    failed('full backup peak RSS', full, `clone ${rss(clone.peakRssKiB)}, bundle ${rss(bundle.peakRssKiB)}`, target(`≤ ${mb(TARGETS.rssBytes)}`));
  }

  const incrementalMeasure = 'incremental (1 commit): bucket bytes ÷ full';
  const incrementalTarget = `≤ ${TARGETS.incrementalShare * 100} %`;
  // Judged on everything written to the bucket (bundle, manifest, ...), not only the bundle the CLI reports.
  if (incremental.ok && fullWritten > 0) {
    const share = incrementalWritten / fullWritten;
    row(incrementalMeasure, {
      lifeboat: `${mb(incrementalWritten)} (bundle ${mb(Number(incremental.json.bytesUploaded))}) in ${secs(incremental.run.seconds)}`,
      baseline: `full ${mb(fullWritten)}`,
      value: `${(share * 100).toFixed(3)} %`,
      target: incrementalTarget,
      result: verdict(share <= TARGETS.incrementalShare),
    });
  } else {
    failed(incrementalMeasure, incremental.ok ? { ok: false, error: 'the full backup wrote nothing to the bucket' } : incremental, `full ${mb(fullWritten)}`, incrementalTarget);
  }

  const unchangedMeasure = 'no-change backup: git requests, bucket bytes';
  const unchangedTarget = '2 (discovery + ls-refs), 0 B';
  if (unchanged.ok) {
    const requests = unchangedRequests.map((request) => `${request.method} ${request.path.replace(/^\/[^/]+\//, '')}`);
    const onlyListing = unchangedRequests.length <= 2;
    row(unchangedMeasure, {
      lifeboat: `${requests.join(', ')} in ${secs(unchanged.run.seconds)}`,
      baseline: '—',
      value: `${unchangedRequests.length}, ${mb(unchangedWritten)}`,
      target: unchangedTarget,
      result: verdict(onlyListing && unchangedWritten === 0),
    });
  } else {
    failed(unchangedMeasure, unchanged, '—', unchangedTarget);
  }

  const restoreMeasure = 'restore by push ÷ git push --mirror';
  if (restore.ok) {
    const ratio = restore.run.seconds / push.seconds;
    row(restoreMeasure, {
      lifeboat: `${secs(restore.run.seconds)}, RSS ${rss(restore.run.peakRssKiB)}${refsCheck ? ` (refs ${refsCheck})` : ''}`,
      baseline: secs(push.seconds),
      value: ratio.toFixed(2),
      target: target(`≤ ${TARGETS.restoreVsPush}`),
      result: judge(ratio <= TARGETS.restoreVsPush),
    });
  } else {
    failed(restoreMeasure, restore, secs(push.seconds), target(`≤ ${TARGETS.restoreVsPush}`));
  }

  const figures = (cliRun: CliRun) => cliRun.ok
    ? { seconds: cliRun.run.seconds, peakRssKiB: cliRun.run.peakRssKiB, json: cliRun.json }
    : { error: cliRun.error, stderr: cliRun.run?.stderr.slice(0, 4000) };
  return {
    rows,
    measurements: {
      uploadPack: {
        seconds: uploadPack.seconds, bytes: uploadPack.stdoutBytes, peakRssKiB: uploadPack.peakRssKiB,
        noBitmapsSeconds: uploadPackFigures.noBitmaps.seconds, viaHttpSeconds: uploadPackFigures.http?.seconds,
      },
      clone: { seconds: clone.seconds, peakRssKiB: clone.peakRssKiB },
      bundle: { seconds: bundle.seconds, peakRssKiB: bundle.peakRssKiB, bytes: cloneBundle.best.bundleBytes },
      cloneBundleAttempts: cloneBundle.attempts.map((attempt) => attempt.seconds),
      pushMirror: { seconds: push.seconds, peakRssKiB: push.peakRssKiB },
      lifeboat: {
        full: { ...figures(full), bucketBytesWritten: fullWritten, attempts: fulls.attempts.map((attempt) => figures(attempt.run)) },
        restore: { ...figures(restore), refs: refsCheck },
        incremental: { ...figures(incremental), bucketBytesWritten: incrementalWritten },
        unchanged: { ...figures(unchanged), bucketBytesWritten: unchangedWritten, requests: unchangedRequests },
      },
    },
  };
}

async function lifeboat(ctx: Context, args: string[]): Promise<CliRun> {
  // Run as a user runs it: the executable, with the Node flags of its #! line.
  const result = await run(LIFEBOAT, args, { cwd: ROOT, env: ctx.childEnv, scratch: ctx.scratch, timeoutMs: COMMAND_TIMEOUT_MS });
  if (!result.ok) return { ok: false, run: result, error: errorLine(result.stderr || result.stdout) };
  try {
    return { ok: true, run: result, json: JSON.parse(result.stdout) as Record<string, unknown> };
  } catch {
    return { ok: false, run: result, error: `stdout is not JSON: ${firstLine(result.stdout)}` };
  }
}

/** The CLI's own message is the first line; for a crash, Node prints the source location first, so take the error line. */
function errorLine(stderr: string): string {
  return stderr.split('\n').find((line) => /^\w*Error\b|^error\b/i.test(line.trim()))?.trim() ?? firstLine(stderr);
}

interface UploadPackFigures {
  /** What the served repository does: the repack left a bitmap index, as git does for bare repositories. */
  bitmaps: RunResult;
  noBitmaps: RunResult;
  /** The same request by curl through git http-backend and test/helpers/git-server.ts; undefined without curl. */
  http?: RunResult;
}

/** Runs a measurement `times` times and keeps the fastest; an attempt without a time (failed) ends the series and is the answer. */
async function fastest<T>(times: number, seconds: (result: T) => number | undefined, measure: (attempt: number) => Promise<T>): Promise<{ best: T; attempts: T[] }> {
  const attempts: T[] = [];
  let best: T | undefined;
  for (let attempt = 0; attempt < times; attempt++) {
    const result = await measure(attempt);
    attempts.push(result);
    const time = seconds(result);
    if (time === undefined) return { best: result, attempts };
    if (best === undefined || time < seconds(best)!) best = result;
  }
  return { best: best!, attempts };
}

/** The v2 fetch Lifeboat sends (src/engine/git/fetch.ts), given straight to upload-pack as http-backend would. */
async function uploadPackBaseline(ctx: Context, servedDir: string, url: string, work: string): Promise<UploadPackFigures> {
  const oids = new Set((await mustRun('git', ['for-each-ref', '--format=%(objectname)'], { cwd: servedDir })).trim().split('\n'));
  const pkt = (line: string): string => (line.length + 4).toString(16).padStart(4, '0') + line;
  const request = [pkt('command=fetch\n'), '0001', pkt('thin-pack\n'), pkt('ofs-delta\n'), ...[...oids].map((oid) => pkt(`want ${oid}\n`)), pkt('done\n'), '0000'].join('');
  const requestFile = join(work, 'fetch-request');
  await writeFile(requestFile, request);
  const uploadPack = async (config: string[]): Promise<RunResult> => {
    const result = await run('git', [...config, 'upload-pack', '--stateless-rpc', servedDir], {
      env: { ...ctx.childEnv, GIT_PROTOCOL: 'version=2' },
      stdinFile: requestFile,
      stdout: 'count',
      scratch: ctx.scratch,
    });
    if (!result.ok) throw new Error(`upload-pack baseline failed: ${firstLine(result.stderr)}`);
    return result;
  };
  const bitmaps = (await fastest(ctx.repeat, (result: RunResult) => result.seconds, () => uploadPack([]))).best;
  const noBitmaps = await uploadPack(['-c', 'pack.useBitmaps=false']);
  const http = await run('curl', ['-sS', '--fail', '-o', '/dev/null', '--data-binary', `@${requestFile}`,
    '-H', 'Content-Type: application/x-git-upload-pack-request', '-H', 'Git-Protocol: version=2', `${url}/git-upload-pack`]).catch(() => undefined);
  return { bitmaps, noBitmaps, ...(http?.ok ? { http } : {}) };
}

/** One commit that appends a line to a text file, made with plumbing in a --shared clone (no checkout of a large tree), pushed with git. */
async function pushOneCommit(ctx: Context, servedDir: string, url: string, work: string): Promise<void> {
  const clone = join(work, 'work');
  const opts = { cwd: clone, env: { ...ctx.childEnv, GIT_INDEX_FILE: join(work, 'index') } };
  await mustRun('git', ['clone', '--quiet', '--shared', '--no-checkout', servedDir, clone]);
  const path = (await mustRun('git', ['ls-tree', '-r', '--name-only', 'HEAD'], opts)).split('\n').find((file) => file.endsWith('.ts'));
  if (!path) throw new Error('no .ts file at HEAD to edit');
  const content = await mustRun('git', ['cat-file', 'blob', `HEAD:${path}`], opts);
  const blobFile = join(work, 'edited');
  await writeFile(blobFile, `${content}// benchmark edit\n`);
  const blob = (await mustRun('git', ['hash-object', '-w', blobFile], opts)).trim();
  await mustRun('git', ['read-tree', 'HEAD'], opts);
  await mustRun('git', ['update-index', '--cacheinfo', `100644,${blob},${path}`], opts);
  const tree = (await mustRun('git', ['write-tree'], opts)).trim();
  const commit = (await mustRun('git', ['commit-tree', tree, '-p', 'HEAD', '-m', 'Benchmark: one more commit'], opts)).trim();
  await mustRun('git', ['push', '--quiet', url, `${commit}:refs/heads/main`], opts);
}

/** "identical" or what differs between the refs of two repositories. */
async function compareRefs(expectedDir: string, actualDir: string): Promise<string> {
  const refs = async (dir: string) => new Map((await mustRun('git', ['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: dir })).trim().split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]));
  const expected = await refs(expectedDir);
  const actual = await refs(actualDir);
  const missing = [...expected.keys()].filter((ref) => !actual.has(ref)).length;
  const extra = [...actual.keys()].filter((ref) => !expected.has(ref)).length;
  const changed = [...expected].filter(([ref, oid]) => actual.has(ref) && actual.get(ref) !== oid).length;
  return missing + extra + changed === 0 ? `identical, ${expected.size}` : `DIFFER: ${missing} missing, ${extra} extra, ${changed} changed`;
}

/** s3rver keeps each object's bytes in a `<key>._S3rver_object` file; size and mtime tell what a command wrote. */
async function bucketFiles(dir: string): Promise<Map<string, { size: number; mtimeMs: number }>> {
  const files = new Map<string, { size: number; mtimeMs: number }>();
  if (!existsSync(dir)) return files;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('._S3rver_object')) continue;
    const path = join(entry.parentPath, entry.name);
    const info = await stat(path);
    files.set(path, { size: info.size, mtimeMs: info.mtimeMs });
  }
  return files;
}

function writtenBytes(before: Map<string, { size: number; mtimeMs: number }>, after: Map<string, { size: number; mtimeMs: number }>): number {
  let total = 0;
  for (const [path, file] of after) {
    const old = before.get(path);
    if (!old || old.size !== file.size || old.mtimeMs !== file.mtimeMs) total += file.size;
  }
  return total;
}

/** Reads the packs once so that the first baseline does not pay for a cold cache. */
async function warmPageCache(gitDir: string): Promise<void> {
  const packDir = join(gitDir, 'objects', 'pack');
  for (const file of await readdir(packDir)) await pipeline(createReadStream(join(packDir, file), { highWaterMark: 1 << 20 }), createWriteStream('/dev/null'));
}

function table(rows: Row[]): string {
  const header: Record<keyof Row, string> = { repo: 'repo', measure: 'measure', lifeboat: 'Lifeboat', baseline: 'baseline', value: 'ratio / value', target: 'target', result: 'result' };
  const keys = Object.keys(header) as (keyof Row)[];
  const widths = keys.map((key) => Math.max(...[header, ...rows].map((row) => row[key].length)));
  const line = (row: Record<keyof Row, string>): string => `| ${keys.map((key, i) => row[key].padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

await main();

function pullRequestTable(rows: PullRequestRow[]): string {
  return [
    '| measure | REST calls | detail | target | result |',
    '|---|---:|---|---|---|',
    ...rows.map((row) => `| ${row.measure} | ${row.calls} | ${row.detail} | ${row.target} | ${row.result} |`),
  ].join('\n');
}

function forgeTable(rows: ForgeLargeRow[]): string {
  return ['| measure | value | detail |', '|---|---:|---|', ...rows.map((row) => `| ${row.measure} | ${row.value} | ${row.detail} |`)].join('\n');
}
