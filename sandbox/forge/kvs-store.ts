// The server side of Forge's key-value store. The app keeps using the real
// @forge/kvs client classes (platform/kvs.ts hands them an in-process transport),
// so this answers the requests they send (POST /api/v1/get, /set, /query, ...)
// with Forge's status codes and error bodies, which the package's
// out/utils/error-handling.js turns into ForgeKvsAPIError (code, message,
// responseDetails.status), enforcing Forge's key and value limits. Data is
// persisted as JSON in the data directory, secrets in their own file; writes
// are coalesced and atomic (temp file + rename).
//
// Error codes: KEY_TOO_SHORT, KEY_TOO_LONG, INVALID_KEY, MAX_SIZE, MAX_DEPTH,
// LIST_QUERY_LIMIT_EXCEEDED, QUERY_WHERE_INVALID, QUERY_WHERE_FIELD_INVALID,
// INVALID_FILTER_CONDITION and INVALID_FILTER_VALUES with HTTP 400 are the
// docs' ("Error handling for the Key-Value Store"); KEY_NOT_FOUND with 404 is
// what the package itself expects (storage-api.js handleKeyNotFound). The rest
// (a FAIL_IF_EXISTS conflict, a value that is not JSON, a bad TTL or cursor, an
// unknown operation) are not documented: assumed.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface Entry {
  value: unknown;
  createdAt: number;
  updatedAt: number;
  /** ISO 8601, when set with a TTL. */
  expireTime?: string;
}

type Table = Map<string, Entry>;
type Which = 'values' | 'secrets';

export interface KvsStoreOptions {
  dataDir: string;
  /** Largest serialized value in bytes. */
  valueBytes: number;
  /** Largest page a query may ask for. */
  queryLimit: number;
}

class KvsFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Forge's documented key rule (the `\-` is a literal dash in Forge's pattern too).
const KEY_PATTERN = /^(?!\s+$)[a-zA-Z0-9:._\s\-#]+$/;
const MAX_KEY_LENGTH = 500;
const MAX_DEPTH = 32;
const DEFAULT_QUERY_LIMIT = 10;
const TTL_UNIT_MS = { SECONDS: 1000, MINUTES: 60_000, HOURS: 3_600_000, DAYS: 86_400_000 } as const;

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length < 2) throw new KvsFailure(400, 'KEY_TOO_SHORT', 'The provided key needs to be more than one character.');
  if (key.length > MAX_KEY_LENGTH) throw new KvsFailure(400, 'KEY_TOO_LONG', `The provided key has exceeded the maximum ${MAX_KEY_LENGTH} characters.`);
  if (!KEY_PATTERN.test(key)) throw new KvsFailure(400, 'INVALID_KEY', `The provided key does not match the regex: ${KEY_PATTERN}`);
  return key;
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child));
  return deepest + 1;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export class KvsStore {
  private readonly tables: Record<Which, Table> = { values: new Map(), secrets: new Map() };
  private readonly dirty = new Set<Which>();
  private writing: Promise<void> | undefined;
  private writeError: unknown;
  /** Changes made, and how many of them are on disk: written() waits for its own, not for later ones. */
  private changes = 0;
  private stored = 0;
  private readonly waiters: Array<{ upTo: number; resolve: () => void; reject: (error: unknown) => void }> = [];

  private constructor(private readonly options: KvsStoreOptions) {}

  static async open(options: KvsStoreOptions): Promise<KvsStore> {
    const store = new KvsStore(options);
    await mkdir(options.dataDir, { recursive: true });
    for (const which of ['values', 'secrets'] as const) {
      let text: string;
      try {
        text = await readFile(store.file(which), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      const entries = JSON.parse(text) as Record<string, Entry>;
      store.tables[which] = new Map(Object.entries(entries));
    }
    return store;
  }

  /** Answers one request of the @forge/kvs client, as the Forge KVS service would. */
  request(path: string, body: unknown): Response {
    try {
      return this.route(path, body);
    } catch (error) {
      if (error instanceof KvsFailure) return jsonResponse(error.status, { code: error.code, message: error.message });
      throw error;
    }
  }

  /** Non-secret, unexpired keys and their values. */
  dump(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of [...this.tables.values.keys()].sort()) {
      const entry = this.live('values', key);
      if (entry) out[key] = entry.value;
    }
    return out;
  }

  /** Unexpired secret keys, sorted; their values stay inside. */
  secretKeys(): string[] {
    return [...this.tables.secrets.keys()].sort().filter((key) => this.live('secrets', key) !== undefined);
  }

  /** Resolves once every change made so far is on disk (at once when there is none); rejects if writing it failed. */
  written(): Promise<void> {
    const upTo = this.changes;
    if (this.stored >= upTo) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo, resolve, reject }));
  }

  /** Resolves when everything set so far is on disk; rejects if a write failed. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.writeError !== undefined) {
      const error = this.writeError;
      this.writeError = undefined;
      throw error;
    }
  }

  private file(which: Which): string {
    return join(this.options.dataDir, which === 'values' ? 'kvs.json' : 'kvs-secrets.json');
  }

  private route(path: string, body: unknown): Response {
    const secret = path.startsWith('/api/v1/secret/');
    const which: Which = secret ? 'secrets' : 'values';
    const op = path.replace(/^\/api\/v1\/(secret\/)?/, '');
    if (op.startsWith('entity/')) throw new KvsFailure(400, 'NOT_AVAILABLE_IN_SANDBOX', 'Custom entities (kvs.entity) are not available in the sandbox Forge host.');
    const request = record(body);
    switch (op) {
      case 'get':
        return this.get(which, request);
      case 'set':
        return this.set(which, request);
      case 'delete': {
        const key = checkKey(request.key);
        if (!this.live(which, key)) throw new KvsFailure(404, 'KEY_NOT_FOUND', 'The specified key does not exist.');
        this.tables[which].delete(key);
        this.changed(which);
        return new Response(null, { status: 204 });
      }
      case 'query':
        if (secret) break;
        return this.query(request);
      case 'batch/set':
      case 'batch/get':
      case 'batch/delete':
        if (secret) break;
        return this.batch(op, Array.isArray(body) ? body : []);
      case 'transaction':
        if (secret) break;
        return this.transact(request);
    }
    throw new KvsFailure(404, 'NOT_FOUND', `Unknown KVS operation ${path}`);
  }

  private live(which: Which, key: string): Entry | undefined {
    const entry = this.tables[which].get(key);
    if (entry?.expireTime !== undefined && Date.parse(entry.expireTime) <= Date.now()) {
      this.tables[which].delete(key);
      this.changed(which);
      return undefined;
    }
    return entry;
  }

  private withMetadata(key: string, entry: Entry, fields: unknown): Record<string, unknown> {
    const wanted = Array.isArray(fields) ? fields : [];
    return {
      key,
      value: entry.value,
      ...(wanted.includes('CREATED_AT') ? { createdAt: entry.createdAt } : {}),
      ...(wanted.includes('UPDATED_AT') ? { updatedAt: entry.updatedAt } : {}),
      ...(wanted.includes('EXPIRE_TIME') && entry.expireTime !== undefined ? { expireTime: entry.expireTime } : {}),
    };
  }

  private get(which: Which, request: Record<string, unknown>): Response {
    const key = checkKey(request.key);
    const entry = this.live(which, key);
    if (!entry) throw new KvsFailure(404, 'KEY_NOT_FOUND', 'The specified key does not exist.');
    return jsonResponse(200, { key, value: entry.value, createdAt: entry.createdAt, updatedAt: entry.updatedAt, ...(entry.expireTime === undefined ? {} : { expireTime: entry.expireTime }) });
  }

  /** Validates one write and returns the entry it would store; changes nothing. */
  private prepare(which: Which, keyValue: unknown, value: unknown, options: Record<string, unknown>): { key: string; entry: Entry; previous?: Entry } {
    const key = checkKey(keyValue);
    const serialized = JSON.stringify(value);
    if (serialized === undefined) throw new KvsFailure(400, 'INVALID_VALUE', 'The value must be JSON: undefined, functions and symbols cannot be stored.');
    if (Buffer.byteLength(serialized) > this.options.valueBytes) {
      throw new KvsFailure(400, 'MAX_SIZE', `The provided value has exceeded the maximum size limit (${Buffer.byteLength(serialized)} bytes > ${this.options.valueBytes}).`);
    }
    if (depthOf(value) > MAX_DEPTH) throw new KvsFailure(400, 'MAX_DEPTH', `The provided value has exceeded the maximum object depth (${MAX_DEPTH}) limit.`);
    const previous = this.live(which, key);
    // Not documented: assumed from a third-party report (2026) of KEY_CONFLICT with HTTP 409; the package defines no code for it.
    if (previous && options.keyPolicy === 'FAIL_IF_EXISTS') throw new KvsFailure(409, 'KEY_CONFLICT', `The key ${key} already exists (keyPolicy FAIL_IF_EXISTS).`);
    const now = Date.now();
    const ttl = record(options.ttl);
    let expireTime: string | undefined;
    if (options.ttl !== undefined) {
      const unit = TTL_UNIT_MS[ttl.unit as keyof typeof TTL_UNIT_MS];
      if (typeof ttl.value !== 'number' || !(ttl.value > 0) || unit === undefined) throw new KvsFailure(400, 'INVALID_TTL', 'ttl needs a positive value and a unit of SECONDS, MINUTES, HOURS or DAYS.');
      expireTime = new Date(now + ttl.value * unit).toISOString();
    }
    const entry: Entry = { value: JSON.parse(serialized) as unknown, createdAt: previous?.createdAt ?? now, updatedAt: now, ...(expireTime === undefined ? {} : { expireTime }) };
    return { key, entry, ...(previous ? { previous } : {}) };
  }

  private set(which: Which, request: Record<string, unknown>): Response {
    const options = record(request.options);
    const { key, entry, previous } = this.prepare(which, request.key, request.value, options);
    this.tables[which].set(key, entry);
    this.changed(which);
    if (options.returnValue === 'LATEST') return jsonResponse(200, { key, ...entry });
    if (options.returnValue === 'PREVIOUS') return previous ? jsonResponse(200, { key, ...previous }) : new Response(null, { status: 200 });
    return new Response(null, { status: 204 });
  }

  private query(request: Record<string, unknown>): Response {
    const limit = request.limit ?? DEFAULT_QUERY_LIMIT;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > this.options.queryLimit) {
      throw new KvsFailure(400, 'LIST_QUERY_LIMIT_EXCEEDED', `A query page holds 1 to ${this.options.queryLimit} results; limit ${String(limit)} was asked for.`);
    }
    const where = Array.isArray(request.where) ? request.where.map(record) : [];
    if (where.length > 1) throw new KvsFailure(400, 'QUERY_WHERE_INVALID', 'KVS queries should contain only a single "where" clause.');
    let prefix = '';
    const clause = where[0];
    if (clause) {
      if (clause.property !== 'key') throw new KvsFailure(400, 'QUERY_WHERE_FIELD_INVALID', 'The specified field is not supported for filters.');
      if (clause.condition !== 'BEGINS_WITH') throw new KvsFailure(400, 'INVALID_FILTER_CONDITION', 'The specified condition is not supported for filters.');
      if (!Array.isArray(clause.values) || clause.values.length !== 1) throw new KvsFailure(400, 'INVALID_FILTER_VALUES', 'BEGINS_WITH takes exactly one value.');
      prefix = String(clause.values[0]);
    }
    let after: string | undefined;
    if (request.after !== undefined) {
      const decoded = typeof request.after === 'string' ? Buffer.from(request.after, 'base64url').toString('utf8') : '';
      if (!decoded.startsWith('k:')) throw new KvsFailure(400, 'INVALID_CURSOR', 'The cursor is not one this store returned.');
      after = decoded.slice(2);
    }
    const keys = [...this.tables.values.keys()].filter((key) => key.startsWith(prefix) && (after === undefined || key > after)).sort();
    const page: Array<Record<string, unknown>> = [];
    let last: string | undefined;
    for (const key of keys) {
      const entry = this.live('values', key);
      if (!entry) continue;
      if (page.length === limit) {
        return jsonResponse(200, { data: page, cursor: Buffer.from(`k:${last}`).toString('base64url') });
      }
      page.push(this.withMetadata(key, entry, record(request.options).metadataFields));
      last = key;
    }
    return jsonResponse(200, { data: page });
  }

  private batch(op: string, items: unknown[]): Response {
    const successfulKeys: Array<Record<string, unknown>> = [];
    const failedKeys: Array<Record<string, unknown>> = [];
    for (const raw of items) {
      const item = record(raw);
      const id = { key: item.key, ...(item.entityName === undefined ? {} : { entityName: item.entityName }) };
      try {
        if (item.entityName !== undefined) throw new KvsFailure(400, 'NOT_AVAILABLE_IN_SANDBOX', 'Custom entities are not available in the sandbox Forge host.');
        if (op === 'batch/set') {
          const { key, entry } = this.prepare('values', item.key, item.value, record(item.options));
          this.tables.values.set(key, entry);
          this.changed('values');
          successfulKeys.push(id);
        } else if (op === 'batch/delete') {
          this.tables.values.delete(checkKey(item.key));
          this.changed('values');
          successfulKeys.push(id);
        } else {
          const key = checkKey(item.key);
          const entry = this.live('values', key);
          if (!entry) throw new KvsFailure(404, 'KEY_NOT_FOUND', 'The specified key does not exist.');
          successfulKeys.push(this.withMetadata(key, entry, record(item.options).metadataFields));
        }
      } catch (error) {
        if (!(error instanceof KvsFailure)) throw error;
        failedKeys.push({ ...id, error: { code: error.code, message: error.message } });
      }
    }
    return jsonResponse(200, { successfulKeys, failedKeys });
  }

  /** All-or-nothing sets and deletes of plain keys; entity conditions are not modelled. */
  private transact(request: Record<string, unknown>): Response {
    const sets = Array.isArray(request.set) ? request.set.map(record) : [];
    const deletes = Array.isArray(request.delete) ? request.delete.map(record) : [];
    if ((Array.isArray(request.check) && request.check.length > 0) || [...sets, ...deletes].some((op) => op.entityName !== undefined || op.conditions !== undefined)) {
      throw new KvsFailure(400, 'NOT_AVAILABLE_IN_SANDBOX', 'Transaction checks and entity conditions are not available in the sandbox Forge host.');
    }
    const prepared = sets.map((op) => this.prepare('values', op.key, op.value, record(op.options)));
    const deleteKeys = deletes.map((op) => checkKey(op.key));
    for (const { key, entry } of prepared) this.tables.values.set(key, entry);
    for (const key of deleteKeys) this.tables.values.delete(key);
    this.changed('values');
    return new Response(null, { status: 204 });
  }

  private changed(which: Which): void {
    this.changes += 1;
    this.dirty.add(which);
    this.writing ??= this.writeDirty();
  }

  private async writeDirty(): Promise<void> {
    try {
      while (this.dirty.size > 0) {
        const batch = [...this.dirty];
        const upTo = this.changes;
        this.dirty.clear();
        for (const which of batch) {
          const file = this.file(which);
          const temp = `${file}.${process.pid}.tmp`;
          await writeFile(temp, JSON.stringify(Object.fromEntries(this.tables[which])), { mode: 0o600 });
          await rename(temp, file);
        }
        this.stored = upTo;
        for (const waiter of this.waiters.filter((candidate) => candidate.upTo <= upTo)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    } catch (error) {
      // Kept for flush(), and told to whoever waits for a change this write carried.
      this.writeError = error;
      for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    } finally {
      this.writing = undefined;
    }
  }
}
