// Both pages' edge for a failed resolver call: the error as the page shows it
// (what happened, and the hint the backend gives for this page), thrown by each
// page's typed invoke (made here, typed by its own resolver map) and rendered in one way.
import SectionMessage from '@atlaskit/section-message';
import { makeInvoke } from '@forge/bridge';
import type { Definitions } from '@forge/resolver/shared';
import type { Result, UserError } from '../../src/contract.js';

/** A resolver's refusal or failure, with its stable code and what the person can do (hint). */
export class PageError extends Error implements UserError {
  readonly code: UserError['code'];
  readonly hint?: string;
  constructor(error: UserError) {
    super(error.message);
    this.name = 'PageError';
    this.code = error.code;
    if (error.hint) this.hint = error.hint;
  }
}

/** An error at the edge of a view: what happened and, when the backend knows, what to do. */
export function ErrorMessage({ error, title = 'Something went wrong' }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof PageError ? error.hint : undefined;
  return (
    <SectionMessage appearance="error" title={title}>
      <p>{message}</p>
      {hint && <p>{hint}</p>}
    </SectionMessage>
  );
}

export const isPermissionDenied = (error: unknown): boolean => error instanceof PageError && error.code === 'PERMISSION_DENIED';

type ResultKey<D> = { [K in keyof D]: D[K] extends (...args: never[]) => Result<unknown> ? K : never }[keyof D];
type PayloadOf<D, K extends keyof D> = D[K] extends (...args: infer A) => unknown ? (A extends [infer P] ? [P] : []) : never;
type ValueOf<D, K extends keyof D> = D[K] extends (...args: never[]) => Result<infer T> ? T : never;

/** A page's one `invoke`, typed by its resolver map in the contract: a failed Result is thrown as a PageError. */
export function makeResultInvoke<D extends Definitions>() {
  const call = makeInvoke<D>() as unknown as (key: keyof D, payload?: unknown) => Promise<Result<unknown>>;
  return async <K extends ResultKey<D>>(key: K, ...payload: PayloadOf<D, K>): Promise<ValueOf<D, K>> => {
    const answer = await call(key, (payload as unknown[])[0]);
    if (!answer.ok) throw new PageError(answer.error);
    return answer.value as ValueOf<D, K>;
  };
}
