/**
 * The one rule for ref names, git check-ref-format's (git-check-ref-format(1)) for a
 * full name under refs/. Backups apply it to what a server advertises, readers to
 * every manifest, the app to the refs a restore asks for. Ref names reach git
 * commands and restore.sh: a name git itself refuses must never get that far.
 */
import { LifeboatError } from '../errors.js';

// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const FORBIDDEN = /[\x00-\x20\x7f~^:?*[\\]/;

/**
 * "refs/" then components; no control character, space, ~ ^ : ? * [ \; no "..", "@{";
 * no empty component, none starting with "." or ending in ".lock"; no trailing "." or "/".
 */
export function isValidRefName(name: string): boolean {
  if (!name.startsWith('refs/') || FORBIDDEN.test(name) || name.includes('..') || name.includes('@{') || name.endsWith('.')) return false;
  return name.split('/').every((component) => component !== '' && !component.startsWith('.') && !component.endsWith('.lock'));
}

const BRANCHES = 'refs/heads/';
const TAGS = 'refs/tags/';

export const isBranchRef = (name: string): boolean => name.startsWith(BRANCHES);
export const isTagRef = (name: string): boolean => name.startsWith(TAGS);

/** A branch's short name (refs/heads/main: main); undefined for any other ref. */
export function branchName(name: string | undefined): string | undefined {
  return name !== undefined && isBranchRef(name) ? name.slice(BRANCHES.length) : undefined;
}

/** A tag's short name (refs/tags/v1: v1); undefined for any other ref. */
export function tagName(name: string): string | undefined {
  return isTagRef(name) ? name.slice(TAGS.length) : undefined;
}

/**
 * The full names a short name may stand for (Bitbucket's push events name a branch or
 * a tag by its short name): the branch, then the tag; only the tag when it is known to be one.
 */
export function fullRefNames(short: string, only?: 'tag'): string[] {
  return only === 'tag' ? [`${TAGS}${short}`] : [`${BRANCHES}${short}`, `${TAGS}${short}`];
}

/** A name for a message: quoted, control characters escaped, bounded. */
export function quoteRefName(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

const NAMED_IN_MESSAGE = 10;

/**
 * Refuses a listing that holds names git refuses (a broken or hostile server),
 * naming them. Called before anything is written: a snapshot of such refs could
 * neither be restored nor even be read back.
 */
export function refuseInvalidRefNames(names: readonly string[], source: string): void {
  const invalid = [...new Set(names.filter((name) => !isValidRefName(name)))];
  if (invalid.length === 0) return;
  const shown = invalid.slice(0, NAMED_IN_MESSAGE).map(quoteRefName).join(', ');
  const more = invalid.length > NAMED_IN_MESSAGE ? ` and ${invalid.length - NAMED_IN_MESSAGE} more` : '';
  throw new LifeboatError('GIT_REF_INVALID', `${source} lists ${invalid.length === 1 ? 'a ref name' : 'ref names'} that git refuses: ${shown}${more}. Nothing was backed up; rename or delete ${invalid.length === 1 ? 'it' : 'them'} on the server.`, {
    details: { refs: invalid.slice(0, NAMED_IN_MESSAGE), count: invalid.length },
  });
}
