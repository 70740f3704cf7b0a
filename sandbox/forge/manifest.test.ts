import assert from 'node:assert/strict';
import { cp, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadManifest, locateHandler, ManifestError } from './manifest.js';
import { FIXTURE_APP, fixtureVariant, startFixtureHost } from './testing.js';

test('the fixture manifest: functions, triggers, consumers, resolver pages, scopes and egress', async () => {
  const manifest = await loadManifest(FIXTURE_APP);
  assert.equal(manifest.appId, 'ari:cloud:ecosystem::app/5d1c3a4e-7b2f-4e8a-9c61-0f3e2d1b4a59');
  assert.equal(manifest.runtime.name, 'nodejs20.x');
  assert.deepEqual([...manifest.functions.keys()], ['resolver', 'on-event', 'sweep', 'job']);
  assert.deepEqual(manifest.functions.get('job'), { key: 'job', handler: 'jobs.consume', timeoutSeconds: 120 });
  assert.deepEqual(manifest.triggers, [
    { key: 'on-push', function: 'on-event', events: ['avi:bitbucket:push:repository'] },
    { key: 'on-repository-change', function: 'on-event', events: ['avi:bitbucket:push:repository', 'avi:bitbucket:created:repository'] },
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

test('a cached verdict holds only while the files the validator reads are unchanged', async () => {
  const appDir = await mkdtemp(join(tmpdir(), 'lifeboat-forge-app-'));
  try {
    await cp(FIXTURE_APP, appDir, { recursive: true });
    await loadManifest(appDir);
    await rename(join(appDir, 'src', 'jobs.ts'), join(appDir, 'src', 'jobs.txt'));
    await assert.rejects(loadManifest(appDir), (error) => error instanceof ManifestError && /jobs/.test(error.message), 'a handler file gone');
    await rename(join(appDir, 'src', 'jobs.txt'), join(appDir, 'src', 'jobs.ts'));
    await loadManifest(appDir);
    // Forge refuses an index.html whose Content-Security-Policy allows inline styles the manifest does not grant.
    await writeFile(join(appDir, 'static', 'main', 'index.html'), `<meta http-equiv="Content-Security-Policy" content="style-src 'unsafe-inline'">`);
    await assert.rejects(loadManifest(appDir), (error) => error instanceof ManifestError && /static\/main/.test(error.message), 'a resource changed');
    await rm(join(appDir, 'static', 'main'), { recursive: true });
    await assert.rejects(loadManifest(appDir), (error) => error instanceof ManifestError && /static\/main/.test(error.message), 'a resource gone');
  } finally {
    await rm(appDir, { recursive: true, force: true });
  }
});

async function refusal(edit: (manifest: string) => string): Promise<string> {
  const variant = await fixtureVariant(edit);
  try {
    const error = await loadManifest(variant.appDir).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ManifestError, 'the manifest is refused');
    return error.message;
  } finally {
    await variant.remove();
  }
}

test('what @forge/manifest refuses, the host refuses, with its messages', async () => {
  assert.match(await refusal((text) => text.replace('      function: sweep\n', '      function: sweeper\n')), /sweeper/);
  assert.match(
    await refusal((text) => text.replace('      resource: main\n      resolver:\n        function: resolver\n  trigger:', '      resolver:\n        function: resolver\n  trigger:')),
    /bitbucket:workspaceSettingsMenuPage required properties/,
  );
  // Forge accepts ignoreSelf only on Jira events (@forge/manifest validators/modules-validators/jira/validate-trigger.js).
  assert.match(
    await refusal((text) => text.replace('        - avi:bitbucket:push:repository\n  ', '        - avi:bitbucket:push:repository\n      filter:\n        ignoreSelf: true\n  ')),
    /ignoreSelf works only with Jira events/,
  );
  const schema = await refusal((text) => text.replace('name: nodejs20.x', 'name: nodejs18.x').replace('timeoutSeconds: 120', 'timeoutSeconds: 901').replace('queue: jobs', 'queue: jobs!'));
  assert.match(schema, /runtime property name 'nodejs18\.x'/);
  assert.match(schema, /timeoutSeconds must be <= 900/);
  assert.match(schema, /queue 'jobs!' must match pattern/);
});

test('a valid manifest the host cannot run faithfully is refused rather than half run', async () => {
  const message = await refusal((text) =>
    text.replace('        - avi:bitbucket:push:repository\n  ', '        - avi:bitbucket:push:repository\n      filter:\n        expression: event.repository != null\n  '),
  );
  assert.match(message, /trigger on-push has a filter expression/);
});

test('a handler whose export is missing stops the host at start', async () => {
  const variant = await fixtureVariant((text) => text.replace('handler: index.sweep', 'handler: index.sweepAll'));
  try {
    await assert.rejects(startFixtureHost({ appDir: variant.appDir }), /function sweep: .*index\.ts has no exported function sweepAll/);
  } finally {
    await variant.remove();
  }
});
