// The pages word what the backend stores as codes: every snapshot trigger a manifest can hold has its label.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { triggerSchema } from '../src/engine/bucket/format.js';
import { triggerWords } from '../static/repo-settings/src/format.js';

describe('the pages\' words for snapshot triggers', () => {
  it('names every trigger a manifest stores, a pre-restore snapshot as "Before overwrite"', () => {
    assert.equal(triggerWords('restore-guard'), 'Before overwrite');
    for (const trigger of triggerSchema.options) assert.notEqual(triggerWords(trigger), trigger, `${trigger} has words of its own`);
  });
});
