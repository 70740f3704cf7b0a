import Button from '@atlaskit/button/new';
import Modal, { ModalBody, ModalFooter, ModalHeader, ModalTitle, ModalTransition } from '@atlaskit/modal-dialog';
import SectionMessage from '@atlaskit/section-message';
import { useState } from 'react';
import { getJob, invoke, type DestructiveEvent, type JobView } from './api.js';
import { ErrorMessage } from '../../shared/page-error.js';
import { absoluteTime, refLabel, relativeTime } from './format.js';
import { JobStatus } from '../../shared/job-status.js';
import { useJob, useResource } from '../../shared/data.js';
import { Box, Inline, Stack, xcss } from '@atlaskit/primitives';

const short = (oid: string) => oid.slice(0, 12);

function eventWords(event: DestructiveEvent): string {
  const what = event.kind === 'force-push' ? 'was force-pushed' : 'was deleted';
  // The push event names only the Atlassian account; it is shown as given, for an admin to look up.
  const who = event.actorAccountId ? ` by Atlassian account ${event.actorAccountId}` : '';
  return `${refLabel(event.ref)} ${what} ${relativeTime(event.at)}${who}`;
}

const eventsStyles = xcss({ marginBlock: 'space.200' });
const actionsStyles = xcss({ marginBlockStart: 'space.100' });

/** Pushes that removed or rewrote history, each with its undo: beside in one click, in place after a confirmation. */
export function DestructiveEvents({ version, onUndone }: { version: number; onUndone: () => void }) {
  const { data: page, error } = useResource(() => invoke('listDestructiveEvents', {}), [version]);
  // Undone here: their banners stay, showing how the undo ended, until the page reloads.
  const [undoneHere, setUndoneHere] = useState<ReadonlySet<string>>(new Set());
  if (error !== undefined) return <ErrorMessage error={error} title="Could not list force-pushes and deletions" />;
  const open = (page?.items ?? []).filter((event) => !event.undoneBy || undoneHere.has(event.id));
  if (open.length === 0) return null;
  const undone = (id: string) => {
    setUndoneHere((previous) => new Set([...previous, id]));
    onUndone();
  };
  return (
    <Box xcss={eventsStyles}>
      <Stack space="space.100">
        {open.map((event) => <EventBanner key={event.id} event={event} onUndone={() => undone(event.id)} />)}
      </Stack>
    </Box>
  );
}

function EventBanner({ event, onUndone }: { event: DestructiveEvent; onUndone: () => void }) {
  const [job, setJob] = useState<JobView>();
  const [error, setError] = useState<unknown>();
  const [confirming, setConfirming] = useState(false);
  const followed = useJob(getJob, job?.id, { ...(job ? { first: job } : {}), onEnded: (ended) => { if (ended.state === 'done') onUndone(); } });

  async function undo(inPlace: boolean) {
    setConfirming(false);
    setError(undefined);
    try {
      setJob(await invoke('undoDestructiveEvent', inPlace ? { eventId: event.id, inPlace: true, confirmOverwrite: true } : { eventId: event.id }));
    } catch (failure) {
      setError(failure);
    }
  }

  return (
    <SectionMessage
      appearance="warning"
      title={eventWords(event)}
>
      <p>
        Before the push it pointed to <code>{short(event.previousTip)}</code>
        {event.newTip ? <>; now to <code>{short(event.newTip)}</code></> : ''} (<time dateTime={event.at}>{absoluteTime(event.at)}</time>).
        {' '}Commits that were only on it may no longer be on any branch.
      </p>
      {event.snapshotGone && <p>The snapshot that held it is no longer in the bucket, so Lifeboat cannot put it back.</p>}
      {!job && !event.snapshotGone && (
        <Box xcss={actionsStyles}>
          <Inline space="space.100" alignBlock="center" shouldWrap>
            <Button appearance="primary" onClick={() => void undo(false)}>Restore the previous tip beside it</Button>
            {event.kind !== 'tag-deleted' && <Button onClick={() => setConfirming(true)}>Put it back in place…</Button>}
          </Inline>
        </Box>
      )}
      <JobStatus followed={followed} label="Undo" />
      {error !== undefined && <ErrorMessage error={error} title="The undo could not start" />}
      {confirming && (
        <ModalTransition>
          <Modal onClose={() => setConfirming(false)}>
            <ModalHeader><ModalTitle appearance="warning">Put {refLabel(event.ref)} back in place?</ModalTitle></ModalHeader>
            <ModalBody>
              <p>{refLabel(event.ref)} will point to <code>{short(event.previousTip)}</code> again. Whatever was pushed to it since is replaced.</p>
              <p>Lifeboat backs up the current state first, so this can be undone too.</p>
              <p>The safe alternative, restoring it beside, adds a branch under <code>restored/</code> and changes nothing else.</p>
            </ModalBody>
            <ModalFooter>
              <Button onClick={() => setConfirming(false)}>Cancel</Button>
              <Button appearance="warning" onClick={() => void undo(true)}>Put it back in place</Button>
            </ModalFooter>
          </Modal>
        </ModalTransition>
      )}
    </SectionMessage>
  );
}
