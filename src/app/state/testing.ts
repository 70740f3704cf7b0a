// Unit tests of the forge services: run them against memoryState(), a push
// that records what would have been queued and a clock the test moves, no
// Forge host needed.
import { type MemoryState, memoryState } from './memory-state.js';
import { withAppContext } from '../../forge/state/context.js';
import type { WorkspaceSettingsInput } from '../../settings.js';

/** The workspace the unit tests' app is installed in, and its Forge install context. */
export const TEST_WORKSPACE = '{4c16a397-8e48-479c-8ca2-442e46c90570}';
export const TEST_CONTEXT = { installContext: `ari:cloud:bitbucket::workspace/${TEST_WORKSPACE}` };

/** Settings an admin could save, for unit tests: an hourly schedule over every repository, a bucket at AWS; `change` replaces whole sections. */
export function testSettingsInput(change: Partial<WorkspaceSettingsInput> = {}): WorkspaceSettingsInput {
  return {
    bucket: { endpoint: '', region: 'eu-west-1', name: 'lifeboat-test', prefix: 'lifeboat', addressing: 'virtual-hosted', accessKeyId: 'AKIAEXAMPLE' },
    encryption: { recipients: [] },
    objectLock: { enabled: false, mode: 'GOVERNANCE', days: 30 },
    schedule: { interval: 'hour' },
    retention: {},
    repositories: { mode: 'all', chosen: [], includeNew: false },
    overrides: {},
    bitbucket: { credential: 'access-token', email: '' },
    ...change,
  };
}

export interface Pushed {
  queue: string;
  body: Record<string, unknown>;
  delayInSeconds: number;
}

export interface MemoryApp {
  state: MemoryState;
  /** Every event pushed, in order. */
  pushed: Pushed[];
  /** Moves the app's clock (and the store's expiry with it) on by `ms`. */
  advance(ms: number): void;
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function memoryApp(): MemoryApp {
  // Real time plus every advance, so that the app's clock never runs behind what the test reads.
  let offset = 0;
  const now = (): number => Date.now() + offset;
  const state = memoryState({ now });
  const pushed: Pushed[] = [];
  const push = async (queue: string, events: Array<{ body: Record<string, unknown>; delayInSeconds: number }>): Promise<void> => {
    pushed.push(...events.map((event) => ({ queue, body: structuredClone(event.body), delayInSeconds: event.delayInSeconds })));
  };
  return {
    state,
    pushed,
    advance(ms) {
      offset += ms;
    },
    run: (fn) => withAppContext({ state, push, now }, fn),
  };
}
