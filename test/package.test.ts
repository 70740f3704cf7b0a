/**
 * The command line as a package installed from a file (`npm pack`, then
 * `npm install -g ./lifeboat-<version>.tgz`): it ships what bin/ runs, and its
 * runtime dependencies are what the command line and the Forge app import, no
 * page's (React, Atlaskit). Installing the tarball here would fetch those from the
 * registry (npm's cache holds no packuments: `npm install --offline` fails with
 * ENOTCACHED), so the test gives the unpacked package a node_modules holding only
 * its declared dependencies and runs it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { assertBuilt } from './helpers/cli.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let work: string;
let unpacked: string;
let manifest: { name: string; version: string; bin: Record<string, string>; dependencies: Record<string, string> };
let files: string[];

/** The packages `entry` imports at run time, following its imports through src/ (esbuild's metafile). */
async function packagesImportedBy(entry: string): Promise<string[]> {
  const { metafile } = await build({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, metafile: true, logLevel: 'silent' });
  const found = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) {
      if (!imported.external || imported.path.startsWith('node:') || builtinModules.includes(imported.path)) continue;
      const parts = imported.path.split('/');
      found.add(imported.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return [...found].sort();
}

before(() => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), 'lifeboat-pack-'));
  // The build is checked current above; --ignore-scripts keeps `prepare` from building the pages too.
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; files: { path: string }[] }[];
  files = packed!.files.map((file) => file.path);
  execFileSync('tar', ['-xzf', join(work, packed!.filename), '-C', work]);
  unpacked = join(work, 'package');
  manifest = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as typeof manifest;
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the package npm pack makes', () => {
  it('depends on no page package, and on every package the command line and the Forge app import', async () => {
    const dependencies = Object.keys(manifest.dependencies).sort();
    assert.deepEqual(dependencies.filter((name) => /^(@atlaskit\/|react|@forge\/bridge$|@types\/)/.test(name)), []);
    const cli = await packagesImportedBy('src/cli/run.ts');
    assert.ok(cli.includes('fflate'), 'the command line imports fflate');
    assert.deepEqual(cli.filter((name) => !dependencies.includes(name)), [], 'every package the command line imports is a dependency');
    // Forge packages the app from src/ with what the project has installed; its imports stay runtime dependencies too.
    const app = await packagesImportedBy('src/index.ts');
    assert.deepEqual(app.filter((name) => !dependencies.includes(name)), [], 'every package the Forge app imports is a dependency');
  });

  it('ships the command and runs with only its dependencies installed beside it', () => {
    assert.ok(files.includes(manifest.bin.lifeboat!.replace(/^\.\//, '')), 'bin is packed');
    assert.ok(files.includes('dist/cli/run.js'), 'the built command line is packed');
    assert.deepEqual(files.filter((path) => /^(src|static|sandbox|test)\//.test(path)), [], 'no sources, pages or tests');
    // Node resolves a package from the nearest node_modules: here only the declared ones (theirs from where they are installed).
    const modules = join(unpacked, 'node_modules');
    for (const name of Object.keys(manifest.dependencies)) {
      mkdirSync(join(modules, name, '..'), { recursive: true });
      symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
    }
    const help = execFileSync(process.execPath, [join(unpacked, manifest.bin.lifeboat!), 'help'], { cwd: work, encoding: 'utf8' });
    assert.match(help, /^lifeboat — /);
  });
});
