/**
 * What changed in a repository's refs from one snapshot to another, from their manifests
 * alone. A manifest holds each ref's object id, not the commit graph: whether a move was a
 * fast-forward or a force-push cannot be told from it (`git merge-base --is-ancestor <from>
 * <to>` in a restored copy can), so a move is reported as a move, never guessed further.
 */
import type { SnapshotManifest } from './bucket/format.js';

export interface RefChanges {
  added: { name: string; oid: string }[];
  moved: { name: string; from: string; to: string }[];
  deleted: { name: string; oid: string }[];
  /** The branch HEAD names, when it changed (null: detached). */
  head?: { from: string | null; to: string | null };
}

type Refs = Pick<SnapshotManifest, 'refs' | 'head'>;

/** The changes from `before` (undefined: nothing, as before a first snapshot) to `after`, each list by ref name. */
export function refChanges(before: Refs | undefined, after: Refs): RefChanges {
  const old = new Map((before?.refs ?? []).map((ref) => [ref.name, ref.oid]));
  const now = new Map(after.refs.map((ref) => [ref.name, ref.oid]));
  const changes: RefChanges = { added: [], moved: [], deleted: [] };
  for (const [name, oid] of now) {
    const from = old.get(name);
    if (from === undefined) changes.added.push({ name, oid });
    else if (from !== oid) changes.moved.push({ name, from, to: oid });
  }
  for (const [name, oid] of old) if (!now.has(name)) changes.deleted.push({ name, oid });
  for (const list of [changes.added, changes.moved, changes.deleted]) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const [from, to] = [before?.head.symref ?? null, after.head.symref ?? null];
  if (before && from !== to) changes.head = { from, to };
  return changes;
}

export function changeCount(changes: RefChanges): number {
  return changes.added.length + changes.moved.length + changes.deleted.length + (changes.head ? 1 : 0);
}
