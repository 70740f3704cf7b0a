import Button from '@atlaskit/button/new';
import Heading from '@atlaskit/heading';
import Lozenge from '@atlaskit/lozenge';
import SectionMessage from '@atlaskit/section-message';
import Toggle from '@atlaskit/toggle';
import { useState } from 'react';
import { getJob, invoke, type JobView, type RepoStatus } from './api.js';
import { ErrorMessage } from '../../shared/page-error.js';
import { areaName } from '../../shared/areas.js';
import { storageWords } from '../../shared/storage-words.js';
import { absoluteTime, bytes, plural, relativeTime } from './format.js';
import { jobEnded, useJob } from '../../shared/data.js';
import { JobStatus } from '../../shared/job-status.js';
import { Inline } from '@atlaskit/primitives';
import { Panel, Subtle } from '../../shared/layout.js';

type Protection = { appearance: 'success' | 'removed' | 'default'; text: string };

function protectionOf(status: RepoStatus): Protection {
  if (status.state === 'failed' || status.lastError) return { appearance: 'removed', text: 'Failing' };
  if (status.included && status.latest) return { appearance: 'success', text: 'Protected' };
  return { appearance: 'default', text: 'Not protected' };
}

/** Protection at a glance, backup on/off, and "Back up now" with its live progress. */
export function StatusPanel({ status, onChange }: { status: RepoStatus; onChange: (status: RepoStatus) => void }) {
  const [saving, setSaving] = useState(false);
  const [actionError, setActionError] = useState<unknown>();
  // The running backup: one this page started, or the one the status names (after a reload).
  const [started, setStarted] = useState<{ job: JobView; alreadyQueued: boolean }>();
  const jobId = started?.job.id ?? status.jobId;
  // A backup that ends changes the status and the timeline: read them again.
  const followed = useJob(getJob, jobId, { ...(started ? { first: started.job } : {}), onEnded: () => void invoke('getRepoStatus').then(onChange, setActionError) });
  const protection = protectionOf(status);
  const latest = status.latest;

  async function toggle() {
    setSaving(true);
    setActionError(undefined);
    try {
      onChange(await invoke('setRepoEnabled', { enabled: !status.included }));
    } catch (error) {
      setActionError(error);
    } finally {
      setSaving(false);
    }
  }

  async function backUpNow() {
    setActionError(undefined);
    try {
      setStarted(await invoke('backupNow'));
    } catch (error) {
      setActionError(error);
    }
  }

  const running = followed.job !== undefined && !jobEnded(followed.job);
  return (
    <Panel labelledBy="status-heading">
      <Inline space="space.100" alignBlock="center" shouldWrap>
        <Heading size="medium" as="h2" id="status-heading">Protection</Heading>
        <span data-testid="protection"><Lozenge appearance={protection.appearance} isBold>{protection.text}</Lozenge></span>
      </Inline>
      <dl>
        <dt>Last backup</dt>
        <dd data-testid="last-backup">
          {latest ? (
            <>
              <time dateTime={latest.createdAt} title={absoluteTime(latest.createdAt)}>{relativeTime(latest.createdAt)}</time>
              {` · ${bytes(latest.bytes)} · `}
              {latest.chain === 'full' ? 'a full backup' : `${plural(latest.increments, 'increment')} since the last full backup`}
            </>
          ) : 'Never backed up'}
        </dd>
        {status.included && (
          <>
            <dt>Next scheduled backup</dt>
            <dd data-testid="next-sweep">
              {status.nextSweepAt
                ? <>with the sweep due <time dateTime={status.nextSweepAt} title={absoluteTime(status.nextSweepAt)}>{relativeTime(status.nextSweepAt)}</time> ({absoluteTime(status.nextSweepAt)}); pushes are backed up soon after they happen</>
                : 'with the first scheduled sweep, within the hour; pushes are backed up soon after they happen'}
            </dd>
          </>
        )}
        {status.storage && (
          <>
            <dt>Storage</dt>
            <dd data-testid="storage">{storageWords(status.storage)}</dd>
          </>
        )}
      </dl>
      {latest?.unreadableConfiguration && (
        <SectionMessage appearance="warning" title={`The last backup could not read ${plural(latest.unreadableConfiguration.length, 'part', 'parts')} of this repository's configuration`}>
          <ul data-testid="unreadable-configuration">
            {latest.unreadableConfiguration.map((item) => <li key={item.section}><strong>{areaName(item.section)}</strong>: {item.message}</li>)}
          </ul>
          <p>A workspace admin gives the credential or the app what it lacks (Lifeboat's page in the workspace settings tests it); the next scheduled backup or "Back up now" reads them again.</p>
        </SectionMessage>
      )}
      {status.lastError && (
        <SectionMessage appearance="warning" title={`The last backup failed ${relativeTime(status.lastError.at)}`}>
          <p>{status.lastError.message}</p>
          {status.lastError.hint && <p>{status.lastError.hint}</p>}
        </SectionMessage>
      )}
      <Inline space="space.100" alignBlock="center" shouldWrap>
        <Toggle id="backup-toggle" isChecked={status.included} isDisabled={saving} onChange={toggle} />
        <label htmlFor="backup-toggle">Back up this repository</label>
        <Subtle testId="included-by">
          {status.includedBy === 'workspace' ? '(follows the workspace setting)' : '(set for this repository)'}
        </Subtle>
      </Inline>
      <Inline space="space.100" alignBlock="center" shouldWrap>
        <Button appearance="primary" onClick={backUpNow} isDisabled={running || !status.included}>Back up now</Button>
        {!status.included && <Subtle>Turn backups on to back up now.</Subtle>}
        {started?.alreadyQueued && running && <Subtle>A backup was already waiting; this request joined it.</Subtle>}
      </Inline>
      <JobStatus followed={followed} label="Backup" />
      {followed.error !== undefined && <ErrorMessage error={followed.error} title="Could not follow the backup" />}
      {actionError !== undefined && <ErrorMessage error={actionError} />}
    </Panel>
  );
}
