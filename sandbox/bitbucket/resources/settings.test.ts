import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_USERS } from '../../demo.js';
import { startWorld, type TestWorld } from './test-client.js';

const REPO = '/2.0/repositories/{workspace}/{repo_slug}';

/** A well-formed OpenSSH ed25519 public key line. */
function publicKey(fill: number, comment = ''): string {
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.alloc(4 + type.length + 4 + 32, fill);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(32, 4 + type.length);
  return `ssh-ed25519 ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

describe('repository settings', () => {
  let world: TestWorld;
  let webApp: string;

  before(async () => {
    world = await startWorld();
    webApp = world.repo('web-app');
  });
  after(() => world.close());

  it('serves the seeded settings of web-app', async () => {
    const rules = await world.all(`${webApp}/branch-restrictions`);
    assert.ok(rules.length >= 5);
    const push = rules.find((r) => r.kind === 'push');
    assert.deepEqual(push.users.map((u: { uuid: string }) => u.uuid), [DEMO_USERS.admin.uuid, DEMO_USERS.repoAdmin.uuid]);
    assert.equal(rules.find((r) => r.kind === 'require_approvals_to_merge').value, 1);
    assert.deepEqual((await world.all(`${webApp}/branch-restrictions?kind=delete`)).map((r) => r.branch_match_kind).sort(), ['branching_model', 'glob']);
    assert.equal((await world.call('GET', `${webApp}/branch-restrictions/${push.id}`, { template: `${REPO}/branch-restrictions/{id}` })).body.pattern, 'main');

    assert.deepEqual((await world.all(`${webApp}/default-reviewers`)).map((u) => u.uuid), [DEMO_USERS.repoAdmin.uuid]);
    const effective = await world.all(`${webApp}/effective-default-reviewers`);
    assert.deepEqual(effective.map((d) => [d.reviewer_type, d.user.uuid]), [['repository', DEMO_USERS.repoAdmin.uuid]]);
    const reviewer = await world.call('GET', `${webApp}/default-reviewers/${encodeURIComponent(DEMO_USERS.repoAdmin.uuid)}`, { template: `${REPO}/default-reviewers/{target_username}` });
    assert.equal(reviewer.body.uuid, DEMO_USERS.repoAdmin.uuid);
    assert.equal((await world.call('GET', `${webApp}/default-reviewers/carol`, { template: `${REPO}/default-reviewers/{target_username}` })).status, 404);

    const model = (await world.call('GET', `${webApp}/branching-model`)).body;
    assert.equal(model.development.branch.name, 'main');
    assert.equal(model.production.use_mainbranch, true);
    assert.deepEqual(model.branch_types.map((t: { kind: string }) => t.kind), ['feature', 'bugfix', 'release']);
    assert.equal((await world.call('GET', `${webApp}/effective-branching-model`)).body.development.name, 'main');
    const modelSettings = (await world.call('GET', `${webApp}/branching-model/settings`)).body;
    assert.equal(modelSettings.development.is_valid, true);
    assert.equal(modelSettings.branch_types.find((t: { kind: string }) => t.kind === 'hotfix').enabled, false);

    const [hook] = await world.all(`${webApp}/hooks`);
    assert.equal(hook.url, 'https://ci.example.com/hooks/bitbucket');
    assert.equal(hook.secret_set, true);
    assert.equal(hook.secret, undefined, 'a webhook secret is never answered');
    const [key] = await world.all(`${webApp}/deploy-keys`);
    assert.match(key.key, /^ssh-ed25519 /);
    assert.equal(key.owner.uuid, DEMO_USERS.admin.uuid);

    assert.equal((await world.call('GET', `${webApp}/pipelines_config`)).body.enabled, true);
    assert.deepEqual((await world.call('GET', `${webApp}/override-settings`)).body.override_settings, { default_merge_strategy: false, branching_model: false });

    // Other repositories keep Bitbucket's defaults.
    const docs = world.repo('docs');
    assert.deepEqual(await world.all(`${docs}/branch-restrictions`), []);
    assert.equal((await world.call('GET', `${docs}/pipelines_config`)).body.enabled, false);
    assert.deepEqual(await world.all(`${docs}/pipelines_config/variables`), []);
  });

  it('never answers the value of a secured pipeline variable', async () => {
    const variables = await world.all(`${webApp}/pipelines_config/variables`);
    assert.deepEqual(variables.map((v) => [v.key, v.secured, v.value]), [['DEPLOY_ENV', false, 'staging'], ['DEPLOY_TOKEN', true, undefined]]);
    const asToken = await world.call('GET', `${webApp}/pipelines_config/variables`, { as: 'workspaceToken' });
    assert.equal(asToken.status, 200);
    const body = JSON.stringify(asToken);
    assert.ok(!body.includes('demo-secured-deploy-token'));
    const secured = variables[1];
    const one = await world.call('GET', `${webApp}/pipelines_config/variables/${encodeURIComponent(secured.uuid)}`, { template: `${REPO}/pipelines_config/variables/{variable_uuid}` });
    assert.equal(one.body.value, undefined);
    assert.equal(one.body.key, 'DEPLOY_TOKEN');

    const created = await world.call('POST', `${webApp}/pipelines_config/variables`, { as: 'repoAdmin', body: { key: 'NPM_TOKEN', value: 'npm-secret-value', secured: true } });
    assert.equal(created.status, 201);
    assert.equal(created.body.value, undefined);
    assert.ok(!created.bytes.toString().includes('npm-secret-value'));
    const path = `${webApp}/pipelines_config/variables/${encodeURIComponent(created.body.uuid)}`;
    const updated = await world.call('PUT', path, { as: 'repoAdmin', body: { value: 'rotated-secret' }, template: `${REPO}/pipelines_config/variables/{variable_uuid}` });
    assert.equal(updated.status, 200);
    assert.ok(!updated.bytes.toString().includes('rotated-secret'));
    assert.equal((await world.call('PUT', path, { as: 'repoAdmin', body: { secured: false }, template: `${REPO}/pipelines_config/variables/{variable_uuid}` })).status, 400, 'a secured variable stays secured');
    // A restore writes every field back, the variable's own key included.
    const rewritten = await world.call('PUT', path, { as: 'repoAdmin', body: { key: 'NPM_TOKEN', value: 'rotated-again', secured: true }, template: `${REPO}/pipelines_config/variables/{variable_uuid}` });
    assert.equal(rewritten.status, 200, JSON.stringify(rewritten.body));
    assert.equal(rewritten.body.key, 'NPM_TOKEN');
    assert.ok(!JSON.stringify(await world.all(`${webApp}/pipelines_config/variables`)).includes('rotated-secret'));

    const plain = await world.call('POST', `${webApp}/pipelines_config/variables`, { body: { key: 'REGION', value: 'eu-west-1', secured: false } });
    assert.equal(plain.body.value, 'eu-west-1');
    assert.equal((await world.call('POST', `${webApp}/pipelines_config/variables`, { body: { key: 'REGION', value: 'x' } })).status, 409);
    assert.equal((await world.call('POST', `${webApp}/pipelines_config/variables`, { body: { key: '1BAD', value: 'x' } })).status, 400);
    assert.equal((await world.call('DELETE', `${webApp}/pipelines_config/variables/${encodeURIComponent(plain.body.uuid)}`, { template: `${REPO}/pipelines_config/variables/{variable_uuid}` })).status, 204);
  });

  it('serves deployment environments and their variables, secured values never', async () => {
    const environments = await world.all(`${webApp}/environments`);
    assert.deepEqual(environments.map((e) => [e.name, e.environment_type.name]), [['Test', 'Test'], ['Staging', 'Staging'], ['Production', 'Production']]);
    const production = environments[2];
    const variables = `${webApp}/deployments_config/environments/${encodeURIComponent(production.uuid)}/variables`;
    const template = `${REPO}/deployments_config/environments/{environment_uuid}/variables`;
    assert.deepEqual((await world.all(variables, { template })).map((v) => [v.key, v.secured, v.value]), [['API_URL', false, 'https://example.com'], ['DB_PASSWORD', true, undefined]]);
    assert.equal((await world.call('GET', variables, { as: 'member', template })).status, 403, 'variables take write access');
    assert.equal((await world.call('GET', `${webApp}/environments`, { as: 'forgeApp' })).status, 200, 'the app identity may read environments');

    const added = await world.call('POST', variables, { body: { key: 'REGION', value: 'eu', secured: false }, template });
    assert.equal(added.status, 201);
    assert.equal((await world.call('POST', variables, { body: { key: 'REGION', value: 'us' }, template })).status, 409);
    const one = `${variables}/${encodeURIComponent(added.body.uuid)}`;
    assert.equal((await world.call('PUT', one, { body: { value: 'us' }, template: `${template}/{variable_uuid}` })).body.value, 'us');
    assert.equal((await world.call('DELETE', one, { template: `${template}/{variable_uuid}` })).status, 204);

    const preview = await world.call('POST', `${webApp}/environments`, { body: { name: 'Preview', environment_type: { name: 'Test' } } });
    assert.equal(preview.status, 201);
    assert.equal((await world.call('POST', `${webApp}/environments`, { body: { name: 'preview', environment_type: { name: 'Test' } } })).status, 409);
    assert.equal((await world.call('POST', `${webApp}/environments`, { body: { name: 'X', environment_type: { name: 'Dev' } } })).status, 400);
    assert.equal((await world.call('POST', `${webApp}/environments`, { as: 'member', body: { name: 'Y', environment_type: { name: 'Test' } } })).status, 403);
    const path = `${webApp}/environments/${encodeURIComponent(preview.body.uuid)}`;
    assert.equal((await world.call('GET', path, { template: `${REPO}/environments/{environment_uuid}` })).body.name, 'Preview');
    assert.equal((await world.call('DELETE', path, { template: `${REPO}/environments/{environment_uuid}` })).status, 204);
    assert.equal((await world.all(`${webApp}/environments`)).length, 3);
  });

  it('lets only repository admins change settings', async () => {
    const attempts: Array<[string, string, unknown]> = [
      ['POST', `${webApp}/branch-restrictions`, { kind: 'force', branch_match_kind: 'glob', pattern: 'develop' }],
      ['PUT', `${webApp}/default-reviewers/carol`, undefined],
      ['PUT', `${webApp}/branching-model/settings`, { development: { use_mainbranch: true } }],
      ['POST', `${webApp}/hooks`, { url: 'https://example.com/hook', events: ['repo:push'] }],
      ['POST', `${webApp}/deploy-keys`, { key: publicKey(3), label: 'ci' }],
      ['PUT', `${webApp}/pipelines_config`, { enabled: false }],
      ['POST', `${webApp}/pipelines_config/variables`, { key: 'MEMBER_VAR', value: 'x' }],
      ['PUT', `${webApp}/override-settings`, { override_settings: { branching_model: true } }],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await world.call(method, path, { as: 'member', body });
      assert.equal(answer.status, 403, `${method} ${path} as a plain member`);
    }
    // Reading the restrictions is administration too.
    assert.equal((await world.call('GET', `${webApp}/branch-restrictions`, { as: 'member' })).status, 403);
    // Bob administers web-app (explicit permission) but is only a member of api-server.
    assert.equal((await world.call('POST', `${webApp}/branch-restrictions`, { as: 'repoAdmin', body: { kind: 'force', branch_match_kind: 'glob', pattern: 'develop' } })).status, 201);
    assert.equal((await world.call('POST', `${world.repo('api-server')}/branch-restrictions`, { as: 'repoAdmin', body: { kind: 'force', branch_match_kind: 'glob', pattern: 'develop' } })).status, 403);
    // The workspace access token carries repository:admin.
    assert.equal((await world.call('PUT', `${world.repo('api-server')}/pipelines_config`, { as: 'workspaceToken', body: { enabled: true } })).body.enabled, true);
  });

  it('keeps branch restrictions as Bitbucket validates them', async () => {
    const created = await world.call('POST', `${webApp}/branch-restrictions`, {
      body: { kind: 'require_approvals_to_merge', branch_match_kind: 'glob', pattern: 'release/*', value: 2, users: [], groups: [] },
    });
    assert.equal(created.status, 201);
    const path = `${webApp}/branch-restrictions/${created.body.id}`;
    assert.equal(created.headers.get('location'), `${world.emulator.url}${path}`);
    const updated = await world.call('PUT', path, { body: { value: 3 }, template: `${REPO}/branch-restrictions/{id}` });
    assert.equal(updated.body.value, 3);
    assert.equal(updated.body.pattern, 'release/*');
    const bad = async (body: object): Promise<number> => (await world.call('POST', `${webApp}/branch-restrictions`, { body })).status;
    assert.equal(await bad({ kind: 'nope', branch_match_kind: 'glob', pattern: 'x' }), 400);
    assert.equal(await bad({ kind: 'push', branch_match_kind: 'glob' }), 400, 'glob needs a pattern');
    assert.equal(await bad({ kind: 'push', branch_match_kind: 'branching_model' }), 400, 'branching_model needs a branch type');
    assert.equal(await bad({ kind: 'require_approvals_to_merge', branch_match_kind: 'glob', pattern: 'x' }), 400, 'needs a value');
    assert.equal(await bad({ kind: 'push', branch_match_kind: 'glob', pattern: 'x', users: [{ uuid: '{00000000-0000-4000-8000-000000000000}' }] }), 400);
    assert.equal((await world.call('PUT', path, { body: { kind: 'bogus' }, template: `${REPO}/branch-restrictions/{id}` })).status, 400);
    assert.equal((await world.call('GET', path, { template: `${REPO}/branch-restrictions/{id}` })).body.kind, 'require_approvals_to_merge', 'a refused update changes nothing');
    assert.equal((await world.call('DELETE', path, { template: `${REPO}/branch-restrictions/{id}` })).status, 204);
    assert.equal((await world.call('GET', path, { template: `${REPO}/branch-restrictions/{id}` })).status, 404);
  });

  it('changes default reviewers, the branching model, webhooks, deploy keys and overrides', async () => {
    const added = await world.call('PUT', `${webApp}/default-reviewers/${encodeURIComponent(DEMO_USERS.member.accountId)}`, { template: `${REPO}/default-reviewers/{target_username}` });
    assert.equal(added.body.uuid, DEMO_USERS.member.uuid);
    await world.call('PUT', `${webApp}/default-reviewers/carol`, { template: `${REPO}/default-reviewers/{target_username}` });
    assert.deepEqual((await world.all(`${webApp}/default-reviewers`)).map((u) => u.nickname), ['bob', 'carol'], 'adding twice has no effect');
    assert.equal((await world.call('DELETE', `${webApp}/default-reviewers/carol`, { template: `${REPO}/default-reviewers/{target_username}` })).status, 204);
    assert.equal((await world.call('PUT', `${webApp}/default-reviewers/nobody`, { template: `${REPO}/default-reviewers/{target_username}` })).status, 404);

    const model = await world.call('PUT', `${webApp}/branching-model/settings`, { body: { development: { use_mainbranch: false, name: 'develop' }, branch_types: [{ kind: 'hotfix', enabled: true, prefix: 'hot/' }] } });
    assert.equal(model.status, 200, JSON.stringify(model.body));
    assert.deepEqual(model.body.development, { is_valid: true, name: 'develop', use_mainbranch: false });
    assert.equal((await world.call('GET', `${webApp}/branching-model`)).body.development.branch.name, 'develop');
    const missing = await world.call('PUT', `${webApp}/branching-model/settings`, { body: { development: { use_mainbranch: false, name: 'no-such-branch' } } });
    assert.equal(missing.status, 400);
    assert.equal((await world.call('GET', `${webApp}/branching-model/settings`)).body.development.name, 'develop');

    const hook = await world.call('POST', `${webApp}/hooks`, { body: { description: 'Backup', url: 'https://backup.example.com/', active: true, secret: 's3cret', events: ['repo:push', 'pullrequest:created'] } });
    assert.equal(hook.status, 201);
    assert.equal(hook.body.secret_set, true);
    assert.ok(!hook.bytes.toString().includes('s3cret'));
    const hookPath = `${webApp}/hooks/${encodeURIComponent(hook.body.uuid)}`;
    const paused = await world.call('PUT', hookPath, { body: { active: false, secret: '' }, template: `${REPO}/hooks/{uid}` });
    assert.deepEqual([paused.body.active, paused.body.secret_set], [false, false]);
    assert.equal((await world.call('POST', `${webApp}/hooks`, { body: { url: 'https://x.example.com/', events: ['repo:nothing'] } })).status, 400);
    // Issue events went with Issues (2026-08-20).
    const issueEvents = await world.call('POST', `${webApp}/hooks`, { body: { url: 'https://x.example.com/', events: ['issue:created'] } });
    assert.equal(issueEvents.status, 400);
    assert.match(issueEvents.body.error.detail, /^events\[0\]: /);
    assert.equal((await world.call('DELETE', hookPath, { template: `${REPO}/hooks/{uid}` })).status, 204);

    const key = await world.call('POST', `${webApp}/deploy-keys`, { body: { key: publicKey(9, 'ci@example.com'), label: 'CI' } });
    assert.equal(key.status, 200, 'Bitbucket answers a new deploy key with 200');
    assert.equal(key.body.comment, 'ci@example.com');
    assert.equal(key.body.key, publicKey(9));
    const keyPath = `${webApp}/deploy-keys/${key.body.id}`;
    assert.equal((await world.call('PUT', keyPath, { body: { label: 'CI runner' }, template: `${REPO}/deploy-keys/{key_id}` })).body.label, 'CI runner');
    assert.equal((await world.call('POST', `${webApp}/deploy-keys`, { body: { key: 'ssh-ed25519 AAAAnotakey', label: 'bad' } })).status, 400);
    assert.equal((await world.call('POST', `${webApp}/deploy-keys`, { body: { key: publicKey(9), label: 'again' } })).status, 400);
    assert.equal((await world.call('DELETE', keyPath, { template: `${REPO}/deploy-keys/{key_id}` })).status, 204);

    assert.equal((await world.call('PUT', `${webApp}/override-settings`, { body: { override_settings: { branching_model: true } } })).status, 204);
    assert.deepEqual((await world.call('GET', `${webApp}/override-settings`)).body.override_settings, { default_merge_strategy: false, branching_model: true });
  });

  it('lists and changes explicit user permissions', async () => {
    const users = await world.all(`${webApp}/permissions-config/users`);
    assert.deepEqual(users.map((p) => [p.user.uuid, p.permission]), [[DEMO_USERS.repoAdmin.uuid, 'admin']]);
    const path = `${webApp}/permissions-config/users/${encodeURIComponent(DEMO_USERS.member.accountId)}`;
    const template = `${REPO}/permissions-config/users/{selected_user_id}`;
    assert.equal((await world.call('GET', path, { template })).status, 404);
    // Carol reads web-app as a workspace member; a write permission lets her open pull requests.
    assert.equal((await world.call('PUT', path, { body: { permission: 'write' }, template })).body.permission, 'write');
    const owner = `${webApp}/permissions-config/users/${encodeURIComponent(DEMO_USERS.admin.accountId)}`;
    assert.equal((await world.call('PUT', owner, { body: { permission: 'admin' }, template })).status, 400, 'a workspace owner cannot be given an explicit permission');
    assert.equal((await world.call('PUT', path, { as: 'forgeApp', body: { permission: 'admin' }, template })).status, 403, 'API tokens only: not the Forge app identity');
    const opened = await world.call('POST', `${webApp}/pullrequests`, { as: 'member', body: { title: 'Now allowed', source: { branch: { name: 'feature/dark-mode' } } } });
    assert.equal(opened.status, 201);
    assert.equal((await world.call('DELETE', path, { template })).status, 204);
    assert.equal((await world.call('POST', `${webApp}/pullrequests`, { as: 'member', body: { title: 'Not any more', source: { branch: { name: 'feature/dark-mode' } } } })).status, 403);
    assert.deepEqual(await world.all(`${webApp}/permissions-config/groups`), []);
    assert.equal((await world.call('GET', `${webApp}/permissions-config/users`, { as: 'member' })).status, 403);
  });
});
