/**
 * The demo world (sandbox/demo.ts) written into an empty emulator: users, the
 * workspace with its owner and members, a project, the demo repositories with
 * real git history (several authors over a few days, branches, annotated and
 * lightweight tags, a merge), Bob as web-app's admin, and the
 * workspace access token. Then each resource module seeds its part.
 *
 * Deterministic: fixed identities and dates, so the same commit ids every time.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_REPOSITORIES, DEMO_USERS, DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN, type DemoRole } from '../demo.js';
import { initBare, repositoryGitDir, runGit } from './git.js';
import type { EmulatorState, Repository, User } from './model.js';
import type { RouteKit, RouteRegistry } from './routes.js';

/** What a resource module (resources/*.ts) exports. */
export interface ResourceModule {
  register(registry: RouteRegistry): void;
  /** Seeds one repository's demo pull requests or settings. */
  seed(kit: RouteKit, repository: Repository): Promise<void> | void;
}

const DEMO_PROJECT = { uuid: '{0d6f3e2a-9c41-4b7e-8d25-7a1b9c3e5f10}', key: 'LB', name: 'Lifeboat Demo' } as const;

/** The bot account behind the demo workspace access token. */
const DEMO_TOKEN_BOT = {
  uuid: DEMO_WORKSPACE_TOKEN.botUserUuid,
  accountId: '712020:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c94',
  nickname: 'lifeboat-demo-workspace-token',
  displayName: 'Lifeboat Demo workspace token',
} as const;

const USERS_CREATED_ON: Record<DemoRole, string> = {
  admin: '2024-03-11T09:15:00+00:00',
  repoAdmin: '2024-06-02T14:40:00+00:00',
  member: '2025-01-20T08:05:00+00:00',
};

/** One step of a scripted history, run in a scratch work tree. */
type Step =
  | { branch: string; from?: string }
  | { commit: string; by: DemoRole; at: string; files: Record<string, string> }
  | { merge: string; by: DemoRole; at: string; message: string }
  /** Annotated with message, by and at; lightweight without. On `from` (default: HEAD). */
  | { tag: string; from?: string; by?: DemoRole; at?: string; message?: string };

const WEB_APP: Step[] = [
  { commit: 'Initial commit', by: 'admin', at: '2026-10-05T09:00:00Z', files: { 'README.md': '# Web App\n\nThe customer-facing web application.\n', 'package.json': '{\n  "name": "web-app",\n  "version": "1.0.0"\n}\n' } },
  { commit: 'Add the app skeleton', by: 'admin', at: '2026-10-05T11:30:00Z', files: { 'src/app.js': 'export function start() {\n  console.log("web-app");\n}\n' } },
  { commit: 'Add the login form', by: 'repoAdmin', at: '2026-10-06T10:00:00Z', files: { 'src/login.js': 'export function login(user, password) {\n  return fetch("/login", { method: "POST", body: JSON.stringify({ user, password }) });\n}\n' } },
  { tag: 'v1.0.0', by: 'admin', at: '2026-10-06T16:00:00Z', message: 'Release 1.0.0' },
  { branch: 'develop' },
  { commit: 'Document the configuration', by: 'member', at: '2026-10-07T09:30:00Z', files: { 'docs/config.md': '# Configuration\n\nSet `API_URL` before starting.\n' } },
  { commit: 'Validate login input', by: 'repoAdmin', at: '2026-10-07T14:00:00Z', files: { 'src/login.js': 'export function login(user, password) {\n  if (!user || !password) throw new Error("user and password are required");\n  return fetch("/login", { method: "POST", body: JSON.stringify({ user, password }) });\n}\n' } },
  { branch: 'feature/dark-mode' },
  { commit: 'Add a dark theme', by: 'member', at: '2026-10-08T10:00:00Z', files: { 'src/theme.css': ':root { --background: #111; --text: #eee; }\n' } },
  { branch: 'main' },
  { commit: 'Fix a typo in the README', by: 'admin', at: '2026-10-08T12:00:00Z', files: { 'README.md': '# Web App\n\nThe customer-facing web application.\n\nRun `npm start` to try it.\n' } },
  { merge: 'develop', by: 'admin', at: '2026-10-09T09:00:00Z', message: "Merge branch 'develop'" },
  { tag: 'v1.1.0', by: 'admin', at: '2026-10-09T10:00:00Z', message: 'Release 1.1.0: login validation' },
  { branch: 'feature/login-sso', from: 'main' },
  { commit: 'Sketch single sign-on', by: 'repoAdmin', at: '2026-10-10T11:00:00Z', files: { 'src/sso.js': 'export const providers = ["atlassian"];\n' } },
  { tag: 'nightly', from: 'develop' },
  { branch: 'main' },
];

const API_SERVER: Step[] = [
  { commit: 'Initial commit', by: 'admin', at: '2026-10-04T08:00:00Z', files: { 'README.md': '# API Server\n', 'server.js': 'import http from "node:http";\nhttp.createServer((req, res) => res.end("ok")).listen(8080);\n' } },
  { commit: 'Add a health endpoint', by: 'repoAdmin', at: '2026-10-05T15:00:00Z', files: { 'health.js': 'export const health = () => ({ status: "ok" });\n' } },
  { commit: 'Add rate limiting', by: 'member', at: '2026-10-06T11:00:00Z', files: { 'limits.js': 'export const LIMIT_PER_MINUTE = 600;\n' } },
  { tag: 'v0.1.0', by: 'admin', at: '2026-10-06T12:00:00Z', message: 'First preview' },
  { branch: 'develop' },
  { commit: 'Log every request', by: 'repoAdmin', at: '2026-10-08T09:00:00Z', files: { 'log.js': 'export const log = (line) => console.log(new Date().toISOString(), line);\n' } },
  { branch: 'feature/rate-limits' },
  { commit: 'Tune the limits', by: 'member', at: '2026-10-09T14:00:00Z', files: { 'limits.js': 'export const LIMIT_PER_MINUTE = 1200;\n' } },
  { branch: 'main' },
  { tag: 'stable' },
];

const DOCS: Step[] = [
  { commit: 'Start the handbook', by: 'member', at: '2026-10-03T10:00:00Z', files: { 'handbook.md': '# Handbook\n' } },
  { commit: 'Add the backup policy', by: 'admin', at: '2026-10-04T16:00:00Z', files: { 'policy.md': '# Backup policy\n\nEvery repository, every day.\n' } },
  { branch: 'draft' },
  { commit: 'Draft the restore runbook', by: 'member', at: '2026-10-09T17:00:00Z', files: { 'runbook.md': '# Restore runbook\n\nTODO: write the steps.\n' } },
  { branch: 'main' },
];

const HISTORIES: Record<string, { steps: Step[]; language: string; description: string }> = {
  'web-app': { steps: WEB_APP, language: 'javascript', description: 'The customer-facing web application.' },
  'api-server': { steps: API_SERVER, language: 'javascript', description: 'The public REST API.' },
  docs: { steps: DOCS, language: 'markdown', description: 'Handbook and runbooks.' },
};

function identity(role: DemoRole, at: string): Record<string, string> {
  const user = DEMO_USERS[role];
  return { GIT_AUTHOR_NAME: user.displayName, GIT_AUTHOR_EMAIL: user.email, GIT_AUTHOR_DATE: at, GIT_COMMITTER_NAME: user.displayName, GIT_COMMITTER_EMAIL: user.email, GIT_COMMITTER_DATE: at };
}

/** Plays `steps` in a scratch work tree and pushes every branch and tag to `bareDir`; returns the newest date used. */
async function buildHistory(bareDir: string, steps: Step[], mainBranch: string): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'lifeboat-seed-'));
  let newest = '';
  try {
    await runGit(undefined, ['init', '--quiet', `--initial-branch=${mainBranch}`, work]);
    const git = (args: string[], env: Record<string, string> = {}): Promise<string> => runGit(work, args, { env });
    for (const step of steps) {
      if ('commit' in step) {
        for (const [file, content] of Object.entries(step.files)) {
          await mkdir(join(work, file, '..'), { recursive: true });
          await writeFile(join(work, file), content);
        }
        await git(['add', '--all']);
        await git(['commit', '--quiet', '-m', step.commit], identity(step.by, step.at));
        newest = step.at > newest ? step.at : newest;
      } else if ('merge' in step) {
        await git(['merge', '--quiet', '--no-ff', '-m', step.message, step.merge], identity(step.by, step.at));
        newest = step.at > newest ? step.at : newest;
      } else if ('tag' in step) {
        const target = step.from ?? 'HEAD';
        if (step.message !== undefined && step.by !== undefined && step.at !== undefined) {
          await git(['tag', '--annotate', '-m', step.message, step.tag, target], identity(step.by, step.at));
        } else {
          await git(['tag', step.tag, target]);
        }
      } else {
        const exists = (await git(['branch', '--list', step.branch])).trim() !== '';
        await git(exists ? ['checkout', '--quiet', step.branch] : ['checkout', '--quiet', '-b', step.branch, ...(step.from ? [step.from] : [])]);
      }
    }
    await git(['push', '--quiet', bareDir, 'refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*']);
    return newest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface SeedContext {
  /** Empty repositories added to the demo workspace (bulk-0001, …), for a workspace of thousands. */
  extraRepositories?: number;
  state: EmulatorState;
  gitRoot: string;
  kit: RouteKit;
  modules: readonly ResourceModule[];
}

export async function seedDemoWorld({ state, gitRoot, kit, modules, extraRepositories = 0 }: SeedContext): Promise<void> {
  const users: User[] = (Object.keys(DEMO_USERS) as DemoRole[]).map((role) => ({ ...DEMO_USERS[role], createdOn: USERS_CREATED_ON[role] }));
  users.push({ ...DEMO_TOKEN_BOT, email: '', apiToken: '', createdOn: '2026-09-30T12:00:00+00:00' });
  state.users.push(...users);
  state.workspaces.push({
    ...DEMO_WORKSPACE,
    isPrivate: true,
    createdOn: '2024-03-11T09:20:00+00:00',
    members: [
      { userUuid: DEMO_USERS.admin.uuid, permission: 'owner' },
      { userUuid: DEMO_USERS.repoAdmin.uuid, permission: 'member' },
      { userUuid: DEMO_USERS.member.uuid, permission: 'member' },
    ],
  });
  state.projects.push({ ...DEMO_PROJECT, workspaceUuid: DEMO_WORKSPACE.uuid });
  state.accessTokens.push({ token: DEMO_WORKSPACE_TOKEN.token, kind: 'workspace', workspaceUuid: DEMO_WORKSPACE.uuid, scopes: [...DEMO_WORKSPACE_TOKEN.scopes], botUserUuid: DEMO_WORKSPACE_TOKEN.botUserUuid });

  for (const demo of DEMO_REPOSITORIES) {
    const history = HISTORIES[demo.slug];
    if (!history) throw new Error(`seed: no history written for ${demo.slug}`);
    const bare = repositoryGitDir(gitRoot, DEMO_WORKSPACE.slug, demo.slug);
    await initBare(bare, 'main');
    const newest = await buildHistory(bare, history.steps, 'main');
    state.repositories.push({
      uuid: demo.uuid,
      workspaceUuid: DEMO_WORKSPACE.uuid,
      slug: demo.slug,
      name: demo.name,
      description: history.description,
      isPrivate: true,
      createdOn: history.steps.find((step): step is Extract<Step, { commit: string }> => 'commit' in step)?.at.replace('Z', '+00:00') ?? newest,
      updatedOn: newest.replace('Z', '+00:00'),
      language: history.language,
      mainBranch: 'main',
      forkPolicy: 'no_public_forks',
      projectKey: DEMO_PROJECT.key,
      permissions: demo.repoAdmin ? [{ userUuid: DEMO_USERS[demo.repoAdmin].uuid, permission: 'admin' }] : [],
    });
  }

  for (const repository of state.repositories) {
    for (const module of modules) await module.seed(kit, repository);
  }

  // Real (empty) bare repositories, a few at a time: git init is a process each.
  const extra = Array.from({ length: extraRepositories }, (_, index) => `bulk-${String(index + 1).padStart(4, '0')}`);
  for (let start = 0; start < extra.length; start += 8) {
    await Promise.all(extra.slice(start, start + 8).map((slug) => initBare(repositoryGitDir(gitRoot, DEMO_WORKSPACE.slug, slug), 'main')));
  }
  for (const slug of extra) {
    state.repositories.push({
      uuid: kit.newUuid(),
      workspaceUuid: DEMO_WORKSPACE.uuid,
      slug,
      name: `Bulk ${slug.slice('bulk-'.length)}`,
      description: '',
      isPrivate: true,
      createdOn: kit.now(),
      updatedOn: kit.now(),
      language: '',
      mainBranch: 'main',
      forkPolicy: 'no_public_forks',
      projectKey: DEMO_PROJECT.key,
      permissions: [],
    });
  }
}
