import Heading from '@atlaskit/heading';
import SectionMessage from '@atlaskit/section-message';
import Spinner from '@atlaskit/spinner';
import { useState } from 'react';
import { useResource } from '../../shared/data.js';
import { invoke, type RepoStatus, type SnapshotSummary } from './api.js';
import { ErrorMessage, isPermissionDenied } from '../../shared/page-error.js';
import { DestructiveEvents } from './Events.js';
import { RestoreDialog } from './RestoreDialog.js';
import { StatusPanel } from './Status.js';
import { Timeline } from './Timeline.js';
import { Subtle } from '../../shared/layout.js';

export function App() {
  const loaded = useResource(() => invoke('getRepoStatus'));
  // What a change on the page answered (a switch, a backup that ended) replaces what was read first.
  const [changedStatus, setChangedStatus] = useState<RepoStatus>();
  const status = changedStatus ?? loaded.data;
  const { error } = loaded;
  // Bumped when a job ends, so that the lists read the KVS summaries again.
  const [version, setVersion] = useState(0);
  const [restoring, setRestoring] = useState<SnapshotSummary>();

  const changed = (next: RepoStatus) => {
    setChangedStatus(next);
    setVersion((value) => value + 1);
  };

  return (
    <main>
      <Heading size="large" as="h1">Lifeboat backups{status?.name ? ` of ${status.name}` : ''}</Heading>
      {error !== undefined && (isPermissionDenied(error) ? (
        <SectionMessage appearance="information" title="Only repository admins can see and change backups">
          <p data-testid="read-only">
            Backups of this repository are managed by its admins and the workspace admins: snapshots can hold history that was removed
            on purpose, so Lifeboat shows them only to admins. Ask one of them to restore something for you.
          </p>
          <Subtle as="p">{error instanceof Error ? error.message : ''}</Subtle>
        </SectionMessage>
      ) : (
        <ErrorMessage error={error} title="Lifeboat could not load this repository's backups" />
      ))}
      {!status && error === undefined && <Spinner label="Loading backups" />}
      {status && (
        <>
          <DestructiveEvents version={version} onUndone={() => setVersion((value) => value + 1)} />
          <StatusPanel status={status} onChange={changed} />
          <Timeline version={version} onRestore={setRestoring} />
          {restoring && <RestoreDialog snapshot={restoring} repository={{ name: status.slug ?? status.name ?? '', ...(status.fullName ? { fullName: status.fullName } : {}), ...(status.links ? { links: status.links } : {}) }} onClose={() => setRestoring(undefined)} onFinished={() => setVersion((value) => value + 1)} />}
        </>
      )}
    </main>
  );
}
