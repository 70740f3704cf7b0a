/**
 * pkt-line framing (gitprotocol-common): a 4-hex-digit length that counts itself,
 * then the payload; lengths 0000-0002 are the special packets.
 */
import { LifeboatError } from '../errors.js';
import type { ByteStream } from '../streams.js';

/** A data packet's payload, or one of the special packets. */
export type Packet = Uint8Array | 'flush' | 'delim' | 'response-end';

/** "0000 Flush Packet (flush-pkt) - indicates the end of a message" */
export const FLUSH_PKT = Buffer.from('0000');
/** "0001 Delimiter Packet (delim-pkt) - separates sections of a message" */
export const DELIM_PKT = Buffer.from('0001');
/** "0002 Response End Packet (response-end-pkt) - indicates the end of a response for stateless connections" */
export const RESPONSE_END_PKT = Buffer.from('0002');

/** "the maximum length of a pkt-line's data component is 65516 bytes" (65520 with the length prefix). */
const MAX_PKT_LENGTH = 65520;
const EMPTY = new Uint8Array(0);

/** Encodes one data packet; text lines should end in LF ("the sender SHOULD include a LF"). */
export function pktLine(data: string | Uint8Array): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const length = payload.byteLength + 4;
  if (length > MAX_PKT_LENGTH) throw new LifeboatError('INTERNAL', `A pkt-line of ${length} bytes exceeds the limit of ${MAX_PKT_LENGTH}.`);
  const packet = Buffer.allocUnsafe(length);
  packet.write(length.toString(16).padStart(4, '0'), 0, 'latin1');
  packet.set(payload, 4);
  return packet;
}

export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A data packet as text, without its trailing LF. "An error packet is a special
 * pkt-line that contains an error string": `ERR <message>` is the server's fatal error.
 */
export function packetText(data: Uint8Array): string {
  const text = asBuffer(data).toString('utf8');
  const line = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (line.startsWith('ERR ')) throw remoteError(line.slice(4));
  return line;
}

/**
 * The server's fatal error (an ERR packet or band 3). upload-pack's refusal of a want
 * ("upload-pack: not our ref <oid>", git's upload-pack.c) names the object in
 * `details.refusedWant`, so that callers need not read the server's words.
 */
export function remoteError(message: string): LifeboatError {
  const refused = /\bnot our ref ([0-9a-f]{40}|[0-9a-f]{64})\b/.exec(message)?.[1];
  return new LifeboatError('GIT_REMOTE_ERROR', `The git server reported an error: ${message}`, refused ? { details: { refusedWant: refused } } : undefined);
}

function protocolError(message: string): LifeboatError {
  return new LifeboatError('GIT_PROTOCOL', `Malformed reply from the git server: ${message}`);
}

function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x61 + 10;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x41 + 10;
  return -1;
}

/**
 * Reads packets from a byte stream as they arrive. Holds at most one chunk and
 * one packet: a payload inside one chunk is returned as a view of it, one that
 * spans chunks is assembled into its own buffer.
 */
export class PktLineReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = EMPTY;
  private offset = 0;
  private peeked: Promise<Packet | undefined> | undefined;

  constructor(stream: ByteStream) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  /** The next packet, or undefined when the stream ends cleanly between packets. */
  read(): Promise<Packet | undefined> {
    const next = this.peeked ?? this.readPacket();
    this.peeked = undefined;
    return next;
  }

  /** The next packet without consuming it. */
  peek(): Promise<Packet | undefined> {
    this.peeked ??= this.readPacket();
    return this.peeked;
  }

  /** Stops reading; the source is told to stop (e.g. an HTTP body is cancelled). */
  async close(): Promise<void> {
    await this.iterator.return?.();
  }

  private async readPacket(): Promise<Packet | undefined> {
    const header = await this.take(4, true);
    if (header === undefined) return undefined;
    let length = 0;
    for (let i = 0; i < 4; i++) {
      const digit = hexDigit(header[i] ?? -1);
      if (digit < 0) throw protocolError(`invalid pkt-line length ${JSON.stringify(asBuffer(header).toString('latin1'))}`);
      length = length * 16 + digit;
    }
    if (length === 0) return 'flush';
    if (length === 1) return 'delim';
    if (length === 2) return 'response-end';
    if (length < 4 || length > MAX_PKT_LENGTH) throw protocolError(`invalid pkt-line length ${length}`);
    return length === 4 ? EMPTY : this.take(length - 4, false);
  }

  /** `count` bytes; undefined only when `atBoundary` and the stream ended before the first of them. */
  private async take(count: number, atBoundary: boolean): Promise<Uint8Array | undefined> {
    const available = this.chunk.byteLength - this.offset;
    if (available >= count) {
      const view = this.chunk.subarray(this.offset, this.offset + count);
      this.offset += count;
      return view;
    }
    const assembled = Buffer.allocUnsafe(count);
    let filled = 0;
    for (;;) {
      const piece = Math.min(count - filled, this.chunk.byteLength - this.offset);
      assembled.set(this.chunk.subarray(this.offset, this.offset + piece), filled);
      filled += piece;
      this.offset += piece;
      if (filled === count) return assembled;
      const { done, value } = await this.iterator.next();
      if (done) {
        if (atBoundary && filled === 0) return undefined;
        throw protocolError('the reply ended in the middle of a pkt-line');
      }
      this.chunk = value;
      this.offset = 0;
    }
  }
}

/** Data lines up to the next special packet ("a message ends with a flush-pkt", sections with a delim-pkt). */
export async function readLines(reader: PktLineReader): Promise<{ lines: string[]; end: Exclude<Packet, Uint8Array> }> {
  const lines: string[] = [];
  for (;;) {
    const packet = await reader.read();
    if (packet === undefined) throw protocolError('the reply ended before its flush-pkt');
    if (typeof packet === 'string') return { lines, end: packet };
    lines.push(packetText(packet));
  }
}
