import { kvs } from '@forge/kvs';
import type { PushSeen } from '../contract.js';
import { repositoryPushEvent } from './events.js';
import { kvsKeys } from './keys.js';

/** Product trigger for repository events (25 s budget): remembers the newest push per repository. */
export async function handleRepositoryEvent(event: unknown): Promise<void> {
  const parsed = repositoryPushEvent.safeParse(event);
  if (!parsed.success) return;
  const { repository, push } = parsed.data;
  const seen: PushSeen = { ref: push.ref.name, at: new Date().toISOString(), ...(push.after ? { after: push.after } : {}) };
  await kvs.set(kvsKeys.lastPush(repository.uuid), seen);
}
