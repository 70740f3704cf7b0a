import SectionMessage from '@atlaskit/section-message';
import { ApiError } from './api.js';

/** An error at the edge of a view: what happened and, when the backend knows, what to do. */
export function ErrorMessage({ error, title = 'Something went wrong' }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof ApiError ? error.hint : undefined;
  return (
    <SectionMessage appearance="error" title={title}>
      <p>{message}</p>
      {hint && <p>{hint}</p>}
    </SectionMessage>
  );
}

export const isPermissionDenied = (error: unknown): boolean => error instanceof ApiError && error.code === 'PERMISSION_DENIED';
