/**
 * side-band-64k demultiplexing (gitprotocol-pack, "Packfile Data"): "each packet
 * ... starting with a control code: 1 - pack data, 2 - progress messages,
 * 3 - fatal error message just before stream aborts".
 */
import { LifeboatError } from '../errors.js';
import type { ByteStream } from '../streams.js';
import { packetText, remoteError, type PktLineReader } from './pktline.js';

/** Progress text arrives in arbitrary pieces; lines end at CR (in-place updates) or LF. */
function progressSplitter(onProgress: (line: string) => void): { push(bytes: Uint8Array): void; end(): void } {
  const decoder = new TextDecoder();
  let pending = '';
  return {
    push(bytes) {
      const parts = (pending + decoder.decode(bytes, { stream: true })).split(/[\r\n]/);
      pending = parts.pop() ?? '';
      for (const part of parts) if (part !== '') onProgress(part);
    },
    end() {
      pending += decoder.decode();
      if (pending !== '') onProgress(pending);
      pending = '';
    },
  };
}

/**
 * Yields band 1 (pack bytes, as views of the packets) until the flush-pkt that
 * ends the stream; band 2 goes to `onProgress`, band 3 throws GIT_REMOTE_ERROR.
 */
export async function* demuxSideband(reader: PktLineReader, onProgress?: (line: string) => void): ByteStream {
  const progress = onProgress ? progressSplitter(onProgress) : undefined;
  for (;;) {
    const packet = await reader.read();
    if (packet === undefined) {
      throw new LifeboatError('GIT_PROTOCOL', 'The git server ended its reply before the end of the side-band stream.');
    }
    if (packet === 'flush') {
      progress?.end();
      return;
    }
    if (typeof packet === 'string') throw new LifeboatError('GIT_PROTOCOL', `Unexpected ${packet} packet in the side-band stream.`);
    const band = packet[0];
    if (band === 1) {
      if (packet.byteLength > 1) yield packet.subarray(1);
    } else if (band === 2) {
      progress?.push(packet.subarray(1));
    } else if (band === 3) {
      const message = new TextDecoder().decode(packet.subarray(1)).trim();
      throw remoteError(message);
    } else {
      // Not a band: maybe an `ERR` packet, which packetText throws as the server's error.
      throw new LifeboatError('GIT_PROTOCOL', `Unexpected side-band packet: ${JSON.stringify(packetText(packet).slice(0, 80))}`);
    }
  }
}
