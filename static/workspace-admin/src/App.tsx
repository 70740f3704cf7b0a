import { PageStatus } from '../../shared/page-status.js';
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
      <PageStatus
        error={error}
        context={context && [
          { label: 'Workspace', testId: 'workspace', value: context.workspaceId ?? 'unknown' },
          { label: 'Signed in as', testId: 'account', value: context.accountId ?? 'nobody' },
        ]}
      />
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
