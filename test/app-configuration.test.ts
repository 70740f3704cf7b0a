// Repository configuration in the local world: backups store every section of
// web-app's settings (read from the Bitbucket emulator as the app, or with the
// stored credential where Bitbucket refuses the app), unchanged configuration
// is neither read into a new snapshot nor stored again, and a restore writes it
// back into the same or a new repository after a plan of what will change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BackupRequested, ConfigurationPlanView, ConfigurationResultView, JobView, Result } from '../src/contract.js';
import { BitbucketClient } from '../src/bitbucket/client.js';
import { backup } from '../src/engine/backup.js';
import { createGitClient } from '../src/engine/git/client.js';
import { repoPath } from '../src/forge/bucket.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { type ConfigurationDocument, type MetadataIndex, configurationDocumentSchema, readMetadataDocument, readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { CONFIGURATION_SECTIONS, type ConfigurationSection, readSection } from '../src/bitbucket/configuration.js';
import { WORKSPACE_TOKEN_AUTH, apiTokenAuth, call } from '../sandbox/bitbucket/test-support.js';
import { DEMO_USERS, DEMO_WORKSPACE_TOKEN } from '../sandbox/demo.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, workingSettings, type AppWorld } from './helpers/app-world.js';
import { jobOfKind } from './helpers/jobs.js';
import { TEST_SIGNER } from './helpers/signing.js';
import { ManualClock } from '../sandbox/forge/index.js';
import { jobNoteWords } from '../static/shared/job-words.js';

const ADMIN = { as: 'admin' as const };

function valueOf<T>(result: Result<T>, what: string): T {
  if (!result.ok) assert.fail(`${what}: ${result.error.code} ${result.error.message}`);
  return result.value;
}

describe('repository configuration in the local world', () => {
  let app: AppWorld;
  let store: BlobStore;
  /** The emulator's request log: one line per REST and git request. */
  const requests: string[] = [];

  before(async () => {
    // Delays on a manual clock: the push backups a restore's pushes queue coalesce until the test settles.
    app = await startAppWorld({ clock: new ManualClock(), bitbucketLog: (line) => void requests.push(line) });
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
    await app.configure();
  });

  after(async () => {
    await app?.close();
  });

  const repo = (slug: string) => ({ workspace: bareUuid(DEMO_WORKSPACE.uuid), repository: bareUuid(app.repositoryUuid(slug)) });
  const newest = async (slug: string): Promise<SnapshotManifest> => {
    const id = (await listSnapshotIds(store, repo(slug))).at(-1);
    assert.ok(id, `${slug} has a snapshot`);
    return readManifest(store, { repo: repo(slug), id }, app.trust());
  };
  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };
  const backUpNow = async (slug: string): Promise<JobView<'backup'>> => {
    const requested = valueOf(await app.repoPage('backupNow', undefined, { ...ADMIN, repositorySlug: slug }) as Result<BackupRequested>, 'backupNow');
    await settle();
    return jobOfKind(valueOf(await app.repoPage('getJob', { jobId: requested.job.id }, { ...ADMIN, repositorySlug: slug }), 'getJob'), 'backup');
  };
  const indexOf = async (manifest: SnapshotManifest): Promise<MetadataIndex> => {
    const index = await readMetadataIndex(store, manifest);
    assert.ok(index, `snapshot ${manifest.id} has a metadata index`);
    return index;
  };
  const documents = async (manifest: SnapshotManifest): Promise<Map<string, ConfigurationDocument>> => {
    const index = await indexOf(manifest);
    const found = new Map<string, ConfigurationDocument>();
    for (const entry of index.configuration ?? []) found.set(entry.section, await readMetadataDocument(store, manifest, entry.object, undefined, configurationDocumentSchema));
    return found;
  };
  const bucketKeys = async (): Promise<string[]> => {
    const keys: string[] = [];
    for await (const item of store.list('')) keys.push(item.key);
    return keys.sort();
  };
  /** REST calls made since `mark` (a length of `requests`), as `METHOD /path`. */
  const restSince = (mark: number): string[] => requests.slice(mark).filter((line) => / \/2\.0\//.test(line)).map((line) => line.replace(/^\[bitbucket\] (\S+) (\S+?)(\?\S*)? .*$/, '$1 $2'));

  it('a backup stores every section of the configuration, secured values absent and named', async () => {
    const job = await backUpNow('web-app');
    assert.equal(job.state, 'done', JSON.stringify(job));
    const manifest = await newest('web-app');
    const index = await indexOf(manifest);
    assert.deepEqual(index.problems, []);
    assert.deepEqual(index.configuration?.map((entry) => entry.section), [...CONFIGURATION_SECTIONS]);
    const stored = await documents(manifest);

    const own = stored.get('repository')!.data as Record<string, unknown>;
    assert.deepEqual({ ...own, project: undefined }, { name: 'Web App', description: 'The customer-facing web application.', is_private: true, fork_policy: 'no_public_forks', language: 'javascript', mainbranch: { name: 'main' }, project: undefined });
    assert.equal(typeof (own.project as { key?: unknown }).key, 'string');
    const restrictions = stored.get('branch-restrictions')?.data as Array<Record<string, unknown>>;
    assert.equal(restrictions.length, 6);
    assert.ok(restrictions.every((rule) => !('links' in rule)), 'fields= keeps to what a restore needs');
    assert.deepEqual((stored.get('default-reviewers')?.data as Array<{ display_name: string }>).map((user) => user.display_name), [DEMO_USERS.repoAdmin.displayName]);
    assert.equal((stored.get('branching-model')?.data as { production: { enabled: boolean } }).production.enabled, true);

    const hooks = stored.get('webhooks')!;
    assert.equal(hooks.readWith, 'credential', 'Bitbucket takes only tokens for webhooks');
    assert.deepEqual((hooks.data as Array<{ url: string; secret_set: boolean }>).map((hook) => [hook.url, hook.secret_set]), [['https://ci.example.com/hooks/bitbucket', true]]);
    assert.deepEqual(hooks.unreadable.map((item) => item.item), ['secret of webhook https://ci.example.com/hooks/bitbucket']);
    assert.equal(stored.get('deploy-keys')?.readWith, 'credential');
    assert.equal((stored.get('deploy-keys')?.data as unknown[]).length, 1);
    assert.equal(stored.get('branch-restrictions')?.readWith, 'app');
    assert.ok((stored.get('user-permissions')?.data as unknown[]).length > 0);
    assert.deepEqual(stored.get('pipelines')?.data, { enabled: true });

    const variables = stored.get('pipeline-variables')!;
    assert.deepEqual((variables.data as Array<Record<string, unknown>>).map((variable) => [variable.key, variable.secured, variable.value]), [['DEPLOY_ENV', false, 'staging'], ['DEPLOY_TOKEN', true, undefined]]);
    assert.deepEqual(variables.unreadable.map((item) => item.item), ['DEPLOY_TOKEN']);
    const environments = stored.get('environments')!;
    assert.deepEqual((environments.data as Array<{ name: string; variables: Array<{ key: string }> }>).map((environment) => [environment.name, environment.variables.map((variable) => variable.key)]),
      [['Test', []], ['Staging', ['API_URL']], ['Production', ['API_URL', 'DB_PASSWORD']]]);
    assert.deepEqual(environments.unreadable.map((item) => item.item), ['Production/DB_PASSWORD']);

    // Nothing secret was ever stored: not the secured values, not the webhook's secret.
    const everything = JSON.stringify([...stored.values()]);
    for (const secret of ['demo-secured-deploy-token', 'demo-secured-db-password', 'demo-webhook-secret']) assert.ok(!everything.includes(secret), secret);
  });

  it('unchanged configuration makes no snapshot and writes nothing; a change stores only its section again', async () => {
    const before = await newest('web-app');
    const keys = await bucketKeys();
    const mark = requests.length;
    const job = await backUpNow('web-app');
    assert.equal(job.state, 'done');
    assert.equal(job.result?.status, 'unchanged');
    assert.equal((await newest('web-app')).id, before.id);
    assert.deepEqual(await bucketKeys(), keys, 'nothing written to the bucket');
    const calls = restSince(mark).filter((line) => /\/2\.0\/repositories\/[^/]+\/[^/]+\/(branch-restrictions|default-reviewers|branching-model|hooks|deploy-keys|permissions-config|pipelines_config|environments|deployments_config)/.test(line));
    // One call per section (the repository's own settings come with the backup's read of the repository), one per environment's variables.
    assert.equal(calls.length, CONFIGURATION_SECTIONS.length - 1 + 3, calls.join('\n'));

    const created = await call(app.world.emulator, `/2.0/repositories/${DEMO_WORKSPACE.slug}/web-app/branch-restrictions`, apiTokenAuth('admin'), {
      method: 'POST', body: { kind: 'delete', branch_match_kind: 'glob', pattern: 'release/*' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await backUpNow('web-app')).result?.status, 'created');
    const after = await newest('web-app');
    assert.notEqual(after.id, before.id);
    assert.deepEqual(after.bundles, before.bundles, 'the same refs: the same bundles');
    const [was, now] = [await indexOf(before), await indexOf(after)];
    const changed = now.configuration!.filter((entry, at) => entry.object.key !== was.configuration![at]!.object.key).map((entry) => entry.section);
    assert.deepEqual(changed, ['branch-restrictions'], 'only the changed section is stored again');
  });

  /** A repository's configuration now, read straight from the emulator with the identities the app uses. */
  const configurationOf = async (slug: string): Promise<Map<ConfigurationSection, unknown>> => {
    const client = (authorization: string) => new BitbucketClient(async (path, init) => fetch(new URL(path, app.world.emulator.url), { ...init, headers: { ...init?.headers, authorization } }));
    const clients = { app: client(app.world.emulator.forgeAppAuthorization()), credential: client(WORKSPACE_TOKEN_AUTH) };
    const found = new Map<ConfigurationSection, unknown>();
    for (const section of CONFIGURATION_SECTIONS) found.set(section, (await readSection(clients, { workspace: DEMO_WORKSPACE.slug, repository: slug }, section)).data);
    return found;
  };
  type Row = Record<string, unknown>;
  const rows = (data: unknown): Row[] => data as Row[];
  const sorted = (values: string[]): string[] => [...values].sort();
  /** Each section as a restore must reproduce it: ids, UUIDs and what Bitbucket never returns left out. */
  const comparable = (configuration: Map<ConfigurationSection, unknown>): Record<string, unknown> => {
    const own = configuration.get('repository') as Row;
    const variables = (list: unknown) => sorted(rows(list).filter((variable) => variable.secured !== true).map((variable) => `${String(variable.key)}=${String(variable.value)}`));
    return {
      repository: { description: own.description, language: own.language, fork_policy: own.fork_policy },
      'branch-restrictions': sorted(rows(configuration.get('branch-restrictions')).map((rule) => JSON.stringify([rule.kind, rule.branch_match_kind, rule.pattern, rule.branch_type ?? null, rule.value, rows(rule.users).map((user) => user.uuid)]))),
      'default-reviewers': sorted(rows(configuration.get('default-reviewers')).map((user) => String(user.uuid))),
      'branching-model': configuration.get('branching-model'),
      webhooks: rows(configuration.get('webhooks')).map((hook) => [hook.url, hook.description, hook.active, sorted(hook.events as string[])]),
      'deploy-keys': rows(configuration.get('deploy-keys')).map((key) => [key.key, key.label, key.comment]),
      'user-permissions': sorted(rows(configuration.get('user-permissions')).map((entry) => `${String((entry.user as Row).uuid)}:${String(entry.permission)}`)),
      'group-permissions': rows(configuration.get('group-permissions')),
      pipelines: configuration.get('pipelines'),
      'pipeline-variables': variables(configuration.get('pipeline-variables')),
      environments: rows(configuration.get('environments')).map((environment) => [environment.name, (environment.environment_type as Row).name, variables(environment.variables)]),
    };
  };
  const snapshotConfiguration = async (manifest: SnapshotManifest): Promise<Map<ConfigurationSection, unknown>> =>
    new Map([...(await documents(manifest))].map(([section, document]) => [section as ConfigurationSection, document.data]));
  const restoreJobs = (): number => Object.keys(app.world.host.kvsDump()).filter((key) => /^job:[0-9a-f-]{36}:restore$/.test(key)).length;
  const NOT_WRITABLE = ['secret of webhook https://ci.example.com/hooks/bitbucket', 'DEPLOY_TOKEN', 'Production/DB_PASSWORD'];

  it('a round trip into a new repository reproduces every section; what cannot be written is listed beforehand and in the result', async () => {
    const manifest = await newest('web-app');
    const planOf = async (): Promise<ConfigurationPlanView> => valueOf(await app.repoPage('planConfigurationRestore', { snapshotId: manifest.id, target: 'new-repository' }, { ...ADMIN, repositorySlug: 'web-app' }) as Result<ConfigurationPlanView>, 'plan');
    // With the workspace access token, the plan names beforehand what Bitbucket lets no access token write.
    const withAccessToken = await planOf();
    const refused = withAccessToken.notWritable.filter((note) => /no access token write/.test(note.reason)).map((note) => note.section);
    assert.deepEqual([...new Set(refused)], ['deploy-keys', 'user-permissions'], JSON.stringify(withAccessToken.notWritable));
    assert.ok(!withAccessToken.changes.some((change) => change.section === 'deploy-keys' || change.section === 'user-permissions'));

    // With an API token (Alice's, every scope), every section goes back.
    valueOf(await app.adminPage('saveSettings', { settings: { ...workingSettings(app.world), bitbucket: { credential: 'api-token', email: DEMO_USERS.admin.email } }, bitbucketToken: DEMO_USERS.admin.apiToken }), 'save the API token');
    const plan = await planOf();
    assert.ok(plan.changes.some((change) => change.section === 'branch-restrictions' && change.action === 'add'), JSON.stringify(plan.changes));
    assert.deepEqual(plan.changes.filter((change) => change.action === 'remove'), [], 'nothing to remove from a repository not yet created');
    for (const item of NOT_WRITABLE) assert.ok(plan.notWritable.some((note) => note.item === item), `${item} is named as not writable`);

    const started = valueOf(await app.repoPage('startRestore', { snapshotId: manifest.id, mode: 'new-repository', newRepositorySlug: 'web-app-configured', configuration: 'with-git' }, { ...ADMIN, repositorySlug: 'web-app' }), 'startRestore');
    await settle();
    await app.configure();
    const job = jobOfKind(valueOf(await app.repoPage('getJob', { jobId: started.id }, { ...ADMIN, repositorySlug: 'web-app' }), 'getJob'), 'restore');
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.match(jobNoteWords(job.note), /Configuration: \d+ changes written; 3 items could not be written/);
    const result = job.result?.configuration as ConfigurationResultView;
    assert.deepEqual(sorted(result.notWritten.map((note) => note.item)), sorted(NOT_WRITABLE), JSON.stringify(result.notWritten));
    // Planned against nothing; written against the new repository's own defaults (its three environments, its branching model).
    assert.ok(result.written.length > 10, JSON.stringify(result.written));
    assert.deepEqual(result.written.filter((change) => change.action === 'remove'), []);

    const restored = await configurationOf('web-app-configured');
    assert.deepEqual(comparable(restored), comparable(await snapshotConfiguration(manifest)));
    assert.equal(rows(restored.get('webhooks'))[0]?.secret_set, false, 'the secret could not be restored');
    assert.ok(!rows(restored.get('pipeline-variables')).some((variable) => variable.key === 'DEPLOY_TOKEN'), 'a secured variable is not created without its value');
  });

  it('into the same repository: the plan names each addition, replacement and removal, and the restore makes it so after a backup of the state it replaces', async () => {
    const manifest = await newest('web-app');
    const base = `/2.0/repositories/${DEMO_WORKSPACE.slug}/web-app`;
    const as = apiTokenAuth('admin');
    // Drift: a restriction gone, a webhook added, a variable changed.
    const rules = ((await call(app.world.emulator, `${base}/branch-restrictions?kind=force`, as)).body as { values: Row[] }).values;
    assert.equal((await call(app.world.emulator, `${base}/branch-restrictions/${String(rules[0]!.id)}`, as, { method: 'DELETE' })).status, 204);
    assert.equal((await call(app.world.emulator, `${base}/hooks`, as, { method: 'POST', body: { url: 'https://drift.example.com/hook', events: ['repo:push'] } })).status, 201);
    const variables = ((await call(app.world.emulator, `${base}/pipelines_config/variables`, as)).body as { values: Row[] }).values;
    const deployEnv = variables.find((variable) => variable.key === 'DEPLOY_ENV')!;
    assert.equal((await call(app.world.emulator, `${base}/pipelines_config/variables/${encodeURIComponent(String(deployEnv.uuid))}`, as, { method: 'PUT', body: { value: 'production' } })).status, 200);
    const drifted = comparable(await configurationOf('web-app'));

    const plan = valueOf(await app.repoPage('planConfigurationRestore', { snapshotId: manifest.id, target: 'this-repository' }, { ...ADMIN, repositorySlug: 'web-app' }) as Result<ConfigurationPlanView>, 'plan');
    assert.deepEqual(plan.changes.map((change) => [change.section, change.action, change.item]), [
      ['branch-restrictions', 'add', 'force on main'],
      ['pipeline-variables', 'replace', 'DEPLOY_ENV'],
    ]);
    // Removing a webhook is never part of a default restore: offered apart, as a choice.
    assert.deepEqual(plan.lowering, [{ section: 'webhooks', action: 'remove', item: 'https://drift.example.com/hook' }]);
    assert.ok(plan.unchanged > 10);
    // The repository still holds its secured values and its webhook's secret: kept, and nothing is unwritable.
    assert.deepEqual(plan.kept.map((note) => note.item), ['DEPLOY_TOKEN', 'Production/DB_PASSWORD']);
    assert.deepEqual(plan.notWritable, []);

    const started = valueOf(await app.repoPage('startRestore', { snapshotId: manifest.id, mode: 'beside', configuration: 'only', lowering: plan.lowering }, { ...ADMIN, repositorySlug: 'web-app' }), 'startRestore');
    await settle();
    const job = jobOfKind(valueOf(await app.repoPage('getJob', { jobId: started.id }, { ...ADMIN, repositorySlug: 'web-app' }), 'getJob'), 'restore');
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.equal(job.result?.refCount, undefined, 'no refs were pushed');
    assert.deepEqual((job.result?.configuration as ConfigurationResultView).written.map((change) => change.item), ['force on main', 'https://drift.example.com/hook', 'DEPLOY_ENV']);
    assert.deepEqual(comparable(await configurationOf('web-app')), comparable(await snapshotConfiguration(manifest)));

    // The state it replaced is a snapshot of its own.
    const guardId = job.result?.snapshotBeforeOverwrite as string;
    assert.ok(guardId);
    const guard = await readManifest(store, { repo: repo('web-app'), id: guardId }, app.trust());
    assert.deepEqual(comparable(await snapshotConfiguration(guard)), drifted);
  });

  it('a snapshot without configuration is refused with a clear error, and nothing is queued', async () => {
    const git = createGitClient({ url: app.world.emulator.gitUrl(DEMO_WORKSPACE.slug, 'docs'), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } });
    const taken = await backup({ store, repo: repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid('docs')), git, trigger: 'cli', encryption: null, objectLock: null, ...TEST_SIGNER });
    assert.equal(taken.status, 'created');
    const snapshotId = (taken as { snapshot: SnapshotManifest }).snapshot.id;
    const jobs = restoreJobs();
    const plan = await app.repoPage('planConfigurationRestore', { snapshotId, target: 'this-repository' }, { ...ADMIN, repositorySlug: 'docs' }) as Result<ConfigurationPlanView>;
    assert.equal(plan.ok, false);
    assert.equal(!plan.ok && plan.error.code, 'METADATA_NOT_FOUND');
    assert.match(!plan.ok ? plan.error.message : '', /holds no repository configuration/);
    const started = await app.repoPage('startRestore', { snapshotId, mode: 'beside', configuration: 'only' }, { ...ADMIN, repositorySlug: 'docs' });
    assert.equal(!started.ok && started.error.code, 'METADATA_NOT_FOUND');
    const refsOnly = await app.repoPage('startRestore', { snapshotId, mode: 'overwrite', confirmOverwrite: true, configuration: 'only' }, { ...ADMIN, repositorySlug: 'docs' });
    assert.equal(!refsOnly.ok && refsOnly.error.code, 'INVALID_ARGUMENT');
    assert.equal(restoreJobs(), jobs);
  });

  it('a credential that cannot reach a section: the backup records a problem of that section; a restore into a repository it cannot administer changes nothing', async () => {
    const limited = await app.world.emulator.createAccessToken({ kind: 'workspace', workspace: DEMO_WORKSPACE.slug, scopes: DEMO_WORKSPACE_TOKEN.scopes.filter((scope) => scope !== 'webhook') });
    const saved = await app.adminPage('saveSettings', { settings: workingSettings(app.world), bitbucketToken: limited.token, saveAnyway: true });
    assert.ok(saved.ok, JSON.stringify(saved));
    const before = await newest('web-app');
    const previous = (await indexOf(before)).configuration!.find((entry) => entry.section === 'webhooks')!;
    // A change elsewhere makes a new snapshot: the webhooks section is kept from the previous one, with a problem.
    assert.equal((await call(app.world.emulator, `/2.0/repositories/${DEMO_WORKSPACE.slug}/web-app/default-reviewers/${encodeURIComponent(DEMO_USERS.member.uuid)}`, apiTokenAuth('admin'), { method: 'PUT' })).status, 200);
    const job = await backUpNow('web-app');
    assert.equal(job.state, 'done', JSON.stringify(job));
    const index = await indexOf(await newest('web-app'));
    assert.deepEqual(index.problems.map((problem) => [problem.section, problem.subject, problem.code]), [['configuration', 'webhooks', 'BITBUCKET_FORBIDDEN']]);
    assert.match(index.problems[0]!.message, /stored credential \(an access token\), which needs the scope webhook for it\. The previous snapshot's copy is kept/);
    assert.deepEqual(index.configuration!.find((entry) => entry.section === 'webhooks'), previous);
    // The repository page shows it, from the newest snapshot's summary: no bucket read.
    const status = valueOf(await app.repoPage('getRepoStatus', undefined, { ...ADMIN, repositorySlug: 'web-app' }), 'getRepoStatus');
    assert.deepEqual(status.latest?.unreadableConfiguration?.map((item) => [item.section, item.code]), [['webhooks', 'BITBUCKET_FORBIDDEN']]);
    assert.equal(status.latest?.unreadableConfiguration?.[0]?.message, index.problems[0]!.message);

    const current = comparable(await configurationOf('web-app'));
    const jobs = restoreJobs();
    const plan = await app.repoPage('planConfigurationRestore', { snapshotId: before.id, target: 'this-repository' }, { ...ADMIN, repositorySlug: 'web-app' }) as Result<ConfigurationPlanView>;
    assert.equal(!plan.ok && plan.error.code, 'BITBUCKET_FORBIDDEN');
    assert.match(!plan.ok ? plan.error.message : '', /cannot restore configuration into web-app: reading its webhooks with the stored credential failed: .*No configuration was written/);
    const started = await app.repoPage('startRestore', { snapshotId: before.id, mode: 'beside', configuration: 'only' }, { ...ADMIN, repositorySlug: 'web-app' });
    assert.equal(!started.ok && started.error.code, 'BITBUCKET_FORBIDDEN');
    const intoNew = await app.repoPage('startRestore', { snapshotId: before.id, mode: 'new-repository', newRepositorySlug: 'never-created', configuration: 'with-git' }, { ...ADMIN, repositorySlug: 'web-app' });
    assert.equal(!intoNew.ok && intoNew.error.code, 'BITBUCKET_FORBIDDEN');
    assert.equal(app.world.emulator.state().repositories.some((repository) => repository.slug === 'never-created'), false, 'no repository was created');
    assert.equal(restoreJobs(), jobs);
    assert.deepEqual(comparable(await configurationOf('web-app')), current, 'nothing changed');
  });
});
