/**
 * `node --import tsx bench/lfs-scan.ts [--repeat N] [--chunk BYTES] [small] [medium] [large]`:
 * the LFS pointer scanner alone (src/engine/git/lfs-pointers.ts) over the pack of a
 * generated repository (bench/generate-repo.ts; its repacked pack on disk, the bytes
 * upload-pack reuses for a full fetch), fed in chunks the size git's upload-pack relays
 * (64 KiB; 8 KiB before git 2.35), against SHA-256 over the same bytes, which every backup pays anyway
 * (writeObject hashes what it stores), and against a whole engine backup of the
 * same repository (git http-backend on 127.0.0.1, an in-memory bucket: no S3 client,
 * so the backup's own CPU is a floor and the scanner's share of it a ceiling). CPU
 * time is this process's user + system time (the git server's is not in it), so a
 * loaded machine bends the wall time more than it; the fastest of N runs counts.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { backup } from '../src/engine/backup.js';
import { initBucket } from '../src/engine/bucket/marker.js';
import { MemoryBlobStore } from '../src/engine/bucket/memory-store.js';
import { createGitClient } from '../src/engine/git/client.js';
import { LfsPointerScanner } from '../src/engine/git/lfs-pointers.js';
import { startGitServer } from '../test/helpers/git-server.js';
import { TEST_SIGNER } from '../test/helpers/signing.js';
import { BENCH_REPOS, generateRepo } from './generate-repo.js';

/**
 * upload-pack relays pack-objects' output one side-band packet per read of its
 * buffer (upload-pack.c, create_pack_file): 65515 bytes since git 2.35 ("upload-pack.c:
 * increase output buffer size"), 8192 before. What Bitbucket's servers send: not
 * documented, assumed alike; `--chunk 8192` measures the older size.
 */
const UPLOAD_PACK_CHUNK = 65515;

interface Timing { cpu: number; wall: number }

async function timed(work: () => Promise<void>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1e6, wall: (performance.now() - wall) / 1000 };
}

function fastest(runs: Timing[]): Timing {
  return runs.reduce((best, run) => (run.cpu < best.cpu ? run : best));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { repeat: { type: 'string', default: '3' }, chunk: { type: 'string', default: String(UPLOAD_PACK_CHUNK) } }, allowPositionals: true });
  const repeat = Number(values.repeat);
  const chunkSize = Number(values.chunk);
  if (!Number.isInteger(repeat) || repeat < 1 || !Number.isInteger(chunkSize) || chunkSize < 1) throw new Error('--repeat and --chunk need whole numbers ≥ 1.');
  const specs = positionals.length === 0 ? BENCH_REPOS.filter((spec) => spec.name === 'medium') : BENCH_REPOS.filter((spec) => positionals.includes(spec.name));
  if (specs.length !== Math.max(positionals.length, 1)) throw new Error(`Choose among ${BENCH_REPOS.map((spec) => spec.name).join(', ')}.`);
  console.log(`chunk ${chunkSize} B, fastest of ${repeat}, node ${process.version}`);
  console.log(['repo', 'pack', 'objects', 'sha256 cpu', 'scan cpu', 'scan wall', 'scan MB/s', 'scan ÷ sha256', 'pointers', 'backup cpu', 'backup wall', 'scan ÷ backup cpu'].join(' | '));
  for (const spec of specs) {
    const repo = await generateRepo(spec, (line) => console.error(line));
    const packDir = join(repo.gitDir, 'objects', 'pack');
    const packName = (await readdir(packDir)).find((name) => name.endsWith('.pack'));
    if (!packName) throw new Error(`No pack in ${packDir}.`);
    const pack = await readFile(join(packDir, packName));
    const chunks: Buffer[] = [];
    for (let at = 0; at < pack.byteLength; at += chunkSize) chunks.push(pack.subarray(at, at + chunkSize));
    const server = await startGitServer({ root: dirname(repo.gitDir) });
    const backupRuns: Timing[] = [];
    const hashRuns: Timing[] = [];
    const scanRuns: Timing[] = [];
    let pointers = 0;
    for (let round = 0; round < repeat; round++) {
      hashRuns.push(await timed(async () => {
        const hash = createHash('sha256');
        for (const chunk of chunks) hash.update(chunk);
        hash.digest();
      }));
      scanRuns.push(await timed(async () => {
        const scanner = new LfsPointerScanner();
        for (const chunk of chunks) await scanner.write(chunk);
        pointers = (await scanner.end()).pointers.length;
      }));
      backupRuns.push(await timed(async () => {
        const store = new MemoryBlobStore();
        await initBucket(store);
        const result = await backup({ store, repo: { workspace: 'bench', repository: spec.name }, git: createGitClient({ url: server.url(basename(repo.gitDir)) }), trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null });
        if (result.status !== 'created') throw new Error(`The backup made no snapshot (${result.status}).`);
      }));
    }
    await server.close();
    const full = fastest(backupRuns);
    const hash = fastest(hashRuns);
    const scan = fastest(scanRuns);
    console.log([
      spec.name, `${(pack.byteLength / 1e6).toFixed(1)} MB`, String(repo.objects), `${hash.cpu.toFixed(2)} s`, `${scan.cpu.toFixed(2)} s`, `${scan.wall.toFixed(2)} s`,
      (pack.byteLength / 1e6 / scan.cpu).toFixed(0), (scan.cpu / hash.cpu).toFixed(2), String(pointers),
      `${full.cpu.toFixed(2)} s`, `${full.wall.toFixed(2)} s`, `${((scan.cpu / full.cpu) * 100).toFixed(0)} %`,
    ].join(' | '));
  }
}

await main();
