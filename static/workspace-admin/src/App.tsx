import { useLoad } from '../../shared/use-load.js';
import { getOverview, getPageContext } from './api.js';

export function App() {
  const page = useLoad(getPageContext);
  const answer = useLoad(getOverview);
  const context = page.data;
  const overview = answer.data;
  const error = page.error ?? answer.error;
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
