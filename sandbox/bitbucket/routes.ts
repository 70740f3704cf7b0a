// The seam between the emulator's core (HTTP, auth, paging, git) and its
// resource modules (pull requests, settings…). A resource module
// exports `register(router: RouteRegistry)` and touches the world only
// through the RouteKit it is handed.
import type { ForgeProductEvent } from './events.js';
import type { EmulatorState, Repository, User, Workspace, Uuid } from './model.js';

/** Who is calling, resolved by the core from the Authorization header. */
export type Principal =
  | { kind: 'anonymous' }
  /** Atlassian API token: Basic email:token. */
  | { kind: 'api-token'; user: User }
  /** Repository / project / workspace access token: Bearer. */
  | { kind: 'access-token'; user: User; tokenKind: 'repository' | 'project' | 'workspace'; workspaceUuid: Uuid; repositoryUuid?: Uuid; projectKey?: string; scopes: string[] }
  /** Forge app identity (`requestBitbucket` asApp), or on behalf of a user (`asUser`). */
  | { kind: 'forge-app'; user?: User; scopes: string[] };

export interface RouteRequest {
  method: string;
  url: URL;
  /** Path parameters named as in the OpenAPI path template, e.g. workspace, repo_slug, pull_request_id. */
  params: Record<string, string>;
  principal: Principal;
  /** The body as JSON, undefined when empty; a body that is not JSON ends the request with a 400. */
  json(): Promise<unknown>;
}

export interface RouteResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface PageOptions {
  /** Largest pagelen a caller may ask for (Bitbucket: 100 in general, 50 for pull requests). */
  maxPagelen?: number;
  /** Above `maxPagelen`: refuse with 400 "Invalid pagelen" (pull requests and their activity) instead of lowering it. */
  refuseAboveMax?: boolean;
  defaultPagelen?: number;
}

/** What the core offers to resource modules. */
export interface RouteKit {
  state(): EmulatorState;
  /** Persist state after a change. */
  save(): Promise<void>;
  /** Next id in a named sequence, e.g. `pr:{repo-uuid}`. */
  nextId(sequence: string): number;
  now(): string;
  newUuid(): Uuid;
  /** The workspace named by slug or {uuid}; throws a 404 answer when absent or hidden from the caller. */
  workspace(request: RouteRequest): Workspace;
  /** The repository named by params workspace + repo_slug; 404/403 answers as Bitbucket gives them. */
  repository(request: RouteRequest, need: 'read' | 'write' | 'admin'): Repository;
  /** Per-repository data bucket for a resource module, created on first use. */
  repositoryData<T>(repository: Repository, resource: string, initial: () => T): T;
  /** A page of items: applies q= (BBQL subset) and sort= on the JSON items, then pagelen/page and builds next/previous. */
  paginate(request: RouteRequest, items: unknown[], options?: PageOptions): RouteResponse;
  /** Bitbucket's error body: {type:'error', error:{message, detail?}}. */
  error(status: number, message: string, detail?: string): RouteResponse;
  userJson(user: User): Record<string, unknown>;
  workspaceJson(workspace: Workspace): Record<string, unknown>;
  repositoryJson(repository: Repository): Record<string, unknown>;
  /** Absolute URL on the emulator for an API path (starting with /2.0/…) or a web path. */
  apiUrl(path: string): string;
  webUrl(path: string): string;
  userByUuid(uuid: Uuid): User | undefined;
  /** Sends a Forge product event to the app (delivered later, maybe more than once). */
  emit(event: ForgeProductEvent): void;
  /** The `actor` of an event caused by this request's caller (the app's own account for asApp calls). */
  eventActor(request: RouteRequest): { actor: ForgeProductEvent['actor']; selfGenerated: boolean };
  /** The repository's bare git directory, or null when it has none on disk. */
  gitDirectory(repository: Repository): string | null;
}

export type RouteHandler = (request: RouteRequest, kit: RouteKit) => Promise<RouteResponse> | RouteResponse;

export interface RouteRegistry {
  /** `path` is the OpenAPI template including the /2.0 base, e.g. /2.0/repositories/{workspace}/{repo_slug}/pullrequests. */
  add(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, handler: RouteHandler): void;
}

/** Thrown by kit helpers to end a request with an answer (404, 403…). */
export class RouteAnswer extends Error {
  constructor(readonly response: RouteResponse) {
    super(`HTTP ${response.status}`);
  }
}
