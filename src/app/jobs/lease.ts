// The repository's lease: one backup, restore or prune at a time per
// repository, across every consumer (the job kernel takes it for them).
import { randomUUID } from 'node:crypto';
import { kvsKeys } from '../state/state-keys.js';
import { appState, now } from '../../forge/state/context.js';

/** Longer than a consumer may run (900 s), so a lease outlives only a holder that died. */
const LEASE_SECONDS = 16 * 60;

interface Lease {
  holder: string;
  what: string;
  until: string;
  /** This taking of the lease: a takeover claims it by this id (leases written before it had none). */
  id?: string;
}

/**
 * Takes the repository's lease for `holder`: true when taken, false while
 * someone else holds it. A lease whose holder outlived it (killed at its time
 * limit) is taken over; so is one the same holder left.
 */
export async function acquireLease(repositoryUuid: string, holder: string, what: string): Promise<boolean> {
  const key = kvsKeys.lease(repositoryUuid);
  const lease: Lease = { holder, what, until: new Date(now() + LEASE_SECONDS * 1000).toISOString(), id: randomUUID() };
  const ttl = { value: LEASE_SECONDS, unit: 'SECONDS' as const };
  if (await appState().setIfAbsent(key, lease, { ttl })) return true;
  const current = await appState().get<Lease>(key);
  // Released between the two calls: take it the conditional way again, or someone else may take it too.
  if (!current) return appState().setIfAbsent(key, lease, { ttl });
  if (current.holder !== holder) {
    if (Date.parse(current.until) > now()) return false;
    // Its holder died (KVS's expiry is lazy). KVS compares a key's absence only, never a value (transact()'s
    // conditions are for custom entities), so contenders for this dead lease race for a key of its own: one wins.
    if (!(await appState().setIfAbsent(kvsKeys.leaseTakeover(repositoryUuid, current.id ?? current.until), holder, { ttl }))) return false;
  }
  await appState().set(key, lease, { ttl });
  return true;
}

export async function releaseLease(repositoryUuid: string, holder: string): Promise<void> {
  const key = kvsKeys.lease(repositoryUuid);
  const current = await appState().get<Lease>(key);
  if (current?.holder === holder) await appState().delete(key);
}
