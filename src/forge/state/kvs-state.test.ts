// The KVS implementation against the sandbox Forge host's KVS: each call runs
// inside an invocation of the host, as a handler's would.
import { startFixtureHost } from '../../../sandbox/forge/testing.js';
import type { AppState } from '../../app/state/app-state.js';
import { runAppStateConformance } from '../../app/state/app-state.conformance.js';

// Imported once the host's module seam is registered (importing testing.js does it), so @forge/kvs is the host's.
const { kvsState } = await import('./kvs-state.js');

runAppStateConformance('KVS (sandbox Forge host)', async () => {
  const fixture = await startFixtureHost();
  const inside = <T>(call: () => Promise<T>): Promise<T> => fixture.host.runInInvocation(call);
  const state: AppState = {
    get: (key) => inside(() => kvsState.get(key)),
    updatedAt: (key) => inside(() => kvsState.updatedAt(key)),
    set: (key, value, options) => inside(() => kvsState.set(key, value, options)),
    setIfAbsent: (key, value, options) => inside(() => kvsState.setIfAbsent(key, value, options)),
    delete: (key) => inside(() => kvsState.delete(key)),
    page: (prefix, cursor) => inside(() => kvsState.page(prefix, cursor)),
    secrets: {
      get: (key) => inside(() => kvsState.secrets.get(key)),
      set: (key, value, options) => inside(() => kvsState.secrets.set(key, value, options)),
      delete: (key) => inside(() => kvsState.secrets.delete(key)),
    },
  };
  return { state, cleanup: () => fixture.close() };
});
