import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../errors.js';
import { parseBucketUrl } from './bucket-url.js';

describe('parseBucketUrl', () => {
  it('splits bucket and prefix', () => {
    assert.deepEqual(parseBucketUrl('s3://backups'), { bucket: 'backups', prefix: '' });
    assert.deepEqual(parseBucketUrl('s3://backups/'), { bucket: 'backups', prefix: '' });
    assert.deepEqual(parseBucketUrl('s3://backups/team/lifeboat/'), { bucket: 'backups', prefix: 'team/lifeboat' });
  });

  it('refuses what is not an s3:// URL', () => {
    for (const url of ['backups', 'https://backups/x', 's3://', 's3:///x', 's3://bad bucket/x']) {
      assert.throws(() => parseBucketUrl(url), (error) => isLifeboatError(error, 'INVALID_ARGUMENT'), url);
    }
  });

  it('refuses a prefix with ".", ".." or empty segments or control characters, by the same rule as the settings', () => {
    const refused: Array<[string, RegExp]> = [
      ['s3://backups/../../x', /The bucket prefix "\.\.\/\.\.\/x" has a "\." or "\.\." segment/],
      ['s3://backups/team/./lifeboat', /"team\/\.\/lifeboat" has a "\." or "\.\." segment/],
      ['s3://backups/team/..', /has a "\." or "\.\." segment/],
      ['s3://backups/team//lifeboat', /has an empty segment/],
      ['s3://backups/team\u0001/lifeboat', /holds a control character/],
      [`s3://backups/${'x'.repeat(201)}`, /is 201 characters long/],
    ];
    for (const [url, message] of refused) {
      assert.throws(() => parseBucketUrl(url), (error) => isLifeboatError(error, 'INVALID_ARGUMENT') && message.test(error.message), url);
    }
    assert.deepEqual(parseBucketUrl('s3://backups/..hidden/x.y/'), { bucket: 'backups', prefix: '..hidden/x.y' });
  });
});
