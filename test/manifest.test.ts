// manifest.yml is what Forge deploys: it must pass @forge/manifest's full
// validation (the same checks `forge deploy` runs, offline), src/index.ts
// must export exactly the handlers it names, and its egress must cover every
// storage provider the admin page offers (src/storage-providers.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EgressFilteringService } from '@forge/egress'; // eslint-disable-line @typescript-eslint/no-restricted-imports -- Forge's own egress matcher, not a platform API
import { FullValidationProcessor } from '@forge/manifest'; // eslint-disable-line @typescript-eslint/no-restricted-imports -- the validator, not a platform API
import { parse } from 'yaml';
import { FUNCTION_MEMORY_MB } from '../src/forge/bucket.js';
import { DECLARED_STORAGE_EGRESS, STORAGE_PROVIDERS } from '../src/storage-providers.js';

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

test('the declared egress covers every storage provider the admin page offers, at every host its documentation names, and nothing else', async () => {
  const manifest = parse(await readFile(new URL('../manifest.yml', import.meta.url), 'utf8')) as {
    permissions: { external: { fetch: { backend: Array<{ address: string }> } } };
  };
  const backend = manifest.permissions.external.fetch.backend.map((entry) => entry.address);
  const forge = new EgressFilteringService(backend);
  for (const provider of STORAGE_PROVIDERS) {
    for (const address of provider.egress) assert.ok(backend.includes(address), `${provider.label}: manifest.yml declares ${address}`);
    for (const host of provider.documented) assert.ok(forge.isValidUrl(host), `${provider.label}: Forge lets the app reach ${host}`);
    // The endpoint the provider choice fills in, once its placeholders are filled.
    if (provider.egress.length > 0 && provider.endpoint !== '') {
      const endpoint = provider.endpoint.replace('{region}', provider.region === 'auto' ? 'eu' : provider.region).replace('{account}', '0123456789abcdef');
      assert.ok(forge.isValidUrl(endpoint), `${provider.label}: ${endpoint}`);
    }
  }
  assert.ok(!forge.isValidUrl('https://minio.example.test'), 'any other endpoint needs customer-managed egress');
  // Besides the providers, only Atlassian's own hosts.
  assert.deepEqual(backend.filter((address) => !DECLARED_STORAGE_EGRESS.includes(address) && !/^https:\/\/([a-z0-9-]+\.)*(bitbucket\.org|atlassian\.com)$/.test(address)), []);
});

test('each function\'s memory in manifest.yml is the one src/forge sizes its uploads by; run-restore, which runs a backup first, has as much as run-backup', async () => {
  const manifest = parse(await readFile(new URL('../manifest.yml', import.meta.url), 'utf8')) as {
    app: { runtime: { memoryMB?: number } };
    modules: { function: Array<{ key: string; runtime?: { memoryMB?: number } }> };
  };
  // Forge's default when neither the function nor the app says: 512 MB (@forge/manifest's schema).
  const memory = Object.fromEntries(manifest.modules.function.map((fn) => [fn.key, fn.runtime?.memoryMB ?? manifest.app.runtime.memoryMB ?? 512]));
  assert.deepEqual(memory, FUNCTION_MEMORY_MB);
  assert.ok(FUNCTION_MEMORY_MB['run-restore'] >= FUNCTION_MEMORY_MB['run-backup']);
  // The schema's description: "between 128 MB and 1024 MB".
  for (const [key, mb] of Object.entries(memory)) assert.ok(mb >= 128 && mb <= 1024, `${key}: ${mb} MB`);
});
