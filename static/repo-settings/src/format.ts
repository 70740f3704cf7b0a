// The repository page's words for refs; counts, triggers, times and sizes are shared with the admin page.
export { absoluteTime, bytes, plural, relativeTime, triggerWords } from '../../shared/format.js';

/** refs/heads/main → main, refs/tags/v1 → tag v1. */
export function refLabel(name: string): string {
  if (name.startsWith('refs/heads/')) return name.slice('refs/heads/'.length);
  if (name.startsWith('refs/tags/')) return `tag ${name.slice('refs/tags/'.length)}`;
  return name;
}

