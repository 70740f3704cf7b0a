/**
 * The client over canned server replies, for the shapes real git rarely sends
 * (extra sections, errors mid-pack, no side-band). Real git: test/git-client.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { collect, fromWebStream } from '../streams.js';
import { createGitClient } from './client.js';
import { DELIM_PKT, FLUSH_PKT, pktLine } from './pktline.js';
import { EMPTY_PACK } from './push.js';
import { ZERO_OID, type HttpFetch } from './types.js';

const A = 'a'.repeat(40);

function band(number: number, payload: string | Uint8Array): Buffer {
  return pktLine(Buffer.concat([Buffer.from([number]), Buffer.from(payload)]));
}

/** A fake server: one canned reply per "METHOD path", and the request bodies it received. */
function fakeServer(replies: Record<string, { type: string; body: Buffer }>): { fetch: HttpFetch; received: { key: string; body: Buffer }[] } {
  const received: { key: string; body: Buffer }[] = [];
  const fetch: HttpFetch = async (url, init) => {
    const key = `${init.method} ${new URL(url).pathname}${new URL(url).search}`;
    const body = init.body instanceof ReadableStream ? await collect(fromWebStream(init.body)) : Buffer.from(init.body ?? new Uint8Array(0));
    received.push({ key, body });
    const reply = replies[key];
    if (!reply) return new Response('not found', { status: 404 });
    return new Response(reply.body, { headers: { 'Content-Type': reply.type } });
  };
  return { fetch, received };
}

const V2_ADVERTISEMENT = {
  type: 'application/x-git-upload-pack-advertisement',
  body: Buffer.concat([pktLine('version 2\n'), pktLine('ls-refs=unborn\n'), pktLine('fetch=shallow\n'), FLUSH_PKT]),
};
const RESULT = 'application/x-git-upload-pack-result';

describe('createGitClient over canned replies', () => {
  it('skips acknowledgments and shallow-info sections to the packfile, with progress', async () => {
    const server = fakeServer({
      'GET /r/info/refs?service=git-upload-pack': V2_ADVERTISEMENT,
      'POST /r/git-upload-pack': {
        type: RESULT,
        body: Buffer.concat([
          pktLine('acknowledgments\n'), pktLine('NAK\n'), pktLine('ready\n'), DELIM_PKT,
          pktLine('shallow-info\n'), pktLine(`unshallow ${A}\n`), DELIM_PKT,
          pktLine('packfile\n'), band(2, 'Total 0 (delta 0)\n'), band(1, EMPTY_PACK.subarray(0, 5)), band(1, EMPTY_PACK.subarray(5)), FLUSH_PKT,
        ]),
      },
    });
    const progress: string[] = [];
    const pack = await createGitClient({ url: 'http://git.test/r', fetch: server.fetch }).fetchPack({ wants: [A], onProgress: (line) => progress.push(line) });
    assert.deepEqual(await collect(pack), EMPTY_PACK);
    assert.equal(pack.stats.objectCount, 0);
    assert.deepEqual(progress, ['Total 0 (delta 0)']);
  });

  it('fails the pack stream with the message of a band-3 error', async () => {
    const server = fakeServer({
      'GET /r/info/refs?service=git-upload-pack': V2_ADVERTISEMENT,
      'POST /r/git-upload-pack': { type: RESULT, body: Buffer.concat([pktLine('packfile\n'), band(1, EMPTY_PACK.subarray(0, 12)), band(3, 'pack-objects died\n'), FLUSH_PKT]) },
    });
    const pack = await createGitClient({ url: 'http://git.test/r', fetch: server.fetch }).fetchPack({ wants: [A] });
    await assert.rejects(collect(pack), (error) => isLifeboatError(error, 'GIT_REMOTE_ERROR') && error.message.includes('pack-objects died'));
  });

  it('reads a push report sent without side-band, after sending commands and the empty pack', async () => {
    const server = fakeServer({
      'GET /r/info/refs?service=git-receive-pack': {
        type: 'application/x-git-receive-pack-advertisement',
        body: Buffer.concat([pktLine('# service=git-receive-pack\n'), FLUSH_PKT, pktLine(`${ZERO_OID} capabilities^{}\0report-status delete-refs\n`), FLUSH_PKT]),
      },
      'POST /r/git-receive-pack': { type: 'application/x-git-receive-pack-result', body: Buffer.concat([pktLine('unpack ok\n'), pktLine('ok refs/heads/main\n'), FLUSH_PKT]) },
    });
    const report = await createGitClient({ url: 'http://git.test/r', fetch: server.fetch }).push({ commands: [{ ref: 'refs/heads/main', old: ZERO_OID, new: A }] });
    assert.deepEqual(report, { refs: [{ ref: 'refs/heads/main', ok: true }] });
    assert.deepEqual(server.received[1]?.body, Buffer.concat([pktLine(`${ZERO_OID} ${A} refs/heads/main\0report-status\n`), FLUSH_PKT, EMPTY_PACK]));
  });

  it('sends no pack when every command is a delete', async () => {
    const server = fakeServer({
      'GET /r/info/refs?service=git-receive-pack': {
        type: 'application/x-git-receive-pack-advertisement',
        body: Buffer.concat([pktLine(`${A} refs/heads/old\0report-status delete-refs side-band-64k\n`), FLUSH_PKT]),
      },
      'POST /r/git-receive-pack': {
        type: 'application/x-git-receive-pack-result',
        body: Buffer.concat([band(1, Buffer.concat([pktLine('unpack ok\n'), pktLine('ok refs/heads/old\n'), FLUSH_PKT])), FLUSH_PKT]),
      },
    });
    await createGitClient({ url: 'http://git.test/r', fetch: server.fetch }).push({ commands: [{ ref: 'refs/heads/old', old: A, new: ZERO_OID }] });
    assert.deepEqual(server.received[1]?.body, Buffer.concat([pktLine(`${A} ${ZERO_OID} refs/heads/old\0report-status side-band-64k\n`), FLUSH_PKT]));
  });

  it('retries discovery after a failed probe', async () => {
    let calls = 0;
    const flaky: HttpFetch = async (url, init) => {
      calls++;
      if (calls === 1) throw new TypeError('fetch failed', { cause: new Error('connect ECONNRESET') });
      return fakeServer({ 'GET /r/info/refs?service=git-upload-pack': V2_ADVERTISEMENT, 'POST /r/git-upload-pack': { type: RESULT, body: FLUSH_PKT } }).fetch(url, init);
    };
    const client = createGitClient({ url: 'http://git.test/r', fetch: flaky });
    await assert.rejects(client.listRefs(), (error) => isLifeboatError(error, 'GIT_UNREACHABLE'));
    assert.deepEqual(await client.listRefs(), { protocol: 2, refs: [], head: {}, capabilities: ['ls-refs=unborn', 'fetch=shallow'] });
  });
});
