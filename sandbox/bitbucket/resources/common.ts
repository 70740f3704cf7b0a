// Small helpers the resource modules share: path parameters, request bodies,
// rendered text, links and user references, each failing the request the way
// Bitbucket does (400 for a bad body, 404 for an unknown id).
import { DEMO_USERS, type DemoRole } from '../../demo.js';
import { actingUser, FORGE_APP_USER } from '../auth.js';
import type { Repository, User } from '../model.js';
import { RouteAnswer, type RouteKit, type RouteRequest } from '../routes.js';

export type Json = Record<string, unknown>;

/** Ends the request with Bitbucket's error body. */
export function fail(kit: RouteKit, status: number, message: string, detail?: string): never {
  throw new RouteAnswer(kit.error(status, message, detail));
}

/** A numeric path parameter (pull request, issue, comment id…); anything else names nothing: 404. */
export function idParam(request: RouteRequest, kit: RouteKit, name: string): number {
  const raw = request.params[name] ?? '';
  if (!/^[0-9]{1,15}$/.test(raw)) fail(kit, 404, `No ${name.replace(/_/g, ' ')} ${raw}`);
  return Number(raw);
}

/** The JSON object a write sends; an empty body is `{}` when `optional`. */
export async function objectBody(request: RouteRequest, kit: RouteKit, optional = false): Promise<Json> {
  const text = (await request.bytes()).toString('utf8').trim();
  if (text === '' && optional) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    fail(kit, 400, 'Bad request', 'The request body is not valid JSON.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail(kit, 400, 'Bad request', 'The request body must be a JSON object.');
  return body as Json;
}

/** `body[key]` as an object, or undefined when absent; 400 when it is something else. */
export function objectField(kit: RouteKit, body: Json, key: string): Json | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) fail(kit, 400, 'Bad request', `${key}: expected an object`);
  return value as Json;
}

/** `body[key]` as a string, or undefined when absent; 400 when it is something else. */
export function stringField(kit: RouteKit, body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(kit, 400, 'Bad request', `${key}: expected a string`);
  return value;
}

/** `body[key]` as a boolean, or undefined when absent; 400 when it is something else. */
export function booleanField(kit: RouteKit, body: Json, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') fail(kit, 400, 'Bad request', `${key}: expected true or false`);
  return value;
}

/** `body.content.raw` (or another rendered field's raw text), or undefined when absent. */
export function rawText(kit: RouteKit, body: Json, key = 'content'): string | undefined {
  const content = objectField(kit, body, key);
  return content === undefined ? undefined : stringField(kit, content, 'raw');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** User text as Bitbucket returns it: raw, markup, and an HTML rendering (plain paragraphs here: no markdown engine). */
export function rendered(raw: string, markup: 'markdown' | 'creole' | 'plaintext' = 'markdown'): Json {
  const html = raw === '' ? '' : raw.split(/\n{2,}/).map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('\n');
  return { raw, markup, html };
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

/** A user named the ways Bitbucket accepts in request bodies: `{uuid}`, `{account_id}` or `{nickname|username}`. */
export function findUser(kit: RouteKit, reference: unknown): User | undefined {
  if (reference === null || typeof reference !== 'object') return undefined;
  const ref = reference as Json;
  const users = kit.state().users;
  if (typeof ref.uuid === 'string') return users.find((u) => u.uuid === ref.uuid);
  if (typeof ref.account_id === 'string') return users.find((u) => u.accountId === ref.account_id);
  const nickname = typeof ref.nickname === 'string' ? ref.nickname : typeof ref.username === 'string' ? ref.username : undefined;
  return nickname === undefined ? undefined : users.find((u) => u.nickname === nickname);
}

/** A user named in a path: `{uuid}`, an account id, or a nickname. */
export function findUserByPathId(kit: RouteKit, id: string): User | undefined {
  return kit.state().users.find((u) => u.uuid === id || u.accountId === id || u.nickname === id);
}

/** The stored user's JSON, or null (Bitbucket's answer for a user that no longer exists or none at all). */
export function userOrNull(kit: RouteKit, uuid: string | null): Json | null {
  if (uuid === null) return null;
  // The Forge app's own account acts (asApp) without being one of the state's users.
  const user = uuid === FORGE_APP_USER.uuid ? FORGE_APP_USER : kit.userByUuid(uuid);
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
