// The app's event schemas against Atlassian's documented payloads: every
// example in shared/data/forge-events/ that a trigger of manifest.yml
// subscribes to parses with that trigger's schema, and so do the variants the
// documented types allow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { loadManifest } from '../../sandbox/forge/manifest.js';
import { documentedEvent, documentedEvents, type Json } from '../../test/helpers/forge-events.js';
import { pullRequestEvent, repositoryEvent, repositoryPushEvent } from './events.js';

const appDir = fileURLToPath(new URL('../..', import.meta.url));

/** Each trigger handler's schema (src/index.ts exports the handlers manifest.yml names). */
const SCHEMAS: Record<string, z.ZodType> = {
  'index.handleRepositoryEvent': repositoryEvent,
  'index.handlePullRequestEvent': pullRequestEvent,
};

function parses(schema: z.ZodType, event: unknown, what: string): void {
  const parsed = schema.safeParse(event);
  assert.ok(parsed.success, `${what}: ${parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
}

describe('the documented Bitbucket events', () => {
  it('each one a trigger subscribes to parses with its schema; the app subscribes to all but repository updates', async () => {
    const manifest = await loadManifest(appDir);
    const unsubscribed: string[] = [];
    for (const [file, event] of await documentedEvents()) {
      const type = String(event.eventType);
      const triggers = manifest.triggers.filter((trigger) => trigger.events.includes(type));
      if (triggers.length === 0) unsubscribed.push(type);
      for (const trigger of triggers) {
        const handler = manifest.functions.get(trigger.function)?.handler ?? '';
        const schema = SCHEMAS[handler];
        assert.ok(schema, `trigger ${trigger.key} (${handler}) has a schema here`);
        parses(schema, event, file);
      }
    }
    assert.deepEqual(unsubscribed, ['avi:bitbucket:updated:repository'], 'a repository update changes nothing a backup holds');
  });

  it('push variants the documented types allow: a deletion, a force-push, a lightweight tag, a created ref, selfGenerated, unknown fields', async () => {
    const branch = await documentedEvent('push-branch.json');
    const tag = await documentedEvent('push-annotated-tag.json');
    const withPush = (event: Json, change: (push: Json) => Json): Json => ({ ...event, push: change({ ...(event.push as Json) }) });
    const before = 'ec8950c039c0ec8950c039c0ec8950c039c0ec89';
    const variants: Array<[string, Json]> = [
      ['a deleted branch: before only', withPush(branch, ({ after: _after, ...push }) => ({ ...push, before, created: false, closed: true, commits: [] }))],
      ['a force-push', withPush(branch, (push) => ({ ...push, before, created: false, forced: true }))],
      ['a lightweight tag', withPush(tag, ({ date: _date, message: _message, author: _author, ...push }) => push)],
      ['a deleted tag', withPush(tag, ({ date: _date, message: _message, author: _author, after: _after, ...push }) => ({ ...push, before, created: false, closed: true }))],
      ['a created branch without before (the example itself)', branch],
      ['an event the app raised itself', { ...branch, selfGenerated: true }],
      ['fields Forge may add later', { ...withPush(branch, (push) => ({ ...push, somethingNew: { nested: 1 } })), alsoNew: 'x' }],
    ];
    for (const [what, event] of variants) {
      parses(repositoryPushEvent, event, what);
      assert.equal(repositoryPushEvent.parse(event).push.ref, 'main', `${what}: the short name`);
    }
  });

  it('refuses what the reference does not describe: a ref object, a message that is not { value, truncated }', async () => {
    const branch = await documentedEvent('push-branch.json');
    const push = branch.push as Json;
    assert.equal(repositoryPushEvent.safeParse({ ...branch, push: { ...push, ref: { name: 'main', type: 'branch' } } }).success, false);
    assert.equal(repositoryPushEvent.safeParse({ ...branch, push: { ...push, commits: [{ ...(push.commits as Json[])[0], message: 'Initial commit' }] } }).success, false);
  });
});
