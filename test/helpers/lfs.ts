/**
 * LFS fixtures: objects and the pointer files that name them, written as git-lfs
 * writes them (no git-lfs needed). Pointers with extension lines are long enough
 * for git to deltify one against another (a short canonical pointer never is:
 * its delta would not be under half its size).
 */
import { createHash, randomBytes } from 'node:crypto';

export interface LfsFixture {
  content: Buffer;
  oid: string;
  size: number;
}

export function lfsObject(bytes = 3000): LfsFixture {
  const content = randomBytes(bytes);
  return { content, oid: createHash('sha256').update(content).digest('hex'), size: content.byteLength };
}

/** A pointer file; `extensions` adds ext-N lines (all pointers of a test sharing them deltify well). */
export function pointerFile(object: Pick<LfsFixture, 'oid' | 'size'>, extensions = 0): string {
  const ext = Array.from({ length: extensions }, (_, index) => `ext-${index}-lifeboat${index} sha256:${String(index).repeat(64).slice(0, 64)}\n`).join('');
  return `version https://git-lfs.github.com/spec/v1\n${ext}oid sha256:${object.oid}\nsize ${object.size}\n`;
}
