/**
 * The git client against real repositories served by `git http-backend`: what it
 * lists, fetches and pushes must be what git itself says.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isLifeboatError } from '../src/engine/errors.js';
import { writeBundleHeader } from '../src/engine/git/bundle.js';
import { createGitClient } from '../src/engine/git/client.js';
import { ZERO_OID, type RefListing, type RemoteRef } from '../src/engine/git/types.js';
import { collect, drain } from '../src/engine/streams.js';
import { addCommit, buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer, type GitServer } from './helpers/git-server.js';
import { fsck, git, initBare, refsOf } from './helpers/repos.js';

let root: string;
let served: string;
let work: string;
let server: GitServer;
let v0Server: GitServer;
let privateServer: GitServer;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-git-client-'));
  served = join(root, 'served');
  work = join(root, 'work');
  buildRichWorkRepo(work);
  git(undefined, ['clone', '--quiet', '--mirror', work, join(served, 'rich.git')]);
  initBare(join(served, 'empty.git'));
  server = await startGitServer({ root: served, receivePack: true });
  v0Server = await startGitServer({ root: served, protocolV2: false });
  privateServer = await startGitServer({ root: served, auth: { username: 'x-token-auth', password: 'secret-token' } });
});

after(async () => {
  await server?.close();
  await v0Server?.close();
  await privateServer?.close();
  rmSync(root, { recursive: true, force: true });
});

/** The listing git itself gives for a bare repository: refs, fully peeled tags, HEAD. */
function gitListing(bare: string): Pick<RefListing, 'refs' | 'head'> {
  const lines = git(bare, ['for-each-ref', '--format=%(objectname) %(objecttype) %(refname)']).trim().split('\n').filter(Boolean);
  const refs = lines.map((line): RemoteRef => {
    const [oid = '', type, name = ''] = line.split(' ');
    return type === 'tag' ? { name, oid, peeled: git(bare, ['rev-parse', `${name}^{}`]).trim() } : { name, oid };
  });
  const symref = git(bare, ['symbolic-ref', 'HEAD']).trim();
  const oid = refs.find((ref) => ref.name === symref)?.oid;
  return { refs, head: oid ? { symref, oid } : { symref } };
}

function distinctOids(refs: readonly RemoteRef[]): string[] {
  return [...new Set(refs.map((ref) => ref.oid))];
}

describe('listing refs', () => {
  it('v2 ls-refs gives what git for-each-ref gives, with peeled tags (a tag of a tag too) and HEAD', async () => {
    const listing = await createGitClient({ url: server.url('rich.git') }).listRefs();
    assert.equal(listing.protocol, 2);
    assert.deepEqual({ refs: listing.refs, head: listing.head }, gitListing(join(served, 'rich.git')));
    const tagOfTag = listing.refs.find((ref) => ref.name === 'refs/tags/tag-of-tag');
    assert.equal(tagOfTag?.peeled, git(join(served, 'rich.git'), ['rev-parse', 'refs/tags/v1.0^{commit}']).trim());
  });

  it('v0 gives the same, whether the client or the server insists', async () => {
    const expected = gitListing(join(served, 'rich.git'));
    for (const listing of [
      await createGitClient({ url: server.url('rich.git'), protocolVersion: 0 }).listRefs(),
      await createGitClient({ url: v0Server.url('rich.git') }).listRefs(),
    ]) {
      assert.equal(listing.protocol, 0);
      assert.deepEqual({ refs: listing.refs, head: listing.head }, expected);
      assert.ok(listing.capabilities.includes('side-band-64k'));
    }
  });

  it('names the unborn HEAD of an empty repository (v2); v0 cannot', async () => {
    const v2 = await createGitClient({ url: server.url('empty.git') }).listRefs();
    assert.deepEqual({ refs: v2.refs, head: v2.head }, { refs: [], head: { unborn: true, symref: 'refs/heads/main' } });
    const v0 = await createGitClient({ url: v0Server.url('empty.git') }).listRefs();
    assert.deepEqual({ protocol: v0.protocol, refs: v0.refs, head: v0.head }, { protocol: 0, refs: [], head: {} });
  });

  it('probes once per client: a second listing is one ls-refs request', async () => {
    const git2 = createGitClient({ url: server.url('rich.git') });
    await git2.listRefs();
    const before = server.requests.length;
    await git2.listRefs();
    assert.deepEqual(server.requests.slice(before).map(({ method, path }) => `${method} ${path}`), ['POST /rich.git/git-upload-pack']);
  });

  it('lists the refs receive-pack advertises', async () => {
    const listing = await createGitClient({ url: server.url('rich.git') }).listPushRefs();
    assert.equal(listing.protocol, 0);
    assert.deepEqual(listing.refs, gitListing(join(served, 'rich.git')).refs.map(({ name, oid }) => ({ name, oid })));
    assert.ok(listing.capabilities.includes('report-status'));
  });
});

describe('fetching packs', () => {
  for (const protocol of ['v2', 'v0'] as const) {
    it(`${protocol}: a full pack written as a bundle verifies and clones with identical refs`, async () => {
      const url = protocol === 'v2' ? server.url('rich.git') : v0Server.url('rich.git');
      const gitClient = createGitClient({ url });
      const listing = await gitClient.listRefs();
      const progress: string[] = [];
      const pack = await gitClient.fetchPack({ wants: distinctOids(listing.refs), onProgress: (line) => progress.push(line) });
      const bytes = await collect(pack);
      const bare = join(served, 'rich.git');
      assert.equal(pack.stats.objectCount, git(bare, ['rev-list', '--objects', '--all']).trim().split('\n').length);
      assert.equal(pack.stats.bytes, bytes.byteLength);
      assert.equal(pack.stats.trailer, bytes.subarray(-20).toString('hex'));
      assert.ok(progress.length > 0, 'server progress arrives on band 2');

      const bundle = join(root, `full-${protocol}.bundle`);
      writeFileSync(bundle, Buffer.concat([writeBundleHeader({ refs: listing.refs }), bytes]));
      git(bare, ['bundle', 'verify', '--quiet', bundle]);
      const clone = join(root, `clone-${protocol}.git`);
      git(undefined, ['clone', '--quiet', '--mirror', bundle, clone]);
      assert.equal(refsOf(clone), refsOf(bare));
      fsck(clone);
    });
  }

  for (const protocol of ['v2', 'v0'] as const) {
    it(`${protocol}: an incremental fetch with haves is a smaller thin pack that git fetches on top of the full one`, async () => {
      const upstream = join(served, `growing-${protocol}.git`);
      git(undefined, ['clone', '--quiet', '--mirror', work, upstream]);
      const gitClient = createGitClient({ url: (protocol === 'v2' ? server : v0Server).url(`growing-${protocol}.git`) });
      const first = await gitClient.listRefs();
      const full = await gitClient.fetchPack({ wants: distinctOids(first.refs) });
      const fullBundle = join(root, `growing-${protocol}-full.bundle`);
      writeFileSync(fullBundle, Buffer.concat([writeBundleHeader({ refs: first.refs }), await collect(full)]));

      const grower = join(root, `grower-${protocol}`);
      git(undefined, ['clone', '--quiet', upstream, grower]);
      addCommit(grower, 'Second change');
      addCommit(grower, 'Third change');
      git(grower, ['push', '--quiet', 'origin', 'main']);

      const second = await gitClient.listRefs();
      const haves = first.refs.filter((ref) => ref.name.startsWith('refs/heads/')).map((ref) => ref.oid);
      const incremental = await gitClient.fetchPack({ wants: distinctOids(second.refs), haves });
      const bytes = await collect(incremental);
      assert.ok(incremental.stats.bytes < full.stats.bytes / 2, `${incremental.stats.bytes} < ${full.stats.bytes} / 2`);
      assert.ok(incremental.stats.objectCount < full.stats.objectCount);
      const incrementalBundle = join(root, `growing-${protocol}-incremental.bundle`);
      writeFileSync(incrementalBundle, Buffer.concat([writeBundleHeader({ refs: second.refs, prerequisites: haves.map((oid) => ({ oid, comment: '' })) }), bytes]));

      const restored = join(root, `growing-${protocol}-restored.git`);
      git(undefined, ['clone', '--quiet', '--mirror', fullBundle, restored]);
      git(restored, ['bundle', 'verify', '--quiet', incrementalBundle]);
      git(restored, ['fetch', '--quiet', incrementalBundle, '+refs/*:refs/*']);
      assert.equal(refsOf(restored), refsOf(upstream));
      fsck(restored);
    });
  }

  for (const protocol of ['v2', 'v0'] as const) {
    it(`${protocol}: a want the server does not have comes back as the server's error`, async () => {
      const url = protocol === 'v2' ? server.url('rich.git') : v0Server.url('rich.git');
      await assert.rejects(createGitClient({ url }).fetchPack({ wants: ['0123456789abcdef0123456789abcdef01234567'] }), (error) =>
        isLifeboatError(error, 'GIT_REMOTE_ERROR') && error.message.includes('not our ref'));
    });
  }
});

describe('shallow boundaries (the cut points of a segmented backup)', () => {
  it('names the commits a deepen of that depth stops at (every parent, as git sees them)', async () => {
    const bare = join(served, 'rich.git');
    const client = createGitClient({ url: server.url('rich.git') });
    const revs = (...args: string[]): string[] => git(bare, ['rev-parse', ...args]).trim().split('\n').sort();
    const [main] = revs('refs/heads/main');
    // One step below main: its parents (two, main being a merge).
    assert.deepEqual(await client.shallowBoundary!({ wants: [main!], depth: 2 }), { boundary: revs('main^@'), unshallow: [] });
    // From a boundary commit, the next step down: successive requests walk the history.
    const [below] = revs('main~1');
    assert.deepEqual(await client.shallowBoundary!({ wants: [below!], depth: 2 }), { boundary: revs('main~1^@'), unshallow: [] });
    const all = Number(git(bare, ['rev-list', '--count', 'main']).trim());
    assert.deepEqual(await client.shallowBoundary!({ wants: [main!], depth: all + 1 }), { boundary: [], unshallow: [] }, 'a depth past every root has no boundary');
  });

  it('says which of the commits sent as shallow lie within the step (unshallow), and leaves one at the boundary out', async () => {
    const bare = join(served, 'rich.git');
    const client = createGitClient({ url: server.url('rich.git') });
    const rev = (name: string): string => git(bare, ['rev-parse', name]).trim();
    const [within, at, beyond] = [rev('main~1'), rev('main~2'), rev('main~3')];
    const info = await client.shallowBoundary!({ wants: [rev('main~1')], depth: 2, shallow: [within, beyond] });
    assert.deepEqual(info, { boundary: [rev('main~2')], unshallow: [within] });
    const left = await client.shallowBoundary!({ wants: [rev('main~1')], depth: 2, shallow: [at] });
    assert.deepEqual(left, { boundary: [], unshallow: [] }, 'a commit the client calls shallow is not named again at the boundary');
  });

  it('is undefined where the server cannot deepen (protocol v0 here)', async () => {
    const main = git(join(served, 'rich.git'), ['rev-parse', 'refs/heads/main']).trim();
    assert.equal(await createGitClient({ url: v0Server.url('rich.git') }).shallowBoundary!({ wants: [main], depth: 2 }), undefined);
  });
});

describe('pushing', () => {
  it('pushes a fetched full pack into an empty repository: identical refs, fsck clean', async () => {
    const source = join(served, 'rich.git');
    const target = join(served, 'push-target.git');
    initBare(target);
    const listing = await createGitClient({ url: server.url('rich.git') }).listRefs();
    const pack = await createGitClient({ url: server.url('rich.git') }).fetchPack({ wants: distinctOids(listing.refs) });
    const progress: string[] = [];
    const pushClient = createGitClient({ url: server.url('push-target.git') });
    assert.deepEqual((await pushClient.listPushRefs()).refs, []);
    const report = await pushClient.push({
      commands: listing.refs.map((ref) => ({ ref: ref.name, old: ZERO_OID, new: ref.oid })),
      pack,
      onProgress: (line) => progress.push(line),
    });
    assert.ok(report.refs.every((ref) => ref.ok));
    assert.equal(report.refs.length, listing.refs.length);
    assert.equal(refsOf(target), refsOf(source));
    fsck(target);
    assert.deepEqual((await pushClient.listPushRefs()).refs, listing.refs.map(({ name, oid }) => ({ name, oid })));
  });

  it('moves and deletes refs to objects already there with an empty pack, or none', async () => {
    const target = join(served, 'moves.git');
    git(undefined, ['clone', '--quiet', '--mirror', work, target]);
    const main = git(target, ['rev-parse', 'refs/heads/main']).trim();
    const gitClient = createGitClient({ url: server.url('moves.git') });
    await gitClient.push({ commands: [{ ref: 'refs/heads/copy', old: ZERO_OID, new: main }] });
    assert.equal(git(target, ['rev-parse', 'refs/heads/copy']).trim(), main);
    await gitClient.push({ commands: [{ ref: 'refs/heads/copy', old: main, new: ZERO_OID }] });
    assert.ok(!refsOf(target).includes('refs/heads/copy'));
  });

  it('a non-fast-forward the server denies is GIT_PUSH_REJECTED naming the ref', async () => {
    const target = join(served, 'strict.git');
    git(undefined, ['clone', '--quiet', '--mirror', work, target]);
    git(target, ['config', 'receive.denyNonFastForwards', 'true']);
    const main = git(target, ['rev-parse', 'refs/heads/main']).trim();
    const parent = git(target, ['rev-parse', 'refs/heads/main~1']).trim();
    await assert.rejects(createGitClient({ url: server.url('strict.git') }).push({ commands: [{ ref: 'refs/heads/main', old: main, new: parent }] }), (error) => {
      assert.ok(isLifeboatError(error, 'GIT_PUSH_REJECTED'));
      assert.match(error.message, /refs\/heads\/main \(non-fast-forward\)/);
      assert.deepEqual(error.details?.refs, [{ ref: 'refs/heads/main', ok: false, reason: 'non-fast-forward' }]);
      return true;
    });
    assert.equal(git(target, ['rev-parse', 'refs/heads/main']).trim(), main);
  });

  it('a server that does not allow pushing is GIT_FORBIDDEN, asking for write access', async () => {
    await assert.rejects(createGitClient({ url: v0Server.url('rich.git') }).listPushRefs(), (error) =>
      isLifeboatError(error, 'GIT_FORBIDDEN') && error.message.includes('write access'));
  });
});

describe('failures a user can act on', () => {
  it('wrong or missing credentials: GIT_AUTH_REQUIRED, naming the user but never the password', async () => {
    const url = privateServer.url('rich.git');
    await assert.rejects(createGitClient({ url, credentials: { username: 'x-token-auth', password: 'wrong-token' } }).listRefs(), (error) =>
      isLifeboatError(error, 'GIT_AUTH_REQUIRED') && error.message.includes('"x-token-auth"') && !error.message.includes('wrong-token'));
    await assert.rejects(createGitClient({ url }).listRefs(), (error) => isLifeboatError(error, 'GIT_AUTH_REQUIRED') && error.message.includes('none were given'));
    const withUrlCredentials = url.replace('http://', 'http://x-token-auth:secret-token@');
    assert.equal((await createGitClient({ url: withUrlCredentials }).listRefs()).protocol, 2);
  });

  it('nothing listening: GIT_UNREACHABLE', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(createGitClient({ url: `http://127.0.0.1:${port}/rich.git` }).listRefs(), (error) =>
      isLifeboatError(error, 'GIT_UNREACHABLE') && error.kind === 'transient' && error.message.includes('ECONNREFUSED'));
  });

  it('a server that stops sending mid-pack, or never answers: GIT_TIMEOUT naming the URL and the wait, and the connection dropped', async () => {
    for (const stallAfterBytes of [4096, 0]) {
      const stalling = await startStallingProxy(server.baseUrl, stallAfterBytes);
      try {
        const url = `${stalling.baseUrl}/rich.git`;
        const client = createGitClient({ url, idleTimeoutMs: 500 });
        const listing = await client.listRefs();
        const started = Date.now();
        await assert.rejects(async () => drain(await client.fetchPack({ wants: distinctOids(listing.refs) })), (error) =>
          isLifeboatError(error, 'GIT_TIMEOUT') && error.kind === 'transient' && error.message.includes(url) && error.message.includes('0.5 s'));
        const waited = Date.now() - started;
        assert.ok(waited >= 450 && waited < 5000, `gave up after ${waited} ms`);
        assert.equal(stalling.sent(), stallAfterBytes, 'the pack stopped where the server stalled');
        await stalling.clientGone;
      } finally {
        await stalling.close();
      }
    }
  });

  it('a path that is not a repository: GIT_NOT_A_REPOSITORY', async () => {
    await assert.rejects(createGitClient({ url: server.url('no-such-repo.git') }).listRefs(), (error) => isLifeboatError(error, 'GIT_NOT_A_REPOSITORY'));
  });
});

/**
 * Passes requests through to `target`, but answers a fetch (an upload-pack request with wants) with
 * only its first `stallAfterBytes` body bytes (none: not even the headers), then holds the connection open.
 */
async function startStallingProxy(target: string, stallAfterBytes: number): Promise<{ baseUrl: string; sent(): number; clientGone: Promise<void>; close(): Promise<void> }> {
  let sent = 0;
  let gone: () => void = () => undefined;
  const clientGone = new Promise<void>((resolve) => { gone = resolve; });
  const proxy = createHttpServer(async (req, res) => {
    const requestBody = await collect(req);
    const fetching = req.method === 'POST' && requestBody.includes('want ');
    const upstream = httpRequest(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      if (!fetching) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      res.on('close', gone);
      if (stallAfterBytes === 0) return;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => {
        const part = chunk.subarray(0, Math.max(0, stallAfterBytes - sent));
        sent += part.byteLength;
        if (part.byteLength > 0) res.write(part);
      });
    });
    upstream.end(requestBody);
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    sent: () => sent,
    clientGone,
    async close() {
      proxy.closeAllConnections();
      proxy.close();
      await once(proxy, 'close');
    },
  };
}
