/**
 * Builds the Custom UI pages (static/<page> → static/<page>/build) with Vite,
 * each in a child process exactly as `vite build static/<page>` would, skipping
 * pages whose build is newer than every one of their sources.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

/** The page folders, relative to the app's root. */
export const UI_PAGES = ['static/repo-settings', 'static/workspace-admin'] as const;
/** Code both pages import. */
const SHARED = 'static/shared';

export async function buildPages(appDir: string, options: { pages?: readonly string[]; force?: boolean; log?: (line: string) => void } = {}): Promise<string[]> {
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  const built: string[] = [];
  for (const page of options.pages ?? UI_PAGES) {
    const dir = join(appDir, page);
    if (!options.force && !(await isStale(dir, join(appDir, SHARED)))) continue;
    options.log?.(`[ui] building ${page}`);
    const child = spawn(process.execPath, [vite, 'build', dir, '--logLevel', 'warn'], { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`vite build ${page} failed (exit ${code}):\n${output}`);
    built.push(page);
  }
  return built;
}

/** True when build/index.html is missing or older than a source file of the page or of the shared code. */
async function isStale(dir: string, shared: string): Promise<boolean> {
  const builtAt = await stat(join(dir, 'build', 'index.html')).then((info) => info.mtimeMs, () => undefined);
  if (builtAt === undefined) return true;
  for (const folder of [dir, shared]) {
    for (const path of await readdir(folder, { recursive: true }).catch(() => [])) {
      if (path === 'build' || path.startsWith(`build${sep}`)) continue;
      const info = await stat(join(folder, path));
      if (info.isFile() && info.mtimeMs > builtAt) return true;
    }
  }
  return false;
}
