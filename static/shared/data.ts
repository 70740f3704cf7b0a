// Both pages' one data layer, a handful of hooks over the page's typed invoke:
// a resource read when the view opens and again on reload() (the invalidation
// after a change), paged lists by cursor, a value that settles after typing, and
// a job followed until it ends. Small on purpose: the pages read a few resolvers
// each, Forge's bridge has no cache to share, and every answer is fresh from KVS
// (see the README's "The pages").
import { useCallback, useEffect, useRef, useState } from 'react';
import type { JobView, Paged } from '../../src/contract.js';

export interface Loaded<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  /** Reads it again: after a change the view made, or a job that ended. */
  reload: () => void;
}

/** Runs `load` when the view opens, when `deps` change and on reload(); a stale answer never overwrites a newer one. */
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

/** A list the backend pages by cursor: the page shown, and the way back and on. */
export function usePaged<T, P extends Paged<T>>(load: (cursor: string | undefined) => Promise<P>, deps: readonly unknown[] = []) {
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const cursor = cursors.at(-1);
  const page = useResource(() => load(cursor), [cursor, ...deps]);
  const next = page.data?.nextCursor;
  return {
    page,
    pageNumber: cursors.length,
    previous: cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : undefined,
    next: next !== undefined ? () => setCursors([...cursors, next]) : undefined,
  };
}

/** A list that grows by "show more": every page loaded so far, read afresh from the first when `deps` change or on reload(). */
export function useMorePages<P extends Paged<unknown>>(load: (cursor: string | undefined) => Promise<P>, deps: readonly unknown[] = []) {
  const first = useResource(() => load(undefined), deps);
  const [more, setMore] = useState<{ after?: P; pages: P[]; loading: boolean; error?: unknown }>({ pages: [], loading: false });
  // Pages loaded after another first page belong to an older list.
  const pages = first.data ? [first.data, ...(more.after === first.data ? more.pages : [])] : undefined;
  const nextCursor = pages?.at(-1)?.nextCursor;
  const loadMore = async () => {
    if (!first.data || nextCursor === undefined) return;
    const after = first.data;
    const earlier = more.after === after ? more.pages : [];
    setMore({ after, pages: earlier, loading: true });
    try {
      const page = await load(nextCursor);
      setMore({ after, pages: [...earlier, page], loading: false });
    } catch (error) {
      setMore({ after, pages: earlier, loading: false, error });
    }
  };
  const error = first.error ?? (more.after === first.data ? more.error : undefined);
  return { pages, error, loading: first.loading, loadingMore: more.loading, more: nextCursor !== undefined ? loadMore : undefined, reload: first.reload };
}

/** `value` once it has stopped changing for `ms`: typing asks the backend once, not at every key. */
export function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

const POLL_MS = 1000;

export const jobEnded = (job: JobView | undefined): boolean => job?.state === 'done' || job?.state === 'failed';

export interface Followed {
  job?: JobView;
  /** Why the page lost track of the job (the job itself goes on). */
  error?: unknown;
}

/**
 * Follows a job by polling `getJob` (never a long resolver call) until it ends.
 * `first`: the view the request answered, shown until the first poll. `onEnded`
 * runs once when the job is seen ending (the newest callback, not the one of
 * the first render). A new jobId starts over; no jobId keeps the last job shown;
 * an unmounted view stops polling.
 */
export function useJob(getJob: (jobId: string) => Promise<JobView>, jobId: string | undefined, options: { first?: JobView; onEnded?: (job: JobView) => void } = {}): Followed {
  const { first } = options;
  const [state, setState] = useState<Followed & { jobId?: string }>({});
  const onEnded = useRef(options.onEnded);
  onEnded.current = options.onEnded;
  useEffect(() => {
    if (!jobId) return undefined;
    let current = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState(first?.id === jobId ? { jobId, job: first } : { jobId });
    const poll = async () => {
      try {
        const job = await getJob(jobId);
        if (!current) return;
        setState({ jobId, job });
        if (jobEnded(job)) onEnded.current?.(job);
        else timer = setTimeout(() => void poll(), POLL_MS);
      } catch (error) {
        if (current) setState((previous) => ({ ...previous, error }));
      }
    };
    timer = setTimeout(() => void poll(), first?.id === jobId ? POLL_MS : 0);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [jobId]);
  // Once no job is named (the status forgets one that ended), the last one followed stays shown;
  // until the effect has run for a new job, the state still describes the previous one.
  if (jobId && state.jobId !== jobId) return first?.id === jobId ? { job: first } : {};
  return { ...(state.job ? { job: state.job } : {}), ...(state.error !== undefined ? { error: state.error } : {}) };
}
