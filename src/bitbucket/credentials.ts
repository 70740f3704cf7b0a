// The two kinds of credential a workspace admin can give Lifeboat, as Bitbucket
// names them: the git user name each goes with, and the scopes it needs, in the
// words of Bitbucket's own token forms. Pure data: the connection check and the
// admin page's instructions read the same names.
export type CredentialKind = 'access-token' | 'api-token';

export const GIT_USERNAMES: Readonly<Record<CredentialKind, string>> = {
  'access-token': 'x-token-auth',
  'api-token': 'x-bitbucket-api-token-auth',
};

/** What backups and restores use: read and push over git, read repositories and pull requests over REST. */
export const SCOPES = {
  'access-token': { read: 'repository', write: 'repository:write', pullrequests: 'pullrequest' },
  'api-token': { read: 'read:repository:bitbucket', write: 'write:repository:bitbucket', pullrequests: 'read:pullrequest:bitbucket' },
} as const satisfies Record<CredentialKind, { read: string; write: string; pullrequests: string }>;

/** Restoring into a new repository makes the requester its admin: only these scopes allow that call. */
export const NEW_REPOSITORY_SCOPES: Readonly<Record<CredentialKind, readonly string[]>> = {
  'access-token': ['repository:admin'],
  'api-token': ['admin:repository:bitbucket', 'write:permission:bitbucket'],
};
