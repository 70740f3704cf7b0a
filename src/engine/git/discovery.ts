/**
 * Reading a service's advertisement (gitprotocol-http "Smart Clients",
 * gitprotocol-pack "Reference Discovery", gitprotocol-v2 "Capability Advertisement").
 */
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { ByteStream } from '../streams.js';
import { AGENT, type GitHttp, type GitService } from './http.js';
import { DELIM_PKT, FLUSH_PKT, PktLineReader, packetText, pktLine, readLines, type Packet } from './pktline.js';
import type { RemoteHead, RemoteRef } from './types.js';

export const OID = /^[0-9a-f]{40}$/;

/** Shaped like a RefListing, so a v0 advertisement is one. */
export interface Advertisement {
  protocol: 0 | 2;
  capabilities: string[];
  /** v0 only: v2 lists refs with the ls-refs command. */
  refs: RemoteRef[];
  head: RemoteHead;
}

export function protocolError(message: string): LifeboatError {
  return new LifeboatError('GIT_PROTOCOL', `Malformed reply from the git server: ${message}`);
}

/** Refs sorted by name as git lists them (its byte order equals code unit order for all but astral-plane names). */
export function byName(a: RemoteRef, b: RemoteRef): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The value of `key=value` in a capability list, '' for a bare `key`, undefined when absent. */
export function capability(capabilities: readonly string[], key: string): string | undefined {
  for (const entry of capabilities) {
    if (entry === key) return '';
    if (entry.startsWith(`${key}=`)) return entry.slice(key.length + 1);
  }
  return undefined;
}

/**
 * The capabilities a request sends: those of `wanted` the server advertised, and our
 * `agent=` when it advertised one ("...only if the server advertised the capability").
 */
export function requestCapabilities(serverCapabilities: readonly string[], wanted: readonly string[] = []): string[] {
  const chosen = wanted.filter((name) => capability(serverCapabilities, name) !== undefined);
  if (capability(serverCapabilities, 'agent') !== undefined) chosen.push(`agent=${AGENT}`);
  return chosen;
}

/** v2 "command-request = command capability-list delim-pkt command-args flush-pkt", each line a PKT-LINE. */
export function writeCommandRequest(command: string, serverCapabilities: readonly string[], args: readonly string[]): Buffer {
  return Buffer.concat([
    pktLine(`command=${command}\n`),
    ...requestCapabilities(serverCapabilities).map((entry) => pktLine(`${entry}\n`)),
    DELIM_PKT,
    ...args.map((arg) => pktLine(`${arg}\n`)),
    FLUSH_PKT,
  ]);
}

/**
 * v0/v1 ref advertisement: "the first reference ... followed by a NUL and the
 * capability list"; an empty repository sends "zero-id SP capabilities^{}";
 * a peeled tag follows its tag as "obj-id SP refname^{}"; `.have` lines name
 * alternates' tips, not refs.
 */
export function parseV0Advertisement(lines: readonly string[]): Omit<Advertisement, 'protocol'> {
  let capabilities: string[] = [];
  const refs: RemoteRef[] = [];
  let head: RemoteHead = {};
  let last: RemoteRef | undefined;
  lines.forEach((raw, index) => {
    let line = raw;
    if (index === 0) {
      const nul = line.indexOf('\0');
      if (nul >= 0) {
        capabilities = line.slice(nul + 1).split(' ').filter((entry) => entry !== '');
        line = line.slice(0, nul);
      }
    }
    if (line.startsWith('shallow ')) return;
    const space = line.indexOf(' ');
    const oid = line.slice(0, space);
    const name = line.slice(space + 1);
    if (space < 0 || !OID.test(oid) || name === '') throw protocolError(`bad ref advertisement line ${JSON.stringify(line.slice(0, 200))}`);
    if (name === 'capabilities^{}' || name === '.have') return;
    if (name.endsWith('^{}')) {
      if (last?.name !== name.slice(0, -3)) throw protocolError(`peeled line ${JSON.stringify(name)} does not follow its ref`);
      last.peeled = oid;
      return;
    }
    if (name === 'HEAD') {
      head = { oid };
      last = undefined;
      return;
    }
    last = { name, oid };
    refs.push(last);
  });
  // "symref=HEAD:refs/heads/main" names a symbolic ref's target (gitprotocol-capabilities).
  for (const entry of capabilities) {
    if (!entry.startsWith('symref=')) continue;
    const [name, target] = entry.slice('symref='.length).split(':', 2);
    if (name === 'HEAD' && target) head.symref = target;
    const ref = refs.find((candidate) => candidate.name === name);
    if (ref && target) ref.symref = target;
  }
  return { capabilities, refs: refs.sort(byName), head };
}

/**
 * Reads `GET info/refs?service=...`: an optional "# service=<service>" line and
 * flush (always in v0, some v2 servers too), then either "version 2" and the
 * capability lines, or a v0 ("version 1" is v0 with a version line) advertisement.
 */
export async function readAdvertisement(stream: ByteStream, service: GitService): Promise<Advertisement> {
  const reader = new PktLineReader(stream);
  try {
    let first: Packet | undefined;
    try {
      first = await reader.read();
    } catch (error) {
      if (!isLifeboatError(error, 'GIT_PROTOCOL')) throw error;
      throw new LifeboatError('GIT_NOT_A_REPOSITORY', 'The server did not answer with a git smart-HTTP advertisement (not pkt-lines): the URL is not a git repository.', { cause: error });
    }
    const preamble = first instanceof Uint8Array ? packetText(first) : '';
    if (preamble.startsWith('# service=')) {
      if (preamble !== `# service=${service}`) throw protocolError(`advertisement for ${preamble.slice('# service='.length)}, not ${service}`);
      if ((await reader.read()) !== 'flush') throw protocolError('no flush-pkt after the "# service=" line');
      first = await reader.read();
    }
    if (first === undefined) throw new LifeboatError('GIT_NOT_A_REPOSITORY', 'The server sent an empty advertisement: the URL is not a git repository.');
    if (first === 'flush') return { protocol: 0, capabilities: [], refs: [], head: {} };
    if (typeof first === 'string') throw protocolError(`unexpected ${first} packet at the start of the advertisement`);
    const firstLine = packetText(first);
    const { lines, end } = await readLines(reader);
    if (end !== 'flush') throw protocolError(`unexpected ${end} packet in the advertisement`);
    if (firstLine === 'version 2') return { protocol: 2, capabilities: lines, refs: [], head: {} };
    return { protocol: 0, ...parseV0Advertisement(firstLine === 'version 1' ? lines : [firstLine, ...lines]) };
  } finally {
    await reader.close();
  }
}

export async function discover(http: GitHttp, service: GitService, protocolV2: boolean): Promise<Advertisement> {
  return readAdvertisement(await http.advertisement(service, protocolV2), service);
}
