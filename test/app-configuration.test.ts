// Repository configuration in the local world: backups store every section of
// web-app's settings (read from the Bitbucket emulator as the app, or with the
// stored credential where Bitbucket refuses the app), unchanged configuration
// is neither read into a new snapshot nor stored again, and a restore writes it
// back into the same or a new repository after a plan of what will change.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BackupRequested, JobView, Result } from '../src/contract.js';
import { listSnapshotIds, readManifest } from '../src/engine/bucket/catalog.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { type ConfigurationDocument, type MetadataIndex, configurationDocumentSchema, readMetadataDocument, readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { CONFIGURATION_SECTIONS } from '../src/bitbucket/configuration.js';
import { apiTokenAuth, call } from '../sandbox/bitbucket/test-support.js';
import { DEMO_USERS } from '../sandbox/demo.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';

const ADMIN = { as: 'admin' as const };

function valueOf<T>(result: Result<T>, what: string): T {
  if (!result.ok) assert.fail(`${what}: ${result.error.code} ${result.error.message}`);
  return result.value;
}

describe('repository configuration in the local world', { timeout: 180_000 }, () => {
  let app: AppWorld;
  let store: BlobStore;
  /** The emulator's request log: one line per REST and git request. */
  const requests: string[] = [];

  before(async () => {
    app = await startAppWorld({ bitbucketLog: (line) => void requests.push(line) });
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
    return readManifest(store, { repo: repo(slug), id });
  };
  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };
  const backUpNow = async (slug: string): Promise<JobView> => {
    const requested = valueOf(await app.repoPage('backupNow', undefined, { ...ADMIN, repositorySlug: slug }) as Result<BackupRequested>, 'backupNow');
    await settle();
    return valueOf(await app.repoPage('getJob', { jobId: requested.job.id }, { ...ADMIN, repositorySlug: slug }), 'getJob');
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
});
