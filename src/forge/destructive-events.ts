// Pushes that removed or rewrote history (force-pushes, deleted branches and
// tags), recorded by the push trigger with the snapshot that still holds the
// lost tip, so that the repository page can offer to put it back.
import { createHash } from 'node:crypto';
import { kvs } from '@forge/kvs';
import { bracedUuid } from '../bitbucket/uuid.js';
import type { DestructiveEvent, Paged } from '../contract.js';
import { findSnapshotHolding } from '../engine/bucket/catalog.js';
import { LifeboatError, toLifeboatError } from '../engine/errors.js';
import { openBucket, repoPath } from './bucket.js';
import type { RepositoryPushEvent } from './events.js';
import { kvsKeys } from './keys.js';
import { listByPrefix } from './kvs-pages.js';
import { loadSettings, requireConfiguration } from './settings-store.js';
import { newestSnapshotIds } from './snapshot-index.js';

/** Manifests the push trigger reads looking for the snapshot that holds a rewritten tip (it has 25 s). */
const LOOKUP_MANIFESTS = 10;
/** How long the push trigger looks for that snapshot before recording the event without it (undo searches again). */
const LOOKUP_MS = 8_000;

export async function recordDestructivePush(event: RepositoryPushEvent, previousTip: string): Promise<void> {
  const { push } = event;
  const repositoryUuid = bracedUuid(event.repository.uuid);
  const isTag = push.ref.type === 'tag';
  const refName = `${isTag ? 'refs/tags/' : 'refs/heads/'}${push.ref.name}`;
  const kind: DestructiveEvent['kind'] = push.closed ? (isTag ? 'tag-deleted' : 'branch-deleted') : 'force-push';
  // Bitbucket's timestamp, when it gives one, is the same on every redelivery: a duplicate rewrites the same record.
  const atMs = Date.parse(event.timestamp ?? '') || Date.now();
  const digest = createHash('sha256').update([repositoryUuid, refName, previousTip, push.after ?? '', kind].join('\n')).digest('hex').slice(0, 12);
  const id = `${atMs}-${digest}`;
  // Bounded: a slow bucket must not push the trigger past its 25 s and lose the record itself.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      console.warn('lifeboat: gave up looking for the snapshot holding a rewritten tip; undo will search for it');
      resolve(undefined);
    }, LOOKUP_MS);
  });
  const lookup = snapshotWithLostTip(event.workspace.uuid, repositoryUuid, refName, previousTip).catch((error: unknown) => {
    console.warn('lifeboat: could not look for the snapshot holding a rewritten tip', toLifeboatError(error).message);
    return undefined;
  });
  const snapshotId = await Promise.race([lookup, timedOut]).finally(() => clearTimeout(timer));
  const record: DestructiveEvent = {
    id,
    repositoryUuid,
    kind,
    ref: refName,
    previousTip,
    ...(push.after && !push.closed ? { newTip: push.after } : {}),
    ...(event.actor?.accountId ? { actorAccountId: event.actor.accountId } : {}),
    at: new Date(atMs).toISOString(),
    ...(snapshotId ? { snapshotId } : {}),
  };
  await kvs.set(kvsKeys.destructiveEvent(repositoryUuid, new Date(atMs), id), record);
}

/** The newest snapshot whose `refName` is at `tip`: the newest backup first, then a few older ones. */
async function snapshotWithLostTip(workspaceUuid: string, repositoryUuid: string, refName: string, tip: string): Promise<string | undefined> {
  const settings = await loadSettings();
  if (!settings) return undefined;
  const [{ secrets }, candidates] = await Promise.all([requireConfiguration(), newestSnapshotIds(repositoryUuid, LOOKUP_MANIFESTS)]);
  const found = await findSnapshotHolding(openBucket(settings, secrets.bucketSecretAccessKey), repoPath(workspaceUuid, repositoryUuid), { refNames: [refName], oid: tip }, candidates);
  return found?.manifest.id;
}

/** Newest first. */
export async function listDestructiveEvents(repositoryUuid: string, cursor?: string): Promise<Paged<DestructiveEvent>> {
  return listByPrefix<DestructiveEvent>(kvsKeys.destructiveEventPrefix(repositoryUuid), cursor);
}

/** Event ids are `<epoch ms>-<digest>`, so the record's key follows from the id. */
function destructiveEventKey(repositoryUuid: string, eventId: string): string {
  const match = /^(\d{1,13})-[0-9a-f]{12}$/.exec(eventId);
  if (!match?.[1]) throw new LifeboatError('INVALID_ARGUMENT', 'There is no such event on this repository.');
  return kvsKeys.destructiveEvent(repositoryUuid, new Date(Number(match[1])), eventId);
}

export async function getDestructiveEvent(repositoryUuid: string, eventId: string): Promise<DestructiveEvent> {
  const event = await kvs.get<DestructiveEvent>(destructiveEventKey(repositoryUuid, eventId));
  if (!event) throw new LifeboatError('INVALID_ARGUMENT', 'There is no such event on this repository.');
  return event;
}

export async function markEventUndone(repositoryUuid: string, eventId: string, jobId: string): Promise<DestructiveEvent> {
  const event = { ...(await getDestructiveEvent(repositoryUuid, eventId)), undoneBy: { jobId, at: new Date().toISOString() } };
  await kvs.set(destructiveEventKey(repositoryUuid, eventId), event);
  return event;
}
