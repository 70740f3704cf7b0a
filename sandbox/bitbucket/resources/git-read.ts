// Read-only questions the pull request resources ask of a repository's real
// bare git directory: branch tips, the commits a pull request brings, and its
// diffstat.
import { runGit } from '../git.js';

function git(gitDir: string, args: string[]): Promise<string> {
  return runGit(gitDir, args);
}

/** A commit id (or its first parent): what it names never changes, so neither does an answer about it. */
const IMMUTABLE = /^[0-9a-f]{7,40}\^?$/;
const MEMO_SIZE = 2000;
const memo = new Map<string, Promise<unknown>>();

/**
 * Answers about fixed commits are kept (the last few thousand): a benchmark
 * reads the same pair for thousands of pull requests, and git processes would
 * make the emulator, not the client, the cost measured.
 */
function remembered<T>(gitDir: string, question: string, base: string, tip: string, answer: () => Promise<T>): Promise<T> {
  if (!IMMUTABLE.test(base) || !IMMUTABLE.test(tip)) return answer();
  const key = `${gitDir}\0${question}\0${base}\0${tip}`;
  const known = memo.get(key) as Promise<T> | undefined;
  if (known) return known;
  const asked = answer();
  memo.set(key, asked);
  asked.catch(() => memo.delete(key));
  if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value as string);
  return asked;
}

/** The commit a revision (main, main^2, v1.0.0…) names, or undefined when it names none. */
export async function resolveCommit(gitDir: string, revision: string): Promise<string | undefined> {
  if (revision.startsWith('-')) return undefined;
  try {
    return (await git(gitDir, ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`])).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The commit a branch points at, or undefined when there is no such branch. */
export function branchTip(gitDir: string, branch: string): Promise<string | undefined> {
  return resolveCommit(gitDir, `refs/heads/${branch}`);
}

export interface CommitInfo {
  hash: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  date: string;
  message: string;
}

/** Commits reachable from `tip` but not from `base`, newest first (as `git log`, and Bitbucket, list them). */
export function commitsBetween(gitDir: string, base: string, tip: string): Promise<CommitInfo[]> {
  return remembered(gitDir, 'log', base, tip, () => readCommitsBetween(gitDir, base, tip));
}

async function readCommitsBetween(gitDir: string, base: string, tip: string): Promise<CommitInfo[]> {
  const out = await git(gitDir, ['log', '--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%B%x1e', `${base}..${tip}`, '--']);
  return out
    .split('\x1e')
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record !== '')
    .map((record) => {
      const [hash = '', parents = '', authorName = '', authorEmail = '', date = '', message = ''] = record.split('\x00');
      return { hash, parents: parents === '' ? [] : parents.split(' '), authorName, authorEmail, date, message };
    });
}

export interface FileChange {
  status: 'added' | 'removed' | 'modified' | 'renamed';
  oldPath: string | null;
  newPath: string | null;
  linesAdded: number;
  linesRemoved: number;
}

/** What `tip` changes relative to its merge base with `base` (a pull request's "topic" diff), with renames found. */
export function diffstat(gitDir: string, base: string, tip: string): Promise<FileChange[]> {
  return remembered(gitDir, 'diffstat', base, tip, () => readDiffstat(gitDir, base, tip));
}

async function readDiffstat(gitDir: string, base: string, tip: string): Promise<FileChange[]> {
  const mergeBase = (await git(gitDir, ['merge-base', base, tip])).trim();
  // -z: paths verbatim, no quoting. A rename is "R<score>\0old\0new\0"; numstat's is "a\tr\t\0old\0new\0".
  const names = (await git(gitDir, ['diff', '--name-status', '-z', '-M', mergeBase, tip])).split('\0');
  const numbers = (await git(gitDir, ['diff', '--numstat', '-z', '-M', mergeBase, tip])).split('\0');
  const counts: Array<{ added: number; removed: number }> = [];
  for (let at = 0; at < numbers.length; at++) {
    const [added = '', removed = '', path = ''] = (numbers[at] ?? '').split('\t');
    if (added === '' && removed === '') continue;
    counts.push({ added: Number(added) || 0, removed: Number(removed) || 0 }); // binary files count "-": 0
    if (path === '') at += 2; // a rename's two paths follow
  }
  const changes: FileChange[] = [];
  for (let at = 0; at < names.length; ) {
    const code = names[at++] ?? '';
    if (code === '') continue;
    const { added = 0, removed = 0 } = counts[changes.length] ?? {};
    const first = names[at++] ?? '';
    if (code.startsWith('R')) {
      const second = names[at++] ?? '';
      changes.push({ status: 'renamed', oldPath: first, newPath: second, linesAdded: added, linesRemoved: removed });
    } else if (code === 'A') changes.push({ status: 'added', oldPath: null, newPath: first, linesAdded: added, linesRemoved: removed });
    else if (code === 'D') changes.push({ status: 'removed', oldPath: first, newPath: null, linesAdded: added, linesRemoved: removed });
    else changes.push({ status: 'modified', oldPath: first, newPath: first, linesAdded: added, linesRemoved: removed });
  }
  return changes;
}
