// The app's state, behind a narrow port (as the bucket is behind BlobStore): what
// the app keeps between invocations — job records, the snapshot index, leases,
// marks, the audit log — and its two secrets. kvs-state.ts keeps it in Forge's
// KVS, memory-state.ts in a Map for unit tests; app-state.conformance.ts is the
// one suite both pass, and the sandbox Forge host's KVS with them. Nothing here
// imports @forge/*.
import type { Paged } from '../../contract.js';

export interface Ttl {
  value: number;
  unit: 'SECONDS' | 'MINUTES' | 'HOURS' | 'DAYS';
}

export interface WriteOptions {
  /** Forgotten this long after the write (KVS's expiry is lazy: a reader may still judge age itself). */
  ttl?: Ttl;
}

export interface StateEntry<T> {
  key: string;
  value: T;
}

export interface StatePage<T> {
  entries: Array<StateEntry<T>>;
  /** Present when more entries follow; only the store that gave it accepts it. */
  nextCursor?: string;
}

/** At most this many entries in a page: KVS's own page (Forge docs, KVS limits: query() returns at most 20 per page). */
export const STATE_PAGE = 20;

export interface AppState {
  get<T>(key: string): Promise<T | undefined>;
  /** When the value was last written (epoch ms), undefined when there is none. */
  updatedAt(key: string): Promise<number | undefined>;
  /** Writes, replacing whatever was there. Values are JSON (@forge/kvs sends them JSON.stringify'd): undefined fields are not kept. */
  set(key: string, value: unknown, options?: WriteOptions): Promise<void>;
  /** The conditional write: false, and nothing written, when the key is already there (a live value). */
  setIfAbsent(key: string, value: unknown, options?: WriteOptions): Promise<boolean>;
  /** Deleting a key that is not there is no error (@forge/kvs out/storage-api.js drops KEY_NOT_FOUND on delete). */
  delete(key: string): Promise<void>;
  /**
   * One page of the entries under `prefix`, in ascending key order, at most
   * STATE_PAGE. A cursor this store did not give is refused with
   * LifeboatError INVALID_ARGUMENT (pages pass cursors from the browser).
   */
  page<T>(prefix: string, cursor?: string): Promise<StatePage<T>>;
  /** Kept apart from the values: never in a page, read only by key. */
  secrets: {
    get<T>(key: string): Promise<T | undefined>;
    set(key: string, value: unknown, options?: WriteOptions): Promise<void>;
    delete(key: string): Promise<void>;
  };
}

/**
 * Every entry under a prefix, page after page: the one paging loop. A caller
 * that deletes some collects them first: KVS does not promise a cursor survives
 * a delete under it. Stop early by breaking out of the loop.
 */
export async function* entriesByPrefix<T>(state: AppState, prefix: string): AsyncGenerator<StateEntry<T>> {
  for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
    const page = await state.page<T>(prefix, cursor);
    yield* page.entries;
    cursor = page.nextCursor;
  }
}

/** The first `count` values under a prefix (the listings sort newest first by key). */
export async function firstValues<T>(state: AppState, prefix: string, count: number): Promise<T[]> {
  const values: T[] = [];
  if (count <= 0) return values;
  for await (const { value } of entriesByPrefix<T>(state, prefix)) {
    values.push(value);
    if (values.length >= count) break;
  }
  return values;
}

/** A page of the values under a prefix, as the pages list them; `cursor` is the one the previous page gave. */
export async function listByPrefix<T>(state: AppState, prefix: string, cursor?: string): Promise<Paged<T>> {
  const page = await state.page<T>(prefix, cursor);
  return { items: page.entries.map((entry) => entry.value), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}
