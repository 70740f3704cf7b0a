// What the app gets for `@forge/kvs` (see loader.ts). The real package's client
// classes do the work, so query builders, KEY_NOT_FOUND handling and the errors
// thrown (ForgeKvsAPIError with Forge's codes) are the package's own; only the
// transport differs: instead of the Forge runtime's proxy it reaches the host's
// store (kvs-store.ts) of the invocation that is running.
import type * as RealKvs from '@forge/kvs';
import { KvsImpl } from '@forge/kvs/out/kvs.js';
import { StorageApi } from '@forge/kvs/out/storage-api.js';
import { requireInvocation } from '../runtime.js';
import type * as SandboxKvs from './kvs.js';

export { Filter, FilterConditions, ForgeKvsAPIError, ForgeKvsError, isOverrideAndReturnOptions, MetadataField, Sort, WhereConditions } from '@forge/kvs';

const transport = async (path: string, init?: { body?: unknown }): Promise<Response> => {
  const invocation = requireInvocation('@forge/kvs');
  const response = invocation.services.kvsRequest(path, typeof init?.body === 'string' ? JSON.parse(init.body) : undefined);
  // A write Forge has answered is stored: a host killed (kill -9) right after keeps it. Forge does not say so in
  // words (not documented: assumed, as of any database that answers a write); the store's coalesced writes make this cheap.
  await invocation.services.kvsWritten();
  return response;
};

export const kvs: KvsImpl = new KvsImpl(new StorageApi(transport));
export default kvs;

// Drift check: this module must offer everything the real package exports, typed
// as the package declares it. (Under NodeNext a CommonJS package's `default` is its
// whole exports object, so the default is compared with the `kvs` it stands for.)
export type ExportsMatchRealPackage = Omit<typeof SandboxKvs, 'default'> extends Omit<typeof RealKvs, 'default'>
  ? (typeof SandboxKvs)['default'] extends typeof RealKvs.kvs
    ? true
    : never
  : never;
const exportsMatch: ExportsMatchRealPackage = true;
void exportsMatch;
