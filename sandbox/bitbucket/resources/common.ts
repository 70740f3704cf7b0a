// Helpers the core routes and the resource modules share: path parameters,
// request bodies (zod schemas), rendered text, links and user references, each
// failing the request the way Bitbucket does (400 for a bad body, 404 for an
// unknown id).
import { z } from 'zod';
import { DEMO_USERS, type DemoRole } from '../../demo.js';
import { actingUser, FORGE_APP_USER } from '../auth.js';
import type { Repository, User } from '../model.js';
import { RouteAnswer, type RouteKit, type RouteRequest } from '../routes.js';

export type Json = Record<string, unknown>;

/** Ends the request with Bitbucket's error body. */
export function fail(kit: RouteKit, status: number, message: string, detail?: string): never {
  throw new RouteAnswer(kit.error(status, message, detail));
}

/** A numeric path parameter (pull request, comment, task id…); anything else names nothing: 404. */
export function idParam(request: RouteRequest, kit: RouteKit, name: string): number {
  const raw = request.params[name] ?? '';
  if (!/^[0-9]{1,15}$/.test(raw)) fail(kit, 404, `No ${name.replace(/_/g, ' ')} ${raw}`);
  return Number(raw);
}

/** A `{uuid}` path parameter, which Bitbucket also takes without its braces. */
export function sameUuid(uuid: string, param: string): boolean {
  return uuid === param || uuid === `{${param}}`;
}

/** "a.b[0].c" for an issue's path; the body itself when the path is empty. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? String(key) : `${text}.${String(key)}`), '') || 'body';
}

/**
 * The JSON body of a write, checked against `schema`: 400 with Bitbucket's
 * error body naming each field that does not fit. Null stands for an absent
 * field where schemas say `nullish`, as Bitbucket reads it. An empty body is
 * `{}` when `optional`.
 */
export async function parseBody<S extends z.ZodType>(request: RouteRequest, kit: RouteKit, schema: S, options: { optional?: boolean } = {}): Promise<z.output<S>> {
  const body = await request.json();
  const result = schema.safeParse(body === undefined && options.optional ? {} : body, {
    error: (issue) => (issue.input === undefined ? 'This field is required.' : undefined),
  });
  if (!result.success) fail(kit, 400, 'Bad request', result.error.issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`).join('; '));
  return result.data;
}

/** Text that must not be blank (titles, comment bodies). */
export const nonBlank = z.string().refine((text) => text.trim() !== '', 'may not be blank');

/** A user as request bodies name one: `{uuid}`, `{account_id}` or `{nickname|username}` (other fields of a user object are ignored). */
export const userReference = z.object({ uuid: z.string().optional(), account_id: z.string().optional(), nickname: z.string().optional(), username: z.string().optional() });
export type UserReference = z.infer<typeof userReference>;

/** `{ id }` of another object (a parent comment, a task's comment). */
export const idReference = z.object({ id: z.number().int() });

/** User text as Bitbucket returns it: raw, markup, and an HTML rendering (plain paragraphs here: no markdown engine). */
export function rendered(raw: string, markup: 'markdown' | 'creole' | 'plaintext' = 'markdown'): Json {
  const html = raw === '' ? '' : raw.split(/\n{2,}/).map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('\n');
  return { raw, markup, html };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function link(href: string): { href: string } {
  return { href };
}

/** `{workspace-slug}/{repo-slug}`: the repository's part of API and web paths. */
export function fullName(kit: RouteKit, repository: Repository): string {
  const workspace = kit.state().workspaces.find((w) => w.uuid === repository.workspaceUuid);
  if (!workspace) throw new Error(`repository ${repository.uuid} names no workspace`);
  return `${workspace.slug}/${repository.slug}`;
}

/** API path of a repository sub-resource: `/2.0/repositories/{ws}/{slug}/{rest}`. */
export function repoApi(kit: RouteKit, repository: Repository, rest: string): string {
  return kit.apiUrl(`/2.0/repositories/${fullName(kit, repository)}/${rest}`);
}

/** Web page of a repository: `/{ws}/{slug}/{rest}`. */
export function repoWeb(kit: RouteKit, repository: Repository, rest = ''): string {
  return kit.webUrl(`/${fullName(kit, repository)}${rest === '' ? '' : `/${rest}`}`);
}

/** The user a write is attributed to (the app's own account for asApp calls); anonymous callers cannot write. */
export function actorOf(request: RouteRequest, kit: RouteKit): User {
  const user = actingUser(request.principal);
  if (!user) fail(kit, 401, 'Authentication required');
  return user;
}

/** The user a body's reference names, or undefined. */
export function findUser(kit: RouteKit, reference: UserReference): User | undefined {
  const users = kit.state().users;
  if (reference.uuid !== undefined) return users.find((u) => u.uuid === reference.uuid);
  if (reference.account_id !== undefined) return users.find((u) => u.accountId === reference.account_id);
  const nickname = reference.nickname ?? reference.username;
  return nickname === undefined ? undefined : users.find((u) => u.nickname === nickname);
}

/** A user named in a path: `{uuid}` (braces optional), an account id, or a nickname. */
export function findUserByPathId(kit: RouteKit, id: string): User | undefined {
  return kit.state().users.find((u) => sameUuid(u.uuid, id) || u.accountId === id || u.nickname === id);
}

/** The user with this UUID, the Forge app's own account included: it acts (asApp) without being one of the state's users. */
export function userByUuid(kit: RouteKit, uuid: string): User | undefined {
  return uuid === FORGE_APP_USER.uuid ? FORGE_APP_USER : kit.userByUuid(uuid);
}

/** The stored user's JSON, or null (Bitbucket's answer for a user that no longer exists or none at all). */
export function userOrNull(kit: RouteKit, uuid: string | null): Json | null {
  if (uuid === null) return null;
  const user = userByUuid(kit, uuid);
  return user ? kit.userJson(user) : null;
}

/** 201 with the new resource and its Location. */
export function created(body: Json, location: string): { status: number; body: Json; headers: Record<string, string> } {
  return { status: 201, body, headers: { Location: location } };
}

/** A demo user (sandbox/demo.ts) as the seeded state holds it. */
export function demoUser(kit: RouteKit, role: DemoRole): User {
  const user = kit.userByUuid(DEMO_USERS[role].uuid);
  if (!user) throw new Error(`seed: the demo user ${role} is missing`);
  return user;
}
