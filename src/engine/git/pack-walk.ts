/**
 * A pack read object by object as its bytes pass (gitformat-pack), in constant
 * memory: nothing is held but the bytes of the object being read. Each object's
 * header gives its type and inflated size; a pack has no index, so where an
 * object ends is known only from its zlib data. An object of up to SYNC_LIMIT
 * bytes is read once its data must be whole (never inflated again as more bytes
 * arrive) and handed over whole; a larger one is inflated as a stream, its bytes
 * handed to a sink when the visitor wants them. An object the visitor does not
 * want (decided from its header) is only walked past: through its stored and
 * fixed-Huffman blocks without inflating (zlib-end.ts, StoredSkip), by zlib where
 * it is coded otherwise. The LFS pointer scanner (lfs-pointers.ts) and the restore
 * plan (restore-plan.ts) read packs through it.
 */
import { type Inflate, constants, createInflate, createInflateRaw, inflateSync } from 'node:zlib';
import { LifeboatError } from '../errors.js';
import { zlibStreamLength } from './zlib-end.js';

export const COMMIT = 1;
export const TREE = 2;
export const BLOB = 3;
export const TAG = 4;
export const OFS_DELTA = 6;
export const REF_DELTA = 7;

/** Objects up to this size are inflated in one call; larger ones stream. */
const SYNC_LIMIT = 256 * 1024;
/** Deflate never grows data by more than a few bytes per 16 KiB block: more than this is no small object. */
const compressedLimit = (size: number): number => size + (size >> 6) + 1024;

export function packCorrupt(message: string): LifeboatError {
  return new LifeboatError('PACK_CORRUPT', message);
}

export interface PackObjectHeader {
  type: number;
  /** The inflated size of the object's data: for a delta, of the delta itself. */
  size: number;
  offset: number;
  baseOffset?: number;
  baseId?: string;
  /** Bytes of the header (type, size, base). */
  length: number;
}

/** Where a streamed object's inflated bytes go, in order, then `end`. */
export interface PackObjectSink {
  data(chunk: Buffer): void;
  end(): void;
}

export interface PackVisitor {
  /**
   * Whether `object` wants this object's content, decided from its header (type,
   * size, base); when not, the walker only finds where its data ends, without
   * inflating it where its blocks allow (zlib-end.ts). Absent: every object.
   */
  wants?(header: PackObjectHeader): boolean;
  /** An object inflated whole (at most SYNC_LIMIT bytes). */
  object(header: PackObjectHeader, content: Buffer): void;
  /** A larger object: a sink for its inflated bytes, or undefined to discard them. */
  large?(header: PackObjectHeader): PackObjectSink | undefined;
}

/** "The delta data starts with the size of the base object and the size of the object to be reconstructed", then copy/insert instructions. */
export function readDeltaSizes(delta: Uint8Array): { baseSize: number; resultSize: number; start: number } | undefined {
  let position = 0;
  const varint = (): number | undefined => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = delta[position++];
      if (byte === undefined || shift > 49) return undefined;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const baseSize = varint();
  const resultSize = varint();
  return baseSize === undefined || resultSize === undefined ? undefined : { baseSize, resultSize, start: position };
}

/** A delta's result: its copy and insert instructions applied to its base. */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Buffer {
  const sizes = readDeltaSizes(delta);
  if (!sizes || sizes.baseSize !== base.byteLength) throw packCorrupt('A delta in the pack does not fit its base.');
  const result = Buffer.alloc(sizes.resultSize);
  let out = 0;
  let position = sizes.start;
  while (position < delta.byteLength) {
    const op = delta[position++]!;
    if (op & 0x80) {
      let offset = 0;
      let length = 0;
      for (let bit = 0; bit < 4; bit++) if (op & (1 << bit)) offset += delta[position++]! * 2 ** (8 * bit);
      for (let bit = 0; bit < 3; bit++) if (op & (1 << (4 + bit))) length += delta[position++]! * 2 ** (8 * bit);
      if (length === 0) length = 0x10000;
      if (offset + length > base.byteLength || out + length > result.byteLength) throw packCorrupt('A delta in the pack copies beyond its base.');
      result.set(base.subarray(offset, offset + length), out);
      out += length;
    } else if (op !== 0) {
      if (position + op > delta.byteLength || out + op > result.byteLength) throw packCorrupt('A delta in the pack inserts beyond its end.');
      result.set(delta.subarray(position, position + op), out);
      position += op;
      out += op;
    } else {
      throw packCorrupt('A delta in the pack has a reserved instruction.');
    }
  }
  if (out !== result.byteLength) throw packCorrupt('A delta in the pack is shorter than it says.');
  return result;
}

/** Reads an object header at `at`, or undefined when the buffer does not hold all of it yet. */
function readHeader(buffer: Buffer, at: number, offset: number): PackObjectHeader | undefined {
  let position = at;
  let byte = buffer[position++];
  if (byte === undefined) return undefined;
  const type = (byte >> 4) & 7;
  let size = byte & 0x0f;
  let shift = 4;
  while (byte & 0x80) {
    byte = buffer[position++];
    if (byte === undefined) return undefined;
    if (shift > 49) throw packCorrupt(`The object at offset ${offset} of the pack has an impossible size.`);
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  if (![COMMIT, TREE, BLOB, TAG, OFS_DELTA, REF_DELTA].includes(type)) throw packCorrupt(`The object at offset ${offset} of the pack has the unknown type ${type}.`);
  const header: PackObjectHeader = { type, size, offset, length: 0 };
  if (type === OFS_DELTA) {
    // "n bytes with MSB set in all but the last one ... offset = ((offset + 1) << 7) | (byte & 127)"
    byte = buffer[position++];
    if (byte === undefined) return undefined;
    let distance = byte & 0x7f;
    while (byte & 0x80) {
      byte = buffer[position++];
      if (byte === undefined) return undefined;
      distance = (distance + 1) * 128 + (byte & 0x7f);
    }
    if (distance > offset) throw packCorrupt(`The delta at offset ${offset} of the pack names a base before the pack's start.`);
    header.baseOffset = offset - distance;
  } else if (type === REF_DELTA) {
    if (buffer.byteLength < position + 20) return undefined;
    header.baseId = buffer.subarray(position, position + 20).toString('hex');
    position += 20;
  }
  header.length = position - at;
  return header;
}

/** Inflates one large object as a stream, its bytes to the sink (or discarded), to learn where its zlib data ends. */
class StreamingInflate {
  private failure: Error | undefined;

  constructor(sink: PackObjectSink | undefined, private readonly inflate: Inflate = createInflate()) {
    this.inflate.on('data', sink ? (chunk: Buffer) => sink.data(chunk) : () => undefined);
    this.inflate.on('error', (error) => { this.failure = error; });
  }

  /** Feeds `input`; resolves to how much of it the object's data used when it ended within it, or undefined to go on. */
  async feed(input: Buffer): Promise<number | undefined> {
    const before = this.inflate.bytesWritten;
    await new Promise<void>((resolve, reject) => {
      this.inflate.write(input, (error) => (error ? reject(error) : resolve()));
    }).catch((error: unknown) => { throw packCorrupt(`The pack's compressed data is damaged (${error instanceof Error ? error.message : String(error)}).`); });
    if (this.failure) throw packCorrupt(`The pack's compressed data is damaged (${this.failure.message}).`);
    const used = this.inflate.bytesWritten - before;
    return used < input.byteLength ? used : undefined;
  }

  close(): void {
    this.inflate.destroy();
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * An object's data inflated at once, and how many bytes of `data` it used; undefined
 * when `data` ends before the object's zlib stream does. Z_SYNC_FLUSH: a stream cut
 * off returns what it inflated instead of throwing (the hot path builds no errors).
 */
function inflateWhole(data: Buffer, header: PackObjectHeader): { content: Buffer; used: number } | undefined {
  let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // An output chunk the size of the object: the default (16 KiB) costs more than the inflating itself.
    inflated = inflateSync(data, { info: true, chunkSize: Math.max(64, header.size + 64), finishFlush: constants.Z_SYNC_FLUSH }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  } catch (error) {
    throw packCorrupt(`The object at offset ${header.offset} of the pack is damaged (${(error as Error).message}).`);
  }
  const used = inflated.engine.bytesWritten;
  // The stream ended where inflating stopped short of the input's end; having used all of it, it may lack its last bytes (the Adler-32).
  if (used === data.byteLength) return undefined;
  if (inflated.buffer.byteLength !== header.size) throw packCorrupt(`The object at offset ${header.offset} of the pack inflates to ${inflated.buffer.byteLength} bytes, not ${header.size}.`);
  return { content: inflated.buffer, used };
}

/** Deflate's window: how far back a block may copy from (RFC 1951 2.2). */
const WINDOW = 32 * 1024;

/**
 * A large object nobody reads, skipped as its bytes pass: its stored blocks
 * (incompressible data, most of a large binary) by their lengths, without inflating
 * (zlib-end.ts reads whole small objects the same way). From the first block of
 * another type on, a raw inflater takes over, primed with the window the stored
 * bytes left, and its output is only counted.
 */
class StoredSkip {
  private phase: 'header' | 'block' | 'length' | 'data' | 'trailer' = 'header';
  /** A field cut by a chunk's end: its bytes so far. */
  private readonly field = Buffer.alloc(4);
  private fieldBytes = 0;
  private left = 0;
  private finalBlock = false;
  private out = 0;
  /** The last WINDOW bytes of output: what a later compressed block may copy from. */
  private readonly window = Buffer.alloc(WINDOW);
  private windowBytes = 0;
  private inflater: StreamingInflate | undefined;

  constructor(private readonly header: PackObjectHeader) {}

  /** As StreamingInflate.feed: how much of `input` the object used when it ended within it, or undefined to go on. */
  async feed(input: Buffer): Promise<number | undefined> {
    let at = 0;
    while (at < input.byteLength) {
      if (this.inflater) {
        const used = await this.inflater.feed(input.subarray(at));
        if (used === undefined) return undefined;
        at += used;
        this.inflater.close();
        this.inflater = undefined;
        this.phase = 'trailer';
        continue;
      }
      if (this.phase === 'data') {
        const length = Math.min(this.left, input.byteLength - at);
        this.remember(input.subarray(at, at + length));
        at += length;
        this.left -= length;
        if (this.left === 0) this.phase = this.finalBlock ? 'trailer' : 'block';
        continue;
      }
      if (this.phase === 'block') {
        const byte = input[at]!;
        this.finalBlock = (byte & 1) === 1;
        if (((byte >> 1) & 3) !== 0) {
          this.inflater = new StreamingInflate({ data: (chunk) => this.counted(chunk.byteLength), end: () => undefined }, createInflateRaw({ dictionary: this.window.subarray(0, this.windowBytes) }));
          continue;
        }
        // Stored: the rest of the byte is padding.
        at += 1;
        this.phase = 'length';
        continue;
      }
      // A fixed-size field: the zlib header (2), LEN and NLEN (4), the Adler-32 (4).
      const size = this.phase === 'header' ? 2 : 4;
      const length = Math.min(size - this.fieldBytes, input.byteLength - at);
      input.copy(this.field, this.fieldBytes, at, at + length);
      this.fieldBytes += length;
      at += length;
      if (this.fieldBytes < size) return undefined;
      this.fieldBytes = 0;
      if (this.phase === 'header') {
        const [cmf = 0, flags = 0] = this.field;
        if ((cmf & 0x0f) !== 8 || (flags & 0x20) !== 0 || ((cmf << 8) | flags) % 31 !== 0) throw this.damaged('its zlib header is not one');
        this.phase = 'block';
      } else if (this.phase === 'length') {
        this.left = this.field.readUInt16LE(0);
        if ((this.left ^ 0xffff) !== this.field.readUInt16LE(2)) throw this.damaged('a stored block\'s length does not match its check');
        this.phase = this.left > 0 ? 'data' : this.finalBlock ? 'trailer' : 'block';
      } else {
        if (this.out !== this.header.size) throw this.damaged(`it inflates to ${this.out} bytes`);
        return at;
      }
    }
    return undefined;
  }

  close(): void {
    this.inflater?.close();
  }

  private remember(bytes: Buffer): void {
    this.counted(bytes.byteLength);
    if (bytes.byteLength >= WINDOW) {
      bytes.copy(this.window, 0, bytes.byteLength - WINDOW);
      this.windowBytes = WINDOW;
      return;
    }
    const kept = Math.min(this.windowBytes, WINDOW - bytes.byteLength);
    this.window.copy(this.window, 0, this.windowBytes - kept, this.windowBytes);
    bytes.copy(this.window, kept);
    this.windowBytes = kept + bytes.byteLength;
  }

  private counted(bytes: number): void {
    this.out += bytes;
    if (this.out > this.header.size) throw this.damaged(`it inflates to more than ${this.header.size} bytes`);
  }

  private damaged(why: string): LifeboatError {
    return packCorrupt(`The object at offset ${this.header.offset} of the pack is damaged (${why}).`);
  }
}

/** Feed it a pack's bytes in order (`write`), then call `end`; each object goes to the visitor. */
export class PackWalker {
  /** Input not parsed yet, joined only once it holds `need` bytes: an object is inflated once, never retried as its bytes trickle in. */
  private queue: Buffer[] = [];
  private queued = 0;
  /** Bytes the parser needs at the queue's start to make progress: the pack header, an object header, or an object's data up to compressedLimit. */
  private need = 12;
  /** Set by `end`: no more input comes, so what is queued is parsed as it is. */
  private final = false;
  /** Pack offset of the queue's first byte. */
  private offset = 0;
  private objectsLeft = -1;
  private header: PackObjectHeader | undefined;
  private streaming: { inflate: StreamingInflate | StoredSkip; sink: PackObjectSink | undefined } | undefined;
  /** Most bytes of input held at once. */
  maxPendingBytes = 0;

  constructor(private readonly visitor: PackVisitor) {}

  async write(chunk: Uint8Array): Promise<void> {
    let input = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (input.byteLength > 0) {
      if (this.streaming) {
        const used = await this.streaming.inflate.feed(input);
        if (used === undefined) {
          this.offset += input.byteLength;
          return;
        }
        this.offset += used;
        input = input.subarray(used);
        this.streaming.inflate.close();
        this.streaming.sink?.end();
        this.streaming = undefined;
        this.objectDone();
        continue;
      }
      this.queue.push(input);
      this.queued += input.byteLength;
      this.maxPendingBytes = Math.max(this.maxPendingBytes, this.queued);
      input = this.parseQueue();
    }
  }

  /** Once all of the pack was written (its trailer is checked by pack-check): parses what waited for more input, and throws when objects are missing. */
  async end(): Promise<void> {
    this.final = true;
    if (!this.streaming && this.queued > 0) await this.write(this.parseQueue());
    this.streaming?.inflate.close();
    if (this.streaming || this.objectsLeft !== 0) throw packCorrupt('The pack ended before all of its objects.');
  }

  /** Parses the queue once it holds what the parser needs; returns the input a streamed object takes next. */
  private parseQueue(): Buffer {
    if (this.queued < this.need && !this.final) return EMPTY;
    const buffer = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue, this.queued);
    const at = this.parse(buffer);
    this.offset += at;
    let rest = buffer.subarray(at);
    this.queue = [];
    this.queued = 0;
    if (this.streaming) return rest;
    // Never hold on to a whole chunk for a few bytes of it.
    if (rest.byteLength > 0 && rest.byteLength < buffer.byteLength / 4) rest = Buffer.from(rest);
    if (rest.byteLength > 0) this.queue.push(rest);
    this.queued = rest.byteLength;
    return EMPTY;
  }

  /** Visits the objects `buffer` holds whole; returns how much of it was used, having set `need` (or started streaming). */
  private parse(buffer: Buffer): number {
    let at = 0;
    for (;;) {
      if (this.objectsLeft < 0) {
        if (buffer.byteLength - at < 12) break;
        if (buffer.readUInt32BE(at) !== 0x5041434b) throw packCorrupt('The pack does not start with the "PACK" signature.');
        this.objectsLeft = buffer.readUInt32BE(at + 8);
        at += 12;
        continue;
      }
      if (this.objectsLeft === 0) {
        this.need = 1;
        return buffer.byteLength; // the trailer (pack-check verifies it)
      }
      if (!this.header) {
        const header = readHeader(buffer, at, this.offset + at);
        if (!header) {
          this.need = buffer.byteLength - at + 1;
          return at;
        }
        this.header = header;
        at += header.length;
      }
      const header = this.header;
      if (header.size > SYNC_LIMIT) {
        this.stream(header);
        return at;
      }
      const data = buffer.subarray(at);
      const limit = compressedLimit(header.size);
      if (data.byteLength < limit && !this.final) {
        // Wait until the object's data must be whole: inflating it now might only find it cut off, to be inflated again.
        this.need = limit;
        return at;
      }
      const wanted = this.visitor.wants?.(header) ?? true;
      const skipped = wanted ? undefined : zlibStreamLength(data, header.size);
      if (skipped !== undefined) {
        at += skipped;
        this.objectDone();
        continue;
      }
      const inflated = inflateWhole(data, header);
      if (!inflated) {
        if (this.final) return at; // cut off: `end` says the pack ended early
        // Longer than an object this size can be from zlib: stream it.
        this.stream(header);
        return at;
      }
      at += inflated.used;
      if (wanted) this.visitor.object(header, inflated.content);
      this.objectDone();
    }
    this.need = 12;
    return at;
  }

  private stream(header: PackObjectHeader): void {
    const sink = this.visitor.large?.(header);
    this.streaming = { inflate: sink ? new StreamingInflate(sink) : new StoredSkip(header), sink };
  }

  private objectDone(): void {
    this.header = undefined;
    this.objectsLeft -= 1;
  }
}
