// The repository settings page in a real browser against the local world: Debian's
// chromium, the built page, the Forge host running the app, the Bitbucket emulator
// (real git) and s3rver. A person's steps, found by role and accessible name; the
// results checked with plain git.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { gitAsync } from '../sandbox/bitbucket/test-support.js';
import { DEMO_USERS } from '../sandbox/demo.js';
import { buildPages } from '../sandbox/ui/build.js';
import { DEMO_WORKSPACE } from '../sandbox/demo.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import type { JobView, Result } from '../src/contract.js';
import { backup } from '../src/engine/backup.js';
import { snapshotKey } from '../src/engine/bucket/bucket-keys.js';
import { readNewestManifest } from '../src/engine/bucket/catalog.js';
import { type SnapshotManifest, serializeDocument } from '../src/engine/bucket/format.js';
import { recordStorageSetting } from '../src/engine/bucket/marker.js';
import { collect } from '../src/engine/streams.js';
import { generateIdentity } from '../src/engine/bucket/crypto.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { createGitClient } from '../src/engine/git/client.js';
import { repoPath } from '../src/forge/bucket.js';
import { type AppWorld, startAppWorld } from './helpers/app-world.js';
import { TEST_SIGNER } from './helpers/signing.js';
import { UNCHECKED, shortFingerprint } from '../src/engine/bucket/signing.js';
import { checkAccessibility } from './helpers/axe.js';
import { documentedEvent, type Json } from './helpers/forge-events.js';
import { reviewedPullRequest, storedPullRequests } from './helpers/pull-requests.js';
import { ManualClock } from '../sandbox/forge/index.js';

const appDir = fileURLToPath(new URL('..', import.meta.url));
/** Screenshots of every run (git-ignored); the current ones are copied to docs/ by hand. */
const ARTIFACTS = join(appDir, 'test-artifacts');
const SLUG = 'web-app';

describe('the repository settings page in chromium', () => {
  let app: AppWorld;
  let browser: Browser;
  let page: Page;
  let scratch: string;

  const pageUrl = (as: string, theme?: 'light' | 'dark'): string => {
    const url = new URL(app.world.urls.pages.repositorySettings[SLUG]!);
    url.searchParams.set('as', as);
    if (theme) url.searchParams.set('theme', theme);
    return url.href;
  };

  async function open(as: string, theme?: 'light' | 'dark'): Promise<Frame> {
    await page.goto(pageUrl(as, theme));
    const frame = await (await page.waitForSelector('#lifeboat-app-frame')).contentFrame();
    assert.ok(frame);
    await frame.getByRole('heading', { level: 1 }).waitFor();
    return frame;
  }

  const remoteRefs = async (): Promise<Map<string, string>> => {
    const out = await gitAsync(undefined, ['ls-remote', app.gitUrl(SLUG)]);
    return new Map(out.trim().split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string])
      .filter(([, name]) => !name.endsWith('^{}')).map(([oid, name]) => [name, oid]));
  };

  /** No serious or critical axe-core violation on the page as it is now. */
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-ui-repo-'));
    await mkdir(ARTIFACTS, { recursive: true });
    await buildPages(appDir);
    // The slow fetches below (3 s each) stand for a long backup, not for a request past Forge's 180 s: the cap is 9 s here.
    app = await startAppWorld({ hostLimits: { outboundRequestSeconds: 9 }, clock: new ManualClock() });
    // Nothing chosen: web-app is backed up only once Bob turns it on; every snapshot kept.
    await app.configure({ retention: {}, repositories: { mode: 'chosen', chosen: [], includeNew: false } });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1100 } })).newPage();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('Bob turns backup on, backs up now and sees the snapshot; the progress survives a reload', async () => {
    let frame = await open('repoAdmin');
    assert.equal(await frame.getByTestId('protection').textContent(), 'Not protected');
    assert.equal(await frame.getByTestId('last-backup').textContent(), 'Never backed up');
    const toggle = frame.getByRole('checkbox', { name: 'Back up this repository' });
    assert.equal(await toggle.isChecked(), false);
    assert.equal(await frame.getByRole('button', { name: 'Back up now' }).isDisabled(), true);
    await frame.getByText('No snapshots yet').waitFor();
    await checkAccessibility(frame, 'empty page');

    await toggle.click({ force: true });
    await frame.getByText('(set for this repository)').waitFor();
    assert.equal(await toggle.isChecked(), true);

    // Slow fetches keep the backup running across the reload (and only fetches: the page stays quick).
    app.world.emulator.faults.fetchLatencyMs = 3_000;
    try {
      await frame.getByRole('button', { name: 'Back up now' }).click();
      await frame.getByRole('status').filter({ hasText: 'Backup:' }).waitFor();
      // After a reload the status names the job and the page follows it again.
      frame = await open('repoAdmin');
      await frame.getByRole('status').filter({ hasText: 'Backup:' }).waitFor();
    } finally {
      app.world.emulator.faults.fetchLatencyMs = 0;
    }
    await frame.getByText('Backup finished').waitFor({ timeout: 60_000 });
    await frame.getByTestId('next-sweep').getByText(/sweep/).waitFor();
    await frame.getByText('Protected', { exact: true }).waitFor();
    const rows = frame.getByTestId('snapshots--table').getByRole('row');
    await rows.nth(1).getByText('Manual').waitFor();
    assert.match(await frame.getByTestId('last-backup').textContent() ?? '', /ago|now|second/);

    // Details: every ref with its commit, as git has them.
    await frame.getByRole('button', { name: /^Details of the snapshot/ }).first().click();
    const dialog = frame.getByRole('dialog');
    const refTable = dialog.getByRole('table', { name: /refs? in \d+ bundles?$/ });
    await refTable.waitFor();
    const refs = await remoteRefs();
    const main = refs.get('refs/heads/main')!;
    await refTable.getByRole('row', { name: new RegExp(`^main ${main.slice(0, 12)}$`) }).waitFor();
    // Besides git: the demo repository's pull requests, collected by the same backup.
    await dialog.getByRole('table', { name: /Pull requests of this snapshot/ }).getByRole('row').nth(1).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('Bob undoes a force-push from the banner, and git has the old tip beside it', async () => {
    const work = await mkdtemp(join(scratch, 'work-'));
    await gitAsync(undefined, ['clone', '--quiet', '--branch', 'main', app.gitUrl(SLUG), work]);
    const oldTip = (await gitAsync(work, ['rev-parse', 'HEAD'])).trim();
    await gitAsync(work, ['reset', '--quiet', '--hard', 'HEAD~1']);
    await gitAsync(work, ['push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/main']);
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();

    const frame = await open('repoAdmin');
    // Who pushed, as the event names her: Alice's Atlassian account.
    await frame.getByText(new RegExp(`^main was force-pushed .* by Atlassian account ${DEMO_USERS.admin.accountId}$`)).waitFor();
    await frame.getByRole('button', { name: 'Restore the previous tip beside it' }).click();
    await frame.getByText('Undo finished').waitFor({ timeout: 60_000 }).catch(async (error: unknown) => {
      await page.screenshot({ path: join(ARTIFACTS, 'undo-failure.png'), fullPage: true });
      throw error;
    });
    const refs = await remoteRefs();
    const restored = [...refs].find(([name]) => name.startsWith('refs/heads/restored/') && name.endsWith('/main'));
    assert.ok(restored, [...refs.keys()].join('\n'));
    assert.equal(restored[1], oldTip);
    assert.notEqual(refs.get('refs/heads/main'), oldTip, 'main itself stays as pushed');
  });

  it('Bob puts a force-pushed branch back in place, after confirming in a dialog', async () => {
    const work = await mkdtemp(join(scratch, 'work-'));
    await gitAsync(undefined, ['clone', '--quiet', '--branch', 'develop', app.gitUrl(SLUG), work]);
    const oldTip = (await gitAsync(work, ['rev-parse', 'HEAD'])).trim();
    // The old tip must be in a snapshot: the page backs up first.
    let frame = await open('repoAdmin');
    await frame.getByRole('button', { name: 'Back up now' }).click();
    await frame.getByText('Backup finished').waitFor({ timeout: 60_000 });
    await gitAsync(work, ['reset', '--quiet', '--hard', 'HEAD~1']);
    await gitAsync(work, ['push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/develop']);
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();

    frame = await open('repoAdmin');
    await frame.getByText(/^develop was force-pushed/).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-banner.png'), fullPage: true });
    // Several snapshots by now: their stored size over time, drawn and as a table.
    const chart = frame.getByRole('figure', { name: /Stored size over time/ });
    await chart.getByRole('img', { name: /^Stored size of the \d+ snapshots shown/ }).waitFor();
    await chart.getByText('The sizes as a table').click();
    assert.ok(await chart.getByRole('row').count() >= 3, 'a row per snapshot, and the header');
    await frame.getByRole('button', { name: 'Put it back in place…' }).click();
    const confirm = frame.getByRole('dialog', { name: 'Put develop back in place?' });
    await confirm.getByText(/backs up the current state first/).waitFor();
    await confirm.getByRole('button', { name: 'Put it back in place' }).click();
    await frame.getByText('Undo finished').waitFor({ timeout: 60_000 });
    assert.equal((await remoteRefs()).get('refs/heads/develop'), oldTip);
  });

  it('Bob restores chosen branches beside current work, after a summary of what will happen', async () => {
    const before = await remoteRefs();
    const frame = await open('repoAdmin');
    await frame.getByRole('button', { name: /^Restore from the snapshot/ }).last().click();
    const dialog = frame.getByRole('dialog', { name: /Restore from the snapshot/ });
    await dialog.getByRole('radio', { name: 'Chosen branches and tags' }).check({ force: true });
    const picker = dialog.getByLabel('Branches and tags to restore');
    await picker.fill('develop');
    await picker.press('Enter');
    // Overwriting waits for the repository's name, typed.
    await dialog.getByRole('radio', { name: /^Over the chosen branches/ }).check({ force: true });
    await dialog.getByText('The current state of the repository is backed up first, so this restore can be undone.').waitFor();
    assert.equal(await dialog.getByRole('button', { name: 'Start restore' }).isDisabled(), true);
    await dialog.getByLabel(`Type ${SLUG} to confirm`).fill(SLUG);
    assert.equal(await dialog.getByRole('button', { name: 'Start restore' }).isDisabled(), false);
    assert.match(await dialog.getByTestId('restore-summary').textContent() ?? '', /first backs up the current state/);
    await dialog.getByRole('radio', { name: /^Beside the current work/ }).check({ force: true });
    assert.match(await dialog.getByTestId('restore-summary').textContent() ?? '', /pushes 1 ref of the snapshot .* under restored\/.*No existing branch or tag changes/);
    await checkAccessibility(frame, 'restore dialog');
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-restore.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Start restore' }).click();
    await dialog.getByText('Restore finished').waitFor({ timeout: 60_000 });
    const listed = await dialog.getByTestId('restored-refs').textContent();
    const refs = await remoteRefs();
    const restored = [...refs].filter(([name]) => name.startsWith('refs/heads/restored/') && name.endsWith('/develop'));
    assert.equal(restored.length, 1, [...refs.keys()].join('\n'));
    assert.equal(restored[0]![1], before.get('refs/heads/develop'));
    assert.match(listed ?? '', /develop/);
    for (const [name, oid] of before) if (!name.startsWith('refs/heads/restored/')) assert.equal(refs.get(name), oid, `${name} unchanged`);
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('Bob restores everything into a new repository, which git can clone with every ref', async () => {
    // The backups that the earlier tests' pushes queued have run: the newest snapshot is the current state.
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
    const frame = await open('repoAdmin');
    await frame.getByRole('button', { name: /^Restore from the snapshot/ }).first().click();
    const dialog = frame.getByRole('dialog', { name: /Restore from the snapshot/ });
    await dialog.getByRole('radio', { name: 'Into a new repository' }).check({ force: true });
    assert.equal(await dialog.getByRole('button', { name: 'Start restore' }).isDisabled(), true);
    await dialog.getByLabel('Name of the new repository').fill('web-app-copy');
    assert.match(await dialog.getByTestId('restore-summary').textContent() ?? '', /creates the repository web-app-copy/);
    await dialog.getByRole('button', { name: 'Start restore' }).click();
    await dialog.getByText('Restore finished').waitFor({ timeout: 60_000 });
    const source = await remoteRefs();
    const copy = new Map([...(await gitAsync(undefined, ['ls-remote', app.gitUrl('web-app-copy')])).trim().split('\n')].map((line) => line.split('\t') as [string, string]).map(([oid, name]) => [name, oid]));
    assert.equal(copy.get('refs/heads/main'), source.get('refs/heads/main'));
    assert.equal(copy.get('refs/heads/develop'), source.get('refs/heads/develop'));
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('Bob opens a pull request of a snapshot and reads its threaded and inline comments', async () => {
    // Until the app collects pull requests itself: a snapshot holding two, written the way a backup writes them.
    const { bucket } = app.world.urls;
    const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    const repo = repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(SLUG));
    const newest = await readNewestManifest(store, repo, app.trust());
    const written = await backup({ ...(await app.signer()),
      store, repo, git: createGitClient({ url: app.gitUrl(SLUG) }), trigger: 'manual', encryption: newest?.encryption ?? null, objectLock: null,
      metadata: [storedPullRequests([
        reviewedPullRequest(7),
        reviewedPullRequest(12, { title: 'Document the bucket format', state: 'OPEN', updatedOn: '2026-05-06T10:00:00.000000+00:00' }),
        // More than a page: #7, the oldest, is on the second.
        ...Array.from({ length: 19 }, (_, n) => reviewedPullRequest(100 + n, { title: `Tidy module ${n}`, state: 'DECLINED' })),
      ])],
    });
    assert.equal(written.status, 'created');
    const rebuild = (await app.adminPage('rebuildIndex', {})) as Result<JobView>;
    assert.ok(rebuild.ok, JSON.stringify(rebuild));
    await app.world.host.idle();

    const frame = await open('repoAdmin');
    await frame.getByRole('button', { name: /^Details of the snapshot/ }).first().click();
    const dialog = frame.getByRole('dialog');
    await dialog.getByText('Besides git').waitFor();
    const list = dialog.getByRole('table', { name: /Pull requests of this snapshot/ });
    await list.getByRole('row', { name: /open #12 Document the bucket format Alice Archer/ }).waitFor();
    await dialog.getByRole('heading', { name: 'Pull requests (21)' }).waitFor();
    assert.equal(await list.getByRole('row', { name: /#7 / }).count(), 0, 'twenty to a page, newest first');
    await checkAccessibility(frame, 'snapshot details with pull requests');
    await dialog.getByRole('button', { name: 'Show more pull requests' }).click();
    await list.getByRole('row', { name: /merged #7 Retry uploads with backoff Alice Archer/ }).waitFor();
    assert.equal(await dialog.getByRole('button', { name: 'Show more pull requests' }).count(), 0, 'no third page');

    await list.getByRole('button', { name: '#7 Retry uploads with backoff' }).click();
    await dialog.getByRole('heading', { name: '#7 Retry uploads with backoff' }).waitFor();
    const conversation = dialog.getByRole('list', { name: 'Conversation' });
    // Alice's answer is inside Bob's comment, in the list of its replies.
    const question = conversation.getByRole('article', { name: 'Comment by Bob Builder' }).filter({ hasText: 'Why 5 attempts and not 3?' });
    const answer = question.getByRole('list', { name: 'Replies to Bob Builder' }).getByRole('article', { name: 'Comment by Alice Archer' });
    await answer.getByText('Three was not enough on the CI runners.').waitFor();
    const inline = conversation.getByRole('article', { name: 'Comment by Carol Chen' }).first();
    assert.match(await inline.textContent() ?? '', /on src\/upload\.ts:42/);
    await conversation.getByText('This comment was deleted.').waitFor();
    await conversation.getByText(/Bob Builder approved/).waitFor();
    await checkAccessibility(frame, 'a pull request\'s conversation');
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-pull-request.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Back to the pull requests' }).click();
    await list.waitFor();
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('Alice learns that an encrypted snapshot\'s pull requests open with the command line and her key', async () => {
    const { bucket } = app.world.urls;
    const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    const { recipient } = await generateIdentity();
    const written = await backup({ ...TEST_SIGNER,
      store, repo: repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid('docs')), git: createGitClient({ url: app.gitUrl('docs') }), trigger: 'manual',
      encryption: { scheme: 'age', recipients: [recipient] }, objectLock: null, metadata: [storedPullRequests([reviewedPullRequest(3)])],
    });
    assert.ok(written.status === 'created');
    const rebuild = (await app.adminPage('rebuildIndex', {})) as Result<JobView>;
    assert.ok(rebuild.ok, JSON.stringify(rebuild));
    await app.world.host.idle();

    const url = new URL(app.world.urls.pages.repositorySettings.docs!);
    url.searchParams.set('as', 'admin');
    await page.goto(url.href);
    const frame = (await (await page.waitForSelector('#lifeboat-app-frame')).contentFrame())!;
    await frame.getByRole('button', { name: /^Details of the snapshot/ }).first().click();
    const dialog = frame.getByRole('dialog');
    await dialog.getByText('The pull requests are encrypted').waitFor();
    await dialog.getByText(`lifeboat pr ${written.snapshot.id} <id> --identity key.txt`).waitFor();
    const list = dialog.getByRole('table', { name: /Pull requests of this snapshot/ });
    await list.getByRole('row', { name: /merged #3/ }).waitFor();
    assert.equal(await list.getByRole('button').count(), 0, 'nothing to open: the app cannot decrypt it');
    await checkAccessibility(frame, 'encrypted pull requests');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('Bob sees which snapshots Lifeboat signed, by which key, and which are not signed', async () => {
    // Two snapshots of api-server: one as the app writes them (its key), then a newer one by a key the app does not know.
    const { bucket } = app.world.urls;
    const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    const slug = 'api-server';
    const repo = repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(slug));
    // As the app's first backup does, when this test runs alone.
    await recordStorageSetting(store, { encryption: null, objectLock: null });
    const signer = await app.signer();
    const signed = await backup({ store, repo, git: createGitClient({ url: app.gitUrl(slug) }), trigger: 'manual', encryption: null, objectLock: null, ...signer });
    assert.notEqual(signed.status, 'partial');
    execFileSync('git', ['-C', app.world.emulator.gitDir(DEMO_WORKSPACE.slug, slug), 'update-ref', 'refs/heads/unsigned-later', 'HEAD']);
    const unsigned = await backup({ store, repo, git: createGitClient({ url: app.gitUrl(slug) }), trigger: 'manual', encryption: null, objectLock: null, ...TEST_SIGNER });
    assert.equal(unsigned.status, 'created');
    const rebuild = (await app.adminPage('rebuildIndex', {})) as Result<JobView>;
    assert.ok(rebuild.ok, JSON.stringify(rebuild));
    await app.world.host.idle();

    const url = new URL(app.world.urls.pages.repositorySettings[slug]!);
    url.searchParams.set('as', 'admin');
    await page.goto(url.href);
    const frame = (await (await page.waitForSelector('#lifeboat-app-frame')).contentFrame())!;
    const rows = frame.getByTestId('snapshots--table').getByRole('row');
    // Newest first: the one by a stranger's key, then the app's with its key's short fingerprint.
    await rows.nth(1).getByText('not signed', { exact: true }).waitFor();
    const short = shortFingerprint(signer.signingKey.fingerprint);
    await rows.nth(2).getByText(short, { exact: true }).waitFor();
    assert.match(await rows.nth(2).innerText(), /\bsigned\b/);
    assert.doesNotMatch(await rows.nth(2).innerText(), /not signed/);
    assert.equal(await rows.nth(1).getByText(short).count(), 0);
    await checkAccessibility(frame, 'signatures in the snapshot list');
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-signatures.png'), fullPage: true });
    // The restore dialog warns before restoring the one Lifeboat did not sign, and not before the other.
    const dialog = frame.getByRole('dialog');
    await rows.nth(1).getByRole('button', { name: /^Restore from/ }).click();
    await dialog.getByText('This snapshot is not signed by Lifeboat').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rows.nth(2).getByRole('button', { name: /^Restore from/ }).click();
    await dialog.getByText('What', { exact: true }).waitFor();
    assert.equal(await dialog.getByText('This snapshot is not signed by Lifeboat').count(), 0);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });

    // The signed one changed in the bucket afterwards: a problem on the page, no longer a snapshot in the list.
    assert.ok(signed.status !== 'partial');
    const key = snapshotKey(repo, signed.snapshot.id);
    const changed = JSON.parse((await collect(await store.get(key))).toString('utf8')) as SnapshotManifest;
    await store.put(key, serializeDocument({ ...changed, trigger: 'schedule' }), { contentType: 'application/json' });
    const again = (await app.adminPage('rebuildIndex', {})) as Result<JobView>;
    assert.ok(again.ok, JSON.stringify(again));
    await app.world.host.idle();
    await page.goto(url.href);
    const reloaded = (await (await page.waitForSelector('#lifeboat-app-frame')).contentFrame())!;
    await reloaded.getByText(/1 snapshot could not be read or cannot be trusted/).waitFor();
    await reloaded.getByText(new RegExp(`${signed.snapshot.id}.*does not match its signature`)).waitFor();
    assert.equal(await reloaded.getByTestId('snapshots--table').getByRole('row').count(), 2, 'the header and the one left');
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-signature-broken.png'), fullPage: true });
  });

  it('Bob restores an encrypted snapshot with his age identity; git has the branch beside, and the identity is gone', async () => {
    const key = await generateIdentity();
    // The workspace encrypts from now on; Bob's own choice to back up web-app stays.
    await app.configure({ retention: {}, repositories: { mode: 'chosen', chosen: [], includeNew: false }, overrides: { [app.repositoryUuid(SLUG)]: { enabled: true } }, encryption: { recipients: [key.recipient] } });
    let frame = await open('repoAdmin');
    await frame.getByRole('button', { name: 'Back up now' }).click();
    await frame.getByText('Backup finished').waitFor({ timeout: 60_000 });
    frame = await open('repoAdmin');
    const main = (await remoteRefs()).get('refs/heads/main')!;
    await frame.getByRole('button', { name: /^Restore from the snapshot/ }).first().click();
    const dialog = frame.getByRole('dialog', { name: /Restore from the snapshot/ });
    await dialog.getByRole('heading', { name: 'This snapshot is encrypted' }).waitFor();
    await dialog.getByText(/used for this restore only: kept as a Forge secret under this job and deleted when the job ends/).waitFor();
    await dialog.getByRole('radio', { name: 'Chosen branches and tags' }).check({ force: true });
    const picker = dialog.getByLabel('Branches and tags to restore');
    await picker.fill('main');
    await picker.press('Enter');
    const command = await dialog.getByTestId('restore-cli-command').textContent() ?? '';
    assert.match(command, /^lifeboat restore \S+ --repo lifeboat-demo\/web-app --identity ~\/lifeboat-key.txt --push http\S+web-app\.git --beside --ref refs\/heads\/main$/);
    const start = dialog.getByRole('button', { name: 'Start restore' });
    assert.equal(await start.isDisabled(), true, 'not without the identity');
    await dialog.getByLabel('Age identity (AGE-SECRET-KEY-1…)').fill(key.identity);
    await checkAccessibility(frame, 'encrypted restore dialog');
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-encrypted-restore.png'), fullPage: true });
    await start.click();
    await dialog.getByText('Restore finished').waitFor({ timeout: 60_000 });
    const restored = [...(await remoteRefs())].filter(([name]) => name.startsWith('refs/heads/restored/') && name.endsWith('/main'));
    const newest = restored.find(([, oid]) => oid === main);
    assert.ok(newest, restored.map(([name]) => name).join('\n'));
    // The result links the restored branch in Bitbucket.
    const link = dialog.getByTestId('restored-refs').getByRole('link', { name: newest[0].slice('refs/heads/'.length) });
    assert.match(await link.getAttribute('href') ?? '', new RegExp(`/web-app/branch/${newest[0].slice('refs/heads/'.length).replace(/[.]/g, '\\.')}$`));
    await app.world.host.idle();
    assert.deepEqual(app.world.host.secretKeys().filter((name) => name.endsWith(':identity')), [], 'the identity is deleted with the job');
    assert.ok(!JSON.stringify(app.world.host.kvsDump()).includes(key.identity.slice(16, 40)), 'and was never stored elsewhere');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('looks right in light and dark mode (screenshots) with no serious accessibility violation', async () => {
    for (const theme of ['light', 'dark'] as const) {
      const frame = await open('repoAdmin', theme);
      await frame.getByText('Protected', { exact: true }).waitFor();
      await frame.waitForFunction(`document.documentElement.getAttribute('data-color-mode') === '${theme}'`);
      await checkAccessibility(frame, `${theme} page`);
      await page.screenshot({ path: join(ARTIFACTS, `repo-page-${theme}.png`), fullPage: true });
    }
  });

  it('Carol, a member, gets a read-only page that says why', async () => {
    const frame = await open('member');
    await frame.getByText('Only repository admins can see and change backups').waitFor();
    assert.equal(await frame.getByRole('button', { name: 'Back up now' }).count(), 0);
    assert.equal(await frame.getByRole('checkbox').count(), 0);
    await checkAccessibility(frame, 'read-only page');
  });

  it('a documented force-push event, posted, and a branch deleted with git each show their banner', async () => {
    const { bucket } = app.world.urls;
    const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    const newest = await readNewestManifest(store, repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(SLUG)), UNCHECKED);
    const held = newest?.refs.find((ref) => ref.name === 'refs/heads/feature/dark-mode');
    assert.ok(held, 'the newest snapshot holds feature/dark-mode');
    // Atlassian's example of a branch push, about this world's web-app, forced away from the tip the snapshot holds.
    const documented = await documentedEvent('push-branch.json');
    const event = {
      ...documented,
      workspace: { uuid: DEMO_WORKSPACE.uuid },
      repository: { ...(documented.repository as Json), uuid: app.repositoryUuid(SLUG) },
      push: { ...(documented.push as Json), ref: 'feature/dark-mode', mainbranch: false, before: held.oid, created: false, forced: true },
    };
    const posted = await fetch(`${app.world.ui.url}/__sandbox/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    assert.equal(posted.status, 202, await posted.text());
    const work = await mkdtemp(join(scratch, 'work-'));
    await gitAsync(undefined, ['init', '--quiet', work]);
    await gitAsync(work, ['push', '--quiet', app.gitUrl(SLUG), ':refs/heads/feature/login-sso']);
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();

    const frame = await open('repoAdmin');
    const pusher = (documented.actor as { accountId: string }).accountId;
    await frame.getByRole('heading', { name: new RegExp(`^feature/dark-mode was force-pushed .* by Atlassian account ${pusher}$`) }).waitFor();
    await frame.getByRole('heading', { name: new RegExp(`^feature/login-sso was deleted .* by Atlassian account ${DEMO_USERS.admin.accountId}$`) }).waitFor();
    await checkAccessibility(frame, 'force-push and deletion banners');
  });

  it('Bob restores a branch holding a file over 100 MB once he confirms that the file size limit is off', async () => {
    const work = await mkdtemp(join(scratch, 'large-'));
    await gitAsync(undefined, ['clone', '--quiet', app.gitUrl(SLUG), work]);
    // One byte over Bitbucket's 100 MB, of zeros: about 100 KB once compressed.
    await writeFile(join(work, 'video.bin'), Buffer.alloc(100 * 1000 * 1000 + 1));
    await gitAsync(work, ['add', 'video.bin']);
    await gitAsync(work, ['-c', 'user.name=Bob', '-c', 'user.email=bob@lifeboat.invalid', 'commit', '--quiet', '-m', 'a large file']);
    await gitAsync(work, ['push', '--quiet', 'origin', 'HEAD:refs/heads/media']);
    const tip = (await gitAsync(work, ['rev-parse', 'HEAD'])).trim();
    // Encrypted to a key of this test's own (an earlier test encrypts too), with Bob's choice to back up web-app; then a snapshot holding media.
    const key = await generateIdentity();
    await app.configure({ retention: {}, repositories: { mode: 'chosen', chosen: [], includeNew: false }, overrides: { [app.repositoryUuid(SLUG)]: { enabled: true } }, encryption: { recipients: [key.recipient] } });
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
    let frame = await open('repoAdmin');
    await frame.getByRole('button', { name: 'Back up now' }).click();
    await frame.getByText('Backup finished').waitFor({ timeout: 60_000 });

    frame = await open('repoAdmin');
    await frame.getByRole('button', { name: /^Restore from the snapshot/ }).first().click();
    const dialog = frame.getByRole('dialog', { name: /Restore from the snapshot/ });
    await dialog.getByRole('radio', { name: 'Chosen branches and tags' }).check({ force: true });
    const picker = dialog.getByLabel('Branches and tags to restore');
    await picker.fill('media');
    await picker.press('Enter');
    const identity = dialog.getByLabel('Age identity (AGE-SECRET-KEY-1…)');
    await identity.fill(key.identity);
    await dialog.getByRole('button', { name: 'Start restore' }).click();
    // The job stops at its plan (read with the identity given for the job), before it writes anything.
    await dialog.getByText(/holds 1 file over 100000000 bytes/).waitFor({ timeout: 60_000 });
    await dialog.getByRole('button', { name: 'Back to the restore' }).click();
    assert.equal([...(await remoteRefs()).keys()].filter((name) => name.endsWith('/media') && name.includes('restored/')).length, 0, 'nothing written');
    const start = dialog.getByRole('button', { name: 'Start restore' });
    await identity.fill(key.identity);
    assert.equal(await start.isDisabled(), true, 'not without the confirmation');
    await dialog.getByLabel('The file size limit of the target repository is off').check();
    assert.equal(await start.isDisabled(), false);
    await checkAccessibility(frame, 'restore dialog asking about large files');
    await start.click();
    await dialog.getByText('Restore finished').waitFor({ timeout: 60_000 });
    assert.match(await dialog.getByTestId('restore-plan').textContent() ?? '', /It held 1 file over 100 MB\./);
    const restored = [...(await remoteRefs())].filter(([name]) => name.startsWith('refs/heads/restored/') && name.endsWith('/media'));
    assert.deepEqual(restored.map(([, oid]) => oid), [tip]);
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('a banner whose snapshot is gone from the bucket says so and offers no undo', async () => {
    // web-app backed up by its pushes, in the clear, whatever ran before (an earlier test may have turned encryption on).
    await app.configure({ retention: {}, repositories: { mode: 'chosen', chosen: [], includeNew: false }, overrides: { [app.repositoryUuid(SLUG)]: { enabled: true } } }, { confirmDowngrade: true });
    const work = await mkdtemp(join(scratch, 'gone-'));
    await gitAsync(undefined, ['clone', '--quiet', app.gitUrl(SLUG), work]);
    const git = (...args: string[]) => gitAsync(work, ['-c', 'user.name=Bob', '-c', 'user.email=bob@lifeboat.invalid', ...args]);
    const settle = async () => {
      await app.world.emulator.eventsIdle();
      await app.world.host.idle();
    };
    await git('checkout', '--quiet', '-b', 'gone-topic');
    await git('commit', '--quiet', '--allow-empty', '-m', 'work that will be rewritten');
    await git('push', '--quiet', 'origin', 'gone-topic');
    await settle();
    const lostTip = (await git('rev-parse', 'HEAD')).trim();
    await git('commit', '--quiet', '--amend', '--allow-empty', '-m', 'rewritten');
    await git('push', '--quiet', '--force', 'origin', 'gone-topic');
    await settle();
    const listed = await app.repoPage('listDestructiveEvents', {}, { as: 'repoAdmin', repositorySlug: SLUG });
    assert.ok(listed.ok, JSON.stringify(listed));
    const event = listed.value.items.find((candidate) => candidate.kind === 'force-push' && candidate.previousTip === lostTip);
    assert.ok(event?.snapshotId, 'the force-push is recorded with the snapshot holding the lost tip');

    // Someone with bucket access deletes that snapshot; the index, rebuilt from the bucket, no longer has it.
    const { bucket } = app.world.urls;
    const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    await store.remove(snapshotKey(repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(SLUG)), event.snapshotId));
    const reindex = await app.adminPage('rebuildIndex', undefined);
    assert.ok(reindex.ok, JSON.stringify(reindex));
    await settle();
    const indexed = await app.adminPage('getJob', { jobId: reindex.value.id });
    assert.equal(indexed.ok && indexed.value.state, 'done', JSON.stringify(indexed));

    const frame = await open('repoAdmin');
    const banner = frame.locator('section').filter({ has: frame.getByRole('heading', { name: /^gone-topic was force-pushed/ }) });
    await banner.getByText('The snapshot that held it is no longer in the bucket, so Lifeboat cannot put it back.').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'repo-page-snapshot-gone.png'), fullPage: true });
    assert.equal(await banner.getByRole('button').count(), 0, 'neither undo is offered');
  });
});
