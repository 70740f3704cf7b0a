// Which app state the forge services use: Forge's KVS, unless the caller runs
// them inside `withAppState` (a unit test with memoryState()). Scoped with
// AsyncLocalStorage, so tests running at once never share a store, and the
// services' signatures stay those the handlers and pages call.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AppState } from './app-state.js';
import { kvsState } from './kvs-state.js';

const scoped = new AsyncLocalStorage<AppState>();

export function appState(): AppState {
  return scoped.getStore() ?? kvsState;
}

export function withAppState<T>(state: AppState, run: () => Promise<T>): Promise<T> {
  return scoped.run(state, run);
}
