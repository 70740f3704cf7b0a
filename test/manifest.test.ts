// manifest.yml is what Forge deploys: it must pass @forge/manifest's full
// validation (the same checks `forge deploy` runs, offline), and src/index.ts
// must export exactly the handlers it names.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FullValidationProcessor } from '@forge/manifest'; // eslint-disable-line @typescript-eslint/no-restricted-imports -- the validator, not a platform API
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));

test('manifest.yml passes full validation (build the pages first: npm run build:ui)', async () => {
  const previous = process.cwd();
  process.chdir(root); // the validator resolves resource and handler paths from the working directory
  try {
    const result = await new FullValidationProcessor({}).process('manifest.yml');
    assert.deepEqual(result.errors ?? [], [], JSON.stringify(result.errors, null, 2));
    assert.equal(result.success, true);
  } finally {
    process.chdir(previous);
  }
});

test('src/index.ts exports exactly the handlers manifest.yml names', async () => {
  const manifest = parse(await readFile(new URL('../manifest.yml', import.meta.url), 'utf8')) as {
    modules: { function: Array<{ key: string; handler: string }> };
  };
  const handlers = manifest.modules.function.map((fn) => {
    const [file, name] = fn.handler.split('.');
    assert.equal(file, 'index', `${fn.key}: handlers live in src/index.ts`);
    return name!;
  });
  const exported = Object.keys(await import('../src/index.js'));
  assert.deepEqual([...exported].sort(), [...new Set(handlers)].sort());
});
