// "Test connection" on the admin page: the bucket and the Bitbucket credential,
// checked with the stored settings and secrets the way backups will use them.
// A failed check is an answer (ok: false and what to fix), not an error; only
// a missing set-up is refused.
import { permissions } from '@forge/api';
// The matcher permissions.canFetchFrom itself uses (a dependency of @forge/api), so "declared" means what Forge means.
import { EgressFilteringService } from '@forge/egress';
import { randomUUID } from 'node:crypto';
import { bracedUuid } from '../bitbucket/uuid.js';
import type { AccessCheck, BitbucketCheck, BucketCheck, EndpointEgress } from '../contract.js';
import { type BitbucketClient, apiPath, type Page } from '../bitbucket/client.js';
import { ACCESS, ACCESS_AREAS, type Requirement, credentialScopes, scopesWithStatus } from '../bitbucket/credentials.js';
import { collect } from '../engine/streams.js';
import { type FieldProblem, LifeboatError, isLifeboatError, toLifeboatError } from '../engine/errors.js';
import type { WorkspaceSettings } from '../settings.js';
import { DECLARED_STORAGE_EGRESS } from '../storage-providers.js';
import { apiOrigin, appBitbucket, cloneUrl, credentialBitbucket, gitClientFor, gitUsername, type RepositoryJson } from './bitbucket.js';
import { openWorkspaceBucket } from './bucket.js';
import { loadSecrets, loadSettings, type Secrets } from '../app/settings/settings-store.js';

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
  return bucketCheckWith(settings, bucketSecretAccessKey);
}

async function bucketCheckWith(settings: WorkspaceSettings, bucketSecretAccessKey: string): Promise<BucketCheck> {
  const egress = endpointEgress(settings.bucket.endpoint);
  if (!egress.allowed) return { ok: false, objectLock: false, found: { code: 'not-reachable', origin: egress.origin } };
  const store = openWorkspaceBucket(settings, bucketSecretAccessKey);
  // Outside the <workspace>/<repository>/ layout, so no listing mistakes it for backup data.
  const key = `lifeboat-connection-test-${randomUUID()}.txt`;
  const probe = Buffer.from(`Lifeboat connection test ${new Date().toISOString()}\n`);
  try {
    await store.put(key, probe, { contentType: 'text/plain', contentLength: probe.length });
    const read = await collect(await store.get(key));
    if (!read.equals(probe)) return { ok: false, objectLock: false, found: { code: 'different-bytes', location: store.location } };
    await store.remove(key);
    if (await store.stat(key)) return { ok: false, objectLock: false, found: { code: 'not-deleted', location: store.location, key } };
  } catch (error) {
    return { ok: false, objectLock: false, found: { code: 'failed', reason: toLifeboatError(error).message } };
  }
  const lock = await store.objectLockEnabled();
  const lockWanted = settings.objectLock.enabled;
  const found = { code: 'written', location: store.location, lock: lock === true ? 'enabled' : lock === false ? 'disabled' : 'unknown', lockWanted } as const;
  // Backups with Object Lock turned on fail on a bucket without it.
  return { ok: lock === true || !lockWanted, objectLock: lock === true, found };
}

/**
 * Object Lock is saved only for a bucket that says it has it (GetObjectLockConfiguration
 * answers Enabled): the settings then never promise a protection the bucket does not give.
 * A bucket that cannot tell (a server without Object Lock, as s3rver, or a key without
 * s3:GetBucketObjectLockConfiguration) is not taken for one that has it.
 */
export async function refuseObjectLockWithout(settings: WorkspaceSettings, bucketSecretAccessKey: string | undefined): Promise<void> {
  if (!settings.objectLock.enabled) return;
  const refusal = (why: string, objectLock: 'disabled' | 'unknown' | 'not-checked', location?: string): LifeboatError =>
    new LifeboatError('OBJECT_LOCK_UNAVAILABLE', `The settings were not saved: Object Lock is turned on, but ${why}, so nothing a backup writes would be protected as they say.`, {
      details: { objectLock, ...(location ? { location } : {}) },
    });
  if (!bucketSecretAccessKey) throw refusal('Lifeboat needs the bucket\'s secret access key to check that the bucket has Object Lock enabled', 'not-checked');
  const egress = endpointEgress(settings.bucket.endpoint);
  if (!egress.allowed) throw refusal(`Forge does not let Lifeboat reach ${egress.origin} yet to check that the bucket has Object Lock enabled`, 'not-checked');
  const store = openWorkspaceBucket(settings, bucketSecretAccessKey);
  const lock = await store.objectLockEnabled();
  if (lock === false) throw refusal(`the bucket behind ${store.location} does not have Object Lock enabled`, 'disabled', store.location);
  if (lock === undefined) throw refusal(`the bucket behind ${store.location} did not say whether it has Object Lock enabled (the server does not support it, or the key may not read the bucket's Object Lock configuration)`, 'unknown', store.location);
}

const declaredStorage = new EgressFilteringService([...DECLARED_STORAGE_EGRESS]);

/**
 * Whether the app's functions may reach the endpoint: declared in manifest.yml's
 * egress, or approved by a workspace admin (customer-managed egress, asked for by
 * the admin page through @forge/bridge's permissions.egress). An empty endpoint is AWS S3.
 */
export function endpointEgress(endpoint: string): EndpointEgress {
  const origin = endpoint === '' ? 'https://s3.amazonaws.com' : new URL(endpoint).origin;
  return { origin, allowed: permissions.canFetchFrom('backend', origin), declared: declaredStorage.isValidUrl(origin) };
}

/** One cheap read: done, refused (403 or 404: this identity may not), or the credential itself is wrong (401). */
type Probe = 'ok' | 'refused' | 'unauthorized';

const refusal = (error: unknown, refused: readonly string[], unauthorized: string): Probe => {
  if (isLifeboatError(error) && error.code === unauthorized) return 'unauthorized';
  if (isLifeboatError(error) && refused.includes(error.code)) return 'refused';
  throw error;
};

/**
 * Tests the stored credential, and the app's own access, area by area of the
 * access table (src/bitbucket/credentials.ts), on the workspace's first
 * repository: each backup read with a cheap read of its own (git's ref
 * advertisements, one GET of each REST collection), the push advertisement for
 * restores. A restore's REST writes cannot be tried without writing: they count
 * as covered when a read already showed the same scopes, else as not tested.
 * 401 means the credential itself is wrong; 403 or 404 that it (or the app) lacks a scope.
 */
export async function checkBitbucket(workspaceUuid: string): Promise<BitbucketCheck> {
  const settings = await settingsOrRefuse();
  const { bitbucketToken } = await loadSecrets();
  if (!bitbucketToken) throw new LifeboatError('NOT_CONFIGURED', 'Save the Bitbucket token first.');
  return bitbucketCheckWith(workspaceUuid, settings, bitbucketToken);
}

async function bitbucketCheckWith(workspaceUuid: string, settings: WorkspaceSettings, bitbucketToken: string): Promise<BitbucketCheck> {
  const kind = settings.bitbucket.credential;
  const user = gitUsername(kind);
  const base = { credential: kind, gitUsername: user, missingScopes: [], access: [] };
  const email = settings.bitbucket.credential === 'api-token' ? { email: settings.bitbucket.email } : {};
  const wrongCredential = (on: 'backup' | 'restore' | 'rest', repository: string): BitbucketCheck => ({ ...base, ok: false, found: { code: 'credential-refused', on, repository, ...email } });

  const page = await appBitbucket().get<Page<RepositoryJson>>(apiPath`/2.0/repositories/${bracedUuid(workspaceUuid)}?pagelen=1`);
  const repository = page.values?.[0];
  if (!repository) return { ...base, ok: false, found: { code: 'no-repository' } };
  const name = repository.full_name ?? repository.uuid;
  const git = gitClientFor(cloneUrl(repository), settings, bitbucketToken);
  const clients: Record<Requirement['identity'], BitbucketClient> = { app: appBitbucket(), credential: credentialBitbucket(apiOrigin(repository), settings, bitbucketToken) };
  const restPath = (template: string): string => template.replace('{workspace}', encodeURIComponent(bracedUuid(workspaceUuid))).replace('{repo_slug}', encodeURIComponent(bracedUuid(repository.uuid)));

  /** The read that shows whether this identity may do it: git's advertisement, or a GET that needs no more than the repository. */
  const probeOf = (requirement: Requirement): (() => Promise<Probe>) | undefined => {
    for (const operation of requirement.operations) {
      if (operation === 'git-upload-pack') return () => git.listRefs().then(() => 'ok', (error: unknown) => refusal(error, ['GIT_FORBIDDEN', 'GIT_NOT_A_REPOSITORY'], 'GIT_AUTH_REQUIRED'));
      if (operation === 'git-receive-pack') return () => git.listPushRefs().then(() => 'ok', (error: unknown) => refusal(error, ['GIT_FORBIDDEN', 'GIT_NOT_A_REPOSITORY'], 'GIT_AUTH_REQUIRED'));
      const [method, template = ''] = operation.split(' ');
      if (method === 'GET' && !/\{(?!workspace\}|repo_slug\})/.test(template)) {
        return () => clients[requirement.identity].get(restPath(template)).then(() => 'ok', (error: unknown) => refusal(error, ['BITBUCKET_FORBIDDEN', 'BITBUCKET_NOT_FOUND'], 'BITBUCKET_AUTH_REQUIRED'));
      }
    }
    return undefined;
  };

  // Every requirement but the app's restore writes (nothing the admin could change, nothing a read could show).
  const rows = ACCESS_AREAS.flatMap((area) => (['backup', 'restore'] as const).flatMap((phase) => ACCESS[area][phase]
    .filter((requirement) => requirement.identity === 'credential' || phase === 'backup')
    .map((requirement) => ({ area, phase, requirement, scopes: credentialScopes(requirement, kind) ?? null }))));
  // Git first and one at a time: a wrong credential is said once, before anything else is read with it.
  const outcomes = new Map<(typeof rows)[number], Probe>();
  const probed = rows.filter((row) => row.scopes !== null).map((row) => ({ row, probe: probeOf(row.requirement) }));
  for (const { row, probe } of probed.filter((entry) => entry.row.area === 'git' && entry.probe)) {
    const outcome = await probe!();
    if (outcome === 'unauthorized') return wrongCredential(row.phase, name);
    outcomes.set(row, outcome);
  }
  await Promise.all(probed.filter((entry) => entry.row.area !== 'git' && entry.probe).map(async ({ row, probe }) => outcomes.set(row, await probe!())));
  if ([...outcomes.values()].includes('unauthorized')) return wrongCredential('rest', name);

  const proven = new Set([...outcomes].filter(([row, outcome]) => row.requirement.identity === 'credential' && outcome === 'ok').flatMap(([row]) => row.scopes ?? []));
  const access: AccessCheck[] = rows.map((row) => {
    const identity = row.requirement.identity;
    const scopes = identity === 'app' ? [...row.requirement.scopes] : [...(row.scopes ?? [])];
    const outcome = outcomes.get(row);
    const status: AccessCheck['status'] = row.scopes === null ? 'not-for-this-credential'
      : outcome === 'ok' ? 'covered'
        : outcome === 'refused' ? (identity === 'app' ? 'app-refused' : 'missing-scopes')
          : scopes.every((scope) => proven.has(scope)) ? 'covered' : 'not-tested';
    return { area: row.area, phase: row.phase, identity, status, scopes };
  });

  // Of what a refused read needs, only what no successful read showed.
  const missingScopes = scopesWithStatus(access, 'missing-scopes').filter((scope) => !proven.has(scope));
  const ok = missingScopes.length === 0 && scopesWithStatus(access, 'app-refused').length === 0;
  return { ...base, ok, found: { code: 'tested' }, missingScopes, access, repository: name };
}

/** What a failed test found, for the field's problem: the page words the check itself on "Test". */
function failure(check: BucketCheck | BitbucketCheck): string {
  if ('missingScopes' in check) {
    if (check.found.code === 'credential-refused') return 'Bitbucket refused it (401: revoked, expired or mistyped)';
    return check.missingScopes.length > 0 ? `it lacks the scopes ${check.missingScopes.join(', ')}` : 'Bitbucket refused Lifeboat\'s access with it';
  }
  return check.found.code === 'failed' ? `the bucket refused it (${check.found.reason})` : `the bucket test found ${check.found.code}`;
}

/**
 * A new credential or bucket key that fails its test is not saved over a stored
 * one that passes it (a mistyped token would fail every later backup with 401):
 * refused with the new one's failure beside its field, unless `saveAnyway`.
 * Tested with the settings being saved; nothing stored, or a stored one that fails
 * too, leaves nothing working to protect.
 */
export async function refuseFailingSecrets(workspaceUuid: string, previous: WorkspaceSettings | undefined, settings: WorkspaceSettings, given: Secrets): Promise<void> {
  const stored = await loadSecrets();
  const problems: FieldProblem[] = [];
  const refuse = (field: string, check: BucketCheck | BitbucketCheck): void => {
    problems.push({ path: field.split('.'), kind: 'failed-test', message: `failed its test: ${failure(check)}. The stored one passes and was kept; save anyway to replace it` });
  };
  // The key pair is the access key id (a setting) and its secret.
  const storedKeyId = previous?.bucket.accessKeyId;
  const newKey = given.bucketSecretAccessKey ?? stored.bucketSecretAccessKey;
  if (stored.bucketSecretAccessKey && storedKeyId !== undefined && newKey && (newKey !== stored.bucketSecretAccessKey || settings.bucket.accessKeyId !== storedKeyId)) {
    const fresh = await bucketCheckWith(settings, newKey);
    if (!fresh.ok && (await bucketCheckWith({ ...settings, bucket: { ...settings.bucket, accessKeyId: storedKeyId } }, stored.bucketSecretAccessKey)).ok) {
      refuse(given.bucketSecretAccessKey !== undefined ? 'bucketSecretAccessKey' : 'bucket.accessKeyId', fresh);
    }
  }
  if (stored.bitbucketToken && given.bitbucketToken !== undefined && given.bitbucketToken !== stored.bitbucketToken) {
    const fresh = await bitbucketCheckWith(workspaceUuid, settings, given.bitbucketToken);
    if (!fresh.ok && (await bitbucketCheckWith(workspaceUuid, settings, stored.bitbucketToken)).ok) refuse('bitbucketToken', fresh);
  }
  if (problems.length === 0) return;
  const words = problems.map((problem) => `${problem.path.join('.')} ${problem.message}`).join('; ');
  throw new LifeboatError('INVALID_ARGUMENT', `The settings were not saved: ${words}.`, { details: { problems } });
}
