/**
 * Bitbucket's partial responses (`fields=`, the spec's narrative "Partial
 * responses": removal `-x`, addition `+x`, only the listed paths, `*` wildcards),
 * applied to the final JSON of an answer. The useful subset:
 *
 *   fields=values.id,next      only these paths (a page keeps nothing else)
 *   fields=-links,-values.links   the full answer minus these paths
 *   fields=+values.x           adds a path (the emulator's answers are already
 *                              full, so + matters only next to plain paths)
 *   fields=values.*            `*` stands for every key at its level
 *
 * Paths cross arrays element-wise, so `values.author.uuid` reaches into every item
 * (as the narrative's `values.reviewers.nickname` example shows). A page whose
 * listed paths leave out `next` loses it, as Bitbucket's does (seen in the wild:
 * a client issue, BitbucketPHP/Client#91).
 */

interface Trie {
  /** The whole value at this path is wanted. */
  whole: boolean;
  children: Map<string, Trie>;
}

function newTrie(): Trie {
  return { whole: false, children: new Map() };
}

function insert(trie: Trie, path: string[]): void {
  let node = trie;
  for (const key of path) {
    let child = node.children.get(key);
    if (!child) {
      child = newTrie();
      node.children.set(key, child);
    }
    node = child;
  }
  node.whole = true;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pick(value: unknown, trie: Trie): unknown {
  if (trie.whole) return value;
  if (Array.isArray(value)) return value.map((item) => pick(item, trie));
  if (!isObject(value)) return undefined;
  const result: JsonObject = {};
  const every = trie.children.get('*');
  for (const [key, child] of Object.entries(value)) {
    const branch = trie.children.get(key) ?? every;
    if (!branch) continue;
    const picked = pick(child, branch);
    if (picked !== undefined) result[key] = picked;
  }
  return result;
}

function remove(value: unknown, trie: Trie): unknown {
  if (Array.isArray(value)) return value.map((item) => remove(item, trie));
  if (!isObject(value)) return value;
  const result: JsonObject = {};
  const every = trie.children.get('*');
  for (const [key, child] of Object.entries(value)) {
    const branch = trie.children.get(key) ?? every;
    if (branch?.whole) continue;
    result[key] = branch ? remove(child, branch) : child;
  }
  return result;
}

/** `body` trimmed as `fields` asks (the comma list of the query parameter). */
export function applyFields(body: unknown, fields: string): unknown {
  const include = newTrie();
  const exclude = newTrie();
  let whitelist = false;
  for (const raw of fields.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const prefix = entry[0];
    const path = (prefix === '+' || prefix === '-' ? entry.slice(1) : entry).split('.').filter((key) => key !== '');
    if (path.length === 0) continue;
    if (prefix === '-') {
      insert(exclude, path);
    } else {
      insert(include, path);
      if (prefix !== '+') whitelist = true;
    }
  }
  const kept = whitelist ? pick(body, include) ?? {} : body;
  return exclude.children.size > 0 ? remove(kept, exclude) : kept;
}
