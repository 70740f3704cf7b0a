/** The protocol v2 `ls-refs` command (gitprotocol-v2 "ls-refs"). */
import { capability, byName, OID, protocolError, writeCommandRequest } from './discovery.js';
import type { GitHttp } from './http.js';
import { PktLineReader, readLines } from './pktline.js';
import type { RefListing, RemoteHead, RemoteRef } from './types.js';

/**
 * "command=ls-refs", capabilities, delim, then arguments: `peel` and `symrefs`
 * add the attributes; `unborn` (only when "ls-refs=unborn" is advertised) names
 * HEAD's target in an empty repository; no `ref-prefix`, so every ref comes back.
 */
export function writeLsRefsRequest(serverCapabilities: readonly string[]): Buffer {
  const unborn = capability(serverCapabilities, 'ls-refs')?.split(' ').includes('unborn') ?? false;
  return writeCommandRequest('ls-refs', serverCapabilities, ['peel', 'symrefs', ...(unborn ? ['unborn'] : [])]);
}

/**
 * "output = *ref flush-pkt; obj-id-or-unborn = (obj-id | "unborn");
 * ref = PKT-LINE(obj-id-or-unborn SP refname *(SP ref-attribute) LF);
 * ref-attribute = (symref | peeled); symref = "symref-target:" symref-target; peeled = "peeled:" obj-id"
 */
export function parseLsRefs(lines: readonly string[]): { refs: RemoteRef[]; head: RemoteHead } {
  const refs: RemoteRef[] = [];
  let head: RemoteHead = {};
  for (const line of lines) {
    const [id, name, ...attributes] = line.split(' ');
    if (id === undefined || name === undefined || name === '' || (id !== 'unborn' && !OID.test(id))) {
      throw protocolError(`bad ls-refs line ${JSON.stringify(line.slice(0, 200))}`);
    }
    const ref: RemoteRef = { name, oid: id };
    for (const attribute of attributes) {
      if (attribute.startsWith('symref-target:')) ref.symref = attribute.slice('symref-target:'.length);
      else if (attribute.startsWith('peeled:')) ref.peeled = attribute.slice('peeled:'.length);
    }
    if (ref.peeled !== undefined && !OID.test(ref.peeled)) throw protocolError(`bad peeled oid in ${JSON.stringify(line)}`);
    if (name === 'HEAD') {
      head = id === 'unborn' ? { unborn: true } : { oid: id };
      if (ref.symref !== undefined) head.symref = ref.symref;
    } else if (id !== 'unborn') {
      refs.push(ref);
    }
  }
  return { refs: refs.sort(byName), head };
}

export async function lsRefs(http: GitHttp, serverCapabilities: readonly string[]): Promise<RefListing> {
  const reader = new PktLineReader(await http.request('git-upload-pack', writeLsRefsRequest(serverCapabilities), true));
  try {
    const { lines, end } = await readLines(reader);
    if (end !== 'flush') throw protocolError(`unexpected ${end} packet in the ls-refs reply`);
    return { protocol: 2, ...parseLsRefs(lines), capabilities: [...serverCapabilities] };
  } finally {
    await reader.close();
  }
}
