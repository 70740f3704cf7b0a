// The demo world that `npm start` seeds and the tests rely on. Fixed
// identifiers so that a person can paste the credentials printed by
// `npm start`, and tests can name users without looking them up.

export const DEMO_WORKSPACE = {
  uuid: '{5f0c8a52-6d1e-4d2b-9a57-0c7f4b1e8a01}',
  slug: 'lifeboat-demo',
  name: 'Lifeboat Demo',
} as const;

/** Signed-in users the UI's switch offers: a workspace admin, a repository admin and a plain member. */
export const DEMO_USERS = {
  admin: {
    uuid: '{9b1e6c1a-3f6d-4c0e-8f8e-2a4b6d8c0e11}',
    accountId: '712020:5d2f8a90-0b6e-4e55-9c1f-a1b2c3d4e501',
    nickname: 'alice',
    displayName: 'Alice Admin',
    email: 'alice@example.com',
    apiToken: 'ATATT3xFfGF0-demo-alice-api-token',
  },
  repoAdmin: {
    uuid: '{2c7d4e9f-8a1b-4c3d-9e0f-1a2b3c4d5e22}',
    accountId: '712020:6e3a9b01-1c7f-4f66-8d20-b2c3d4e5f602',
    nickname: 'bob',
    displayName: 'Bob Maintainer',
    email: 'bob@example.com',
    apiToken: 'ATATT3xFfGF0-demo-bob-api-token',
  },
  member: {
    uuid: '{4e8f0a1b-2c3d-4e5f-8a9b-0c1d2e3f4a33}',
    accountId: '712020:7f4b0c12-2d80-4077-9e31-c3d4e5f6a703',
    nickname: 'carol',
    displayName: 'Carol Member',
    email: 'carol@example.com',
    apiToken: 'ATATT3xFfGF0-demo-carol-api-token',
  },
} as const;

export type DemoRole = keyof typeof DEMO_USERS;

/**
 * Demo repositories. `web-app` has pull requests in every state and one of
 * every repository setting; Bob is its repository admin (and only a member
 * elsewhere).
 */
export const DEMO_REPOSITORIES = [
  { slug: 'web-app', uuid: '{a1f2e3d4-c5b6-4a79-8e01-1b2c3d4e5f60}', name: 'Web App', repoAdmin: 'repoAdmin' },
  { slug: 'api-server', uuid: '{b2e3d4c5-b6a7-4980-9f12-2c3d4e5f6a71}', name: 'API Server', repoAdmin: null },
  { slug: 'docs', uuid: '{c3d4e5f6-a7b8-4c91-8a23-3d4e5f6a7b82}', name: 'Docs', repoAdmin: null },
] as const;

/** A workspace access token, as the admin would paste it into Lifeboat's settings (git user x-token-auth). */
export const DEMO_WORKSPACE_TOKEN = {
  token: 'ATCTT3xFfGN0-demo-workspace-access-token',
  scopes: ['repository', 'repository:write', 'repository:admin', 'pullrequest', 'pullrequest:write', 'webhook', 'pipeline', 'project', 'account'],
  botUserUuid: '{d4e5f6a7-b8c9-4d02-9b34-4e5f6a7b8c93}',
} as const;
