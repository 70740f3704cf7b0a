import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { git, refsOf } from '../../test/helpers/repos.js';
import { createGitClient } from '../../src/engine/git/client.js';
import { DEMO_USERS, DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN } from '../demo.js';
import type { CommitPush, PushEvent, TagPush } from './index.js';
import { apiTokenAuth, call, gitAsync, startTestEmulator, withCredentials, type TestEmulator } from './test-support.js';

const WS = DEMO_WORKSPACE.slug;
const { admin: alice, repoAdmin: bob, member: carol } = DEMO_USERS;

let emulator: TestEmulator;
let scratch: string;
let counter = 0;

before(async () => {
  emulator = await startTestEmulator();
  scratch = await mkdtemp(join(tmpdir(), 'lifeboat-bitbucket-git-'));
});

after(async () => {
  await emulator.dispose();
  await rm(scratch, { recursive: true, force: true });
});

function url(repository: string, username?: string, password?: string): string {
  const base = emulator.gitUrl(WS, repository);
  return username === undefined ? base : withCredentials(base, username, password ?? '');
}

function freshDir(): string {
  return join(scratch, `work-${++counter}`);
}

/** Refs of a remote as `git ls-remote` prints them, in refsOf's "<oid> <name>" form. */
async function lsRemote(remote: string): Promise<string> {
  const output = await gitAsync(undefined, ['ls-remote', '--refs', remote]);
  return output.split('\n').filter(Boolean).map((line) => line.replace('\t', ' ')).sort().map((line) => `${line}\n`).join('');
}

function pushEvents(since: number): PushEvent[] {
  return emulator.received.slice(since).filter((event): event is PushEvent => event.eventType === 'avi:bitbucket:push:repository');
}

/** The `push` of a branch's event (CommitPush), checked to be one. */
function branchPush(event: PushEvent | undefined): CommitPush {
  assert.ok(event && 'commits' in event.push, `a branch push: ${JSON.stringify(event)}`);
  return event.push;
}

describe('git over smart HTTP', () => {
  it('clones with each credential kind and gets every ref', async () => {
    const bare = emulator.gitDir(WS, 'web-app');
    const repositoryToken = await emulator.createAccessToken({ kind: 'repository', workspace: WS, repository: 'web-app', scopes: ['repository'] });
    const credentials: Array<[string, string, string]> = [
      ['API token, x-bitbucket-api-token-auth', 'x-bitbucket-api-token-auth', alice.apiToken],
      ['API token, nickname', carol.nickname, carol.apiToken],
      ['workspace access token', 'x-token-auth', DEMO_WORKSPACE_TOKEN.token],
      ['repository access token', 'x-token-auth', repositoryToken.token],
    ];
    for (const [what, username, password] of credentials) {
      const target = freshDir();
      await gitAsync(undefined, ['clone', '--quiet', '--mirror', url('web-app', username, password), target]);
      assert.equal(refsOf(target), refsOf(bare), what);
    }
  });

  it('refuses missing, wrong and insufficient credentials', async () => {
    await assert.rejects(gitAsync(undefined, ['ls-remote', url('web-app')]), /401|Authentication failed|could not read Username/i);
    await assert.rejects(gitAsync(undefined, ['ls-remote', url('web-app', 'x-bitbucket-api-token-auth', 'wrong')]), /401|Authentication failed/i);
    await assert.rejects(gitAsync(undefined, ['ls-remote', url('web-app', 'x-token-auth', 'wrong')]), /401|Authentication failed/i);
    const apiServerToken = await emulator.createAccessToken({ kind: 'repository', workspace: WS, repository: 'api-server', scopes: ['repository', 'repository:write'] });
    await assert.rejects(gitAsync(undefined, ['ls-remote', url('web-app', 'x-token-auth', apiServerToken.token)]), /403/);
    assert.notEqual(await lsRemote(url('api-server', 'x-token-auth', apiServerToken.token)), '');
  });

  it('serves no wiki: Bitbucket removed them on 2026-08-20', async () => {
    const wiki = withCredentials(`${emulator.gitUrl(WS, 'web-app')}/wiki`, 'x-bitbucket-api-token-auth', alice.apiToken);
    await assert.rejects(gitAsync(undefined, ['clone', '--quiet', wiki, freshDir()]), /404|not found/i);
  });

  it("works with the app's own git client", async () => {
    const client = createGitClient({ url: url('docs'), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } });
    const listing = await client.listRefs();
    const expected = refsOf(emulator.gitDir(WS, 'docs'));
    assert.equal(listing.refs.map((ref) => `${ref.oid} ${ref.name}\n`).join(''), expected);
    assert.equal(listing.head.symref, 'refs/heads/main');
  });
});

describe('pushes', () => {
  it('need write permission', async () => {
    const work = freshDir();
    await gitAsync(undefined, ['clone', '--quiet', url('web-app', carol.nickname, carol.apiToken), work]);
    git(work, ['commit', '--quiet', '--allow-empty', '-m', 'carol tries']);
    await assert.rejects(gitAsync(work, ['push', '--quiet', 'origin', 'main']), /403/);
    const readOnly = await emulator.createAccessToken({ kind: 'workspace', workspace: WS, scopes: ['repository'] });
    await assert.rejects(gitAsync(work, ['push', '--quiet', url('web-app', 'x-token-auth', readOnly.token), 'main']), /403/);
  });

  it('emit one push event per changed ref with before, after, created, closed and forced', async () => {
    const bare = emulator.gitDir(WS, 'web-app');
    const work = freshDir();
    await gitAsync(undefined, ['clone', '--quiet', url('web-app', 'x-bitbucket-api-token-auth', bob.apiToken), work]);
    const oldMain = git(bare, ['rev-parse', 'refs/heads/main']).trim();

    // A fast-forward of main.
    let mark = emulator.received.length;
    git(work, ['commit', '--quiet', '--allow-empty', '-m', 'bob adds a commit']);
    const newMain = git(work, ['rev-parse', 'HEAD']).trim();
    await gitAsync(work, ['push', '--quiet', 'origin', 'main']);
    await emulator.eventsIdle();
    let events = pushEvents(mark);
    assert.equal(events.length, 1);
    const [update] = events;
    const fastForward = branchPush(update);
    assert.equal(fastForward.ref, 'main', 'the short name, a string');
    assert.equal(fastForward.mainbranch, true);
    assert.equal(fastForward.before, oldMain);
    assert.equal(fastForward.after, newMain);
    assert.deepEqual([fastForward.created, fastForward.closed, fastForward.forced, fastForward.truncated], [false, false, false, false]);
    assert.deepEqual(fastForward.commits.map((commit) => [commit.hash, commit.message.value.trim(), commit.message.truncated]), [[newMain, 'bob adds a commit', false]]);
    assert.deepEqual(fastForward.commits[0]?.author, {}, 'no Bitbucket account has the author email test@lifeboat.invalid');
    assert.deepEqual(update?.actor, { type: 'user', accountId: bob.accountId, uuid: bob.uuid });
    assert.equal(update?.repository.uuid, emulator.state().repositories.find((repository) => repository.slug === 'web-app')?.uuid);
    assert.equal(update?.workspace.uuid, DEMO_WORKSPACE.uuid);
    assert.equal(typeof update?.project.uuid, 'string');

    // A new branch and an annotated tag in one push: two events.
    mark = emulator.received.length;
    git(work, ['tag', '--annotate', '-m', 'bob tags', 'v9.9.9']);
    await gitAsync(work, ['push', '--quiet', 'origin', 'main:refs/heads/topic', 'refs/tags/v9.9.9']);
    await emulator.eventsIdle();
    events = pushEvents(mark);
    assert.deepEqual(events.map((event) => [event.push.ref, 'mainbranch' in event.push ? event.push.mainbranch : 'tag', event.push.created, event.push.before]), [['topic', false, true, undefined], ['v9.9.9', 'tag', true, undefined]]);
    const tag = events[1]?.push as TagPush;
    assert.equal(tag.after, git(work, ['rev-parse', 'refs/tags/v9.9.9']).trim());
    assert.deepEqual([tag.message, tag.author, typeof tag.date], [{ value: 'bob tags\n', truncated: false }, {}, 'string'], 'an annotated tag brings its message, tagger and date');

    // A forced update: main rewritten.
    mark = emulator.received.length;
    git(work, ['reset', '--quiet', '--hard', 'HEAD~1']);
    for (let index = 0; index < 7; index++) git(work, ['commit', '--quiet', '--allow-empty', '-m', `rewrite ${index}`]);
    const rewritten = git(work, ['rev-parse', 'HEAD']).trim();
    await gitAsync(work, ['push', '--quiet', '--force', 'origin', 'main']);
    await emulator.eventsIdle();
    const forced = branchPush(pushEvents(mark)[0]);
    assert.equal(forced.forced, true);
    assert.equal(forced.before, newMain);
    assert.equal(forced.after, rewritten);
    assert.equal(forced.commits.length, 5, 'at most five commits');
    assert.equal(forced.commits[0]?.hash, rewritten, 'newest first');
    assert.equal(forced.truncated, true);

    // A deleted branch.
    mark = emulator.received.length;
    await gitAsync(work, ['push', '--quiet', 'origin', ':topic']);
    await emulator.eventsIdle();
    const closed = branchPush(pushEvents(mark)[0]);
    assert.deepEqual([closed.ref, closed.closed, closed.created, closed.before, closed.after, closed.commits], ['topic', true, false, newMain, undefined, []]);
    assert.equal(git(bare, ['rev-parse', 'refs/heads/main']).trim(), rewritten);
  });

  it('reach a repository created over REST, with a workspace token', async () => {
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/pushed-into`, apiTokenAuth('admin'), { method: 'POST', body: { scm: 'git' } })).status, 200);
    const work = freshDir();
    git(undefined, ['init', '--quiet', work]);
    git(work, ['commit', '--quiet', '--allow-empty', '-m', 'first']);
    const mark = emulator.received.length;
    await gitAsync(work, ['push', '--quiet', url('pushed-into', 'x-token-auth', DEMO_WORKSPACE_TOKEN.token), 'main']);
    await emulator.eventsIdle();
    const [created] = pushEvents(mark);
    assert.equal(branchPush(created).created, true);
    assert.equal(branchPush(created).commits.length, 1);
    assert.equal(created?.actor.uuid, DEMO_WORKSPACE_TOKEN.botUserUuid);
    const branches = await call(emulator, `/2.0/repositories/${WS}/pushed-into/refs/branches`, apiTokenAuth('admin'));
    assert.deepEqual((branches.body as { values: Array<{ name: string }> }).values.map((branch) => branch.name), ['main']);
  });
});

describe('event delivery', () => {
  it('is delayed and duplicated as configured, without holding up the push', async () => {
    const work = freshDir();
    await gitAsync(undefined, ['clone', '--quiet', url('docs', 'x-bitbucket-api-token-auth', alice.apiToken), work]);
    git(work, ['commit', '--quiet', '--allow-empty', '-m', 'late news']);
    emulator.events.delayMs = 1000;
    emulator.events.duplicate = 2;
    try {
      const mark = emulator.received.length;
      const started = Date.now();
      await gitAsync(work, ['push', '--quiet', 'origin', 'main']);
      assert.equal(pushEvents(mark).length, 0, 'the push answered before any delivery');
      await emulator.eventsIdle();
      assert.ok(Date.now() - started >= 1000);
      const events = pushEvents(mark);
      assert.equal(events.length, 3);
      assert.deepEqual(events[1], events[0]);
      assert.deepEqual(events[2], events[0]);
    } finally {
      emulator.events.delayMs = 0;
      emulator.events.duplicate = 0;
    }
  });
});

describe('faults', () => {
  const aliceUrl = (): string => url('web-app', 'x-bitbucket-api-token-auth', alice.apiToken);

  it('failNext5xx fails the next requests, REST or git', async () => {
    emulator.faults.failNext5xx = 1;
    await assert.rejects(gitAsync(undefined, ['ls-remote', aliceUrl()]), /500/);
    assert.notEqual(await lsRemote(aliceUrl()), '');
    emulator.faults.failNext5xx = 1;
    emulator.faults.failStatus = 503;
    const failed = await call(emulator, '/2.0/user', apiTokenAuth('admin'));
    assert.equal(failed.status, 503);
    assert.equal((failed.body as { type: string }).type, 'error');
    emulator.faults.failStatus = 500;
    assert.equal((await call(emulator, '/2.0/user', apiTokenAuth('admin'))).status, 200);
  });

  it('resetPackAfterBytes cuts the pack mid-stream, once', async () => {
    emulator.faults.resetPackAfterBytes = 1500;
    await assert.rejects(gitAsync(undefined, ['clone', '--quiet', '--mirror', aliceUrl(), freshDir()]));
    assert.equal(emulator.faults.resetPackAfterBytes, undefined, 'the knob cleared itself');
    const target = freshDir();
    await gitAsync(undefined, ['clone', '--quiet', '--mirror', aliceUrl(), target]);
    assert.equal(refsOf(target), refsOf(emulator.gitDir(WS, 'web-app')));
  });

  it('rateLimitStorm answers 429 with the rate-limit headers', async () => {
    emulator.faults.rateLimitStorm = 2;
    const storm = await call(emulator, '/2.0/user', apiTokenAuth('member'));
    assert.equal(storm.status, 429);
    assert.deepEqual(storm.body, { type: 'error', error: { message: 'Rate limit for this resource has been exceeded' } });
    assert.ok(storm.headers.get('x-ratelimit-limit'));
    assert.equal(storm.headers.get('x-ratelimit-nearlimit'), 'true');
    await assert.rejects(gitAsync(undefined, ['ls-remote', aliceUrl()]), /429/);
    assert.equal((await call(emulator, '/2.0/user', apiTokenAuth('member'))).status, 200);
  });

  it('latencyMs slows every request', async () => {
    emulator.faults.latencyMs = 300;
    try {
      const started = Date.now();
      await call(emulator, '/2.0/user', apiTokenAuth('member'));
      assert.ok(Date.now() - started >= 300);
    } finally {
      emulator.faults.latencyMs = 0;
    }
  });

  it('git has its own budget beside REST', async () => {
    const limited = await startTestEmulator({ rateLimitPerHour: 2 });
    try {
      for (let index = 0; index < 2; index++) assert.equal((await call(limited, '/2.0/user', apiTokenAuth('admin'))).status, 200);
      assert.equal((await call(limited, '/2.0/user', apiTokenAuth('admin'))).status, 429);
      const remote = withCredentials(limited.gitUrl(WS, 'docs'), 'x-bitbucket-api-token-auth', alice.apiToken);
      assert.notEqual(await lsRemote(remote), '');
    } finally {
      await limited.dispose();
    }
  });
});
