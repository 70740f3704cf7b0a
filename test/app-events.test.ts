// Bitbucket's product events, as Atlassian documents them, into the app running
// in the local world: the documented example payloads posted to the UI server's
// /__sandbox/events (with this world's UUIDs), and real git pushes whose events
// the emulator raises; the Forge host delivers both the same way.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DestructiveEvent, Paged, Result } from '../src/contract.js';
import { bareUuid } from '../src/bitbucket/uuid.js';
import { readNewestManifest } from '../src/engine/bucket/catalog.js';
import { createS3Store } from '../src/engine/bucket/s3-store.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { repoPath } from '../src/forge/bucket.js';
import { gitAsync } from '../sandbox/bitbucket/test-support.js';
import type { DeliveredEvent } from '../sandbox/forge/index.js';
import { DEMO_BUCKET } from '../sandbox/world.js';
import { DEMO_WORKSPACE, startAppWorld, type AppWorld } from './helpers/app-world.js';
import { assertDocumentedShape, documentedEvent, documentedEvents, type Json } from './helpers/forge-events.js';
import { ManualClock } from '../sandbox/forge/index.js';

describe('documented product events in the local world', () => {
  let app: AppWorld;
  let store: BlobStore;
  let scratch: string;

  before(async () => {
    app = await startAppWorld({ clock: new ManualClock() });
    await app.configure();
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-app-events-'));
    const { bucket } = app.world.urls;
    store = createS3Store({ bucket: DEMO_BUCKET, prefix: 'lifeboat', endpoint: bucket.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: bucket.accessKeyId, secretAccessKey: bucket.secretAccessKey } });
  });

  after(async () => {
    await app?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const kvs = (): Record<string, unknown> => app.world.host.kvsDump();
  const settle = async (): Promise<void> => {
    await app.world.emulator.eventsIdle();
    await app.world.host.idle();
  };
  /** A documented payload about `slug` of this world: its workspace and repository UUIDs in place of the example's. */
  const inThisWorld = (event: Json, slug: string): Json => ({
    ...event,
    workspace: { uuid: DEMO_WORKSPACE.uuid },
    repository: { ...(event.repository as Json), uuid: app.repositoryUuid(slug) },
  });
  const withPush = (event: Json, change: Json): Json => ({ ...event, push: { ...(event.push as Json), ...change } });
  const post = async (event: Json): Promise<{ eventType: string; triggers: Array<{ key: string; outcome: string }> }> => {
    const answer = await fetch(`${app.world.ui.url}/__sandbox/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    const body = await answer.json() as { eventType: string; triggers: Array<{ key: string; outcome: string }> };
    assert.equal(answer.status, 202, JSON.stringify(body));
    return body;
  };
  const destructiveEvents = async (slug: string): Promise<DestructiveEvent[]> => {
    const listed = (await app.repoPage('listDestructiveEvents', {}, { as: 'admin', repositorySlug: slug })) as Result<Paged<DestructiveEvent>>;
    assert.ok(listed.ok, JSON.stringify(listed));
    return listed.value.items;
  };
  const newestManifest = async (slug: string) => {
    const manifest = await readNewestManifest(store, repoPath(DEMO_WORKSPACE.uuid, app.repositoryUuid(slug)), app.trust());
    assert.ok(manifest, `${slug} has a snapshot`);
    return manifest;
  };
  const clone = async (slug: string): Promise<(...args: string[]) => Promise<string>> => {
    const dir = join(scratch, slug);
    await gitAsync(undefined, ['clone', '--quiet', app.gitUrl(slug), dir]);
    return (...args) => gitAsync(dir, args);
  };

  it('each documented push, posted, queues a backup of its repository, which runs as a push backup', async () => {
    const pushes: Array<[string, string]> = [['push-branch.json', 'docs'], ['push-annotated-tag.json', 'api-server']];
    for (const [file, slug] of pushes) {
      const answer = await post(inThisWorld(await documentedEvent(file), slug));
      assert.deepEqual(answer.triggers, [{ key: 'repository-events', outcome: 'ok' }], file);
      assert.ok(kvs()[`repo:${bareUuid(app.repositoryUuid(slug))}:backup-queued`], `${file}: a backup of ${slug} waits in the queue`);
      const seen = kvs()[`repo:${bareUuid(app.repositoryUuid(slug))}:last-push`] as { ref: string; after: string } | undefined;
      assert.deepEqual([seen?.ref, seen?.after], ['main', 'a37e0ad81173c7f6707d6b9f74dab4ce9938064d'], `${file}: the page's last push`);
    }
    await settle();
    for (const [file, slug] of pushes) assert.equal((await newestManifest(slug)).trigger, 'push', `${file}: ${slug} backed up for the push`);
  });

  it('the documented pull request events mark their pull requests for the next export', async () => {
    const pullRequestFiles = [...(await documentedEvents()).entries()].filter(([file]) => file.startsWith('pullrequest-'));
    assert.equal(pullRequestFiles.length, 9);
    for (const [file, event] of pullRequestFiles) {
      assert.deepEqual((await post(inThisWorld(event, 'web-app'))).triggers, [{ key: 'pull-request-events', outcome: 'ok' }], file);
    }
    const marked = Object.keys(kvs()).filter((key) => key.startsWith(`repo:${bareUuid(app.repositoryUuid('web-app'))}:pr-mark:`)).map((key) => Number(key.split(':').at(-1))).sort();
    assert.deepEqual(marked, [2, 3, 4]);
  });

  it('a git force-push and a branch deletion raise documented events (GET /__sandbox/events) and are recorded for the page', async () => {
    const git = await clone('web-app');
    await git('checkout', '--quiet', '-b', 'events-topic');
    await git('commit', '--quiet', '--allow-empty', '-m', 'work that will be rewritten');
    await git('push', '--quiet', 'origin', 'events-topic', 'HEAD:refs/heads/events-doomed');
    await settle();
    const holding = await newestManifest('web-app');
    const lostTip = (await git('rev-parse', 'HEAD')).trim();
    assert.ok(holding.refs.some((ref) => ref.name === 'refs/heads/events-topic' && ref.oid === lostTip));

    await git('commit', '--quiet', '--amend', '--allow-empty', '-m', 'rewritten');
    await git('push', '--quiet', '--force', 'origin', 'events-topic');
    await git('push', '--quiet', 'origin', ':events-doomed');
    await settle();

    const listed = await fetch(`${app.world.ui.url}/__sandbox/events`);
    const { events } = await listed.json() as { events: DeliveredEvent[] };
    const pushOf = (ref: string): DeliveredEvent | undefined => events.find((entry) => (entry.event.push as Json | undefined)?.ref === ref);
    const [forced, deleted] = [pushOf('events-topic'), pushOf('events-doomed')];
    assert.ok(forced && deleted, 'newest first: the force-push and the deletion, not the pushes that created them');
    assert.ok(events.indexOf(deleted) < events.indexOf(forced), 'newest first');
    const documented = await documentedEvent('push-branch.json');
    assertDocumentedShape(forced.event, documented, 'the force-push');
    assertDocumentedShape(deleted.event, documented, 'the deletion');
    assert.deepEqual([forced.event.push, deleted.event.push].map((push) => [(push as Json).forced, (push as Json).closed]), [[true, false], [false, true]]);
    assert.deepEqual(forced.triggers, [{ key: 'repository-events', outcome: 'ok' }]);

    const recorded = await destructiveEvents('web-app');
    const forcePush = recorded.find((event) => event.ref === 'refs/heads/events-topic');
    const deletion = recorded.find((event) => event.ref === 'refs/heads/events-doomed');
    assert.deepEqual([forcePush?.kind, forcePush?.previousTip, forcePush?.snapshotId], ['force-push', lostTip, holding.id]);
    assert.deepEqual([deletion?.kind, deletion?.previousTip, deletion?.snapshotId], ['branch-deleted', lostTip, holding.id]);
  });

  it('a deleted tag is told from a branch by the snapshots; a name the app never saw is recorded as either', async () => {
    const git = await clone('api-server');
    await git('tag', 'events-tag');
    await git('push', '--quiet', 'origin', 'events-tag');
    await settle();
    const tagged = (await git('rev-parse', 'events-tag')).trim();
    await git('push', '--quiet', 'origin', ':events-tag');
    await settle();
    // Neither in a snapshot nor in the repository: Bitbucket's event alone cannot say branch or tag.
    const documented = await documentedEvent('push-branch.json');
    await post(inThisWorld(withPush(documented, { ref: 'never-seen', before: tagged, after: undefined, created: false, closed: true, commits: [] }), 'api-server'));

    const recorded = await destructiveEvents('api-server');
    const tag = recorded.find((event) => event.ref === 'refs/tags/events-tag');
    assert.equal(tag?.kind, 'tag-deleted', JSON.stringify(recorded));
    const unknown = recorded.find((event) => event.ref === 'never-seen');
    assert.equal(unknown?.kind, 'ref-deleted', JSON.stringify(recorded));
  });

  it('a branch and a tag of one name: the one the lost tip was on in the snapshot is the one recorded', async () => {
    const git = await clone('docs');
    const tagged = (await git('rev-parse', 'HEAD')).trim();
    await git('tag', 'twin');
    await git('checkout', '--quiet', '-b', 'twin');
    await git('commit', '--quiet', '--allow-empty', '-m', 'the branch twin moves on');
    const branchTip = (await git('rev-parse', 'HEAD')).trim();
    await git('push', '--quiet', 'origin', 'refs/tags/twin', 'refs/heads/twin');
    await settle();
    const documented = await documentedEvent('push-annotated-tag.json');
    const forcedAway = (before: string): Json => inThisWorld(withPush(documented, { ref: 'twin', before, created: false, forced: true }), 'docs');
    await post({ ...forcedAway(tagged), timestamp: '2026-11-01T10:00:00.000000Z' });
    await post({ ...forcedAway(branchTip), timestamp: '2026-11-01T11:00:00.000000Z' });
    const recorded = await destructiveEvents('docs');
    assert.deepEqual(recorded.filter((event) => event.previousTip === tagged || event.previousTip === branchTip).map((event) => [event.ref, event.previousTip]), [
      ['refs/heads/twin', branchTip],
      ['refs/tags/twin', tagged],
    ]);
  });
});
