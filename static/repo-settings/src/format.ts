// The repository page's words for refs and counts; triggers, times and sizes are shared with the admin page.
export { absoluteTime, bytes, relativeTime, triggerWords } from '../../shared/format.js';

/** refs/heads/main → main, refs/tags/v1 → tag v1. */
export function refLabel(name: string): string {
  if (name.startsWith('refs/heads/')) return name.slice('refs/heads/'.length);
  if (name.startsWith('refs/tags/')) return `tag ${name.slice('refs/tags/'.length)}`;
  return name;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

