/**
 * Fixture repositories with everything a backup must survive, made with the real
 * git: branches, merges, annotated and lightweight tags, a tag of a tag, tags of a
 * tree and of a blob, notes, an orphan branch, binary files, unicode and deeply
 * nested ref names, and (optionally) thousands of refs.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from './repos.js';

let clock = 1_700_000_000;

/** Deterministic dates keep object ids stable between runs of one test. */
function commit(work: string, message: string): void {
  clock += 60;
  git(work, ['add', '-A']);
  git(work, ['commit', '--quiet', '--allow-empty', '-m', message], { GIT_AUTHOR_DATE: `${clock} +0000`, GIT_COMMITTER_DATE: `${clock} +0000` });
}

export function write(work: string, path: string, content: string | Uint8Array): void {
  mkdirSync(join(work, path, '..'), { recursive: true });
  writeFileSync(join(work, path), content);
}

/** A work repository (non-bare) with rich history; push it with `git push --mirror`. */
export function buildRichWorkRepo(work: string): void {
  git(undefined, ['init', '--quiet', '--initial-branch=main', work]);
  write(work, 'README.md', '# Fixture\n');
  write(work, 'src/app.js', 'console.log("hello");\n');
  commit(work, 'Initial commit');
  write(work, 'assets/logo.bin', randomBytes(64 * 1024));
  write(work, 'docs/ünïcødé/說明.md', 'Unicode path\n');
  commit(work, 'Binary and unicode files');
  git(work, ['tag', '-a', 'v1.0', '-m', 'Release 1.0']);
  git(work, ['tag', 'light-v1.0']);
  git(work, ['tag', '-a', 'tag-of-tag', 'v1.0', '-m', 'A tag of a tag']);
  git(work, ['tag', 'tree-tag', 'HEAD^{tree}']);
  git(work, ['tag', '-a', 'blob-tag', 'HEAD:README.md', '-m', 'A tag of a blob']);

  git(work, ['checkout', '--quiet', '-b', 'feature/login']);
  write(work, 'src/login.js', 'export const login = () => true;\n');
  commit(work, 'Add login');
  git(work, ['checkout', '--quiet', 'main']);
  write(work, 'src/app.js', 'console.log("hello, world");\n');
  commit(work, 'Change greeting');
  git(work, ['merge', '--quiet', '--no-ff', 'feature/login', '-m', 'Merge feature/login'], { GIT_AUTHOR_DATE: `${++clock} +0000`, GIT_COMMITTER_DATE: `${clock} +0000` });

  git(work, ['branch', 'deeply/nested/ref/names/are/fine/too']);
  git(work, ['branch', 'ünïcødé/分支']);
  git(work, ['notes', 'add', '-m', 'A note on the merge', 'HEAD']);

  git(work, ['checkout', '--quiet', '--orphan', 'gh-pages']);
  git(work, ['rm', '-r', '--quiet', '--cached', '.']);
  write(work, 'index.html', '<h1>Pages</h1>\n');
  git(work, ['add', 'index.html']);
  commit(work, 'Orphan branch');
  git(work, ['checkout', '--quiet', '-f', 'main']);
}

/** Adds `count` refs (branches and tags over existing commits) straight into a bare repository. */
export function addManyRefs(bare: string, count: number): void {
  const commits = git(bare, ['rev-list', '--all']).trim().split('\n');
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const target = commits[i % commits.length]!;
    lines.push(`create ${i % 2 === 0 ? `refs/heads/many/branch-${i}` : `refs/tags/many/tag-${i}`} ${target}`);
  }
  git(bare, ['update-ref', '--stdin'], undefined, `${lines.join('\n')}\n`);
}

/** Another commit on a branch of a work repository. */
export function addCommit(work: string, message: string, path = `changes/${message.replace(/\W+/g, '-')}.txt`): void {
  write(work, path, `${message}\n`);
  commit(work, message);
}

/**
 * `commits` commits on refs/heads/main of the bare repository, each changing one of
 * `files` files to `bytes` random bytes written as base64 (incompressible: the pack
 * grows with the history, as a real one does), through git fast-import. Continues
 * main where it is, when it exists.
 */
export function importLinearHistory(bare: string, options: { commits: number; bytes: number; files?: number; firstTime?: number }): void {
  const { commits, bytes, files = 7, firstTime = 1_800_000_000 } = options;
  const continues = git(bare, ['for-each-ref', '--format=%(refname)', 'refs/heads/main']).trim() !== '';
  const parts: string[] = [];
  for (let n = 1; n <= commits; n += 1) {
    const content = `${randomBytes(bytes).toString('base64')}\n`;
    const message = `Work ${String(n).padStart(4, '0')}\n`;
    parts.push(`commit refs/heads/main\ncommitter Lifeboat Test <test@lifeboat.invalid> ${firstTime + n} +0000\ndata ${message.length}\n${message}`);
    if (n === 1 && continues) parts.push('from refs/heads/main^0\n');
    parts.push(`M 644 inline history/file-${n % files}.txt\ndata ${content.length}\n${content}\n`);
  }
  git(bare, ['fast-import', '--quiet'], undefined, parts.join(''));
}
