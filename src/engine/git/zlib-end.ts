/**
 * Where a zlib stream ends (RFC 1950, RFC 1951), found by reading its block
 * structure without inflating: a pack has no index, so a pack reader learns where
 * an object ends only from its compressed data (pack-walk.ts). Stored blocks say
 * their length; fixed-Huffman blocks (what zlib writes for short data) are read
 * code by code with a table built once, no output written. A dynamic-Huffman block
 * (longer text), a preset dictionary or anything unexpected is left to zlib: the
 * answer is then undefined, as it is when the data ends before the stream does.
 *
 * This is for objects whose content nobody reads: zlib's per-call cost (an engine
 * built and torn down per object) is most of the cost of a small object, and
 * copying an incompressible blob only to discard it is all of a stored one's. The
 * Adler-32 of a stream read this way is not checked; the pack's own checksum
 * (pack-check.ts) covers its bytes.
 */

/** RFC 1951 3.2.5: base lengths and extra bits of length codes 257..285. */
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
/** Base distances and extra bits of distance codes 0..29. */
const DISTANCE_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DISTANCE_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/**
 * The fixed literal/length code (RFC 1951 3.2.6) as a table indexed by the next 9
 * bits of input (Huffman codes are packed from their most significant bit, so the
 * index is the code's bits reversed): symbol << 4 | code length.
 */
const FIXED_CODES = (() => {
  const table = new Uint16Array(512);
  const add = (symbol: number, code: number, length: number): void => {
    let reversed = 0;
    for (let bit = 0; bit < length; bit++) reversed |= ((code >> bit) & 1) << (length - 1 - bit);
    for (let high = 0; high < 1 << (9 - length); high++) table[reversed | (high << length)] = (symbol << 4) | length;
  };
  for (let symbol = 0; symbol <= 143; symbol++) add(symbol, 0x30 + symbol, 8);
  for (let symbol = 144; symbol <= 255; symbol++) add(symbol, 0x190 + symbol - 144, 9);
  for (let symbol = 256; symbol <= 279; symbol++) add(symbol, symbol - 256, 7);
  for (let symbol = 280; symbol <= 287; symbol++) add(symbol, 0xc0 + symbol - 280, 8);
  return table;
})();

/**
 * How many bytes of `data` the zlib stream at its start takes (header, blocks and
 * Adler-32), when it inflates to exactly `size` bytes and is made only of stored and
 * fixed-Huffman blocks; otherwise undefined, and zlib must read it.
 */
export function zlibStreamLength(data: Uint8Array, size: number): number | undefined {
  const end = data.byteLength;
  if (end < 2) return undefined;
  const cmf = data[0]!;
  const flags = data[1]!;
  // Deflate, no preset dictionary, a valid header check.
  if ((cmf & 0x0f) !== 8 || (cmf >> 4) > 7 || (flags & 0x20) !== 0 || ((cmf << 8) | flags) % 31 !== 0) return undefined;
  let position = 2;
  /** Bits read ahead, least significant first, and how many. */
  let bitBuffer = 0;
  let bitCount = 0;
  let out = 0;
  for (;;) {
    while (bitCount < 3) {
      if (position >= end) return undefined;
      bitBuffer |= data[position++]! << bitCount;
      bitCount += 8;
    }
    const final = bitBuffer & 1;
    const type = (bitBuffer >> 1) & 3;
    bitBuffer >>>= 3;
    bitCount -= 3;
    if (type === 0) {
      // Stored: the rest of this byte is skipped; LEN, NLEN, then LEN bytes.
      position -= bitCount >> 3;
      bitBuffer = 0;
      bitCount = 0;
      if (position + 4 > end) return undefined;
      const length = data[position]! | (data[position + 1]! << 8);
      const check = data[position + 2]! | (data[position + 3]! << 8);
      if ((length ^ 0xffff) !== check) return undefined;
      position += 4 + length;
      out += length;
      if (position > end || out > size) return undefined;
    } else if (type === 1) {
      for (;;) {
        while (bitCount < 9 && position < end) {
          bitBuffer |= data[position++]! << bitCount;
          bitCount += 8;
        }
        const entry = FIXED_CODES[bitBuffer & 0x1ff]!;
        const length = entry & 15;
        if (length > bitCount) return undefined;
        bitBuffer >>>= length;
        bitCount -= length;
        const symbol = entry >> 4;
        if (symbol < 256) {
          out += 1;
        } else if (symbol === 256) {
          break;
        } else {
          const lengthCode = symbol - 257;
          if (lengthCode >= 29) return undefined;
          // A length's extra bits, a 5-bit distance code, its extra bits: at most 5 + 5 + 13 bits.
          while (bitCount < 23 && position < end) {
            bitBuffer |= data[position++]! << bitCount;
            bitCount += 8;
          }
          const lengthExtra = LENGTH_EXTRA[lengthCode]!;
          if (bitCount < lengthExtra + 5) return undefined;
          const copy = LENGTH_BASE[lengthCode]! + (bitBuffer & ((1 << lengthExtra) - 1));
          bitBuffer >>>= lengthExtra;
          // Fixed distance codes are 5 bits, packed from their most significant bit.
          const code = bitBuffer & 31;
          const distanceCode = ((code & 1) << 4) | ((code & 2) << 2) | (code & 4) | ((code & 8) >> 2) | ((code & 16) >> 4);
          bitBuffer >>>= 5;
          bitCount -= lengthExtra + 5;
          if (distanceCode >= 30) return undefined;
          const distanceExtra = DISTANCE_EXTRA[distanceCode]!;
          if (bitCount < distanceExtra) return undefined;
          const distance = DISTANCE_BASE[distanceCode]! + (bitBuffer & ((1 << distanceExtra) - 1));
          bitBuffer >>>= distanceExtra;
          bitCount -= distanceExtra;
          if (distance > out) return undefined;
          out += copy;
        }
        if (out > size) return undefined;
      }
    } else {
      return undefined;
    }
    if (final) {
      // The Adler-32 starts at the next whole byte.
      position -= bitCount >> 3;
      return out === size && position + 4 <= end ? position + 4 : undefined;
    }
  }
}
