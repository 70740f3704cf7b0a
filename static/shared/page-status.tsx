import { Fragment } from 'react';

/** One line of where the page is shown and to whom. */
export interface ContextRow {
  label: string;
  /** The `data-testid` of the value. */
  testId: string;
  value: string;
}

/** What both pages show first: the error, if any, then the context once it has loaded. */
export function PageStatus({ error, context }: { error: string | undefined; context: readonly ContextRow[] | undefined }) {
  return (
    <>
      {error && <div className="banner error" role="alert" data-testid="error">{error}</div>}
      {context ? (
        <dl data-testid="context">
          {context.map((row) => (
            <Fragment key={row.testId}>
              <dt>{row.label}</dt>
              <dd data-testid={row.testId}>{row.value}</dd>
            </Fragment>
          ))}
        </dl>
      ) : (
        !error && <p>Loading…</p>
      )}
    </>
  );
}
