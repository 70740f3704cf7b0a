// The pages' resolvers in the local world: settings, permissions, payload
// validation, connection tests, coverage and the audit log — and that no answer
// ever carries a secret.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scopesFor } from '../src/bitbucket/credentials.js';
import type { AdminPageResolvers, BitbucketCheck, RepoPageResolvers, Result } from '../src/contract.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { parseSettings } from '../src/settings.js';
import { kvsKeys } from '../src/app/state/state-keys.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_USERS, DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN } from '../sandbox/demo.js';
import { startAppWorld, workingSettings, type AppWorld } from './helpers/app-world.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { currentInvocation } from '../sandbox/forge/runtime.js';
import { auditNoteWords } from '../static/workspace-admin/src/audit-words.js';
import { bitbucketCheckWords, bucketCheckWords } from '../static/workspace-admin/src/check-words.js';

type Failure = Extract<Result<unknown>, { ok: false }>;

function expectFailure(result: unknown, code: string, what: string): Failure['error'] {
  const answer = result as Result<unknown>;
  assert.equal(answer.ok, false, `${what} should have been refused, got ${JSON.stringify(answer)}`);
  assert.equal((answer as Failure).error.code, code, `${what}: ${JSON.stringify(answer)}`);
  return (answer as Failure).error;
}

function expectValue<T>(result: Result<T>, what: string): T {
  assert.ok(result.ok, `${what} failed: ${JSON.stringify(result)}`);
  return result.value;
}

describe('the pages\' resolvers', () => {
  let app: AppWorld;
  // Every answer of the run, scanned for secrets at the end.
  const answers: unknown[] = [];
  const secrets: string[] = [];
  const admin = async <K extends keyof AdminPageResolvers>(key: K, payload: unknown, as: 'admin' | 'repoAdmin' | 'member' = 'admin'): Promise<ReturnType<AdminPageResolvers[K]>> => {
    const result = await app.adminPage(key, payload as never, { as });
    answers.push(result);
    return result as ReturnType<AdminPageResolvers[K]>;
  };
  const repo = async <K extends keyof RepoPageResolvers>(key: K, payload: unknown, repositorySlug: string, as: 'admin' | 'repoAdmin' | 'member' = 'admin'): Promise<ReturnType<RepoPageResolvers[K]>> => {
    const result = await app.repoPage(key, payload as never, { as, repositorySlug });
    answers.push(result);
    return result as ReturnType<RepoPageResolvers[K]>;
  };
  const dump = (): string => JSON.stringify(app.world.host.kvsDump());
  // s3rver's secret is "S3RVER", the same as its public access key id (which the
  // settings show), and it checks no signature: a distinctive secret stands in for
  // the bucket's, so that the scan at the end means something.
  const bucketSecret = 'lifeboat-test-bucket-secret-5d1c';
  const configure = async (change: Partial<ReturnType<typeof workingSettings>> = {}): Promise<void> => {
    await app.configure(change);
    expectValue(await admin('saveSettings', { settings: { ...workingSettings(app.world), ...change }, bucketSecretAccessKey: bucketSecret }), 'saveSettings');
  };

  /** The host's delays move it on; the app reads the time from it. */
  const clock = new ManualClock();

  before(async () => {
    app = await startAppWorld({ clock });
    secrets.push(bucketSecret, DEMO_WORKSPACE_TOKEN.token, DEMO_USERS.admin.apiToken);
  });
  after(async () => {
    await app?.close();
  });

  it('starts unconfigured, then saves and reads back the settings with presence flags only', async () => {
    const empty = expectValue(await admin('getSettings', undefined), 'getSettings');
    assert.equal(empty.settings, undefined);
    assert.deepEqual(empty.secrets, { bucketSecretAccessKey: false, bitbucketToken: false });

    await configure();
    const saved = expectValue(await admin('getSettings', {}), 'getSettings');
    assert.deepEqual(saved.settings, parseSettings(workingSettings(app.world)));
    assert.deepEqual(saved.secrets, { bucketSecretAccessKey: true, bitbucketToken: true });

    // Saving again without secrets keeps them.
    const kept = expectValue(await admin('saveSettings', { settings: { ...workingSettings(app.world), schedule: { interval: 'hour' } } }), 'saveSettings');
    assert.equal(kept.settings?.schedule.interval, 'hour');
    assert.deepEqual(kept.secrets, { bucketSecretAccessKey: true, bitbucketToken: true });
  });

  it('refuses invalid settings with field-named messages and writes nothing', async () => {
    const before = dump();
    const settingsBefore = await admin('getSettings', {});
    const bad = { ...workingSettings(app.world), bucket: { ...workingSettings(app.world).bucket, name: 'Not_A_Bucket', endpoint: 'ftp://example.com/' }, objectLock: { enabled: true, mode: 'GOVERNANCE', days: 0 } };
    const error = expectFailure(await admin('saveSettings', { settings: bad, bitbucketToken: 'would-be-new-token' }), 'INVALID_ARGUMENT', 'bad settings');
    assert.match(error.message, /bucket\.name/);
    assert.match(error.message, /bucket\.endpoint/);
    assert.match(error.message, /objectLock\.days/);
    // The same, structured for the page: each field's path and the kind of problem, beside the rule in words.
    const kinds = (error.problems ?? []).map((problem) => `${problem.path.join('.')} ${problem.kind}`).sort();
    assert.deepEqual(kinds, ['bucket.endpoint invalid', 'bucket.name invalid', 'objectLock.days too-small']);
    assert.match(error.problems?.find((problem) => problem.path.join('.') === 'bucket.name')?.message ?? '', /may hold only lower-case letters/);
    assert.equal(dump(), before);
    assert.deepEqual(await admin('getSettings', {}), settingsBefore);
    // The token was not replaced either: the stored one still works.
    assert.equal(expectValue(await admin('testBitbucket', {}), 'testBitbucket').ok, true);
  });

  it('refuses malformed payloads with INVALID_ARGUMENT and writes nothing', async () => {
    const huge = 'x'.repeat(20_000);
    const settings = workingSettings(app.world);
    const adminCases: Array<[keyof AdminPageResolvers, unknown]> = [
      ['saveSettings', { settings, bitbucketToken: 42 }],
      ['saveSettings', { settings, bitbucketToken: huge }],
      ['saveSettings', { settings, bucketSecretAccessKey: '' }],
      ['saveSettings', { settings, accountId: DEMO_USERS.member.accountId }],
      ['saveSettings', { settings: { ...settings, extra: true } }],
      ['saveSettings', { settings: { ...settings, bucket: { ...settings.bucket, prefix: huge } } }],
      ['saveSettings', { settings: { ...settings, bucket: { ...settings.bucket, prefix: '../../x' } } }],
      ['saveSettings', { settings: { ...settings, bucket: { ...settings.bucket, sessionToken: 'dropped silently before' } } }],
      ['saveSettings', { settings: { ...settings, retention: JSON.parse('{"__proto__":1}') as unknown } }],
      ['saveSettings', { settings, bitbucketToken: ' \n' }],
      ['saveSettings', 'settings'],
      ['getSettings', { workspaceId: DEMO_WORKSPACE.uuid }],
      ['getAuditLog', { cursor: 7 }],
      ['getAuditLog', { cursor: huge }],
      ['getAuditLog', { cursor: 'not-a-cursor-this-list-gave' }],
      ['getCoverage', { cursor: '/2.0/user' }],
      ['getCoverage', { cursor: 'http://[' }],
      ['getJob', { jobId: huge }],
      ['getJob', {}],
      ['testBucket', { endpoint: 'https://elsewhere.example.com/' }],
      ['sweepNow', { workspaceUuid: DEMO_WORKSPACE.uuid }],
      ['restoreDeletedRepository', { repositoryUuid: 'not-a-uuid', newRepositorySlug: 'restored' }],
      ['restoreDeletedRepository', { repositoryUuid: '{c3d4e5f6-a7b8-4c91-8a23-3d4e5f6a7b82}', newRepositorySlug: '../evil' }],
      ['restoreDeletedRepository', { repositoryUuid: '{c3d4e5f6-a7b8-4c91-8a23-3d4e5f6a7b82}', newRepositorySlug: 'ok', snapshotId: 'latest' }],
    ];
    const repoCases: Array<[keyof RepoPageResolvers, unknown]> = [
      ['setRepoEnabled', { enabled: 'yes' }],
      ['setRepoEnabled', { enabled: true, repositoryUuid: '{b2e3d4c5-b6a7-4980-9f12-2c3d4e5f6a71}' }],
      ['setRepoEnabled', {}],
      ['listSnapshots', { cursor: ['a'] }],
      ['getSnapshot', { snapshotId: '../../lifeboat.json' }],
      ['listPullRequests', { snapshotId: '../../lifeboat.json' }],
      ['listPullRequests', { snapshotId: '20261126T061500Z-3fa9c1', cursor: '-1' }],
      ['getPullRequest', { snapshotId: '20261126T061500Z-3fa9c1', pullRequestId: '7' }],
      ['getPullRequest', { snapshotId: '20261126T061500Z-3fa9c1', pullRequestId: 0 }],
      ['backupNow', { reason: 'manual' }],
      ['startRestore', { snapshotId: '20261126T061500Z-3fa9c1', mode: 'everywhere' }],
      ['startRestore', { snapshotId: '20261126T061500Z-3fa9c1', mode: 'beside', refs: ['refs/heads/main; rm -rf /'] }],
      ['startRestore', { snapshotId: '20261126T061500Z-3fa9c1', mode: 'beside', refs: ['main'] }],
      ['startRestore', { snapshotId: '20261126T061500Z-3fa9c1', mode: 'overwrite' }],
      ['startRestore', { snapshotId: '20261126T061500Z-3fa9c1', mode: 'new-repository' }],
      ['startRestore', { snapshotId: huge, mode: 'beside' }],
      ['getJob', { jobId: 5 }],
      ['listDestructiveEvents', { cursor: 1, extra: 2 }],
      ['listDestructiveEvents', { cursor: 'garbage' }],
      ['undoDestructiveEvent', { eventId: 5 }],
      ['undoDestructiveEvent', { eventId: 'e', inPlace: true }],
    ];
    const before = dump();
    for (const [key, payload] of adminCases) {
      const error = expectFailure(await admin(key, payload), 'INVALID_ARGUMENT', `admin ${key} ${JSON.stringify(payload).slice(0, 120)}`);
      assert.ok(error.message.length < 2_000, 'messages stay short, even for huge input');
    }
    for (const [key, payload] of repoCases) {
      expectFailure(await repo(key, payload, 'web-app'), 'INVALID_ARGUMENT', `repo ${key} ${JSON.stringify(payload).slice(0, 120)}`);
    }
    assert.equal(dump(), before);
    const unknownField = expectFailure(await repo('setRepoEnabled', { enabled: true, repositoryUuid: 'x' }, 'web-app'), 'INVALID_ARGUMENT', 'unknown field');
    assert.match(unknownField.message, /unknown field repositoryUuid/);
    assert.deepEqual(unknownField.problems, [{ path: ['repositoryUuid'], kind: 'unknown-field', message: 'is not a field of this request' }]);
    const missingConfirmation = expectFailure(await repo('startRestore', { snapshotId: '20261126T061500Z-3fa9c1', mode: 'overwrite' }, 'web-app'), 'INVALID_ARGUMENT', 'overwrite');
    assert.match(missingConfirmation.message, /confirmOverwrite/);
    assert.deepEqual(missingConfirmation.problems?.map((problem) => [problem.path.join('.'), problem.kind]), [['confirmOverwrite', 'needs-confirmation']]);
    const missing = expectFailure(await repo('getSnapshot', {}, 'web-app'), 'INVALID_ARGUMENT', 'no snapshot id');
    assert.deepEqual(missing.problems?.map((problem) => [problem.path.join('.'), problem.kind]), [['snapshotId', 'required']]);
    // Each refusal names its field.
    const dotted = expectFailure(await admin('saveSettings', { settings: { ...settings, bucket: { ...settings.bucket, prefix: '../../x' } } }), 'INVALID_ARGUMENT', 'prefix');
    assert.match(dotted.message, /bucket\.prefix "\.\.\/\.\.\/x" has a "\." or "\.\." segment/);
    const nested = expectFailure(await admin('saveSettings', { settings: { ...settings, bucket: { ...settings.bucket, sessionToken: 'x' } } }), 'INVALID_ARGUMENT', 'nested field');
    assert.match(nested.message, /bucket Unrecognized key: "sessionToken"/);
    const proto = expectFailure(await admin('saveSettings', { settings: { ...settings, retention: JSON.parse('{"__proto__":1}') as unknown } }), 'INVALID_ARGUMENT', '__proto__');
    assert.match(proto.message, /retention Unknown retention rule "__proto__"/);
    const cursorAnswer = expectFailure(await repo('listDestructiveEvents', { cursor: 'garbage' }, 'web-app'), 'INVALID_ARGUMENT', 'garbage cursor');
    assert.match(cursorAnswer.message, /cursor is not one this list gave/);
  });

  it('refuses a plain member everything but the overview, and Bob outside web-app', async () => {
    const before = dump();
    const repoCalls: Array<[keyof RepoPageResolvers, unknown]> = [
      ['getRepoStatus', {}],
      ['setRepoEnabled', { enabled: false }],
      ['listSnapshots', {}],
      ['getSnapshot', { snapshotId: '20261126T061500Z-3fa9c1' }],
      ['listPullRequests', { snapshotId: '20261126T061500Z-3fa9c1' }],
      ['getPullRequest', { snapshotId: '20261126T061500Z-3fa9c1', pullRequestId: 1 }],
      ['backupNow', {}],
      ['startRestore', { snapshotId: '20261126T061500Z-3fa9c1', mode: 'beside' }],
      ['getJob', { jobId: '00000000-0000-4000-8000-000000000000' }],
      ['listDestructiveEvents', {}],
      ['undoDestructiveEvent', { eventId: 'e1', inPlace: true, confirmOverwrite: true }],
    ];
    const adminCalls: Array<[keyof AdminPageResolvers, unknown]> = [
      ['getSettings', {}],
      ['saveSettings', { settings: workingSettings(app.world), bitbucketToken: 'stolen' }],
      ['testBucket', {}],
      ['testBitbucket', {}],
      ['getCoverage', {}],
      ['sweepNow', {}],
      ['getAuditLog', {}],
      ['listDeletedRepositories', {}],
      ['restoreDeletedRepository', { repositoryUuid: '{c3d4e5f6-a7b8-4c91-8a23-3d4e5f6a7b82}', newRepositorySlug: 'mine-now' }],
      ['getJob', { jobId: '00000000-0000-4000-8000-000000000000' }],
    ];
    for (const slug of ['web-app', 'api-server', 'docs']) {
      for (const [key, payload] of repoCalls) expectFailure(await repo(key, payload, slug, 'member'), 'PERMISSION_DENIED', `Carol: ${slug} ${key}`);
    }
    for (const [key, payload] of repoCalls) expectFailure(await repo(key, payload, 'api-server', 'repoAdmin'), 'PERMISSION_DENIED', `Bob: api-server ${key}`);
    for (const as of ['member', 'repoAdmin'] as const) {
      for (const [key, payload] of adminCalls) expectFailure(await admin(key, payload, as), 'PERMISSION_DENIED', `${as}: admin ${key}`);
    }
    // Permission comes before validation: a refused caller learns nothing about the payload.
    expectFailure(await repo('setRepoEnabled', { enabled: 'yes' }, 'web-app', 'member'), 'PERMISSION_DENIED', 'Carol, bad payload');
    assert.equal(dump(), before);

    // The overview needs no permission and tells only who and where.
    const overview = await repo('getOverview', undefined, 'web-app', 'member');
    assert.equal(overview.accountId, DEMO_USERS.member.accountId);
    // Bob administers web-app.
    const status = expectValue(await repo('getRepoStatus', {}, 'web-app', 'repoAdmin'), 'Bob web-app status');
    assert.equal(status.slug, 'web-app');
    assert.equal(status.included, true);
    assert.equal(status.includedBy, 'workspace');
  });

  it('turns a repository off and on, and shows it in status, coverage and the audit log', async () => {
    const off = expectValue(await repo('setRepoEnabled', { enabled: false }, 'web-app', 'repoAdmin'), 'disable');
    assert.equal(off.included, false);
    assert.equal(off.includedBy, 'repository');
    assert.equal(off.name, 'Web App');
    const coverage = expectValue(await admin('getCoverage', {}), 'coverage');
    assert.deepEqual(coverage.items.map((row) => row.slug).sort(), ['api-server', 'docs', 'web-app']);
    for (const row of coverage.items) {
      assert.equal(row.repositoryUuid, app.repositoryUuid(row.slug));
      assert.equal(row.included, row.slug !== 'web-app', row.slug);
      assert.equal(row.state, 'never');
    }
    assert.equal(coverage.nextCursor, undefined);
    const on = expectValue(await repo('setRepoEnabled', { enabled: true }, 'web-app', 'repoAdmin'), 'enable');
    assert.equal(on.included, true);
    const settings = expectValue(await admin('getSettings', {}), 'settings').settings;
    assert.deepEqual(Object.keys(settings?.overrides ?? {}), [app.repositoryUuid('web-app')]);

    const log = expectValue(await admin('getAuditLog', {}), 'audit');
    assert.equal(log.items[0]?.action, 'backups enabled for repository');
    assert.equal(log.items[0]?.actorAccountId, DEMO_USERS.repoAdmin.accountId);
    assert.equal(log.items[1]?.action, 'backups disabled for repository');
  });

  it('lists the audit log newest first, paged, with settings changes naming fields but no secret', async () => {
    await admin('saveSettings', { settings: { ...workingSettings(app.world), schedule: { interval: 'week' } }, bitbucketToken: DEMO_WORKSPACE_TOKEN.token });
    for (let index = 0; index < 20; index += 1) {
      expectValue(await repo('setRepoEnabled', { enabled: index % 2 === 0 }, 'docs'), 'toggle');
    }
    const first = expectValue(await admin('getAuditLog', {}), 'audit page 1');
    assert.equal(first.items.length, 20);
    assert.ok(first.nextCursor);
    const second = expectValue(await admin('getAuditLog', { cursor: first.nextCursor }), 'audit page 2');
    assert.ok(second.items.length > 0);
    const all = [...first.items, ...second.items];
    assert.equal(new Set(all.map((entry) => entry.id)).size, all.length, 'no entry twice');
    const times = all.map((entry) => entry.at);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    const changes = all.filter((entry) => entry.action === 'settings changed');
    assert.ok(changes.length >= 2);
    const weekly = changes.find((entry) => entry.note?.code === 'settings-changed' && entry.note.fields.includes('schedule.interval'));
    assert.ok(weekly?.note, JSON.stringify(changes));
    assert.match(auditNoteWords(weekly.note), /^changed: .*schedule\.interval.*, Bitbucket token$/);
    assert.equal(weekly.actorAccountId, DEMO_USERS.admin.accountId);
    assert.ok(all.some((entry) => entry.action === 'settings created'));
  });

  it('tests the bucket against s3rver: write, read, delete, and no Object Lock', async () => {
    const check = expectValue(await admin('testBucket', {}), 'testBucket');
    assert.equal(check.ok, true, bucketCheckWords(check));
    assert.equal(check.objectLock, false);
    assert.match(bucketCheckWords(check), /Object Lock/);
    // Nothing left behind.
    const store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: app.world.urls.bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: app.world.urls.bucket.accessKeyId, secretAccessKey: app.world.urls.bucket.secretAccessKey } });
    const left: string[] = [];
    for await (const blob of store.list('')) left.push(blob.key);
    assert.deepEqual(left.filter((key) => key.includes('connection-test')), []);

    // Settings with Object Lock can no longer be saved for this bucket; ones an earlier Lifeboat saved still get the warning.
    await app.world.host.runInInvocation(async () => {
      const value = parseSettings({ ...workingSettings(app.world), objectLock: { enabled: true, mode: 'GOVERNANCE', days: 7 } });
      assert.ok(currentInvocation()?.services.kvsRequest('/api/v1/set', { key: kvsKeys.settings, value })?.ok);
    });
    const locked = expectValue(await admin('testBucket', {}), 'testBucket with lock');
    assert.equal(locked.ok, false);
    assert.match(bucketCheckWords(locked), /Object Lock/);
    await configure();

    // Pasted values are trimmed at save time, and still reach the bucket.
    const pasted = workingSettings(app.world).bucket;
    expectValue(await admin('saveSettings', { settings: { ...workingSettings(app.world), bucket: { ...pasted, endpoint: `${pasted.endpoint}\n`, accessKeyId: ` ${pasted.accessKeyId}` } } }), 'save pasted bucket values');
    const trimmed = expectValue(await admin('getSettings', {}), 'getSettings').settings?.bucket;
    assert.deepEqual({ endpoint: trimmed?.endpoint, accessKeyId: trimmed?.accessKeyId }, { endpoint: pasted.endpoint, accessKeyId: pasted.accessKeyId });
    assert.equal(expectValue(await admin('testBucket', {}), 'testBucket pasted').ok, true);

    // s3rver checks the access key id only.
    const wrongKey = { ...workingSettings(app.world), bucket: { ...workingSettings(app.world).bucket, accessKeyId: 'AKIANOTTHEKEY' } };
    const refused = expectFailure(await admin('saveSettings', { settings: wrongKey }), 'INVALID_ARGUMENT', 'a bucket key that fails its test');
    assert.deepEqual(refused.problems?.map((problem) => [problem.path.join('.'), problem.kind]), [['bucket.accessKeyId', 'failed-test']]);
    assert.equal(expectValue(await admin('testBucket', {}), 'testBucket after the refusal').ok, true, 'the working key is kept');
    expectValue(await admin('saveSettings', { settings: wrongKey, saveAnyway: true }), 'save the key anyway');
    const wrong = expectValue(await admin('testBucket', {}), 'testBucket wrong key');
    assert.equal(wrong.ok, false);
    assert.match(bucketCheckWords(wrong), /test object/);
    await configure();
  });

  it('refuses to save Object Lock for a bucket that does not say it has it (s3rver cannot tell), even with saveAnyway; nothing is saved', async () => {
    await configure();
    const stored = (): string => JSON.stringify(Object.entries(app.world.host.kvsDump()).filter(([key]) => key === kvsKeys.settings || key.startsWith(kvsKeys.auditPrefix)));
    const before = stored();
    const lockOn = { ...workingSettings(app.world), objectLock: { enabled: true, mode: 'GOVERNANCE', days: 30 } };
    for (const request of [{ settings: lockOn }, { settings: lockOn, bucketSecretAccessKey: bucketSecret, saveAnyway: true }]) {
      const refused = expectFailure(await admin('saveSettings', request), 'OBJECT_LOCK_UNAVAILABLE', 'Object Lock on a bucket without it');
      assert.match(refused.message, /not saved: Object Lock is turned on, but the bucket behind s3:\/\/.* did not say whether it has Object Lock enabled/);
      assert.match(refused.hint ?? '', /Turn Object Lock off/);
    }
    assert.equal(stored(), before, 'neither the settings nor the audit log changed');
    assert.equal(expectValue(await admin('getSettings', {}), 'getSettings').settings?.objectLock.enabled, false);
  });

  /** area phase identity → status, as the test answered them. */
  const statuses = (check: BitbucketCheck): Record<string, string> => Object.fromEntries(check.access.map((row) => [`${row.area} ${row.phase} ${row.identity}`, row.status]));

  it('tests the Bitbucket credential: the workspace token, a wrong one, a narrow one, an API token', async () => {
    const good = expectValue(await admin('testBitbucket', {}), 'testBitbucket');
    assert.deepEqual({ ok: good.ok, credential: good.credential, gitUsername: good.gitUsername, missingScopes: good.missingScopes }, { ok: true, credential: 'access-token', gitUsername: 'x-token-auth', missingScopes: [] });
    // Area by area: every backup read covered; what Bitbucket lets no access token do, said as such.
    const access = statuses(good);
    assert.ok(good.access.filter((row) => row.phase === 'backup').every((row) => row.status === 'covered'), JSON.stringify(good.access));
    assert.equal(access['git restore credential'], 'covered');
    assert.equal(access['webhooks restore credential'], 'covered', 'the webhook scope a read showed is the one writes need');
    for (const area of ['deploy-keys', 'user-permissions', 'group-permissions', 'new-repository']) assert.equal(access[`${area} restore credential`], 'not-for-this-credential', area);
    assert.equal(access['new-repository restore app'], undefined, 'the app\'s own writes are not tested');

    // A pasted token with a leading space and a trailing newline is stored trimmed, and works.
    expectValue(await admin('saveSettings', { settings: workingSettings(app.world), bitbucketToken: ` ${DEMO_WORKSPACE_TOKEN.token}\n` }), 'save a pasted token');
    assert.equal(expectValue(await admin('testBitbucket', {}), 'testBitbucket pasted').ok, true);

    // A mistyped token is not saved over the working one: refused beside its field, the stored one kept, until the admin says "save anyway".
    secrets.push('ATCTT3-not-a-real-token');
    const kept = dump();
    const refused = expectFailure(await admin('saveSettings', { settings: { ...workingSettings(app.world), schedule: { interval: 'hour' } }, bitbucketToken: 'ATCTT3-not-a-real-token' }), 'INVALID_ARGUMENT', 'a token that fails its test');
    assert.deepEqual(refused.problems?.map((problem) => [problem.path.join('.'), problem.kind]), [['bitbucketToken', 'failed-test']]);
    assert.match(refused.problems?.[0]?.message ?? '', /401/);
    assert.equal(dump(), kept, 'nothing written, the other changes neither');
    assert.equal(expectValue(await admin('testBitbucket', {}), 'testBitbucket after the refusal').ok, true);
    expectValue(await admin('saveSettings', { settings: workingSettings(app.world), bitbucketToken: 'ATCTT3-not-a-real-token', saveAnyway: true }), 'save anyway');
    const wrong = expectValue(await admin('testBitbucket', {}), 'testBitbucket wrong');
    assert.equal(wrong.ok, false);
    assert.match(bitbucketCheckWords(wrong), /refused the token/);

    const narrow = await app.world.emulator.createAccessToken({ kind: 'workspace', workspace: DEMO_WORKSPACE.slug, scopes: ['repository'] });
    secrets.push(narrow.token);
    await admin('saveSettings', { settings: workingSettings(app.world), bitbucketToken: narrow.token, saveAnyway: true });
    const lacking = expectValue(await admin('testBitbucket', {}), 'testBitbucket narrow');
    assert.equal(lacking.ok, false);
    assert.deepEqual(lacking.missingScopes, ['repository:write', 'webhook', 'repository:admin'], 'pull requests are read by the app: no pullrequest scope');
    assert.match(bitbucketCheckWords(lacking), /repository:write, webhook, repository:admin/);
    assert.deepEqual([statuses(lacking)['webhooks backup credential'], statuses(lacking)['deploy-keys backup credential']], ['missing-scopes', 'missing-scopes']);

    // Everything the table asks of an access token but webhook: only webhooks are not covered.
    const noWebhook = await app.world.emulator.createAccessToken({ kind: 'workspace', workspace: DEMO_WORKSPACE.slug, scopes: ['repository', 'repository:write', 'repository:admin'] });
    secrets.push(noWebhook.token);
    await admin('saveSettings', { settings: workingSettings(app.world), bitbucketToken: noWebhook.token, saveAnyway: true });
    const withoutWebhook = expectValue(await admin('testBitbucket', {}), 'testBitbucket without webhook');
    assert.equal(withoutWebhook.ok, false);
    assert.deepEqual(withoutWebhook.missingScopes, ['webhook']);
    assert.deepEqual(Object.entries(statuses(withoutWebhook)).filter(([, status]) => status !== 'covered' && status !== 'not-for-this-credential'),
      [['webhooks backup credential', 'missing-scopes'], ['webhooks restore credential', 'not-tested']]);

    await admin('saveSettings', { settings: { ...workingSettings(app.world), bitbucket: { credential: 'api-token', email: DEMO_USERS.admin.email } }, bitbucketToken: DEMO_USERS.admin.apiToken });
    const apiToken = expectValue(await admin('testBitbucket', {}), 'testBitbucket api token');
    assert.equal(apiToken.ok, true, bitbucketCheckWords(apiToken));
    assert.equal(apiToken.credential, 'api-token');
    assert.equal(apiToken.gitUsername, 'x-bitbucket-api-token-auth');
    assert.ok(!apiToken.access.some((row) => row.status === 'not-for-this-credential'), 'an API token may do everything');
    assert.equal(statuses(apiToken)['deploy-keys restore credential'], 'not-tested', 'write:ssh-key:bitbucket shows only by writing');

    // A service account's API token without read:webhook:bitbucket: webhooks are not covered.
    const { backup } = scopesFor('api-token');
    const service = await app.world.emulator.createApiToken({ workspace: DEMO_WORKSPACE.slug, permission: 'owner', scopes: backup.filter((scope) => scope !== 'read:webhook:bitbucket') });
    secrets.push(service.apiToken);
    await admin('saveSettings', { settings: { ...workingSettings(app.world), bitbucket: { credential: 'api-token', email: service.email } }, bitbucketToken: service.apiToken, saveAnyway: true });
    const serviceCheck = expectValue(await admin('testBitbucket', {}), 'testBitbucket service account');
    assert.equal(serviceCheck.ok, false);
    assert.deepEqual(serviceCheck.missingScopes, ['read:webhook:bitbucket']);
    assert.equal(statuses(serviceCheck)['webhooks backup credential'], 'missing-scopes');
    assert.equal(statuses(serviceCheck)['deploy-keys backup credential'], 'covered');
    await configure();
  });

  it('keeps an API token\'s expiry and warns from two weeks ahead; a past or too distant date is refused', async () => {
    const day = (offset: number): string => new Date(clock.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const withExpiry = (expiresOn: string) => ({ settings: { ...workingSettings(app.world), bitbucket: { credential: 'api-token', email: DEMO_USERS.admin.email, expiresOn } } });
    try {
      const later = expectValue(await admin('saveSettings', withExpiry(day(60))), 'save a token expiring in 60 days');
      assert.equal(later.settings?.bitbucket.expiresOn, day(60));
      assert.equal(later.bitbucketExpiry?.state, 'ok');
      const soon = expectValue(await admin('saveSettings', withExpiry(day(5))), 'save a token expiring in 5 days');
      assert.deepEqual(soon.bitbucketExpiry, { expiresOn: day(5), daysLeft: 5, state: 'expiring' });
      assert.deepEqual(expectValue(await admin('getSettings', {}), 'getSettings').bitbucketExpiry?.state, 'expiring');
      assert.match(expectFailure(await admin('saveSettings', withExpiry(day(-1))), 'INVALID_ARGUMENT', 'an expired token').message, /bitbucket\.expiresOn is in the past/);
      assert.match(expectFailure(await admin('saveSettings', withExpiry(day(400))), 'INVALID_ARGUMENT', 'beyond a year').message, /bitbucket\.expiresOn is more than a year ahead/);
    } finally {
      await configure();
    }
    assert.equal(expectValue(await admin('getSettings', {}), 'getSettings').bitbucketExpiry, undefined, 'an access token has none');
  });

  it('says whether a storage endpoint is one of the declared providers, or depends on customer-managed egress', async () => {
    assert.deepEqual(expectValue(await admin('checkEndpoint', { endpoint: 'https://0123abcd.eu.r2.cloudflarestorage.com' }), 'R2 EU'), { origin: 'https://0123abcd.eu.r2.cloudflarestorage.com', allowed: true, declared: true });
    assert.deepEqual(expectValue(await admin('checkEndpoint', { endpoint: 'https://s3.gra.io.cloud.ovh.net' }), 'OVH'), { origin: 'https://s3.gra.io.cloud.ovh.net', allowed: true, declared: true });
    assert.deepEqual(expectValue(await admin('checkEndpoint', { endpoint: 'https://minio.example.test' }), 'MinIO'), { origin: 'https://minio.example.test', allowed: false, declared: false });
  });

  it('answers the read-only repository keys for a repository admin', async () => {
    const snapshots = expectValue(await repo('listSnapshots', {}, 'web-app', 'repoAdmin'), 'listSnapshots');
    assert.deepEqual(snapshots.items, []);
    expectFailure(await repo('getSnapshot', { snapshotId: '20261126T061500Z-3fa9c1' }, 'web-app', 'repoAdmin'), 'SNAPSHOT_NOT_FOUND', 'absent snapshot');
    expectFailure(await repo('getJob', { jobId: '00000000-0000-4000-8000-000000000000' }, 'web-app', 'repoAdmin'), 'JOB_NOT_FOUND', 'absent job');
  });

  it('backs up on request and shows the job, the snapshot list and the snapshot', async () => {
    const { job } = expectValue(await repo('backupNow', {}, 'web-app', 'repoAdmin'), 'backupNow');
    assert.equal(job.kind, 'backup');
    assert.equal(job.requestedBy, DEMO_USERS.repoAdmin.accountId);
    await app.world.host.idle();
    const done = expectValue(await repo('getJob', { jobId: job.id }, 'web-app', 'repoAdmin'), 'getJob');
    assert.equal(done.state, 'done', JSON.stringify(done));
    // The job is Bob's on web-app: not visible from another repository's page, nor to a member.
    expectFailure(await repo('getJob', { jobId: job.id }, 'docs', 'admin'), 'JOB_NOT_FOUND', 'job on another page');
    expectFailure(await repo('getJob', { jobId: job.id }, 'web-app', 'member'), 'PERMISSION_DENIED', 'job for Carol');
    assert.equal(expectValue(await admin('getJob', { jobId: job.id }), 'admin getJob').id, job.id);

    const list = expectValue(await repo('listSnapshots', {}, 'web-app', 'repoAdmin'), 'listSnapshots');
    assert.equal(list.items.length, 1);
    const [summary] = list.items;
    assert.ok(summary && summary.refs > 0 && summary.bytes > 0, JSON.stringify(summary));
    const details = expectValue(await repo('getSnapshot', { snapshotId: summary.id }, 'web-app', 'repoAdmin'), 'getSnapshot');
    assert.equal(details.refList.length, summary.refs);
    assert.ok(details.refList.some((ref) => ref.name === 'refs/heads/main' && /^[0-9a-f]{40}$/.test(ref.target)), JSON.stringify(details.refList));
    assert.deepEqual(details.recipients, [], 'stored in plain');
    // Not from another repository's page.
    expectFailure(await repo('getSnapshot', { snapshotId: summary.id }, 'docs', 'admin'), 'SNAPSHOT_NOT_FOUND', 'snapshot of another repository');

    const row = expectValue(await admin('getCoverage', {}), 'coverage').items.find((candidate) => candidate.slug === 'web-app');
    assert.equal(row?.lastSnapshotId, summary.id);
    assert.equal(row?.bytes, summary.bytes);
  });

  it('never answered with a secret', () => {
    assert.ok(answers.length > 100);
    const text = JSON.stringify(answers);
    for (const secret of secrets) assert.equal(text.includes(secret), false, `an answer contains ${secret.slice(0, 6)}…`);
  });
});
