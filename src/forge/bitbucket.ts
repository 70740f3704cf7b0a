// Bitbucket, as the app reaches it on Forge: REST through `requestBitbucket`
// (as the app, or as the user behind a resolver call), and git over HTTPS with
// the credential the workspace admin stored — a hosted Forge function has no git
// identity of its own.
import api, { assumeTrustedRoute, permissions } from '@forge/api';
import { bracedUuid } from '../bitbucket/uuid.js';
import { BitbucketClient, apiPath, type BitbucketTransport, type RequestMeter, tokenTransport } from '../bitbucket/client.js';
import { GIT_USERNAMES } from '../bitbucket/credentials.js';
import { createGitClient } from '../engine/git/client.js';
import { basicAuth } from '../engine/git/http.js';
import { type LfsClient, createLfsClient, servedOnLoopback } from '../engine/git/lfs.js';
import type { GitClient } from '../engine/git/types.js';
import { LifeboatError, isLifeboatError } from '../engine/errors.js';
import type { WorkspaceSettings } from '../settings.js';

// Paths come from apiPath (every parameter encoded) or from Bitbucket's own `next` links.
const transport = (requester: ReturnType<typeof api.asApp>): BitbucketTransport =>
  (path, init) => requester.requestBitbucket(assumeTrustedRoute(path), init);

/** As the app; `meter` counts its requests against a budget (rest-budget.ts). */
export const appBitbucket = (meter?: RequestMeter): BitbucketClient => new BitbucketClient(transport(api.asApp()), meter);
export const userBitbucket = (): BitbucketClient => new BitbucketClient(transport(api.asUser()));

/** The REST Authorization header of the credential the workspace admin stored. */
export function restAuthorization(settings: WorkspaceSettings, token: string): string {
  return settings.bitbucket.credential === 'access-token'
    ? `Bearer ${token}`
    : basicAuth({ username: settings.bitbucket.email, password: token });
}

/**
 * REST with the stored credential, for the calls Bitbucket takes from tokens but
 * not from a Forge app. `apiOrigin` comes from a link Bitbucket gave (egress
 * allows the API host, and the local world answers there too).
 */
export function credentialBitbucket(apiOrigin: string, settings: WorkspaceSettings, token: string): BitbucketClient {
  return new BitbucketClient(tokenTransport(apiOrigin, restAuthorization(settings, token)));
}

/** A repository as Bitbucket answers it, with the fields the app asks for (`fields=` may leave any out but the UUID). */
export interface RepositoryJson {
  uuid: string;
  slug?: string;
  name?: string;
  full_name?: string;
  created_on?: string;
  links?: { self?: { href: string }; html?: { href: string }; clone?: Array<{ name: string; href: string }> };
}

/** Where a listing of the workspace's repositories starts: its page length, order and fields; or the `next` path a page gave. */
export type RepositoryListing = { pagelen: number; fields: string; sort?: string } | { next: string };

/**
 * One page of the workspace's repositories, with the path of the next (BitbucketClient.page).
 * A `next` comes back from a page or a queue body: one that lists anything else is refused.
 */
export async function repositoriesPage(workspaceUuid: string, from: RepositoryListing): Promise<{ values: RepositoryJson[]; next?: string }> {
  const listing = apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}`;
  if (!('next' in from)) return appBitbucket().page<RepositoryJson>(`${listing}?pagelen=${from.pagelen}${from.sort ? `&sort=${from.sort}` : ''}&fields=${from.fields}`);
  const next = URL.canParse(from.next, API_HOST) ? new URL(from.next, API_HOST) : undefined;
  if (next?.pathname !== new URL(listing, API_HOST).pathname) throw new LifeboatError('INVALID_ARGUMENT', 'That cursor does not belong to this list; reload the page.');
  return appBitbucket().page<RepositoryJson>(next.pathname + next.search);
}

/** Paths are resolved against it only to compare them. */
const API_HOST = 'https://api.bitbucket.org';

export async function getRepository(workspaceUuid: string, repositoryUuid: string): Promise<RepositoryJson> {
  return appBitbucket().get<RepositoryJson>(apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}/${bracedUuid(repositoryUuid)}`);
}

/** Absent from a listing may still mean hidden from it: only a 404 by UUID says deleted. */
export async function existsInBitbucket(workspaceUuid: string, repositoryUuid: string): Promise<boolean> {
  try {
    await getRepository(workspaceUuid, repositoryUuid);
    return true;
  } catch (error) {
    if (isLifeboatError(error, 'BITBUCKET_NOT_FOUND')) return false;
    throw error;
  }
}

/** The repository's https clone URL as Bitbucket gives it, without any user name in it. */
export function cloneUrl(repository: RepositoryJson): string {
  const url = maybeCloneUrl(repository);
  if (!url) throw new Error(`Bitbucket gave no https clone link for ${repository.full_name ?? repository.uuid}`);
  return url;
}

/** cloneUrl, or undefined when Bitbucket gave none (a page shows what it has). */
export function maybeCloneUrl(repository: RepositoryJson): string | undefined {
  const link = repository.links?.clone?.find((candidate) => candidate.name === 'https');
  if (!link) return undefined;
  const url = new URL(link.href);
  url.username = '';
  url.password = '';
  return url.href;
}

/** Where the REST API answers, from the repository's own link. */
export function apiOrigin(repository: RepositoryJson): string {
  const self = repository.links?.self?.href;
  if (!self) throw new Error(`Bitbucket gave no self link for ${repository.full_name ?? repository.uuid}`);
  return new URL(self).origin;
}

/** Git user names Bitbucket expects with each kind of credential. */
export function gitUsername(credential: WorkspaceSettings['bitbucket']['credential']): string {
  return GIT_USERNAMES[credential];
}

export function gitClientFor(url: string, settings: WorkspaceSettings, token: string): GitClient {
  return createGitClient({ url, credentials: gitCredentials(settings, token) });
}

/**
 * The repository's LFS batch API (`<repo>.git/info/lfs`): Bitbucket takes the git credentials there, and sends
 * the transfers to Atlassian's media host (manifest.yml declares it). A transfer on a host the manifest does not
 * declare fails that object by name, not with Forge's egress refusal.
 */
export function lfsClientFor(url: string, settings: WorkspaceSettings, token: string): LfsClient {
  // Bitbucket Cloud is never on loopback: only the sandbox's Bitbucket, on this machine, gets its transfers there.
  return createLfsClient({ url, credentials: gitCredentials(settings, token), canReach: mayFetch, loopbackTransfers: servedOnLoopback(url) });
}

/**
 * Whether the app's functions may fetch `url` (the manifest's egress). @forge/api throws ApiNotReadyError
 * (out/api/permissions.js) when the runtime gives no permissions: then the request itself finds out.
 */
function mayFetch(url: string): boolean {
  try {
    return permissions.canFetchFrom('backend', url);
  } catch {
    return true;
  }
}

function gitCredentials(settings: WorkspaceSettings, token: string): { username: string; password: string } {
  return { username: gitUsername(settings.bitbucket.credential), password: token };
}
