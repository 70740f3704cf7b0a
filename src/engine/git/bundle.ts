/**
 * Git bundles (gitformat-bundle): a text header, then a pack. The header is
 * small and read whole; the pack is passed on as a stream.
 *
 *   bundle    = signature *capability *prerequisite *reference LF pack
 *   signature = "# v2 git bundle" LF / "# v3 git bundle" LF
 */
import { LifeboatError } from '../errors.js';
import type { ByteStream } from '../streams.js';
import { asBuffer } from './pktline.js';

export interface BundlePrerequisite {
  oid: string;
  /** Free text after the oid; git writes the commit's subject. */
  comment: string;
}

export interface BundleRef {
  oid: string;
  name: string;
}

export interface BundleHeader {
  version: 2 | 3;
  prerequisites: BundlePrerequisite[];
  refs: BundleRef[];
  /** v3 `@key=value` lines (a bare `@key` maps to ''); empty for v2. */
  capabilities: Record<string, string>;
}

export interface Bundle extends BundleHeader {
  /** The rest of the stream after the header's empty line. */
  pack: ByteStream;
}

const SIGNATURES: Record<string, 2 | 3> = { '# v2 git bundle': 2, '# v3 git bundle': 3 };
const SIGNATURE_LENGTH = '# v2 git bundle\n'.length;
/** Longest header line we accept; a ref name is far shorter (the bound keeps a non-bundle from filling memory). */
const MAX_LINE = 64 * 1024;
const SHA1_OID = /^[0-9a-f]{40}$/;
/** "@object-format=<format>" decides the length of the oids that follow. */
const OID_BY_FORMAT: Record<string, RegExp | undefined> = { sha1: SHA1_OID, sha256: /^[0-9a-f]{64}$/ };

function corrupt(message: string): LifeboatError {
  return new LifeboatError('BUNDLE_CORRUPT', `Not a valid git bundle: ${message}`);
}

/**
 * A v2 header for `refs`, with `prerequisites` ("-" obj-id SP comment LF, the
 * objects the pack may refer to but does not contain), ending in the empty line.
 */
export function writeBundleHeader({ refs, prerequisites = [] }: {
  refs: readonly BundleRef[];
  prerequisites?: readonly BundlePrerequisite[];
}): Buffer {
  const lines = ['# v2 git bundle'];
  for (const { oid, comment } of prerequisites) {
    if (!SHA1_OID.test(oid) || /[\r\n]/.test(comment)) throw new LifeboatError('INTERNAL', `Bad bundle prerequisite ${JSON.stringify({ oid, comment })}.`);
    lines.push(comment === '' ? `-${oid}` : `-${oid} ${comment}`);
  }
  for (const { oid, name } of refs) {
    if (!SHA1_OID.test(oid) || name === '' || /\s/.test(name)) throw new LifeboatError('INTERNAL', `Bad bundle ref ${JSON.stringify({ oid, name })}.`);
    lines.push(`${oid} ${name}`);
  }
  return Buffer.from(`${lines.join('\n')}\n\n`, 'utf8');
}

/** Parses header lines one at a time; returns true at the empty line that ends the header. */
function headerParser(header: BundleHeader): (line: string) => boolean {
  let first = true;
  let oidPattern = SHA1_OID;
  return (line) => {
    if (first) {
      first = false;
      const version = SIGNATURES[line];
      if (version === undefined) throw corrupt('it does not start with "# v2 git bundle" or "# v3 git bundle".');
      header.version = version;
      return false;
    }
    if (line === '') return true;
    if (line.startsWith('@')) {
      // "capability = "@" key ["=" value] LF", v3 only, before prerequisites and refs.
      if (header.version !== 3 || header.prerequisites.length > 0 || header.refs.length > 0) throw corrupt(`unexpected capability line ${JSON.stringify(line)}.`);
      const equals = line.indexOf('=');
      const key = equals < 0 ? line.slice(1) : line.slice(1, equals);
      const value = equals < 0 ? '' : line.slice(equals + 1);
      header.capabilities[key] = value;
      if (key === 'object-format') {
        const pattern = OID_BY_FORMAT[value];
        if (!pattern) throw corrupt(`unknown object format ${JSON.stringify(value)}.`);
        oidPattern = pattern;
      }
      return false;
    }
    if (line.startsWith('-')) {
      const space = line.indexOf(' ');
      const oid = space < 0 ? line.slice(1) : line.slice(1, space);
      if (!oidPattern.test(oid) || header.refs.length > 0) throw corrupt(`bad prerequisite line ${JSON.stringify(line)}.`);
      header.prerequisites.push({ oid, comment: space < 0 ? '' : line.slice(space + 1) });
      return false;
    }
    const space = line.indexOf(' ');
    const oid = line.slice(0, space);
    const name = line.slice(space + 1);
    if (space < 0 || !oidPattern.test(oid) || name === '') throw corrupt(`bad reference line ${JSON.stringify(line.slice(0, 200))}.`);
    header.refs.push({ oid, name });
    return false;
  };
}

async function* restOf(first: Uint8Array, iterator: AsyncIterator<Uint8Array>): ByteStream {
  try {
    if (first.byteLength > 0) yield first;
    for (;;) {
      const { done, value } = await iterator.next();
      if (done) return;
      yield value;
    }
  } finally {
    await iterator.return?.();
  }
}

/**
 * Reads a bundle's header (v2 or v3) and returns it with the pack as the rest of
 * the stream, unbuffered. Throws BUNDLE_CORRUPT on a bad header. Read `pack` to
 * its end or break out of it: that releases the source.
 */
export async function readBundle(stream: ByteStream): Promise<Bundle> {
  const header: BundleHeader = { version: 2, prerequisites: [], refs: [], capabilities: {} };
  const parseLine = headerParser(header);
  const iterator = stream[Symbol.asyncIterator]();
  let partial: Buffer = Buffer.alloc(0);
  let seen = 0;
  try {
    for (;;) {
      const { done, value } = await iterator.next();
      if (done) throw corrupt(seen === 0 ? 'it is empty.' : 'it ends inside its header.');
      // Only a line cut by a chunk boundary is joined; whole lines are read in place.
      const buffer = partial.byteLength > 0 ? Buffer.concat([partial, value]) : asBuffer(value);
      const before = seen;
      seen += value.byteLength;
      if (before < SIGNATURE_LENGTH) {
        const start = buffer.subarray(0, SIGNATURE_LENGTH).toString('latin1');
        if (!'# v2 git bundle\n'.startsWith(start) && !'# v3 git bundle\n'.startsWith(start)) {
          throw corrupt('it does not start with "# v2 git bundle" or "# v3 git bundle".');
        }
      }
      let start = 0;
      for (;;) {
        const newline = buffer.indexOf(10, start);
        if (newline < 0) break;
        const line = buffer.toString('utf8', start, newline);
        start = newline + 1;
        if (parseLine(line)) return { ...header, pack: restOf(buffer.subarray(start), iterator) };
      }
      partial = buffer.subarray(start);
      if (partial.byteLength > MAX_LINE) throw corrupt(`a header line is longer than ${MAX_LINE} bytes.`);
    }
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
}
