/**
 * Checks a pack while it streams through (gitformat-pack): "A header appears at
 * the beginning and consists of the following: 4-byte signature 'P' 'A' 'C' 'K',
 * 4-byte version number (network byte order) ... 4-byte number of objects", and
 * it ends with "a trailer of ... [the] checksum of all of the above".
 */
import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import { drain, type ByteStream } from '../streams.js';
import type { PackStats, PackStream } from './types.js';

const HEADER_LENGTH = 12;
const TRAILER_LENGTH = 20;
const SIGNATURE = 0x5041434b; // "PACK"

function corrupt(message: string): LifeboatError {
  return new LifeboatError('PACK_CORRUPT', message);
}

async function* check(source: ByteStream, stats: PackStats): ByteStream {
  const hash = createHash('sha1');
  const header = Buffer.alloc(HEADER_LENGTH);
  // The last 20 bytes seen are not hashed yet: they may be the trailer.
  const tail = Buffer.alloc(TRAILER_LENGTH);
  let tailLength = 0;

  for await (const chunk of source) {
    if (stats.bytes < HEADER_LENGTH) {
      const piece = chunk.subarray(0, HEADER_LENGTH - stats.bytes);
      header.set(piece, stats.bytes);
      if (stats.bytes + piece.byteLength === HEADER_LENGTH) {
        if (header.readUInt32BE(0) !== SIGNATURE) throw corrupt('The pack does not start with the "PACK" signature.');
        const version = header.readUInt32BE(4);
        if (version !== 2 && version !== 3) throw corrupt(`Unsupported pack version ${version} (expected 2 or 3).`);
        stats.version = version;
        stats.objectCount = header.readUInt32BE(8);
      }
    }
    stats.bytes += chunk.byteLength;

    if (chunk.byteLength >= TRAILER_LENGTH) {
      hash.update(tail.subarray(0, tailLength));
      hash.update(chunk.subarray(0, chunk.byteLength - TRAILER_LENGTH));
      tail.set(chunk.subarray(chunk.byteLength - TRAILER_LENGTH));
      tailLength = TRAILER_LENGTH;
    } else {
      const spill = tailLength + chunk.byteLength - TRAILER_LENGTH;
      if (spill > 0) {
        hash.update(tail.subarray(0, spill));
        tail.copyWithin(0, spill, tailLength);
        tailLength -= spill;
      }
      tail.set(chunk, tailLength);
      tailLength += chunk.byteLength;
    }
    yield chunk;
  }

  if (stats.bytes < HEADER_LENGTH + TRAILER_LENGTH) {
    throw corrupt(`The pack is truncated: ${stats.bytes} bytes, less than a header and a trailer.`);
  }
  const expected = hash.digest('hex');
  const trailer = tail.toString('hex');
  if (trailer !== expected) {
    throw corrupt(`The pack's trailing SHA-1 ${trailer} does not match its content (${expected}): the pack is corrupt or truncated.`);
  }
  stats.trailer = trailer;
}

/**
 * Passes pack bytes through unchanged (the same chunks), throwing PACK_CORRUPT
 * as soon as the header is wrong and, at the end, when the trailer is.
 */
export function checkedPack(source: ByteStream): PackStream {
  const stats: PackStats = { version: 0, objectCount: 0, trailer: '', bytes: 0 };
  return { stats, [Symbol.asyncIterator]: () => check(source, stats)[Symbol.asyncIterator]() };
}

/** Reads a whole pack (e.g. from the bucket) and returns its stats, or throws PACK_CORRUPT. */
export async function checkPack(source: ByteStream): Promise<PackStats> {
  const pack = checkedPack(source);
  await drain(pack);
  return pack.stats;
}
