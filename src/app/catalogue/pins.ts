// Pins: snapshots the app has promised to someone, kept by every prune whatever
// the retention policy says. A destructive-event banner offers to put a lost tip
// back from its snapshot (pinned while the banner stands, i.e. until undone); an
// overwrite restore says "this restore can be undone" from the snapshot it took
// first (pinned for the window below). Pins live in the app's state, not in the
// bucket: the CLI's prune does not see them.
import type { PinView } from '../../contract.js';
import { kvsKeys } from '../state/state-keys.js';
import { entriesByPrefix } from '../state/app-state.js';
import { appState, now as appNow } from '../../forge/state/context.js';

/** A pin holds at least this long after it was made: the default policy's keep-within window (30d). */
export const PIN_MIN_MS = 30 * 86_400_000;

export type PinHolder = { kind: 'event'; eventId: string } | { kind: 'restore-guard'; jobId: string };

interface Pin {
  snapshotId: string;
  holder: PinHolder;
  since: string;
  /** Absent while the holder stands (an open banner); set when it no longer needs the snapshot. */
  until?: string;
}

const holderKey = (holder: PinHolder): string => (holder.kind === 'event' ? `event-${holder.eventId}` : `guard-${holder.jobId}`);

/** Pins `snapshotId` for `holder`: an event's pin stands until released, a restore guard's for PIN_MIN_MS. */
export async function pinSnapshot(repositoryUuid: string, snapshotId: string, holder: PinHolder, now = new Date(appNow())): Promise<void> {
  const pin: Pin = {
    snapshotId, holder, since: now.toISOString(),
    ...(holder.kind === 'restore-guard' ? { until: new Date(now.getTime() + PIN_MIN_MS).toISOString() } : {}),
  };
  await appState().set(kvsKeys.pin(repositoryUuid, snapshotId, holderKey(holder)), pin);
}

/** The holder no longer needs the snapshot: the pin still holds until PIN_MIN_MS after it was made. */
export async function releasePin(repositoryUuid: string, snapshotId: string, holder: PinHolder, now = new Date(appNow())): Promise<void> {
  const key = kvsKeys.pin(repositoryUuid, snapshotId, holderKey(holder));
  const pin = await appState().get<Pin>(key);
  if (!pin || pin.until !== undefined) return;
  const until = Math.max(now.getTime(), Date.parse(pin.since) + PIN_MIN_MS);
  await appState().set(key, { ...pin, until: new Date(until).toISOString() } satisfies Pin);
}

/**
 * The repository's pins that hold at `now`, by snapshot id; with `dropExpired`,
 * the ones that no longer hold are deleted (a prune's clean-up).
 */
export async function heldPins(repositoryUuid: string, now = new Date(appNow()), options: { dropExpired?: boolean } = {}): Promise<Map<string, PinView[]>> {
  const held = new Map<string, PinView[]>();
  const expired: string[] = [];
  for await (const { key, value: pin } of entriesByPrefix<Pin>(appState(), kvsKeys.pinPrefix(repositoryUuid))) {
    if (pin.until !== undefined && Date.parse(pin.until) <= now.getTime()) {
      expired.push(key);
      continue;
    }
    const view: PinView = { ...pin.holder, ...(pin.until ? { until: pin.until } : {}) };
    held.set(pin.snapshotId, [...(held.get(pin.snapshotId) ?? []), view]);
  }
  // Collected first: KVS does not promise a cursor survives a delete under it.
  if (options.dropExpired) await Promise.all(expired.map((key) => appState().delete(key)));
  return held;
}
