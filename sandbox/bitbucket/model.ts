// The emulator's state: what Bitbucket Cloud stores, kept as plain JSON in the
// data directory (git data lives beside it in real bare repositories).
// Identifiers follow Bitbucket: UUIDs with braces ("{…}"), numeric ids for pull
// requests and comments, ISO 8601 timestamps.

export type Uuid = string;

export interface User {
  uuid: Uuid;
  accountId: string;
  nickname: string;
  displayName: string;
  email: string;
  /** Atlassian API token (REST Basic `email:token`, git user `x-bitbucket-api-token-auth`). */
  apiToken: string;
  /**
   * Its scopes, as Bitbucket names them for Forge apps and API tokens (read:repository:bitbucket…;
   * spec narrative, "Forge app and API token scopes"). Absent: every scope (the demo users' tokens).
   */
  apiTokenScopes?: string[];
  createdOn: string;
}

export type WorkspacePermission = 'owner' | 'collaborator' | 'member';
export type RepositoryPermission = 'admin' | 'write' | 'read';

export interface Workspace {
  uuid: Uuid;
  slug: string;
  name: string;
  isPrivate: boolean;
  createdOn: string;
  members: Array<{ userUuid: Uuid; permission: WorkspacePermission }>;
}

export interface Repository {
  uuid: Uuid;
  workspaceUuid: Uuid;
  slug: string;
  name: string;
  description: string;
  isPrivate: boolean;
  createdOn: string;
  updatedOn: string;
  language: string;
  mainBranch: string;
  forkPolicy: 'allow_forks' | 'no_public_forks' | 'no_forks';
  projectKey: string;
  /** Explicit repository permissions; workspace owners are admins of every repository. */
  permissions: Array<{ userUuid: Uuid; permission: RepositoryPermission }>;
  /**
   * A repository admin turned off the push file size limit (Repository settings > Advanced: Atlassian Community,
   * "Bitbucket Cloud is implementing a 100 MB limit on files included in pushes", 2024). Only the web UI offers it: the
   * OpenAPI spec has no field or operation for it, so the emulator's control is `Emulator.setFileSizeLimit`.
   */
  fileSizeLimitDisabled?: boolean;
}

export type AccessTokenKind = 'repository' | 'project' | 'workspace';

export interface AccessToken {
  token: string;
  kind: AccessTokenKind;
  workspaceUuid: Uuid;
  /** Set for repository access tokens. */
  repositoryUuid?: Uuid;
  /** Set for project access tokens: the key of the project whose repositories it reaches. */
  projectKey?: string;
  /** Token scopes as Bitbucket names them: repository, repository:write, repository:admin, repository:delete, pullrequest, pullrequest:write, webhook, pipeline, account... */
  scopes: string[];
  /** Each access token acts as its own bot user. */
  botUserUuid: Uuid;
}

export interface Project {
  uuid: Uuid;
  workspaceUuid: Uuid;
  key: string;
  name: string;
}

/** Everything the emulator knows, persisted as one JSON document. */
export interface EmulatorState {
  version: 1;
  users: User[];
  workspaces: Workspace[];
  projects: Project[];
  repositories: Repository[];
  accessTokens: AccessToken[];
  /**
   * Per-repository metadata (pull requests, settings), keyed by
   * repository UUID. Owned by the resource modules; each keeps its own part.
   */
  repositoryData: Record<Uuid, RepositoryData>;
  /** Counters for ids that Bitbucket allocates per repository or globally. */
  nextIds: Record<string, number>;
}

/** Per-repository data; each field is owned by one resource module. */
export interface RepositoryData {
  [resource: string]: unknown;
}
