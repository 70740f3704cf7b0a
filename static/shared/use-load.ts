import { useEffect, useState } from 'react';

export interface Loaded<T> {
  data?: T;
  error?: string;
}

/** Runs `load` once when the page opens; the answer or the error's message. */
export function useLoad<T>(load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({});
  useEffect(() => {
    // A page that unmounts mid-request must not write into a stale tree.
    let current = true;
    load().then(
      (data) => { if (current) setState({ data }); },
      (error: unknown) => { if (current) setState({ error: error instanceof Error ? error.message : String(error) }); },
    );
    return () => {
      current = false;
    };
  }, []);
  return state;
}
