// The configuration collector against the seeded Bitbucket emulator (only the
// network is stood in for), and the restore plan's rules on Bitbucket-shaped data.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestEmulator, WORKSPACE_TOKEN_AUTH, type TestEmulator } from '../../sandbox/bitbucket/test-support.js';
import { MemoryBlobStore } from '../engine/bucket/memory-store.js';
import { TEST_SIGNING_KEY } from '../../test/helpers/signing.js';
import { collectMetadata } from '../engine/metadata.js';
import { BitbucketClient } from './client.js';
import { CONFIGURATION_SECTIONS, configurationCollector } from './configuration.js';
import type { SnapshotConfiguration } from '../engine/configuration-views.js';
import { planConfiguration } from './configuration-plan.js';

describe('the configuration collector', () => {
  let emulator: TestEmulator;
  const calls: string[] = [];

  before(async () => {
    emulator = await startTestEmulator();
  });
  after(() => emulator.dispose());

  const client = (authorization: string): BitbucketClient => new BitbucketClient(async (path, init) => {
    calls.push(`${init?.method ?? 'GET'} ${path.split('?')[0]}`);
    return fetch(new URL(path, emulator.url), { ...init, headers: { ...init?.headers, authorization } });
  });
  const collect = (previous?: Awaited<ReturnType<typeof collectMetadata>>['index']) => collectMetadata({
    store: new MemoryBlobStore(),
    repo: { workspace: 'ws', repository: 'repo' },
    collectors: [configurationCollector({ clients: { app: client(emulator.forgeAppAuthorization()), credential: client(WORKSPACE_TOKEN_AUTH) }, address: { workspace: 'lifeboat-demo', repository: 'web-app' }, credential: 'access-token' })],
    previous,
    lfsPointers: [],
    encryption: null,
    objectLock: null,
    signingKey: TEST_SIGNING_KEY,
    now: () => new Date('2026-12-02T01:00:00Z'),
  });

  it('reads every section with its identity, and writes nothing for an unchanged one', async () => {
    const first = await collect();
    assert.deepEqual(first.index.configuration?.map((entry) => entry.section), [...CONFIGURATION_SECTIONS]);
    assert.equal(first.partial, false);
    calls.length = 0;
    const again = await collect(first.index);
    assert.equal(again.changed, false, 'the same digests: the same index');
    assert.deepEqual(again.index.configuration, first.index.configuration);
    // Without the backup's repository JSON, the repository's own settings cost one call too.
    assert.equal(calls.filter((line) => line.startsWith('GET')).length, CONFIGURATION_SECTIONS.length + 3);
  });

  it('a rate limit mid-way leaves the whole section as the previous snapshot had it, and the snapshot partial', async () => {
    const first = await collect();
    emulator.faults.rateLimitStorm = 1;
    const stormed = await collect(first.index);
    assert.equal(stormed.partial, true);
    assert.deepEqual(stormed.index.configuration, first.index.configuration);
    assert.deepEqual(stormed.index.problems.map((problem) => [problem.section, problem.code]), [['configuration', 'BITBUCKET_RATE_LIMITED']]);
  });
});

describe('the configuration restore plan', () => {
  const snapshot = (documents: Record<string, { data: unknown; unreadable?: Array<{ item: string; reason: string }> }>): SnapshotConfiguration => ({
    documents: new Map(Object.entries(documents).map(([section, { data, unreadable = [] }]) => [section as never, { format: 'lifeboat-configuration', version: 1, fetchedAt: '2026-12-02T01:00:00Z', section, data, unreadable }])),
    missing: [],
    problems: [],
  });
  const changes = (plan: ReturnType<typeof planConfiguration>) => plan.steps.map((step) => `${step.action} ${step.section}: ${step.item}`);

  it('never takes access away, never deletes an environment or a secured variable; removes what else the snapshot lacks', () => {
    const bob = { permission: 'admin', user: { uuid: '{b}', account_id: 'b', display_name: 'Bob' } };
    const carol = { permission: 'read', user: { uuid: '{c}', account_id: 'c', display_name: 'Carol' } };
    const planWith = (credential: 'access-token' | 'api-token') => planConfiguration(snapshot({
      'user-permissions': { data: [{ ...bob, permission: 'write' }] },
      'pipeline-variables': { data: [{ key: 'A', value: '1', secured: false }, { key: 'S', secured: true }], unreadable: [{ item: 'S', reason: 'secured' }] },
      environments: { data: [{ name: 'Staging', environment_type: { name: 'Staging' }, variables: [] }] },
    }), new Map<never, unknown>([
      ['user-permissions' as never, [bob, carol]],
      ['pipeline-variables' as never, [{ uuid: '{1}', key: 'A', value: '2', secured: false }, { uuid: '{2}', key: 'OLD', value: 'x', secured: false }, { uuid: '{3}', key: 'KEEP', secured: true }]],
      ['environments' as never, [{ uuid: '{e}', name: 'staging', variables: [] }, { uuid: '{f}', name: 'Preview', variables: [] }]],
    ]), credential);
    const plan = planWith('api-token');
    // Bob's admin lowered to write: listed apart, not part of the restore.
    assert.deepEqual(changes(plan), ['replace pipeline-variables: A', 'remove pipeline-variables: OLD']);
    assert.deepEqual(plan.lowering, [{ section: 'user-permissions', action: 'replace', item: 'Bob: write' }]);
    assert.deepEqual(plan.kept.map((note) => `${note.section}: ${note.item}`), ['user-permissions: Carol: read', 'pipeline-variables: KEEP', 'environments: environment Preview']);
    assert.deepEqual(plan.notWritable.map((note) => note.item), ['S'], 'a secured value the target lacks cannot be written');

    // Bitbucket lets no access token change permissions: named beforehand, never tried.
    const withAccessToken = planWith('access-token');
    assert.deepEqual(changes(withAccessToken), ['replace pipeline-variables: A', 'remove pipeline-variables: OLD']);
    assert.deepEqual(withAccessToken.notWritable.map((note) => `${note.section}: ${note.item}`), ['pipeline-variables: S', 'user-permissions: replace Bob: write']);
    assert.match(withAccessToken.notWritable[1]!.reason, /no access token write user-permissions: restore with an API token/);
  });

  it('never lowers by default: a lowered permission, a removed default reviewer, webhook or deploy key is listed apart and written only when chosen', () => {
    const carol = { user: { uuid: '{c}', account_id: 'c', display_name: 'Carol' } };
    const dave = { user: { uuid: '{d}', account_id: 'd', display_name: 'Dave' } };
    const hook = { uuid: '{h}', url: 'https://x.example/h', description: '', active: true, events: ['repo:push'] };
    const key = { id: 7, key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKeyKey', label: 'ci' };
    const planWith = (chosen: Array<{ section: string; action: string; item: string }> = []) => planConfiguration(snapshot({
      'user-permissions': { data: [{ ...carol, permission: 'write' }, { ...dave, permission: 'admin' }] },
      'group-permissions': { data: [{ permission: 'read', group: { slug: 'devs', name: 'Devs' } }] },
      'default-reviewers': { data: [] },
      webhooks: { data: [] },
      'deploy-keys': { data: [] },
    }), new Map<never, unknown>([
      ['user-permissions' as never, [{ ...carol, permission: 'admin' }, { ...dave, permission: 'read' }]],
      ['group-permissions' as never, [{ permission: 'write', group: { slug: 'devs', name: 'Devs' } }]],
      ['default-reviewers' as never, [{ uuid: '{c}', display_name: 'Carol' }]],
      ['webhooks' as never, [hook]],
      ['deploy-keys' as never, [key]],
    ]), 'api-token', chosen);
    const plan = planWith();
    assert.deepEqual(changes(plan), ['replace user-permissions: Dave: admin'], 'raising access is part of the restore');
    const lowering = ['default-reviewers remove Carol', 'webhooks remove https://x.example/h', 'deploy-keys remove ci (ssh-ed25519 AAAAC3NzaC1l…)', 'user-permissions replace Carol: write', 'group-permissions replace group Devs: read'];
    assert.deepEqual(plan.lowering.map((change) => `${change.section} ${change.action} ${change.item}`), lowering);
    // Each only by its own choice.
    const chosen = planWith([plan.lowering[1]!, plan.lowering[3]!]);
    assert.deepEqual(changes(chosen), ['remove webhooks: https://x.example/h', 'replace user-permissions: Carol: write', 'replace user-permissions: Dave: admin']);
    assert.deepEqual(chosen.lowering.map((change) => `${change.section} ${change.action} ${change.item}`), lowering, 'still listed, as the choices they are');
  });

  it('into a new repository: everything is added; a webhook secret and public privacy are named as not writable', () => {
    const plan = planConfiguration(snapshot({
      repository: { data: { description: 'd', language: 'go', fork_policy: 'no_forks', is_private: false, project: { key: 'P', name: 'Project' } } },
      webhooks: { data: [{ uuid: '{h}', url: 'https://x.example/h', description: '', active: true, events: ['repo:push'], secret_set: true }], unreadable: [{ item: 'secret of webhook https://x.example/h', reason: 'never returned' }] },
    }), undefined, 'access-token');
    assert.deepEqual(changes(plan), ['replace repository: description "d", language "go", fork policy "no_forks"', 'add webhooks: https://x.example/h']);
    assert.deepEqual(plan.notWritable.map((note) => note.item), ['privacy: public', 'project Project', 'secret of webhook https://x.example/h']);
  });
});
