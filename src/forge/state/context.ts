// What the forge services run against: Forge's KVS and queues, unless the caller
// runs them inside `withAppContext` (a unit test: memoryState() and a recording
// push). Scoped with AsyncLocalStorage, so tests running at once never share a
// store, and the services keep the signatures the handlers and pages call.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AppState } from './app-state.js';
import { kvsState } from './kvs-state.js';

/** Pushes events to a queue as @forge/events `Queue.push` does, with its errors (queues.ts handles them). */
export type QueuePush = (queue: string, events: Array<{ body: Record<string, unknown>; delayInSeconds: number }>) => Promise<void>;

export interface AppContext {
  state: AppState;
  /** Instead of Forge's queues. */
  push?: QueuePush;
}

const scoped = new AsyncLocalStorage<AppContext>();

export function appState(): AppState {
  return scoped.getStore()?.state ?? kvsState;
}

/** The context's push, when it replaces Forge's queues. */
export function contextPush(): QueuePush | undefined {
  return scoped.getStore()?.push;
}

export function withAppContext<T>(context: AppContext, run: () => Promise<T>): Promise<T> {
  return scoped.run(context, run);
}
