/**
 * The documented Bitbucket product events (Atlassian's Forge events reference,
 * kept in shared/data/forge-events/ beside the repository, as CI has it), and a
 * structural comparison with them: the same keys and value types, recursively.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FORGE_EVENTS_DIR = fileURLToPath(new URL('../../../shared/data/forge-events/', import.meta.url));

export type Json = Record<string, unknown>;

/** Every example payload, by file name. */
export async function documentedEvents(): Promise<Map<string, Json>> {
  const files = (await readdir(FORGE_EVENTS_DIR)).filter((name) => name.endsWith('.json')).sort();
  assert.ok(files.length > 0, `no example payloads in ${FORGE_EVENTS_DIR}`);
  return new Map(await Promise.all(files.map(async (file) => [file, JSON.parse(await readFile(join(FORGE_EVENTS_DIR, file), 'utf8')) as Json] as const)));
}

/** One example payload, by file name (push-branch.json, pullrequest-created.json…). */
export async function documentedEvent(file: string): Promise<Json> {
  return JSON.parse(await readFile(join(FORGE_EVENTS_DIR, file), 'utf8')) as Json;
}

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null';

function kindOf(value: unknown): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value as Kind;
}

/**
 * Keys the README or the documented types let an event carry or leave out
 * (path → value kind); every other key must be in both, with the same kind.
 */
export const OPTIONAL_KEYS: Readonly<Record<string, Kind>> = {
  // "Every event may carry selfGenerated: boolean".
  selfGenerated: 'boolean',
  // "both have created, closed and forced and optional before/after".
  'push.before': 'string',
  'push.after': 'string',
  // An annotated tag push adds date, message and author: a lightweight tag has none of them.
  'push.date': 'string',
  'push.message': 'object',
  'push.author': 'object',
  // pullrequest-fulfilled.json only: the merge commit.
  'pullrequest.mergeCommit': 'object',
};

/** Where `actual` departs from `documented`: keys missing or extra, or values of another kind. Arrays: each item against the first example item. */
export function shapeDifferences(actual: unknown, documented: unknown, path = ''): string[] {
  const here = path || '(event)';
  const [actualKind, documentedKind] = [kindOf(actual), kindOf(documented)];
  if (actualKind !== documentedKind) return [`${here}: ${actualKind}, documented ${documentedKind}`];
  if (actualKind === 'array') {
    const [example] = documented as unknown[];
    return example === undefined ? [] : (actual as unknown[]).flatMap((item) => shapeDifferences(item, example, `${path}[]`));
  }
  if (actualKind !== 'object') return [];
  const [a, d] = [actual as Json, documented as Json];
  const differences: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(d)])) {
    const at = path ? `${path}.${key}` : key;
    const optional = OPTIONAL_KEYS[at];
    if (!(key in a)) {
      if (!optional) differences.push(`${at}: missing`);
    } else if (!(key in d)) {
      if (!optional) differences.push(`${at}: not documented`);
      else if (kindOf(a[key]) !== optional) differences.push(`${at}: ${kindOf(a[key])}, documented ${optional}`);
    } else {
      differences.push(...shapeDifferences(a[key], d[key], at));
    }
  }
  return differences;
}

export function assertDocumentedShape(actual: unknown, documented: unknown, what: string): void {
  assert.deepEqual(shapeDifferences(actual, documented), [], `${what} has the documented shape: ${JSON.stringify(actual)}`);
}
