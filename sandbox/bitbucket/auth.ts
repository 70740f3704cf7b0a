/**
 * Who is calling, and what they may do, as Bitbucket Cloud decides it.
 *
 * Credentials:
 * - API token: REST `Basic email:token`; git user `x-bitbucket-api-token-auth`
 *   or the user's nickname, with the token as password. Its scopes bound what it
 *   may do on the routes that ask (credentialRefusal; not yet git or every route).
 * - Access token (repository, project, workspace): REST `Bearer token`; git user
 *   `x-token-auth` (or `Bearer`). It acts as its own bot user, reaches only its
 *   repository / project / workspace, and its scopes bound what it may do.
 * - Forge app: a Bearer token this emulator issues (`forgeAppAuthorization`),
 *   asApp or asUser; REST only, as Forge offers no git credential to hosted apps.
 *
 * Permissions: workspace owners administer every repository of the workspace;
 * members read every repository of it; anyone else needs an explicit
 * repository permission (explicit permissions raise a member's level too);
 * public repositories are readable by everyone. The app (asApp) administers
 * everything in the workspaces it is installed in (here: all); its scopes are
 * checked per operation.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { EmulatorState, Repository, RepositoryPermission, User, Workspace, WorkspacePermission } from './model.js';
import type { Principal } from './routes.js';
import type { SpecOperation } from './spec.js';

/** The Forge app's own account: the actor of asApp changes and the answer to asApp `GET /2.0/user`. */
export const FORGE_APP_USER: User = {
  uuid: '{e7c1a9d2-5b3f-4e60-9a8d-6f1e2d3c4b55}',
  accountId: '557058:f0e1d2c3-b4a5-4697-8877-665544332211',
  nickname: 'lifeboat-forge-app',
  displayName: 'Lifeboat',
  email: '',
  apiToken: '',
  createdOn: '2026-01-05T00:00:00+00:00',
};

export const WWW_AUTHENTICATE = 'Basic realm="Bitbucket.org HTTP"';

export type Authentication = { ok: true; principal: Principal } | { ok: false; reason: string };

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Issues and recognizes the Forge app's bearer tokens; the secret lives as long as the emulator process. */
export class ForgeIdentity {
  private readonly secret = randomBytes(18).toString('base64url');

  /** The Authorization header for asApp, or for asUser on behalf of `accountId`. */
  authorization(accountId?: string): string {
    const user = accountId === undefined ? '' : `.${Buffer.from(accountId, 'utf8').toString('base64url')}`;
    return `Bearer forge.${this.secret}${user}`;
  }

  /** For a token of ours: the account it acts for ('' for asApp). */
  parse(token: string): string | undefined {
    const [kind, secret, user, ...rest] = token.split('.');
    if (kind !== 'forge' || secret === undefined || rest.length > 0 || !same(secret, this.secret)) return undefined;
    return user === undefined ? '' : Buffer.from(user, 'base64url').toString('utf8');
  }
}

function basic(header: string): { username: string; password: string } | undefined {
  const decoded = Buffer.from(header.slice('Basic '.length).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function accessTokenPrincipal(state: EmulatorState, token: string): Authentication {
  const found = state.accessTokens.find((candidate) => same(candidate.token, token));
  if (!found) return { ok: false, reason: 'unknown access token' };
  const user = state.users.find((candidate) => candidate.uuid === found.botUserUuid);
  if (!user) return { ok: false, reason: 'access token without its bot user' };
  return {
    ok: true,
    principal: {
      kind: 'access-token',
      user,
      tokenKind: found.kind,
      workspaceUuid: found.workspaceUuid,
      ...(found.repositoryUuid === undefined ? {} : { repositoryUuid: found.repositoryUuid }),
      ...(found.projectKey === undefined ? {} : { projectKey: found.projectKey }),
      scopes: [...found.scopes],
    },
  };
}

function apiTokenUser(state: EmulatorState, matches: (user: User) => boolean, token: string): User | undefined {
  return state.users.find((user) => user.apiToken !== '' && matches(user) && same(user.apiToken, token));
}

/** The caller of a REST request; `appScopes` are the Forge app's granted scopes. */
export function authenticateRest(header: string | undefined, state: EmulatorState, forge: ForgeIdentity, appScopes: readonly string[]): Authentication {
  if (header === undefined || header.trim() === '') return { ok: true, principal: { kind: 'anonymous' } };
  if (/^Basic /i.test(header)) {
    const credentials = basic(header);
    // REST takes an API token only with the account's email, not its nickname.
    const user = credentials && apiTokenUser(state, (candidate) => candidate.email.toLowerCase() === credentials.username.toLowerCase(), credentials.password);
    return user ? { ok: true, principal: { kind: 'api-token', user } } : { ok: false, reason: 'invalid email or API token' };
  }
  if (/^Bearer /i.test(header)) {
    const token = header.slice('Bearer '.length).trim();
    const accountId = forge.parse(token);
    if (accountId === '') return { ok: true, principal: { kind: 'forge-app', scopes: [...appScopes] } };
    if (accountId !== undefined) {
      const user = state.users.find((candidate) => candidate.accountId === accountId);
      return user ? { ok: true, principal: { kind: 'forge-app', user, scopes: [...appScopes] } } : { ok: false, reason: `no user with account id ${accountId}` };
    }
    return accessTokenPrincipal(state, token);
  }
  return { ok: false, reason: 'unsupported Authorization scheme' };
}

/** The caller of a git request (Basic, or Bearer for access tokens). */
export function authenticateGit(header: string | undefined, state: EmulatorState): Authentication {
  if (header === undefined || header.trim() === '') return { ok: true, principal: { kind: 'anonymous' } };
  if (/^Bearer /i.test(header)) return accessTokenPrincipal(state, header.slice('Bearer '.length).trim());
  if (!/^Basic /i.test(header)) return { ok: false, reason: 'unsupported Authorization scheme' };
  const credentials = basic(header);
  if (!credentials) return { ok: false, reason: 'malformed Basic credentials' };
  if (credentials.username === 'x-token-auth') return accessTokenPrincipal(state, credentials.password);
  const user = credentials.username === 'x-bitbucket-api-token-auth'
    ? apiTokenUser(state, () => true, credentials.password)
    : apiTokenUser(state, (candidate) => candidate.nickname === credentials.username, credentials.password);
  return user ? { ok: true, principal: { kind: 'api-token', user } } : { ok: false, reason: `invalid credentials for ${credentials.username}` };
}

/**
 * What Bitbucket documents about credentials beyond the per-operation check of
 * server.ts (the Forge app's scopes and auth type, an access token's scopes):
 * - An API token carries scopes of its own, checked like the app's: every one of
 *   the operation's `x-atlassian-oauth2-scopes`, none implying another (spec
 *   narrative "Authentication methods", "Forge app and API token scopes").
 * - Access tokens "can't … manipulate or query repository, project, or workspace
 *   permissions", and adding, updating and deleting a repository deploy key "are
 *   inaccessible for Access tokens" (same narrative, "Access tokens").
 * Bitbucket's answer to these is not documented: assumed the 403 of a missing scope.
 */
export function credentialRefusal(principal: Principal, operation: SpecOperation): { message: string; detail: string } | undefined {
  if (principal.kind === 'api-token') {
    const granted = principal.user.apiTokenScopes;
    const missing = granted === undefined ? [] : operation.forgeScopes.filter((scope) => !granted.includes(scope));
    return missing.length > 0 ? { message: 'Your credentials lack one or more required privilege scopes.', detail: `Required: ${operation.forgeScopes.join(', ')}. Missing: ${missing.join(', ')}.` } : undefined;
  }
  if (principal.kind !== 'access-token') return undefined;
  if (operation.template.includes('/permissions-config/')) {
    return { message: 'Access tokens cannot use this API.', detail: 'An access token cannot query or manipulate repository, project, or workspace permissions.' };
  }
  if (/\/deploy-keys(\/\{key_id\})?$/.test(operation.template) && operation.method !== 'GET') {
    return { message: 'Access tokens cannot use this API.', detail: 'Adding, updating and deleting deploy keys is inaccessible for access tokens.' };
  }
  return undefined;
}

/** Access-token scopes that others imply (Bitbucket's OAuth scope documentation). */
const IMPLIED_SCOPES: Record<string, string[]> = {
  'repository:write': ['repository'],
  pullrequest: ['repository'],
  'pullrequest:write': ['pullrequest', 'repository:write'],
  project: ['repository'],
  'project:admin': ['project'],
  'account:write': ['account'],
  'team:write': ['team'],
  'pipeline:write': ['pipeline'],
  'pipeline:variable': ['pipeline:write'],
  'snippet:write': ['snippet'],
  'runner:write': ['runner'],
  'test:write': ['test'],
};

export function expandScopes(scopes: readonly string[]): Set<string> {
  const result = new Set<string>();
  const pending = [...scopes];
  while (pending.length > 0) {
    const scope = pending.pop() as string;
    if (result.has(scope)) continue;
    result.add(scope);
    pending.push(...(IMPLIED_SCOPES[scope] ?? []));
  }
  return result;
}

/** The required scopes that `granted` (with what it implies) lacks. */
export function missingScopes(granted: readonly string[], required: readonly string[]): string[] {
  const have = expandScopes(granted);
  return required.filter((scope) => !have.has(scope));
}

const RANK: Record<RepositoryPermission, number> = { read: 1, write: 2, admin: 3 };

export function atLeast(permission: RepositoryPermission | undefined, need: RepositoryPermission): boolean {
  return permission !== undefined && RANK[permission] >= RANK[need];
}

function higher(a: RepositoryPermission | undefined, b: RepositoryPermission | undefined): RepositoryPermission | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return RANK[a] >= RANK[b] ? a : b;
}

export function workspaceRole(workspace: Workspace, userUuid: string): WorkspacePermission | undefined {
  return workspace.members.find((member) => member.userUuid === userUuid)?.permission;
}

/** A person's level on a repository (not counting public read access). */
export function userRepositoryPermission(state: EmulatorState, user: User, repository: Repository): RepositoryPermission | undefined {
  const workspace = state.workspaces.find((candidate) => candidate.uuid === repository.workspaceUuid);
  const role = workspace && workspaceRole(workspace, user.uuid);
  if (role === 'owner') return 'admin';
  const explicit = repository.permissions.find((entry) => entry.userUuid === user.uuid)?.permission;
  return higher(role === 'member' ? 'read' : undefined, explicit);
}

/** Whether an access token's reach (repository, project or workspace) covers `repository`. */
function tokenReaches(principal: Extract<Principal, { kind: 'access-token' }>, repository: Repository): boolean {
  if (principal.workspaceUuid !== repository.workspaceUuid) return false;
  if (principal.tokenKind === 'repository') return principal.repositoryUuid === repository.uuid;
  if (principal.tokenKind === 'project') return principal.projectKey === repository.projectKey;
  return true;
}

/** The caller's level on a repository, or undefined when it may not even read it. */
export function repositoryPermission(state: EmulatorState, principal: Principal, repository: Repository): RepositoryPermission | undefined {
  const publicRead: RepositoryPermission | undefined = repository.isPrivate ? undefined : 'read';
  switch (principal.kind) {
    case 'anonymous':
      return publicRead;
    case 'api-token':
      return higher(userRepositoryPermission(state, principal.user, repository), publicRead);
    case 'access-token': {
      if (!tokenReaches(principal, repository)) return publicRead;
      const scopes = expandScopes(principal.scopes);
      return scopes.has('repository:admin') ? 'admin' : scopes.has('repository:write') ? 'write' : 'read';
    }
    case 'forge-app':
      return principal.user ? higher(userRepositoryPermission(state, principal.user, repository), publicRead) : 'admin';
  }
}

/** The person behind a principal, if any (not the bot of an access token, not the app itself). */
export function humanUser(principal: Principal): User | undefined {
  if (principal.kind === 'api-token') return principal.user;
  if (principal.kind === 'forge-app') return principal.user;
  return undefined;
}

/** Whether the caller may see a workspace at all. */
export function canSeeWorkspace(principal: Principal, workspace: Workspace): boolean {
  if (!workspace.isPrivate) return true;
  switch (principal.kind) {
    case 'anonymous':
      return false;
    case 'access-token':
      return principal.workspaceUuid === workspace.uuid;
    case 'forge-app':
      return principal.user ? workspaceRole(workspace, principal.user.uuid) !== undefined : true;
    case 'api-token':
      return workspaceRole(workspace, principal.user.uuid) !== undefined;
  }
}

/** Workspace administration: owners, and the app itself. */
export function isWorkspaceAdmin(principal: Principal, workspace: Workspace): boolean {
  if (principal.kind === 'forge-app' && !principal.user) return true;
  const user = humanUser(principal);
  return user !== undefined && workspaceRole(workspace, user.uuid) === 'owner';
}

/** The account a change is attributed to. */
export function actingUser(principal: Principal): User | undefined {
  if (principal.kind === 'anonymous') return undefined;
  if (principal.kind === 'forge-app') return principal.user ?? FORGE_APP_USER;
  return principal.user;
}

/** Whose budget a request spends: each credential has its own. */
export function credentialKey(principal: Principal): string {
  switch (principal.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'api-token':
      return `api-token:${principal.user.uuid}`;
    case 'access-token':
      return `access-token:${principal.user.uuid}`;
    case 'forge-app':
      return principal.user ? `forge-app:${principal.user.uuid}` : 'forge-app';
  }
}

export function describePrincipal(principal: Principal): string {
  switch (principal.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'api-token':
      return `api-token ${principal.user.nickname}`;
    case 'access-token':
      return `${principal.tokenKind}-token`;
    case 'forge-app':
      return principal.user ? `forge asUser ${principal.user.nickname}` : 'forge asApp';
  }
}
