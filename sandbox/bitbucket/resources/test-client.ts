// For the resource modules' tests: a seeded emulator (the core's test support)
// and a client that calls it as the demo identities, checks every answer
// against the OpenAPI spec, and leaves redirects to the test.
import assert from 'node:assert/strict';
import { DEMO_WORKSPACE, type DemoRole } from '../../demo.js';
import { validateResponse, type Emulator, type ForgeProductEvent } from '../index.js';
import { apiTokenAuth, startTestEmulator, WORKSPACE_TOKEN_AUTH, type TestEmulator } from '../test-support.js';

export type Caller = DemoRole | 'workspaceToken' | 'forgeApp' | 'anonymous';

export interface Answer {
  status: number;
  headers: Headers;
  /** Parsed JSON when the answer is JSON. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read answers loosely, the spec check is the contract
  bytes: Buffer;
}

export interface CallOptions {
  as?: Caller;
  body?: unknown;
  form?: FormData;
  /** The OpenAPI template (with /2.0) to validate the answer against; default: the path. */
  template?: string;
  /** Skip the spec check (binary answers). */
  unchecked?: boolean;
}

export interface TestWorld {
  emulator: TestEmulator;
  events: ForgeProductEvent[];
  /** `/2.0/repositories/lifeboat-demo/<slug>` */
  repo(slug: string): string;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  /** Follows `next` links and returns every value. */
  all(path: string, options?: CallOptions): Promise<any[]>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

export function authorization(emulator: Emulator, caller: Caller): string | undefined {
  switch (caller) {
    case 'anonymous':
      return undefined;
    case 'workspaceToken':
      return WORKSPACE_TOKEN_AUTH;
    case 'forgeApp':
      return emulator.forgeAppAuthorization();
    default:
      return apiTokenAuth(caller);
  }
}

export async function startWorld(): Promise<TestWorld> {
  const events: ForgeProductEvent[] = [];
  const warnings: string[] = [];
  const emulator = await startTestEmulator({ onEvent: (event) => void events.push(event), log: (line) => void warnings.push(line) });
  // Every route a resource module registers must be an operation of the spec.
  assert.deepEqual(warnings.filter((line) => line.includes('not an operation of the OpenAPI spec')), []);

  const call = async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
    const headers: Record<string, string> = {};
    const auth = authorization(emulator, options.as ?? 'admin');
    if (auth !== undefined) headers.Authorization = auth;
    let body: FormData | string | undefined;
    if (options.form) body = options.form;
    else if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const url = path.startsWith('http') ? path : `${emulator.url}${path}`;
    const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), redirect: 'manual' });
    const bytes = Buffer.from(await response.arrayBuffer());
    const json = (response.headers.get('content-type') ?? '').startsWith('application/json') && bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : undefined;
    if (!options.unchecked) {
      const problems = validateResponse(method, options.template ?? new URL(url).pathname, response.status, json);
      assert.deepEqual(problems, [], `${method} ${path} → ${response.status} does not match the spec`);
    }
    return { status: response.status, headers: response.headers, body: json, bytes };
  };

  return {
    emulator,
    events,
    repo: (slug) => `/2.0/repositories/${DEMO_WORKSPACE.slug}/${slug}`,
    call,
    async all(path, options = {}) {
      const values = [];
      let next: string | undefined = path;
      while (next !== undefined) {
        const page: Answer = await call('GET', next, options);
        assert.equal(page.status, 200, `GET ${next}: ${JSON.stringify(page.body)}`);
        values.push(...page.body.values);
        next = page.body.next;
      }
      return values;
    },
    close: () => emulator.dispose(),
  };
}
