// The audit log: who did what, and how it ended. Newest first in KVS.
import { randomUUID } from 'node:crypto';
import type { AuditEntry, Paged } from '../../contract.js';
import { kvsKeys } from '../state/state-keys.js';
import { listByPrefix } from '../state/app-state.js';
import { appState } from '../../forge/state/context.js';

export async function recordAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
  const at = new Date();
  const id = randomUUID();
  await appState().set(kvsKeys.audit(at, id), { id, at: at.toISOString(), ...entry } satisfies AuditEntry);
}

/** Newest first; `cursor` is the one the previous page gave. */
export async function listAudit(cursor?: string): Promise<Paged<AuditEntry>> {
  return listByPrefix<AuditEntry>(appState(), kvsKeys.auditPrefix, cursor);
}
