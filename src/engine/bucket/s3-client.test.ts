import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPathStyle } from './s3-client.js';

describe('defaultPathStyle', () => {
  it('uses path-style for IP addresses and localhost, virtual-hosted style otherwise', () => {
    assert.equal(defaultPathStyle('http://127.0.0.1:9000'), true);
    assert.equal(defaultPathStyle('http://[::1]:9000'), true);
    assert.equal(defaultPathStyle('http://198.51.100.7'), true);
    assert.equal(defaultPathStyle('http://localhost:4568'), true);
    assert.equal(defaultPathStyle('http://minio.localhost'), true);
    assert.equal(defaultPathStyle('https://s3.eu-central-003.backblazeb2.com'), false);
    assert.equal(defaultPathStyle('https://account.r2.cloudflarestorage.com'), false);
    assert.equal(defaultPathStyle(undefined), false);
  });
});
