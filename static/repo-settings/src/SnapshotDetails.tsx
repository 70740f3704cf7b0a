// A snapshot's details: what it is, then one section per kind of content it
// holds. Each section is an entry of SECTIONS: its git refs, then what it holds
// besides git (pull requests, configuration, LFS objects, attachments).
import Button from '@atlaskit/button/new';
import Modal, { ModalBody, ModalFooter, ModalHeader, ModalTitle, ModalTransition } from '@atlaskit/modal-dialog';
import Spinner from '@atlaskit/spinner';
import type { ReactNode } from 'react';
import { invoke, type SnapshotDetails, type SnapshotSummary } from './api.js';
import { ErrorMessage } from '../../shared/page-error.js';
import { absoluteTime, plural, refLabel, triggerWords } from './format.js';
import { SnapshotContentsView } from './SnapshotContents.js';
import { SignatureWords } from './SignatureWords.js';
import { useResource } from '../../shared/data.js';

interface DetailsSection {
  key: string;
  /** The section's accessible name. */
  title: string;
  render: (details: SnapshotDetails) => ReactNode;
}

function RefsTable({ details }: { details: SnapshotDetails }) {
  return (
    <table className="refs">
      <caption>{plural(details.refList.length, 'ref')} in {plural(details.bundles, 'bundle')}</caption>
      <thead><tr><th scope="col">Ref</th><th scope="col">Commit</th></tr></thead>
      <tbody>
        {details.refList.map((ref) => <tr key={ref.name}><td>{refLabel(ref.name)}</td><td><code>{ref.target.slice(0, 12)}</code></td></tr>)}
      </tbody>
    </table>
  );
}

const SECTIONS: DetailsSection[] = [
  { key: 'refs', title: 'Branches and tags', render: (details) => <RefsTable details={details} /> },
  { key: 'contents', title: 'Besides git', render: (details) => <SnapshotContentsView snapshotId={details.id} contents={details.contents} /> },
];

export function SnapshotDetailsDialog({ snapshot, onClose }: { snapshot: SnapshotSummary; onClose: () => void }) {
  const { data: details, error } = useResource(() => invoke('getSnapshot', { snapshotId: snapshot.id }), [snapshot.id]);
  return (
    <ModalTransition>
      <Modal onClose={onClose} width="large">
        <ModalHeader>
          <ModalTitle>Snapshot of {absoluteTime(snapshot.createdAt)}</ModalTitle>
        </ModalHeader>
        <ModalBody>
          <p>
            <code>{snapshot.id}</code> · {triggerWords(snapshot.trigger)} · {snapshot.chain === 'full' ? 'full backup' : `increment ${snapshot.increments} of its chain`} ·{' '}
            {snapshot.recipients.length ? `encrypted to ${plural(snapshot.recipients.length, 'age recipient')}` : 'stored unencrypted'} ·{' '}
            <SignatureWords signedBy={snapshot.signedBy} />
          </p>
          {error !== undefined && <ErrorMessage error={error} title="Could not read the snapshot" />}
          {!details && error === undefined && <Spinner label="Loading the snapshot" />}
          {details && SECTIONS.map((section) => <section key={section.key} aria-label={section.title}>{section.render(details)}</section>)}
        </ModalBody>
        <ModalFooter>
          <Button appearance="primary" onClick={onClose}>Close</Button>
        </ModalFooter>
      </Modal>
    </ModalTransition>
  );
}
