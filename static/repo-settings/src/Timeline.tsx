import Button from '@atlaskit/button/new';
import DynamicTable from '@atlaskit/dynamic-table';
import EmptyState from '@atlaskit/empty-state';
import Heading from '@atlaskit/heading';
import Lozenge from '@atlaskit/lozenge';
import SectionMessage from '@atlaskit/section-message';
import { useState } from 'react';
import { invoke, type SnapshotSummary } from './api.js';
import { ErrorMessage } from '../../shared/page-error.js';
import { absoluteTime, bytes, plural, relativeTime, triggerWords } from './format.js';
import { SizeChart } from './SizeChart.js';
import { SnapshotDetailsDialog } from './SnapshotDetails.js';
import { useMorePages } from '../../shared/data.js';
import { Inline } from '@atlaskit/primitives';
import { Panel } from '../../shared/layout.js';
import { SignatureWords } from './SignatureWords.js';

function changesWords({ added, moved, deleted }: SnapshotSummary['changes']): string {
  const parts = [added && `${added} added`, moved && `${moved} moved`, deleted && `${deleted} deleted`].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no ref changed';
}

const HEAD = {
  cells: [
    { key: 'time', content: 'Time' },
    { key: 'trigger', content: 'Trigger' },
    { key: 'changes', content: 'Refs changed' },
    { key: 'size', content: 'Size' },
    { key: 'signature', content: 'Signature' },
    { key: 'actions', content: 'Actions' },
  ],
};

/** Snapshots newest first, a page at a time, with each one's details and its restore. */
export function Timeline({ version, onRestore }: { version: number; onRestore: (snapshot: SnapshotSummary) => void }) {
  const { pages, error, more, loadingMore } = useMorePages((cursor) => invoke('listSnapshots', cursor === undefined ? {} : { cursor }), [version]);
  const [details, setDetails] = useState<SnapshotSummary>();

  const snapshots = pages?.flatMap((page) => page.items) ?? [];
  const unreadable = pages?.[0]?.unreadable ?? [];
  const rows = snapshots.map((snapshot) => ({
    key: snapshot.id,
    cells: [
      { key: 'time', content: <time dateTime={snapshot.createdAt} title={absoluteTime(snapshot.createdAt)}>{relativeTime(snapshot.createdAt)}</time> },
      { key: 'trigger', content: <>{triggerWords(snapshot.trigger)}{snapshot.recipients.length > 0 && <> <Lozenge>encrypted</Lozenge></>}</> },
      { key: 'changes', content: changesWords(snapshot.changes) },
      { key: 'size', content: `${bytes(snapshot.bytes)} (${bytes(snapshot.ownBytes)} new)` },
      { key: 'signature', content: <SignatureWords signedBy={snapshot.signedBy} /> },
      {
        key: 'actions',
        content: (
          <Inline space="space.100" alignBlock="center" shouldWrap>
            <Button onClick={() => setDetails(snapshot)} aria-label={`Details of the snapshot of ${absoluteTime(snapshot.createdAt)}`}>Details</Button>
            <Button onClick={() => onRestore(snapshot)} aria-label={`Restore from the snapshot of ${absoluteTime(snapshot.createdAt)}`}>Restore…</Button>
          </Inline>
        ),
      },
    ],
  }));

  return (
    <Panel labelledBy="timeline-heading">
      <Heading size="medium" as="h2" id="timeline-heading">Snapshots</Heading>
      {error !== undefined && <ErrorMessage error={error} title="Could not list the snapshots" />}
      {unreadable.length > 0 && (
        <SectionMessage appearance="warning" title={`${plural(unreadable.length, 'snapshot')} could not be read or cannot be trusted`}>
          <ul>{unreadable.map((item) => <li key={item.id}><code>{item.id}</code>: {item.message}</li>)}</ul>
        </SectionMessage>
      )}
      <DynamicTable
        label="Snapshots, newest first"
        head={HEAD}
        rows={rows}
        isLoading={pages === undefined && error === undefined}
        emptyView={<EmptyState header="No snapshots yet" description="Back up now, or push to the repository: each backup adds a snapshot here." headingLevel={3} />}
        testId="snapshots"
      />
      {more && <Button onClick={() => void more()} isLoading={loadingMore}>Show older snapshots</Button>}
      <SizeChart snapshots={snapshots} />
      {details && <SnapshotDetailsDialog snapshot={details} onClose={() => setDetails(undefined)} />}
    </Panel>
  );
}
