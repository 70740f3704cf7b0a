/**
 * A command declares its options once: flag type, what the option is (its help), and the
 * environment variables that stand in for a flag not given. parseCommandLine (node:util
 * parseArgs) is the one place that reads them, and `args.values` is typed from the
 * command's own declaration; commandHelp prints them.
 */
import { parseArgs } from 'node:util';
import { LifeboatError } from '../engine/errors.js';
import type { Output } from './output.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Read when the flag is not given, first one set (and not empty) wins; a boolean is true when set. */
  env?: readonly string[];
  /** false: only from the environment (a secret on a command line is visible to every user of the machine). */
  flag?: false;
  /** For the help text: the value's placeholder, and what the option is (every option says). */
  value?: string;
  help: string;
}

export type Options = Record<string, OptionSpec>;

type Value<O extends OptionSpec> = O extends { type: 'boolean' } ? boolean : O extends { multiple: true } ? string[] : string;
export type Values<O extends Options> = { -readonly [K in keyof O]?: Value<O[K]> };

export const commonOptions = {
  bucket: { type: 'string', env: ['LIFEBOAT_BUCKET'], value: 's3://<bucket>/<prefix>', help: 'the bucket and the folder in it that hold the backup' },
  endpoint: {
    type: 'string',
    env: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    value: '<url>',
    help: 'S3-compatible endpoint',
  },
  identity: { type: 'string', env: ['LIFEBOAT_IDENTITY'], value: '<file>', help: 'age identity file for encrypted snapshots' },
  trust: { type: 'string', multiple: true, env: ['LIFEBOAT_TRUST'], value: '<fingerprint>', help: 'trust snapshots signed by this key (repeatable; the variable comma or space separated)' },
  json: { type: 'boolean', help: 'results as JSON on stdout' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  help: { type: 'boolean', short: 'h', help: "this command's usage, options and examples" },
  debug: { type: 'boolean', env: ['LIFEBOAT_DEBUG'], flag: false, help: 'print the stack of an error that is a bug in Lifeboat' },
} as const satisfies Options;

/** Git credentials for the commands that talk to a git server (otherwise they come from the URL). */
export const gitOptions = {
  'git-username': { type: 'string', env: ['LIFEBOAT_GIT_USERNAME'], flag: false, help: 'the git user name (or in the URL; on Bitbucket x-token-auth for an access token)' },
  'git-password': { type: 'string', env: ['LIFEBOAT_GIT_PASSWORD'], flag: false, help: 'the git password or token (or in the URL)' },
} as const satisfies Options;

/** The repository a reading command looks in, found as context.ts resolveRepo says. */
export const repoOptions = {
  repo: { type: 'string', value: '<workspace>/<repo>', help: 'the repository: its path in the bucket, or any workspace/slug or workspace/name it had (`lifeboat repos` lists them)' },
} as const satisfies Options;

/** How a snapshot argument is read (context.ts openSnapshot), for the help of the commands that take one. */
export const SNAPSHOT_ARGUMENT = '<snapshot> is a snapshot id, a unique prefix of one (20261207T16) or latest (the newest, with --repo).';

export interface Args<O extends Options> {
  positionals: string[];
  values: Values<typeof commonOptions & O>;
}

export interface Command<O extends Options = Options> {
  name: string;
  usage: string;
  summary: string;
  options: O;
  /** Command lines to copy, at least one. */
  examples: readonly string[];
  run(args: Args<O>, output: Output): Promise<number>;
}

/** Keeps the literal option types, so that `run` sees its own flags typed. */
export function defineCommand<const O extends Options>(command: Command<O>): Command<O> {
  return command;
}

export function parseCommandLine<O extends Options>(command: Command<O>, argv: string[], env: NodeJS.ProcessEnv): Args<O> {
  const options: Options = { ...commonOptions, ...command.options };
  const flags = Object.fromEntries(Object.entries(options)
    .filter(([, option]) => option.flag !== false)
    .map(([name, { type, multiple, short }]) => [name, { type, ...(multiple ? { multiple } : {}), ...(short ? { short } : {}) }]));
  // Not strict: parseArgs's own messages quote unevenly and name no alternative; each option token is checked below instead.
  const parsed = parseArgs({ args: argv, options: flags, allowPositionals: true, strict: false, tokens: true });
  for (const token of parsed.tokens) {
    if (token.kind === 'option') checkOption(command, options, token);
  }
  const values: Record<string, unknown> = { ...parsed.values };
  for (const [name, option] of Object.entries(options)) {
    if (values[name] !== undefined) continue;
    const set = option.env?.map((variable) => env[variable]).find((value) => value !== undefined && value !== '');
    if (set !== undefined) values[name] = option.type === 'boolean' ? true : option.multiple ? [set] : set;
  }
  // checkOption held every flag to its declared type; the environment filled in strings and booleans alike.
  return { positionals: parsed.positionals, values: values as Args<O>['values'] };
}

/** A flag as given: one the command has, with a value where it takes one and none where it does not. */
function checkOption(command: Command, options: Options, token: { name: string; rawName: string; value?: string | undefined; inlineValue?: boolean | undefined }): void {
  const option = options[token.name];
  const usage = `\nUsage: ${command.usage}`;
  const more = `\`lifeboat help ${command.name}\` describes its options`;
  if (option?.flag === false) {
    throw new LifeboatError('INVALID_ARGUMENT', `${token.rawName} is not a flag: set ${option.env!.join(' or ')} (a secret on a command line is seen by every user of the machine).${usage}`);
  }
  if (!option) {
    const known = Object.entries(options).filter(([, spec]) => spec.flag !== false).map(([name]) => `--${name}`);
    const guess = token.rawName.startsWith('--') ? closest(token.rawName, known) : undefined;
    throw new LifeboatError('INVALID_ARGUMENT', `lifeboat ${command.name} has no option ${token.rawName}${guess ? ` (did you mean ${guess}?)` : ''}; ${more}.${usage}`);
  }
  const flag = `--${token.name}`;
  if (option.type === 'boolean' && token.value !== undefined) throw new LifeboatError('INVALID_ARGUMENT', `${flag} takes no value (given ${token.rawName}=${token.value}).${usage}`);
  if (option.type === 'string' && (token.value === undefined || (!token.inlineValue && token.value.startsWith('-')))) {
    // A value that starts with "-" would as likely be the next flag: it is given with "=".
    const example = `${flag} ${option.value ?? '<value>'}`;
    throw new LifeboatError('INVALID_ARGUMENT', `${flag} needs a value: ${example}${token.value === undefined ? '' : ` (a value starting with "-" goes as ${flag}=${token.value})`}.${usage}`);
  }
}

/**
 * The candidate `word` was most likely meant to be: the nearest by edit distance
 * (a letter added, left out, changed or two swapped), within a third of its length,
 * or one it begins (at least three letters). Undefined when none is near.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = candidate.startsWith(word) && word.replace(/^-+/, '').length >= 3 ? 0 : editDistance(word, candidate);
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The help lines of options: flag (or, for one only read from the environment, its variables), value, what it is; flags first. */
export function describeOptions(options: Options): string[] {
  const entries = Object.entries(options);
  return [...entries.filter(([, option]) => option.flag !== false), ...entries.filter(([, option]) => option.flag === false)].map(([name, option]) => {
    if (option.flag === false) return `  ${option.env!.join(' / ').padEnd(34)} ${option.help} (environment only)`;
    const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}${option.multiple ? '...' : ''}`;
    return `  ${flag.padEnd(34)} ${option.help}${option.env ? ` (or ${option.env.join(' / ')})` : ''}`;
  });
}

/** What `lifeboat help <command>` and `lifeboat <command> --help` print. */
export function commandHelp(command: Command): string {
  const options = describeOptions(command.options);
  return [
    command.summary,
    '',
    `Usage: ${command.usage}`,
    ...(command.usage.includes('<snapshot>') ? [SNAPSHOT_ARGUMENT] : []),
    '',
    ...(options.length > 0 ? ['Options:', ...options, ''] : []),
    'Common options:',
    ...describeOptions(commonOptions),
    '',
    `Example${command.examples.length > 1 ? 's' : ''}:`,
    ...command.examples.map((example) => `  ${example}`),
  ].join('\n');
}
