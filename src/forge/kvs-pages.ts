// Paging through KVS: listings whose keys sort newest first (audit log,
// destructive events, the snapshot index), in KVS's own pages of 20.
import { ForgeKvsAPIError, WhereConditions, kvs } from '@forge/kvs';
import type { Paged } from '../contract.js';
import { LifeboatError } from '../engine/errors.js';

/** KVS answers at most 20 per page. */
const PAGE = 20;

/** Every entry under a prefix, page after page. A caller that deletes some collects them first: KVS does not promise a cursor survives a delete. */
export async function* entriesByPrefix<T>(prefix: string): AsyncGenerator<{ key: string; value: T }> {
  for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
    let query = kvs.query().where('key', WhereConditions.beginsWith(prefix)).limit(PAGE);
    if (cursor !== undefined) query = query.cursor(cursor);
    const page = await query.getMany<T>();
    yield* page.results;
    cursor = page.nextCursor;
  }
}

/** A newest-first listing of the values under a prefix; a cursor that is not KVS's own is refused, not passed on. */
export async function listByPrefix<T>(prefix: string, cursor?: string): Promise<Paged<T>> {
  let query = kvs.query().where('key', WhereConditions.beginsWith(prefix)).limit(PAGE);
  if (cursor !== undefined) query = query.cursor(cursor);
  try {
    const page = await query.getMany<T>();
    return { items: page.results.map((result) => result.value), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  } catch (error) {
    // The query is ours and fixed; with a cursor, KVS refusing it (400) means the cursor is not one it gave.
    if (cursor !== undefined && error instanceof ForgeKvsAPIError && error.responseDetails.status === 400) {
      throw new LifeboatError('INVALID_ARGUMENT', 'The request was refused: cursor is not one this list gave; start again from the first page.', { cause: error });
    }
    throw error;
  }
}
