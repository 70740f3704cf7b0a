/**
 * A command declares its options once: flag type, and the environment variables that
 * stand in for a flag not given. parseCommandLine (node:util parseArgs) is the one place
 * that reads them, and `args.values` is typed from the command's own declaration.
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
  /** For the help text: the value's placeholder and what the option is. */
  value?: string;
  help?: string;
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
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean', env: ['LIFEBOAT_DEBUG'], flag: false },
} as const satisfies Options;

/** Git credentials for the commands that talk to a git server (otherwise they come from the URL). */
export const gitOptions = {
  'git-username': { type: 'string', env: ['LIFEBOAT_GIT_USERNAME'], flag: false },
  'git-password': { type: 'string', env: ['LIFEBOAT_GIT_PASSWORD'], flag: false },
} as const satisfies Options;

export interface Args<O extends Options> {
  positionals: string[];
  values: Values<typeof commonOptions & O>;
}

export interface Command<O extends Options = Options> {
  name: string;
  usage: string;
  summary: string;
  options: O;
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
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: flags, allowPositionals: true, strict: true });
  } catch (error) {
    throw new LifeboatError('INVALID_ARGUMENT', `${(error as Error).message}\nUsage: ${command.usage}`);
  }
  const values: Record<string, unknown> = { ...parsed.values };
  for (const [name, option] of Object.entries(options)) {
    if (values[name] !== undefined) continue;
    const set = option.env?.map((variable) => env[variable]).find((value) => value !== undefined && value !== '');
    if (set !== undefined) values[name] = option.type === 'boolean' ? true : option.multiple ? [set] : set;
  }
  // parseArgs checked every flag against its declared type; the environment filled in strings and booleans alike.
  return { positionals: parsed.positionals, values: values as Args<O>['values'] };
}

/** The help lines of options: flag, value, what it is, and the variables that stand in for it. */
export function describeOptions(options: Options): string[] {
  return Object.entries(options).filter(([, option]) => option.help !== undefined).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`;
    return `  ${flag.padEnd(34)} ${option.help}${option.env ? ` (or ${option.env.join(' / ')})` : ''}`;
  });
}
