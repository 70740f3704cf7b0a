/** Fetching a pack: the v2 `fetch` command, or the v0 upload-pack request. */
import { LifeboatError } from '../errors.js';
import type { ByteStream } from '../streams.js';
import { capability, OID, protocolError, requestCapabilities, writeCommandRequest, type Advertisement } from './discovery.js';
import type { GitHttp } from './http.js';
import { checkedPack } from './pack-check.js';
import { FLUSH_PKT, PktLineReader, packetText, pktLine, readLines } from './pktline.js';
import { demuxSideband } from './sideband.js';
import type { FetchPackOptions, PackStream, ShallowInfo, ShallowRequest } from './types.js';

export interface FetchRequest {
  wants: string[];
  haves: string[];
  /** Whether the server should send band-2 progress. */
  progress: boolean;
}

function distinctOids(oids: readonly string[], what: string): string[] {
  for (const oid of oids) {
    if (!OID.test(oid)) throw new LifeboatError('INVALID_ARGUMENT', `Not an object id in ${what}: ${JSON.stringify(oid)}.`);
  }
  return [...new Set(oids)];
}

export function fetchRequest(options: FetchPackOptions): FetchRequest {
  const wants = distinctOids(options.wants, 'wants');
  if (wants.length === 0) throw new LifeboatError('INTERNAL', 'fetchPack needs at least one want; with nothing to fetch, do not fetch.');
  return { wants, haves: distinctOids(options.haves ?? [], 'haves'), progress: options.onProgress !== undefined };
}

/**
 * v2: "command=fetch", capabilities, delim, then `thin-pack`, `ofs-delta`,
 * `no-progress` unless progress is wanted, "want <oid>" per object, "have <oid>"
 * per common commit, and `done` so the reply is the pack without negotiation.
 */
export function writeFetchRequestV2(serverCapabilities: readonly string[], request: FetchRequest): Buffer {
  return writeCommandRequest('fetch', serverCapabilities, [
    'thin-pack',
    'ofs-delta',
    ...(request.progress ? [] : ['no-progress']),
    ...request.wants.map((oid) => `want ${oid}`),
    ...request.haves.map((oid) => `have ${oid}`),
    'done',
  ]);
}

/**
 * v0: "want-list = first-want *additional-want; first-want = PKT-LINE("want" SP obj-id
 * SP capability-list)", flush-pkt, the haves, then "done". Capabilities are sent only
 * when advertised.
 */
export function writeUploadRequestV0(serverCapabilities: readonly string[], request: FetchRequest): Buffer {
  const capabilities = requestCapabilities(serverCapabilities, ['side-band-64k', 'ofs-delta', 'thin-pack', ...(request.progress ? [] : ['no-progress'])]);
  const [first, ...rest] = request.wants;
  return Buffer.concat([
    pktLine(`want ${first} ${capabilities.join(' ')}\n`),
    ...rest.map((oid) => pktLine(`want ${oid}\n`)),
    FLUSH_PKT,
    ...request.haves.map((oid) => pktLine(`have ${oid}\n`)),
    pktLine('done\n'),
  ]);
}

/**
 * v2 reply: sections ("acknowledgments", "shallow-info", "wanted-refs", "packfile-uris")
 * each end with a delim-pkt; "packfile" holds the side-band stream and ends with a flush-pkt.
 */
async function skipToPackfileV2(reader: PktLineReader): Promise<void> {
  for (;;) {
    const packet = await reader.read();
    if (!(packet instanceof Uint8Array)) throw protocolError('the fetch reply has no packfile section');
    const section = packetText(packet);
    if (section === 'packfile') return;
    const { end } = await readLines(reader);
    if (end !== 'delim') throw protocolError(`the fetch reply ended after the ${section} section without a packfile`);
  }
}

/** v0 reply after "done": "NAK" or "ACK obj-id" (no multi_ack), then the side-band pack. */
async function skipAcknowledgementsV0(reader: PktLineReader): Promise<void> {
  for (;;) {
    const packet = await reader.peek();
    if (!(packet instanceof Uint8Array)) throw protocolError('the upload-pack reply has no pack');
    if (packet[0] === 1 || packet[0] === 2 || packet[0] === 3) return;
    const line = packetText(packet);
    if (line !== 'NAK' && !line.startsWith('ACK ')) throw protocolError(`unexpected upload-pack line ${JSON.stringify(line.slice(0, 200))}`);
    await reader.read();
  }
}

async function* sidebandPack(reader: PktLineReader, onProgress: ((line: string) => void) | undefined): ByteStream {
  try {
    yield* demuxSideband(reader, onProgress);
  } finally {
    await reader.close();
  }
}

/**
 * Sends the request and reads the reply up to the pack, so that server errors
 * (bad want, auth) surface here; the pack then streams, checked on the fly.
 * Read the result to its end (or break out of it) to release the connection.
 */
export async function fetchPack(http: GitHttp, advertisement: Advertisement, options: FetchPackOptions): Promise<PackStream> {
  const request = fetchRequest(options);
  const { protocol, capabilities } = advertisement;
  if (protocol === 2 && capability(capabilities, 'fetch') === undefined) {
    throw new LifeboatError('GIT_PROTOCOL', `The git server at ${http.url} speaks protocol v2 without the fetch command.`);
  }
  if (protocol === 0 && capability(capabilities, 'side-band-64k') === undefined) {
    throw new LifeboatError('GIT_PROTOCOL', `The git server at ${http.url} does not offer side-band-64k, which Lifeboat needs to fetch.`);
  }
  const body = protocol === 2 ? writeFetchRequestV2(capabilities, request) : writeUploadRequestV0(capabilities, request);
  const reader = new PktLineReader(await http.request('git-upload-pack', body, protocol === 2));
  try {
    await (protocol === 2 ? skipToPackfileV2(reader) : skipAcknowledgementsV0(reader));
  } catch (error) {
    await reader.close();
    throw error;
  }
  return checkedPack(sidebandPack(reader, options.onProgress));
}

/**
 * The shallow boundary `depth` commits below `wants` (v2 fetch `deepen`): the
 * commits at that distance whose parents a shallow fetch would leave out, or []
 * when the history is shallower. Only the reply's "shallow-info" section is read
 * ("shallow-info = PKT-LINE("shallow-info" LF) *PKT-Line((shallow / unshallow) LF)",
 * sent before the packfile section): the connection is closed before the pack,
 * so the answer costs the server a walk of `depth` commits and the start of a
 * pack, and the transfer a few lines. Undefined when the server cannot deepen
 * (protocol v0 here, or a v2 `fetch` without the `shallow` feature).
 *
 * `shallow`: commits sent as the client's own shallow ones ("shallow <oid>"). Of
 * those, the reply's `unshallow` names the ones less than `depth` below `wants`
 * ("The server sends an 'unshallow' line for each commit which the client has
 * indicated is shallow, but is no longer shallow as a result of the fetch",
 * gitprotocol-v2, fetch): it tells whether a known commit lies within the step.
 * One exactly at the boundary is in neither list (git 2.39's upload-pack sends a
 * boundary commit the client already calls shallow no "shallow" line: measured).
 * Each must be a commit: upload-pack dies on a shallow line naming another object
 * ("invalid shallow object"), and ignores one it does not have.
 */
export async function shallowBoundary(http: GitHttp, advertisement: Advertisement, options: ShallowRequest): Promise<ShallowInfo | undefined> {
  const wants = distinctOids(options.wants, 'wants');
  const declared = distinctOids(options.shallow ?? [], 'shallow');
  if (!Number.isSafeInteger(options.depth) || options.depth < 1) throw new LifeboatError('INTERNAL', `A deepen depth must be a positive integer, not ${options.depth}.`);
  const features = advertisement.protocol === 2 ? capability(advertisement.capabilities, 'fetch') : undefined;
  if (features === undefined || !features.split(' ').includes('shallow')) return undefined;
  const lines = ['no-progress', ...wants.map((oid) => `want ${oid}`), ...declared.map((oid) => `shallow ${oid}`), `deepen ${options.depth}`, 'done'];
  const reader = new PktLineReader(await http.request('git-upload-pack', writeCommandRequest('fetch', advertisement.capabilities, lines), true));
  try {
    for (;;) {
      const packet = await reader.read();
      if (!(packet instanceof Uint8Array)) throw protocolError('the fetch reply has no packfile section');
      const section = packetText(packet);
      if (section === 'packfile') return { boundary: [], unshallow: [] };
      const { lines: reply, end } = await readLines(reader);
      if (end !== 'delim') throw protocolError(`the fetch reply ended after the ${section} section without a packfile`);
      if (section !== 'shallow-info') continue;
      return { boundary: namedIn(reply, 'shallow '), unshallow: namedIn(reply, 'unshallow ') };
    }
  } finally {
    await reader.close();
  }
}

/** The distinct object ids of the lines that start with `prefix`, sorted. */
function namedIn(lines: readonly string[], prefix: string): string[] {
  const oids = lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(prefix.length));
  if (oids.some((oid) => !OID.test(oid))) throw protocolError('a shallow-info line does not name an object');
  return [...new Set(oids)].sort();
}
