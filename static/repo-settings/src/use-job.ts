import { useEffect, useState } from 'react';
import { invoke, type JobView } from './api.js';

const POLL_MS = 1000;
const ENDED = new Set<JobView['state']>(['done', 'failed']);

/** Follows a job by polling getJob (never a long resolver) until it ends; the newest view, or the polling error. */
export function useJob(jobId: string | undefined, first?: JobView): { job?: JobView; error?: unknown } {
  const [state, setState] = useState<{ job?: JobView; error?: unknown }>(first ? { job: first } : {});
  useEffect(() => {
    if (!jobId) return;
    let current = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const job = await invoke('getJob', { jobId });
        if (!current) return;
        setState({ job });
        if (!ENDED.has(job.state)) timer = setTimeout(poll, POLL_MS);
      } catch (error) {
        if (current) setState((previous) => ({ ...previous, error }));
      }
    };
    void poll();
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [jobId]);
  return state;
}

export const jobEnded = (job: JobView | undefined): boolean => job !== undefined && ENDED.has(job.state);
