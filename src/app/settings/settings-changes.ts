// The workspace settings as the admin page saves them: validated whole before
// anything is written, secrets apart, every change audited — a change of how
// backups store objects (encryption, Object Lock) in an entry of its own, since
// it takes effect from the next backup and leaves earlier snapshots as they are.
import { credentialExpiry } from '../../bitbucket/credentials.js';
import type { AuditNote, SaveSettingsRequest, SecretName, SettingsView, StorageStatus } from '../../contract.js';
import { encryptionFor, sameEncryption } from '../../engine/bucket/format.js';
import { type StorageSetting, sameObjectLock } from '../../engine/bucket/marker.js';
import { LifeboatError, type FieldProblem } from '../../engine/errors.js';
import { parseSettings, storageSettingOf, type WorkspaceSettings } from '../../settings.js';
import { recordAudit } from '../jobs/audit.js';
import { kvsKeys } from '../state/state-keys.js';
import { requireWorkspaceRepositories } from '../catalogue/coverage.js';
import { refuseFailingSecrets, refuseObjectLockWithout } from '../../forge/checks.js';
import { loadSecrets, loadSettings, secretsPresence, storeSecrets, storeSettings } from './settings-store.js';
import { appSigningKey, currentSigningKey } from './signing-keys.js';
import { appState, now } from '../../forge/state/context.js';

/** How the newest snapshot is stored against what the settings ask of the next backup (the engine's chain rule decides the same way); the page words it. */
export function storageStatus(settings: WorkspaceSettings, lastSnapshotRecipients: string[] | undefined): StorageStatus {
  const { encryption, objectLock } = storageSettingOf(settings);
  const recipients = encryption?.recipients ?? [];
  const newChainPending = lastSnapshotRecipients !== undefined && !sameEncryption(encryptionFor(lastSnapshotRecipients), encryption);
  return { ...(lastSnapshotRecipients ? { lastSnapshotRecipients } : {}), recipients, objectLock, newChainPending };
}

export async function settingsView(): Promise<SettingsView> {
  const [settings, secrets, signingKey] = await Promise.all([loadSettings(), loadSecrets(), currentSigningKey()]);
  const expiresOn = settings?.bitbucket.credential === 'api-token' ? settings.bitbucket.expiresOn : undefined;
  return {
    ...(settings ? { settings } : {}),
    secrets: secretsPresence(secrets),
    ...(expiresOn ? { bitbucketExpiry: credentialExpiry(expiresOn, new Date(now())) } : {}),
    // The public half only: the private key stays in the app's secrets.
    ...(signingKey ? { signingKey: { fingerprint: signingKey.fingerprint, validFrom: signingKey.validFrom } } : {}),
  };
}

/** Field paths whose values differ, e.g. bucket.name, repositories.chosen. */
function changedFields(before: unknown, after: unknown, path = ''): string[] {
  const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
  // Overrides and retention are keyed by data (UUIDs, rule names): report the field, not every key.
  if (isRecord(before) && isRecord(after) && path !== 'overrides' && path !== 'retention') {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedFields(before[key], after[key], path ? `${path}.${key}` : key));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path || 'settings'];
}

/** Audit entries for a change of how backups store objects; each takes effect from the next backup. */
function storageChanges(before: StorageSetting, after: StorageSetting): Array<{ action: string; note: AuditNote }> {
  const changes: Array<{ action: string; note: AuditNote }> = [];
  const was = before.encryption?.recipients ?? [];
  const to = after.encryption?.recipients ?? [];
  if (!sameEncryption(before.encryption, after.encryption)) {
    const action = to.length === 0 ? 'encryption turned off' : was.length === 0 ? 'encryption turned on' : 'encryption recipients changed';
    changes.push({ action, note: { code: 'encryption-changed', from: was, to } });
  }
  if (!sameObjectLock(before.objectLock, after.objectLock)) {
    changes.push({ action: 'Object Lock changed', note: { code: 'object-lock-changed', from: before.objectLock, to: after.objectLock } });
  }
  return changes;
}

/** `request.settings` is checked here (parseSettings names every field); the rest of the payload by the resolver. */
export async function saveSettings({ accountId, workspaceUuid }: { accountId: string; workspaceUuid: string }, request: Omit<SaveSettingsRequest, 'settings'> & { settings: unknown }): Promise<SettingsView> {
  // Validate everything before writing anything.
  const settings = parseSettings(request.settings, new Date(now()));
  const previous = await loadSettings();
  const added = Object.keys(settings.overrides).filter((uuid) => previous?.overrides[uuid] === undefined);
  await requireWorkspaceRepositories(workspaceUuid, added.map((uuid) => ({ uuid, at: ['overrides', uuid] })));
  const storage = previous ? storageChanges(storageSettingOf(previous), storageSettingOf(settings)) : [];
  if (storage.some((change) => change.action === 'encryption turned off') && request.confirmDowngrade !== true) {
    const problem: FieldProblem = { path: ['confirmDowngrade'], kind: 'needs-confirmation', message: 'must be true: these settings turn encryption off, and every later snapshot would be stored unencrypted (earlier ones stay encrypted)' };
    throw new LifeboatError('INVALID_ARGUMENT', `The settings were not saved: confirmDowngrade ${problem.message}.`, { details: { problems: [problem] } });
  }
  if (request.saveAnyway !== true) await refuseFailingSecrets(workspaceUuid, previous, settings, request);
  // No "save anyway" here: settings that say Object Lock must mean the bucket has it.
  await refuseObjectLockWithout(settings, request.bucketSecretAccessKey ?? (await loadSecrets()).bucketSecretAccessKey);
  await storeSettings(settings);
  await storeSecrets({
    ...(request.bucketSecretAccessKey !== undefined ? { bucketSecretAccessKey: request.bucketSecretAccessKey } : {}),
    ...(request.bitbucketToken !== undefined ? { bitbucketToken: request.bitbucketToken } : {}),
  });
  // Names only: a secret's value never reaches the audit log.
  const secrets: SecretName[] = [
    ...(request.bucketSecretAccessKey !== undefined ? ['bucketSecretAccessKey' as const] : []),
    ...(request.bitbucketToken !== undefined ? ['bitbucketToken' as const] : []),
  ];
  const settingsChanged = previous ? changedFields(previous, settings) : [];
  if (!previous || settingsChanged.some((field) => field === 'repositories' || field.startsWith('repositories.'))) {
    // The wall clock, not the app's: the sweep compares it with Bitbucket's created_on, which Bitbucket's clock sets.
    await appState().set(kvsKeys.selectionSavedAt, Date.now());
  }
  const note: AuditNote = previous ? { code: 'settings-changed', fields: settingsChanged, secrets } : { code: 'settings-created', secrets };
  await recordAudit({ actorAccountId: accountId, action: previous ? 'settings changed' : 'settings created', outcome: 'ok', note });
  for (const change of storage) await recordAudit({ actorAccountId: accountId, ...change, outcome: 'ok' });
  // Made now rather than at the first backup: the page shows its fingerprint, to be written down outside Bitbucket, from the set-up on.
  await appSigningKey();
  return settingsView();
}
