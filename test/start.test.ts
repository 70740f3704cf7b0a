// `npm start` end to end: the world comes up from nothing, a plain `git push`
// to the emulator reaches the app's trigger inside the Forge host, the app's
// resolver (called through the UI server, as the page would) sees it, and
// Ctrl-C stops everything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DEMO_USERS, DEMO_WORKSPACE_TOKEN } from '../sandbox/demo.js';
import type { WorldUrls } from '../sandbox/world.js';
import { git } from './helpers/repos.js';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function portIsClosed(url: string): Promise<boolean> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(true));
  });
}

/**
 * `npm start -- --data <dataDir> ...extra` in a process group of its own (a signal to the group is a terminal's
 * Ctrl-C), killed when the test ends; resolves once the world has written world.json and printed its start-up text.
 */
async function startWorld(t: TestContext, dataDir: string, extra: string[] = [], env: Record<string, string> = {}) {
  const child = spawn('npm', ['start', '--', '--data', dataDir, ...extra], {
    env: { ...process.env, LIFEBOAT_SANDBOX_PORTS: 'any', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const world = { output: '', urls: undefined as unknown as WorldUrls, exited: once(child, 'exit'), signalGroup: (signal: NodeJS.Signals): void => { try { process.kill(-child.pid!, signal); } catch { /* already gone */ } } };
  child.stdout.on('data', (chunk: Buffer) => { world.output += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { world.output += chunk.toString(); });
  t.after(() => world.signalGroup('SIGKILL'));
  // The same object, not a copy: `output` keeps growing as the world prints.
  world.urls = await waitFor('world.json', async () => JSON.parse(await readFile(join(dataDir, 'world.json'), 'utf8')) as WorldUrls);
  await waitFor('the start-up text', async () => (/Ctrl-C stops everything/.test(world.output) ? true : undefined));
  return world;
}

test('npm start: push reaches the app, the page sees it, Ctrl-C stops the world', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lifeboat-world-'));
  const work = await mkdtemp(join(tmpdir(), 'lifeboat-world-work-'));
  t.after(() => Promise.all([rm(dataDir, { recursive: true, force: true }), rm(work, { recursive: true, force: true })]));

  // The platforms' own limits when no knob is set (an empty value is ignored).
  const unset = Object.fromEntries(['OUTBOUND_TIMEOUT_S', 'GIT_BYTES_PER_S', 'PUSH_MAX_BYTES', 'FILE_MAX_BYTES', 'REPO_MAX_BYTES'].map((knob) => [`LIFEBOAT_SANDBOX_${knob}`, '']));
  const world = await startWorld(t, dataDir, [], unset);
  const { urls, exited, signalGroup } = world;
  assert.match(world.output, /Lifeboat local world is up/);
  assert.match(world.output, /Forge: outbound request 180 s\n +Bitbucket: push 3\.5 GB, file 100 MB, repository 4 GB, git unlimited\n/);
  // The first-run set-up's values, as a person types them into the admin page.
  assert.match(world.output, new RegExp(`Endpoint ${urls.bucket.endpoint} +Bucket name ${urls.bucket.bucket} `));
  assert.match(world.output, new RegExp(`Credential "Workspace access token": ${DEMO_WORKSPACE_TOKEN.token}`));

  // The pages are served through the UI server (framed Custom UI).
  const home = await fetch(urls.pages.home);
  assert.equal(home.status, 200);
  assert.match(await home.text(), /Run hourly-sweep now/);
  const repoPage = await fetch(urls.pages.repositorySettings['web-app']!);
  assert.equal(repoPage.status, 200);

  // A plain git push with an API token, as a person following the README would.
  const alice = DEMO_USERS.admin;
  const remote = new URL(urls.bitbucket.git['web-app']!);
  remote.username = 'x-bitbucket-api-token-auth';
  remote.password = alice.apiToken;
  git(work, ['clone', '--quiet', remote.href, 'web-app']);
  const clone = join(work, 'web-app');
  git(clone, ['-c', 'user.name=Alice', '-c', 'user.email=alice@example.com', 'commit', '--allow-empty', '-m', 'smoke test']);
  git(clone, ['push', '--quiet', 'origin', 'HEAD:refs/heads/smoke-test']);
  const pushed = git(clone, ['rev-parse', 'HEAD']).trim();

  // The app's trigger ran in the host (its log says so) and its resolver sees the push.
  const invokeUrl = new URL('/__sandbox/invoke', urls.pages.home);
  const overview = await waitFor('the push to reach the app', async () => {
    const response = await fetch(invokeUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ moduleKey: 'lifeboat-repo-settings', functionKey: 'getOverview', as: 'admin', repositorySlug: 'web-app' }),
    });
    const answer = (await response.json()) as { ok: boolean; body?: { lastPush?: { ref: string; after?: string } } };
    return answer.ok && answer.body?.lastPush?.after === pushed ? answer.body : undefined;
  });
  assert.equal(overview.lastPush?.ref, 'smoke-test');
  assert.match(world.output, /avi:bitbucket:push:repository/);
  assert.match(world.output, /trigger repository-events avi:bitbucket:push:repository ok/);

  // A scheduled trigger on demand, as the index page's button does it.
  const scheduled = await fetch(new URL('/__sandbox/scheduled/hourly-sweep', urls.pages.home), { method: 'POST', redirect: 'manual' });
  assert.equal(scheduled.status, 303);
  await waitFor('the scheduled trigger to run', async () => (/\[forge\] scheduled\w* hourly-sweep/.test(world.output) ? true : undefined));

  signalGroup('SIGINT');
  const [code, signal] = (await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`npm start did not stop:\n${world.output}`)), 30_000).unref())])) as [number | null, NodeJS.Signals | null];
  // npm itself dies of the SIGINT, as in a terminal; the world says it stopped cleanly.
  assert.ok(code === 0 || signal === 'SIGINT', `exit ${code} ${signal}\n${world.output}`);
  assert.match(world.output, /Stopping…\n[^]*Stopped\./);
  for (const url of [urls.pages.home, urls.bitbucket.api, urls.bucket.endpoint]) assert.equal(await portIsClosed(url), true, `${url} still listening`);
});

test('npm start -- --configured: the world starts with working settings saved through the admin page', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'lifeboat-world-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const world = await startWorld(t, dataDir, ['--configured'], {
    LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S: '5',
    LIFEBOAT_SANDBOX_GIT_BYTES_PER_S: '2097152',
    LIFEBOAT_SANDBOX_PUSH_MAX_BYTES: '20971520',
    LIFEBOAT_SANDBOX_FILE_MAX_BYTES: '1048576',
    LIFEBOAT_SANDBOX_REPO_MAX_BYTES: '104857600',
  });
  const { urls, exited, signalGroup } = world;
  assert.match(world.output, /Configured: working settings saved/);
  assert.match(world.output, /Forge: outbound request 5 s\n +Bitbucket: push 20 MB, file 1 MB, repository 100 MB, git 2 MB\/s\n/);
  const response = await fetch(new URL('/__sandbox/invoke', urls.pages.home), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ moduleKey: 'lifeboat-workspace-admin', functionKey: 'getSettings', as: 'admin' }),
  });
  const answer = (await response.json()) as { ok: boolean; body?: { ok: boolean; value?: { settings?: { bucket: { name: string } }; secrets: Record<string, boolean> } } };
  assert.equal(answer.body?.value?.settings?.bucket.name, urls.bucket.bucket);
  assert.deepEqual(answer.body?.value?.secrets, { bucketSecretAccessKey: true, bitbucketToken: true });

  signalGroup('SIGINT');
  await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`npm start did not stop:\n${world.output}`)), 30_000).unref())]);
});
