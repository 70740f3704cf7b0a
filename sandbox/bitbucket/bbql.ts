/**
 * The subset of Bitbucket's query language (BBQL, `q=`) and `sort=` that
 * clients use, evaluated on the JSON items of a collection, as the spec's
 * narrative "Filter and sort API objects" (/cloud/bitbucket/rest/intro/#filtering)
 * documents it:
 *
 *   field op value    op: = != ~ !~ > >= < <=   (~ is case-insensitive "contains")
 *   a and b, a or b, ( … )
 *   values: "strings" (double quotes), numbers, true, false, null, and unquoted
 *   ISO-8601 date times like 2026-11-01 or 2026-11-01T00:00:00Z, in UTC unless
 *   they carry an offset
 *
 * `IN` / `NOT IN` lists are documented too but not emulated (no client here uses
 * them). Fields are dotted paths (project.key); a path that crosses an array
 * matches when any element matches ("Fields that contain embedded instances ...
 * can be traversed recursively"; any-element: not documented, assumed). Dates
 * compare as instants.
 */

export class BbqlError extends Error {}

type Literal = { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'boolean'; value: boolean } | { kind: 'null' } | { kind: 'date'; value: string; time: number };

type Operator = '=' | '!=' | '~' | '!~' | '>' | '>=' | '<' | '<=';

type Node =
  | { kind: 'compare'; field: string; op: Operator; literal: Literal }
  | { kind: 'and' | 'or'; left: Node; right: Node };

type Token = { kind: 'open' | 'close' } | { kind: 'op'; op: Operator } | { kind: 'string'; value: string } | { kind: 'word'; value: string };

const OPERATORS: Operator[] = ['!=', '!~', '>=', '<=', '=', '~', '>', '<'];
/** "an unquoted ISO-8601 date time string with the timezone offset, milliseconds and entire time component being optional" (the spec's data types). */
const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** A date time as Bitbucket answers it (`created_on`, `updated_on`): what a field of type date-time holds. */
const DATE_TIME_VALUE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Microseconds since the epoch ("Date time strings are assumed to be in UTC, unless an explicit timezone offset
 * is provided"): Bitbucket's own times carry microseconds, which Date.parse would round away.
 */
function instant(text: string): number {
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  const whole = text.replace(/\.\d+/, '');
  const withTime = whole.includes('T') ? whole : `${whole}T00:00:00`;
  const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(withTime) ? withTime : `${withTime}Z`);
  return ms * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < query.length) {
    const char = query[at] ?? '';
    if (/\s/.test(char)) {
      at++;
    } else if (char === '(' || char === ')') {
      tokens.push({ kind: char === '(' ? 'open' : 'close' });
      at++;
    } else if (char === '"') {
      // "String: any text inside double quotes" (the spec's data types); single quotes are not documented.
      let value = '';
      at++;
      while (at < query.length && query[at] !== char) {
        if (query[at] === '\\' && at + 1 < query.length) at++;
        value += query[at];
        at++;
      }
      if (at >= query.length) throw new BbqlError(`unterminated string starting at ${JSON.stringify(value)}`);
      at++;
      tokens.push({ kind: 'string', value });
    } else {
      const op = OPERATORS.find((candidate) => query.startsWith(candidate, at));
      if (op) {
        tokens.push({ kind: 'op', op });
        at += op.length;
      } else {
        const word = /^[^\s()=!~<>"']+/.exec(query.slice(at))?.[0];
        if (!word) throw new BbqlError(`unexpected character ${JSON.stringify(char)} at ${at}`);
        tokens.push({ kind: 'word', value: word });
        at += word.length;
      }
    }
  }
  return tokens;
}

class Parser {
  private at = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.or();
    if (this.at < this.tokens.length) throw new BbqlError(`unexpected ${this.describe(this.tokens[this.at])}`);
    return node;
  }

  private keyword(word: 'and' | 'or'): boolean {
    const token = this.tokens[this.at];
    if (token?.kind === 'word' && token.value.toLowerCase() === word) {
      this.at++;
      return true;
    }
    return false;
  }

  private or(): Node {
    let node = this.and();
    while (this.keyword('or')) node = { kind: 'or', left: node, right: this.and() };
    return node;
  }

  private and(): Node {
    let node = this.factor();
    while (this.keyword('and')) node = { kind: 'and', left: node, right: this.factor() };
    return node;
  }

  private factor(): Node {
    const token = this.tokens[this.at++];
    if (token?.kind === 'open') {
      const node = this.or();
      if (this.tokens[this.at++]?.kind !== 'close') throw new BbqlError('missing )');
      return node;
    }
    if (token?.kind !== 'word' || !/^[A-Za-z_][\w.]*$/.test(token.value)) throw new BbqlError(`expected a field name, got ${this.describe(token)}`);
    const op = this.tokens[this.at++];
    if (op?.kind !== 'op') throw new BbqlError(`expected an operator after ${token.value}, got ${this.describe(op)}`);
    return { kind: 'compare', field: token.value, op: op.op, literal: this.literal() };
  }

  private literal(): Literal {
    const token = this.tokens[this.at++];
    if (token?.kind === 'string') return { kind: 'string', value: token.value };
    if (token?.kind !== 'word') throw new BbqlError(`expected a value, got ${this.describe(token)}`);
    const word = token.value;
    if (word === 'true' || word === 'false') return { kind: 'boolean', value: word === 'true' };
    if (word === 'null') return { kind: 'null' };
    if (DATE.test(word)) {
      const time = instant(word);
      if (Number.isNaN(time)) throw new BbqlError(`invalid date ${word}`);
      return { kind: 'date', value: word, time };
    }
    if (/^-?\d+(\.\d+)?$/.test(word)) return { kind: 'number', value: Number(word) };
    throw new BbqlError(`invalid value ${word} (strings need quotes)`);
  }

  private describe(token: Token | undefined): string {
    if (!token) return 'end of query';
    switch (token.kind) {
      case 'open': return '(';
      case 'close': return ')';
      case 'op': return token.op;
      default: return JSON.stringify(token.value);
    }
  }
}

/** Every value at a dotted path; arrays along the way contribute each element. */
export function valuesAt(item: unknown, path: string): unknown[] {
  let current: unknown[] = [item];
  for (const key of path.split('.')) {
    const next: unknown[] = [];
    for (const value of current) {
      for (const element of Array.isArray(value) ? value : [value]) {
        if (typeof element === 'object' && element !== null && key in element) next.push((element as Record<string, unknown>)[key]);
      }
    }
    current = next.flatMap((value) => (Array.isArray(value) ? value : [value]));
  }
  return current;
}

/** Permission levels order by power, not spelling: `permission>"read"` means write or admin (as the spec's `priority >= "major"` example orders an enum; for permissions: assumed). */
const PERMISSION_ORDER = ['none', 'read', 'write', 'admin'];

function compareValue(value: unknown, literal: Literal, field: string): number | undefined {
  if (literal.kind === 'string' && typeof value === 'string' && /(^|\.)permission$/.test(field)) {
    const left = PERMISSION_ORDER.indexOf(value);
    const right = PERMISSION_ORDER.indexOf(literal.value);
    if (left >= 0 && right >= 0) return Math.sign(left - right);
  }
  switch (literal.kind) {
    case 'date': {
      const time = typeof value === 'string' ? instant(value) : Number.NaN;
      return Number.isNaN(time) ? undefined : Math.sign(time - literal.time);
    }
    case 'number':
      return typeof value === 'number' ? Math.sign(value - literal.value) : undefined;
    case 'string':
      // A quoted value is a string; the spec writes date times unquoted and does not say what a string against a
      // date-time field does (not documented: refused here, so that no client comes to depend on it).
      if (typeof value === 'string' && DATE_TIME_VALUE.test(value)) throw new BbqlError(`${field} is a date time: write ${JSON.stringify(literal.value)} unquoted`);
      if (typeof value === 'string') return value < literal.value ? -1 : value > literal.value ? 1 : 0;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value) === literal.value ? 0 : undefined;
      return undefined;
    case 'boolean':
      return value === literal.value ? 0 : undefined;
    case 'null':
      return value === null || value === undefined ? 0 : undefined;
  }
}

function evaluate(node: Node, item: unknown): boolean {
  if (node.kind !== 'compare') return node.kind === 'and' ? evaluate(node.left, item) && evaluate(node.right, item) : evaluate(node.left, item) || evaluate(node.right, item);
  const found = valuesAt(item, node.field);
  const values = found.length === 0 ? [null] : found;
  const { literal } = node;
  const contains = (value: unknown): boolean => {
    const needle = literal.kind === 'string' || literal.kind === 'date' ? literal.value : literal.kind === 'number' || literal.kind === 'boolean' ? String(literal.value) : '';
    return typeof value === 'string' && value.toLowerCase().includes(needle.toLowerCase());
  };
  switch (node.op) {
    case '=': return values.some((value) => compareValue(value, literal, node.field) === 0);
    case '!=': return !values.some((value) => compareValue(value, literal, node.field) === 0);
    case '~': return values.some(contains);
    case '!~': return !values.some(contains);
    case '>': return values.some((value) => (compareValue(value, literal, node.field) ?? 0) > 0);
    case '>=': return values.some((value) => { const order = compareValue(value, literal, node.field); return order !== undefined && order >= 0; });
    case '<': return values.some((value) => (compareValue(value, literal, node.field) ?? 0) < 0);
    case '<=': return values.some((value) => { const order = compareValue(value, literal, node.field); return order !== undefined && order <= 0; });
  }
}

/** A predicate for a `q=` query; throws BbqlError on a query it cannot read. */
export function parseBbql(query: string): (item: unknown) => boolean {
  const tokens = tokenize(query);
  if (tokens.length === 0) throw new BbqlError('empty query');
  const tree = new Parser(tokens).parse();
  return (item) => evaluate(tree, item);
}

function sortKey(item: unknown, path: string): unknown {
  return valuesAt(item, path)[0];
}

function order(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const left = String(a);
  const right = String(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * Items ordered by `sort=field` or `sort=-field` (descending): one field, ascending unless prefixed with a hyphen (the
 * spec's "Sorting query results"). Items without the field go last (not documented: assumed). A new array.
 */
export function sortItems<T>(items: readonly T[], sort: string): T[] {
  const descending = sort.startsWith('-');
  const path = sort.replace(/^[-+]/, '').trim();
  if (!/^[A-Za-z_][\w.]*$/.test(path)) throw new BbqlError(`invalid sort field ${JSON.stringify(sort)}`);
  return [...items].sort((x, y) => {
    const a = sortKey(x, path);
    const b = sortKey(y, path);
    const aMissing = a === undefined || a === null;
    const bMissing = b === undefined || b === null;
    if (aMissing || bMissing) return Number(aMissing) - Number(bMissing);
    return descending ? order(b, a) : order(a, b);
  });
}
