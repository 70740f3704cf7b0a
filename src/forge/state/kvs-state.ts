// App state in Forge's KVS (@forge/kvs): the app's one user of the package's
// key-value calls. Its limits (keys ≤500 characters of [a-zA-Z0-9:._\s-#],
// values ≤240 KiB of JSON, query pages of at most 20) are the callers' to keep.
import { ForgeKvsAPIError, MetadataField, WhereConditions, kvs } from '@forge/kvs';
import { LifeboatError } from '../../engine/errors.js';
import { type AppState, STATE_PAGE, type WriteOptions } from '../../app/state/app-state.js';

const options = (write: WriteOptions | undefined) => (write?.ttl ? { ttl: write.ttl } : undefined);

export const kvsState: AppState = {
  get: (key) => kvs.get(key),
  async updatedAt(key) {
    // @forge/kvs out/storage-api.js: with metadataFields the answer carries the entry's updatedAt beside its value.
    const entry = await kvs.get(key, { metadataFields: [MetadataField.UPDATED_AT] }) as { updatedAt?: number } | undefined;
    return entry?.updatedAt;
  },
  async set(key, value, write) {
    await kvs.set(key, value, options(write));
  },
  /**
   * KVS's conditional write. A FAIL_IF_EXISTS conflict is a ForgeKvsAPIError with
   * HTTP 409 (@forge/kvs out/errors.js carries the status; the code the service
   * sends with it is not documented).
   */
  async setIfAbsent(key, value, write) {
    try {
      await kvs.set(key, value, { keyPolicy: 'FAIL_IF_EXISTS', ...options(write) });
      return true;
    } catch (error) {
      if (error instanceof ForgeKvsAPIError && error.responseDetails.status === 409) return false;
      throw error;
    }
  },
  async delete(key) {
    await kvs.delete(key);
  },
  async page(prefix, cursor) {
    let query = kvs.query().where('key', WhereConditions.beginsWith(prefix)).limit(STATE_PAGE);
    if (cursor !== undefined) query = query.cursor(cursor);
    try {
      const page = await query.getMany();
      return { entries: page.results as never, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    } catch (error) {
      // The query is ours and fixed; with a cursor, KVS refusing it (400) means the cursor is not one it gave.
      if (cursor !== undefined && error instanceof ForgeKvsAPIError && error.responseDetails.status === 400) {
        throw new LifeboatError('INVALID_ARGUMENT', 'The request was refused: cursor is not one this list gave; start again from the first page.', { cause: error });
      }
      throw error;
    }
  },
  secrets: {
    get: (key) => kvs.getSecret(key),
    async set(key, value, write) {
      await kvs.setSecret(key, value, options(write));
    },
    async delete(key) {
      await kvs.deleteSecret(key);
    },
  },
};
