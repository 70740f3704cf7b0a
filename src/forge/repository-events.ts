// The repository-events trigger (manifest.yml `repository-events`): a push
// queues a backup (bursts coalesce) and, when it rewrote or removed history,
// is recorded so that the page can offer to undo it (events can come late or
// not at all: the scheduled sweep backs up every repository whatever arrived);
// a new repository joins the backups when the workspace asks for that; a
// deleted one keeps its snapshots and is listed for restore. Triggers have 25 s
// and are not retried.
import { bracedUuid } from '../bitbucket/uuid.js';
import type { PushSeen } from '../contract.js';
import { recordAudit } from '../app/jobs/audit.js';
import { queueBackup } from '../app/backup/backup-queue.js';
import { isIncluded } from '../app/catalogue/coverage.js';
import { recordDestructivePush } from '../app/restore/destructive-events.js';
import { isOwnRefUpdate } from '../app/restore/own-ref-updates.js';
import { type RepositoryLifecycleEvent, type RepositoryPushEvent, repositoryEvent } from './events.js';
import { kvsKeys } from '../app/state/state-keys.js';
import { loadSettings, storeSettings } from '../app/settings/settings-store.js';
import { markDeleted } from '../app/catalogue/snapshot-index.js';
import { appState } from './state/context.js';

export async function handleRepositoryEvent(event: unknown): Promise<void> {
  const parsed = repositoryEvent.safeParse(event);
  if (!parsed.success) {
    // Not ours to retry (Forge does not retry triggers): say so in the log and move on.
    console.warn('lifeboat: ignoring an unexpected repository event', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    return;
  }
  const received = parsed.data;
  if (received.eventType === 'avi:bitbucket:push:repository') await onPush(received);
  else if (received.eventType === 'avi:bitbucket:created:repository') await onCreated(received);
  else await onDeleted(received);
}

async function onPush(event: RepositoryPushEvent): Promise<void> {
  const repositoryUuid = event.repository.uuid;
  const { push } = event;
  const seen: PushSeen = { ref: push.ref, ...(push.after ? { after: push.after } : {}), at: new Date().toISOString() };
  await appState().set(kvsKeys.lastPush(repositoryUuid), seen);
  const settings = await loadSettings();
  // Unconfigured: the backup still queues, so that its failure tells the page to finish the set-up.
  if (!settings || isIncluded(settings, repositoryUuid)) {
    await queueBackup({ workspaceUuid: event.workspace.uuid, repositoryUuid, reason: 'push' });
  }
  // Whatever the ref's kind: recordDestructivePush tells a branch from a tag (the event does not).
  // Not for the app's own updates: Forge marks some selfGenerated, a restore records the rest.
  if (!(push.forced || push.closed) || !push.before || event.selfGenerated === true) return;
  if (!(await isOwnRefUpdate(repositoryUuid, push.ref, push.after))) await recordDestructivePush(event, push.before);
}

async function onCreated(event: RepositoryLifecycleEvent): Promise<void> {
  let settings = await loadSettings();
  if (!settings) return;
  const { repositories } = settings;
  const repositoryUuid = bracedUuid(event.repository.uuid);
  if (repositories.mode === 'chosen') {
    if (!repositories.includeNew) return;
    if (!repositories.chosen.includes(repositoryUuid)) {
      settings = { ...settings, repositories: { ...repositories, chosen: [...repositories.chosen, repositoryUuid] } };
      await storeSettings(settings);
      await recordAudit({ action: 'repository included automatically', repositoryUuid, outcome: 'ok', note: { code: 'included-automatically' } });
    }
  }
  if (isIncluded(settings, repositoryUuid)) await queueBackup({ workspaceUuid: event.workspace.uuid, repositoryUuid, reason: 'schedule' });
}

async function onDeleted(event: RepositoryLifecycleEvent): Promise<void> {
  const repositoryUuid = bracedUuid(event.repository.uuid);
  await appState().delete(kvsKeys.backupQueued(repositoryUuid));
  await markDeleted(repositoryUuid);
  await recordAudit({
    action: 'repository deleted in Bitbucket',
    repositoryUuid,
    ...(event.actor?.accountId ? { actorAccountId: event.actor.accountId } : {}),
    note: { code: 'repository-deleted' },
  });
}
