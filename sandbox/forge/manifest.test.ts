import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadManifest, locateHandler, ManifestError } from './manifest.js';
import { FIXTURE_APP, fixtureVariant, startFixtureHost } from './testing.js';

test('the fixture manifest: functions, triggers, consumers, resolver pages, scopes and egress', async () => {
  const manifest = await loadManifest(FIXTURE_APP);
  assert.equal(manifest.appId, 'ari:cloud:ecosystem::app/5d1c3a4e-7b2f-4e8a-9c61-0f3e2d1b4a59');
  assert.equal(manifest.runtime.name, 'nodejs20.x');
  assert.deepEqual([...manifest.functions.keys()], ['resolver', 'on-push', 'sweep', 'job']);
  assert.deepEqual(manifest.functions.get('job'), { key: 'job', handler: 'jobs.consume', timeoutSeconds: 120 });
  assert.deepEqual(manifest.triggers, [
    { key: 'on-push', function: 'on-push', events: ['avi:bitbucket:push:repository'], ignoreSelf: true },
    { key: 'on-repository-change', function: 'on-push', events: ['avi:bitbucket:push:repository', 'avi:bitbucket:created:repository'], ignoreSelf: false },
  ]);
  assert.deepEqual(manifest.scheduledTriggers, [{ key: 'hourly-sweep', function: 'sweep', interval: 'hour' }]);
  assert.deepEqual(manifest.consumers, [{ key: 'jobs-consumer', queue: 'jobs', function: 'job' }]);
  assert.deepEqual([...manifest.resolverModules.values()].map((m) => [m.type, m.key, m.function]), [
    ['bitbucket:repoSettingsMenuPage', 'fixture-repo-settings', 'resolver'],
    ['bitbucket:workspaceSettingsMenuPage', 'fixture-workspace-admin', 'resolver'],
  ]);
  assert.deepEqual(manifest.modules['bitbucket:repoSettingsMenuPage'], [{ key: 'fixture-repo-settings', title: 'Fixture settings', resource: 'main', function: 'resolver' }]);
  assert.deepEqual(manifest.resources, [{ key: 'main', path: 'static/main' }]);
  assert.deepEqual(manifest.scopes, ['storage:app', 'read:repository:bitbucket']);
  assert.deepEqual(manifest.egress, { backend: ['https://*.amazonaws.com', 'https://bitbucket.org'], configurable: false });
});

test('handlers resolve as Forge resolves them: <file under src>.<export>', async () => {
  assert.deepEqual(await locateHandler(FIXTURE_APP, 'index.resolver'), { file: join(FIXTURE_APP, 'src', 'index.ts'), exportName: 'resolver' });
  assert.deepEqual(await locateHandler(FIXTURE_APP, 'jobs.consume'), { file: join(FIXTURE_APP, 'src', 'jobs.ts'), exportName: 'consume' });
  await assert.rejects(locateHandler(FIXTURE_APP, 'missing.run'), /handler missing\.run: no file/);
});

test('a manifest the host cannot run faithfully is refused, naming every problem', async () => {
  const variant = await fixtureVariant((text) =>
    text
      .replace('      filter:\n        ignoreSelf: true', '      filter:\n        expression: event.repository != null')
      .replace('      function: sweep\n', '      function: sweeper\n')
      .replace('      resource: main\n      resolver:\n        function: resolver\n  trigger:', '      resolver:\n        function: resolver\n  trigger:'),
  );
  try {
    await assert.rejects(loadManifest(variant.appDir), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      assert.match(error.message, /trigger on-push has a filter expression/);
      assert.match(error.message, /scheduledTrigger hourly-sweep names function sweeper, which modules\.function does not declare/);
      assert.match(error.message, /bitbucket:workspaceSettingsMenuPage fixture-workspace-admin needs a title and a resource/);
      return true;
    });
  } finally {
    await variant.remove();
  }
});

test('schema errors name the field: runtime, timeoutSeconds, queue name', async () => {
  const variant = await fixtureVariant((text) =>
    text.replace('name: nodejs20.x', 'name: nodejs18.x').replace('timeoutSeconds: 120', 'timeoutSeconds: 901').replace('queue: jobs', 'queue: jobs!'),
  );
  try {
    await assert.rejects(loadManifest(variant.appDir), (error: unknown) => {
      assert.ok(error instanceof ManifestError);
      assert.match(error.message, /app\.runtime\.name/);
      assert.match(error.message, /modules\.function\.3\.timeoutSeconds/);
      assert.match(error.message, /modules\.consumer\.0\.queue/);
      return true;
    });
  } finally {
    await variant.remove();
  }
});

test('a handler whose export is missing stops the host at start', async () => {
  const variant = await fixtureVariant((text) => text.replace('handler: index.sweep', 'handler: index.sweepAll'));
  try {
    await assert.rejects(startFixtureHost({ appDir: variant.appDir }), /function sweep: .*index\.ts has no exported function sweepAll/);
  } finally {
    await variant.remove();
  }
});
