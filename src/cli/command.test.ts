import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../engine/errors.js';
import { defineCommand, gitOptions, parseCommandLine } from './command.js';

const command = defineCommand({
  name: 'try',
  usage: 'lifeboat try [--repo <workspace>/<repo>] [--ref <refname>]...',
  summary: 'for the test',
  options: { ...gitOptions, repo: { type: 'string' }, ref: { type: 'string', multiple: true } },
  run: async () => 0,
});

describe('parseCommandLine', () => {
  it('types flags from the declaration; a flag wins over its variables, which stand in in their order', () => {
    const env = { LIFEBOAT_BUCKET: 's3://from-env', AWS_ENDPOINT_URL: 'http://generic', LIFEBOAT_IDENTITY: '' };
    const { values, positionals } = parseCommandLine(command, ['id', '--repo', 'acme/web', '--ref', 'refs/heads/a', '--ref', 'refs/heads/b', '--json'], env);
    assert.deepEqual(positionals, ['id']);
    assert.deepEqual(values, { repo: 'acme/web', ref: ['refs/heads/a', 'refs/heads/b'], json: true, bucket: 's3://from-env', endpoint: 'http://generic' });
    assert.equal(parseCommandLine(command, ['--bucket', 's3://flag'], env).values.bucket, 's3://flag');
    assert.equal(parseCommandLine(command, [], { ...env, AWS_ENDPOINT_URL_S3: 'http://s3-only' }).values.endpoint, 'http://s3-only');
  });

  it('takes secrets only from the environment, and a variable set to anything for a boolean', () => {
    const env = { LIFEBOAT_GIT_USERNAME: 'x-token-auth', LIFEBOAT_GIT_PASSWORD: 'secret', LIFEBOAT_DEBUG: '1' };
    const { values } = parseCommandLine(command, [], env);
    assert.deepEqual([values['git-username'], values['git-password'], values.debug], ['x-token-auth', 'secret', true]);
    for (const flag of ['--git-password', '--debug']) {
      assert.throws(() => parseCommandLine(command, [flag, 'x'], {}), (error) => isLifeboatError(error, 'INVALID_ARGUMENT') && error.message.includes(flag) && error.message.includes(command.usage));
    }
  });
});
