// The repository page's words for refs, counts and triggers; times and sizes are shared with the admin page.
export { absoluteTime, bytes, relativeTime } from '../../shared/format.js';

/** refs/heads/main → main, refs/tags/v1 → tag v1. */
export function refLabel(name: string): string {
  if (name.startsWith('refs/heads/')) return name.slice('refs/heads/'.length);
  if (name.startsWith('refs/tags/')) return `tag ${name.slice('refs/tags/'.length)}`;
  return name;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

const TRIGGERS: Record<string, string> = {
  push: 'Push',
  schedule: 'Schedule',
  manual: 'Manual',
  'before-overwrite': 'Before overwrite',
};

/** A snapshot's trigger in words. */
export const triggerWords = (trigger: string): string => TRIGGERS[trigger] ?? trigger;
