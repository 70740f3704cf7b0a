import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LifeboatError } from '../engine/errors.js';
import { cliHint } from './hints.js';

describe('CLI hints', () => {
  it('come from the code and the details', () => {
    assert.equal(cliHint(new LifeboatError('SNAPSHOT_AMBIGUOUS', 'x', { details: { snapshot: 's', repos: ['acme/api', 'acme/web'] } })), 'add --repo <workspace>/<repo>, e.g. --repo acme/api');
    assert.equal(cliHint(new LifeboatError('SNAPSHOT_AMBIGUOUS', 'x', { details: { snapshot: '2026', repos: ['acme/api', 'acme/web'], matches: [] } })), 'give more of the id, or add --repo <workspace>/<repo>, e.g. --repo acme/api');
    assert.equal(cliHint(new LifeboatError('SNAPSHOT_AMBIGUOUS', 'x', { details: { snapshot: '2026', repos: ['acme/api'], matches: [] } })), 'give more of the id');
    assert.equal(cliHint(new LifeboatError('SNAPSHOT_NOT_FOUND', 'x', { details: { snapshot: 's', repo: 'acme/web' } })), 'list the snapshots with `lifeboat snapshots --repo acme/web`');
    assert.match(cliHint(new LifeboatError('INTERNAL', 'x')) ?? '', /bug in Lifeboat/);
    assert.equal(cliHint(new LifeboatError('CHECKSUM_MISMATCH', 'x')), undefined);
    assert.match(cliHint(new LifeboatError('RESTORE_LARGE_FILES', 'x')) ?? '', /Repository settings > Advanced.*--allow-large-files$/);
    assert.match(cliHint(new LifeboatError('SNAPSHOT_SIGNATURE_INVALID', 'x', { details: { snapshot: 's' } })) ?? '', /do not restore it.*older than s/);
    assert.match(cliHint(new LifeboatError('SNAPSHOT_UNSIGNED', 'x')) ?? '', /--trust <fingerprint>.*--allow-unsigned/);
    assert.match(cliHint(new LifeboatError('SNAPSHOT_FROM_FUTURE', 'x')) ?? '', /clock/);
    assert.match(cliHint(new LifeboatError('SIGNING_KEY_INVALID', 'x')) ?? '', /lifeboat keygen --out <file>/);
  });
});
