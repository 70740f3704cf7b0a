// Repository settings a backup records and a restore re-applies: branch
// restrictions, default reviewers, the branching model, webhooks, deploy keys,
// Pipelines' switch and variables, inheritance overrides and explicit user
// permissions. Changing any of them takes repository admin; secured pipeline
// variables never show their value and webhooks never show their secret.
import type { Repository, RepositoryPermission, User } from '../model.js';
import type { RouteKit, RouteRegistry, RouteRequest } from '../routes.js';
import {
  actorOf, booleanField, created, demoUser, fail, findUser, findUserByPathId, idParam, link, objectBody, objectField, repoApi, stringField, userOrNull, type Json,
} from './common.js';
import { branchTip } from './git-read.js';

const RESTRICTION_KINDS = [
  'push', 'delete', 'force', 'restrict_merges', 'require_tasks_to_be_completed', 'require_approvals_to_merge', 'require_review_group_approvals_to_merge',
  'require_default_reviewer_approvals_to_merge', 'require_no_changes_requested', 'require_passing_builds_to_merge', 'require_commits_behind',
  'reset_pullrequest_approvals_on_change', 'smart_reset_pullrequest_approvals', 'reset_pullrequest_changes_requested_on_change',
  'require_all_dependencies_merged', 'enforce_merge_checks', 'allow_auto_merge_when_builds_pass', 'require_all_comments_resolved',
] as const;
const BRANCH_TYPES = ['feature', 'bugfix', 'release', 'hotfix', 'development', 'production'] as const;
const MODEL_BRANCH_KINDS = ['feature', 'bugfix', 'release', 'hotfix'] as const;
/** Kinds whose rule carries a number (how many approvals, builds, commits behind). */
const VALUED_KINDS = new Set(['require_approvals_to_merge', 'require_default_reviewer_approvals_to_merge', 'require_passing_builds_to_merge', 'require_commits_behind']);

const WEBHOOK_EVENTS = [
  'issue:comment_created', 'issue:created', 'issue:updated', 'pipeline:span_created', 'project:updated', 'pullrequest:approved',
  'pullrequest:changes_request_created', 'pullrequest:changes_request_removed', 'pullrequest:comment_created', 'pullrequest:comment_deleted',
  'pullrequest:comment_reopened', 'pullrequest:comment_resolved', 'pullrequest:comment_updated', 'pullrequest:created', 'pullrequest:fulfilled',
  'pullrequest:push', 'pullrequest:rejected', 'pullrequest:unapproved', 'pullrequest:updated', 'repo:commit_comment_created',
  'repo:commit_status_created', 'repo:commit_status_updated', 'repo:created', 'repo:deleted', 'repo:fork', 'repo:imported', 'repo:push',
  'repo:transfer', 'repo:updated',
] as const;

interface StoredRestriction {
  id: number;
  kind: (typeof RESTRICTION_KINDS)[number];
  branchMatchKind: 'glob' | 'branching_model';
  pattern: string;
  branchType: (typeof BRANCH_TYPES)[number] | null;
  value: number | null;
  userUuids: string[];
  groupSlugs: string[];
}

interface ModelBranch {
  useMainbranch: boolean;
  name: string | null;
}

interface BranchingModel {
  development: ModelBranch;
  production: ModelBranch & { enabled: boolean };
  branchTypes: Array<{ kind: (typeof MODEL_BRANCH_KINDS)[number]; prefix: string; enabled: boolean }>;
}

interface StoredHook {
  uuid: string;
  url: string;
  description: string;
  active: boolean;
  events: string[];
  /** Kept to sign deliveries; never answered (Bitbucket says only `secret_set`). */
  secret: string | null;
  createdAt: string;
}

interface StoredDeployKey {
  id: number;
  key: string;
  label: string;
  comment: string;
  addedOn: string;
  lastUsed: string | null;
  ownerUuid: string;
}

interface StoredVariable {
  uuid: string;
  key: string;
  value: string;
  secured: boolean;
}

interface Settings {
  restrictions: StoredRestriction[];
  defaultReviewerUuids: string[];
  branchingModel: BranchingModel;
  hooks: StoredHook[];
  deployKeys: StoredDeployKey[];
  pipelinesEnabled: boolean;
  variables: StoredVariable[];
  /** Which project-level settings this repository overrides. */
  overrides: { default_merge_strategy: boolean; branching_model: boolean };
}

function defaultSettings(): Settings {
  return {
    restrictions: [],
    defaultReviewerUuids: [],
    branchingModel: {
      development: { useMainbranch: true, name: null },
      production: { useMainbranch: false, name: null, enabled: false },
      branchTypes: [
        { kind: 'feature', prefix: 'feature/', enabled: true },
        { kind: 'bugfix', prefix: 'bugfix/', enabled: true },
        { kind: 'release', prefix: 'release/', enabled: true },
        { kind: 'hotfix', prefix: 'hotfix/', enabled: true },
      ],
    },
    hooks: [],
    deployKeys: [],
    pipelinesEnabled: false,
    variables: [],
    overrides: { default_merge_strategy: false, branching_model: false },
  };
}

function settingsOf(kit: RouteKit, repository: Repository): Settings {
  return kit.repositoryData(repository, 'settings', defaultSettings);
}

function oneOf<T extends string>(kit: RouteKit, allowed: readonly T[], value: string | undefined, field: string): T {
  if (value === undefined || !(allowed as readonly string[]).includes(value)) {
    fail(kit, 400, 'Bad request', `${field}: expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

// --- branch restrictions ---------------------------------------------------

function restrictionJson(kit: RouteKit, repository: Repository, rule: StoredRestriction): Json {
  return {
    type: 'branchrestriction',
    id: rule.id,
    kind: rule.kind,
    branch_match_kind: rule.branchMatchKind,
    pattern: rule.pattern,
    ...(rule.branchType === null ? {} : { branch_type: rule.branchType }),
    value: rule.value,
    users: rule.userUuids.map((uuid) => userOrNull(kit, uuid)).filter((u) => u !== null),
    groups: rule.groupSlugs.map((slug) => ({ type: 'group', slug, name: slug })),
    links: { self: link(repoApi(kit, repository, `branch-restrictions/${rule.id}`)) },
  };
}

/** Applies a restriction body to `rule` (all of it on create, what is present on update), enforcing Bitbucket's rules. */
function applyRestriction(kit: RouteKit, rule: StoredRestriction, body: Json, creating: boolean): void {
  const kind = stringField(kit, body, 'kind');
  if (creating || kind !== undefined) rule.kind = oneOf(kit, RESTRICTION_KINDS, kind, 'kind');
  const matchKind = stringField(kit, body, 'branch_match_kind');
  if (creating || matchKind !== undefined) rule.branchMatchKind = oneOf(kit, ['glob', 'branching_model'] as const, matchKind, 'branch_match_kind');
  const pattern = stringField(kit, body, 'pattern');
  if (pattern !== undefined) rule.pattern = pattern;
  const branchType = stringField(kit, body, 'branch_type');
  if (branchType !== undefined) rule.branchType = oneOf(kit, BRANCH_TYPES, branchType, 'branch_type');
  if (rule.branchMatchKind === 'glob') {
    if (rule.pattern.trim() === '') fail(kit, 400, 'Bad request', 'pattern: required when branch_match_kind is glob');
    rule.branchType = null;
  } else {
    if (rule.branchType === null) fail(kit, 400, 'Bad request', 'branch_type: required when branch_match_kind is branching_model');
    rule.pattern = '';
  }
  if (body.value !== undefined) {
    if (body.value !== null && (typeof body.value !== 'number' || !Number.isInteger(body.value) || body.value < 0)) fail(kit, 400, 'Bad request', 'value: expected a number');
    rule.value = body.value;
  }
  if (VALUED_KINDS.has(rule.kind) && rule.value === null) fail(kit, 400, 'Bad request', `value: required for ${rule.kind}`);
  if (!VALUED_KINDS.has(rule.kind)) rule.value = null;
  if (body.users !== undefined) {
    if (!Array.isArray(body.users)) fail(kit, 400, 'Bad request', 'users: expected a list');
    rule.userUuids = body.users.map((reference) => {
      const user = findUser(kit, reference);
      if (!user) fail(kit, 400, 'Bad request', 'users: no such user');
      return user.uuid;
    });
  }
  if (body.groups !== undefined) {
    // The emulator's workspaces have no groups: any named group is unknown.
    if (!Array.isArray(body.groups) || body.groups.length > 0) fail(kit, 400, 'Bad request', 'groups: no such group');
    rule.groupSlugs = [];
  }
}

// --- branching model ---------------------------------------------------------

async function branchJson(kit: RouteKit, repository: Repository, name: string): Promise<Json | undefined> {
  const dir = kit.gitDirectory(repository);
  const hash = dir === null ? undefined : await branchTip(dir, name);
  return hash === undefined ? undefined : { type: 'branch', name, target: { type: 'commit', hash } };
}

async function modelBranchExists(kit: RouteKit, repository: Repository, branch: ModelBranch): Promise<boolean> {
  return branch.useMainbranch || (branch.name !== null && (await branchJson(kit, repository, branch.name)) !== undefined);
}

async function branchingSettingsJson(kit: RouteKit, repository: Repository, model: BranchingModel): Promise<Json> {
  return {
    type: 'branching_model_settings',
    development: { is_valid: await modelBranchExists(kit, repository, model.development), name: model.development.name, use_mainbranch: model.development.useMainbranch },
    production: {
      is_valid: !model.production.enabled || (await modelBranchExists(kit, repository, model.production)),
      name: model.production.name,
      use_mainbranch: model.production.useMainbranch,
      enabled: model.production.enabled,
    },
    branch_types: model.branchTypes.map(({ kind, prefix, enabled }) => ({ kind, prefix, enabled })),
    default_branch_deletion: 'false',
    links: { self: link(repoApi(kit, repository, 'branching-model/settings')) },
  };
}

/** The active model: what the settings resolve to now (branches that exist, enabled types only). */
async function branchingModelJson(kit: RouteKit, repository: Repository, model: BranchingModel, self: string): Promise<Json> {
  const active = async (branch: ModelBranch): Promise<Json | null> => {
    const name = branch.useMainbranch ? repository.mainBranch : branch.name;
    const resolved = name === null ? undefined : await branchJson(kit, repository, name);
    return resolved === undefined ? null : { name, use_mainbranch: branch.useMainbranch, branch: resolved };
  };
  const production = model.production.enabled ? await active(model.production) : null;
  return {
    type: 'branching_model',
    development: await active(model.development),
    ...(production === null ? {} : { production }),
    branch_types: model.branchTypes.filter((t) => t.enabled).map(({ kind, prefix }) => ({ kind, prefix })),
    links: { self: link(repoApi(kit, repository, self)) },
  };
}

async function applyModelBranch(kit: RouteKit, repository: Repository, target: ModelBranch, body: Json | undefined, field: string): Promise<void> {
  if (body === undefined) return;
  const useMainbranch = booleanField(kit, body, 'use_mainbranch') ?? target.useMainbranch;
  const name = body.name === undefined ? (useMainbranch ? null : target.name) : stringField(kit, body, 'name') ?? null;
  if (useMainbranch && name !== null) fail(kit, 400, 'Bad request', `${field}.name: must be null when use_mainbranch is true`);
  if (!useMainbranch) {
    if (name === null || name === '') fail(kit, 400, 'Bad request', `${field}.name: required when use_mainbranch is false`);
    if ((await branchJson(kit, repository, name)) === undefined) fail(kit, 400, 'Bad request', `${field}.name: branch "${name}" does not exist`);
  }
  target.useMainbranch = useMainbranch;
  target.name = name;
}

// --- webhooks, deploy keys, variables ---------------------------------------

function hookJson(kit: RouteKit, repository: Repository, hook: StoredHook): Json {
  return {
    type: 'webhook_subscription',
    uuid: hook.uuid,
    url: hook.url,
    description: hook.description,
    subject_type: 'repository',
    subject: kit.repositoryJson(repository),
    active: hook.active,
    created_at: hook.createdAt,
    events: hook.events,
    secret_set: hook.secret !== null,
    links: { self: link(repoApi(kit, repository, `hooks/${encodeURIComponent(hook.uuid)}`)) },
  };
}

function applyHook(kit: RouteKit, hook: StoredHook, body: Json, creating: boolean): void {
  const url = stringField(kit, body, 'url');
  if (creating || url !== undefined) {
    if (url === undefined || !/^https?:\/\//.test(url) || !URL.canParse(url)) fail(kit, 400, 'Bad request', 'url: a valid http(s) URL is required');
    hook.url = url;
  }
  const description = stringField(kit, body, 'description');
  if (description !== undefined) hook.description = description;
  const active = booleanField(kit, body, 'active');
  if (active !== undefined) hook.active = active;
  if (body.events !== undefined || creating) {
    if (!Array.isArray(body.events) || body.events.length === 0) fail(kit, 400, 'Bad request', 'events: at least one event is required');
    hook.events = [...new Set(body.events.map((event) => oneOf(kit, WEBHOOK_EVENTS, typeof event === 'string' ? event : undefined, 'events')))];
  }
  if (body.secret !== undefined) {
    const secret = stringField(kit, body, 'secret');
    hook.secret = secret === undefined || secret === '' ? null : secret;
  }
}

/** An OpenSSH public key line: "<type> <base64> [comment]", whose blob starts with its own type name. */
function parsePublicKey(kit: RouteKit, line: string): { key: string; comment: string } {
  const [type = '', blob = '', ...rest] = line.trim().split(/\s+/);
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(blob) ? Buffer.from(blob, 'base64') : Buffer.alloc(0);
  const length = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
  if (length < 1 || bytes.subarray(4, 4 + length).toString('latin1') !== type) fail(kit, 400, 'Bad request', 'key: not an SSH public key');
  return { key: `${type} ${blob}`, comment: rest.join(' ') };
}

function deployKeyJson(kit: RouteKit, repository: Repository, key: StoredDeployKey): Json {
  return {
    type: 'deploy_key',
    id: key.id,
    key: key.key,
    label: key.label,
    comment: key.comment,
    added_on: key.addedOn,
    last_used: key.lastUsed,
    repository: kit.repositoryJson(repository),
    owner: userOrNull(kit, key.ownerUuid),
    links: { self: link(repoApi(kit, repository, `deploy-keys/${key.id}`)) },
  };
}

/** A secured variable's value is write-only: it never leaves the emulator. */
function variableJson(variable: StoredVariable): Json {
  return {
    type: 'pipeline_variable',
    uuid: variable.uuid,
    key: variable.key,
    secured: variable.secured,
    ...(variable.secured ? {} : { value: variable.value }),
  };
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function applyVariable(kit: RouteKit, settings: Settings, variable: StoredVariable, body: Json, creating: boolean): void {
  const key = stringField(kit, body, 'key');
  if (creating || key !== undefined) {
    if (key === undefined || !VARIABLE_NAME.test(key)) fail(kit, 400, 'Bad request', 'key: letters, digits and underscores, not starting with a digit');
    if (settings.variables.some((other) => other !== variable && other.key === key)) fail(kit, 409, `A variable named ${key} already exists.`);
    variable.key = key;
  }
  const value = stringField(kit, body, 'value');
  if (value !== undefined) variable.value = value;
  const secured = booleanField(kit, body, 'secured');
  if (secured === false && variable.secured && !creating) fail(kit, 400, 'Bad request', 'secured: a secured variable cannot be unsecured');
  if (secured !== undefined) variable.secured = secured;
}

// --- permissions --------------------------------------------------------------

function userPermissionJson(kit: RouteKit, repository: Repository, entry: { userUuid: string; permission: RepositoryPermission }): Json {
  return {
    type: 'repository_user_permission',
    permission: entry.permission,
    user: userOrNull(kit, entry.userUuid),
    repository: kit.repositoryJson(repository),
    links: { self: link(repoApi(kit, repository, `permissions-config/users/${encodeURIComponent(kit.userByUuid(entry.userUuid)?.accountId ?? entry.userUuid)}`)) },
  };
}

export function register(registry: RouteRegistry): void {
  const base = '/2.0/repositories/{workspace}/{repo_slug}';
  const admin = (request: RouteRequest, kit: RouteKit): { repository: Repository; settings: Settings } => {
    const repository = kit.repository(request, 'admin');
    return { repository, settings: settingsOf(kit, repository) };
  };

  // Branch restrictions (filters: kind, pattern).
  registry.add('GET', `${base}/branch-restrictions`, (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const kind = request.url.searchParams.get('kind');
    const pattern = request.url.searchParams.get('pattern');
    const rules = settings.restrictions.filter((r) => (kind === null || r.kind === kind) && (pattern === null || r.pattern === pattern));
    return kit.paginate(request, rules.map((r) => restrictionJson(kit, repository, r)));
  });

  registry.add('POST', `${base}/branch-restrictions`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const rule: StoredRestriction = { id: 0, kind: 'push', branchMatchKind: 'glob', pattern: '', branchType: null, value: null, userUuids: [], groupSlugs: [] };
    applyRestriction(kit, rule, await objectBody(request, kit), true);
    rule.id = kit.nextId('branch-restriction');
    settings.restrictions.push(rule);
    await kit.save();
    return created(restrictionJson(kit, repository, rule), repoApi(kit, repository, `branch-restrictions/${rule.id}`));
  });

  const ruleOf = (request: RouteRequest, kit: RouteKit, settings: Settings): StoredRestriction => {
    const id = idParam(request, kit, 'id');
    const rule = settings.restrictions.find((r) => r.id === id);
    if (!rule) fail(kit, 404, `No branch restriction with ID ${id}`);
    return rule;
  };

  registry.add('GET', `${base}/branch-restrictions/{id}`, (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return { status: 200, body: restrictionJson(kit, repository, ruleOf(request, kit, settings)) };
  });

  registry.add('PUT', `${base}/branch-restrictions/{id}`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const rule = ruleOf(request, kit, settings);
    const updated = structuredClone(rule);
    applyRestriction(kit, updated, await objectBody(request, kit), false);
    Object.assign(rule, updated);
    await kit.save();
    return { status: 200, body: restrictionJson(kit, repository, rule) };
  });

  registry.add('DELETE', `${base}/branch-restrictions/{id}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const rule = ruleOf(request, kit, settings);
    settings.restrictions = settings.restrictions.filter((r) => r !== rule);
    await kit.save();
    return { status: 204 };
  });

  // Default reviewers: readable by anyone who can open a pull request, changed by admins.
  registry.add('GET', `${base}/default-reviewers`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const users = settingsOf(kit, repository).defaultReviewerUuids.map((uuid) => userOrNull(kit, uuid)).filter((u) => u !== null);
    return kit.paginate(request, users);
  });

  registry.add('GET', `${base}/effective-default-reviewers`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const items = settingsOf(kit, repository).defaultReviewerUuids.flatMap((uuid) => {
      const user = userOrNull(kit, uuid);
      return user === null ? [] : [{ type: 'default_reviewer_and_type', reviewer_type: 'repository', user }];
    });
    return kit.paginate(request, items);
  });

  const targetUser = (request: RouteRequest, kit: RouteKit): User => {
    const id = request.params.target_username ?? '';
    const user = findUserByPathId(kit, id);
    if (!user) fail(kit, 404, `No user ${id}`);
    return user;
  };

  registry.add('GET', `${base}/default-reviewers/{target_username}`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const user = targetUser(request, kit);
    if (!settingsOf(kit, repository).defaultReviewerUuids.includes(user.uuid)) fail(kit, 404, `${user.displayName} is not a default reviewer`);
    return { status: 200, body: kit.userJson(user) };
  });

  registry.add('PUT', `${base}/default-reviewers/{target_username}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const user = targetUser(request, kit);
    if (!settings.defaultReviewerUuids.includes(user.uuid)) settings.defaultReviewerUuids.push(user.uuid);
    await kit.save();
    return { status: 200, body: kit.userJson(user) };
  });

  registry.add('DELETE', `${base}/default-reviewers/{target_username}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const user = targetUser(request, kit);
    if (!settings.defaultReviewerUuids.includes(user.uuid)) fail(kit, 404, `${user.displayName} is not a default reviewer`);
    settings.defaultReviewerUuids = settings.defaultReviewerUuids.filter((uuid) => uuid !== user.uuid);
    await kit.save();
    return { status: 204 };
  });

  // Branching model: the active model (readers) and its settings (admins).
  for (const path of ['branching-model', 'effective-branching-model']) {
    registry.add('GET', `${base}/${path}`, async (request, kit) => {
      const repository = kit.repository(request, 'read');
      return { status: 200, body: await branchingModelJson(kit, repository, settingsOf(kit, repository).branchingModel, path) };
    });
  }

  registry.add('GET', `${base}/branching-model/settings`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return { status: 200, body: await branchingSettingsJson(kit, repository, settings.branchingModel) };
  });

  // Only what the body names changes; branch types are matched by kind.
  registry.add('PUT', `${base}/branching-model/settings`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const body = await objectBody(request, kit);
    const model = structuredClone(settings.branchingModel);
    await applyModelBranch(kit, repository, model.development, objectField(kit, body, 'development'), 'development');
    const production = objectField(kit, body, 'production');
    if (production !== undefined) {
      model.production.enabled = booleanField(kit, production, 'enabled') ?? model.production.enabled;
      if (model.production.enabled) await applyModelBranch(kit, repository, model.production, production, 'production');
    }
    if (body.branch_types !== undefined) {
      if (!Array.isArray(body.branch_types)) fail(kit, 400, 'Bad request', 'branch_types: expected a list');
      for (const entry of body.branch_types as Json[]) {
        const kind = oneOf(kit, MODEL_BRANCH_KINDS, typeof entry?.kind === 'string' ? entry.kind : undefined, 'branch_types.kind');
        const type = model.branchTypes.find((t) => t.kind === kind);
        if (!type) continue;
        type.enabled = booleanField(kit, entry, 'enabled') ?? type.enabled;
        type.prefix = stringField(kit, entry, 'prefix') ?? type.prefix;
        if (type.enabled && (type.prefix.trim() === '' || /\s|\.\.|[~^:?*[\\]/.test(type.prefix))) fail(kit, 400, 'Bad request', `branch_types: "${type.prefix}" is not a valid ${kind} prefix`);
      }
    }
    settings.branchingModel = model;
    await kit.save();
    return { status: 200, body: await branchingSettingsJson(kit, repository, model) };
  });

  // Webhooks: the secret is write-only.
  registry.add('GET', `${base}/hooks`, (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return kit.paginate(request, settings.hooks.map((h) => hookJson(kit, repository, h)));
  });

  registry.add('POST', `${base}/hooks`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const hook: StoredHook = { uuid: kit.newUuid(), url: '', description: '', active: true, events: [], secret: null, createdAt: kit.now() };
    applyHook(kit, hook, await objectBody(request, kit), true);
    settings.hooks.push(hook);
    await kit.save();
    return created(hookJson(kit, repository, hook), repoApi(kit, repository, `hooks/${encodeURIComponent(hook.uuid)}`));
  });

  const hookOf = (request: RouteRequest, kit: RouteKit, settings: Settings): StoredHook => {
    const uid = request.params.uid ?? '';
    const hook = settings.hooks.find((h) => h.uuid === uid || h.uuid === `{${uid}}`);
    if (!hook) fail(kit, 404, `No webhook ${uid}`);
    return hook;
  };

  registry.add('GET', `${base}/hooks/{uid}`, (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return { status: 200, body: hookJson(kit, repository, hookOf(request, kit, settings)) };
  });

  registry.add('PUT', `${base}/hooks/{uid}`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const hook = hookOf(request, kit, settings);
    const updated = structuredClone(hook);
    applyHook(kit, updated, await objectBody(request, kit), false);
    Object.assign(hook, updated);
    await kit.save();
    return { status: 200, body: hookJson(kit, repository, hook) };
  });

  registry.add('DELETE', `${base}/hooks/{uid}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const hook = hookOf(request, kit, settings);
    settings.hooks = settings.hooks.filter((h) => h !== hook);
    await kit.save();
    return { status: 204 };
  });

  // Deploy keys (Bitbucket answers a creation with 200, not 201).
  registry.add('GET', `${base}/deploy-keys`, (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return kit.paginate(request, settings.deployKeys.map((k) => deployKeyJson(kit, repository, k)));
  });

  registry.add('POST', `${base}/deploy-keys`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const body = await objectBody(request, kit);
    const { key, comment } = parsePublicKey(kit, stringField(kit, body, 'key') ?? '');
    if (settings.deployKeys.some((k) => k.key === key)) fail(kit, 400, 'Bad request', 'key: this key is already a deploy key of the repository');
    const owner = actorOf(request, kit);
    const stored: StoredDeployKey = {
      id: kit.nextId('deploy-key'), key, comment, label: stringField(kit, body, 'label') ?? '', addedOn: kit.now(), lastUsed: null, ownerUuid: owner.uuid,
    };
    settings.deployKeys.push(stored);
    await kit.save();
    return { status: 200, body: deployKeyJson(kit, repository, stored) };
  });

  const deployKeyOf = (request: RouteRequest, kit: RouteKit, settings: Settings): StoredDeployKey => {
    const id = idParam(request, kit, 'key_id');
    const key = settings.deployKeys.find((k) => k.id === id);
    if (!key) fail(kit, 404, `No deploy key with ID ${id}`);
    return key;
  };

  registry.add('GET', `${base}/deploy-keys/{key_id}`, (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return { status: 200, body: deployKeyJson(kit, repository, deployKeyOf(request, kit, settings)) };
  });

  registry.add('PUT', `${base}/deploy-keys/{key_id}`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const stored = deployKeyOf(request, kit, settings);
    const body = await objectBody(request, kit);
    const line = stringField(kit, body, 'key');
    const parsed = line === undefined ? undefined : parsePublicKey(kit, line);
    const label = stringField(kit, body, 'label');
    if (parsed) Object.assign(stored, parsed);
    if (label !== undefined) stored.label = label;
    await kit.save();
    return { status: 200, body: deployKeyJson(kit, repository, stored) };
  });

  registry.add('DELETE', `${base}/deploy-keys/{key_id}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const stored = deployKeyOf(request, kit, settings);
    settings.deployKeys = settings.deployKeys.filter((k) => k !== stored);
    await kit.save();
    return { status: 204 };
  });

  // Pipelines: the switch, and repository variables.
  const pipelinesJson = (kit: RouteKit, repository: Repository, settings: Settings): Json => ({
    type: 'repository_pipelines_configuration',
    enabled: settings.pipelinesEnabled,
    repository: kit.repositoryJson(repository),
  });

  registry.add('GET', `${base}/pipelines_config`, (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return { status: 200, body: pipelinesJson(kit, repository, settings) };
  });

  registry.add('PUT', `${base}/pipelines_config`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const enabled = booleanField(kit, await objectBody(request, kit), 'enabled');
    if (enabled !== undefined) settings.pipelinesEnabled = enabled;
    await kit.save();
    return { status: 200, body: pipelinesJson(kit, repository, settings) };
  });

  registry.add('GET', `${base}/pipelines_config/variables`, (request, kit) => {
    const repository = kit.repository(request, 'write');
    return kit.paginate(request, settingsOf(kit, repository).variables.map(variableJson));
  });

  registry.add('POST', `${base}/pipelines_config/variables`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const variable: StoredVariable = { uuid: kit.newUuid(), key: '', value: '', secured: false };
    applyVariable(kit, settings, variable, await objectBody(request, kit), true);
    settings.variables.push(variable);
    await kit.save();
    return { status: 201, body: variableJson(variable) };
  });

  const variableOf = (request: RouteRequest, kit: RouteKit, settings: Settings): StoredVariable => {
    const uuid = request.params.variable_uuid ?? '';
    const variable = settings.variables.find((v) => v.uuid === uuid || v.uuid === `{${uuid}}`);
    if (!variable) fail(kit, 404, `No variable ${uuid}`);
    return variable;
  };

  registry.add('GET', `${base}/pipelines_config/variables/{variable_uuid}`, (request, kit) => {
    const repository = kit.repository(request, 'write');
    return { status: 200, body: variableJson(variableOf(request, kit, settingsOf(kit, repository))) };
  });

  registry.add('PUT', `${base}/pipelines_config/variables/{variable_uuid}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const variable = variableOf(request, kit, settings);
    const updated = structuredClone(variable);
    applyVariable(kit, settings, updated, await objectBody(request, kit), false);
    Object.assign(variable, updated);
    await kit.save();
    return { status: 200, body: variableJson(variable) };
  });

  registry.add('DELETE', `${base}/pipelines_config/variables/{variable_uuid}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const variable = variableOf(request, kit, settings);
    settings.variables = settings.variables.filter((v) => v !== variable);
    await kit.save();
    return { status: 204 };
  });

  // Which project settings the repository overrides.
  registry.add('GET', `${base}/override-settings`, (request, kit) => {
    const { settings } = admin(request, kit);
    return { status: 200, body: { type: 'repository_inheritance_state', override_settings: settings.overrides } };
  });

  registry.add('PUT', `${base}/override-settings`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const body = objectField(kit, await objectBody(request, kit), 'override_settings') ?? {};
    for (const key of Object.keys(settings.overrides) as Array<keyof Settings['overrides']>) {
      const value = booleanField(kit, body, key);
      if (value !== undefined) settings.overrides[key] = value;
    }
    await kit.save();
    return { status: 204 };
  });

  // Explicit user permissions (the repository's own list; workspace owners' implicit admin is not listed).
  // The emulator has no groups: their list is empty.
  registry.add('GET', `${base}/permissions-config/users`, (request, kit) => {
    const repository = kit.repository(request, 'admin');
    return kit.paginate(request, repository.permissions.map((entry) => userPermissionJson(kit, repository, entry)));
  });

  const permissionTarget = (request: RouteRequest, kit: RouteKit): User => {
    const id = request.params.selected_user_id ?? '';
    const user = findUserByPathId(kit, id);
    if (!user) fail(kit, 404, `No user ${id}`);
    return user;
  };

  registry.add('GET', `${base}/permissions-config/users/{selected_user_id}`, (request, kit) => {
    const repository = kit.repository(request, 'admin');
    const user = permissionTarget(request, kit);
    const entry = repository.permissions.find((p) => p.userUuid === user.uuid);
    if (!entry) fail(kit, 404, `${user.displayName} has no explicit permission on this repository`);
    return { status: 200, body: userPermissionJson(kit, repository, entry) };
  });

  registry.add('PUT', `${base}/permissions-config/users/{selected_user_id}`, async (request, kit) => {
    const repository = kit.repository(request, 'admin');
    const user = permissionTarget(request, kit);
    // "The selected user must be a member of the workspace, and cannot be the workspace owner."
    const role = kit.workspace(request).members.find((member) => member.userUuid === user.uuid)?.permission;
    if (role === undefined || role === 'owner') fail(kit, 400, 'Bad request', `${user.displayName} ${role === 'owner' ? 'is an owner of the workspace' : 'is not a member of the workspace'}.`);
    const permission = oneOf(kit, ['read', 'write', 'admin'] as const, stringField(kit, await objectBody(request, kit), 'permission'), 'permission');
    const entry = repository.permissions.find((p) => p.userUuid === user.uuid);
    if (entry) entry.permission = permission;
    else repository.permissions.push({ userUuid: user.uuid, permission });
    await kit.save();
    return { status: 200, body: userPermissionJson(kit, repository, { userUuid: user.uuid, permission }) };
  });

  registry.add('DELETE', `${base}/permissions-config/users/{selected_user_id}`, async (request, kit) => {
    const repository = kit.repository(request, 'admin');
    const user = permissionTarget(request, kit);
    if (!repository.permissions.some((p) => p.userUuid === user.uuid)) fail(kit, 404, `${user.displayName} has no explicit permission on this repository`);
    repository.permissions = repository.permissions.filter((p) => p.userUuid !== user.uuid);
    await kit.save();
    return { status: 204 };
  });

  registry.add('GET', `${base}/permissions-config/groups`, (request, kit) => {
    kit.repository(request, 'admin');
    return kit.paginate(request, []);
  });

  registry.add('GET', `${base}/permissions-config/groups/{group_slug}`, (request, kit) => {
    kit.repository(request, 'admin');
    fail(kit, 404, `No group ${request.params.group_slug ?? ''}`);
  });
}

/** An ed25519 public key for the seed: a well-formed blob (type name, then 32 key bytes). */
function seedPublicKey(fill: number): string {
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.alloc(4 + type.length + 4 + 32, fill);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(32, 4 + type.length);
  return `ssh-ed25519 ${blob.toString('base64')}`;
}

/** web-app gets one of everything; the other repositories keep Bitbucket's defaults. */
export function seed(kit: RouteKit, repository: Repository): void {
  if (repository.slug !== 'web-app') return;
  const settings = settingsOf(kit, repository);
  if (settings.restrictions.length > 0) return;
  const alice = demoUser(kit, 'admin');
  const bob = demoUser(kit, 'repoAdmin');
  const main = repository.mainBranch;
  const rule = (fields: Omit<StoredRestriction, 'id' | 'branchMatchKind' | 'branchType' | 'userUuids' | 'groupSlugs' | 'value'> & Partial<StoredRestriction>): void => {
    settings.restrictions.push({ id: kit.nextId('branch-restriction'), branchMatchKind: 'glob', branchType: null, value: null, userUuids: [], groupSlugs: [], ...fields });
  };
  rule({ kind: 'push', pattern: main, userUuids: [alice.uuid, bob.uuid] });
  rule({ kind: 'delete', pattern: main });
  rule({ kind: 'force', pattern: main });
  rule({ kind: 'require_approvals_to_merge', pattern: main, value: 1 });
  rule({ kind: 'require_passing_builds_to_merge', pattern: main, value: 1 });
  rule({ kind: 'delete', pattern: '', branchMatchKind: 'branching_model', branchType: 'release' });

  settings.defaultReviewerUuids = [bob.uuid];
  settings.branchingModel.production = { useMainbranch: true, name: null, enabled: true };
  const hotfix = settings.branchingModel.branchTypes.find((t) => t.kind === 'hotfix');
  if (hotfix) hotfix.enabled = false;
  settings.hooks.push({
    uuid: '{7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}',
    url: 'https://ci.example.com/hooks/bitbucket',
    description: 'CI builds',
    active: true,
    events: ['repo:push', 'pullrequest:created', 'pullrequest:updated', 'pullrequest:fulfilled'],
    secret: 'demo-webhook-secret',
    createdAt: '2026-09-01T08:00:00.000Z',
  });
  settings.deployKeys.push({
    id: kit.nextId('deploy-key'), key: seedPublicKey(7), comment: 'deploy@web-app', label: 'Production deploy', addedOn: '2026-09-01T08:05:00.000Z', lastUsed: null, ownerUuid: alice.uuid,
  });
  settings.pipelinesEnabled = true;
  settings.variables.push(
    { uuid: '{3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f}', key: 'DEPLOY_ENV', value: 'staging', secured: false },
    { uuid: '{4d5e6f7a-8b9c-4dae-9f1a-2b3c4d5e6f7a}', key: 'DEPLOY_TOKEN', value: 'demo-secured-deploy-token', secured: true },
  );
}
