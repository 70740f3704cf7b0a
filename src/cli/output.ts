/**
 * The CLI's edge: results to stdout (text, or --json with a stable shape),
 * progress and diagnostics to stderr, error codes turned into words and an exit code.
 */
import type { UnreadableManifest } from '../engine/bucket/catalog.js';
import { type LifeboatError, toLifeboatError } from '../engine/errors.js';
import { cliHint } from './hints.js';

export const ExitCode = { ok: 0, failed: 1, usage: 2, verifyFailed: 3 } as const;

export interface Output {
  json: boolean;
  /** A result: printed as text, or as JSON when --json was given. */
  result(value: unknown, text: () => string): void;
  /**
   * The progress line on stderr when it is a terminal (README), redrawn in place at most ten times a
   * second (`always`: drawn now, a step worth seeing); nothing otherwise: a log or a pipe gets results and errors only.
   */
  progress(line: string, always?: boolean): void;
  /** Ends a redrawn progress line. */
  done(): void;
  warn(line: string): void;
}

export function createOutput(options: { json: boolean; quiet: boolean; stdout?: NodeJS.WritableStream; stderr?: NodeJS.WriteStream | NodeJS.WritableStream }): Output {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const tty = 'isTTY' in stderr && stderr.isTTY === true;
  let drawn = false;
  let lastDraw = 0;
  return {
    json: options.json,
    result(value, text) {
      stdout.write(options.json ? `${jsonText(value)}\n` : `${visible(text())}\n`);
    },
    progress(line, always = false) {
      if (options.quiet || !tty) return;
      const now = Date.now();
      if (!always && now - lastDraw < 100) return; // at most ten redraws a second
      lastDraw = now;
      const width = ('columns' in stderr && stderr.columns) || 100;
      stderr.write(`\r\x1b[2K${visible(line, 'one line').slice(0, width - 1)}`);
      drawn = true;
    },
    done() {
      if (drawn) stderr.write('\n');
      drawn = false;
    },
    warn(line) {
      if (drawn) stderr.write('\n');
      drawn = false;
      stderr.write(`${visible(line)}\n`);
    },
  };
}

/**
 * Characters a terminal acts on instead of showing: C0 (escape sequences, a carriage
 * return drawing over a line), DEL, C1 (an 8-bit CSI or OSC, e.g. OSC 52 writing the
 * clipboard) and the bidi controls that reorder what follows (U+061C, U+200E/F,
 * U+202A–U+202E, U+2066–U+2069), plus the line and paragraph separators. The line
 * feed and the tab stay in running text; `one line` (a table cell, a title) shows them too.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HIDDEN_IN_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text read from a bucket (or sent by a server), as a terminal should print it: every
 * character of HIDDEN written as an escape (`\x1b`, `\u202e`), so it is seen, never obeyed.
 * Every text the CLI prints passes here (Output); a cell or a one-line field also with `one line`.
 */
export function visible(text: string, form?: 'one line'): string {
  return text.replace(form === 'one line' ? HIDDEN_IN_LINE : HIDDEN, (char) => {
    const code = char.charCodeAt(0);
    return NAMED[char] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** A field printed within one line (a title, a name, a table cell): its line breaks shown too. */
export const inLine = (text: string): string => visible(text, 'one line');

/** JSON escapes C0 itself; C1, DEL and the bidi controls become \u escapes too (the same value once parsed). */
function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * One error, as the user reads it: one line on stderr, `lifeboat: error [CODE]: message — hint`
 * (the hint, from hints.ts, only when there is one); with --json also `{ error: { code, kind,
 * message, details?, hint? } }` on stdout.
 */
export function reportError(error: unknown, output: Output | undefined, options: { debug: boolean; stderr?: NodeJS.WritableStream }): number {
  const stderr = options.stderr ?? process.stderr;
  const failure: LifeboatError = toLifeboatError(error);
  const hint = cliHint(failure);
  output?.done();
  if (output?.json) process.stdout.write(`${jsonText({ error: { ...failure.toJSON(), ...(hint ? { hint } : {}) } })}\n`);
  stderr.write(`${visible(oneLine(`lifeboat: error [${failure.code}]: ${failure.message}${hint ? ` — ${hint}` : ''}`), 'one line')}\n`);
  if (failure.kind === 'bug' && options.debug && failure.cause instanceof Error) stderr.write(`${failure.cause.stack}\n`);
  return failure.code === 'INVALID_ARGUMENT' ? ExitCode.usage : ExitCode.failed;
}

/** Errors are one line (README): messages from libraries and usage text may hold line breaks. */
function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Lines after a listing: the manifests it could not read, each with its reason. */
export function describeUnreadable(unreadable: readonly UnreadableManifest[]): string[] {
  if (unreadable.length === 0) return [];
  return [
    `${unreadable.length} snapshot manifest${unreadable.length === 1 ? '' : 's'} could not be read and ${unreadable.length === 1 ? 'is' : 'are'} left out (\`lifeboat verify --all\` counts ${unreadable.length === 1 ? 'it' : 'them'} as problems):`,
    ...unreadable.map((problem) => `  [${problem.code}] ${inLine(problem.message)}`),
  ];
}
