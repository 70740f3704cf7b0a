// What the app gets for `@forge/events` (see loader.ts). Queue and JobProgress
// are the real classes, so push validation (50 events, 200 KB, delayInSeconds
// 0–900), the errors thrown and InvocationError are the package's own; they are
// only handed a transport that reaches the host's queue broker (queues.ts)
// instead of the Forge runtime's proxy.
import type { FetchMethod } from '@forge/api';
import type * as RealEvents from '@forge/events';
import { JobProgress as RealJobProgress, Queue as RealQueue } from '@forge/events';
import type { Body } from '@forge/events/out/types.js';
import { requireInvocation } from '../runtime.js';
import type * as SandboxEvents from './events.js';

export {
  InternalServerError,
  InvalidPushSettingsError,
  InvalidQueueNameError,
  InvocationError,
  InvocationErrorCode,
  InvocationLimitReachedError,
  JobDoesNotExistError,
  NoEventsToPushError,
  PartialSuccessError,
  PayloadTooBigError,
  QueueResponse,
  RateLimitError,
  TooManyEventsError,
} from '@forge/events';

const transport: FetchMethod = async (path, init) => {
  const invocation = requireInvocation('@forge/events');
  return invocation.services.queueRequest(path, typeof init?.body === 'string' ? JSON.parse(init.body) : undefined);
};

type QueueParams = ConstructorParameters<typeof RealQueue>[0];

export class Queue<T extends Body = Body> extends RealQueue<T> {
  constructor(queueParams: QueueParams) {
    super(queueParams, transport);
  }
}

export class JobProgress extends RealJobProgress {
  constructor(queueParams: QueueParams, id: string) {
    super(queueParams, id, transport);
  }
}

function notAvailable(): never {
  throw new Error('@forge/events appEvents (Forge app events) are not available in the sandbox Forge host.');
}

export const appEvents: typeof RealEvents.appEvents = { publish: async () => notAvailable() };

// Drift check: this module must offer everything the real package exports, typed as
// it declares them (`default` aside: under NodeNext a CommonJS package's default is
// its whole exports object, and the package declares none of its own).
export type ExportsMatchRealPackage = typeof SandboxEvents extends Omit<typeof RealEvents, 'default'> ? true : never;
const exportsMatch: ExportsMatchRealPackage = true;
void exportsMatch;
