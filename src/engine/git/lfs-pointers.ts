/**
 * LFS pointers found while a pack streams (gitformat-pack, git-lfs spec v1), in
 * constant memory: the pack is walked object by object as its bytes pass
 * (pack-walk.ts), never held; an object's content is discarded unless it may be
 * a pointer.
 *
 * "Pointer files must be < 1024 bytes in size" (spec): only blobs of at most
 * MAX_POINTER_SIZE bytes are read, and only deltas whose result is that small.
 * What to read is decided from each object's header (`wants`), before its data is
 * inflated; the rest is skipped (pack-walk.ts), most of it without inflating.
 *
 * Deltified pointers (OFS_DELTA, REF_DELTA) are resolved against their base when
 * the base is one that may produce a pointer. Git deltifies a target only when the
 * delta is under half its size (pack-objects' try_delta: max_size = size/2 - 20),
 * so a pointer's base holds most of the pointer's own text, spec line included. The
 * scanner therefore keeps as bases exactly the small blobs holding the spec URL
 * ("pointer-like": every pointer, and the rare near-pointer), and treats a delta
 * against any other base (a larger blob, a small file without the URL) as no
 * pointer. Kept bases are the pointers themselves (the scanner's output) plus at
 * most NEAR_POINTER_LIMIT bytes of pointer-like blobs that are not pointers.
 *
 * A thin pack (an incremental bundle) may deltify against an object outside the
 * pack, in an earlier bundle of the chain. Those bundles recorded their pointers
 * (`known`, with each pointer's git blob id and text), so a delta against an
 * earlier pointer is resolved from the record; a base outside the pack that no
 * earlier bundle recorded is not a pointer, and by the rule above yields none.
 * Git writes a delta's base before the delta; a REF_DELTA whose base comes later is
 * still resolved at the end, up to DEFERRED_LIMIT bytes of such deltas.
 */
import { createHash } from 'node:crypto';
import { BLOB, OFS_DELTA, type PackObjectHeader, PackWalker, REF_DELTA, applyDelta, packCorrupt, readDeltaSizes } from './pack-walk.js';

/** "Pointer files must be < 1024 bytes in size, including the line feed." (we allow equal: git-lfs reads up to 1024) */
const MAX_POINTER_SIZE = 1024;
const NEAR_POINTER_LIMIT = 1024 * 1024;
const DEFERRED_LIMIT = 1024 * 1024;

const SPEC_URLS = ['https://git-lfs.github.com/spec/', 'https://hawser.github.com/spec/'];
const VERSIONS = new Set(['https://git-lfs.github.com/spec/v1', 'https://hawser.github.com/spec/v1']);

/** A pointer as a bundle records it: its git blob id, the LFS object it names, and its text unless canonical. */
export interface PointerRecord {
  /** The git blob id (SHA-1) of the pointer file. */
  blob: string;
  /** The LFS object id: SHA-256 of the object's content. */
  oid: string;
  size: number;
  /** The pointer file's text, when it is not the canonical three lines (extension lines, another key order). */
  text?: string;
}

/** The canonical pointer text, as git-lfs writes it for an object without extensions. */
export function canonicalPointer(oid: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`;
}

/**
 * The object a pointer file names, or undefined when the bytes are not one:
 * "version" first, then keys in order, each "key value\n"; oid "sha256:" and 64
 * lowercase hex; size a whole number.
 */
export function parsePointer(bytes: Uint8Array): { oid: string; size: number } | undefined {
  if (bytes.byteLength > MAX_POINTER_SIZE || bytes.byteLength === 0 || bytes[bytes.byteLength - 1] !== 0x0a) return undefined;
  const text = Buffer.from(bytes).toString('utf8');
  const lines = text.slice(0, -1).split('\n');
  const [first, ...rest] = lines;
  if (first === undefined || !first.startsWith('version ') || !VERSIONS.has(first.slice('version '.length))) return undefined;
  let oid: string | undefined;
  let size: number | undefined;
  let previousKey = '';
  for (const line of rest) {
    const match = /^([a-z0-9.-]+) (.+)$/.exec(line);
    if (!match) return undefined;
    const [, key = '', value = ''] = match;
    if (key <= previousKey) return undefined;
    previousKey = key;
    if (key === 'oid') {
      const hash = /^sha256:([0-9a-f]{64})$/.exec(value);
      if (!hash) return undefined;
      oid = hash[1];
    } else if (key === 'size') {
      if (!/^(0|[1-9][0-9]{0,15})$/.test(value)) return undefined;
      size = Number(value);
    }
  }
  return oid !== undefined && size !== undefined && Number.isSafeInteger(size) ? { oid, size } : undefined;
}

/** The bytes of a recorded pointer. */
function pointerText(record: PointerRecord): string {
  return record.text ?? canonicalPointer(record.oid, record.size);
}

/** git's object id of a blob: SHA-1 of "blob <size>\0" and the content. */
export function blobId(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.byteLength}\0`).update(content).digest('hex');
}

function pointerLike(content: Uint8Array): boolean {
  const text = Buffer.from(content).toString('latin1');
  return SPEC_URLS.some((url) => text.includes(url));
}

interface Deferred {
  offset: number;
  baseId: string;
  delta: Buffer;
}

interface ScanResult {
  pointers: PointerRecord[];
  /** Small deltas that could not be checked (a base evicted or deferred past the limits): none in a pack git wrote. */
  unresolved: number;
}

/**
 * Feed it a pack's bytes in order (`write`), then call `end`. `known`: the
 * pointers that earlier bundles of the chain recorded (bases of a thin pack).
 */
export class LfsPointerScanner {
  private readonly walker = new PackWalker({ wants: (header) => this.wants(header), object: (header, content) => this.object(header, content) });
  private readonly known = new Map<string, Buffer>();
  private readonly basesByOffset = new Map<number, Buffer>();
  private readonly basesById = new Map<string, Buffer>();
  private nearPointerBytes = 0;
  private deferred: Deferred[] = [];
  private deferredBytes = 0;
  private unresolved = 0;
  private readonly found = new Map<string, PointerRecord>();

  constructor(known: readonly PointerRecord[] = []) {
    for (const record of known) this.known.set(record.blob, Buffer.from(pointerText(record), 'utf8'));
  }

  /** At least the most bytes held at once besides the pointers found (pending input, near-pointer bases, deferred deltas): the kept bases only grow. */
  get maxHeldBytes(): number {
    return this.walker.maxPendingBytes + this.nearPointerBytes + this.deferredBytes;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.walker.write(chunk);
  }

  /** The pointers of the pack, once all of it was written (checked by pack-check). */
  async end(): Promise<ScanResult> {
    await this.walker.end();
    // Bases that came after their delta: resolve until nothing more resolves.
    for (let progress = true; progress && this.deferred.length > 0;) {
      progress = false;
      const waiting = this.deferred;
      this.deferred = [];
      for (const entry of waiting) {
        const base = this.basesById.get(entry.baseId);
        if (base) {
          this.resolved(entry.offset, applyDelta(base, entry.delta));
          progress = true;
        } else this.deferred.push(entry);
      }
    }
    // Left: bases outside the pack that no earlier bundle recorded as a pointer, or never kept: no pointer (see the module comment).
    return { pointers: [...this.found.values()], unresolved: this.unresolved };
  }

  /**
   * Decided from the header alone: a blob small enough to be a pointer, a delta
   * against a kept base (by offset, known before the delta is read), and a delta
   * by id (its base may come later). Everything else, most of a pack, is skipped.
   */
  private wants(header: PackObjectHeader): boolean {
    if (header.type === BLOB) return header.size <= MAX_POINTER_SIZE;
    if (header.type === OFS_DELTA) return this.basesByOffset.has(header.baseOffset!);
    return header.type === REF_DELTA;
  }

  private object(header: PackObjectHeader, content: Buffer): void {
    if (header.type === BLOB) {
      if (content.byteLength <= MAX_POINTER_SIZE) this.resolved(header.offset, content);
      return;
    }
    if (header.type !== OFS_DELTA && header.type !== REF_DELTA) return;
    const sizes = readDeltaSizes(content);
    if (!sizes) throw packCorrupt(`The delta at offset ${header.offset} of the pack has no sizes.`);
    if (sizes.resultSize > MAX_POINTER_SIZE || sizes.baseSize > MAX_POINTER_SIZE) return;
    const base = header.baseOffset !== undefined ? this.basesByOffset.get(header.baseOffset) : this.basesById.get(header.baseId!) ?? this.known.get(header.baseId!);
    if (base) {
      this.resolved(header.offset, applyDelta(base, content));
    } else if (header.baseId !== undefined) {
      if (this.deferredBytes + content.byteLength > DEFERRED_LIMIT) this.unresolved += 1;
      else {
        this.deferred.push({ offset: header.offset, baseId: header.baseId, delta: content });
        this.deferredBytes += content.byteLength;
      }
    }
  }

  /** A small blob whose content is known (read or resolved from a delta). */
  private resolved(offset: number, content: Buffer): void {
    if (!pointerLike(content)) return;
    const id = blobId(content);
    const pointer = parsePointer(content);
    if (pointer) {
      const text = content.toString('utf8');
      this.found.set(id, { blob: id, ...pointer, ...(text === canonicalPointer(pointer.oid, pointer.size) ? {} : { text }) });
    } else {
      if (this.nearPointerBytes + content.byteLength > NEAR_POINTER_LIMIT) return;
      this.nearPointerBytes += content.byteLength;
    }
    const kept = Buffer.from(content);
    this.basesByOffset.set(offset, kept);
    this.basesById.set(id, kept);
  }
}
