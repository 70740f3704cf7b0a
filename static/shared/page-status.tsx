import { Fragment } from 'react';

/** One line of where the page is shown and to whom. */
export interface ContextRow {
  label: string;
  /** The `data-testid` of the value. */
  testId: string;
  value: string;
}

/** A line of status the page should see at once (e.g. how backups are stored). */
export interface Notice {
  testId: string;
  text: string;
}

/** What both pages show first: the error, if any, then notices, then the context once it has loaded. */
export function PageStatus({ error, context, notices = [] }: { error: string | undefined; context: readonly ContextRow[] | undefined; notices?: readonly Notice[] }) {
  return (
    <>
      {error && <div className="banner error" role="alert" data-testid="error">{error}</div>}
      {notices.map((notice) => <div key={notice.testId} className="banner info" role="status" data-testid={notice.testId}>{notice.text}</div>)}
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
