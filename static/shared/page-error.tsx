// Both pages' edge for a failed resolver call: the error as the page shows it
// (what happened, and the hint the backend gives for this page), thrown by each
// page's typed invoke wrapper and rendered in one way.
import SectionMessage from '@atlaskit/section-message';
import type { UserError } from '../../src/contract.js';

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
