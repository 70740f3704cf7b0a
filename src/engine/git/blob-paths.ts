/**
 * Where given blobs sit in the history, read from the trees of a chain of packs
 * as they stream (pack-walk.ts), within a memory budget. A tree entry is
 * "<mode> SP <name> NUL <20-byte id>" (gitformat-pack, git's tree format); a
 * commit names its root tree on its first line ("tree <id>"). Every tree is
 * kept (trees are deltified against other trees, in the pack or, in a thin
 * pack, in an earlier bundle), with each subtree's first parent: a blob's path
 * is its name, then its tree's names up to a root tree. Past the budget the
 * finder stops keeping trees and reports only the paths it completed.
 */
import { createHash } from 'node:crypto';
import { COMMIT, OFS_DELTA, type PackObjectHeader, type PackVisitor, REF_DELTA, TREE, applyDelta } from './pack-walk.js';

/** What a kept entry costs besides its bytes (map slots, strings): a rough bound. */
const ENTRY_OVERHEAD = 120;

export class BlobPathFinder {
  /** Tree contents by id; by pack offset for the pack being read (OFS_DELTA bases). */
  private readonly trees = new Map<string, Buffer>();
  private byOffset = new Map<number, Buffer>();
  /** Subtree id → its first parent seen and its name there. */
  private readonly parents = new Map<string, { tree: string; name: string }>();
  /** Target blob id → the tree holding it and its name there. */
  private readonly holders = new Map<string, { tree: string; name: string }>();
  private readonly roots = new Set<string>();
  private held = 0;
  /** Set once the budget ran out: no more trees are kept, and paths found may be fewer. */
  exhausted = false;

  constructor(private readonly targets: ReadonlySet<string>, private readonly budgetBytes: number) {}

  /** The visitor for one pack of the chain, read in order. */
  pack(): PackVisitor {
    this.byOffset = new Map();
    // A tree over 256 KiB (a directory of thousands of entries) comes to no visitor's `object`: paths through it stay unknown.
    return { object: (header, content) => this.object(header, content) };
  }

  /** Each target's path, where the trees read lead from it to a root tree. */
  paths(): Map<string, string> {
    const found = new Map<string, string>();
    for (const [blob, holder] of this.holders) {
      const names = [holder.name];
      let tree = holder.tree;
      // A path is as deep as the tree; the bound only guards against a malformed cycle.
      for (let depth = 0; !this.roots.has(tree) && depth < 4096; depth++) {
        const parent = this.parents.get(tree);
        if (!parent) break;
        names.unshift(parent.name);
        tree = parent.tree;
      }
      if (this.roots.has(tree)) found.set(blob, names.join('/'));
    }
    return found;
  }

  private object(header: PackObjectHeader, content: Buffer): void {
    if (header.type === COMMIT) {
      // "tree <40 hex>" first.
      const first = content.toString('latin1', 0, 45);
      if (first.startsWith('tree ')) this.roots.add(first.slice(5, 45));
      return;
    }
    if (header.type === TREE) {
      this.tree(header.offset, content);
      return;
    }
    if (header.type !== OFS_DELTA && header.type !== REF_DELTA) return;
    // A delta against a kept tree is a tree; against anything else (a blob, a commit, a base not kept) it is not read.
    const base = this.baseOf(header);
    if (base) this.tree(header.offset, applyDelta(base, content));
  }

  private baseOf(header: PackObjectHeader): Buffer | undefined {
    if (header.baseOffset !== undefined) return this.byOffset.get(header.baseOffset);
    return header.baseId === undefined ? undefined : this.trees.get(header.baseId);
  }

  private tree(offset: number, content: Buffer): void {
    if (this.exhausted) return;
    this.held += content.byteLength + ENTRY_OVERHEAD;
    if (this.held > this.budgetBytes) {
      this.exhausted = true;
      return;
    }
    const id = createHash('sha1').update(`tree ${content.byteLength}\0`).update(content).digest('hex');
    this.trees.set(id, content);
    this.byOffset.set(offset, content);
    for (let at = 0; at < content.byteLength;) {
      const space = content.indexOf(0x20, at);
      const nul = content.indexOf(0, space);
      if (space < 0 || nul < 0 || nul + 21 > content.byteLength) break;
      const mode = content.toString('latin1', at, space);
      const name = content.toString('utf8', space + 1, nul);
      const entry = content.toString('hex', nul + 1, nul + 21);
      at = nul + 21;
      if (mode === '40000') {
        if (!this.parents.has(entry)) {
          this.parents.set(entry, { tree: id, name });
          this.held += ENTRY_OVERHEAD + name.length;
        }
      } else if (this.targets.has(entry) && !this.holders.has(entry)) {
        this.holders.set(entry, { tree: id, name });
      }
    }
  }
}
