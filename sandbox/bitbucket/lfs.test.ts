// The emulator's LFS batch API as Bitbucket answers it: the git credentials, object
// errors per the batch spec, uploads only with write access, nothing half-written,
// transfers on the stand-in for Atlassian's media host with a token per object.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DEMO_USERS } from '../demo.js';
import { type TestEmulator, startTestEmulator } from './test-support.js';

const gitAuth = (role: 'admin' | 'member'): string => `Basic ${Buffer.from(`x-bitbucket-api-token-auth:${DEMO_USERS[role].apiToken}`).toString('base64')}`;
const MEDIA = 'application/vnd.git-lfs+json';

describe('emulator: LFS batch API', () => {
  let emulator: TestEmulator;
  let lfsUrl: string;
  const content = randomBytes(2000);
  const object = { oid: createHash('sha256').update(content).digest('hex'), size: content.byteLength };

  const batch = async (authorization: string | undefined, body: unknown): Promise<{ status: number; body: { objects?: { oid: string; actions?: Record<string, { href: string; header?: Record<string, string> }>; error?: { code: number } }[] } }> => {
    const response = await fetch(`${lfsUrl}/objects/batch`, { method: 'POST', headers: { Accept: MEDIA, 'Content-Type': MEDIA, ...(authorization ? { Authorization: authorization } : {}) }, body: JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) as never : {} };
  };

  before(async () => {
    emulator = await startTestEmulator();
    lfsUrl = `${emulator.gitUrl('lifeboat-demo', 'web-app')}/info/lfs`;
  });
  after(async () => emulator?.dispose());

  it('asks for the git credentials', async () => {
    assert.equal((await batch(undefined, { operation: 'download', objects: [object] })).status, 401);
  });

  it('answers an object it does not have with a 404 object error, and a bad oid with 422', async () => {
    const answer = await batch(gitAuth('member'), { operation: 'download', transfers: ['basic'], objects: [object, { oid: 'nope', size: 1 }] });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.objects?.map((entry) => entry.error?.code), [404, 422]);
  });

  it('refuses uploads without write access, then takes one with it and serves it back', async () => {
    assert.equal((await batch(gitAuth('member'), { operation: 'upload', objects: [object] })).status, 403);
    const offer = await batch(gitAuth('admin'), { operation: 'upload', objects: [object] });
    const upload = offer.body.objects?.[0]?.actions?.upload;
    assert.ok(upload && offer.body.objects?.[0]?.actions?.verify);
    assert.equal(new URL(upload.href).origin, emulator.mediaUrl, 'the transfer goes to the media host, not to bitbucket.org');
    // The media host takes the action's own token, not the git credentials; a token is for one object and operation.
    assert.equal((await fetch(upload.href, { method: 'PUT', headers: { Authorization: gitAuth('admin') }, body: content })).status, 401);
    // Content that is not its oid is refused and leaves nothing behind.
    const wrong = await fetch(upload.href, { method: 'PUT', headers: upload.header ?? {}, body: randomBytes(2000) });
    assert.equal(wrong.status, 422);
    assert.equal((await batch(gitAuth('member'), { operation: 'download', objects: [object] })).body.objects?.[0]?.error?.code, 404);
    assert.equal((await fetch(upload.href, { method: 'PUT', headers: upload.header ?? {}, body: content })).status, 200);
    // An object the server has needs no upload: no actions.
    assert.deepEqual((await batch(gitAuth('admin'), { operation: 'upload', objects: [object] })).body.objects?.[0], object);
    const download = (await batch(gitAuth('member'), { operation: 'download', objects: [object] })).body.objects?.[0]?.actions?.download;
    assert.ok(download);
    const got = await fetch(download.href, { headers: download.header ?? {} });
    assert.deepEqual(Buffer.from(await got.arrayBuffer()), content);
    assert.equal((await fetch(download.href, { method: 'PUT', headers: download.header ?? {}, body: content })).status, 403);
    assert.equal((await fetch(`${lfsUrl}/objects/${object.oid}`, { headers: { Authorization: gitAuth('member') } })).status, 404, 'bitbucket.org does not serve the objects itself');
    assert.deepEqual(emulator.lfsTransfers.map((transfer) => `${transfer.operation} ${transfer.status}`), ['upload 401', 'upload 422', 'upload 200', 'download 200', 'upload 403']);
    assert.deepEqual(emulator.lfsBatches.at(-1), { repository: 'lifeboat-demo/web-app', operation: 'download', oids: [object.oid] });
  });

  it('hands out an object\'s hrefs on another origin when the knob says so', async () => {
    emulator.faults.lfsHrefOrigin = { origin: 'https://media.example.net', oid: object.oid };
    try {
      const download = (await batch(gitAuth('member'), { operation: 'download', objects: [object] })).body.objects?.[0]?.actions?.download;
      assert.equal(download?.href, `https://media.example.net/file/${object.oid}/binary`);
    } finally {
      delete emulator.faults.lfsHrefOrigin;
    }
  });
});
