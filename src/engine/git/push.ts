/** Pushing with receive-pack (gitprotocol-pack "Pushing Data To a Server"); there is no v2 push. */
import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import { concatStreams, type ByteStream } from '../streams.js';
import { capability, discover, OID, protocolError, requestCapabilities } from './discovery.js';
import type { GitHttp } from './http.js';
import { FLUSH_PKT, PktLineReader, pktLine, readLines } from './pktline.js';
import { demuxSideband } from './sideband.js';
import { ZERO_OID, type PushCommand, type PushOptions, type PushRefResult, type PushReport, type RefListing } from './types.js';

const EMPTY_PACK_HEADER = Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'latin1');
/** A version 2 pack with no objects, and its trailer: what a push that only moves refs to existing objects sends. */
export const EMPTY_PACK = Buffer.concat([EMPTY_PACK_HEADER, createHash('sha1').update(EMPTY_PACK_HEADER).digest()]);

export interface PushRequestOptions {
  atomic: boolean;
  progress: boolean;
}

/**
 * "command-list = PKT-LINE(command NUL capability-list) *PKT-LINE(command) flush-pkt;
 * command = create / delete / update" as "old-id SP new-id SP name". Capabilities
 * are sent only when advertised; push options never (sending them unadvertised corrupts the stream).
 */
export function writePushCommands(serverCapabilities: readonly string[], commands: readonly PushCommand[], options: PushRequestOptions): Buffer {
  const capabilities = requestCapabilities(serverCapabilities, ['report-status', 'side-band-64k', ...(options.atomic ? ['atomic'] : []), ...(options.progress ? [] : ['quiet'])]);
  return Buffer.concat([
    ...commands.map((command, index) => {
      const line = `${command.old} ${command.new} ${command.ref}`;
      return pktLine(index === 0 ? `${line}\0${capabilities.join(' ')}\n` : `${line}\n`);
    }),
    FLUSH_PKT,
  ]);
}

/**
 * "report-status = unpack-status 1*(command-status) flush-pkt; unpack-status =
 * PKT-LINE("unpack" SP unpack-result); command-status = PKT-LINE("ok" SP refname) /
 * PKT-LINE("ng" SP refname SP error-msg)". report-status-v2 `option` lines are skipped.
 */
export function parseReport(lines: readonly string[]): { unpack: string; refs: PushRefResult[] } {
  const [first, ...rest] = lines;
  if (!first?.startsWith('unpack ')) throw protocolError(`the push report does not start with "unpack": ${JSON.stringify(first ?? '')}`);
  const refs: PushRefResult[] = [];
  for (const line of rest) {
    if (line.startsWith('ok ')) {
      refs.push({ ref: line.slice(3), ok: true });
    } else if (line.startsWith('ng ')) {
      const space = line.indexOf(' ', 3);
      refs.push(space < 0 ? { ref: line.slice(3), ok: false } : { ref: line.slice(3, space), ok: false, reason: line.slice(space + 1) });
    } else if (!line.startsWith('option ')) {
      throw protocolError(`unexpected push report line ${JSON.stringify(line.slice(0, 200))}`);
    }
  }
  return { unpack: first.slice('unpack '.length), refs };
}

/** The report as a PushReport for `commands`, or GIT_PUSH_REJECTED unless "unpack ok" and every ref "ok". */
export function checkReport(report: { unpack: string; refs: PushRefResult[] }, commands: readonly PushCommand[]): PushReport {
  const refs = commands.map(({ ref }) => report.refs.find((result) => result.ref === ref) ?? { ref, ok: false, reason: 'no status reported' });
  const rejected = refs.filter((result) => !result.ok);
  if (report.unpack === 'ok' && rejected.length === 0) return { refs };
  const problems = [
    ...(report.unpack === 'ok' ? [] : [`the server could not unpack the pack (${report.unpack})`]),
    ...rejected.map((result) => `${result.ref} (${result.reason ?? 'rejected'})`),
  ];
  throw new LifeboatError('GIT_PUSH_REJECTED', `The git server rejected the push: ${problems.join('; ')}.`, { details: { unpack: report.unpack, refs } });
}

function validate(options: PushOptions): void {
  if (options.commands.length === 0) throw new LifeboatError('INTERNAL', 'push needs at least one command.');
  for (const command of options.commands) {
    if (!OID.test(command.old) || !OID.test(command.new) || (command.old === ZERO_OID && command.new === ZERO_OID) || !/^refs\/\S+$/.test(command.ref)) {
      throw new LifeboatError('INVALID_ARGUMENT', `Bad push command ${JSON.stringify(command)}.`);
    }
  }
}

export async function listPushRefs(http: GitHttp): Promise<RefListing> {
  const advertisement = await discover(http, 'git-receive-pack', false);
  if (advertisement.protocol !== 0) throw protocolError('receive-pack answered with protocol v2, which has no push');
  return advertisement;
}

/**
 * Sends the commands and then the pack, streamed: "The pack-file MUST NOT be sent
 * if the only command used is 'delete'", and is sent otherwise (an empty one when
 * none is given). The HTTP status is 200 whatever happened: the report decides.
 */
export async function push(http: GitHttp, options: PushOptions): Promise<PushReport> {
  validate(options);
  const { capabilities } = await listPushRefs(http);
  if (capability(capabilities, 'report-status') === undefined) {
    throw new LifeboatError('GIT_PROTOCOL', `The git server at ${http.url} does not offer report-status, so a push could not be checked.`);
  }
  const allDeletes = options.commands.every((command) => command.new === ZERO_OID);
  if (allDeletes && options.pack) throw new LifeboatError('INTERNAL', 'A push of only deletes must not send a pack.');
  const commands = writePushCommands(capabilities, options.commands, { atomic: options.atomic ?? true, progress: options.onProgress !== undefined });
  const body: Uint8Array | ByteStream = allDeletes ? commands : concatStreams([commands, options.pack ?? EMPTY_PACK]);

  const reader = new PktLineReader(await http.request('git-receive-pack', body, false));
  try {
    // With side-band-64k "the report is ... sent in band 1", itself as pkt-lines.
    const sideband = capability(capabilities, 'side-band-64k') !== undefined;
    const reportReader = sideband ? new PktLineReader(demuxSideband(reader, options.onProgress)) : reader;
    const { lines, end } = await readLines(reportReader);
    if (end !== 'flush') throw protocolError(`unexpected ${end} packet in the push report`);
    return checkReport(parseReport(lines), options.commands);
  } finally {
    await reader.close();
  }
}
