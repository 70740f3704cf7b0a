// The one contract between the Custom UI pages and the app's resolvers: every
// resolver key with its request and response types, in the shape Forge's own
// typed helpers take (`makeResolver<D>` in @forge/resolver, `makeInvoke<D>` in
// @forge/bridge), so a page and its resolver cannot drift apart. The pages
// import it as types only.

export interface PushSeen {
  /** Branch or tag name as Bitbucket reports it. */
  ref: string;
  /** New tip; absent when the push deleted the ref. */
  after?: string;
  /** When the app received the event (ISO 8601). */
  at: string;
}

export interface Overview {
  workspaceId: string;
  /** Set on the repository settings page. */
  repositoryUuid?: string;
  accountId: string;
  /** The newest push the app has been told about, on the repository page. */
  lastPush?: PushSeen;
}

/** Resolvers behind the repository settings page. */
export type RepoPageResolvers = {
  getOverview: () => Overview;
};

/** Resolvers behind the workspace admin page. */
export type AdminPageResolvers = {
  getOverview: () => Overview;
};
