/**
 * Deterministic generator of bare benchmark repositories with a target pack size.
 *
 * History is written through `git fast-import` (far faster than porcelain) and
 * then repacked, so the served pack looks like a gc'ed real repository: text
 * files in nested directories edited line by line (deltas), files added and
 * removed, incompressible binaries with several versions, feature branches with
 * merges, release branches, annotated and lightweight tags. Every byte comes from
 * a seeded PRNG and every date is fixed, so the object ids depend only on the
 * parameters; the result is cached under bench/.data/<name>-<params-hash>/.
 *
 * Standalone: node --import tsx bench/generate-repo.ts <name> <target-MiB> [seed]
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const DATA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '.data');

/** Bump when the generated history changes, so cached repositories are rebuilt. */
const GENERATOR_VERSION = 1;

export interface RepoSpec {
  name: string;
  /** Wanted size of the repacked pack. The generator estimates as it goes; the real size is in GeneratedRepo. */
  targetPackMiB: number;
  seed: number;
}

/** The bench's repositories (bench/run.ts, bench/lfs-scan.ts). */
export const BENCH_REPOS: RepoSpec[] = [
  { name: 'small', targetPackMiB: 10, seed: 1 },
  { name: 'medium', targetPackMiB: 100, seed: 1 },
  { name: 'large', targetPackMiB: 430, seed: 1 },
];

export interface GeneratedRepo {
  spec: RepoSpec;
  /** The bare repository. */
  gitDir: string;
  packBytes: number;
  objects: number;
  commits: number;
  refs: number;
  /** Seconds spent generating (fast-import + repack), from the run that built it. */
  generateSeconds: number;
  repackSeconds: number;
  /** True when this call reused an earlier build. */
  cached: boolean;
}

// Pack-size model, calibrated against real repacks of this generator's output:
// zlib shrinks its pseudo-code to about this fraction, a line edit costs about
// its inserted text plus delta opcodes, a rewritten tree and a commit cost
// roughly these many packed bytes.
const TEXT_RATIO = 0.42;
const HUNK_COST = 25;
const TREE_COST = 75;
const COMMIT_COST = 200;
/** Share of the pack taken by binaries: many large real repositories are big because of them. */
const BINARY_SHARE = 0.55;
/** Share of the text budget imported by the first commit; the rest accrues over history. */
const INITIAL_TEXT_SHARE = 0.4;
/** One commit per this many target bytes: 100 MiB → ~4,300 commits, 430 MiB → ~18,000. */
const BYTES_PER_COMMIT = 24 * 1024;
const EPOCH = 1_500_000_000;

/** sfc32: small, fast and good enough to make content; seeded through splitmix32. */
class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Log-uniform integer in [min, max]: many small values, a few large ones, like file sizes. */
  logUniform(min: number, max: number): number {
    return Math.round(min * Math.pow(max / min, this.u32() / 0x1_0000_0000));
  }
}

/** Incompressible, reproducible bytes: the AES-CTR keystream of a key derived from the label. */
function randomBytes(label: string, length: number): Buffer {
  const key = createHash('sha256').update(label).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** Text in a code-like shape: identifiers from a fixed vocabulary, numbers, some hex (lockfiles, hashes). */
class TextMaker {
  private readonly words: string[] = [];

  constructor(private readonly rng: Rng) {
    const syllables = ['ka', 'lo', 'mi', 'ter', 'an', 'sol', 're', 'vi', 'dex', 'pro', 'net', 'ul', 'bra', 'cor', 'fi', 'gen', 'hu', 'ix', 'jo', 'mor', 'nu', 'pa', 'qui', 'sa', 'tu', 'vel', 'wa', 'zen'];
    const seen = new Set<string>();
    while (this.words.length < 3000) {
      let word = '';
      for (let n = rng.range(1, 4); n > 0; n--) word += rng.pick(syllables);
      if (!seen.has(word)) {
        seen.add(word);
        this.words.push(word);
      }
    }
  }

  word(): string {
    return this.rng.pick(this.words);
  }

  identifier(): string {
    const first = this.word();
    return this.rng.chance(0.5) ? first : first + capitalise(this.word());
  }

  sentence(min: number, max: number): string {
    const parts: string[] = [];
    for (let n = this.rng.range(min, max); n > 0; n--) parts.push(this.word());
    return capitalise(parts.join(' ')) + '.';
  }

  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.rng.u32().toString(16).padStart(8, '0');
    return out.slice(0, length);
  }

  lines(kind: string, count: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(this.line(kind));
    return out;
  }

  /** Lines of about `bytes` bytes in total. */
  block(kind: string, bytes: number): string[] {
    const out: string[] = [];
    let size = 0;
    while (size < bytes) {
      const line = this.line(kind);
      out.push(line);
      size += line.length + 1;
    }
    return out;
  }

  private line(kind: string): string {
    const r = this.rng;
    if (kind === 'md') return r.chance(0.15) ? `## ${this.sentence(2, 5)}` : r.chance(0.1) ? '' : this.sentence(6, 16);
    if (kind === 'json') {
      return r.chance(0.3)
        ? `  "${this.word()}/${this.identifier()}": { "version": "${r.int(20)}.${r.int(40)}.${r.int(100)}", "integrity": "sha512-${this.hex(48)}" },`
        : `  "${this.identifier()}": ${r.chance(0.5) ? r.int(100_000) : `"${this.identifier()}"`},`;
    }
    const indent = '  '.repeat(r.int(5));
    switch (r.int(8)) {
      case 0: return `${indent}// ${this.sentence(3, 10)}`;
      case 1: return `${indent}if (${this.identifier()}.${this.identifier()} > ${r.int(1000)}) {`;
      case 2: return `${indent}}`;
      case 3: return `${indent}return ${this.identifier()}(${this.identifier()}, ${r.int(256)});`;
      case 4: return `${indent}${this.identifier()}.${this.identifier()} = '${this.identifier()}-${this.hex(8)}';`;
      case 5: return `${indent}for (const ${this.word()} of ${this.identifier()}) ${this.identifier()}(${this.word()});`;
      case 6: return `${indent}export function ${this.identifier()}(${this.word()}: ${capitalise(this.word())}): void {`;
      default: return `${indent}const ${this.identifier()} = ${this.identifier()}.${this.identifier()}(${r.int(10_000)});`;
    }
  }
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Batches the many small pieces of a fast-import stream; honours backpressure. */
class StreamWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly out: Writable) {}

  async write(piece: string | Buffer): Promise<void> {
    const buffer = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
    this.pending.push(buffer);
    this.pendingBytes += buffer.length;
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
}

/** A file as a branch sees it; replaced, never mutated, so branches can share entries. */
interface Entry {
  mark: number;
  /** Text content (ASCII); absent for binaries. */
  text?: string;
  kind: string;
  binary?: Buffer;
}

/** Paths with O(1) add, delete and uniform random pick. */
class PathSet {
  private readonly items: string[];
  private readonly positions: Map<string, number>;

  constructor(from?: PathSet) {
    this.items = from ? [...from.items] : [];
    this.positions = new Map(from?.positions);
  }

  add(path: string): void {
    if (this.positions.has(path)) return;
    this.positions.set(path, this.items.length);
    this.items.push(path);
  }

  delete(path: string): void {
    const position = this.positions.get(path);
    if (position === undefined) return;
    const last = this.items.pop()!;
    if (last !== path) {
      this.items[position] = last;
      this.positions.set(last, position);
    }
    this.positions.delete(path);
  }

  random(rng: Rng): string | undefined {
    return this.items.length === 0 ? undefined : this.items[rng.int(this.items.length)];
  }
}

interface Branch {
  ref: string;
  files: Map<string, Entry>;
  texts: PathSet;
  binaries: PathSet;
  tip: number;
  /** Paths changed since the branch started (features only): what a merge carries over. */
  touched: Set<string>;
  commitsLeft: number;
}

type Change = { path: string; entry: Entry } | { path: string; deleted: true };

const PEOPLE = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra', 'Barbara Liskov', 'Donald Knuth', 'Frances Allen', 'Ken Thompson', 'Margaret Hamilton', 'Dennis Ritchie', 'Radia Perlman', 'John Backus'];
const TEXT_KINDS = ['ts', 'ts', 'ts', 'js', 'c', 'go', 'py', 'md', 'json'];
const BINARY_KINDS = ['png', 'jar', 'bin', 'woff2', 'zip', 'pdf'];

/** Writes the whole history into `git fast-import`; `deadRefs` are merged features whose branch is deleted afterwards. */
class HistoryWriter {
  private readonly rng: Rng;
  private readonly text: TextMaker;
  private readonly target: number;
  private readonly commitCount: number;
  private mark = 0;
  private time = EPOCH;
  private spentText = 0;
  private spentBinary = 0;
  private readonly dirs: string[] = [];
  private readonly main: Branch;
  private readonly features: Branch[] = [];
  private featureSeq = 0;
  private binarySeq = 0;
  private tagSeq = 0;
  readonly deadRefs: string[] = [];
  commits = 0;

  /** The model's guess of the packed size, text (with trees and commits) and binaries. */
  get estimate(): { text: number; binary: number } {
    return { text: this.spentText, binary: this.spentBinary };
  }

  constructor(private readonly spec: RepoSpec, private readonly out: StreamWriter) {
    this.rng = new Rng(spec.seed);
    this.text = new TextMaker(this.rng);
    this.target = spec.targetPackMiB * 1024 * 1024;
    this.commitCount = Math.max(50, Math.round(this.target / BYTES_PER_COMMIT));
    this.main = { ref: 'refs/heads/main', files: new Map(), texts: new PathSet(), binaries: new PathSet(), tip: 0, touched: new Set(), commitsLeft: 0 };
    this.makeDirs();
  }

  async run(): Promise<void> {
    await this.out.write('feature done\n');
    const initial: Change[] = [];
    const initialBudget = this.target * (1 - BINARY_SHARE) * INITIAL_TEXT_SHARE;
    while (this.spentText < initialBudget) initial.push(await this.addText(this.main));
    await this.commit(this.main, initial, 'Initial import');

    for (let step = 1; step < this.commitCount; step++) {
      const progress = step / this.commitCount;
      const branch = this.features.length > 0 && this.rng.chance(0.3) ? this.rng.pick(this.features) : this.main;
      const changes: Change[] = [];
      for (let n = this.rng.range(1, 4); n > 0; n--) changes.push(await this.editText(branch));
      const textGoal = initialBudget + (this.target * (1 - BINARY_SHARE) - initialBudget) * progress;
      while (this.spentText < textGoal) {
        changes.push(await this.addText(branch));
        // Remove files about as fast as they are added, so the tree stays the same size while history grows.
        if (this.rng.chance(0.7)) {
          const removed = this.removeText(branch);
          if (removed) changes.push(removed);
        }
      }
      while (this.spentBinary < this.target * BINARY_SHARE * progress) changes.push(await this.changeBinary(branch));
      await this.commit(branch, changes, this.text.sentence(3, 9));

      if (branch !== this.main && --branch.commitsLeft <= 0) await this.closeFeature(branch);
      if (branch === this.main) await this.maybeBranchOrTag();
    }
    for (const feature of [...this.features]) await this.closeFeature(feature);
    await this.out.write('done\n');
    await this.out.flush();
  }

  private makeDirs(): void {
    const roots = ['src', 'lib', 'packages', 'docs', 'test', 'tools', 'config', 'services'];
    const dirCount = Math.max(20, Math.round(this.target / (200 * 1024)));
    for (const root of roots) this.dirs.push(root);
    while (this.dirs.length < dirCount) {
      const parent = this.rng.pick(this.dirs);
      if (parent.split('/').length < 5) this.dirs.push(`${parent}/${this.text.word()}`);
    }
  }

  private async blob(data: Buffer): Promise<number> {
    const mark = ++this.mark;
    await this.out.write(`blob\nmark :${mark}\ndata ${data.length}\n`);
    await this.out.write(data);
    await this.out.write('\n');
    return mark;
  }

  private async textEntry(kind: string, lines: string[]): Promise<Entry> {
    const text = lines.join('\n') + '\n';
    return { mark: await this.blob(Buffer.from(text, 'latin1')), text, kind };
  }

  private async addText(branch: Branch): Promise<Change> {
    const kind = this.rng.pick(TEXT_KINDS);
    let path: string;
    do path = `${this.rng.pick(this.dirs)}/${this.text.identifier()}.${kind}`;
    while (branch.files.has(path));
    const entry = await this.textEntry(kind, this.text.block(kind, this.rng.logUniform(300, 60_000)));
    this.spentText += entry.text!.length * TEXT_RATIO;
    return this.set(branch, path, entry);
  }

  /** Replaces, inserts and deletes a few runs of lines in an existing text file. */
  private async editText(branch: Branch): Promise<Change> {
    const [path, old] = this.randomFile(branch, false) ?? [];
    if (!path || !old) return this.addText(branch);
    const lines = old.text!.split('\n');
    lines.pop();
    for (let hunks = this.rng.range(1, 3); hunks > 0; hunks--) {
      const added = this.text.lines(old.kind, this.rng.int(9));
      lines.splice(this.rng.int(lines.length + 1), this.rng.int(6), ...added);
      this.spentText += added.reduce((sum, line) => sum + line.length + 1, 0) * TEXT_RATIO + HUNK_COST;
    }
    return this.set(branch, path, await this.textEntry(old.kind, lines));
  }

  private removeText(branch: Branch): Change | undefined {
    const [path] = this.randomFile(branch, false) ?? [];
    return path === undefined ? undefined : this.remove(branch, path);
  }

  /** A new binary, a partly rewritten version (deltas well), a wholly new version, or a removal. */
  private async changeBinary(branch: Branch): Promise<Change> {
    const existing = this.randomFile(branch, true);
    const roll = this.rng.int(10);
    if (existing && roll < 3) {
      const [path, old] = existing;
      const data = Buffer.from(old.binary!);
      for (let regions = this.rng.range(1, 4); regions > 0; regions--) {
        const length = Math.min(data.length, this.rng.range(512, Math.max(512, data.length >> 5)));
        randomBytes(`${this.spec.seed}:patch:${this.mark}:${regions}`, length).copy(data, this.rng.int(data.length - length + 1));
        this.spentBinary += length + HUNK_COST;
      }
      return this.set(branch, path, { mark: await this.blob(data), kind: old.kind, binary: data });
    }
    if (existing && roll < 5) {
      const [path, old] = existing;
      const data = randomBytes(`${this.spec.seed}:rewrite:${this.mark}`, this.rng.logUniform(old.binary!.length >> 1, old.binary!.length * 2));
      this.spentBinary += data.length;
      return this.set(branch, path, { mark: await this.blob(data), kind: old.kind, binary: data });
    }
    if (existing && roll < 6) return this.remove(branch, existing[0])!;
    const kind = this.rng.pick(BINARY_KINDS);
    const path = `assets/${this.rng.pick(this.dirs.slice(0, 40))}/${this.text.word()}-${++this.binarySeq}.${kind}`;
    const data = randomBytes(`${this.spec.seed}:binary:${this.binarySeq}`, this.rng.logUniform(16 * 1024, 6 * 1024 * 1024));
    this.spentBinary += data.length;
    return this.set(branch, path, { mark: await this.blob(data), kind, binary: data });
  }

  private set(branch: Branch, path: string, entry: Entry): Change {
    branch.files.set(path, entry);
    (entry.binary ? branch.binaries : branch.texts).add(path);
    branch.touched.add(path);
    return { path, entry };
  }

  private remove(branch: Branch, path: string): Change | undefined {
    const entry = branch.files.get(path);
    if (!entry) return undefined;
    branch.files.delete(path);
    (entry.binary ? branch.binaries : branch.texts).delete(path);
    branch.touched.add(path);
    return { path, deleted: true };
  }

  private randomFile(branch: Branch, binary: boolean): [string, Entry] | undefined {
    const path = (binary ? branch.binaries : branch.texts).random(this.rng);
    return path === undefined ? undefined : [path, branch.files.get(path)!];
  }

  private person(): string {
    const name = this.rng.pick(PEOPLE);
    return `${name} <${name.toLowerCase().replace(' ', '.')}@example.com>`;
  }

  private async commit(branch: Branch, changes: Change[], message: string, merge?: number): Promise<void> {
    const mark = ++this.mark;
    this.time += this.rng.range(60, 7200);
    const body = Buffer.from(message + '\n', 'latin1');
    const author = this.person();
    let header = `commit ${branch.ref}\nmark :${mark}\nauthor ${author} ${this.time - this.rng.int(86_400)} +0000\ncommitter ${author} ${this.time} +0000\ndata ${body.length}\n${body.toString('latin1')}`;
    if (branch.tip) header += `from :${branch.tip}\n`;
    if (merge) header += `merge :${merge}\n`;
    await this.out.write(header);
    const dirsTouched = new Set<string>(['']);
    for (const change of changes) {
      await this.out.write('deleted' in change ? `D ${change.path}\n` : `M 100644 :${change.entry.mark} ${change.path}\n`);
      for (let dir = dirname(change.path); dir !== '.'; dir = dirname(dir)) dirsTouched.add(dir);
    }
    await this.out.write('\n');
    this.spentText += COMMIT_COST + dirsTouched.size * TREE_COST;
    branch.tip = mark;
    this.commits++;
  }

  private async maybeBranchOrTag(): Promise<void> {
    const r = this.rng;
    if (this.features.length < 3 && r.chance(0.02)) {
      this.features.push({
        ref: `refs/heads/feature/${++this.featureSeq}-${this.text.word()}`,
        files: new Map(this.main.files),
        texts: new PathSet(this.main.texts),
        binaries: new PathSet(this.main.binaries),
        tip: this.main.tip,
        touched: new Set(),
        commitsLeft: r.range(2, 12),
      });
    }
    if (r.chance(1 / 150)) {
      const version = `v${1 + Math.floor(this.tagSeq / 10)}.${this.tagSeq % 10}.0`;
      this.tagSeq++;
      const message = Buffer.from(`Release ${version}\n\n${this.text.sentence(8, 20)}\n`, 'latin1');
      await this.out.write(`tag ${version}\nfrom :${this.main.tip}\ntagger ${this.person()} ${this.time} +0000\ndata ${message.length}\n${message.toString('latin1')}\n`);
      if (r.chance(0.5)) await this.out.write(`reset refs/heads/release/${version.slice(1, -2)}\nfrom :${this.main.tip}\n\n`);
    } else if (r.chance(1 / 60)) {
      await this.out.write(`reset refs/tags/build-${this.commits}\nfrom :${this.main.tip}\n\n`);
    }
  }

  /** Merges most features into main (the feature's side wins where both changed a file); leaves the rest as branches. */
  private async closeFeature(feature: Branch): Promise<void> {
    this.features.splice(this.features.indexOf(feature), 1);
    if (!this.rng.chance(0.8)) return;
    const changes: Change[] = [];
    for (const path of feature.touched) {
      const entry = feature.files.get(path);
      const change = entry ? this.set(this.main, path, entry) : this.remove(this.main, path);
      if (change) changes.push(change);
    }
    await this.commit(this.main, changes, `Merge branch '${feature.ref.slice('refs/heads/'.length)}'`, feature.tip);
    if (this.rng.chance(0.6)) this.deadRefs.push(feature.ref);
  }
}

async function git(args: string[], options: { cwd?: string; input?: string } = {}): Promise<string> {
  const child = spawn('git', args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  // git may exit without reading its stdin (EPIPE); its exit code tells what went wrong.
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`git ${args.join(' ')} failed (${code}): ${Buffer.concat(err).toString().trim()}`);
  return Buffer.concat(out).toString();
}

async function packBytes(gitDir: string): Promise<number> {
  const packDir = join(gitDir, 'objects', 'pack');
  let total = 0;
  for (const name of await readdir(packDir)) if (name.endsWith('.pack')) total += (await stat(join(packDir, name))).size;
  return total;
}

function repoDir(spec: RepoSpec): string {
  const hash = createHash('sha256').update(JSON.stringify({ v: GENERATOR_VERSION, mib: spec.targetPackMiB, seed: spec.seed })).digest('hex').slice(0, 12);
  return join(DATA_DIR, `${spec.name}-${hash}`);
}

/** Generates the repository, or returns the cached one (its meta.json is written last, so it marks a complete build). */
export async function generateRepo(spec: RepoSpec, log: (line: string) => void = () => undefined): Promise<GeneratedRepo> {
  const dir = repoDir(spec);
  const metaPath = join(dir, 'meta.json');
  const gitDir = join(dir, 'repo.git');
  if (existsSync(metaPath)) return { ...(JSON.parse(await readFile(metaPath, 'utf8')) as GeneratedRepo), gitDir, cached: true };
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await git(['init', '--quiet', '--bare', gitDir]);
  await git(['symbolic-ref', 'HEAD', 'refs/heads/main'], { cwd: gitDir });

  const started = performance.now();
  log(`generating ${spec.name} (~${spec.targetPackMiB} MiB pack, seed ${spec.seed})`);
  // Uncompressed and undeltified: fast-import's zlib and its delta attempts against
  // whichever blob came last cost more than the repack below, which redoes both anyway.
  const importer = spawn('git', ['-c', 'core.compression=0', 'fast-import', '--quiet', '--depth=0'], { cwd: gitDir, stdio: ['pipe', 'inherit', 'pipe'] });
  const stderr: Buffer[] = [];
  importer.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const closed = once(importer, 'close') as Promise<[number | null]>;
  const history = new HistoryWriter(spec, new StreamWriter(importer.stdin));
  try {
    await history.run();
  } finally {
    importer.stdin.end();
  }
  const [code] = await closed;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${Buffer.concat(stderr).toString().trim()}`);
  if (history.deadRefs.length > 0) await git(['update-ref', '--stdin'], { cwd: gitDir, input: history.deadRefs.map((ref) => `delete ${ref}\n`).join('') });
  const imported = performance.now();
  const { text, binary } = history.estimate;
  log(`  fast-import: ${history.commits} commits in ${((imported - started) / 1000).toFixed(1)} s; estimated pack ${((text + binary) / 2 ** 20).toFixed(0)} MiB (binaries ${(binary / 2 ** 20).toFixed(0)} MiB)`);

  // git gc's defaults (window 10, depth 50, default zlib level, a bitmap index as for any bare
  // repository); -f -F: search every delta and compress every object anew.
  await git(['-c', 'pack.threads=0', 'repack', '-a', '-d', '-f', '-F', '-b', '-q', '--window=10', '--depth=50'], { cwd: gitDir });
  await git(['pack-refs', '--all'], { cwd: gitDir });
  const finished = performance.now();
  const counts = Object.fromEntries((await git(['count-objects', '-v'], { cwd: gitDir })).trim().split('\n').map((line) => line.split(': ') as [string, string]));
  const refs = (await git(['for-each-ref', '--format=%(refname)'], { cwd: gitDir })).trim().split('\n').length;
  const result: GeneratedRepo = {
    spec,
    gitDir,
    packBytes: await packBytes(gitDir),
    objects: Number(counts['in-pack']),
    commits: history.commits,
    refs,
    generateSeconds: (finished - started) / 1000,
    repackSeconds: (finished - imported) / 1000,
    cached: false,
  };
  log(`  repack: ${result.repackSeconds.toFixed(1)} s → ${(result.packBytes / 2 ** 20).toFixed(1)} MiB, ${result.objects} objects, ${refs} refs`);
  await writeFile(metaPath, JSON.stringify(result, null, 2) + '\n');
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [name, mib, seed] = process.argv.slice(2);
  if (!name || !mib || !(Number(mib) > 0)) {
    console.error('usage: node --import tsx bench/generate-repo.ts <name> <target-MiB> [seed]');
    process.exit(2);
  }
  const repo = await generateRepo({ name, targetPackMiB: Number(mib), seed: Number(seed ?? 1) }, (line) => console.error(line));
  console.log(JSON.stringify(repo, null, 2));
}
