// The workspace admin page in a real browser against the whole local world
// (emulator, s3rver, Forge host running the app, UI server): a workspace admin
// finishes the first-run set-up as a person would, by role and accessible name;
// a plain member is refused plainly; and the page passes axe-core.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { apiTokenAuth, call, gitAsync } from '../sandbox/bitbucket/test-support.js';
import { DEMO_USERS, DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN } from '../sandbox/demo.js';
import { buildPages } from '../sandbox/ui/build.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { startAppWorld, type AppWorld } from './helpers/app-world.js';
import { checkAccessibility } from './helpers/axe.js';

const appDir = fileURLToPath(new URL('..', import.meta.url));
/** Git-ignored: what the last run looked like. */
const ARTIFACTS = join(appDir, 'test-artifacts');

let app: AppWorld;
let browser: Browser;
let page: Page;
/** The host's delays move it on; the app reads the time from it. */
const clock = new ManualClock();

before(async () => {
  await buildPages(appDir);
  // The host's delays (30 s coalescing, 120 s prunes) wait until a test settles the host.
  app = await startAppWorld({ clock });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  if (process.env.LIFEBOAT_UI_DEBUG) { page.on('console', (m) => console.log('console:', m.text())); page.on('pageerror', (e) => console.log('pageerror:', e.message)); }
});

after(async () => {
  await browser?.close();
  await app?.close();
});

async function adminPage(as: 'admin' | 'member'): Promise<Frame> {
  const url = new URL(app.world.urls.pages.workspaceAdmin);
  url.searchParams.set('as', as);
  await page.goto(url.href);
  const frame = await (await page.waitForSelector('#lifeboat-app-frame')).contentFrame();
  assert.ok(frame, 'the app iframe has a frame');
  return frame;
}

const section = (frame: Frame, name: RegExp) => frame.getByRole('region', { name });

test('a workspace admin finishes the first-run set-up, and the settings are kept without showing secrets', async () => {
  const { bucket } = app.world.urls;
  let frame = await adminPage('admin');
  await frame.getByText('Set up Lifeboat').waitFor({ timeout: 20_000 });

  const storage = section(frame, /Storage/);
  await storage.getByRole('combobox', { name: 'Provider' }).click();
  await frame.getByRole('option', { name: /MinIO or another/ }).click();
  await storage.getByRole('textbox', { name: 'Endpoint' }).fill(bucket.endpoint);
  assert.equal(await storage.getByRole('textbox', { name: 'Region' }).inputValue(), 'us-east-1');
  assert.equal(await storage.getByRole('radio', { name: /Path style/ }).isChecked(), true);
  // A bad value is refused by the backend and shown by its field; nothing is saved.
  await storage.getByRole('textbox', { name: 'Bucket name' }).fill('A');
  await frame.getByRole('button', { name: 'Save settings' }).click();
  await frame.getByText('The settings were not saved').waitFor({ timeout: 20_000 });
  assert.match(await frame.getByTestId('bucket-name-error').innerText(), /must be 3 to 63 characters/);
  const unsaved = await app.adminPage('getSettings', undefined);
  assert.ok(unsaved.ok && unsaved.value.settings === undefined);
  await storage.getByRole('textbox', { name: 'Bucket name' }).fill(DEMO_BUCKET);
  await storage.getByRole('textbox', { name: 'Access key ID' }).fill(bucket.accessKeyId);
  await storage.getByLabel('Secret access key').fill(bucket.secretAccessKey);
  await storage.getByRole('button', { name: 'Save and test bucket' }).click();
  await storage.getByText('The test passed').waitFor({ timeout: 20_000 });
  assert.match(await storage.innerText(), /wrote, read and deleted a test object/);

  const bitbucket = section(frame, /Bitbucket access/);
  assert.match(await bitbucket.innerText(), /repository:write/);
  await bitbucket.getByLabel('Workspace access token', { exact: true }).fill(DEMO_WORKSPACE_TOKEN.token);
  await bitbucket.getByRole('button', { name: 'Save and test Bitbucket access' }).click();
  await bitbucket.getByText('The test passed').waitFor({ timeout: 20_000 });
  assert.match(await bitbucket.innerText(), /Git user name for this credential: x-token-auth/);
  // Area by area, as the test found it: webhooks covered by their scope; what Bitbucket lets no access token do, said so.
  const access = bitbucket.getByRole('table', { name: 'What an access token covers, and what Lifeboat does itself' });
  assert.match(await access.getByRole('row').filter({ hasText: 'Webhooks' }).innerText(), /webhook\s+covered[\s\S]*webhook\s+covered/);
  assert.match(await access.getByRole('row').filter({ hasText: 'Deploy keys' }).innerText(), /repository, repository:admin\s+covered[\s\S]*no access token may \(an API token can\)\s+not possible/);
  assert.match(await access.getByRole('row').filter({ hasText: 'Pull requests' }).innerText(), /Lifeboat itself\s+covered/);

  // Saved in the app, as the resolver reads them.
  const stored = await app.adminPage('getSettings', undefined);
  assert.ok(stored.ok);
  assert.equal(stored.value.settings?.bucket.name, DEMO_BUCKET);
  assert.deepEqual(stored.value.secrets, { bucketSecretAccessKey: true, bitbucketToken: true });

  // A reload shows the kept settings; secrets only as "set".
  frame = await adminPage('admin');
  const reloaded = section(frame, /Storage/);
  await reloaded.getByRole('textbox', { name: 'Bucket name' }).waitFor({ timeout: 20_000 });
  assert.equal(await reloaded.getByRole('textbox', { name: 'Bucket name' }).inputValue(), DEMO_BUCKET);
  assert.equal(await reloaded.getByLabel('Secret access key').inputValue(), '');
  assert.match(await reloaded.innerText(), /A secret access key is stored/);
  const html = await frame.content();
  // (s3rver's secret key equals its access key ID, which the page rightly shows, so the token stands for both.)
  assert.ok(!html.includes(DEMO_WORKSPACE_TOKEN.token), 'the token never reaches the page');
  assert.equal(await frame.getByLabel('Workspace access token', { exact: true }).inputValue(), '');
  assert.match(await section(frame, /Bitbucket access/).innerText(), /A Bitbucket token is stored/);
  assert.equal(await frame.getByText('Set up Lifeboat').count(), 0);
  // The app's signing key, made with the set-up: its fingerprint to keep outside Bitbucket, never its private half.
  assert.ok(stored.value.signingKey, 'the set-up made the signing key');
  assert.equal(await frame.getByTestId('signing-key-fingerprint').innerText(), stored.value.signingKey.fingerprint);
  assert.match(await frame.getByText(/Keep this fingerprint outside Bitbucket/).innerText(), /lifeboat … --trust <fingerprint>/);
  assert.ok(!html.includes('PRIVATE KEY'), 'no private key reaches the page');

  // The sandbox frames the page at the window's height: a tall window shows all of it.
  await mkdir(ARTIFACTS, { recursive: true });
  const contentHeight = (await frame.evaluate('document.documentElement.scrollHeight')) as number;
  await page.setViewportSize({ width: 1280, height: contentHeight + 100 });
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-light.png') });
  await page.setViewportSize({ width: 1280, height: 900 });

  // Coverage: every repository of the workspace.
  await frame.getByRole('tab', { name: 'Repositories', exact: true }).click();
  const table = frame.getByRole('table', { name: 'Repositories of this workspace' });
  await table.getByText('web-app', { exact: true }).waitFor({ timeout: 20_000 });
  assert.match(await table.innerText(), /api-server[\s\S]*docs[\s\S]*web-app/);

  // "Back up all now": the sweep's job is followed until it has queued every backup; the table then shows them.
  await frame.getByRole('button', { name: 'Back up all now' }).click();
  await frame.getByText('Every included repository is queued for backup').waitFor({ timeout: 60_000 });

  // One repository left out, by its switch: an override in the saved settings. Meanwhile (after the page
  // loaded them) another change of the settings was saved: the switch changes docs alone and keeps it.
  const meanwhile = await app.adminPage('setRepositoriesIncluded', { repositoryUuids: [app.repositoryUuid('api-server')], included: true });
  assert.ok(meanwhile.ok);
  const docs = table.getByRole('row').filter({ hasText: 'docs' });
  await docs.getByRole('checkbox', { name: 'Back up Docs' }).press('Space');
  await docs.getByText('not backed up').waitFor({ timeout: 20_000 });
  const overridden = await app.adminPage('getSettings', undefined);
  assert.ok(overridden.ok);
  assert.deepEqual(overridden.value.settings?.overrides, { [app.repositoryUuid('api-server')]: { enabled: true }, [app.repositoryUuid('docs')]: { enabled: false } });
  await docs.getByRole('checkbox', { name: 'Back up Docs' }).press('Space');
  await docs.getByText('not backed up').waitFor({ state: 'detached', timeout: 20_000 });
  // Once the backups the sweep queued (and the prunes after them) have run, a fresh look shows them.
  await app.world.host.idle();
  frame = await adminPage('admin');
  await frame.getByRole('tab', { name: 'Repositories', exact: true }).click();
  const fresh = frame.getByRole('table', { name: 'Repositories of this workspace' });
  await fresh.getByText('web-app', { exact: true }).waitFor({ timeout: 20_000 });
  assert.ok(await fresh.getByText('protected', { exact: true }).count() > 0, 'the repositories backed up by "Back up all now" show as protected');
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-coverage-light.png') });

  // The sweep listed the workspace: the backend searches it; a checkbox and "Exclude selected" leave docs out, "Include selected" takes it back.
  await frame.getByRole('textbox', { name: 'Search repositories' }).fill('DOC');
  await frame.getByTestId('coverage-counts').getByText('1 of 3 repositories match "DOC".', { exact: false }).waitFor({ timeout: 20_000 });
  const found = frame.getByRole('table', { name: 'Repositories of this workspace' });
  await found.getByRole('checkbox', { name: 'Select Docs' }).check();
  await frame.getByText('1 selected').waitFor();
  await frame.getByRole('button', { name: 'Exclude selected' }).click();
  await found.getByText('not backed up').waitFor({ timeout: 20_000 });
  const excluded = await app.adminPage('getSettings', undefined);
  assert.ok(excluded.ok);
  assert.deepEqual(excluded.value.settings?.overrides, { [app.repositoryUuid('api-server')]: { enabled: true }, [app.repositoryUuid('docs')]: { enabled: false } });
  await found.getByRole('checkbox', { name: 'Select Docs' }).check();
  await frame.getByRole('button', { name: 'Include selected' }).click();
  await found.getByText('not backed up').waitFor({ state: 'detached', timeout: 20_000 });
  await frame.getByRole('combobox', { name: 'Sort by' }).click();
  await frame.getByRole('option', { name: 'Size, largest first' }).click();
  await checkAccessibility(frame, 'the repositories tab, searched');
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-coverage-search.png') });
});

test('a mistyped token is not saved over the working one: the field says why, and "Save anyway" is the admin\'s choice', async () => {
  const frame = await adminPage('admin');
  const bitbucket = section(frame, /Bitbucket access/);
  await bitbucket.getByLabel('Workspace access token', { exact: true }).fill('ATCTT3-mistyped-token');
  await bitbucket.getByRole('button', { name: 'Save and test Bitbucket access' }).click();
  await frame.getByText('The settings were not saved').waitFor({ timeout: 60_000 });
  assert.match(await frame.getByTestId('bitbucket-token-error').innerText(), /failed its test: Bitbucket refused it \(401/);
  const kept = await app.adminPage('testBitbucket', undefined);
  assert.ok(kept.ok && kept.value.ok, 'the working token is kept');
  await frame.getByRole('button', { name: 'Save anyway' }).click();
  await frame.getByText('Settings saved').waitFor({ timeout: 60_000 });
  const replaced = await app.adminPage('testBitbucket', undefined);
  assert.ok(replaced.ok && !replaced.value.ok, 'saved by the explicit choice');
  await app.configure();
});

test('schedule and retention are saved; turning encryption off asks first; the audit log shows each change', async () => {
  const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
  const before = await app.adminPage('getSettings', undefined);
  assert.ok(before.ok && before.value.settings);
  const kept = { ...before.value.settings.retention };
  delete kept.keepWeekly; // the test clears that field
  let frame = await adminPage('admin');
  await frame.getByRole('tab', { name: 'Schedule and retention' }).click();
  await frame.getByRole('radio', { name: 'Every hour' }).check();
  await frame.getByRole('spinbutton', { name: 'Hourly' }).fill('24');
  await frame.getByRole('spinbutton', { name: 'Weekly' }).fill('');
  await frame.getByRole('button', { name: 'Save settings' }).click();
  await frame.getByText('Settings saved').waitFor({ timeout: 20_000 });
  let stored = await app.adminPage('getSettings', undefined);
  assert.ok(stored.ok);
  assert.equal(stored.value.settings?.schedule.interval, 'hour');
  // The fields left alone keep what was stored (an earlier test saved working settings over the first-run defaults).
  assert.deepEqual(stored.value.settings?.retention, { ...kept, keepHourly: 24 });

  await frame.getByRole('tab', { name: 'Set-up' }).click();
  await frame.getByRole('textbox', { name: 'age recipients' }).fill(recipient);
  await frame.getByRole('button', { name: 'Save settings' }).click();
  await frame.getByText('Settings saved').waitFor({ timeout: 20_000 });

  frame = await adminPage('admin');
  const recipients = frame.getByRole('textbox', { name: 'age recipients' });
  await recipients.waitFor({ timeout: 20_000 });
  assert.equal(await recipients.inputValue(), recipient);
  await recipients.fill('');
  await frame.getByRole('button', { name: 'Save settings' }).click();
  const dialog = frame.getByRole('dialog', { name: 'Turn encryption off?' });
  await dialog.waitFor({ timeout: 10_000 });
  stored = await app.adminPage('getSettings', undefined);
  assert.ok(stored.ok);
  assert.deepEqual(stored.value.settings?.encryption.recipients, [recipient], 'nothing is saved before the person confirms');
  await dialog.getByRole('button', { name: 'Turn encryption off' }).click();
  await frame.getByText('Settings saved').waitFor({ timeout: 20_000 });
  stored = await app.adminPage('getSettings', undefined);
  assert.ok(stored.ok);
  assert.deepEqual(stored.value.settings?.encryption.recipients, []);

  await frame.getByRole('tab', { name: 'Audit log' }).click();
  const log = frame.getByRole('table', { name: 'Audit log, newest first' });
  await log.getByText('encryption turned off').waitFor({ timeout: 20_000 });
  assert.match(await log.innerText(), /encryption turned on[\s\S]*settings created/);
});

test('an endpoint outside the declared providers is allowed by the admin through Bitbucket (customer-managed egress)', async () => {
  await app.configure({ retention: {} });
  const frame = await adminPage('admin');
  const storage = section(frame, /Storage/);
  // The local bucket is approved already (as an admin of this world would have).
  await storage.getByText(/Forge lets Lifeboat reach http:\/\/127\.0\.0\.1/).waitFor({ timeout: 20_000 });
  await storage.getByRole('textbox', { name: 'Endpoint' }).fill('https://minio.example.test');
  const warning = storage.getByRole('heading', { name: 'Lifeboat may not reach https://minio.example.test yet' });
  await warning.waitFor({ timeout: 20_000 });
  assert.match(await storage.innerText(), /not one of the storage providers Lifeboat declares to Forge \(AWS S3, Cloudflare R2, [^)]*IDrive e2\)[\s\S]*customer-managed egress, an early-access API/);
  await storage.getByRole('button', { name: 'Allow Lifeboat to reach https://minio.example.test' }).click();
  // Bitbucket's own dialog, outside the app's frame; declining changes nothing.
  const consent = page.getByRole('dialog', { name: 'Allow this app to send data to https://minio.example.test?' });
  await consent.getByRole('button', { name: 'Don’t allow' }).click();
  await storage.getByText('The request to allow more domains was declined.', { exact: false }).waitFor();
  assert.deepEqual(app.world.host.egressGroups.get(), []);
  await storage.getByRole('button', { name: 'Allow Lifeboat to reach https://minio.example.test' }).click();
  await consent.getByRole('button', { name: 'Allow', exact: true }).click();
  await storage.getByText('Forge lets Lifeboat reach https://minio.example.test.').waitFor({ timeout: 20_000 });
  await storage.getByText(/A workspace admin allowed it: .* depend on Forge's customer-managed egress, an early-access API/).waitFor();
  assert.deepEqual(app.world.host.egressGroups.get().map((group) => group.configured), [[{ domain: 'https://minio.example.test', type: ['FETCH_BACKEND_SIDE'] }]]);
  // Nothing was saved by it: the stored endpoint is still the local bucket.
  const stored = await app.adminPage('getSettings', undefined);
  assert.ok(stored.ok);
  assert.equal(stored.value.settings?.bucket.endpoint, `${app.world.urls.bucket.endpoint}/`);
});

test('an endpoint check that fails says so beside the endpoint, instead of showing nothing', async () => {
  await app.configure({ retention: {} });
  const frame = await adminPage('admin');
  const storage = section(frame, /Storage/);
  await storage.getByText(/Forge lets Lifeboat reach http:\/\/127\.0\.0\.1/).waitFor({ timeout: 20_000 });
  // Bitbucket is down: the check's permission read (the resolver asks it first) fails, so the check cannot answer.
  app.world.emulator.faults.failNext5xx = 1_000;
  try {
    await storage.getByRole('textbox', { name: 'Endpoint' }).fill('https://down.example.test');
    await storage.getByRole('heading', { name: 'Lifeboat could not check whether Forge lets it reach this endpoint' }).waitFor({ timeout: 30_000 });
  } finally {
    app.world.emulator.faults.failNext5xx = 0;
  }
});

test('an API token about to expire is warned about two weeks ahead, above every tab, with its date in the set-up', async () => {
  const inFiveDays = new Date(clock.now() + 5 * 86_400_000).toISOString().slice(0, 10);
  await app.configure({ bitbucket: { credential: 'api-token', email: DEMO_USERS.admin.email, expiresOn: inFiveDays } });
  try {
    const frame = await adminPage('admin');
    await frame.getByRole('heading', { name: `The Bitbucket API token expires in 5 days (${inFiveDays})` }).waitFor({ timeout: 20_000 });
    const bitbucket = section(frame, /Bitbucket access/);
    assert.equal(await bitbucket.getByLabel('Expiry date of the API token (optional)').inputValue(), inFiveDays);
    assert.match(await bitbucket.innerText(), /Give the API token these scopes: read:repository:bitbucket, read:webhook:bitbucket, admin:repository:bitbucket for backups/);
    await checkAccessibility(frame, 'the set-up with an API token about to expire');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'admin-page-expiry.png') });
  } finally {
    await app.configure();
  }
});

test('the retention preview shows which existing snapshots the unsaved policy keeps', async () => {
  await app.configure({ retention: {} });
  // Two snapshots of docs, a commit apart.
  const work = await mkdtemp(join(tmpdir(), 'lifeboat-ui-admin-'));
  try {
    for (const round of [1, 2]) {
      if (round === 2) {
        await gitAsync(undefined, ['clone', '--quiet', app.gitUrl('docs'), work]);
        await gitAsync(work, ['commit', '--quiet', '--allow-empty', '-m', 'second snapshot']);
        await gitAsync(work, ['push', '--quiet', 'origin', 'HEAD']);
        await app.world.emulator.eventsIdle();
      }
      const asked = await app.repoPage('backupNow', undefined, { as: 'admin', repositorySlug: 'docs' });
      assert.ok(asked.ok);
      await app.world.host.idle();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const listed = await app.repoPage('listSnapshots', {}, { as: 'admin', repositorySlug: 'docs' });
  assert.ok(listed.ok && listed.value.items.length >= 2, 'docs has two snapshots');
  const count = listed.value.items.length;

  const frame = await adminPage('admin');
  await frame.getByRole('tab', { name: 'Schedule and retention' }).click();
  const preview = section(frame, /^Preview/);
  const picker = preview.getByRole('combobox', { name: 'Repository to preview' });
  await picker.waitFor({ timeout: 20_000 });
  await picker.fill('docs');
  await frame.getByRole('option', { name: 'docs', exact: true }).click();
  const summary = preview.getByTestId('retention-preview-summary');
  // Nothing limits it yet: everything is kept.
  await summary.getByText(`keeps ${count} of the ${count} snapshots`, { exact: false }).waitFor({ timeout: 20_000 });
  await frame.getByRole('spinbutton', { name: 'Keep the last' }).fill('1');
  await summary.getByText(`keeps 1 of the ${count} snapshots; the next prune forgets the other ${count - 1}`, { exact: false }).waitFor({ timeout: 20_000 });
  const rows = preview.getByRole('table', { name: 'Retention preview' }).getByRole('row');
  assert.match(await rows.nth(1).innerText(), /kept[\s\S]*the newest/);
  assert.match(await rows.nth(2).innerText(), /forgotten/);
  await checkAccessibility(frame, 'the retention preview');
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-retention-preview.png'), fullPage: true });
  // Previewing saved nothing.
  const stored = await app.adminPage('getSettings', undefined);
  assert.ok(stored.ok);
  assert.deepEqual(stored.value.settings?.retention, {});
});

test('a deleted repository is restored into a new repository from the admin page, and git has every ref', async () => {
  await app.configure({ retention: {} });
  const asked = await app.repoPage('backupNow', undefined, { as: 'admin', repositorySlug: 'docs' });
  assert.ok(asked.ok);
  await app.world.emulator.eventsIdle();
  await app.world.host.idle();
  const refs = async (slug: string): Promise<string> => (await gitAsync(undefined, ['ls-remote', app.gitUrl(slug)])).split('\n').filter((line) => line.includes('refs/')).sort().join('\n');
  const before = await refs('docs');
  const deleted = await call(app.world.emulator, `/2.0/repositories/${DEMO_WORKSPACE.slug}/docs`, apiTokenAuth('admin'), { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  await app.world.emulator.eventsIdle();
  await app.world.host.idle();

  const frame = await adminPage('admin');
  await frame.getByRole('tab', { name: 'Deleted repositories' }).click();
  const table = frame.getByRole('table', { name: 'Deleted repositories still in the bucket' });
  await table.getByRole('button', { name: 'Restore Docs' }).click();
  const dialog = frame.getByRole('dialog', { name: 'Restore Docs into a new repository' });
  const slug = dialog.getByRole('textbox', { name: 'Name of the new repository (slug)' });
  assert.equal(await slug.inputValue(), 'docs-restored');
  await slug.fill('docs-again');
  await dialog.getByRole('button', { name: 'Restore', exact: true }).click();
  await dialog.getByText('The restore finished').waitFor({ timeout: 60_000 });
  assert.match(await dialog.getByRole('link', { name: 'Open docs-again in Bitbucket' }).getAttribute('href') ?? '', /\/lifeboat-demo\/docs-again$/);
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-deleted-restore.png') });
  assert.equal(await refs('docs-again'), before, 'every ref of the deleted repository, as it was');
  await dialog.getByRole('button', { name: 'Close' }).click();
});

test('looks right in dark mode too (screenshot), with no serious axe-core violation', async () => {
  const url = new URL(app.world.urls.pages.workspaceAdmin);
  url.searchParams.set('as', 'admin');
  url.searchParams.set('theme', 'dark');
  await page.goto(url.href);
  const frame = await (await page.waitForSelector('#lifeboat-app-frame')).contentFrame();
  assert.ok(frame);
  await section(frame, /Storage/).getByRole('textbox', { name: 'Bucket name' }).waitFor({ timeout: 20_000 });
  await frame.waitForFunction('document.documentElement.getAttribute(\'data-color-mode\') === \'dark\'');
  await frame.getByText(/Forge lets Lifeboat reach/).waitFor({ timeout: 20_000 });
  await checkAccessibility(frame, 'the set-up in dark mode');
  const contentHeight = (await frame.evaluate('document.documentElement.scrollHeight')) as number;
  await page.setViewportSize({ width: 1280, height: contentHeight + 100 });
  await page.screenshot({ path: join(ARTIFACTS, 'admin-page-dark.png') });
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('the page has no serious or critical axe-core violations', async () => {
  const frame = await adminPage('admin');
  await frame.getByRole('heading', { name: 'Lifeboat backups' }).waitFor({ timeout: 20_000 });
  await frame.getByRole('tab', { name: 'Set-up' }).waitFor();
  await checkAccessibility(frame, 'the set-up');
});

test('a plain member is told plainly that only workspace admins can use the page', async () => {
  const frame = await adminPage('member');
  await frame.getByText('Only workspace admins can use this page').waitFor({ timeout: 20_000 });
  assert.equal(await frame.getByRole('textbox').count(), 0);
});
