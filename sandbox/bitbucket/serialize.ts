/**
 * The JSON shapes of Bitbucket's REST answers (the OpenAPI definitions
 * `user`, `workspace`, `repository`, `project`, `workspace_membership`,
 * `repository_permission`, `branch`, `tag`, `error`), built from the state with
 * absolute links on the emulator. Values the state does not hold (avatars,
 * `website`, `is_privacy_enforced`, `override_settings`, merge strategies) are
 * plausible constants: not documented, assumed. rest.test.ts checks answers
 * against their definitions (spec.ts validateResponse).
 */
import type { RefInfo } from './git.js';
import type { EmulatorState, Project, Repository, RepositoryPermission, User, Workspace, WorkspacePermission } from './model.js';
import type { RouteResponse } from './routes.js';

type Json = Record<string, unknown>;

/** Bitbucket's error answer: `{type:'error', error:{message, detail?}}` (the spec's `error` definition). */
export function errorResponse(status: number, message: string, detail?: string): RouteResponse {
  return { status, body: { type: 'error', error: { message, ...(detail === undefined ? {} : { detail }) } } };
}

export interface SerializerContext {
  state(): EmulatorState;
  /** The emulator's base URL, http://127.0.0.1:port. */
  origin(): string;
  /** On-disk size of a repository's git data in bytes. */
  repositorySize(repository: Repository): number;
}

const link = (href: string): { href: string } => ({ href });

export class Serializer {
  constructor(private readonly context: SerializerContext) {}

  apiUrl(path: string): string {
    return `${this.context.origin()}${path.startsWith('/') ? path : `/${path}`}`;
  }

  webUrl(path: string): string {
    return `${this.context.origin()}/${path.replace(/^\/+/, '')}`;
  }

  private avatar(seed: string): { href: string } {
    return link(this.webUrl(`avatars/${encodeURIComponent(seed)}.png`));
  }

  userJson(user: User): Json {
    const id = encodeURIComponent(user.uuid);
    return {
      type: 'user',
      uuid: user.uuid,
      account_id: user.accountId,
      nickname: user.nickname,
      display_name: user.displayName,
      created_on: user.createdOn,
      account_status: 'active',
      is_staff: false,
      links: { self: link(this.apiUrl(`/2.0/users/${id}`)), html: link(this.webUrl(`${id}/`)), avatar: this.avatar(user.nickname) },
    };
  }

  workspaceJson(workspace: Workspace): Json {
    const api = (path: string): { href: string } => link(this.apiUrl(`/2.0/workspaces/${workspace.slug}${path}`));
    return {
      type: 'workspace',
      uuid: workspace.uuid,
      name: workspace.name,
      slug: workspace.slug,
      is_private: workspace.isPrivate,
      is_privacy_enforced: false,
      forking_mode: 'allow_forks',
      created_on: workspace.createdOn,
      updated_on: workspace.createdOn,
      links: {
        self: api(''),
        html: link(this.webUrl(`${workspace.slug}/`)),
        avatar: this.avatar(workspace.slug),
        members: api('/members'),
        owners: link(this.apiUrl(`/2.0/workspaces/${workspace.slug}/permissions?q=${encodeURIComponent('permission="owner"')}`)),
        projects: api('/projects'),
        repositories: link(this.apiUrl(`/2.0/repositories/${workspace.slug}`)),
        snippets: link(this.apiUrl(`/2.0/snippets/${workspace.slug}`)),
      },
    };
  }

  /** The short workspace form inside other objects (`workspace_base`). */
  workspaceBaseJson(workspace: Workspace): Json {
    return {
      type: 'workspace_base',
      uuid: workspace.uuid,
      slug: workspace.slug,
      name: workspace.name,
      links: { self: link(this.apiUrl(`/2.0/workspaces/${workspace.slug}`)), avatar: this.avatar(workspace.slug) },
    };
  }

  /** A workspace as a repository's or project's owner: a `team` account (the spec's `account` discriminator; that workspaces still answer as `team` is not documented: assumed). */
  teamJson(workspace: Workspace): Json {
    return {
      type: 'team',
      uuid: workspace.uuid,
      username: workspace.slug,
      display_name: workspace.name,
      links: { self: link(this.apiUrl(`/2.0/workspaces/${encodeURIComponent(workspace.uuid)}`)), html: link(this.webUrl(`${encodeURIComponent(workspace.uuid)}/`)), avatar: this.avatar(workspace.slug) },
    };
  }

  private workspaceOf(uuid: string): Workspace {
    const workspace = this.context.state().workspaces.find((candidate) => candidate.uuid === uuid);
    if (!workspace) throw new Error(`state: no workspace ${uuid}`);
    return workspace;
  }

  projectJson(project: Project): Json {
    const workspace = this.workspaceOf(project.workspaceUuid);
    const repositories = this.context.state().repositories.filter((repository) => repository.workspaceUuid === workspace.uuid && repository.projectKey === project.key);
    return {
      type: 'project',
      uuid: project.uuid,
      key: project.key,
      name: project.name,
      description: '',
      is_private: true,
      has_publicly_visible_repos: repositories.some((repository) => !repository.isPrivate),
      owner: this.teamJson(workspace),
      workspace: this.workspaceBaseJson(workspace),
      links: {
        self: link(this.apiUrl(`/2.0/workspaces/${workspace.slug}/projects/${project.key}`)),
        html: link(this.webUrl(`${workspace.slug}/workspace/projects/${project.key}`)),
        avatar: this.avatar(`${workspace.slug}-${project.key}`),
      },
    };
  }

  repositoryJson(repository: Repository): Json {
    const workspace = this.workspaceOf(repository.workspaceUuid);
    const project = this.context.state().projects.find((candidate) => candidate.workspaceUuid === workspace.uuid && candidate.key === repository.projectKey);
    const fullName = `${workspace.slug}/${repository.slug}`;
    const api = (path: string): { href: string } => link(this.apiUrl(`/2.0/repositories/${fullName}${path}`));
    return {
      type: 'repository',
      uuid: repository.uuid,
      full_name: fullName,
      name: repository.name,
      slug: repository.slug,
      description: repository.description,
      scm: 'git',
      website: null,
      is_private: repository.isPrivate,
      owner: this.teamJson(workspace),
      workspace: { type: 'workspace', uuid: workspace.uuid, slug: workspace.slug, name: workspace.name, links: { self: link(this.apiUrl(`/2.0/workspaces/${workspace.slug}`)), html: link(this.webUrl(`${workspace.slug}/`)), avatar: this.avatar(workspace.slug) } },
      ...(project ? { project: { type: 'project', uuid: project.uuid, key: project.key, name: project.name, links: { self: link(this.apiUrl(`/2.0/workspaces/${workspace.slug}/projects/${project.key}`)), html: link(this.webUrl(`${workspace.slug}/workspace/projects/${project.key}`)), avatar: this.avatar(`${workspace.slug}-${project.key}`) } } } : {}),
      created_on: repository.createdOn,
      updated_on: repository.updatedOn,
      size: this.context.repositorySize(repository),
      language: repository.language,
      // Bitbucket removed Issues and Wikis on 2026-08-20: no repository has either.
      has_issues: false,
      has_wiki: false,
      fork_policy: repository.forkPolicy,
      mainbranch: { type: 'branch', name: repository.mainBranch },
      override_settings: { default_merge_strategy: false, branching_model: false },
      links: {
        self: api(''),
        html: link(this.webUrl(fullName)),
        avatar: this.avatar(fullName),
        pullrequests: api('/pullrequests'),
        commits: api('/commits'),
        forks: api('/forks'),
        watchers: api('/watchers'),
        branches: api('/refs/branches'),
        tags: api('/refs/tags'),
        downloads: api('/downloads'),
        source: api('/src'),
        hooks: api('/hooks'),
        // https only: the emulator serves no ssh (the spec's `links.clone` lists both on Bitbucket).
        clone: [{ name: 'https', href: this.webUrl(`${fullName}.git`) }],
      },
    };
  }

  /** The short repository form inside permission objects. */
  repositorySummaryJson(repository: Repository): Json {
    const workspace = this.workspaceOf(repository.workspaceUuid);
    const fullName = `${workspace.slug}/${repository.slug}`;
    return {
      type: 'repository',
      uuid: repository.uuid,
      name: repository.name,
      full_name: fullName,
      links: { self: link(this.apiUrl(`/2.0/repositories/${fullName}`)), html: link(this.webUrl(fullName)), avatar: this.avatar(fullName) },
    };
  }

  membershipJson(workspace: Workspace, user: User, permission?: WorkspacePermission): Json {
    return {
      type: 'workspace_membership',
      ...(permission === undefined ? {} : { permission }),
      user: this.userJson(user),
      workspace: this.workspaceJson(workspace),
      links: { self: link(this.apiUrl(`/2.0/workspaces/${workspace.slug}/members/${encodeURIComponent(user.uuid)}`)) },
    };
  }

  repositoryPermissionJson(repository: Repository, user: User, permission: RepositoryPermission): Json {
    return { type: 'repository_permission', permission, user: this.userJson(user), repository: this.repositorySummaryJson(repository) };
  }

  /** A branch or tag of `repository` (definitions `branch` and `tag`). */
  refJson(repository: Repository, ref: RefInfo): Json {
    const workspace = this.workspaceOf(repository.workspaceUuid);
    const fullName = `${workspace.slug}/${repository.slug}`;
    const kind = ref.type === 'branch' ? 'branches' : 'tags';
    const users = this.context.state().users;
    const person = (raw: string): Json => {
      const email = /<([^>]*)>\s*$/.exec(raw)?.[1]?.toLowerCase();
      const user = email ? users.find((candidate) => candidate.email !== '' && candidate.email.toLowerCase() === email) : undefined;
      return { type: 'author', raw, ...(user ? { user: this.userJson(user) } : {}) };
    };
    const target = {
      type: 'commit',
      hash: ref.commit.hash,
      date: ref.commit.date,
      author: person(ref.commit.author),
      committer: person(ref.commit.committer),
      message: ref.commit.message,
      summary: { raw: ref.commit.message, markup: 'markdown', html: `<p>${escapeHtml(ref.commit.message.trim())}</p>` },
      parents: ref.commit.parents.map((hash) => ({ type: 'commit', hash, links: { self: link(this.apiUrl(`/2.0/repositories/${fullName}/commit/${hash}`)) } })),
      repository: this.repositorySummaryJson(repository),
      links: { self: link(this.apiUrl(`/2.0/repositories/${fullName}/commit/${ref.commit.hash}`)), html: link(this.webUrl(`${fullName}/commits/${ref.commit.hash}`)) },
    };
    const common = {
      name: ref.name,
      target,
      links: {
        self: link(this.apiUrl(`/2.0/repositories/${fullName}/refs/${kind}/${encodeURIComponent(ref.name)}`)),
        commits: link(this.apiUrl(`/2.0/repositories/${fullName}/commits/${encodeURIComponent(ref.name)}`)),
        html: link(this.webUrl(`${fullName}/src/${encodeURIComponent(ref.name)}`)),
      },
    };
    if (ref.type === 'branch') {
      return { type: 'branch', ...common, merge_strategies: ['merge_commit', 'squash', 'fast_forward'], default_merge_strategy: 'merge_commit' };
    }
    // A lightweight tag has no message, date or tagger ("if available", the spec's `tag`): null here (not documented: assumed).
    return {
      type: 'tag',
      ...common,
      message: ref.tag?.message ?? null,
      date: ref.tag?.date ?? null,
      tagger: ref.tag ? person(ref.tag.tagger) : null,
    };
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char] ?? char);
}
