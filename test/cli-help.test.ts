/**
 * The `lifeboat` command line's help as a person meets it (a child process): the
 * version, per-command help, and a typo in a command or a flag answered with the
 * nearest name in one line, never with the argument parser's own message.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { commandHelp } from '../src/cli/command.js';
import { restoreCommand } from '../src/cli/commands/restore.js';
import { runCli } from './helpers/cli.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

describe('lifeboat CLI: help', () => {
  it('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `lifeboat ${version}\n`);
  });

  it('help <command> and <command> --help print that command with each option described and examples', async () => {
    const byHelp = await runCli(['help', 'restore']);
    const byFlag = await runCli(['restore', '--help']);
    assert.equal(byHelp.code, 0, byHelp.stderr);
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.equal(byHelp.stdout, `${commandHelp(restoreCommand)}\n`);
    assert.equal(byFlag.stdout, byHelp.stdout);
    assert.match(byHelp.stdout, /\n {2}--to <dir> +restore into a new local bare repository in this folder\n/);
    assert.match(byHelp.stdout, /\nExamples:\n {2}lifeboat restore latest --repo acme\/web --to web\.git/);
    const general = await runCli(['help']);
    assert.equal(general.code, 0);
    assert.match(general.stdout, /^lifeboat — [^]*`lifeboat help <command>`/);
  });

  it('a mistyped command or flag: one line, the nearest name, exit code 2', async () => {
    const command = await runCli(['snapshot']);
    assert.equal(command.code, 2);
    assert.equal(command.stderr, 'lifeboat: error [INVALID_ARGUMENT]: Unknown command "snapshot": did you mean "snapshots"? Run `lifeboat help` for the list.\n');
    const topic = await runCli(['help', 'restor']);
    assert.equal(topic.code, 2);
    assert.match(topic.stderr, /did you mean "restore"\?/);
    const flag = await runCli(['restore', 'latest', '--idenity', 'key.txt']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /^lifeboat: error \[INVALID_ARGUMENT\]: lifeboat restore has no option --idenity \(did you mean --identity\?\); `lifeboat help restore` describes its options\. Usage: lifeboat restore [^\n]+\n$/);
    // node:util parseArgs's own message ends in an unbalanced quote: `as in '-- "--idenity"`.
    assert.doesNotMatch(flag.stderr, /To specify a positional argument/);
  });
});
