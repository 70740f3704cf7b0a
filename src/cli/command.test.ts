import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLifeboatError } from '../engine/errors.js';
import { type OptionSpec, closest, commandHelp, commonOptions, defineCommand, gitOptions, parseCommandLine } from './command.js';
import { commands } from './main.js';

const command = defineCommand({
  name: 'try',
  usage: 'lifeboat try [--repo <workspace>/<repo>] [--ref <refname>]...',
  summary: 'for the test',
  options: { ...gitOptions, repo: { type: 'string', help: 'the repository' }, ref: { type: 'string', multiple: true, help: 'a ref' } },
  examples: ['lifeboat try --repo acme/web'],
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

describe('flags given wrongly', () => {
  const refused = (argv: string[], pattern: RegExp) => assert.throws(() => parseCommandLine(command, argv, {}), (error) =>
    isLifeboatError(error, 'INVALID_ARGUMENT') && pattern.test(error.message) && error.message.includes(`Usage: ${command.usage}`) && !/To specify|argument is ambiguous/.test(error.message));

  it('an unknown flag names the nearest, a string flag without its value and a boolean with one are said so', () => {
    refused(['--rpo', 'acme/web'], /^lifeboat try has no option --rpo \(did you mean --repo\?\); `lifeboat help try` describes its options\./);
    refused(['--jsn'], /did you mean --json\?/);
    refused(['--quite'], /did you mean --quiet\?/);
    refused(['--nothing-like-it'], /^lifeboat try has no option --nothing-like-it; /);
    refused(['-x'], /^lifeboat try has no option -x; /);
    refused(['--repo'], /^--repo needs a value: --repo <value>\./);
    refused(['--repo', '--json'], /^--repo needs a value: --repo <value> \(a value starting with "-" goes as --repo=--json\)\./);
    refused(['--json=yes'], /^--json takes no value \(given --json=yes\)\./);
    assert.equal(parseCommandLine(command, ['--repo=-odd'], {}).values.repo, '-odd');
  });

  it('closest: a letter added, left out, changed or two swapped, or the start of a name; nothing when none is near', () => {
    const names = commands.map((candidate) => candidate.name);
    assert.deepEqual(['snapshot', 'restor', 'verfiy', 'atach', 'attachment', 'sho', 'downlaod'].map((word) => closest(word, names)), ['snapshots', 'restore', 'verify', 'attach', 'attachments', 'show', 'download']);
    assert.equal(closest('frobnicate', names), undefined);
    assert.equal(closest('--ident', ['--identity', '--json']), '--identity');
  });
});

describe('per-command help', () => {
  it('every command describes every option it takes, how <snapshot> is read, and gives examples of itself', () => {
    for (const each of commands) {
      const help = commandHelp(each);
      assert.ok(help.startsWith(`${each.summary}\n\nUsage: ${each.usage}\n`), each.name);
      for (const [name, option] of Object.entries<OptionSpec>({ ...each.options, ...commonOptions })) {
        const shown = option.flag === false ? option.env!.join(' / ') : `--${name}`;
        assert.ok(help.split('\n').some((line) => line.includes(shown) && line.includes(option.help)), `${each.name}: ${shown}`);
      }
      assert.equal(help.includes('latest (the newest, with --repo)'), each.usage.includes('<snapshot>'), each.name);
      assert.ok(each.examples.length > 0 && each.examples.every((example) => example.startsWith(`lifeboat ${each.name} `)), each.name);
      assert.match(help, /\nExamples?:\n {2}lifeboat /);
    }
  });
});
