// The restore dialog's repository configuration option in a real browser against
// the local world (chromium, the built page, the Forge host, the Bitbucket
// emulator, s3rver): the plan shown before the restore, the result after it, and
// the repository's settings as Bitbucket then answers them.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import type { BackupRequested, Result } from '../src/contract.js';
import { apiTokenAuth, call } from '../sandbox/bitbucket/test-support.js';
import { buildPages } from '../sandbox/ui/build.js';
import { DEMO_WORKSPACE, type AppWorld, startAppWorld } from './helpers/app-world.js';
import { checkAccessibility } from './helpers/axe.js';
import { ManualClock } from '../sandbox/forge/index.js';

const appDir = fileURLToPath(new URL('..', import.meta.url));
const ARTIFACTS = join(appDir, 'test-artifacts');
const SLUG = 'web-app';
const RULES = `/2.0/repositories/${DEMO_WORKSPACE.slug}/${SLUG}/branch-restrictions`;

describe('restoring repository configuration from the page, in chromium', () => {
  let app: AppWorld;
  let browser: Browser;
  let page: Page;

  const forceRules = async (): Promise<Array<{ id: number; pattern: string }>> =>
    ((await call(app.world.emulator, `${RULES}?kind=force`, apiTokenAuth('admin'))).body as { values: Array<{ id: number; pattern: string }> }).values;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await buildPages(appDir);
    app = await startAppWorld({ clock: new ManualClock() });
    await app.configure();
    const requested = await app.repoPage('backupNow', undefined, { as: 'repoAdmin', repositorySlug: SLUG }) as Result<BackupRequested>;
    assert.ok(requested.ok, JSON.stringify(requested));
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1400 } })).newPage();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
  });


  /** The repository page as its admin, with the Restore dialog open on "Only the repository configuration". */
  const openConfigurationRestore = async (): Promise<{ frame: Frame; dialog: Locator }> => {
    const url = new URL(app.world.urls.pages.repositorySettings[SLUG]!);
    url.searchParams.set('as', 'repoAdmin');
    await page.goto(url.href);
    const frame = await (await page.waitForSelector('#lifeboat-app-frame')).contentFrame();
    assert.ok(frame);
    await frame.getByRole('heading', { level: 1 }).waitFor();
    await frame.getByRole('button', { name: /^Restore from the snapshot/ }).first().click();
    const dialog = frame.getByRole('dialog', { name: /Restore from the snapshot/ });
    await dialog.getByRole('radio', { name: /^Only the repository configuration/ }).check({ force: true });
    return { frame, dialog };
  };
  it('Bob restores a deleted branch restriction: the dialog shows the plan first, then what was and was not written', async () => {
    const [rule] = await forceRules();
    assert.ok(rule);
    assert.equal((await call(app.world.emulator, `${RULES}/${rule.id}`, apiTokenAuth('admin'), { method: 'DELETE' })).status, 204);

    const { frame, dialog } = await openConfigurationRestore();

    const plan = dialog.getByTestId('configuration-plan');
    await plan.waitFor();
    assert.equal(await plan.textContent(), 'Add branch-restrictions: force on main');
    // The repository still has its webhook's secret and its secured values: they stay, and the dialog says so.
    const kept = await dialog.getByTestId('configuration-kept').textContent() ?? '';
    for (const item of ['DEPLOY_TOKEN', 'Production/DB_PASSWORD']) assert.ok(kept.includes(`${item} — secured: the repository keeps its own value`), `${item} in: ${kept}`);
    assert.equal(await dialog.getByTestId('configuration-not-writable').count(), 0);
    assert.match(await dialog.getByTestId('restore-summary').textContent() ?? '', /backs up the current state of this repository, then writes the configuration .* No branch or tag changes/);
    await checkAccessibility(frame, 'the configuration plan');
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-configuration-plan.png'), fullPage: true });

    await dialog.getByRole('button', { name: 'Start restore' }).click();
    await dialog.getByText('Restore finished').waitFor({ timeout: 60_000 });
    assert.equal(await dialog.getByTestId('configuration-written').textContent(), 'Add branch-restrictions: force on main');
    assert.equal(await dialog.getByTestId('configuration-not-written').count(), 0);
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-configuration-result.png'), fullPage: true });
    assert.deepEqual((await forceRules()).map((restored) => restored.pattern), ['main']);
  });

  it('a webhook added since the snapshot is removed only when ticked: lowering changes are listed apart, unchecked', async () => {
    const HOOKS = `/2.0/repositories/${DEMO_WORKSPACE.slug}/${SLUG}/hooks`;
    const hookUrls = async (): Promise<string[]> => ((await call(app.world.emulator, HOOKS, apiTokenAuth('admin'))).body as { values: Array<{ url: string }> }).values.map((hook) => hook.url);
    assert.equal((await call(app.world.emulator, HOOKS, apiTokenAuth('admin'), { method: 'POST', body: { url: 'https://drift.example.com/hook', events: ['repo:push'] } })).status, 201);

    const { dialog } = await openConfigurationRestore();

    const lowering = dialog.getByTestId('configuration-lowering');
    await lowering.waitFor();
    const removal = lowering.getByRole('checkbox', { name: 'Remove webhooks: https://drift.example.com/hook' });
    assert.equal(await removal.isChecked(), false, 'not part of the restore by default');
    await removal.check();
    await dialog.getByRole('button', { name: 'Start restore' }).click();
    await dialog.getByText('Restore finished').waitFor({ timeout: 60_000 });
    assert.match(await dialog.getByTestId('configuration-written').textContent() ?? '', /Remove webhooks: https:\/\/drift\.example\.com\/hook/);
    assert.ok(!(await hookUrls()).includes('https://drift.example.com/hook'), 'removed by the explicit choice');
  });
});
