// Small records the pages read: jobs (what a backup, restore or sweep is doing)
// and the audit log (who did what, and how it ended). Both live in KVS.
import { ForgeKvsAPIError, kvs, WhereConditions } from '@forge/kvs';
import { randomUUID } from 'node:crypto';
import type { AuditEntry, JobKind, JobView, Paged } from '../contract.js';
import { LifeboatError } from '../engine/errors.js';
import { bracedUuid, kvsKeys } from './keys.js';

/** KVS answers at most 20 per page. */
const PAGE = 20;

export async function createJob(kind: JobKind, message: string, requestedBy?: string, repositoryUuid?: string): Promise<JobView> {
  const now = new Date().toISOString();
  const job: JobView = {
    id: randomUUID(), kind, state: 'queued', message, createdAt: now, updatedAt: now,
    ...(requestedBy ? { requestedBy } : {}),
    ...(repositoryUuid ? { repositoryUuid: bracedUuid(repositoryUuid) } : {}),
  };
  await kvs.set(kvsKeys.job(job.id), job);
  return job;
}

export async function getJob(jobId: string): Promise<JobView> {
  const job = /^[0-9a-f-]{36}$/.test(jobId) ? await kvs.get<JobView>(kvsKeys.job(jobId)) : undefined;
  if (!job) throw new LifeboatError('JOB_NOT_FOUND', 'There is no such job (finished jobs are kept for a while, then forgotten).');
  return job;
}

export async function updateJob(jobId: string, change: Partial<Omit<JobView, 'id' | 'kind' | 'createdAt'>>): Promise<JobView> {
  const job = { ...(await getJob(jobId)), ...change, updatedAt: new Date().toISOString() };
  await kvs.set(kvsKeys.job(jobId), job);
  return job;
}

export async function recordAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
  const at = new Date();
  const id = randomUUID();
  await kvs.set(kvsKeys.audit(at, id), { id, at: at.toISOString(), ...entry } satisfies AuditEntry);
}

/** Newest first; `cursor` is the one the previous page gave. */
export async function listAudit(cursor?: string): Promise<Paged<AuditEntry>> {
  return listByPrefix<AuditEntry>(kvsKeys.auditPrefix, cursor);
}

/** One page of the records under `prefix`; `cursor` is the one the previous page gave. */
export async function listByPrefix<T>(prefix: string, cursor?: string): Promise<Paged<T>> {
  let query = kvs.query().where('key', WhereConditions.beginsWith(prefix)).limit(PAGE);
  if (cursor) query = query.cursor(cursor);
  let page: Awaited<ReturnType<typeof query.getMany<T>>>;
  try {
    page = await query.getMany<T>();
  } catch (error) {
    // The query is ours and fixed; with a cursor, KVS refusing it (400) means the cursor is not one it gave.
    if (cursor && error instanceof ForgeKvsAPIError && error.responseDetails.status === 400) {
      throw new LifeboatError('INVALID_ARGUMENT', 'The request was refused: cursor is not one this list gave; start again from the first page.', { cause: error });
    }
    throw error;
  }
  return { items: page.results.map((result) => result.value), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}
