// Lifeboat's own pushes raise no "force-pushed" banner: an event Forge marks
// selfGenerated, or one that matches a ref update a restore recorded before
// pushing (a git push with the stored credential is not selfGenerated). Anyone
// else's force-push of the same ref is still recorded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentedEvent, type Json } from '../../../test/helpers/forge-events.js';
import { isOwnRefUpdate, recordOwnRefUpdates } from './own-ref-updates.js';
import { handleRepositoryEvent } from '../../forge/repository-events.js';
import { kvsKeys } from '../state/state-keys.js';
import { firstValues } from '../state/app-state.js';
import { memoryApp } from '../state/testing.js';

const BEFORE = 'ec8950c039c0ec8950c039c0ec8950c039c0ec89';
const AFTER = 'a37e0ad81173c7f6707d6b9f74dab4ce9938064d';

async function forcePush(extra: Json = {}): Promise<Json> {
  const event = await documentedEvent('push-branch.json');
  return { ...event, ...extra, push: { ...(event.push as Json), before: BEFORE, after: AFTER, created: false, forced: true } };
}

describe("Lifeboat's own ref updates", () => {
  it('a force-push is recorded; the same push marked selfGenerated, or recorded by a restore first, is not', async () => {
    const app = memoryApp();
    const event = await forcePush();
    const repositoryUuid = (event.repository as Json).uuid as string;
    const recorded = () => app.run(() => firstValues(app.state, kvsKeys.destructiveEventPrefix(repositoryUuid), 20));

    await app.run(() => handleRepositoryEvent(event));
    assert.equal((await recorded()).length, 1, "someone's force-push is recorded");

    const fresh = memoryApp();
    const none = () => fresh.run(() => firstValues(fresh.state, kvsKeys.destructiveEventPrefix(repositoryUuid), 20));
    await fresh.run(() => handleRepositoryEvent({ ...event, selfGenerated: true }));
    assert.deepEqual(await none(), [], 'selfGenerated: the app raised it');

    await fresh.run(() => recordOwnRefUpdates(repositoryUuid, [{ name: 'refs/heads/main', oid: AFTER }]));
    await fresh.run(() => handleRepositoryEvent(event));
    assert.deepEqual(await none(), [], "a restore's recorded update");
    assert.equal(fresh.pushed.length, 1, 'a backup is queued all the same (the two pushes coalesce into it)');

    // Another tip, or the record aged out: recorded again.
    await fresh.run(() => handleRepositoryEvent({ ...event, push: { ...(event.push as Json), after: BEFORE.replace('e', 'f') } }));
    assert.equal((await none()).length, 1);
    fresh.advance(7 * 3_600_000);
    assert.equal(await fresh.run(() => isOwnRefUpdate(repositoryUuid, 'main', AFTER)), false, 'short-lived');
  });
});
