import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import type { ByteStream } from '../streams.js';
import { DELIM_PKT, FLUSH_PKT, PktLineReader, RESPONSE_END_PKT, packetText, pktLine, readLines, type Packet } from './pktline.js';

async function* inChunks(bytes: Uint8Array, size: number): ByteStream {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

async function readAll(stream: ByteStream): Promise<(string | Packet)[]> {
  const reader = new PktLineReader(stream);
  const packets: (string | Packet)[] = [];
  for (let packet = await reader.read(); packet !== undefined; packet = await reader.read()) {
    packets.push(typeof packet === 'string' ? packet : Buffer.from(packet).toString('latin1'));
  }
  return packets;
}

describe('pkt-line encoding', () => {
  it('prefixes the payload with its length plus four, in hex', () => {
    assert.equal(pktLine('hello\n').toString(), '000ahello\n');
    assert.equal(pktLine('').toString(), '0004');
    assert.equal(pktLine(new Uint8Array([0, 1, 255])).toString('hex'), Buffer.from('0007\x00\x01\xff', 'latin1').toString('hex'));
    assert.equal(pktLine('x'.repeat(65516)).subarray(0, 4).toString(), 'fff0');
  });

  it('has the special packets', () => {
    assert.equal(FLUSH_PKT.toString(), '0000');
    assert.equal(DELIM_PKT.toString(), '0001');
    assert.equal(RESPONSE_END_PKT.toString(), '0002');
  });

  it('refuses a payload over 65516 bytes', () => {
    assert.throws(() => pktLine('x'.repeat(65517)), (error) => isLifeboatError(error, 'INTERNAL'));
  });
});

describe('pkt-line reader', () => {
  const wire = Buffer.concat([pktLine('hello\n'), FLUSH_PKT, pktLine('a'), DELIM_PKT, pktLine(''), RESPONSE_END_PKT, pktLine('x'.repeat(1000))]);
  const expected = ['hello\n', 'flush', 'a', 'delim', '', 'response-end', 'x'.repeat(1000)];

  it('reads packets whole, whatever the chunking', async () => {
    for (const size of [1, 2, 3, 4, 5, 7, 13, 999, wire.byteLength]) {
      assert.deepEqual(await readAll(inChunks(wire, size)), expected, `chunks of ${size}`);
    }
  });

  it('returns a packet inside one chunk as a view of it, without copying', async () => {
    const chunk = Buffer.concat([pktLine('abc'), pktLine('def')]);
    const reader = new PktLineReader(inChunks(chunk, chunk.byteLength));
    const packet = await reader.read();
    assert.ok(packet instanceof Uint8Array);
    assert.equal(packet.buffer, chunk.buffer);
  });

  it('peeks without consuming', async () => {
    const reader = new PktLineReader(inChunks(wire, 3));
    const peeked = await reader.peek();
    assert.equal(await reader.peek(), peeked);
    assert.equal(await reader.read(), peeked);
    assert.equal(await reader.read(), 'flush');
  });

  it('ends cleanly between packets and fails inside one', async () => {
    assert.deepEqual(await readAll(inChunks(Buffer.alloc(0), 1)), []);
    for (const cut of ['000ahel', '00']) {
      await assert.rejects(readAll(inChunks(Buffer.from(cut), 2)), (error) => isLifeboatError(error, 'GIT_PROTOCOL'));
    }
  });

  it('rejects invalid lengths', async () => {
    for (const bad of ['0003', 'zz00', 'fff1', '<htm']) {
      await assert.rejects(readAll(inChunks(Buffer.from(`${bad}xxxxxxxx`), 64)), (error) => isLifeboatError(error, 'GIT_PROTOCOL'), bad);
    }
  });

  it('reads text lines up to a special packet', async () => {
    const reader = new PktLineReader(inChunks(Buffer.concat([pktLine('one\n'), pktLine('two'), DELIM_PKT, pktLine('three\n'), FLUSH_PKT]), 5));
    assert.deepEqual(await readLines(reader), { lines: ['one', 'two'], end: 'delim' });
    assert.deepEqual(await readLines(reader), { lines: ['three'], end: 'flush' });
    await assert.rejects(readLines(reader), (error) => isLifeboatError(error, 'GIT_PROTOCOL'));
  });
});

describe('packetText', () => {
  it('drops one trailing LF', () => {
    assert.equal(packetText(Buffer.from('line\n')), 'line');
    assert.equal(packetText(Buffer.from('line\n\n')), 'line\n');
    assert.equal(packetText(Buffer.from('ünï')), 'ünï');
  });

  it('turns an ERR packet into the server error', () => {
    assert.throws(() => packetText(Buffer.from('ERR upload-pack: not our ref 1234\n')), (error) =>
      isLifeboatError(error, 'GIT_REMOTE_ERROR') && error.message.includes('upload-pack: not our ref 1234'));
  });

  it('names the want upload-pack refused, so that no caller reads the server\'s words', () => {
    const oid = 'a'.repeat(40);
    assert.throws(() => packetText(Buffer.from(`ERR upload-pack: not our ref ${oid}\n`)), (error) =>
      isLifeboatError(error, 'GIT_REMOTE_ERROR') && error.details?.refusedWant === oid);
    assert.throws(() => packetText(Buffer.from('ERR upload-pack: something else\n')), (error) =>
      isLifeboatError(error, 'GIT_REMOTE_ERROR') && error.details === undefined);
  });
});
