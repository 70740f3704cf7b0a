// What the forge services run against: Forge's KVS, queues and clock, unless the
// caller runs them inside `withAppContext` (a unit test: memoryState(), a
// recording push and a clock it moves). Scoped with AsyncLocalStorage, so tests
// running at once never share a store, and the services keep the signatures the
// handlers and pages call.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AppState } from '../../app/state/app-state.js';
import { kvsState } from './kvs-state.js';

/** Pushes events to a queue as @forge/events `Queue.push` does, with its errors (queues.ts handles them). */
export type QueuePush = (queue: string, events: Array<{ body: Record<string, unknown>; delayInSeconds: number }>) => Promise<void>;

export interface AppContext {
  state: AppState;
  /** Instead of Forge's queues. */
  push?: QueuePush;
  /** Epoch ms, instead of the platform's clock: what leases and stale marks are aged by. */
  now?: () => number;
}

const scoped = new AsyncLocalStorage<AppContext>();

/**
 * Where the sandbox Forge host (sandbox/forge/runtime.ts) puts its clock, which its
 * tests move on. Not a Forge API: on Forge nothing sets it and the wall clock is the time.
 */
const HOST_CLOCK = Symbol.for('lifeboat.sandbox.clock');

export function appState(): AppState {
  return scoped.getStore()?.state ?? kvsState;
}

/** The context's push, when it replaces Forge's queues. */
export function contextPush(): QueuePush | undefined {
  return scoped.getStore()?.push;
}

/** The time (epoch ms) by which the app ages what it keeps: leases, waiting marks, silent jobs. */
export function now(): number {
  const clock = scoped.getStore()?.now ?? (globalThis as { [HOST_CLOCK]?: () => number })[HOST_CLOCK];
  return clock ? clock() : Date.now();
}

export function withAppContext<T>(context: AppContext, run: () => Promise<T>): Promise<T> {
  return scoped.run(context, run);
}
