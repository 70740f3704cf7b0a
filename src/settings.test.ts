import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLifeboatError } from './engine/errors.js';
import { DEFAULT_RETENTION } from './engine/bucket/retention.js';
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

test('recipients must be X25519 age recipients, checksum included', () => {
  assert.throws(() => parseSettings({ ...valid, encryption: { recipients: ['ssh-ed25519 AAAA'] } }), /encryption\.recipients\.0 is not an age recipient/);
  // One character changed: the shape is right, the bech32 checksum is not (the first backup would fail on it).
  const recipient = valid.encryption.recipients[0]!;
  const mistyped = `${recipient.slice(0, -1)}${recipient.endsWith('p') ? 'q' : 'p'}`;
  assert.throws(() => parseSettings({ ...valid, encryption: { recipients: [recipient, mistyped] } }), /encryption\.recipients\.1 is not an age recipient \(a mistyped character or a bad checksum\)/);
  assert.throws(() => parseSettings({ ...valid, encryption: { recipients: ['AGE-SECRET-KEY-1QQQQ'] } }), (error) => /encryption\.recipients\.0 is an age identity/.test((error as Error).message) && !(error as Error).message.includes('AGE-SECRET-KEY-1QQQQ'));
});

test('pasted values are trimmed: a trailing newline or a leading space is not stored', () => {
  const parsed = parseSettings({
    ...valid,
    bucket: { ...valid.bucket, endpoint: 'https://abc123.r2.cloudflarestorage.com\n', accessKeyId: ' AKIAEXAMPLE', name: 'acme-backups ', prefix: 'lifeboat\n' },
    encryption: { recipients: [` ${valid.encryption.recipients[0]!}\n`] },
    bitbucket: { credential: 'api-token', email: 'alice@example.com\n' },
  });
  assert.deepEqual(parsed, parseSettings(valid));
});

test('unknown fields are refused at every level, each named by its field', () => {
  const uuid = Object.keys(valid.overrides)[0]!;
  const cases: Array<[WorkspaceSettingsInput, RegExp]> = [
    [{ ...valid, bucket: { ...valid.bucket, secretAccessKey: 'x' } as never }, /bucket Unrecognized key: "secretAccessKey"/],
    [{ ...valid, encryption: { ...valid.encryption, scheme: 'age' } as never }, /encryption Unrecognized key/],
    [{ ...valid, objectLock: { ...valid.objectLock, legalHold: true } as never }, /objectLock Unrecognized key/],
    [{ ...valid, schedule: { interval: 'day', at: '02:00' } as never }, /schedule Unrecognized key/],
    [{ ...valid, repositories: { ...valid.repositories, excluded: [] } as never }, /repositories Unrecognized key/],
    [{ ...valid, overrides: { [uuid]: { enabled: false, paused: true } as never } }, new RegExp(`overrides\\.\\{?${uuid.replace(/[{}]/g, '')}.*Unrecognized key`)],
    [{ ...valid, bitbucket: { ...valid.bitbucket, token: 'x' } as never }, /bitbucket Unrecognized key/],
  ];
  for (const [input, expected] of cases) assert.throws(() => parseSettings(input), expected, JSON.stringify(input).slice(0, 200));
});

test('retention takes keepWithin (the default policy) and names a bad duration by its field', () => {
  assert.deepEqual(parseSettings({ ...valid, retention: DEFAULT_RETENTION }).retention, { keepWithin: '30d', keepDaily: 7, keepWeekly: 4, keepMonthly: 12 });
  assert.throws(() => parseSettings({ ...valid, retention: { keepWithin: 'a month' } }), /retention Retention rule keepWithin must be a duration/);
});

test('a retention policy with a "__proto__" rule is refused, not read as "keep everything"', () => {
  const hostile = JSON.parse(`{"keepDaily":7,"__proto__":1}`) as Record<string, unknown>;
  assert.throws(() => parseSettings({ ...valid, retention: hostile }), /retention Unknown retention rule "__proto__"/);
  const uuid = Object.keys(valid.overrides)[0]!;
  assert.throws(() => parseSettings({ ...valid, overrides: { [uuid]: { retention: JSON.parse('{"__proto__":1}') as Record<string, unknown> } } }), /Unknown retention rule "__proto__"/);
});

test('the bucket prefix has no empty, "." or ".." segment and no control character', () => {
  for (const prefix of ['', 'lifeboat', 'backups/bitbucket', 'team a/lifeboat.v2', '..hidden/x']) {
    assert.equal(parseSettings({ ...valid, bucket: { ...valid.bucket, prefix } }).bucket.prefix, prefix);
  }
  const refused: Array<[string, RegExp]> = [
    ['../../x', /bucket\.prefix "\.\.\/\.\.\/x" has a "\." or "\.\." segment/],
    ['a/./b', /bucket\.prefix "a\/\.\/b" has a "\." or "\.\." segment/],
    ['a/..', /has a "\." or "\.\." segment/],
    ['/lifeboat', /bucket\.prefix "\/lifeboat" has an empty segment/],
    ['lifeboat/', /has an empty segment/],
    ['a//b', /has an empty segment/],
    ['a\u0000b', /bucket\.prefix holds a control character/],
    ['a\tb', /holds a control character/],
    ['x'.repeat(201), /bucket\.prefix is 201 characters long; at most 200/],
  ];
  for (const [prefix, expected] of refused) assert.throws(() => parseSettings({ ...valid, bucket: { ...valid.bucket, prefix } }), expected, JSON.stringify(prefix));
});

test('an API token\'s expiry: a calendar date, from today to a year ahead, and only for API tokens', () => {
  const now = new Date('2026-12-07T10:00:00Z');
  const expiring = (expiresOn: string, credential: 'api-token' | 'access-token' = 'api-token') =>
    parseSettings({ ...valid, bitbucket: { credential, email: credential === 'api-token' ? 'alice@example.com' : '', expiresOn } }, now);
  assert.equal(expiring('2026-12-07').bitbucket.expiresOn, '2026-12-07', 'expiring today still works today');
  assert.equal(expiring('2027-12-07').bitbucket.expiresOn, '2027-12-07', 'a year ahead');
  assert.throws(() => expiring('2026-12-06'), /bitbucket\.expiresOn is in the past/);
  assert.throws(() => expiring('2027-12-09'), /bitbucket\.expiresOn is more than a year ahead/);
  assert.throws(() => expiring('2027-02-30'), /bitbucket\.expiresOn must be a date/);
  assert.throws(() => expiring('07/12/2027'), /bitbucket\.expiresOn must be a date/);
  assert.throws(() => expiring('2027-03-01', 'access-token'), /bitbucket\.expiresOn is kept for API tokens only/);
});
