// The repository's lease: one backup, restore or prune at a time per
// repository, across every consumer (the job kernel takes it for them).
import { kvs } from '@forge/kvs';
import { kvsKeys } from './keys.js';

/** Longer than a consumer may run (900 s), so a lease outlives only a holder that died. */
const LEASE_SECONDS = 16 * 60;

interface Lease {
  holder: string;
  what: string;
  until: string;
}

/**
 * Takes the repository's lease for `holder`: true when taken, false while
 * someone else holds it. A lease whose holder outlived it (killed at its time
 * limit) is taken over; so is one the same holder left.
 */
export async function acquireLease(repositoryUuid: string, holder: string, what: string): Promise<boolean> {
  const key = kvsKeys.lease(repositoryUuid);
  const lease: Lease = { holder, what, until: new Date(Date.now() + LEASE_SECONDS * 1000).toISOString() };
  const ttl = { value: LEASE_SECONDS, unit: 'SECONDS' as const };
  if (await setIfAbsent(key, lease, ttl)) return true;
  const current = await kvs.get<Lease>(key);
  // Released between the two calls: take it the conditional way again, or someone else may take it too.
  if (!current) return setIfAbsent(key, lease, ttl);
  if (current.holder !== holder && Date.parse(current.until) > Date.now()) return false;
  // Ours already, or its holder died (KVS's expiry is lazy). Two contenders for a dead lease can both land
  // here: KVS offers no compare-and-set on a value, only on a key's absence.
  await kvs.set(key, lease, { keyPolicy: 'OVERRIDE', ttl });
  return true;
}

export async function releaseLease(repositoryUuid: string, holder: string): Promise<void> {
  const key = kvsKeys.lease(repositoryUuid);
  const current = await kvs.get<Lease>(key);
  if (current?.holder === holder) await kvs.delete(key);
}

/** KVS's conditional write: false when the key is already there. */
export async function setIfAbsent(key: string, value: unknown, ttl: { value: number; unit: 'SECONDS' }): Promise<boolean> {
  try {
    await kvs.set(key, value, { keyPolicy: 'FAIL_IF_EXISTS', ttl });
    return true;
  } catch (error) {
    if ((error as { code?: unknown } | undefined)?.code === 'KEY_ALREADY_EXISTS') return false;
    throw error;
  }
}
