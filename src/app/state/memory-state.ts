// App state in memory, for unit tests: the same contract as KVS
// (app-state.conformance.ts), without a Forge host. `now` is the clock a value's
// ttl is judged by, so a test can move past an expiry without waiting.
import { LifeboatError } from '../../engine/errors.js';
import { type AppState, STATE_PAGE, type StatePage, type Ttl, type WriteOptions } from './app-state.js';

interface Stored {
  json: string;
  updatedAt: number;
  expiresAt?: number;
}

/** KVS keys: 2 to 500 characters of [a-zA-Z0-9:._\s-#] (Forge docs, KVS limits). A key KVS would refuse fails here too. */
const KEY = /^[a-zA-Z0-9:._\s\-#]{2,500}$/;

function checkKey(key: string): string {
  if (!KEY.test(key) || key.trim() === '') throw new Error(`KVS refuses the key ${JSON.stringify(key)}: 2 to 500 characters of [a-zA-Z0-9:._\\s-#].`);
  return key;
}

const TTL_MS: Record<Ttl['unit'], number> = { SECONDS: 1000, MINUTES: 60_000, HOURS: 3_600_000, DAYS: 86_400_000 };
const CURSOR_TAG = 'memory-state:';

export interface MemoryState extends AppState {
  /** Every live value by key (secrets apart), as a test inspects the store. */
  dump(): Record<string, unknown>;
}

export function memoryState(options: { now?: () => number } = {}): MemoryState {
  const now = options.now ?? Date.now;
  const values = new Map<string, Stored>();
  const secrets = new Map<string, Stored>();

  const live = (table: Map<string, Stored>, key: string): Stored | undefined => {
    const stored = table.get(key);
    if (stored?.expiresAt !== undefined && stored.expiresAt <= now()) {
      table.delete(key);
      return undefined;
    }
    return stored;
  };
  const write = (table: Map<string, Stored>, key: string, value: unknown, writeOptions: WriteOptions = {}): void => {
    // Stored as JSON, as KVS stores it: what JSON drops is gone, and no caller shares an object with the store.
    checkKey(key);
    const at = now();
    const ttl = writeOptions.ttl;
    table.set(key, { json: JSON.stringify(value), updatedAt: at, ...(ttl ? { expiresAt: at + ttl.value * TTL_MS[ttl.unit] } : {}) });
  };
  const read = <T>(table: Map<string, Stored>, key: string): T | undefined => {
    const stored = live(table, key);
    return stored ? (JSON.parse(stored.json) as T) : undefined;
  };

  return {
    get: async (key) => read(values, key),
    updatedAt: async (key) => live(values, key)?.updatedAt,
    async set(key, value, writeOptions) {
      write(values, key, value, writeOptions);
    },
    async setIfAbsent(key, value, writeOptions) {
      if (live(values, key)) return false;
      write(values, key, value, writeOptions);
      return true;
    },
    async delete(key) {
      values.delete(key);
    },
    async page<T>(prefix: string, cursor?: string): Promise<StatePage<T>> {
      let after: string | undefined;
      if (cursor !== undefined) {
        const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
        if (!decoded.startsWith(CURSOR_TAG)) throw new LifeboatError('INVALID_ARGUMENT', 'The request was refused: cursor is not one this list gave; start again from the first page.');
        after = decoded.slice(CURSOR_TAG.length);
      }
      const keys = [...values.keys()].filter((key) => key.startsWith(prefix) && (after === undefined || key > after) && live(values, key)).sort();
      const entries = keys.slice(0, STATE_PAGE).map((key) => ({ key, value: read<T>(values, key)! }));
      const last = entries.at(-1)?.key;
      return { entries, ...(keys.length > STATE_PAGE && last !== undefined ? { nextCursor: Buffer.from(CURSOR_TAG + last).toString('base64url') } : {}) };
    },
    secrets: {
      get: async (key) => read(secrets, key),
      async set(key, value, writeOptions) {
        write(secrets, key, value, writeOptions);
      },
      async delete(key) {
        secrets.delete(key);
      },
    },
    dump() {
      return Object.fromEntries([...values.keys()].sort().filter((key) => live(values, key)).map((key) => [key, read(values, key)]));
    },
  };
}
