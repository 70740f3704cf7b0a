/**
 * `lifeboat`: the recovery command line. It reads and writes the bucket directly
 * and needs neither Bitbucket nor the Forge app. Each command parses its flags and
 * calls one engine service; the command list below is the map.
 */
import { LifeboatError } from '../engine/errors.js';
import { type Command, closest, commandHelp, commonOptions, describeOptions, parseCommandLine } from './command.js';
import { attachCommand } from './commands/attach.js';
import { attachmentsCommand } from './commands/attachments.js';
import { backupCommand } from './commands/backup.js';
import { configCommand } from './commands/config.js';
import { downloadCommand } from './commands/download.js';
import { initCommand } from './commands/init.js';
import { keygenCommand } from './commands/keygen.js';
import { diffCommand, logCommand } from './commands/log.js';
import { lfsPushCommand } from './commands/lfs-push.js';
import { prCommand } from './commands/pr.js';
import { prsCommand } from './commands/prs.js';
import { pruneCommand } from './commands/prune.js';
import { reposCommand } from './commands/repos.js';
import { restoreCommand } from './commands/restore.js';
import { showCommand, snapshotsCommand } from './commands/snapshots.js';
import { verifyCommand } from './commands/verify.js';
import { GIT_CREDENTIALS } from './hints.js';
import { ExitCode, type Output, createOutput, reportError } from './output.js';
import { VERSION } from './version.js';

export const commands: Command[] = [
  keygenCommand,
  initCommand,
  backupCommand,
  reposCommand,
  snapshotsCommand,
  showCommand,
  logCommand,
  diffCommand,
  verifyCommand,
  restoreCommand,
  lfsPushCommand,
  downloadCommand,
  prsCommand,
  prCommand,
  configCommand,
  attachCommand,
  attachmentsCommand,
  pruneCommand,
];

export function helpText(): string {
  return [
    'lifeboat — back up git repositories into an S3 bucket and restore them, with or without Bitbucket.',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(11)} ${command.summary}`),
    '',
    'Usage:',
    ...commands.map((command) => `  ${command.usage}`),
    '',
    'Common options:',
    ...describeOptions(commonOptions),
    '',
    'S3 region and keys: the AWS SDK way (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_PROFILE, ...).',
    `Git credentials: ${GIT_CREDENTIALS}.`,
    'Exit codes: 0 ok, 1 failed, 2 bad usage, 3 verification found problems.',
    '`lifeboat help <command>` (or `lifeboat <command> --help`) describes each option of a command, with examples; `lifeboat --version` prints the version.',
  ].join('\n');
}

/** The command of that name; a name that is none is refused, with the nearest command when one is near. */
function commandNamed(name: string): Command {
  const command = commands.find((candidate) => candidate.name === name);
  if (command) return command;
  const guess = closest(name, commands.map((candidate) => candidate.name));
  throw new LifeboatError('INVALID_ARGUMENT', `Unknown command "${name}"${guess ? `: did you mean "${guess}"?` : '.'} Run \`lifeboat help\` for the list.`);
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version') {
    process.stdout.write(`lifeboat ${VERSION}\n`);
    return ExitCode.ok;
  }
  const [topic] = rest;
  if (name === undefined || ((name === 'help' || name === '--help' || name === '-h') && topic === undefined)) {
    process.stdout.write(`${helpText()}\n`);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  let output: Output | undefined;
  let debug = false;
  try {
    if (name === 'help') {
      process.stdout.write(`${commandHelp(commandNamed(topic!))}\n`);
      return ExitCode.ok;
    }
    const command = commandNamed(name);
    const parsed = parseCommandLine(command, rest, env);
    debug = parsed.values.debug === true;
    if (parsed.values.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return ExitCode.ok;
    }
    output = createOutput({ json: parsed.values.json === true, quiet: parsed.values.quiet === true });
    return await command.run(parsed, output);
  } catch (error) {
    return reportError(error, output, { debug });
  }
}
