// The two kinds of credential a workspace admin can give Lifeboat, and one table
// of what each piece of Lifeboat's work needs: which identity makes the calls
// (the Forge app with its manifest's scopes, or the stored credential), and for
// the credential, which scopes each kind needs, or that no credential of that
// kind may make them. Pure data: the configuration reads and writes take their
// identity from it, the connection check tests it, the admin page states it.
//
// Sources (Atlassian's OpenAPI spec, ../../sandbox/bitbucket/spec/bitbucket-openapi.json;
// src/bitbucket/credentials.test.ts checks every entry against it):
// - a Forge app and an API token need the operation's `x-atlassian-oauth2-scopes`,
//   all of them, none implying another ("Forge app and API token scopes");
//   the app only where `x-atlassian-auth-types` names `forge-oauth2`;
// - an access token needs the operation's `security` oauth2 scopes;
// - access tokens "can't … manipulate or query repository, project, or workspace
//   permissions", and adding, updating and deleting deploy keys "are inaccessible
//   for Access tokens" (narrative "Authentication methods", "Access tokens");
// - git: an access token clones with `repository` and pushes with `repository:write`
//   (same narrative); an API token reads "the repository's source code" with
//   `read:repository:bitbucket` and updates "branches, tags" with `write:repository:bitbucket`.
import type { ConfigurationSection } from './configuration.js';

export type CredentialKind = 'access-token' | 'api-token';

/** Who makes a call: the Forge app itself, or the credential the workspace admin stored. */
export type Identity = 'app' | 'credential';

export const GIT_USERNAMES: Readonly<Record<CredentialKind, string>> = {
  'access-token': 'x-token-auth',
  'api-token': 'x-bitbucket-api-token-auth',
};

/**
 * What some work needs. `operations` are the spec's (`GET /2.0/…` with its path
 * template) or git's services (`git-upload-pack`, `git-receive-pack`). For the app:
 * the manifest scopes. For the credential: per kind, its scopes, or null when
 * Bitbucket lets no credential of that kind make these calls.
 */
export type Requirement =
  | { identity: 'app'; operations: readonly string[]; scopes: readonly string[] }
  | { identity: 'credential'; operations: readonly string[]; scopes: Readonly<Record<CredentialKind, readonly string[] | null>> };

/** What an area of Lifeboat's work needs: to back it up (read), and to restore it (write). */
export interface AreaAccess {
  backup: readonly Requirement[];
  restore: readonly Requirement[];
}

const REPO = '/2.0/repositories/{workspace}/{repo_slug}';
const app = (scopes: readonly string[], ...operations: string[]): Requirement => ({ identity: 'app', operations, scopes });
const credential = (accessToken: readonly string[] | null, apiToken: readonly string[] | null, ...operations: string[]): Requirement =>
  ({ identity: 'credential', operations, scopes: { 'access-token': accessToken, 'api-token': apiToken } });

const READ_REPOSITORY = ['read:repository:bitbucket'];
const ADMIN_REPOSITORY = ['admin:repository:bitbucket'];
const READ_PIPELINE = ['read:pipeline:bitbucket'];
const ADMIN_PIPELINE = ['admin:pipeline:bitbucket'];
const PERMISSION_WRITE = ['admin:repository:bitbucket', 'write:permission:bitbucket'];

/** Each configuration section of a snapshot (src/bitbucket/configuration.ts), in its order. */
export const CONFIGURATION_ACCESS: Readonly<Record<ConfigurationSection, AreaAccess>> = {
  repository: { backup: [app(READ_REPOSITORY, `GET ${REPO}`)], restore: [app(ADMIN_REPOSITORY, `PUT ${REPO}`)] },
  'branch-restrictions': {
    backup: [app(ADMIN_REPOSITORY, `GET ${REPO}/branch-restrictions`)],
    restore: [app(ADMIN_REPOSITORY, `POST ${REPO}/branch-restrictions`, `PUT ${REPO}/branch-restrictions/{id}`, `DELETE ${REPO}/branch-restrictions/{id}`)],
  },
  'default-reviewers': {
    backup: [app(['read:pullrequest:bitbucket'], `GET ${REPO}/default-reviewers`)],
    restore: [app(ADMIN_REPOSITORY, `PUT ${REPO}/default-reviewers/{target_username}`, `DELETE ${REPO}/default-reviewers/{target_username}`)],
  },
  'branching-model': {
    backup: [app(ADMIN_REPOSITORY, `GET ${REPO}/branching-model/settings`)],
    restore: [app(ADMIN_REPOSITORY, `PUT ${REPO}/branching-model/settings`)],
  },
  // Webhooks and deploy keys: no Forge app (their auth types name only api-token). Creating a webhook also
  // needs "any scope that applies to the events that the webhook subscribes to" (the spec's "Create a webhook
  // for a repository"): for pull request events, `pullrequest` on an access token. Not in this table.
  webhooks: {
    backup: [credential(['webhook'], ['read:webhook:bitbucket'], `GET ${REPO}/hooks`)],
    restore: [credential(['webhook'], ['read:webhook:bitbucket', 'write:webhook:bitbucket', 'delete:webhook:bitbucket'], `POST ${REPO}/hooks`, `PUT ${REPO}/hooks/{uid}`, `DELETE ${REPO}/hooks/{uid}`)],
  },
  'deploy-keys': {
    backup: [credential(['repository', 'repository:admin'], ADMIN_REPOSITORY, `GET ${REPO}/deploy-keys`)],
    restore: [credential(null, ['admin:repository:bitbucket', 'write:ssh-key:bitbucket', 'delete:ssh-key:bitbucket'], `POST ${REPO}/deploy-keys`, `PUT ${REPO}/deploy-keys/{key_id}`, `DELETE ${REPO}/deploy-keys/{key_id}`)],
  },
  // Read as the app; changed only by an API token (a restore adds or raises access, never removes it: no DELETE).
  'user-permissions': {
    backup: [app(READ_REPOSITORY, `GET ${REPO}/permissions-config/users`)],
    restore: [credential(null, PERMISSION_WRITE, `PUT ${REPO}/permissions-config/users/{selected_user_id}`)],
  },
  'group-permissions': {
    backup: [app(READ_REPOSITORY, `GET ${REPO}/permissions-config/groups`)],
    restore: [credential(null, PERMISSION_WRITE, `PUT ${REPO}/permissions-config/groups/{group_slug}`)],
  },
  pipelines: { backup: [app(ADMIN_REPOSITORY, `GET ${REPO}/pipelines_config`)], restore: [app(ADMIN_REPOSITORY, `PUT ${REPO}/pipelines_config`)] },
  'pipeline-variables': {
    backup: [app(READ_PIPELINE, `GET ${REPO}/pipelines_config/variables`)],
    restore: [app(ADMIN_PIPELINE, `POST ${REPO}/pipelines_config/variables`, `PUT ${REPO}/pipelines_config/variables/{variable_uuid}`, `DELETE ${REPO}/pipelines_config/variables/{variable_uuid}`)],
  },
  environments: {
    backup: [app(READ_PIPELINE, `GET ${REPO}/environments`, `GET ${REPO}/deployments_config/environments/{environment_uuid}/variables`)],
    restore: [app(ADMIN_PIPELINE, `POST ${REPO}/environments`, `POST ${REPO}/deployments_config/environments/{environment_uuid}/variables`,
      `PUT ${REPO}/deployments_config/environments/{environment_uuid}/variables/{variable_uuid}`, `DELETE ${REPO}/deployments_config/environments/{environment_uuid}/variables/{variable_uuid}`)],
  },
};

/** Everything Lifeboat does in Bitbucket, area by area, in the order the admin page lists them. */
export const ACCESS = {
  git: {
    backup: [credential(['repository'], READ_REPOSITORY, 'git-upload-pack')],
    restore: [credential(['repository:write'], ['write:repository:bitbucket'], 'git-receive-pack')],
  },
  'pull-requests': {
    backup: [app(['read:pullrequest:bitbucket'], `GET ${REPO}/pullrequests`, `GET ${REPO}/pullrequests/{pull_request_id}/comments`, `GET ${REPO}/pullrequests/{pull_request_id}/activity`,
      `GET ${REPO}/pullrequests/{pull_request_id}/tasks`, `GET ${REPO}/pullrequests/{pull_request_id}/statuses`, `GET ${REPO}/pullrequests/{pull_request_id}/commits`)],
    restore: [],
  },
  ...CONFIGURATION_ACCESS,
  // The app creates the repository; only a token can then make the person who asked for it its admin.
  'new-repository': {
    backup: [],
    restore: [app(ADMIN_REPOSITORY, 'POST /2.0/repositories/{workspace}/{repo_slug}'), credential(null, PERMISSION_WRITE, `PUT ${REPO}/permissions-config/users/{selected_user_id}`)],
  },
} as const satisfies Record<string, AreaAccess>;

export type AccessArea = keyof typeof ACCESS;
export const ACCESS_AREAS = Object.keys(ACCESS) as AccessArea[];

/** Who reads a configuration section for a backup, and who writes it back. */
export const readsWith = (section: ConfigurationSection): Identity => CONFIGURATION_ACCESS[section].backup[0]!.identity;
export const writesWith = (section: ConfigurationSection): Identity => CONFIGURATION_ACCESS[section].restore[0]!.identity;

/** The scopes a requirement asks of this kind of credential: [] for the app's, null when no credential of the kind may. */
export function credentialScopes(requirement: Requirement, kind: CredentialKind): readonly string[] | null {
  return requirement.identity === 'app' ? [] : requirement.scopes[kind];
}

/** Every scope this kind of credential needs for backups, and the further ones restores need, in the table's order. */
export function scopesFor(kind: CredentialKind): { backup: string[]; restore: string[] } {
  const collect = (phase: keyof AreaAccess, except: readonly string[]): string[] => {
    const found = new Set<string>();
    for (const area of ACCESS_AREAS) for (const requirement of ACCESS[area][phase]) for (const scope of credentialScopes(requirement, kind) ?? []) found.add(scope);
    return [...found].filter((scope) => !except.includes(scope));
  };
  const backup = collect('backup', []);
  return { backup, restore: collect('restore', backup) };
}

/** What no credential of this kind may do (use the other kind for it), by area and phase. */
export function outOfReach(kind: CredentialKind): Array<{ area: AccessArea; phase: keyof AreaAccess }> {
  return ACCESS_AREAS.flatMap((area) => (['backup', 'restore'] as const)
    .filter((phase) => ACCESS[area][phase].some((requirement) => credentialScopes(requirement, kind) === null))
    .map((phase) => ({ area, phase })));
}

/** The scopes, each once, of the connection test's rows with `status` (missing-scopes, app-refused). */
export function scopesWithStatus(access: ReadonlyArray<{ status: string; scopes: readonly string[] }>, status: string): string[] {
  return [...new Set(access.filter((check) => check.status === status).flatMap((check) => check.scopes))];
}

// API tokens "require an expiry date at creation, with a maximum duration of 1 year"
// (spec narrative, "API tokens"); Bitbucket's API does not report it, so the admin enters it.
export const API_TOKEN_MAX_DAYS = 366;
/** How long before the expiry the admin page warns. */
export const EXPIRY_WARNING_DAYS = 14;

export interface CredentialExpiry {
  /** YYYY-MM-DD, as the admin entered it. */
  expiresOn: string;
  /** Whole days from today (UTC) to that date; negative once it has passed. */
  daysLeft: number;
  state: 'ok' | 'expiring' | 'expired';
}

const DAY_MS = 86_400_000;
const utcDay = (date: Date): number => Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());

/** Days from `now`'s UTC date to a YYYY-MM-DD date. */
export function daysUntil(date: string, now: Date): number {
  return Math.round((Date.parse(`${date}T00:00:00Z`) - utcDay(now)) / DAY_MS);
}

/** The token expires on that day: it still works on it, and not after. */
export function credentialExpiry(expiresOn: string, now: Date): CredentialExpiry {
  const daysLeft = daysUntil(expiresOn, now);
  return { expiresOn, daysLeft, state: daysLeft < 0 ? 'expired' : daysLeft <= EXPIRY_WARNING_DAYS ? 'expiring' : 'ok' };
}
