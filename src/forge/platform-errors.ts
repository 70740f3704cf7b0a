// Forge's own failures, told apart: a platform that is busy or briefly down
// (KVS or queue rate limits, 5xx, its proxy failing a request) is worth a
// retry, like a busy git server, and so is a request whose connection closed
// under it (Forge cuts any single request of a long-running function at 180 s);
// the engine's classifier cannot know these classes, since it never imports @forge/*.
import { ProxyRequestError } from '@forge/api';
import { InternalServerError, PartialSuccessError, RateLimitError } from '@forge/events';
import { ForgeKvsAPIError } from '@forge/kvs';
import { LifeboatError, toLifeboatError } from '../engine/errors.js';

export function classifyError(thrown: unknown): LifeboatError {
  // @forge/api throws it for an answer carrying Forge's `forge-proxy-error` header (out/api/fetch.js): the
  // proxy, not the product, failed. Which failures it names is not documented: all are taken as passing.
  if (thrown instanceof ProxyRequestError) {
    return new LifeboatError('PLATFORM_BUSY', `Forge's proxy failed to serve a request (${thrown.status} ${thrown.errorCode}).`, {
      cause: thrown,
      details: { rateLimited: false, proxyError: thrown.errorCode, status: thrown.status },
    });
  }
  // A push Forge recorded only in part, even after the events it left out went again (queues.ts), is a busy service too.
  const busy = thrown instanceof RateLimitError || thrown instanceof InternalServerError || thrown instanceof PartialSuccessError
    || (thrown instanceof ForgeKvsAPIError && (thrown.responseDetails.status === 429 || thrown.responseDetails.status >= 500));
  if (busy) {
    // Forge's quotas are per minute: a rate-limited call is worth repeating a minute later.
    const rateLimited = thrown instanceof RateLimitError || (thrown instanceof ForgeKvsAPIError && thrown.responseDetails.status === 429);
    const details = rateLimited ? { rateLimited, retryAfterSeconds: 60 } : { rateLimited };
    return new LifeboatError('PLATFORM_BUSY', `Forge is busy or briefly unavailable (${(thrown as Error).message}).`, { cause: thrown, details });
  }
  const lost = connectionLost(thrown);
  if (lost) return new LifeboatError('CONNECTION_LOST', `A request lost its connection before it was answered in full (${lost}).`, { cause: thrown });
  return toLifeboatError(thrown);
}

/**
 * Why a fetch failed on its way (undici's TypeError "fetch failed" before the answer,
 * "terminated" while reading it, with the socket's error as cause), or an http(s)
 * request's reset; undefined for anything else.
 */
function connectionLost(thrown: unknown): string | undefined {
  if (thrown instanceof TypeError && (thrown.message === 'fetch failed' || thrown.message === 'terminated')) {
    const cause = thrown.cause;
    return cause instanceof Error ? `${thrown.message}: ${cause.message}` : thrown.message;
  }
  if (thrown instanceof Error && (thrown as NodeJS.ErrnoException).code === 'ECONNRESET') return thrown.message;
  return undefined;
}
