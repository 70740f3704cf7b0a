// The emulator's Forge events against Atlassian's documented payloads
// (shared/data/forge-events/): real git pushes and REST calls, and every event
// they raise compared key by key, value type by value type, with the example of
// its kind. The app's schemas are held to the same files (src/forge/events.test.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertDocumentedShape, documentedEvent, documentedEvents, shapeDifferences, type Json } from '../../test/helpers/forge-events.js';
import { DEMO_USERS, DEMO_WORKSPACE } from '../demo.js';
import type { ForgeProductEvent } from './index.js';
import { apiTokenAuth, call, gitAsync, startTestEmulator, withCredentials, type TestEmulator } from './test-support.js';

const WS = DEMO_WORKSPACE.slug;
const bob = DEMO_USERS.repoAdmin;

describe('Forge events as the emulator raises them', () => {
  let emulator: TestEmulator;
  let scratch: string;
  let work: string;
  /** The example of each event type; push events have two (a branch's, an annotated tag's). */
  let examples: Map<string, Json>;

  before(async () => {
    emulator = await startTestEmulator();
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-bitbucket-events-'));
    work = join(scratch, 'web-app');
    await gitAsync(undefined, ['clone', '--quiet', withCredentials(emulator.gitUrl(WS, 'web-app'), 'x-bitbucket-api-token-auth', bob.apiToken), work]);
    examples = new Map([...(await documentedEvents()).values()].map((event) => [String(event.eventType), event]));
  });

  after(async () => {
    await emulator?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  /** The events `action` raised, once delivered. */
  const raisedBy = async (action: () => Promise<unknown>): Promise<ForgeProductEvent[]> => {
    const mark = emulator.received.length;
    await action();
    await emulator.eventsIdle();
    return emulator.received.slice(mark);
  };
  const git = (...args: string[]): Promise<string> => gitAsync(work, args);
  const rest = async (method: string, path: string, body?: unknown, as: 'admin' | 'repoAdmin' = 'repoAdmin'): Promise<Json> => {
    const answer = await call(emulator, `/2.0/repositories/${WS}/${path}`, apiTokenAuth(as), { method, ...(body === undefined ? {} : { body }) });
    assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return (answer.body ?? {}) as Json;
  };

  it('the comparison finds what the old emulator sent: a ref object and plain-string messages', async () => {
    const branch = await documentedEvent('push-branch.json');
    const push = branch.push as Json;
    const invented = { ...branch, push: { ...push, ref: { name: 'main', type: 'branch' }, commits: [{ hash: 'a', type: 'commit', message: 'm', date: 'd', author: { type: 'author', raw: 'r' } }] } };
    assert.deepEqual(shapeDifferences(invented, branch).sort(), [
      'push.commits[].author.raw: not documented',
      'push.commits[].author.type: not documented',
      'push.commits[].author.user: missing',
      'push.commits[].message: string, documented object',
      'push.commits[].type: not documented',
      'push.ref: object, documented string',
    ]);
  });

  it('git pushes: one event per changed ref, a branch like push-branch.json, a tag like push-annotated-tag.json', async () => {
    const branchExample = await documentedEvent('push-branch.json');
    const tagExample = await documentedEvent('push-annotated-tag.json');
    const pushed = async (what: string, example: Json, action: () => Promise<unknown>, check: (push: Json) => void): Promise<void> => {
      const events = await raisedBy(action);
      assert.equal(events.length, 1, `${what}: one event`);
      assertDocumentedShape(events[0], example, what);
      check((events[0] as unknown as { push: Json }).push);
    };

    await git('checkout', '--quiet', '-b', 'events-topic');
    await git('commit', '--quiet', '--allow-empty', '-m', 'a new branch');
    await pushed('a created branch', branchExample, () => git('push', '--quiet', 'origin', 'events-topic'), (push) => {
      assert.deepEqual([push.ref, push.created, push.before, push.mainbranch], ['events-topic', true, undefined, false]);
    });
    const oldTip = (await git('rev-parse', 'HEAD')).trim();
    await git('commit', '--quiet', '--amend', '--allow-empty', '-m', 'rewritten');
    await pushed('a force-push', branchExample, () => git('push', '--quiet', '--force', 'origin', 'events-topic'), (push) => {
      assert.deepEqual([push.forced, push.before], [true, oldTip]);
    });
    await git('checkout', '--quiet', 'main');
    await git('commit', '--quiet', '--allow-empty', '-m', 'onto main');
    await pushed('a push to the main branch', branchExample, () => git('push', '--quiet', 'origin', 'main'), (push) => {
      assert.deepEqual([push.ref, push.mainbranch, push.forced], ['main', true, false]);
    });
    await pushed('a deleted branch', branchExample, () => git('push', '--quiet', 'origin', ':events-topic'), (push) => {
      assert.deepEqual([push.closed, 'after' in push, push.commits], [true, false, []]);
    });
    await git('tag', '--annotate', '-m', 'Release 9.9', 'v9.9');
    await pushed('an annotated tag', tagExample, () => git('push', '--quiet', 'origin', 'v9.9'), (push) => {
      assert.deepEqual([push.ref, push.message, (push.author as Json).user], ['v9.9', { value: 'Release 9.9\n', truncated: false }, { type: 'user', accountId: bob.accountId, uuid: bob.uuid }]);
    });
    await git('tag', 'v9.9-light');
    await pushed('a lightweight tag', tagExample, () => git('push', '--quiet', 'origin', 'v9.9-light'), (push) => {
      assert.deepEqual(['date' in push, 'message' in push, 'author' in push], [false, false, false]);
    });
    await pushed('a deleted tag', tagExample, () => git('push', '--quiet', 'origin', ':v9.9-light'), (push) => {
      assert.deepEqual([push.closed, typeof push.before, 'after' in push], [true, 'string', false]);
    });
  });

  it('repository events: created, updated, deleted as their examples', async () => {
    const events = await raisedBy(async () => {
      await rest('POST', 'events-demo', { scm: 'git' }, 'admin');
      await rest('PUT', 'events-demo', { description: 'New description' }, 'admin');
      await rest('DELETE', 'events-demo', undefined, 'admin');
    });
    assert.deepEqual(events.map((event) => event.eventType), ['avi:bitbucket:created:repository', 'avi:bitbucket:updated:repository', 'avi:bitbucket:deleted:repository']);
    for (const event of events) assertDocumentedShape(event, examples.get(event.eventType), event.eventType);
  });

  it('pull request events as their examples; an edit within 10 minutes of the last raises none', async () => {
    await raisedBy(() => git('push', '--quiet', 'origin', 'main:refs/heads/events-pr'));
    const events = await raisedBy(async () => {
      const pr = await rest('POST', 'web-app/pullrequests', { title: 'Events', source: { branch: { name: 'events-pr' } } });
      const path = `web-app/pullrequests/${String(pr.id)}`;
      await rest('PUT', path, { title: 'Events, documented' });
      const comment = await rest('POST', `${path}/comments`, { content: { raw: 'First.' } });
      await rest('PUT', `${path}/comments/${String(comment.id)}`, { content: { raw: 'First, edited at once.' } });
      // A comment written at seeding, weeks ago: its edit raises the event.
      const seeded = (await rest('GET', 'web-app/pullrequests/5/comments')).values as Json[];
      await rest('PUT', `web-app/pullrequests/5/comments/${String(seeded[0]?.id)}`, { content: { raw: 'Edited weeks later.' } }, 'admin');
    });
    assert.deepEqual(events.map((event) => event.eventType), [
      'avi:bitbucket:created:pullrequest',
      'avi:bitbucket:updated:pullrequest',
      'avi:bitbucket:created:pullrequest-comment',
      'avi:bitbucket:updated:pullrequest-comment',
    ], 'no event for the comment edited at once');
    for (const event of events) assertDocumentedShape(event, examples.get(event.eventType), event.eventType);
    assert.equal((events.at(-1) as unknown as { pullrequest: { id: number } }).pullrequest.id, 5);
  });
});
