import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LifeboatError } from '../engine/errors.js';
import { userError } from './hints.js';

test('a page gets what happened and what it can do there, never a flag of the command line', () => {
  const missing = userError(new LifeboatError('GIT_AUTH_REQUIRED', 'Bitbucket refused the stored credential.'));
  assert.equal(missing.message, 'Bitbucket refused the stored credential.');
  assert.match(missing.hint ?? '', /admin page/);
  for (const code of ['GIT_AUTH_REQUIRED', 'IDENTITY_REQUIRED', 'BUCKET_ACCESS_DENIED', 'NOT_CONFIGURED', 'RESTORE_LARGE_FILES', 'RESTORE_LARGE_FILE_REFUSED'] as const) {
    assert.doesNotMatch(userError(new LifeboatError(code, 'x')).hint ?? '', /--|LIFEBOAT_/, code);
  }
});

test('a transient failure says Lifeboat tries again; a bug keeps its internals in the log', () => {
  assert.match(userError(new LifeboatError('GIT_SERVER_BUSY', 'busy')).hint ?? '', /tries again/);
  const bug = userError(new LifeboatError('INTERNAL', 'TypeError: x is undefined at /app/src/forge/jobs.ts:12'));
  assert.doesNotMatch(bug.message, /TypeError|jobs\.ts/);
  assert.equal(bug.code, 'INTERNAL');
});

test('a restore stopped for a file over the limit says where the limit is turned off and how to go on', () => {
  assert.match(userError(new LifeboatError('RESTORE_LARGE_FILES', 'x')).hint ?? '', /Repository settings > Advanced.*Restore dialog/);
  assert.match(userError(new LifeboatError('RESTORE_LARGE_FILE_REFUSED', 'x')).hint ?? '', /Repository settings > Advanced/);
});

test('each refusal of signed snapshots says on the page what happened and what to do, without the command line\'s flags', () => {
  for (const code of ['SNAPSHOT_SIGNATURE_INVALID', 'SNAPSHOT_UNSIGNED', 'SNAPSHOT_FROM_FUTURE', 'SIGNING_KEY_INVALID'] as const) {
    const hint = userError(new LifeboatError(code, 'x')).hint ?? '';
    assert.ok(hint.length > 0, code);
    assert.doesNotMatch(hint, /--|LIFEBOAT_/, code);
  }
  assert.match(userError(new LifeboatError('SNAPSHOT_SIGNATURE_INVALID', 'x')).hint ?? '', /never restored/);
});
