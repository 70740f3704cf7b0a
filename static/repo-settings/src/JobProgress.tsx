import Lozenge from '@atlaskit/lozenge';
import ProgressBar from '@atlaskit/progress-bar';
import SectionMessage from '@atlaskit/section-message';
import type { JobView } from './api.js';
import { bytes, plural, relativeTime } from './format.js';

const STATE_WORDS: Record<JobView['state'], string> = {
  queued: 'Queued',
  running: 'Running',
  'waiting-to-retry': 'Waiting to retry',
  done: 'Done',
  failed: 'Failed',
};

/** A job as it runs: its state, phase and progress; how it ended. */
export function JobProgress({ job, label }: { job: JobView; label: string }) {
  const progress = job.progress;
  const fraction = progress?.total ? Math.min(1, (progress.done ?? 0) / progress.total) : undefined;
  if (job.state === 'failed') {
    return (
      <SectionMessage appearance="error" title={`${label} failed`}>
        <p>{job.error?.message ?? job.message}</p>
        {job.error?.hint && <p>{job.error.hint}</p>}
      </SectionMessage>
    );
  }
  if (job.state === 'done') {
    return (
      <SectionMessage appearance="success" title={`${label} finished`}>
        <p data-testid="job-message">{job.message}</p>
      </SectionMessage>
    );
  }
  const details = [
    job.phase,
    progress?.refs !== undefined ? plural(progress.refs, 'ref') : undefined,
    progress?.bytes !== undefined ? bytes(progress.bytes) : undefined,
    progress?.total ? `${progress.done ?? 0} of ${progress.total}` : undefined,
  ].filter(Boolean);
  return (
    <div className="job" role="status" aria-live="polite">
      <p>
        <Lozenge appearance={job.state === 'waiting-to-retry' ? 'moved' : 'inprogress'}>{STATE_WORDS[job.state]}</Lozenge>{' '}
        {label}: {job.message}
        {details.length > 0 && <> ({details.join(', ')})</>}
      </p>
      {job.state === 'waiting-to-retry' && (
        <p>
          {job.error?.message}
          {job.nextAttemptAt && <> Next attempt {relativeTime(job.nextAttemptAt)}.</>}
        </p>
      )}
      <ProgressBar ariaLabel={`${label} progress`} isIndeterminate={fraction === undefined} value={fraction ?? 0} />
    </div>
  );
}
