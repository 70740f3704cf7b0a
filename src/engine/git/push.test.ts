import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError, type LifeboatError } from '../errors.js';
import { checkReport, parseReport, writePushCommands } from './push.js';
import { ZERO_OID } from './types.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const CAPS = ['report-status', 'report-status-v2', 'delete-refs', 'side-band-64k', 'quiet', 'atomic', 'ofs-delta', 'push-options', 'agent=git/2.39.5'];

describe('push commands', () => {
  it('puts the capabilities on the first command only, never push-options', () => {
    const body = writePushCommands(CAPS, [
      { ref: 'refs/heads/main', old: ZERO_OID, new: A },
      { ref: 'refs/heads/gone', old: B, new: ZERO_OID },
    ], { atomic: true, progress: false });
    const first = `${ZERO_OID} ${A} refs/heads/main\0report-status side-band-64k atomic quiet agent=lifeboat\n`;
    assert.equal(body.toString(), `${(first.length + 4).toString(16).padStart(4, '0')}${first}0066${B} ${ZERO_OID} refs/heads/gone\n0000`);
  });

  it('leaves out atomic when not wanted, quiet when progress is, and anything not advertised', () => {
    const wanted = writePushCommands(CAPS, [{ ref: 'refs/heads/main', old: ZERO_OID, new: A }], { atomic: false, progress: true }).toString();
    assert.ok(wanted.includes('\0report-status side-band-64k agent=lifeboat\n'));
    const minimal = writePushCommands(['report-status'], [{ ref: 'refs/heads/main', old: ZERO_OID, new: A }], { atomic: true, progress: false }).toString();
    assert.ok(minimal.includes('\0report-status\n'));
  });
});

describe('push report', () => {
  const commands = [
    { ref: 'refs/heads/main', old: B, new: A },
    { ref: 'refs/tags/v1', old: ZERO_OID, new: B },
  ];

  it('accepts "unpack ok" with every ref ok, skipping report-status-v2 option lines', () => {
    const report = parseReport(['unpack ok', 'ok refs/heads/main', 'option refname refs/heads/main', 'ok refs/tags/v1']);
    assert.deepEqual(checkReport(report, commands), { refs: [{ ref: 'refs/heads/main', ok: true }, { ref: 'refs/tags/v1', ok: true }] });
  });

  it('names each rejected ref with its reason', () => {
    const report = parseReport(['unpack ok', 'ng refs/heads/main non-fast-forward', 'ng refs/tags/v1 atomic push failed']);
    assert.throws(() => checkReport(report, commands), (error: LifeboatError) => {
      assert.equal(error.code, 'GIT_PUSH_REJECTED');
      assert.equal(error.message, 'The git server rejected the push: refs/heads/main (non-fast-forward); refs/tags/v1 (atomic push failed).');
      assert.deepEqual(error.details?.refs, [
        { ref: 'refs/heads/main', ok: false, reason: 'non-fast-forward' },
        { ref: 'refs/tags/v1', ok: false, reason: 'atomic push failed' },
      ]);
      return true;
    });
  });

  it('rejects a failed unpack and a ref without a status', () => {
    const report = parseReport(['unpack index-pack abnormal exit', 'ok refs/heads/main']);
    assert.throws(() => checkReport(report, commands), (error: LifeboatError) =>
      isLifeboatError(error, 'GIT_PUSH_REJECTED') &&
      error.message.includes('could not unpack the pack (index-pack abnormal exit)') &&
      error.message.includes('refs/tags/v1 (no status reported)'));
  });

  it('rejects a report that is not one', () => {
    for (const lines of [[], ['ok refs/heads/main'], ['unpack ok', 'maybe refs/heads/main']]) {
      assert.throws(() => parseReport(lines), (error) => isLifeboatError(error, 'GIT_PROTOCOL'), JSON.stringify(lines));
    }
  });
});
