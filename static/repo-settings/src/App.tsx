import { PageStatus } from '../../shared/page-status.js';
import { useLoad } from '../../shared/use-load.js';
import { getOverview, getPageContext, getRepoStatus } from './api.js';

export function App() {
  const page = useLoad(getPageContext);
  const answer = useLoad(getOverview);
  const status = useLoad(getRepoStatus);
  const context = page.data;
  const overview = answer.data;
  const error = page.error ?? answer.error;
  return (
    <main>
      <h1>Lifeboat backups</h1>
      <PageStatus
        error={error}
        notices={status.data?.storage ? [{ testId: 'storage', text: status.data.storage.message }] : status.error ? [{ testId: 'storage', text: `Backup status: ${status.error}` }] : []}
        context={context && [
          { label: 'Repository', testId: 'repository', value: context.repositoryUuid ?? 'unknown' },
          { label: 'Workspace', testId: 'workspace', value: context.workspaceId ?? 'unknown' },
          { label: 'Signed in as', testId: 'account', value: context.accountId ?? 'nobody' },
        ]}
      />
      {overview && (
        <section data-testid="overview">
          <h2>Overview</h2>
          <p>
            The app sees you as <code data-testid="overview-account">{overview.accountId}</code>.
          </p>
          {overview.lastPush ? (
            <p data-testid="last-push">
              Last push: <code>{overview.lastPush.ref}</code>{' '}
              {overview.lastPush.after ? <>to <code>{overview.lastPush.after.slice(0, 12)}</code></> : '(deleted)'} at{' '}
              <time dateTime={overview.lastPush.at}>{new Date(overview.lastPush.at).toLocaleString()}</time>
            </p>
          ) : (
            <p data-testid="last-push">No push seen yet.</p>
          )}
        </section>
      )}
    </main>
  );
}
