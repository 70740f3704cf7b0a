// The framed Custom UI in a real browser: Debian's chromium loads the sandbox's
// Bitbucket pages, the real @forge/bridge inside the built pages talks through
// the shim to the framing page, and resolver calls reach a recording stand-in
// for the Forge host with the identity and location the UI server decided.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';
import { documentedEvent } from '../../test/helpers/forge-events.js';
import { DEMO_REPOSITORIES, DEMO_USERS, DEMO_WORKSPACE } from '../demo.js';
import type { DeliveredEvent, InvocationRecord, ProductEvent } from '../forge/index.js';
import { buildPages } from './build.js';
import { startUiServer, type InvokeCall, type InvokeResult, type FramedPage, type Place, type UiServer } from './server.js';

const appDir = fileURLToPath(new URL('../..', import.meta.url));
const REPO_PAGE = 'lifeboat-repo-settings';
const ADMIN_PAGE = 'lifeboat-workspace-admin';
const MODULES: FramedPage[] = [
  { key: REPO_PAGE, type: 'bitbucket:repoSettingsMenuPage', title: 'Lifeboat backups', resource: 'repo-settings', resourcePath: 'static/repo-settings/build' },
  { key: ADMIN_PAGE, type: 'bitbucket:workspaceSettingsMenuPage', title: 'Lifeboat', resource: 'workspace-admin', resourcePath: 'static/workspace-admin/build' },
];
const webApp = DEMO_REPOSITORIES[0];
const LAST_PUSH = { ref: 'main', after: '0123456789abcdef0123456789abcdef01234567', at: '2026-11-20T09:30:00.000Z' };
/** What the page words from the storage status below (static/shared/storage-words.ts). */
const STORAGE_WORDS = 'The newest snapshot is stored unencrypted; the settings have changed since, so the next backup starts a new full chain stored encrypted to 1 age recipient. Earlier snapshots stay as they were stored. No Object Lock on new objects.';

/** Stands in for the Forge host: records each call and answers as getOverview (or the repository page's resolvers, with nothing backed up) would, or fails on demand. */
const host = {
  calls: [] as InvokeCall[],
  failWith: undefined as string | undefined,
  async invoke(call: InvokeCall): Promise<InvokeResult> {
    host.calls.push(call);
    if (host.failWith) return { ok: false, error: { message: host.failWith } };
    const repository = call.extension.repository as { uuid: string } | undefined;
    if (call.functionKey === 'getSettings') return { ok: true, body: { ok: true, value: { secrets: { bucketSecretAccessKey: false, bitbucketToken: false } } } };
    if (call.functionKey === 'getRepoStatus') {
      const storage = { lastSnapshotRecipients: [], recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'], objectLock: null, newChainPending: true };
      return { ok: true, body: { ok: true, value: { repositoryUuid: repository?.uuid, slug: 'web-app', name: 'Web App', included: true, includedBy: 'workspace', state: 'idle', storage } } };
    }
    if (call.functionKey === 'listSnapshots') return { ok: true, body: { ok: true, value: { items: [], unreadable: [] } } };
    if (call.functionKey === 'listDestructiveEvents') return { ok: true, body: { ok: true, value: { items: [] } } };
    return {
      ok: true,
      body: { workspaceId: DEMO_WORKSPACE.uuid, accountId: call.accountId, ...(repository ? { repositoryUuid: repository.uuid, lastPush: LAST_PUSH } : {}) },
    };
  },
};

/** Stands in for the Forge host's event delivery: records each event, and lists them newest first as the host does. */
const eventHost = {
  delivered: [] as DeliveredEvent[],
  async deliver(event: ProductEvent): Promise<InvocationRecord[]> {
    const ran: InvocationRecord = { id: 'i-1', kind: 'trigger', key: 'repository-events', functionKey: 'on-repository-event', detail: event.eventType, start: Date.now(), durationMs: 1, outcome: 'ok' };
    eventHost.delivered.unshift({ at: new Date().toISOString(), event, triggers: [{ key: ran.key, outcome: ran.outcome }] });
    return [ran];
  },
};

const repositories: Place[] = DEMO_REPOSITORIES.map(({ uuid, slug, name }) => ({ uuid, slug, name }));
const lines: string[] = [];
let ui: UiServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;

before(async () => {
  await buildPages(appDir);
  ui = await startUiServer({
    appDir,
    modules: MODULES,
    workspace: { uuid: DEMO_WORKSPACE.uuid, slug: DEMO_WORKSPACE.slug, name: DEMO_WORKSPACE.name },
    repositories: async () => repositories,
    users: DEMO_USERS,
    invoke: (call) => host.invoke(call),
    events: {
      subscribed: ['avi:bitbucket:push:repository', 'avi:bitbucket:created:pullrequest'],
      deliver: (event) => eventHost.deliver(event),
      delivered: () => eventHost.delivered,
    },
    log: (line) => lines.push(line),
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext();
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await ui?.close();
});

beforeEach(() => {
  host.calls.length = 0;
  host.failWith = undefined;
});

/** The app's iframe, once its page has loaded. */
async function appFrame(): Promise<Frame> {
  const element = await page.waitForSelector('#lifeboat-app-frame');
  const frame = await element.contentFrame();
  assert.ok(frame, 'the app iframe has a frame');
  await frame.waitForLoadState('load');
  return frame;
}

async function text(frame: Frame, testId: string): Promise<string> {
  return (await frame.getByTestId(testId).textContent({ timeout: 10_000 })) ?? '';
}

/** GET with the path exactly as given: fetch() and browsers would normalise "..". */
function rawGet(path: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  const { port } = new URL(ui.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function postInvoke(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${ui.url}/__sandbox/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('framed pages in chromium', () => {
  test("the repository page shows the repository's backup status from the resolvers, asked as the repository admin", async () => {
    await page.goto(ui.pageUrl(REPO_PAGE, { repositorySlug: webApp.slug, as: 'repoAdmin' }));
    const frame = await appFrame();
    assert.equal(await frame.getByRole('heading', { level: 1 }).textContent(), 'Lifeboat backups of Web App');
    // How backups are stored, from the repository's status.
    assert.equal(await text(frame, 'storage'), STORAGE_WORDS);
    assert.equal(await text(frame, 'protection'), 'Not protected');
    assert.equal(await text(frame, 'last-backup'), 'Never backed up');
    await frame.getByText('No snapshots yet').waitFor();

    const place = { accountId: DEMO_USERS.repoAdmin.accountId, extension: { type: 'bitbucket:repoSettingsMenuPage', repository: { uuid: webApp.uuid } } };
    assert.deepEqual([...host.calls].sort((a, b) => a.functionKey.localeCompare(b.functionKey)), [
      { moduleKey: REPO_PAGE, functionKey: 'getRepoStatus', ...place },
      { moduleKey: REPO_PAGE, functionKey: 'listDestructiveEvents', payload: {}, ...place },
      { moduleKey: REPO_PAGE, functionKey: 'listSnapshots', payload: {}, ...place },
    ]);
    assert.ok(lines.some((line) => /invoke lifeboat-repo-settings getRepoStatus as repoAdmin in web-app: ok/.test(line)), lines.join('\n'));

    // The chrome around it: Bitbucket's header with the user switch.
    assert.equal(await page.locator('#lifeboat-user-switch').inputValue(), 'repoAdmin');
    assert.match(await page.locator('.bb-crumbs').innerText(), /Lifeboat Demo \/ Web App \/ Repository settings \/ Lifeboat backups/);
  });

  test('switching the signed-in user reloads the page as that user', async () => {
    await page.goto(ui.pageUrl(REPO_PAGE, { repositorySlug: webApp.slug, as: 'admin' }));
    await (await appFrame()).getByTestId('protection').waitFor();

    await Promise.all([page.waitForURL(/as=member/), page.selectOption('#lifeboat-user-switch', 'member')]);
    await (await appFrame()).getByTestId('protection').waitFor();
    assert.deepEqual(host.calls.filter((call) => call.functionKey === 'getRepoStatus').map((call) => call.accountId), [DEMO_USERS.admin.accountId, DEMO_USERS.member.accountId]);
  });

  test("view.theme.enable(): the app's document gets Bitbucket's colour mode, which the frame's switch chooses and keeps", async () => {
    const themeOf = (frame: Frame) => frame.evaluate(`({
      mode: document.documentElement.getAttribute('data-color-mode'),
      theme: document.documentElement.getAttribute('data-theme'),
      styles: [...document.head.querySelectorAll('style[data-theme]')].map((style) => style.getAttribute('data-theme')),
      background: getComputedStyle(document.body).backgroundColor,
      surface: getComputedStyle(document.documentElement).getPropertyValue('--ds-surface').trim().toLowerCase(),
    })`) as Promise<{ mode: string | null; theme: string | null; styles: string[]; background: string; surface: string }>;
    const rgb = (hex: string) => `rgb(${[1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16)).join(', ')})`;
    await page.goto(ui.pageUrl(REPO_PAGE, { repositorySlug: webApp.slug, as: 'repoAdmin' }));
    let frame = await appFrame();
    await frame.waitForFunction("document.documentElement.hasAttribute('data-color-mode')");
    const light = await themeOf(frame);
    assert.equal(light.mode, 'light');
    assert.match(String(light.theme), /\bdark:dark\b.*\blight:light\b/);
    assert.ok(light.styles.includes('light') && !light.styles.includes('dark'), light.styles.join());
    assert.equal(light.surface, '#ffffff');
    assert.equal(light.background, rgb(light.surface));
    assert.equal(await page.locator('#lifeboat-theme-switch').inputValue(), 'light');

    await Promise.all([page.waitForURL(/theme=dark/), page.selectOption('#lifeboat-theme-switch', 'dark')]);
    frame = await appFrame();
    await frame.waitForFunction("document.documentElement.getAttribute('data-color-mode') === 'dark'");
    const dark = await themeOf(frame);
    assert.ok(dark.styles.includes('dark'), dark.styles.join());
    // The page's background is the tokens' dark surface, not a colour of the app's own.
    assert.match(dark.surface, /^#[0-9a-f]{6}$/);
    assert.notEqual(dark.surface, light.surface);
    assert.equal(dark.background, rgb(dark.surface));

    // Kept like the signed-in user: switching the user, and the app's links, stay dark.
    await Promise.all([page.waitForURL(/as=member/), page.selectOption('#lifeboat-user-switch', 'member')]);
    assert.match(page.url(), /theme=dark/);
    frame = await appFrame();
    assert.equal(await frame.evaluate("window.__bridge.callBridge('getUrl', { target: 'module', moduleKey: 'lifeboat-workspace-admin' })"), `${ui.url}/lifeboat-demo/workspace/settings/lifeboat-workspace-admin?as=member&theme=dark`);
    assert.match(await page.locator('.bb-menu a').first().getAttribute('href') ?? '', /theme=dark/);
    assert.equal((await rawGet(`${new URL(ui.pageUrl(ADMIN_PAGE)).pathname}?theme=sepia`)).status, 400);
    assert.equal((await rawGet('/__sandbox/theme/sepia.json')).status, 404);
  });

  test('the workspace page is told it is in the workspace, with no repository', async () => {
    await page.goto(ui.pageUrl(ADMIN_PAGE, { as: 'admin' }));
    const frame = await appFrame();
    await frame.getByText('Set up Lifeboat').waitFor({ timeout: 10_000 });
    assert.deepEqual(host.calls, [{ moduleKey: ADMIN_PAGE, functionKey: 'getSettings', accountId: DEMO_USERS.admin.accountId, extension: { type: 'bitbucket:workspaceSettingsMenuPage' } }]);

    const pageContext = (await frame.evaluate("window.__bridge.callBridge('getContext')")) as Record<string, unknown>;
    assert.equal(pageContext.environmentType, 'DEVELOPMENT');
    assert.equal(pageContext.moduleKey, ADMIN_PAGE);
    assert.equal(pageContext.siteUrl, ui.url);
    assert.match(String(pageContext.localId), /^ari:cloud:ecosystem::extension\/[0-9a-f-]{36}\/sandbox\/static\/lifeboat-workspace-admin$/);
    assert.equal(typeof pageContext.timezone, 'string');
  });

  test("a failing resolver shows the page's error banner with the backend's message", async () => {
    host.failWith = 'Lifeboat is not set up in this workspace yet';
    await page.goto(ui.pageUrl(ADMIN_PAGE, { as: 'member' }));
    const frame = await appFrame();
    await frame.getByText(/There was an error invoking the function - Lifeboat is not set up in this workspace yet/).waitFor({ timeout: 10_000 });
    await frame.getByText("Lifeboat's settings could not be loaded").waitFor();
    assert.equal(host.calls.length, 1);
    assert.match(lines.at(-1) ?? '', /as member: error: Lifeboat is not set up/);
  });

  test('the bridge: unknown commands reject, navigation stays in the sandbox and keeps the user, history lives in the URL', async (t) => {
    await page.goto(ui.pageUrl(REPO_PAGE, { repositorySlug: webApp.slug, as: 'repoAdmin' }));
    let frame = await appFrame();
    const call = (script: string): Promise<unknown> => frame.evaluate(`${script}.then((value) => ({ value }), (error) => ({ error: error.message }))`);

    assert.match(String(((await call("window.__bridge.callBridge('showFlag', { id: 'x' })")) as { error: string }).error), /does not support the Custom UI bridge command 'showFlag'/);
    assert.deepEqual(await call("window.__bridge.callBridge('open')"), { value: false });
    assert.deepEqual(await call("window.__bridge.callBridge('getUrl', { target: 'module', moduleKey: 'lifeboat-workspace-admin' })"), {
      value: `${ui.url}/lifeboat-demo/workspace/settings/lifeboat-workspace-admin?as=repoAdmin`,
    });
    assert.match(String(((await call("window.__bridge.callBridge('navigate', { url: 'javascript:alert(1)', type: 'same-tab' })")) as { error: string }).error), /Refusing to navigate/);

    // History: pushes show in the top window's URL; the browser's back button reaches the app.
    await frame.evaluate(`window.__bridge.callBridge('createHistory').then((history) => {
      window.__seen = [];
      history.listen((location, action) => window.__seen.push(action + ' ' + location.pathname + location.search));
      history.push('/snapshots?page=2');
    })`);
    await page.waitForURL(/#\/snapshots\?page=2$/);
    await page.goBack();
    await frame.waitForFunction('window.__seen.length === 2');
    assert.deepEqual(await frame.evaluate('window.__seen'), ['PUSH /snapshots?page=2', 'POP /']);

    // Outside Bitbucket (another origin): a new tab, whatever the app asked for.
    const elsewhere = createServer((_req, res) => res.end('elsewhere'));
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    t.after(() => {
      elsewhere.closeAllConnections();
      elsewhere.close();
    });
    const outside = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/`;
    const [tab] = await Promise.all([context.waitForEvent('page'), call(`window.__bridge.callBridge('navigate', { url: '${outside}', type: 'same-tab' })`)]);
    await tab.waitForLoadState();
    assert.equal(tab.url(), outside);
    await tab.close();

    // A Bitbucket path: same tab, same signed-in user.
    // Fired without awaiting its answer: the navigation it causes destroys the frame that would receive it.
    await frame.evaluate("void window.__bridge.callBridge('navigate', { url: '/lifeboat-demo/workspace/settings/lifeboat-workspace-admin', type: 'same-tab' })");
    await page.waitForURL(/workspace\/settings/);
    assert.equal(page.url(), ui.pageUrl(ADMIN_PAGE, { as: 'repoAdmin' }));
    frame = await appFrame();
    await frame.getByRole('heading', { name: 'Lifeboat backups' }).waitFor({ timeout: 10_000 });
    assert.equal(host.calls.at(-1)?.accountId, DEMO_USERS.repoAdmin.accountId);
  });
});

describe('UI server', () => {
  test("a resource's index.html gets the shim first in <head>; everything else is served byte for byte", async () => {
    const built = await readFile(join(appDir, 'static/repo-settings/build/index.html'), 'utf8');
    const served = await rawGet('/__resources/repo-settings/index.html');
    assert.equal(served.status, 200);
    assert.equal(served.type, 'text/html; charset=utf-8');
    const html = served.body.toString('utf8');
    assert.match(html, /<head><script src="\/__sandbox\/bridge-shim.js"><\/script>/);
    assert.equal(html.replace('<script src="/__sandbox/bridge-shim.js"></script>', ''), built);
    assert.equal((await rawGet('/__resources/repo-settings/')).body.toString('utf8'), html);

    const assets = await readdir(join(appDir, 'static/repo-settings/build/assets'));
    const script = assets.find((name) => name.endsWith('.js'));
    const style = assets.find((name) => name.endsWith('.css'));
    assert.ok(script && style);
    const js = await rawGet(`/__resources/repo-settings/assets/${script}`);
    assert.equal(js.type, 'text/javascript; charset=utf-8');
    assert.deepEqual(js.body, await readFile(join(appDir, 'static/repo-settings/build/assets', script)));
    assert.equal((await rawGet(`/__resources/repo-settings/assets/${style}`)).type, 'text/css; charset=utf-8');

    const shim = await rawGet('/__sandbox/bridge-shim.js');
    assert.equal(shim.type, 'text/javascript; charset=utf-8');
    assert.match(shim.body.toString('utf8'), /window\.__bridge = \{/);

    // In the browser, too: the shim is the first element of the framed page's head.
    await page.goto(ui.pageUrl(ADMIN_PAGE));
    const frame = await appFrame();
    assert.equal(await frame.evaluate("document.head.firstElementChild.getAttribute('src')"), '/__sandbox/bridge-shim.js');
  });

  test('path traversal and unknown paths get 404', async () => {
    const manifest = await readFile(join(appDir, 'manifest.yml'));
    for (const path of [
      '/__resources/repo-settings/../../../manifest.yml',
      '/__resources/repo-settings/..%2f..%2f..%2fmanifest.yml',
      '/__resources/repo-settings/%2e%2e/%2e%2e/%2e%2e/manifest.yml',
      '/__resources/repo-settings/assets/..%5c..%5c..%5c..%5cmanifest.yml',
      '/__resources/..%2f..%2f..%2f/manifest.yml',
      '/__resources/repo-settings/%2e%2e%2f%2e%2e%2f%2e%2e%2fmanifest.yml',
      '/__resources/repo-settings/%E0%A4%A',
      '/__sandbox/..%2fserver.ts',
      '/__sandbox/server.ts',
      '/__resources/no-such-resource/index.html',
      '/__resources/repo-settings/no-such-file.js',
      '/__resources/repo-settings/assets',
      '/nowhere',
      '/lifeboat-demo/no-such-repo/admin/lifeboat-repo-settings',
      '/lifeboat-demo/web-app/admin/no-such-module',
      '/lifeboat-demo/web-app/admin/lifeboat-workspace-admin',
      '/lifeboat-demo/workspace/settings/lifeboat-repo-settings',
      '/another-workspace/workspace/settings/lifeboat-workspace-admin',
    ]) {
      const response = await rawGet(path);
      assert.equal(response.status, 404, path);
      assert.equal(response.body.includes(manifest), false, path);
    }
    assert.equal((await rawGet(`${new URL(ui.pageUrl(ADMIN_PAGE)).pathname}?as=constructor`)).status, 400);
  });

  test('a link that leads out of a resource folder is not followed', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-ui-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'manifest.yml'), 'app:\n  id: ari:cloud:ecosystem::app/6f1c2a44-0d8e-4b5f-9a3c-7e2d1b0c9f58\n');
    await writeFile(join(dir, 'secret.txt'), 'not for the browser');
    await mkdir(join(dir, 'page'));
    await writeFile(join(dir, 'page', 'index.html'), '<!doctype html><html><head></head><body></body></html>');
    await symlink(join(dir, 'secret.txt'), join(dir, 'page', 'leak.txt'));
    const other = await startUiServer({
      appDir: dir,
      modules: [{ key: 'page', type: 'bitbucket:workspaceSettingsMenuPage', title: 'Page', resource: 'page', resourcePath: 'page' }],
      workspace: DEMO_WORKSPACE,
      repositories: async () => [],
      users: DEMO_USERS,
      invoke: (call) => host.invoke(call),
    });
    t.after(() => other.close());
    assert.equal((await fetch(`${other.url}/__resources/page/leak.txt`)).status, 404);
    assert.match(await (await fetch(`${other.url}/__resources/page/index.html`)).text(), /^<!doctype html><html><head><script src="\/__sandbox\/bridge-shim.js"><\/script><\/head>/);
  });

  test('the index lists every page, with repositories as they are now', async () => {
    const before = await (await fetch(`${ui.url}/`)).text();
    assert.match(before, /href="\/lifeboat-demo\/workspace\/settings\/lifeboat-workspace-admin"/);
    for (const repository of DEMO_REPOSITORIES) assert.match(before, new RegExp(`href="/lifeboat-demo/${repository.slug}/admin/lifeboat-repo-settings"`));
    repositories.push({ uuid: '{e5f6a7b8-c9d0-4e13-8c45-5f6a7b8c9da4}', slug: 'created-later', name: 'Created <later>' });
    try {
      const now = await (await fetch(`${ui.url}/`)).text();
      assert.match(now, /href="\/lifeboat-demo\/created-later\/admin\/lifeboat-repo-settings">Created &#60;later&#62; \(created-later\)/);
      assert.equal((await fetch(ui.pageUrl(REPO_PAGE, { repositorySlug: 'created-later' }))).status, 200);
    } finally {
      repositories.pop();
    }
  });

  test('identity and location come from the role and the page, never from the caller', async () => {
    const response = await postInvoke({
      moduleKey: REPO_PAGE,
      functionKey: 'getOverview',
      payload: { note: 'hello' },
      as: 'member',
      repositorySlug: 'api-server',
      accountId: DEMO_USERS.admin.accountId,
      extension: { type: 'bitbucket:repoSettingsMenuPage', repository: { uuid: webApp.uuid } },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      ok: true,
      body: { workspaceId: DEMO_WORKSPACE.uuid, accountId: DEMO_USERS.member.accountId, repositoryUuid: DEMO_REPOSITORIES[1].uuid, lastPush: LAST_PUSH },
    });
    assert.deepEqual(host.calls, [{
      moduleKey: REPO_PAGE,
      functionKey: 'getOverview',
      payload: { note: 'hello' },
      accountId: DEMO_USERS.member.accountId,
      extension: { type: 'bitbucket:repoSettingsMenuPage', repository: { uuid: DEMO_REPOSITORIES[1].uuid } },
    }]);

    const refused: Array<[unknown, number, RegExp, Record<string, string>?]> = [
      [{ moduleKey: REPO_PAGE, functionKey: 'getOverview', as: 'admin' }, 400, /repository page: the call names no repository/],
      [{ moduleKey: ADMIN_PAGE, functionKey: 'getOverview', as: 'admin', repositorySlug: 'web-app' }, 400, /workspace page: it has no repository/],
      [{ moduleKey: REPO_PAGE, functionKey: 'getOverview', as: 'admin', repositorySlug: 'gone' }, 404, /no repository lifeboat-demo\/gone/],
      [{ moduleKey: 'nope', functionKey: 'getOverview', as: 'admin' }, 404, /no page with the module key 'nope'/],
      [{ moduleKey: ADMIN_PAGE, functionKey: 'getOverview', as: 'root' }, 400, /Nobody signs in as 'root'/],
      [{ moduleKey: ADMIN_PAGE, as: 'admin' }, 400, /functionKey/],
      [{ moduleKey: ADMIN_PAGE, functionKey: 'getOverview', as: 'admin' }, 403, /not from http:\/\/evil\.test/, { origin: 'http://evil.test' }],
    ];
    for (const [body, status, message, headers] of refused) {
      const answer = await postInvoke(body, headers);
      assert.equal(answer.status, status, JSON.stringify(body));
      const json = (await answer.json()) as { ok: boolean; error: { message: string } };
      assert.equal(json.ok, false);
      assert.match(json.error.message, message);
    }
    const form = await fetch(`${ui.url}/__sandbox/invoke`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(form.status, 415);
    const huge = await postInvoke({ moduleKey: ADMIN_PAGE, functionKey: 'getOverview', as: 'admin', payload: 'x'.repeat(600 * 1024) });
    assert.equal(huge.status, 413);
    assert.equal(host.calls.length, 1, 'no refused call reached the host');
  });

  test('POST /__sandbox/events hands a raw product event to the host as posted; GET lists what was delivered', async () => {
    eventHost.delivered.length = 0;
    const post = (body: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${ui.url}/__sandbox/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const documented = await documentedEvent('push-branch.json');
    const accepted = await post(JSON.stringify(documented));
    assert.equal(accepted.status, 202);
    assert.deepEqual(await accepted.json(), { eventType: 'avi:bitbucket:push:repository', triggers: [{ key: 'repository-events', outcome: 'ok' }] });
    assert.deepEqual(eventHost.delivered.map((entry) => entry.event), [documented], 'exactly as posted');

    const refused: Array<[string, number, RegExp, Record<string, string>?]> = [
      ['[1, 2]', 400, /An event is a JSON object, as Forge delivers it; this is an array/],
      ['"push"', 400, /this is a string/],
      ['null', 400, /this is null/],
      ['{"push": {}}', 400, /no eventType/],
      ['{"eventType": "avi:bitbucket:updated:repository"}', 400, /No trigger of the app subscribes to avi:bitbucket:updated:repository; manifest.yml's triggers take avi:bitbucket:push:repository, avi:bitbucket:created:pullrequest/],
      ['{"eventType"', 400, /The event is not JSON/],
      [JSON.stringify(documented), 403, /not from http:\/\/evil\.test/, { origin: 'http://evil.test' }],
    ];
    for (const [body, status, message, headers] of refused) {
      const answer = await post(body, headers);
      assert.equal(answer.status, status, body);
      assert.match(((await answer.json()) as { error: { message: string } }).error.message, message);
    }
    assert.equal((await fetch(`${ui.url}/__sandbox/events`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })).status, 415);
    assert.equal((await fetch(`${ui.url}/__sandbox/events`, { method: 'PUT' })).status, 405);
    assert.equal(eventHost.delivered.length, 1, 'no refused event reached the host');

    const listed = await fetch(`${ui.url}/__sandbox/events`);
    assert.equal(listed.status, 200);
    assert.deepEqual(await listed.json(), { events: eventHost.delivered });
  });
});
