// Unit tests of the forge services: run them against memoryState() and a push
// that records what would have been queued, no Forge host needed.
import { type MemoryState, memoryState } from './memory-state.js';
import { withAppContext } from './context.js';

export interface Pushed {
  queue: string;
  body: Record<string, unknown>;
  delayInSeconds: number;
}

export interface MemoryApp {
  state: MemoryState;
  /** Every event pushed, in order. */
  pushed: Pushed[];
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function memoryApp(): MemoryApp {
  const state = memoryState();
  const pushed: Pushed[] = [];
  const push = async (queue: string, events: Array<{ body: Record<string, unknown>; delayInSeconds: number }>): Promise<void> => {
    pushed.push(...events.map((event) => ({ queue, body: structuredClone(event.body), delayInSeconds: event.delayInSeconds })));
  };
  return { state, pushed, run: (fn) => withAppContext({ state, push }, fn) };
}
