// The repository page's words for refs; counts, triggers, times and sizes are shared with the admin page.
import { branchName, tagName } from '../../../src/engine/git/ref-name.js';

export { absoluteTime, bytes, plural, relativeTime, triggerWords } from '../../shared/format.js';

/** refs/heads/main → main, refs/tags/v1 → tag v1. */
export function refLabel(name: string): string {
  const tag = tagName(name);
  return branchName(name) ?? (tag !== undefined ? `tag ${tag}` : name);
}

