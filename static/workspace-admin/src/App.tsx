import { useEffect, useState } from 'react';
import { getOverview, getPageContext, type Overview, type PageContext } from './api.js';

interface State {
  context?: PageContext;
  overview?: Overview;
  error?: string;
}

export function App() {
  const [state, setState] = useState<State>({});

  useEffect(() => {
    // A page that unmounts mid-request must not write into a stale tree.
    let current = true;
    const update = (next: State): void => {
      if (current) setState((previous) => ({ ...previous, ...next }));
    };
    (async () => {
      update({ context: await getPageContext() });
      update({ overview: await getOverview() });
    })().catch((error: unknown) => update({ error: error instanceof Error ? error.message : String(error) }));
    return () => {
      current = false;
    };
  }, []);

  const { context, overview, error } = state;
  return (
    <main>
      <h1>Lifeboat</h1>
      {error && <div className="banner error" role="alert" data-testid="error">{error}</div>}
      {context ? (
        <dl data-testid="context">
          <dt>Workspace</dt>
          <dd data-testid="workspace">{context.workspaceId ?? 'unknown'}</dd>
          <dt>Signed in as</dt>
          <dd data-testid="account">{context.accountId ?? 'nobody'}</dd>
        </dl>
      ) : (
        !error && <p>Loading…</p>
      )}
      {overview && (
        <section data-testid="overview">
          <h2>Overview</h2>
          <p>
            The app sees you as <code data-testid="overview-account">{overview.accountId}</code> in workspace{' '}
            <code data-testid="overview-workspace">{overview.workspaceId}</code>.
          </p>
        </section>
      )}
    </main>
  );
}
