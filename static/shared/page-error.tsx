// Both pages' edge for a failed resolver call: the error as the page shows it
// (what happened, and the hint the backend gives for this page), thrown by each
// page's typed invoke (made here, typed by its own resolver map) and rendered in one way.
import SectionMessage from '@atlaskit/section-message';
import { makeInvoke } from '@forge/bridge';
import type { Definitions } from '@forge/resolver/shared';
import type { FieldProblem, Result, UserError } from '../../src/contract.js';

/** A resolver's refusal or failure, with its stable code and what the person can do (hint). */
export class PageError extends Error implements UserError {
  readonly code: UserError['code'];
  readonly hint?: string;
  /** A refused request: each field it got wrong. */
  readonly problems: FieldProblem[];
  constructor(error: UserError) {
    super(error.message);
    this.name = 'PageError';
    this.code = error.code;
    if (error.hint) this.hint = error.hint;
    this.problems = error.problems ?? [];
  }
}

/** A field problem in the page's words: the kind says what is wrong, the schema's rule says how to get it right. */
function problemWords(problem: FieldProblem): string {
  if (problem.kind === 'required') return 'is required';
  if (problem.kind === 'unknown-field') return 'is not a field this version of Lifeboat knows; reload the page';
  return problem.message;
}

/**
 * A refused request's field problems, split: each problem of a field the view shows
 * goes beside that field (`fields`, by dotted path; a problem deeper in a field, such
 * as one recipient of a list, goes to the field), the others above the form.
 */
export function fieldProblems(error: unknown, shown: readonly string[]): { fields: Record<string, string>; other: FieldProblem[] } {
  const fields: Record<string, string[]> = {};
  const other: FieldProblem[] = [];
  for (const problem of error instanceof PageError ? error.problems : []) {
    const path = problem.path.join('.');
    const field = shown.find((name) => path === name || path.startsWith(`${name}.`));
    if (field) (fields[field] ??= []).push(problemWords(problem));
    else other.push(problem);
  }
  return { fields: Object.fromEntries(Object.entries(fields).map(([field, words]) => [field, `${words.join('; ')}.`])), other };
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
