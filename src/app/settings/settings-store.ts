// Settings in KVS, secrets in Forge's secret store (encrypted, never queryable).
// Nothing here ever hands a secret to a resolver's answer: callers get presence flags.
import type { SecretsPresence } from '../../contract.js';
import { LifeboatError } from '../../engine/errors.js';
import { type WorkspaceSettings, workspaceSettings } from '../../settings.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState } from '../../forge/state/context.js';

export interface Secrets {
  bucketSecretAccessKey?: string;
  bitbucketToken?: string;
}

/**
 * The stored settings, read by today's rules: settings an earlier Lifeboat wrote
 * (UUIDs spelled with or without braces, in any case) come back normalised, so
 * lookups stay plain. Ones that no longer pass are used as stored, and the log says why.
 */
export async function loadSettings(): Promise<WorkspaceSettings | undefined> {
  const stored = await appState().get<unknown>(kvsKeys.settings);
  if (stored === undefined) return undefined;
  const parsed = workspaceSettings.safeParse(stored);
  if (parsed.success) return parsed.data;
  console.warn('lifeboat: the stored settings do not pass today\'s checks; save them again on the admin page', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  return stored as WorkspaceSettings;
}

/** The settings, or a clear "finish the set-up" for the page. */
export async function requireSettings(): Promise<WorkspaceSettings> {
  const settings = await loadSettings();
  if (!settings) throw new LifeboatError('NOT_CONFIGURED', 'Lifeboat is not set up yet: a workspace admin has to choose the bucket on the Lifeboat page of the workspace settings.');
  return settings;
}

/** KVS holds at most 240 KiB per value; keep a margin for the JSON envelope. */
const MAX_SETTINGS_BYTES = 230 * 1024;

export async function storeSettings(settings: WorkspaceSettings): Promise<void> {
  const bytes = Buffer.byteLength(JSON.stringify(settings));
  if (bytes > MAX_SETTINGS_BYTES) {
    throw new LifeboatError('INVALID_ARGUMENT', `The settings were not saved: they take ${Math.ceil(bytes / 1024)} KiB and Lifeboat can store ${MAX_SETTINGS_BYTES / 1024} KiB; choose "all repositories" or fewer repositories and overrides.`);
  }
  await appState().set(kvsKeys.settings, settings);
}

export async function loadSecrets(): Promise<Secrets> {
  const [bucketSecretAccessKey, bitbucketToken] = await Promise.all([
    appState().secrets.get<string>(kvsKeys.bucketSecret),
    appState().secrets.get<string>(kvsKeys.bitbucketSecret),
  ]);
  return { ...(bucketSecretAccessKey ? { bucketSecretAccessKey } : {}), ...(bitbucketToken ? { bitbucketToken } : {}) };
}

/** Stores the secrets given; an omitted one keeps its stored value. */
export async function storeSecrets(secrets: Secrets): Promise<void> {
  if (secrets.bucketSecretAccessKey !== undefined) await appState().secrets.set(kvsKeys.bucketSecret, secrets.bucketSecretAccessKey);
  if (secrets.bitbucketToken !== undefined) await appState().secrets.set(kvsKeys.bitbucketSecret, secrets.bitbucketToken);
}

export function secretsPresence(secrets: Secrets): SecretsPresence {
  return { bucketSecretAccessKey: Boolean(secrets.bucketSecretAccessKey), bitbucketToken: Boolean(secrets.bitbucketToken) };
}

export interface Configuration {
  settings: WorkspaceSettings;
  secrets: Required<Secrets>;
}

/** What every backup and restore needs; a clear "finish the set-up" otherwise. */
export async function requireConfiguration(): Promise<Configuration> {
  const [settings, secrets] = await Promise.all([requireSettings(), loadSecrets()]);
  if (!secrets.bucketSecretAccessKey) throw new LifeboatError('NOT_CONFIGURED', 'The bucket\'s secret access key is missing: add it on the Lifeboat page of the workspace settings.');
  if (!secrets.bitbucketToken) throw new LifeboatError('NOT_CONFIGURED', 'The Bitbucket access token is missing: add it on the Lifeboat page of the workspace settings.');
  return { settings, secrets: { bucketSecretAccessKey: secrets.bucketSecretAccessKey, bitbucketToken: secrets.bitbucketToken } };
}
