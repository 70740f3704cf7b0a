/**
 * Atlassian's OpenAPI description of Bitbucket REST 2.0, as the emulator's
 * reference: which credentials and scopes an operation accepts, and whether an
 * answer has the documented shape.
 *
 * The validator is hand-written rather than ajv (not a dependency): the file is
 * Swagger 2.0, whose `discriminator` and nullable-by-habit fields JSON Schema
 * validators do not model, and Atlassian's copy is not perfectly valid. So it is
 * lenient on purpose: `$ref` and `allOf` are followed, `type`, `required`,
 * `enum`, `pattern` and the formats date-time and uri are checked, `null` is
 * accepted anywhere (Bitbucket sends it for absent values), additionalProperties
 * and unknown formats are ignored, and a broken schema is skipped, never fatal.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Atlassian's published spec (Swagger 2.0, copied 2026-08-15), kept in the
 * repository so a clean clone checks against the same document;
 * LIFEBOAT_BITBUCKET_OPENAPI overrides it with a newer copy.
 */
const DEFAULT_SPEC_PATH = fileURLToPath(new URL('./spec/bitbucket-openapi.json', import.meta.url));

const BASE_PATH = '/2.0';
const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;

type Json = Record<string, unknown>;

interface SpecDocument {
  paths: Record<string, Record<string, Json>>;
  definitions: Record<string, Json>;
}

export interface SpecOperation {
  method: string;
  /** The path template with the /2.0 base, e.g. /2.0/repositories/{workspace}. */
  template: string;
  /** x-atlassian-auth-types: 'forge-oauth2', 'api-token'. */
  authTypes: string[];
  /** x-atlassian-oauth2-scopes: the Forge (granular) scopes, all required. */
  forgeScopes: string[];
  /** The classic OAuth scopes of `security`, which access tokens are checked against. */
  tokenScopes: string[];
  deprecated: boolean;
  responses: Record<string, Json>;
}

interface Loaded {
  document: SpecDocument;
  operations: Map<string, SpecOperation>;
  /** Templates as matchers, most specific first. */
  matchers: TemplateMatcher[];
}

let loaded: Loaded | undefined;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function load(): Loaded {
  if (loaded) return loaded;
  const path = process.env.LIFEBOAT_BITBUCKET_OPENAPI ?? DEFAULT_SPEC_PATH;
  const document = JSON.parse(readFileSync(path, 'utf8')) as SpecDocument;
  const operations = new Map<string, SpecOperation>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const template = `${BASE_PATH}${path}`;
      const forgeScopes = (Array.isArray(operation['x-atlassian-oauth2-scopes']) ? operation['x-atlassian-oauth2-scopes'] as Json[] : [])
        .flatMap((entry) => strings(entry.scopes));
      const tokenScopes = (Array.isArray(operation.security) ? operation.security as Json[] : []).flatMap((entry) => strings(entry.oauth2));
      operations.set(`${method.toUpperCase()} ${template}`, {
        method: method.toUpperCase(),
        template,
        authTypes: strings(operation['x-atlassian-auth-types']),
        forgeScopes: [...new Set(forgeScopes)],
        tokenScopes: [...new Set(tokenScopes)],
        deprecated: operation.deprecated === true,
        responses: (operation.responses ?? {}) as Record<string, Json>,
      });
    }
  }
  const matchers = Object.keys(document.paths).map((path) => compileTemplate(`${BASE_PATH}${path}`));
  matchers.sort(compareSpecificity);
  loaded = { document, operations, matchers };
  return loaded;
}

/** One segment of a path template: a literal, or a pattern with parameters (`{id}`, `{repo}-issues-{task}.zip`). */
interface SegmentMatcher {
  literal?: string;
  pattern?: RegExp;
  names: string[];
  /** 0 literal, 1 parameters within literal text, 2 a whole-segment parameter: lower is more specific. */
  rank: number;
}

/** A path template compiled for matching concrete paths. */
export interface TemplateMatcher {
  template: string;
  segments: SegmentMatcher[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compileTemplate(template: string): TemplateMatcher {
  const segments = template.split('/').map((segment): SegmentMatcher => {
    if (!segment.includes('{')) return { literal: segment, names: [], rank: 0 };
    const names: string[] = [];
    const source = segment.split(/(\{[^}]+\})/).map((part) => {
      const name = /^\{(.+)\}$/.exec(part)?.[1];
      if (name === undefined) return escapeRegExp(part);
      names.push(name);
      return '([^/]+?)';
    }).join('');
    return { pattern: new RegExp(`^${source}$`), names, rank: /^\{[^}]+\}$/.test(segment) ? 2 : 1 };
  });
  return { template, segments };
}

/** Literal segments win over parameters, leftmost first: /issues/export before /issues/{issue_id}. */
export function compareSpecificity(a: TemplateMatcher, b: TemplateMatcher): number {
  for (let index = 0; index < Math.min(a.segments.length, b.segments.length); index++) {
    const order = (a.segments[index]?.rank ?? 0) - (b.segments[index]?.rank ?? 0);
    if (order !== 0) return order;
  }
  return 0;
}

/** The parameters of `path` under `matcher` (decoded), or undefined when it does not match. */
export function matchPath(matcher: TemplateMatcher, path: string): Record<string, string> | undefined {
  const parts = path.split('/');
  if (parts.length !== matcher.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < parts.length; index++) {
    const segment = matcher.segments[index];
    const part = parts[index] ?? '';
    if (!segment) return undefined;
    if (segment.literal !== undefined) {
      if (part !== segment.literal) return undefined;
      continue;
    }
    const found = segment.pattern?.exec(part);
    if (!found) return undefined;
    try {
      segment.names.forEach((name, at) => { params[name] = decodeURIComponent(found[at + 1] ?? ''); });
    } catch {
      return undefined; // a malformed %-escape
    }
  }
  return params;
}

/** The template that a concrete path (with or without /2.0) falls under, and its parameters. */
export function matchTemplate(path: string): { template: string; params: Record<string, string> } | undefined {
  const full = path.startsWith(`${BASE_PATH}/`) ? path : `${BASE_PATH}${path}`;
  for (const matcher of load().matchers) {
    const params = matchPath(matcher, full);
    if (params) return { template: matcher.template, params };
  }
  return undefined;
}

/** The operation for a method and a template (or concrete path), with or without the /2.0 base. */
export function findOperation(method: string, path: string): SpecOperation | undefined {
  const { operations } = load();
  const full = path.startsWith(`${BASE_PATH}/`) ? path : `${BASE_PATH}${path}`;
  const exact = operations.get(`${method.toUpperCase()} ${full}`);
  if (exact) return exact;
  const matched = matchTemplate(full);
  return matched ? operations.get(`${method.toUpperCase()} ${matched.template}`) : undefined;
}

/** A definition by name, e.g. 'repository' (for tests that check a fragment). */
export function definition(name: string): Json | undefined {
  return load().document.definitions[name];
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function refName(ref: string): string | undefined {
  return ref.startsWith('#/definitions/') ? ref.slice('#/definitions/'.length) : undefined;
}

class Validator {
  readonly problems: string[] = [];

  constructor(private readonly definitions: Record<string, Json>) {}

  /** Whether definition `name` is `base` or extends it through allOf (for Swagger's discriminator). */
  private extendsDefinition(name: string, base: string, depth = 0): boolean {
    if (name === base) return true;
    if (depth > 8) return false;
    const allOf = this.definitions[name]?.allOf;
    if (!Array.isArray(allOf)) return false;
    return allOf.some((part) => {
      const ref = typeof (part as Json).$ref === 'string' ? refName((part as Json).$ref as string) : undefined;
      return ref !== undefined && this.extendsDefinition(ref, base, depth + 1);
    });
  }

  /** `refs` holds the definitions already entered for this same value, so that cyclic schemas end. */
  check(schema: unknown, value: unknown, at: string, refs: ReadonlySet<string> = new Set()): void {
    if (typeof schema !== 'object' || schema === null) return;
    const node = schema as Json;
    if (typeof node.$ref === 'string') {
      let name = refName(node.$ref);
      if (name === undefined || refs.has(name)) return;
      // Swagger's discriminator: an `account` whose type says "user" is checked as a user.
      const discriminated = typeof value === 'object' && value !== null ? (value as Json).type : undefined;
      if (typeof discriminated === 'string' && !refs.has(discriminated) && this.definitions[discriminated] && this.extendsDefinition(discriminated, name)) {
        name = discriminated;
      }
      const target = this.definitions[name];
      if (target) this.check(target, value, at, new Set([...refs, name]));
      return;
    }
    if (Array.isArray(node.allOf)) for (const part of node.allOf) this.check(part, value, at, refs);
    if (value === null || value === undefined) return;

    const type = typeof node.type === 'string' ? node.type : undefined;
    const actual = typeOf(value);
    if (type !== undefined && type !== actual && !(type === 'number' && actual === 'integer')) {
      this.problems.push(`${at}: expected ${type}, got ${actual}`);
      return;
    }
    if (Array.isArray(node.enum) && !node.enum.includes(value)) {
      this.problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(node.enum)}`);
    }
    if (typeof value === 'string') this.checkString(node, value, at);
    if (actual === 'object') this.checkObject(node, value as Json, at);
    if (Array.isArray(value) && node.items !== undefined) {
      value.forEach((item, index) => this.check(node.items, item, `${at}[${index}]`));
    }
  }

  private checkString(node: Json, value: string, at: string): void {
    if (node.format === 'date-time' && !DATE_TIME.test(value)) this.problems.push(`${at}: "${value}" is not a date-time`);
    if (node.format === 'uri' && !URL.canParse(value)) this.problems.push(`${at}: "${value}" is not an absolute URI`);
    if (typeof node.pattern === 'string') {
      let pattern: RegExp | undefined;
      try {
        pattern = new RegExp(node.pattern, 'u');
      } catch {
        pattern = undefined; // a pattern JavaScript cannot read is the spec's problem, not the answer's
      }
      if (pattern && !pattern.test(value)) this.problems.push(`${at}: "${value}" does not match ${node.pattern}`);
    }
  }

  private checkObject(node: Json, value: Json, at: string): void {
    for (const name of strings(node.required)) {
      if (value[name] === undefined) this.problems.push(`${at}: required property "${name}" is missing`);
    }
    if (typeof node.properties === 'object' && node.properties !== null) {
      for (const [name, property] of Object.entries(node.properties as Json)) {
        if (value[name] !== undefined) this.check(property, value[name], `${at}.${name}`);
      }
    }
  }
}

/** Problems of `value` against a schema (a definition name or a schema object); empty when it conforms. */
export function validateSchema(schema: string | Json, value: unknown, at = '$'): string[] {
  const { document } = load();
  const validator = new Validator(document.definitions);
  try {
    validator.check(typeof schema === 'string' ? { $ref: `#/definitions/${schema}` } : schema, value, at);
  } catch (error) {
    // A schema shaped in a way the checker did not foresee is skipped, not fatal.
    return [...validator.problems, `(validation stopped: ${String(error)})`];
  }
  return validator.problems;
}

/**
 * Problems of a response body against the spec's response for `method` and
 * `path` (a template or a concrete path, with or without /2.0). An unknown
 * operation or an undocumented success status is a problem; an undocumented
 * error status is checked against Bitbucket's `error` definition.
 */
export function validateResponse(method: string, path: string, status: number, body: unknown): string[] {
  const operation = findOperation(method, path);
  if (!operation) return [`no operation ${method.toUpperCase()} ${path} in the spec`];
  const response = operation.responses[String(status)] ?? operation.responses.default;
  if (!response) {
    if (status < 400) return [`${method.toUpperCase()} ${operation.template}: status ${status} is not documented`];
    return validateSchema('error', body);
  }
  if (response.schema === undefined) return [];
  return validateSchema(response.schema as Json, body);
}

/** Every Forge scope some operation asks for: what an app granted "everything" holds. */
export function allForgeScopes(): string[] {
  return [...new Set([...load().operations.values()].flatMap((operation) => operation.forgeScopes))].sort();
}
