import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DEMO_REPOSITORIES, DEMO_USERS, DEMO_WORKSPACE } from '../demo.js';
import { validateResponse } from './spec.js';
import { apiTokenAuth, call, startTestEmulator, WORKSPACE_TOKEN_AUTH, type TestEmulator } from './test-support.js';

type Json = Record<string, unknown>;
type Page = { values: Json[]; page: number; pagelen: number; size: number; next?: string; previous?: string };

const WS = DEMO_WORKSPACE.slug;
const alice = apiTokenAuth('admin');
const bob = apiTokenAuth('repoAdmin');
const carol = apiTokenAuth('member');

let emulator: TestEmulator;

before(async () => {
  emulator = await startTestEmulator();
});

after(async () => {
  await emulator.dispose();
});

async function conformingGet(path: string, template: string, authorization = alice): Promise<Json> {
  const { status, body } = await call(emulator, path, authorization);
  assert.equal(status, 200, `${path}: ${JSON.stringify(body)}`);
  assert.deepEqual(validateResponse('GET', template, status, body), [], path);
  return body as Json;
}

describe('core routes answer in the documented shapes', () => {
  it('users', async () => {
    const me = await conformingGet('/2.0/user', '/2.0/user');
    assert.equal(me.uuid, DEMO_USERS.admin.uuid);
    assert.equal(me.account_id, DEMO_USERS.admin.accountId);
    const bob = await conformingGet(`/2.0/users/${encodeURIComponent(DEMO_USERS.repoAdmin.uuid)}`, '/2.0/users/{selected_user}');
    assert.equal(bob.nickname, 'bob');
    assert.equal(((await conformingGet(`/2.0/users/${DEMO_USERS.member.accountId}`, '/2.0/users/{selected_user}')).nickname), 'carol');
  });

  it('workspaces, members and permissions', async () => {
    const access = await conformingGet('/2.0/user/workspaces', '/2.0/user/workspaces') as Page;
    assert.deepEqual(access.values.map((entry) => entry.administrator), [true]);
    const bobAccess = await conformingGet('/2.0/user/workspaces', '/2.0/user/workspaces', bob) as Page;
    assert.deepEqual(bobAccess.values.map((entry) => entry.administrator), [false]);
    const workspace = await conformingGet(`/2.0/workspaces/${WS}`, '/2.0/workspaces/{workspace}');
    assert.equal(workspace.uuid, DEMO_WORKSPACE.uuid);
    const members = await conformingGet(`/2.0/workspaces/${WS}/members`, '/2.0/workspaces/{workspace}/members') as Page;
    assert.deepEqual(members.values.map((member) => (member.user as Json).nickname), ['alice', 'bob', 'carol']);
    await conformingGet(`/2.0/workspaces/${WS}/members/${encodeURIComponent(DEMO_USERS.member.uuid)}`, '/2.0/workspaces/{workspace}/members/{member}');
    const owners = await conformingGet(`/2.0/workspaces/${WS}/permissions?q=${encodeURIComponent('permission="owner"')}`, '/2.0/workspaces/{workspace}/permissions') as Page;
    assert.deepEqual(owners.values.map((member) => (member.user as Json).nickname), ['alice']);
    const repoPermissions = await conformingGet(`/2.0/workspaces/${WS}/permissions/repositories?pagelen=100`, '/2.0/workspaces/{workspace}/permissions/repositories') as Page;
    const bobOnWebApp = repoPermissions.values.find((entry) => (entry.user as Json).nickname === 'bob' && (entry.repository as Json).full_name === `${WS}/web-app`);
    assert.equal(bobOnWebApp?.permission, 'admin');
    await conformingGet(`/2.0/workspaces/${WS}/permissions/repositories/docs`, '/2.0/workspaces/{workspace}/permissions/repositories/{repo_slug}');
    await conformingGet(`/2.0/workspaces/${WS}/projects`, '/2.0/workspaces/{workspace}/projects');
    await conformingGet(`/2.0/workspaces/${WS}/projects/LB`, '/2.0/workspaces/{workspace}/projects/{project_key}');
  });

  it("the caller's own permissions", async () => {
    const carolRole = await conformingGet(`/2.0/user/workspaces/${WS}/permission`, '/2.0/user/workspaces/{workspace}/permission', carol);
    assert.equal(carolRole.permission, 'member');
    const aliceRole = await conformingGet(`/2.0/user/workspaces/${WS}/permission`, '/2.0/user/workspaces/{workspace}/permission');
    assert.equal(aliceRole.permission, 'owner');
    const bobRepos = await conformingGet(`/2.0/user/workspaces/${WS}/permissions/repositories?q=${encodeURIComponent('permission>"read"')}`, '/2.0/user/workspaces/{workspace}/permissions/repositories', bob) as Page;
    assert.deepEqual(bobRepos.values.map((entry) => [(entry.repository as Json).full_name, entry.permission]), [[`${WS}/web-app`, 'admin']]);
    const carolOnDocs = await conformingGet(`/2.0/user/workspaces/${WS}/permissions/repositories?q=${encodeURIComponent(`repository.uuid="${DEMO_REPOSITORIES[2].uuid}"`)}`, '/2.0/user/workspaces/{workspace}/permissions/repositories', carol) as Page;
    assert.deepEqual(carolOnDocs.values.map((entry) => entry.permission), ['read']);
  });

  it('repositories, branches and tags', async () => {
    const repositories = await conformingGet(`/2.0/repositories/${WS}`, '/2.0/repositories/{workspace}') as Page;
    assert.deepEqual(repositories.values.map((repository) => repository.slug), DEMO_REPOSITORIES.map((repository) => repository.slug));
    const webApp = await conformingGet(`/2.0/repositories/${WS}/web-app`, '/2.0/repositories/{workspace}/{repo_slug}');
    assert.deepEqual([webApp.has_issues, webApp.has_wiki], [false, false], 'Issues and Wikis are gone');
    assert.equal((webApp.mainbranch as Json).name, 'main');
    assert.ok((webApp.size as number) > 0);
    assert.equal(((webApp.links as Json).clone as Json[])[0]?.href, emulator.gitUrl(WS, 'web-app'));

    const branches = await conformingGet(`/2.0/repositories/${WS}/web-app/refs/branches`, '/2.0/repositories/{workspace}/{repo_slug}/refs/branches') as Page;
    assert.deepEqual(branches.values.map((branch) => branch.name), ['develop', 'feature/dark-mode', 'feature/login-sso', 'main']);
    const main = branches.values.find((branch) => branch.name === 'main');
    assert.equal(((main?.target as Json).parents as unknown[]).length, 2, 'main ends in the merge of develop');
    const tags = await conformingGet(`/2.0/repositories/${WS}/web-app/refs/tags`, '/2.0/repositories/{workspace}/{repo_slug}/refs/tags') as Page;
    assert.deepEqual(tags.values.map((tag) => [tag.name, tag.message === null ? null : String(tag.message).trim()]), [['nightly', null], ['v1.0.0', 'Release 1.0.0'], ['v1.1.0', 'Release 1.1.0: login validation']]);
    await conformingGet(`/2.0/repositories/${WS}/web-app/refs`, '/2.0/repositories/{workspace}/{repo_slug}/refs');
    const branch = await conformingGet(`/2.0/repositories/${WS}/web-app/refs/branches/${encodeURIComponent('feature/dark-mode')}`, '/2.0/repositories/{workspace}/{repo_slug}/refs/branches/{name}');
    assert.equal(((branch.target as Json).author as Json).raw, 'Carol Member <carol@example.com>');
    assert.equal((((branch.target as Json).author as Json).user as Json).nickname, 'carol');
    await conformingGet(`/2.0/repositories/${WS}/web-app/refs/tags/v1.0.0`, '/2.0/repositories/{workspace}/{repo_slug}/refs/tags/{name}');
  });

  it('errors are Bitbucket error bodies', async () => {
    const unknown = await call(emulator, '/2.0/no/such/thing', alice);
    assert.equal(unknown.status, 404);
    assert.equal((unknown.body as Json).type, 'error');
    assert.equal(typeof ((unknown.body as Json).error as Json).message, 'string');
    const missing = await call(emulator, `/2.0/repositories/${WS}/nope`, alice);
    assert.equal(missing.status, 404);
    assert.deepEqual(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}', 404, missing.body), []);
    const wrongMethod = await call(emulator, '/2.0/user', alice, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET');
    const missingBranch = await call(emulator, `/2.0/repositories/${WS}/web-app/refs/branches/nope`, alice);
    assert.equal(missingBranch.status, 404);
  });
});

describe('what Bitbucket removed in 2026', () => {
  it('Issues and Wikis (2026-08-20): their endpoints are gone, as any path Bitbucket does not host', async () => {
    const webApp = `/2.0/repositories/${WS}/web-app`;
    const gone = [`${webApp}/issues`, `${webApp}/issues/1`, `${webApp}/issues/1/comments`, `${webApp}/issues/export/web-app-issues-1.zip`, `${webApp}/milestones`, `${webApp}/versions`, `${webApp}/components`];
    for (const path of gone) {
      const answer = await call(emulator, path, alice);
      assert.equal(answer.status, 404, path);
      assert.match(String(((answer.body as Json).error as Json).detail), /There is no API hosted at this URL/, path);
    }
    assert.equal((await call(emulator, `${webApp}/issues`, alice, { method: 'POST', body: { title: 'too late' } })).status, 404);
    assert.equal((await call(emulator, `${webApp}/issues/export`, WORKSPACE_TOKEN_AUTH, { method: 'POST', body: {} })).status, 404);
    assert.equal((await fetch(`${emulator.gitUrl(WS, 'web-app')}/wiki/info/refs?service=git-upload-pack`, { headers: { Authorization: alice } })).status, 404, 'no wiki over git either');
  });

  it('cross-workspace endpoints (CHANGE-2770) answer 410 and name the replacement', async () => {
    const replacements: Record<string, RegExp> = {
      '/2.0/repositories': /\/2\.0\/repositories\/\{workspace\}/,
      '/2.0/workspaces': /\/2\.0\/user\/workspaces/,
      '/2.0/user/permissions/workspaces': /\/2\.0\/user\/workspaces\/\{workspace\}\/permission/,
      '/2.0/user/permissions/repositories': /\/2\.0\/user\/workspaces\/\{workspace\}\/permissions\/repositories/,
    };
    for (const [path, replacement] of Object.entries(replacements)) {
      const answer = await call(emulator, path, alice);
      assert.equal(answer.status, 410, path);
      assert.deepEqual(validateResponse('GET', path, 410, answer.body), [], path);
      assert.match(String(((answer.body as Json).error as Json).detail), replacement, path);
    }
  });
});

describe('request bodies', () => {
  const webApp = `/2.0/repositories/${WS}/web-app`;

  it('a body that does not fit is a 400 naming each field, as Bitbucket answers', async () => {
    const bad = await call(emulator, webApp, alice, { method: 'PUT', body: { is_private: 'yes', fork_policy: 'sometimes', mainbranch: {} } });
    assert.equal(bad.status, 400);
    assert.deepEqual(validateResponse('PUT', '/2.0/repositories/{workspace}/{repo_slug}', 400, bad.body), []);
    const error = (bad.body as Json).error as Json;
    assert.equal(error.message, 'Bad request');
    assert.deepEqual(String(error.detail).split('; ').map((line) => line.split(':')[0]).sort(), ['fork_policy', 'is_private', 'mainbranch.name']);
    assert.match(String(error.detail), /mainbranch\.name: This field is required\./);
    const notJson = await fetch(`${emulator.url}${webApp}`, { method: 'PUT', headers: { Authorization: alice, 'Content-Type': 'application/json' }, body: '{"description":' });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { error: Json }).error.detail, 'The request body is not valid JSON.');
  });

  it('a refused update changes nothing', async () => {
    const before = (await call(emulator, webApp, alice)).body as Json;
    const refused = await call(emulator, webApp, alice, { method: 'PUT', body: { description: 'half-applied', language: 'cobol', project: { key: 'NOPE' } } });
    assert.equal(refused.status, 400);
    assert.match(String(((refused.body as Json).error as Json).detail), /project: no project NOPE/);
    const after = (await call(emulator, webApp, alice)).body as Json;
    assert.deepEqual([after.description, after.language, after.updated_on], [before.description, before.language, before.updated_on]);
  });
});

describe('authentication and permissions', () => {
  const webApp = `/2.0/repositories/${WS}/web-app`;

  it('missing credentials on a private resource: 401 with WWW-Authenticate; wrong ones: 401', async () => {
    const anonymous = await call(emulator, webApp);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.equal((await call(emulator, '/2.0/user')).status, 401);
    const wrongToken = await call(emulator, webApp, `Basic ${Buffer.from('alice@example.com:wrong').toString('base64')}`);
    assert.equal(wrongToken.status, 401);
    assert.equal((wrongToken.body as Json).type, 'error');
    // REST takes an API token with the email, not the nickname.
    assert.equal((await call(emulator, webApp, `Basic ${Buffer.from(`alice:${DEMO_USERS.admin.apiToken}`).toString('base64')}`)).status, 401);
    assert.equal((await call(emulator, webApp, 'Bearer not-a-token')).status, 401);
    assert.equal((await call(emulator, webApp, emulator.forgeAppAuthorization('712020:nobody'))).status, 401);
  });

  it('every credential kind reads the repository', async () => {
    for (const authorization of [alice, bob, carol, WORKSPACE_TOKEN_AUTH, emulator.forgeAppAuthorization(), emulator.forgeAppAuthorization(DEMO_USERS.member.accountId)]) {
      const { status, body } = await call(emulator, webApp, authorization);
      assert.equal(status, 200, authorization);
      assert.equal((body as Json).uuid, DEMO_REPOSITORIES[0].uuid);
    }
    const asApp = await call(emulator, '/2.0/user', emulator.forgeAppAuthorization());
    assert.equal((asApp.body as Json).nickname, 'lifeboat-forge-app');
    const asUser = await call(emulator, '/2.0/user', emulator.forgeAppAuthorization(DEMO_USERS.repoAdmin.accountId));
    assert.equal((asUser.body as Json).nickname, 'bob');
  });

  it('a member may read but not administer; a repository admin may', async () => {
    const denied = await call(emulator, `/2.0/repositories/${WS}/docs`, carol, { method: 'PUT', body: { description: 'carol was here' } });
    assert.equal(denied.status, 403);
    assert.equal((denied.body as Json).type, 'error');
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/docs`, bob, { method: 'PUT', body: { description: 'bob too' } })).status, 403);
    const allowed = await call(emulator, webApp, bob, { method: 'PUT', body: { description: 'Maintained by Bob.' } });
    assert.equal(allowed.status, 200);
    assert.equal((allowed.body as Json).description, 'Maintained by Bob.');
    assert.equal((await call(emulator, `/2.0/workspaces/${WS}/permissions/repositories`, carol)).status, 403);
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/web-app/refs/branches`, carol)).status, 200);
  });

  it('the Forge app identity is refused where the spec does not list it', async () => {
    const hooks = `/2.0/repositories/${WS}/web-app/hooks`;
    const refused = await call(emulator, hooks, emulator.forgeAppAuthorization());
    assert.equal(refused.status, 403);
    assert.deepEqual(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}/hooks', 403, refused.body), []);
    assert.equal((await call(emulator, hooks, emulator.forgeAppAuthorization(DEMO_USERS.admin.accountId))).status, 403);
    assert.equal((await call(emulator, hooks, alice)).status, 200);
  });

  it('a repository access token reaches only its repository and only with its scopes', async () => {
    const token = await emulator.createAccessToken({ kind: 'repository', workspace: WS, repository: 'api-server', scopes: ['repository'] });
    const auth = `Bearer ${token.token}`;
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/api-server`, auth)).status, 200);
    assert.equal((await call(emulator, webApp, auth)).status, 404, 'another repository is hidden');
    const listed = await call(emulator, `/2.0/repositories/${WS}`, auth);
    assert.deepEqual((listed.body as Page).values.map((repository) => repository.slug), ['api-server']);
    const lacking = await call(emulator, `/2.0/repositories/${WS}/api-server/pullrequests`, auth);
    assert.equal(lacking.status, 403, 'pullrequest scope missing');
    assert.match(String(((lacking.body as Json).error as Json).detail), /pullrequest/);
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/api-server`, auth, { method: 'DELETE' })).status, 403);
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/api-server/hooks`, auth)).status, 403, 'webhook scope missing');
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/web-app/hooks`, WORKSPACE_TOKEN_AUTH)).status, 200);
  });

  it('access tokens never query or change repository permissions, nor add, update or delete deploy keys (spec narrative, "Access tokens")', async () => {
    // The demo workspace token has repository:admin, which the operations' security lists would take.
    const admin = await call(emulator, `${webApp}/permissions-config/users`, WORKSPACE_TOKEN_AUTH);
    assert.equal(admin.status, 403);
    assert.deepEqual(validateResponse('GET', '/2.0/repositories/{workspace}/{repo_slug}/permissions-config/users', 403, admin.body), []);
    assert.equal((await call(emulator, `${webApp}/permissions-config/groups`, WORKSPACE_TOKEN_AUTH)).status, 403);
    assert.equal((await call(emulator, `${webApp}/permissions-config/users/${encodeURIComponent(DEMO_USERS.member.accountId)}`, WORKSPACE_TOKEN_AUTH, { method: 'PUT', body: { permission: 'read' } })).status, 403);
    assert.equal((await call(emulator, `${webApp}/deploy-keys`, WORKSPACE_TOKEN_AUTH)).status, 200, 'listing deploy keys is not among the refused APIs');
    const [key] = ((await call(emulator, `${webApp}/deploy-keys`, WORKSPACE_TOKEN_AUTH)).body as Page).values;
    assert.equal((await call(emulator, `${webApp}/deploy-keys/${String(key!.id)}`, WORKSPACE_TOKEN_AUTH, { method: 'DELETE' })).status, 403);
    assert.equal((await call(emulator, `${webApp}/deploy-keys/${String(key!.id)}`, WORKSPACE_TOKEN_AUTH, { method: 'PUT', body: { label: 'x' } })).status, 403);
    assert.equal((await call(emulator, `${webApp}/permissions-config/users`, alice)).status, 200, 'an API token may');
  });

  it('an API token reaches the settings only with their x-atlassian-oauth2-scopes, none implying another', async () => {
    const service = await emulator.createApiToken({ workspace: WS, permission: 'owner', scopes: ['read:repository:bitbucket', 'read:webhook:bitbucket'] });
    const auth = `Basic ${Buffer.from(`${service.email}:${service.apiToken}`).toString('base64')}`;
    assert.equal((await call(emulator, `${webApp}/hooks`, auth)).status, 200);
    const keys = await call(emulator, `${webApp}/deploy-keys`, auth);
    assert.equal(keys.status, 403);
    assert.match(String(((keys.body as Json).error as Json).detail), /Missing: admin:repository:bitbucket/);
    const hook = await call(emulator, `${webApp}/hooks`, auth, { method: 'POST', body: { url: 'https://hooks.example.com/x', events: ['repo:push'] } });
    assert.equal(hook.status, 403, 'write:webhook:bitbucket is not read:webhook:bitbucket');
    assert.match(String(((hook.body as Json).error as Json).detail), /Missing: write:webhook:bitbucket/);
  });

  it('every credential the access table names may read what it names for backups, and not without one of its scopes', async () => {
    const { ACCESS, ACCESS_AREAS } = await import('../../src/bitbucket/credentials.js');
    for (const area of ACCESS_AREAS) {
      for (const requirement of ACCESS[area].backup) {
        if (requirement.identity !== 'credential') continue;
        const reads = requirement.operations.filter((operation) => operation.startsWith('GET ')).map((operation) => operation.slice('GET '.length).replace('{workspace}', WS).replace('{repo_slug}', 'web-app'));
        for (const [kind, scopes] of Object.entries(requirement.scopes)) {
          if (scopes === null || reads.length === 0) continue;
          const as = async (granted: string[]): Promise<string> => (kind === 'access-token'
            ? `Bearer ${(await emulator.createAccessToken({ kind: 'workspace', workspace: WS, scopes: granted })).token}`
            : await emulator.createApiToken({ workspace: WS, permission: 'owner', scopes: granted }).then((user) => `Basic ${Buffer.from(`${user.email}:${user.apiToken}`).toString('base64')}`));
          const exact = await as([...scopes]);
          for (const path of reads) assert.equal((await call(emulator, path, exact)).status, 200, `${area}: ${kind} with ${scopes.join(', ')} reads ${path}`);
          for (const left of scopes) {
            const short = await as(scopes.filter((scope) => scope !== left));
            for (const path of reads) assert.equal((await call(emulator, path, short)).status, 403, `${area}: ${kind} without ${left} may not read ${path}`);
          }
        }
      }
    }
  });

  it('Forge scopes not granted to the app are refused', async () => {
    const narrow = await startTestEmulator({ appScopes: ['read:repository:bitbucket'] });
    try {
      assert.equal((await call(narrow, webApp, narrow.forgeAppAuthorization())).status, 200);
      const refused = await call(narrow, `/2.0/workspaces/${WS}`, narrow.forgeAppAuthorization());
      assert.equal(refused.status, 403);
      assert.match(String(((refused.body as Json).error as Json).detail), /read:workspace:bitbucket/);
      assert.equal((await call(narrow, `/2.0/workspaces/${WS}`, alice)).status, 200, 'other credentials are not bound by app scopes');
    } finally {
      await narrow.dispose();
    }
  });
});

describe('paging, fields, q and sort', () => {
  const branches = `/2.0/repositories/${WS}/web-app/refs/branches`;

  it('next links cover every item exactly once', async () => {
    const all = (await call(emulator, `${branches}?pagelen=100`, alice)).body as Page;
    const seen: string[] = [];
    let url: string | undefined = `${branches}?pagelen=1&sort=-name`;
    let pages = 0;
    while (url) {
      const page = (await call(emulator, url, alice)).body as Page;
      assert.equal(page.pagelen, 1);
      assert.equal(page.size, all.values.length);
      seen.push(...page.values.map((branch) => branch.name as string));
      if (page.next) assert.equal(new URL(page.next).searchParams.get('sort'), '-name');
      url = page.next;
      pages++;
    }
    assert.equal(pages, all.values.length);
    assert.deepEqual(seen, all.values.map((branch) => branch.name as string).reverse());
  });

  it('caps pagelen at 100 and refuses nonsense', async () => {
    assert.equal(((await call(emulator, `${branches}?pagelen=1000`, alice)).body as Page).pagelen, 100);
    assert.equal((await call(emulator, `${branches}?pagelen=0`, alice)).status, 400);
  });

  it('fields= trims the answer', async () => {
    const trimmed = (await call(emulator, `${branches}?fields=values.name,next&pagelen=2`, alice)).body as Json;
    assert.deepEqual(Object.keys(trimmed).sort(), ['next', 'values']);
    assert.deepEqual(trimmed.values, [{ name: 'develop' }, { name: 'feature/dark-mode' }]);
    const without = (await call(emulator, `/2.0/repositories/${WS}/web-app?fields=-links,-owner`, alice)).body as Json;
    assert.equal(without.links, undefined);
    assert.equal(without.owner, undefined);
    assert.equal(without.slug, 'web-app');
  });

  it('q= filters and sort= orders', async () => {
    const features = (await call(emulator, `${branches}?q=${encodeURIComponent('name ~ "feature/"')}`, alice)).body as Page;
    assert.deepEqual(features.values.map((branch) => branch.name), ['feature/dark-mode', 'feature/login-sso']);
    assert.equal(features.size, 2);
    const recent = (await call(emulator, `/2.0/repositories/${WS}?q=${encodeURIComponent('project.key = "LB" and updated_on > 2026-10-10T00:00:00+00:00')}`, alice)).body as Page;
    assert.deepEqual(recent.values.map((repository) => repository.slug), ['web-app']);
    const sorted = (await call(emulator, `/2.0/repositories/${WS}?sort=-updated_on&fields=values.slug`, alice)).body as Page;
    assert.deepEqual(sorted.values.map((repository) => repository.slug), ['web-app', 'docs', 'api-server']);
    const admin = (await call(emulator, `/2.0/repositories/${WS}?role=admin`, bob)).body as Page;
    assert.deepEqual(admin.values.map((repository) => repository.slug), ['web-app']);
    assert.equal((await call(emulator, `${branches}?q=${encodeURIComponent('name = ')}`, alice)).status, 400);
  });
});

describe('rate limits', () => {
  it('answers 429 with the headers once a credential has spent its hourly budget', async () => {
    const limited = await startTestEmulator({ rateLimitPerHour: 5 });
    try {
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof call>> | undefined;
      for (let index = 0; index < 6; index++) {
        last = await call(limited, '/2.0/user', carol);
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
      assert.deepEqual(last?.body, { type: 'error', error: { message: 'Rate limit for this resource has been exceeded' } });
      assert.equal(last?.headers.get('x-ratelimit-limit'), '5');
      assert.equal(last?.headers.get('x-ratelimit-resource'), 'api');
      assert.equal(last?.headers.get('x-ratelimit-nearlimit'), 'true');
      assert.equal((await call(limited, '/2.0/user', bob)).status, 200, 'each credential has its own budget');
    } finally {
      await limited.dispose();
    }
  });
});

describe('repository lifecycle', () => {
  it('POST creates a real bare repository and emits created; DELETE removes it and emits deleted', async () => {
    const created = await call(emulator, `/2.0/repositories/${WS}/scratch`, alice, { method: 'POST', body: { scm: 'git', is_private: true, description: 'made by a test', has_wiki: true, project: { key: 'LB' } } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.deepEqual(validateResponse('POST', '/2.0/repositories/{workspace}/{repo_slug}', 200, created.body), []);
    assert.equal((created.body as Json).has_wiki, false, 'asking for a wiki gets none: Bitbucket has no wikis any more');
    const uuid = (created.body as Json).uuid as string;
    assert.ok(existsSync(emulator.gitDir(WS, 'scratch')));
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/scratch`, alice, { method: 'POST', body: {} })).status, 400, 'the slug is taken');
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/Bad%20Slug`, alice, { method: 'POST', body: {} })).status, 400);

    await emulator.eventsIdle();
    const createdEvent = emulator.received.find((event) => event.eventType === 'avi:bitbucket:created:repository' && event.repository.uuid === uuid);
    assert.ok(createdEvent, 'created event delivered');
    assert.deepEqual(createdEvent.actor, { type: 'user', accountId: DEMO_USERS.admin.accountId, uuid: DEMO_USERS.admin.uuid });
    assert.equal(createdEvent.workspace.uuid, DEMO_WORKSPACE.uuid);
    assert.equal(createdEvent.selfGenerated, false);

    assert.equal((await call(emulator, `/2.0/repositories/${WS}/scratch`, carol, { method: 'DELETE' })).status, 403);
    const deleted = await call(emulator, `/2.0/repositories/${WS}/scratch`, emulator.forgeAppAuthorization(), { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/scratch`, alice)).status, 404);
    assert.ok(!existsSync(emulator.gitDir(WS, 'scratch')));
    await emulator.eventsIdle();
    const deletedEvent = emulator.received.find((event) => event.eventType === 'avi:bitbucket:deleted:repository' && event.repository.uuid === uuid);
    assert.ok(deletedEvent, 'deleted event delivered');
    assert.equal(deletedEvent.selfGenerated, true, 'the app deleted it itself');
  });

  it('PUT on a missing slug creates it (201)', async () => {
    const created = await call(emulator, `/2.0/repositories/${WS}/put-made`, bob, { method: 'PUT', body: { name: 'Put Made' } });
    assert.equal(created.status, 201);
    assert.deepEqual(validateResponse('PUT', '/2.0/repositories/{workspace}/{repo_slug}', 201, created.body), []);
    // Bob is a plain member of the workspace, and administers what he created.
    assert.equal((await call(emulator, `/2.0/repositories/${WS}/put-made`, bob, { method: 'DELETE' })).status, 204);
  });
});

describe('robustness', () => {
  it('a handler that throws answers 500 and the server keeps going', async () => {
    const broken = await startTestEmulator({
      resourceModules: [{
        register: (registry) => registry.add('GET', '/2.0/repositories/{workspace}/{repo_slug}/hooks', () => { throw new Error('boom'); }),
        seed: () => undefined,
      }],
    });
    try {
      const { status, body } = await call(broken, `/2.0/repositories/${WS}/web-app/hooks`, alice);
      assert.equal(status, 500);
      assert.equal((body as Json).type, 'error');
      assert.equal((await call(broken, '/2.0/user', alice)).status, 200);
    } finally {
      await broken.dispose();
    }
  });

  it('malformed paths get 404s, not crashes', async () => {
    assert.equal((await fetch(`${emulator.url}/2.0/repositories/${WS}/%E0%A4%A`, { headers: { Authorization: alice } })).status, 404);
    assert.equal((await fetch(`${emulator.url}/${WS}/%E0%A4%A.git/info/refs?service=git-upload-pack`)).status, 404);
    assert.equal((await fetch(`${emulator.url}/favicon.ico`)).status, 404);
    assert.equal((await call(emulator, '/2.0/user', alice)).status, 200);
  });
});

describe('persistence', () => {
  it('a restart on the same data directory keeps state and git data', async () => {
    const first = await startTestEmulator();
    const dataDir = first.dataDir;
    let second: TestEmulator | undefined;
    try {
      assert.equal((await call(first, `/2.0/repositories/${WS}/kept`, alice, { method: 'POST', body: { description: 'survives restarts' } })).status, 200);
      const before = JSON.stringify(first.state());
      const branchesBefore = (await call(first, `/2.0/repositories/${WS}/web-app/refs/branches`, alice)).body as Page;
      await first.close();
      second = await startTestEmulator({ dataDir });
      assert.equal(JSON.stringify(second.state()), before);
      const kept = await call(second, `/2.0/repositories/${WS}/kept`, alice);
      assert.equal((kept.body as Json).description, 'survives restarts');
      const branchesAfter = (await call(second, `/2.0/repositories/${WS}/web-app/refs/branches`, alice)).body as Page;
      assert.deepEqual(branchesAfter.values.map((branch) => (branch.target as Json).hash), branchesBefore.values.map((branch) => (branch.target as Json).hash));
    } finally {
      await second?.close();
      await first.dispose();
    }
  });

  it('seeding is deterministic', async () => {
    const other = await startTestEmulator();
    try {
      const hashes = async (target: TestEmulator): Promise<unknown[]> =>
        ((await call(target, `/2.0/repositories/${WS}/web-app/refs?pagelen=100`, alice)).body as Page).values.map((ref) => [ref.name, (ref.target as Json).hash]);
      assert.deepEqual(await hashes(other), await hashes(emulator));
    } finally {
      await other.dispose();
    }
  });
});
