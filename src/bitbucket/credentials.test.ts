// The access table (credentials.ts) against Atlassian's OpenAPI spec, entry by
// entry: a wrong scope, an identity the spec does not take, or a credential kind
// Bitbucket refuses fails here before any page states it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { findOperation } from '../../sandbox/bitbucket/spec.js';
import { ACCESS, ACCESS_AREAS, type CredentialKind, type Requirement, credentialExpiry, outOfReach, scopesFor } from './credentials.js';

const spec = JSON.parse(readFileSync(new URL('../../sandbox/bitbucket/spec/bitbucket-openapi.json', import.meta.url), 'utf8')) as {
  'x-atlassian-narrative': { documents: Array<{ title: string; body: string }> };
};
const authentication = spec['x-atlassian-narrative'].documents.find((document) => document.title === 'Authentication methods')!.body;

const operation = (name: string) => {
  const [method, template] = name.split(' ') as [string, string];
  const found = findOperation(method, template);
  assert.equal(found?.template, template, `${name} is an operation of the spec`);
  return found!;
};
const union = (names: readonly string[], of: (op: ReturnType<typeof operation>) => string[]): string[] => [...new Set(names.flatMap((name) => of(operation(name))))].sort();
const sorted = (scopes: readonly string[]): string[] => [...scopes].sort();

/** What the narrative says access tokens may not do at all. */
function refusedToAccessTokens(name: string): boolean {
  const [method, template] = name.split(' ') as [string, string];
  if (template.includes('/permissions-config/')) return authentication.includes("You can't use an access token to manipulate or query repository, project, or workspace permissions.");
  const deployKeyWrites = { POST: 'Add a repository deploy key', PUT: 'Update a repository deploy key', DELETE: 'Delete a repository deploy key' } as Record<string, string>;
  return template.includes('/deploy-keys') && deployKeyWrites[method] !== undefined
    && authentication.includes('There are some APIs which are inaccessible for Access tokens') && authentication.includes(deployKeyWrites[method]!);
}

const requirements = (): Array<{ at: string; requirement: Requirement }> =>
  ACCESS_AREAS.flatMap((area) => (['backup', 'restore'] as const).flatMap((phase) => ACCESS[area][phase].map((requirement) => ({ at: `${area} ${phase}`, requirement }))));

describe('the access table, against the OpenAPI spec', () => {
  it('names the app only for operations a Forge app may call, with their x-atlassian-oauth2-scopes', () => {
    for (const { at, requirement } of requirements()) {
      if (requirement.identity !== 'app') continue;
      for (const name of requirement.operations) assert.ok(operation(name).authTypes.includes('forge-oauth2'), `${at}: ${name} takes the Forge app`);
      assert.deepEqual(sorted(requirement.scopes), union(requirement.operations, (op) => op.forgeScopes), at);
    }
  });

  it('names the stored credential only where the app may not, with each kind\'s scopes or its refusal', () => {
    for (const { at, requirement } of requirements()) {
      if (requirement.identity !== 'credential') continue;
      const rest = requirement.operations.filter((name) => !name.startsWith('git-'));
      if (rest.length === 0) continue; // git: below
      assert.ok(rest.some((name) => !operation(name).authTypes.includes('forge-oauth2')), `${at}: some operation refuses the Forge app`);
      const api = requirement.scopes['api-token'];
      assert.ok(api, `${at}: API tokens may`);
      for (const name of rest) assert.ok(operation(name).authTypes.includes('api-token'), `${at}: ${name} takes API tokens`);
      assert.deepEqual(sorted(api), union(rest, (op) => op.forgeScopes), `${at}: API token scopes`);
      const access = requirement.scopes['access-token'];
      if (access === null) assert.ok(rest.every(refusedToAccessTokens), `${at}: the spec refuses access tokens`);
      else {
        assert.ok(!rest.some(refusedToAccessTokens), `${at}: the spec does not refuse access tokens`);
        assert.deepEqual(sorted(access), union(rest, (op) => op.tokenScopes), `${at}: access token scopes`);
      }
    }
  });

  it('git: clone with repository, push with repository:write (access tokens); the API token scopes of source code and branches', () => {
    assert.match(authentication, /clone \(`repository`\)\s+and push \(`repository:write`\)/);
    assert.deepEqual(ACCESS.git.backup[0]!.scopes, { 'access-token': ['repository'], 'api-token': ['read:repository:bitbucket'] });
    assert.deepEqual(ACCESS.git.restore[0]!.scopes, { 'access-token': ['repository:write'], 'api-token': ['write:repository:bitbucket'] });
  });
});

describe('what the admin page states', () => {
  it('the scopes each kind needs for backups, and the further ones for restores', () => {
    const expected: Record<CredentialKind, ReturnType<typeof scopesFor>> = {
      'access-token': { backup: ['repository', 'webhook', 'repository:admin'], restore: ['repository:write'] },
      'api-token': {
        backup: ['read:repository:bitbucket', 'read:webhook:bitbucket', 'admin:repository:bitbucket'],
        restore: ['write:repository:bitbucket', 'write:webhook:bitbucket', 'delete:webhook:bitbucket', 'write:ssh-key:bitbucket', 'delete:ssh-key:bitbucket', 'write:permission:bitbucket'],
      },
    };
    for (const kind of ['access-token', 'api-token'] as const) assert.deepEqual(scopesFor(kind), expected[kind], kind);
  });

  it('what an access token can never do: restore deploy keys and permissions, make the requester of a new repository its admin', () => {
    assert.deepEqual(outOfReach('access-token'), [
      { area: 'deploy-keys', phase: 'restore' }, { area: 'user-permissions', phase: 'restore' }, { area: 'group-permissions', phase: 'restore' }, { area: 'new-repository', phase: 'restore' },
    ]);
    assert.deepEqual(outOfReach('api-token'), []);
  });
});

describe('an API token\'s expiry', () => {
  const now = new Date('2026-12-07T22:30:00Z');
  it('warns within 14 days, on the day itself, and after', () => {
    assert.deepEqual(credentialExpiry('2027-03-01', now), { expiresOn: '2027-03-01', daysLeft: 84, state: 'ok' });
    assert.deepEqual(credentialExpiry('2026-12-22', now), { expiresOn: '2026-12-22', daysLeft: 15, state: 'ok' });
    assert.equal(credentialExpiry('2026-12-21', now).state, 'expiring');
    assert.deepEqual(credentialExpiry('2026-12-07', now), { expiresOn: '2026-12-07', daysLeft: 0, state: 'expiring' });
    assert.deepEqual(credentialExpiry('2026-12-06', now), { expiresOn: '2026-12-06', daysLeft: -1, state: 'expired' });
  });
});
