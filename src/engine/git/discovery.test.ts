import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { fromBytes } from '../streams.js';
import { capability, parseV0Advertisement, readAdvertisement } from './discovery.js';
import { writeLsRefsRequest, parseLsRefs } from './ls-refs.js';
import { FLUSH_PKT, pktLine } from './pktline.js';

// Oids and capability lists as git 2.39 advertises them.
const COMMIT = '6d689c16830750854f9d685cff3256d1e2ddac3e';
const TAG = '5f2593f6bb202852c72a1e64da51ce98ea7b2fc1';
const TAG_OF_TAG = '8bca6a1935f738bbc6ae3d06ff99618ad17e048a';
const ZERO = '0000000000000000000000000000000000000000';
const UPLOAD_CAPS = 'multi_ack thin-pack side-band side-band-64k ofs-delta shallow deepen-since deepen-not deepen-relative no-progress include-tag multi_ack_detailed no-done symref=HEAD:refs/heads/main object-format=sha1 agent=git/2.39.5';
const RECEIVE_CAPS = 'report-status report-status-v2 delete-refs side-band-64k quiet atomic ofs-delta object-format=sha1 agent=git/2.39.5';

const V0_LINES = [
  `${COMMIT} HEAD\0${UPLOAD_CAPS}`,
  `${COMMIT} refs/heads/main`,
  `${TAG_OF_TAG} refs/tags/v1t`,
  `${COMMIT} refs/tags/v1t^{}`,
  `${TAG} refs/tags/v1`,
  `${COMMIT} refs/tags/v1^{}`,
];

function wire(lines: string[], preamble?: string): Buffer {
  return Buffer.concat([
    ...(preamble ? [pktLine(`# service=${preamble}\n`), FLUSH_PKT] : []),
    ...lines.map((line) => pktLine(`${line}\n`)),
    FLUSH_PKT,
  ]);
}

describe('v0 advertisement', () => {
  it('reads refs, peeled tags (also of a tag of a tag), HEAD and its symref, and capabilities', () => {
    const parsed = parseV0Advertisement(V0_LINES);
    assert.deepEqual(parsed.refs, [
      { name: 'refs/heads/main', oid: COMMIT },
      { name: 'refs/tags/v1', oid: TAG, peeled: COMMIT },
      { name: 'refs/tags/v1t', oid: TAG_OF_TAG, peeled: COMMIT },
    ]);
    assert.deepEqual(parsed.head, { oid: COMMIT, symref: 'refs/heads/main' });
    assert.equal(capability(parsed.capabilities, 'side-band-64k'), '');
    assert.equal(capability(parsed.capabilities, 'agent'), 'git/2.39.5');
    assert.equal(capability(parsed.capabilities, 'filter'), undefined);
  });

  it("reads an empty repository's capabilities^{} line, and skips .have lines", () => {
    assert.deepEqual(parseV0Advertisement([`${ZERO} capabilities^{}\0${RECEIVE_CAPS}`]), {
      capabilities: RECEIVE_CAPS.split(' '),
      refs: [],
      head: {},
    });
    const withHave = parseV0Advertisement([`${TAG} refs/heads/x\0${RECEIVE_CAPS}`, `${COMMIT} .have`]);
    assert.deepEqual(withHave.refs, [{ name: 'refs/heads/x', oid: TAG }]);
  });

  it('rejects malformed lines', () => {
    for (const lines of [['nonsense'], [`${COMMIT}`], [`${COMMIT.slice(2)} refs/heads/main`], [`${COMMIT} refs/tags/orphan^{}`]]) {
      assert.throws(() => parseV0Advertisement(lines), (error) => isLifeboatError(error, 'GIT_PROTOCOL'), JSON.stringify(lines));
    }
  });
});

describe('readAdvertisement', () => {
  it('reads v0 with the "# service=" preamble', async () => {
    const advertisement = await readAdvertisement(fromBytes(wire(V0_LINES, 'git-upload-pack')), 'git-upload-pack');
    assert.equal(advertisement.protocol, 0);
    assert.equal(advertisement.refs.length, 3);
    assert.equal(advertisement.head.symref, 'refs/heads/main');
  });

  it('reads "version 1" as v0', async () => {
    const advertisement = await readAdvertisement(fromBytes(wire(['version 1', ...V0_LINES], 'git-upload-pack')), 'git-upload-pack');
    assert.equal(advertisement.protocol, 0);
    assert.equal(advertisement.refs.length, 3);
  });

  it('reads an empty v0 upload-pack advertisement (a lone flush)', async () => {
    assert.deepEqual(await readAdvertisement(fromBytes(wire([], 'git-upload-pack')), 'git-upload-pack'), { protocol: 0, capabilities: [], refs: [], head: {} });
  });

  it('reads v2 capabilities with and without the preamble', async () => {
    const lines = ['version 2', 'agent=git/2.39.5', 'ls-refs=unborn', 'fetch=shallow wait-for-done', 'server-option', 'object-format=sha1', 'object-info'];
    for (const bytes of [wire(lines), wire(lines, 'git-upload-pack')]) {
      const advertisement = await readAdvertisement(fromBytes(bytes), 'git-upload-pack');
      assert.deepEqual(advertisement, { protocol: 2, capabilities: lines.slice(1), refs: [], head: {} });
    }
  });

  it('calls a reply that is not pkt-lines "not a repository"', async () => {
    await assert.rejects(readAdvertisement(fromBytes(Buffer.from('<!DOCTYPE html><html>')), 'git-upload-pack'), (error) => isLifeboatError(error, 'GIT_NOT_A_REPOSITORY'));
    await assert.rejects(readAdvertisement(fromBytes(Buffer.alloc(0)), 'git-upload-pack'), (error) => isLifeboatError(error, 'GIT_NOT_A_REPOSITORY'));
  });

  it("rejects another service's advertisement and surfaces ERR", async () => {
    await assert.rejects(readAdvertisement(fromBytes(wire(V0_LINES, 'git-receive-pack')), 'git-upload-pack'), (error) => isLifeboatError(error, 'GIT_PROTOCOL'));
    await assert.rejects(readAdvertisement(fromBytes(wire(['ERR no such repository'])), 'git-upload-pack'), (error) => isLifeboatError(error, 'GIT_REMOTE_ERROR'));
  });
});

describe('ls-refs', () => {
  it('asks for peel, symrefs and, when advertised, unborn', () => {
    assert.equal(
      writeLsRefsRequest(['agent=git/2.39.5', 'ls-refs=unborn', 'fetch=shallow']).toString(),
      '0014command=ls-refs\n0013agent=lifeboat\n00010009peel\n000csymrefs\n000bunborn\n0000',
    );
    assert.equal(writeLsRefsRequest(['ls-refs']).toString(), '0014command=ls-refs\n00010009peel\n000csymrefs\n0000');
  });

  it('parses refs with symref targets and peeled values, and an unborn HEAD', () => {
    assert.deepEqual(parseLsRefs([
      `${COMMIT} HEAD symref-target:refs/heads/main`,
      `${COMMIT} refs/heads/main`,
      `${TAG_OF_TAG} refs/tags/v1t peeled:${COMMIT}`,
      `${TAG} refs/tags/v1 peeled:${COMMIT}`,
    ]), {
      head: { oid: COMMIT, symref: 'refs/heads/main' },
      refs: [
        { name: 'refs/heads/main', oid: COMMIT },
        { name: 'refs/tags/v1', oid: TAG, peeled: COMMIT },
        { name: 'refs/tags/v1t', oid: TAG_OF_TAG, peeled: COMMIT },
      ],
    });
    assert.deepEqual(parseLsRefs(['unborn HEAD symref-target:refs/heads/trunk']), { head: { unborn: true, symref: 'refs/heads/trunk' }, refs: [] });
  });

  it('rejects malformed lines', () => {
    for (const line of ['garbage', `${COMMIT}`, `${COMMIT} refs/tags/v1 peeled:xyz`]) {
      assert.throws(() => parseLsRefs([line]), (error) => isLifeboatError(error, 'GIT_PROTOCOL'), line);
    }
  });
});
