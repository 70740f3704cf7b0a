// "Test connection" on the admin page: the bucket and the Bitbucket credential,
// checked with the stored settings and secrets the way backups will use them.
// A failed check is an answer (ok: false and what to fix), not an error; only
// a missing set-up is refused.
import { permissions } from '@forge/api';
import { randomUUID } from 'node:crypto';
import { bracedUuid } from '../bitbucket/uuid.js';
import type { BitbucketCheck, BucketCheck, EndpointEgress } from '../contract.js';
import { apiPath, type Page } from '../bitbucket/client.js';
import { SCOPES } from '../bitbucket/credentials.js';
import { collect } from '../engine/streams.js';
import { LifeboatError, isLifeboatError, toLifeboatError } from '../engine/errors.js';
import type { WorkspaceSettings } from '../settings.js';
import { appBitbucket, cloneUrl, gitClientFor, gitUsername, restAuthorization, type RepositoryJson } from './bitbucket.js';
import { openBucket } from './bucket.js';
import { loadSecrets, loadSettings } from './settings-store.js';

async function settingsOrRefuse(): Promise<WorkspaceSettings> {
  const settings = await loadSettings();
  if (!settings) throw new LifeboatError('NOT_CONFIGURED', 'Save the settings first: the test uses the stored ones.');
  return settings;
}

/** Put, read back and delete a small object under the prefix; then ask whether the bucket has Object Lock. */
export async function checkBucket(): Promise<BucketCheck> {
  const settings = await settingsOrRefuse();
  const { bucketSecretAccessKey } = await loadSecrets();
  if (!bucketSecretAccessKey) throw new LifeboatError('NOT_CONFIGURED', 'Save the bucket\'s secret access key first.');
  const egress = endpointEgress(settings.bucket.endpoint);
  if (!egress.allowed) return { ok: false, objectLock: false, message: `Forge does not let Lifeboat reach ${egress.origin} yet: it is not one of the storage providers the app declares. A workspace admin allows it with "Allow Lifeboat to reach ${egress.origin}" beside the endpoint.` };
  const store = openBucket(settings, bucketSecretAccessKey);
  // Outside the <workspace>/<repository>/ layout, so no listing mistakes it for backup data.
  const key = `lifeboat-connection-test-${randomUUID()}.txt`;
  const probe = Buffer.from(`Lifeboat connection test ${new Date().toISOString()}\n`);
  try {
    await store.put(key, probe, { contentType: 'text/plain', contentLength: probe.length });
    const read = await collect(await store.get(key));
    if (!read.equals(probe)) return { ok: false, objectLock: false, message: `${store.location} gave back different bytes than were written; check the endpoint and addressing style.` };
    await store.remove(key);
    if (await store.stat(key)) return { ok: false, objectLock: false, message: `${store.location} still lists the test object ${key} after deleting it; Lifeboat needs delete permission to prune old snapshots.` };
  } catch (error) {
    return { ok: false, objectLock: false, message: `Writing, reading and deleting a test object failed: ${toLifeboatError(error).message}` };
  }
  const lock = await store.objectLockEnabled();
  const written = `Lifeboat wrote, read and deleted a test object in ${store.location}.`;
  if (lock === true) return { ok: true, objectLock: true, message: `${written} The bucket has Object Lock enabled.` };
  const lockText = lock === false
    ? 'The bucket does not have Object Lock enabled.'
    : 'The bucket did not say whether it has Object Lock (the server does not support it, or the key may not read its configuration).';
  if (settings.objectLock.enabled) {
    return { ok: false, objectLock: false, message: `${written} ${lockText} Backups with Object Lock turned on will fail: enable Object Lock on the bucket (only possible when it is created) or turn it off in the settings.` };
  }
  return { ok: true, objectLock: false, message: `${written} ${lockText}` };
}

/**
 * Whether the app's functions may reach the endpoint: declared in manifest.yml's
 * egress, or approved by a workspace admin (customer-managed egress, asked for by
 * the admin page through @forge/bridge's permissions.egress). An empty endpoint is AWS S3.
 */
export function endpointEgress(endpoint: string): EndpointEgress {
  const origin = endpoint === '' ? 'https://s3.amazonaws.com' : new URL(endpoint).origin;
  return { origin, allowed: permissions.canFetchFrom('backend', origin) };
}

interface RepositoryLinks extends RepositoryJson {
  links?: RepositoryJson['links'] & { pullrequests?: { href: string } };
}

const CREDENTIAL_NAMES = { 'access-token': 'an access token', 'api-token': 'an API token' } as const;

/**
 * Reads refs of one repository over git, asks receive-pack for them (write
 * access), and reads the repository and its pull requests over REST, all with
 * the stored credential. 401 means the credential itself is wrong; 403 on a
 * call names the scope that call needs.
 */
export async function checkBitbucket(workspaceUuid: string): Promise<BitbucketCheck> {
  const settings = await settingsOrRefuse();
  const { bitbucketToken } = await loadSecrets();
  if (!bitbucketToken) throw new LifeboatError('NOT_CONFIGURED', 'Save the Bitbucket token first.');
  const credential = settings.bitbucket.credential;
  const user = gitUsername(credential);
  const base = { credential, gitUsername: user };
  const kind = CREDENTIAL_NAMES[credential];
  const scopes = SCOPES[credential];
  const wrongCredential = (where: string): BitbucketCheck => ({
    ...base,
    ok: false,
    missingScopes: [],
    message: credential === 'access-token'
      ? `Bitbucket refused the token on ${where}: it is not a valid access token of this workspace (revoked, expired, or mistyped). If it is an API token, choose "API token" and give its account's email.`
      : `Bitbucket refused the token on ${where}: the API token, or the email ${settings.bitbucket.email} that goes with it, is wrong (or the token expired). If it is an access token, choose "access token".`,
  });

  const page = await appBitbucket().get<Page<RepositoryLinks>>(apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}?pagelen=1`);
  const repository = page.values?.[0];
  if (!repository) return { ...base, ok: false, missingScopes: [], message: 'The workspace has no repository to test the credential on; create one and test again.' };
  const name = repository.full_name ?? repository.uuid;
  const git = gitClientFor(cloneUrl(repository), settings, bitbucketToken);

  const missing: string[] = [];
  const gitCheck = async (what: 'read' | 'write', call: () => Promise<unknown>): Promise<'ok' | 'unauthorized'> => {
    try {
      await call();
      return 'ok';
    } catch (error) {
      if (isLifeboatError(error, 'GIT_AUTH_REQUIRED')) return 'unauthorized';
      if (isLifeboatError(error, 'GIT_FORBIDDEN') || isLifeboatError(error, 'GIT_NOT_A_REPOSITORY')) {
        missing.push(scopes[what]);
        return 'ok';
      }
      throw error;
    }
  };
  if ((await gitCheck('read', () => git.listRefs())) === 'unauthorized') return wrongCredential(`git (cloning ${name} as ${user})`);
  if (!missing.includes(scopes.read) && (await gitCheck('write', () => git.listPushRefs())) === 'unauthorized') return wrongCredential(`git (pushing to ${name} as ${user})`);

  const rest = async (href: string | undefined, scope: string): Promise<'ok' | 'unauthorized'> => {
    if (!href) throw new Error(`Bitbucket gave no REST link for ${name}`);
    const response = await fetch(href, { headers: { accept: 'application/json', authorization: restAuthorization(settings, bitbucketToken) } });
    await response.body?.cancel();
    if (response.status === 401) return 'unauthorized';
    if (response.status === 403 || response.status === 404) {
      if (!missing.includes(scope)) missing.push(scope);
      return 'ok';
    }
    if (!response.ok) throw new LifeboatError(response.status === 429 ? 'BITBUCKET_RATE_LIMITED' : 'BITBUCKET_HTTP', `Bitbucket answered ${response.status} to ${href}; try again later.`);
    return 'ok';
  };
  if ((await rest(repository.links?.self?.href, scopes.read)) === 'unauthorized') return wrongCredential(`the REST API (reading ${name})`);
  if ((await rest(repository.links?.pullrequests?.href, scopes.pullrequests)) === 'unauthorized') return wrongCredential(`the REST API (reading pull requests of ${name})`);

  if (missing.length > 0) {
    return { ...base, ok: false, missingScopes: missing, message: `This is ${kind} (git user ${user}), but it lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: create a new one with ${missing.length > 1 ? 'them' : 'it'} added.` };
  }
  return { ...base, ok: true, missingScopes: [], message: `This is ${kind} (git user ${user}): it can clone and push ${name} and read it and its pull requests over the REST API.` };
}
