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
});
