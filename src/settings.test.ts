import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLifeboatError } from './engine/errors.js';
import { parseSettings, type WorkspaceSettingsInput } from './settings.js';

const valid: WorkspaceSettingsInput = {
  bucket: { endpoint: 'https://abc123.r2.cloudflarestorage.com', region: 'auto', name: 'acme-backups', prefix: 'lifeboat', addressing: 'path', accessKeyId: 'AKIAEXAMPLE' },
  encryption: { recipients: ['age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p'] },
  objectLock: { enabled: true, mode: 'GOVERNANCE', days: 30 },
  schedule: { interval: 'day' },
  retention: { keepDaily: 7, keepWeekly: 4 },
  repositories: { mode: 'all', chosen: [], includeNew: true },
  overrides: { '{a1f2e3d4-c5b6-4a79-8e01-1b2c3d4e5f60}': { enabled: false } },
  bitbucket: { credential: 'api-token', email: 'alice@example.com' },
};

test('valid settings pass unchanged', () => {
  assert.deepEqual(parseSettings(valid), valid);
});

test('every problem is reported with its field', () => {
  const bad = {
    ...valid,
    bucket: { ...valid.bucket, name: 'Acme_Backups', endpoint: 'http://insecure.example.com' },
    retention: { keepDaly: 7 },
    bitbucket: { credential: 'api-token', email: '' },
  };
  assert.throws(() => parseSettings(bad), (error) => {
    assert.ok(isLifeboatError(error, 'INVALID_ARGUMENT'));
    assert.match(error.message, /bucket\.name may hold only lower-case/);
    assert.match(error.message, /bucket\.endpoint must be an https:\/\/ URL/);
    assert.match(error.message, /Unknown retention rule "keepDaly"/);
    assert.match(error.message, /bitbucket\.email an API token needs the email/);
    return true;
  });
});

test('unknown top-level fields and secrets are refused, not stored', () => {
  assert.throws(() => parseSettings({ ...valid, secretAccessKey: 'x' }), /settings Unrecognized key/i);
});

test('recipients must be X25519 age recipients', () => {
  assert.throws(() => parseSettings({ ...valid, encryption: { recipients: ['ssh-ed25519 AAAA'] } }), /encryption\.recipients\.0 must be an age X25519 recipient/);
});
