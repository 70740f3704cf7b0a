// What every view of the page shares: loading, errors at the edge, following a job.
import ProgressBar from '@atlaskit/progress-bar';
import SectionMessage from '@atlaskit/section-message';
import Spinner from '@atlaskit/spinner';
import { Inline, Stack, Text } from '@atlaskit/primitives';
import { useCallback, useEffect, useState } from 'react';
import { ErrorMessage } from '../../shared/page-error.js';
import { invoke, type JobView } from './api.js';
import { absoluteTime, bytes, relativeTime } from '../../shared/format.js';

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when the view opens and on reload(); a stale answer never overwrites a newer one. */
export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[] = []): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => { if (current) setState({ data, loading: false }); },
      (error: unknown) => { if (current) setState({ error, loading: false }); },
    );
    return () => { current = false; };
  }, [round, ...deps]);
  const reload = useCallback(() => setRound((value) => value + 1), []);
  return { ...state, reload };
}

export function Loading({ label }: { label: string }) {
  return (
    <Inline space="space.100" alignBlock="center">
      <Spinner size="small" label={label} />
      <Text>{label}</Text>
    </Inline>
  );
}


const FINISHED = new Set<JobView['state']>(['done', 'failed']);

/** Polls a job until it ends; the view shows each state as the job machine reports it. */
export function useJob(initial: JobView | undefined, onFinished?: (job: JobView) => void): { job?: JobView; error?: unknown } {
  const [job, setJob] = useState(initial);
  const [error, setError] = useState<unknown>();
  useEffect(() => { setJob(initial); setError(undefined); }, [initial]);
  useEffect(() => {
    if (!job || FINISHED.has(job.state)) return undefined;
    const timer = setTimeout(() => {
      invoke('getJob', { jobId: job.id }).then((next) => {
        setJob(next);
        if (FINISHED.has(next.state)) onFinished?.(next);
      }, setError);
    }, 1000);
    return () => clearTimeout(timer);
  }, [job]);
  return { job, ...(error !== undefined ? { error } : {}) };
}

/** `doneTitle`: what a finished job means, when that is not plainly "finished" (a sweep only queues backups). */
export function JobStatus({ job, error, what, doneTitle }: { job: JobView | undefined; error?: unknown; what: string; doneTitle?: string }) {
  if (error !== undefined) return <ErrorMessage error={error} title={`Lost track of the ${what}`} />;
  if (!job) return null;
  if (job.state === 'done') return <SectionMessage appearance="success" title={doneTitle ?? `The ${what} finished`}><Text>{job.message}</Text></SectionMessage>;
  if (job.state === 'failed') {
    return (
      <SectionMessage appearance="error" title={`The ${what} failed`}>
        <Stack space="space.050">
          <Text>{job.error?.message ?? job.message}</Text>
          {job.error?.hint && <Text>{job.error.hint}</Text>}
        </Stack>
      </SectionMessage>
    );
  }
  if (job.state === 'waiting-to-retry') {
    return (
      <SectionMessage appearance="warning" title={`The ${what} will try again ${job.nextAttemptAt ? relativeTime(job.nextAttemptAt) : 'soon'}`}>
        <Text>{job.error?.message ?? job.message}{job.nextAttemptAt ? ` (at ${absoluteTime(job.nextAttemptAt)})` : ''}</Text>
      </SectionMessage>
    );
  }
  const { progress } = job;
  const fraction = progress?.done !== undefined && progress.total ? progress.done / progress.total : undefined;
  const counts = [
    progress?.done !== undefined && progress.total !== undefined ? `${progress.done} of ${progress.total}` : undefined,
    progress?.bytes !== undefined ? bytes(progress.bytes) : undefined,
    progress?.refs !== undefined ? `${progress.refs} refs` : undefined,
  ].filter(Boolean).join(', ');
  return (
    <div role="status">
      <Stack space="space.100">
        <Text>{job.state === 'queued' ? `The ${what} is queued.` : `The ${what} is running${job.phase ? `: ${job.phase}` : ''}.`} {job.message}{counts ? ` (${counts})` : ''}</Text>
        <ProgressBar ariaLabel={`Progress of the ${what}`} {...(fraction !== undefined ? { value: fraction } : { isIndeterminate: true })} />
      </Stack>
    </div>
  );
}
