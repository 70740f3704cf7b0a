// Forge's own failures, told apart: a platform that is busy or briefly down
// (KVS or queue rate limits, 5xx) is worth a retry, like a busy git server; the
// engine's classifier cannot know these classes, since it never imports @forge/*.
import { InternalServerError, RateLimitError } from '@forge/events';
import { ForgeKvsAPIError } from '@forge/kvs';
import { LifeboatError, toLifeboatError } from '../engine/errors.js';

export function classifyError(thrown: unknown): LifeboatError {
  const busy = thrown instanceof RateLimitError || thrown instanceof InternalServerError
    || (thrown instanceof ForgeKvsAPIError && (thrown.responseDetails.status === 429 || thrown.responseDetails.status >= 500));
  if (busy) return new LifeboatError('PLATFORM_BUSY', `Forge is busy or briefly unavailable (${(thrown as Error).message}); trying again later.`, { cause: thrown });
  return toLifeboatError(thrown);
}
