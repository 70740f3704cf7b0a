// Both pages show a job the same way: its state as the job machine reports it,
// its progress while it runs, how it ended, or why the page lost track of it.
import Lozenge from '@atlaskit/lozenge';
import { Inline, Stack, Text } from '@atlaskit/primitives';
import ProgressBar from '@atlaskit/progress-bar';
import SectionMessage from '@atlaskit/section-message';
import type { JobView } from '../../src/contract.js';
import type { Followed } from './data.js';
import { absoluteTime, relativeTime } from './format.js';
import { jobNoteWords, progressWords } from './job-words.js';
import { ErrorMessage } from './page-error.js';

const STATE_WORDS: Record<JobView['state'], string> = {
  queued: 'Queued',
  running: 'Running',
  'waiting-to-retry': 'Waiting to retry',
  done: 'Done',
  failed: 'Failed',
};

/**
 * `label`: what the job does, as a title starts ("Backup", "The restore").
 * `doneTitle`: what a finished job means, when that is not plainly "finished" (a sweep only queues backups).
 */
export function JobStatus({ followed: { job, error }, label, doneTitle }: { followed: Followed; label: string; doneTitle?: string }) {
  if (error !== undefined) return <ErrorMessage error={error} title={`Lost track of this job (${label.toLowerCase()})`} />;
  if (!job) return null;
  if (job.state === 'done') {
    return <SectionMessage appearance="success" title={doneTitle ?? `${label} finished`}><Text testId="job-message">{jobNoteWords(job.note)}</Text></SectionMessage>;
  }
  if (job.state === 'failed') {
    return (
      <SectionMessage appearance="error" title={`${label} failed`}>
        <Stack space="space.050">
          <Text>{job.error?.message ?? jobNoteWords(job.note)}</Text>
          {job.error?.hint && <Text>{job.error.hint}</Text>}
        </Stack>
      </SectionMessage>
    );
  }
  if (job.state === 'waiting-to-retry') {
    return (
      <SectionMessage appearance="warning" title={`${label} will try again ${job.nextAttemptAt ? relativeTime(job.nextAttemptAt) : 'soon'}`}>
        <Text>{job.error?.message ?? jobNoteWords(job.note)}{job.nextAttemptAt ? ` (at ${absoluteTime(job.nextAttemptAt)})` : ''}</Text>
      </SectionMessage>
    );
  }
  const { progress } = job;
  const fraction = progress?.total ? Math.min(1, (progress.done ?? 0) / progress.total) : undefined;
  const details = [job.phase, ...(progress ? progressWords(progress) : [])].filter(Boolean);
  return (
    <div role="status" aria-live="polite">
      <Stack space="space.100">
        <Inline space="space.100" alignBlock="center" shouldWrap>
          <Lozenge appearance="inprogress">{STATE_WORDS[job.state]}</Lozenge>
          <Text>{label}: {jobNoteWords(job.note)}{details.length > 0 ? ` (${details.join(', ')})` : ''}</Text>
        </Inline>
        <ProgressBar ariaLabel={`Progress of ${label.toLowerCase()}`} {...(fraction !== undefined ? { value: fraction } : { isIndeterminate: true })} />
      </Stack>
    </div>
  );
}
