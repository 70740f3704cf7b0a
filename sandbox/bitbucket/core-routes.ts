/**
 * The core REST routes: users, workspaces and their permissions, repositories
 * (list, read, create, update, delete) and their branches and tags, and the
 * 410s of the cross-workspace endpoints Bitbucket removed. A repository's
 * permissions-config belongs to the settings module.
 *
 * Each route is the OpenAPI spec operation of the same method and path (its
 * summary named beside it); the statuses are those its response list gives,
 * unless a comment says otherwise.
 *
 * Visibility: a repository the caller may not read answers 404 (not 403) so
 * that its existence does not leak; anonymous callers get 401 for private things
 * instead, with WWW-Authenticate. Not documented: assumed (the spec's "Get a
 * repository" lists 403 "If the repository is private and the authenticated
 * user does not have access to it").
 */
import { z } from 'zod';
import { FORGE_APP_USER, actingUser, atLeast, humanUser, isWorkspaceAdmin, repositoryPermission, userRepositoryPermission, workspaceRole } from './auth.js';
import type { RepositoryChanges } from './events.js';
import type { RefInfo } from './git.js';
import type { EmulatorState, Repository, RepositoryPermission, User, Workspace } from './model.js';
import { fail, findUserByPathId, nonBlank, parseBody } from './resources/common.js';
import type { Principal, RouteKit, RouteRegistry, RouteRequest, RouteResponse } from './routes.js';
import type { Serializer } from './serialize.js';

export interface CoreServices {
  serializer: Serializer;
  /** Creates the bare repository of a new repository. */
  createStorage(repository: Repository): Promise<void>;
  /** Removes a repository's git data. */
  deleteStorage(repository: Repository): Promise<void>;
  /** Points HEAD at the main branch. */
  updateStorage(repository: Repository): Promise<void>;
  listRefs(repository: Repository, kind: 'branch' | 'tag'): Promise<RefInfo[]>;
}

function requireCaller(request: RouteRequest, kit: RouteKit): Exclude<Principal, { kind: 'anonymous' }> {
  if (request.principal.kind === 'anonymous') fail(kit, 401, 'Authentication required');
  return request.principal;
}

/** The account whose own permissions a /user/... endpoint reports: a person, or an access token's bot. */
function subjectOf(principal: Principal): User | undefined {
  return principal.kind === 'access-token' ? principal.user : humanUser(principal);
}

function findWorkspace(state: EmulatorState, id: string): Workspace | undefined {
  return state.workspaces.find((workspace) => workspace.slug === id.toLowerCase() || workspace.uuid === id);
}

function usersOf(state: EmulatorState, workspace: Workspace): Array<{ user: User; permission: Workspace['members'][number]['permission'] }> {
  return workspace.members.flatMap((member) => {
    const user = state.users.find((candidate) => candidate.uuid === member.userUuid);
    return user ? [{ user, permission: member.permission }] : [];
  });
}

/** Everyone with some level on `repository` (members, owners, explicit grants) and that level. */
function permissionsOn(state: EmulatorState, repository: Repository): Array<{ user: User; permission: RepositoryPermission }> {
  const workspace = state.workspaces.find((candidate) => candidate.uuid === repository.workspaceUuid);
  const uuids = new Set([...(workspace?.members.map((member) => member.userUuid) ?? []), ...repository.permissions.map((entry) => entry.userUuid)]);
  return [...uuids].flatMap((uuid) => {
    const user = state.users.find((candidate) => candidate.uuid === uuid);
    const permission = user && userRepositoryPermission(state, user, repository);
    return user && permission ? [{ user, permission }] : [];
  });
}

/**
 * Repository slugs, from Bitbucket Cloud's "What is a repository slug?": at most 62 of
 * letters, digits, "_", "-", "."; may start with "_" or "."; a "-" neither first, last nor
 * doubled unless the slug is all dashes. Lower-case: not documented: assumed (Bitbucket's refusal says so).
 */
const isSlug = (slug: string): boolean => /^[a-z0-9._-]{1,62}$/.test(slug) && (/^-+$/.test(slug) || !/^-|-$|--/.test(slug));

/**
 * The writable fields of a repository. `has_issues` and `has_wiki` are not
 * among them any more: Bitbucket removed both features on 2026-08-20.
 */
const repositoryBody = z.object({
  scm: z.literal('git', 'only git repositories exist on Bitbucket').nullish(),
  name: nonBlank.nullish(),
  description: z.string().nullish(),
  is_private: z.boolean().nullish(),
  language: z.string().nullish(),
  fork_policy: z.enum(['allow_forks', 'no_public_forks', 'no_forks']).nullish(),
  mainbranch: z.object({ name: z.string() }).nullish(),
  project: z.object({ key: z.string() }).nullish(),
});

/** Applies a repository body; a project that does not exist is a 400, and nothing changes. */
function applyRepositoryBody(kit: RouteKit, workspace: Workspace, repository: Repository, body: z.infer<typeof repositoryBody>): void {
  const projectKey = body.project?.key;
  if (projectKey !== undefined && !kit.state().projects.some((project) => project.workspaceUuid === workspace.uuid && project.key === projectKey)) {
    fail(kit, 400, 'Bad request', `project: no project ${projectKey} in ${workspace.slug}`);
  }
  repository.name = body.name ?? repository.name;
  repository.description = body.description ?? repository.description;
  repository.isPrivate = body.is_private ?? repository.isPrivate;
  repository.language = body.language ?? repository.language;
  repository.forkPolicy = body.fork_policy ?? repository.forkPolicy;
  repository.mainBranch = body.mainbranch?.name ?? repository.mainBranch;
  repository.projectKey = projectKey ?? repository.projectKey;
}

/** Whether the caller may create repositories in `workspace` (who may: not documented: assumed, as workspace members may in Bitbucket's UI). */
function canCreate(principal: Principal, workspace: Workspace): boolean {
  if (principal.kind === 'forge-app' && !principal.user) return true;
  if (principal.kind === 'access-token') return principal.tokenKind === 'workspace' && principal.workspaceUuid === workspace.uuid;
  const user = humanUser(principal);
  const role = user && workspaceRole(workspace, user.uuid);
  return role === 'owner' || role === 'member';
}

/**
 * Repository events as the reference's examples have them: repository-created.json
 * names the repository with its slug, repository-deleted.json and
 * repository-updated.json by UUID only; an update says what changed.
 */
function repositoryEvent(kit: RouteKit, request: RouteRequest, repository: Repository, event: { eventType: 'avi:bitbucket:created:repository' | 'avi:bitbucket:deleted:repository' } | { eventType: 'avi:bitbucket:updated:repository'; changes: RepositoryChanges }): void {
  const project = kit.state().projects.find((candidate) => candidate.workspaceUuid === repository.workspaceUuid && candidate.key === repository.projectKey);
  kit.emit({
    ...event,
    ...kit.eventActor(request),
    workspace: { uuid: repository.workspaceUuid },
    repository: event.eventType === 'avi:bitbucket:created:repository' ? { uuid: repository.uuid, slug: repository.slug } : { uuid: repository.uuid },
    project: { uuid: project?.uuid ?? '' },
    timestamp: kit.now(),
  });
}

/**
 * `changes` of an update: `description` as repository-updated.json shows it;
 * not documented: assumed that a new name is given the same way, and that other
 * fields are not reported.
 */
function repositoryChanges(before: Pick<Repository, 'name' | 'description'>, after: Repository): RepositoryChanges {
  const changes: RepositoryChanges = {};
  for (const field of ['name', 'description'] as const) {
    if (before[field] !== after[field]) changes[field] = { old: { value: before[field], truncated: false }, new: { value: after[field], truncated: false } };
  }
  return changes;
}

/**
 * Cross-workspace endpoints Bitbucket removed in April 2026 (changelog
 * CHANGE-2770): they answer 410, naming what to call instead.
 */
const REMOVED_CROSS_WORKSPACE: ReadonlyArray<[path: string, instead: string]> = [
  ['/2.0/repositories', '/2.0/repositories/{workspace}'],
  ['/2.0/workspaces', '/2.0/user/workspaces'],
  ['/2.0/user/permissions/workspaces', '/2.0/user/workspaces/{workspace}/permission'],
  ['/2.0/user/permissions/repositories', '/2.0/user/workspaces/{workspace}/permissions/repositories'],
];

export function registerCoreRoutes(registry: RouteRegistry, services: CoreServices): void {
  const json = services.serializer;
  const ok = (body: unknown): RouteResponse => ({ status: 200, body });

  for (const [path, instead] of REMOVED_CROSS_WORKSPACE) {
    registry.add('GET', path, (_request, kit) => kit.error(410, 'This API is no longer available.', `${path} was removed with the other cross-workspace APIs (CHANGE-2770): use ${instead}.`));
  }

  // --- users ---
  // "Get current user": 401 without a credential.
  registry.add('GET', '/2.0/user', (request, kit) => {
    const principal = requireCaller(request, kit);
    const user = actingUser(principal) ?? FORGE_APP_USER;
    return ok(kit.userJson(user));
  });

  registry.add('GET', '/2.0/users/{selected_user}', (request, kit) => {
    const user = findUserByPathId(kit, request.params.selected_user ?? '');
    if (!user) fail(kit, 404, `User ${request.params.selected_user} not found`);
    return ok(kit.userJson(user));
  });

  // --- workspaces ---
  const memberWorkspaces = (state: EmulatorState, principal: Principal): Array<{ workspace: Workspace; role?: Workspace['members'][number]['permission'] }> => {
    if (principal.kind === 'forge-app' && !principal.user) return state.workspaces.map((workspace) => ({ workspace }));
    if (principal.kind === 'access-token') return state.workspaces.filter((workspace) => workspace.uuid === principal.workspaceUuid).map((workspace) => ({ workspace }));
    const user = humanUser(principal);
    if (!user) return [];
    return state.workspaces.flatMap((workspace) => {
      const role = workspaceRole(workspace, user.uuid);
      return role ? [{ workspace, role }] : [];
    });
  };

  // "List workspaces for the current user": `administrator` filters on the caller's admin permission (the spec's parameter).
  registry.add('GET', '/2.0/user/workspaces', (request, kit) => {
    const principal = requireCaller(request, kit);
    const administrator = request.url.searchParams.get('administrator');
    const items = memberWorkspaces(kit.state(), principal)
      .map((entry) => ({ type: 'workspace_access', administrator: entry.role === 'owner', workspace: json.workspaceBaseJson(entry.workspace) }))
      .filter((item) => administrator === null || String(item.administrator) === administrator);
    return kit.paginate(request, items);
  });

  registry.add('GET', '/2.0/workspaces/{workspace}', (request, kit) => ok(kit.workspaceJson(kit.workspace(request))));

  registry.add('GET', '/2.0/workspaces/{workspace}/members', (request, kit) => {
    const workspace = kit.workspace(request);
    return kit.paginate(request, usersOf(kit.state(), workspace).map(({ user }) => json.membershipJson(workspace, user)));
  });

  registry.add('GET', '/2.0/workspaces/{workspace}/members/{member}', (request, kit) => {
    const workspace = kit.workspace(request);
    const user = findUserByPathId(kit, request.params.member ?? '');
    if (!user || !workspaceRole(workspace, user.uuid)) fail(kit, 404, `${request.params.member} is not a member of ${workspace.slug}`);
    return ok(json.membershipJson(workspace, user));
  });

  registry.add('GET', '/2.0/workspaces/{workspace}/permissions', (request, kit) => {
    const workspace = kit.workspace(request);
    return kit.paginate(request, usersOf(kit.state(), workspace).map(({ user, permission }) => json.membershipJson(workspace, user, permission)));
  });

  const workspaceRepositoryPermissions = (request: RouteRequest, kit: RouteKit, slug?: string): RouteResponse => {
    const workspace = kit.workspace(request);
    // 403 "The requesting user isn't an admin of the workspace" ("List all repository permissions for a workspace").
    if (!isWorkspaceAdmin(request.principal, workspace)) fail(kit, 403, 'Only workspace administrators can list repository permissions.');
    const state = kit.state();
    const repositories = state.repositories.filter((repository) => repository.workspaceUuid === workspace.uuid && (slug === undefined || repository.slug === slug));
    if (slug !== undefined && repositories.length === 0) fail(kit, 404, `Repository ${workspace.slug}/${slug} not found`);
    const items = repositories.flatMap((repository) => permissionsOn(state, repository).map(({ user, permission }) => json.repositoryPermissionJson(repository, user, permission)));
    return kit.paginate(request, items);
  };
  registry.add('GET', '/2.0/workspaces/{workspace}/permissions/repositories', (request, kit) => workspaceRepositoryPermissions(request, kit));
  registry.add('GET', '/2.0/workspaces/{workspace}/permissions/repositories/{repo_slug}', (request, kit) => workspaceRepositoryPermissions(request, kit, request.params.repo_slug));

  registry.add('GET', '/2.0/workspaces/{workspace}/projects', (request, kit) => {
    const workspace = kit.workspace(request);
    return kit.paginate(request, kit.state().projects.filter((project) => project.workspaceUuid === workspace.uuid).map((project) => json.projectJson(project)));
  });

  registry.add('GET', '/2.0/workspaces/{workspace}/projects/{project_key}', (request, kit) => {
    const workspace = kit.workspace(request);
    const project = kit.state().projects.find((candidate) => candidate.workspaceUuid === workspace.uuid && candidate.key === request.params.project_key);
    if (!project) fail(kit, 404, `Project ${request.params.project_key} not found`);
    return ok(json.projectJson(project));
  });

  // --- the caller's own permissions, per workspace ("Get user permission on a workspace", "List repository permissions in a workspace for a user": 403 without access) ---
  registry.add('GET', '/2.0/user/workspaces/{workspace}/permission', (request, kit) => {
    const user = subjectOf(requireCaller(request, kit));
    const workspace = findWorkspace(kit.state(), request.params.workspace ?? '');
    const role = user && workspace && workspaceRole(workspace, user.uuid);
    if (!user || !workspace || !role) fail(kit, 403, 'The requesting user does not have access to the workspace.');
    return ok(json.membershipJson(workspace, user, role));
  });

  registry.add('GET', '/2.0/user/workspaces/{workspace}/permissions/repositories', (request, kit) => {
    const user = subjectOf(requireCaller(request, kit));
    const state = kit.state();
    const workspace = findWorkspace(state, request.params.workspace ?? '');
    if (!workspace) fail(kit, 404, `No workspace with identifier '${request.params.workspace}'.`);
    const items = user ? state.repositories
      .filter((repository) => repository.workspaceUuid === workspace.uuid)
      .flatMap((repository) => {
        const permission = userRepositoryPermission(state, user, repository);
        return permission ? [json.repositoryPermissionJson(repository, user, permission)] : [];
      }) : [];
    return kit.paginate(request, items);
  });

  // --- repositories ---
  registry.add('GET', '/2.0/repositories/{workspace}', (request, kit) => {
    const workspace = kit.workspace(request);
    const role = request.url.searchParams.get('role');
    // The spec's `role` parameter: member (read), contributor (write), admin; owner as admin (not documented: assumed).
    const needs: Record<string, RepositoryPermission> = { member: 'read', contributor: 'write', admin: 'admin', owner: 'admin' };
    // An unknown role: not documented: assumed a 400.
    if (role !== null && !needs[role]) fail(kit, 400, `Invalid role: ${role}`);
    const state = kit.state();
    const repositories = state.repositories.filter((repository) => {
      if (repository.workspaceUuid !== workspace.uuid) return false;
      const permission = repositoryPermission(state, request.principal, repository);
      return role === null ? permission !== undefined : atLeast(permission, needs[role] ?? 'read');
    });
    return kit.paginate(request, repositories.map((repository) => kit.repositoryJson(repository)));
  });

  registry.add('GET', '/2.0/repositories/{workspace}/{repo_slug}', (request, kit) => ok(kit.repositoryJson(kit.repository(request, 'read'))));

  const create = async (request: RouteRequest, kit: RouteKit, status: number): Promise<RouteResponse> => {
    const principal = requireCaller(request, kit);
    const workspace = kit.workspace(request);
    // The spec's "Create a repository" answers 400 "if the caller lacks the privilege to create repositories"; 403 here: not documented: assumed.
    if (!canCreate(principal, workspace)) fail(kit, 403, `You do not have permission to create repositories in ${workspace.slug}.`);
    const slug = request.params.repo_slug ?? '';
    if (!isSlug(slug)) fail(kit, 400, 'Bad request', `Invalid repository slug "${slug}": use lowercase letters, digits, "-", "_" and ".".`);
    const state = kit.state();
    if (state.repositories.some((repository) => repository.workspaceUuid === workspace.uuid && repository.slug === slug)) {
      fail(kit, 400, 'Repository with this Slug and Owner already exists.');
    }
    const body = await parseBody(request, kit, repositoryBody, { optional: true });
    // "If the project is not provided, the repository is automatically assigned to the oldest project in the workspace."
    const defaultProject = state.projects.find((project) => project.workspaceUuid === workspace.uuid);
    if (!defaultProject && !body.project) fail(kit, 400, 'Bad request', `project: ${workspace.slug} has no project to put the repository in`);
    const now = kit.now();
    const creator = humanUser(principal);
    // Defaults of a new repository (private, forks allowed, main branch `main`): not documented: assumed.
    const repository: Repository = {
      uuid: kit.newUuid(),
      workspaceUuid: workspace.uuid,
      slug,
      name: slug,
      description: '',
      isPrivate: true,
      createdOn: now,
      updatedOn: now,
      language: '',
      mainBranch: 'main',
      forkPolicy: 'allow_forks',
      projectKey: defaultProject?.key ?? '',
      // The creator administers what they create, whatever their workspace role.
      permissions: creator && workspaceRole(workspace, creator.uuid) !== 'owner' ? [{ userUuid: creator.uuid, permission: 'admin' }] : [],
    };
    applyRepositoryBody(kit, workspace, repository, body);
    await services.createStorage(repository);
    state.repositories.push(repository);
    await kit.save();
    repositoryEvent(kit, request, repository, { eventType: 'avi:bitbucket:created:repository' });
    return { status, body: kit.repositoryJson(repository) };
  };

  // "Create a repository": 200 with the new repository.
  registry.add('POST', '/2.0/repositories/{workspace}/{repo_slug}', (request, kit) => create(request, kit, 200));

  // "Update a repository": 200 updated, 201 "A new repository has been created".
  registry.add('PUT', '/2.0/repositories/{workspace}/{repo_slug}', async (request, kit) => {
    const workspace = kit.workspace(request);
    const exists = kit.state().repositories.some((repository) => repository.workspaceUuid === workspace.uuid && (repository.slug === request.params.repo_slug || repository.uuid === request.params.repo_slug));
    if (!exists) return create(request, kit, 201);
    const repository = kit.repository(request, 'admin');
    const before = { name: repository.name, description: repository.description };
    applyRepositoryBody(kit, workspace, repository, await parseBody(request, kit, repositoryBody, { optional: true }));
    repository.updatedOn = kit.now();
    await services.updateStorage(repository);
    await kit.save();
    repositoryEvent(kit, request, repository, { eventType: 'avi:bitbucket:updated:repository', changes: repositoryChanges(before, repository) });
    return ok(kit.repositoryJson(repository));
  });

  // "Delete a repository": 204; 403 without admin access.
  registry.add('DELETE', '/2.0/repositories/{workspace}/{repo_slug}', async (request, kit) => {
    const repository = kit.repository(request, 'admin');
    const state = kit.state();
    state.repositories = state.repositories.filter((candidate) => candidate.uuid !== repository.uuid);
    delete state.repositoryData[repository.uuid];
    await kit.save();
    await services.deleteStorage(repository);
    repositoryEvent(kit, request, repository, { eventType: 'avi:bitbucket:deleted:repository' });
    return { status: 204 };
  });

  // --- branches and tags ("List branches and tags", "List open branches", "List tags", "Get a branch", "Get a tag": 404 for an unknown name) ---
  const refs = async (request: RouteRequest, kit: RouteKit, kinds: Array<'branch' | 'tag'>): Promise<RouteResponse> => {
    const repository = kit.repository(request, 'read');
    const found = (await Promise.all(kinds.map((kind) => services.listRefs(repository, kind)))).flat();
    return kit.paginate(request, found.map((ref) => json.refJson(repository, ref)));
  };
  const oneRef = async (request: RouteRequest, kit: RouteKit, kind: 'branch' | 'tag'): Promise<RouteResponse> => {
    const repository = kit.repository(request, 'read');
    const name = request.params.name ?? '';
    const ref = (await services.listRefs(repository, kind)).find((candidate) => candidate.name === name);
    if (!ref) fail(kit, 404, `${kind === 'branch' ? 'Branch' : 'Tag'} "${name}" not found`);
    return ok(json.refJson(repository, ref));
  };
  registry.add('GET', '/2.0/repositories/{workspace}/{repo_slug}/refs', (request, kit) => refs(request, kit, ['branch', 'tag']));
  registry.add('GET', '/2.0/repositories/{workspace}/{repo_slug}/refs/branches', (request, kit) => refs(request, kit, ['branch']));
  registry.add('GET', '/2.0/repositories/{workspace}/{repo_slug}/refs/tags', (request, kit) => refs(request, kit, ['tag']));
  registry.add('GET', '/2.0/repositories/{workspace}/{repo_slug}/refs/branches/{name}', (request, kit) => oneRef(request, kit, 'branch'));
  registry.add('GET', '/2.0/repositories/{workspace}/{repo_slug}/refs/tags/{name}', (request, kit) => oneRef(request, kit, 'tag'));
}
