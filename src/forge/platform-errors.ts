// Forge's own failures, told apart: a platform that is busy or briefly down
// (KVS or queue rate limits, 5xx) is worth a retry, like a busy git server; the
// engine's classifier cannot know these classes, since it never imports @forge/*.
import { InternalServerError, RateLimitError } from '@forge/events';
import { ForgeKvsAPIError } from '@forge/kvs';
import { LifeboatError, toLifeboatError } from '../engine/errors.js';

export function classifyError(thrown: unknown): LifeboatError {
  const busy = thrown instanceof RateLimitError || thrown instanceof InternalServerError
    || (thrown instanceof ForgeKvsAPIError && (thrown.responseDetails.status === 429 || thrown.responseDetails.status >= 500));
  if (busy) {
    // Forge's quotas are per minute: a rate-limited call is worth repeating a minute later.
    const rateLimited = thrown instanceof RateLimitError || (thrown instanceof ForgeKvsAPIError && thrown.responseDetails.status === 429);
    const details = rateLimited ? { rateLimited, retryAfterSeconds: 60 } : { rateLimited };
    return new LifeboatError('PLATFORM_BUSY', `Forge is busy or briefly unavailable (${(thrown as Error).message}).`, { cause: thrown, details });
  }
  return toLifeboatError(thrown);
}
