// Repository settings a backup records and a restore re-applies: branch
// restrictions, default reviewers, the branching model, webhooks, deploy keys,
// Pipelines' switch and variables, deployment environments and their variables,
// inheritance overrides and explicit user permissions. Changing any of them
// takes repository admin; secured variables never show their value and
// webhooks never show their secret.
import { z } from 'zod';
import type { Repository, RepositoryPermission, User } from '../model.js';
import type { RouteKit, RouteRegistry, RouteRequest, RouteResponse } from '../routes.js';
import {
  actorOf, created, demoUser, fail, findUser, findUserByPathId, idParam, link, parseBody, repoApi, sameUuid, userOrNull, userReference, type Json,
} from './common.js';
import { branchTip } from './git-read.js';
import { credentialRefusal, expandScopes } from '../auth.js';
import { findOperation } from '../spec.js';

const REPO = '/2.0/repositories/{workspace}/{repo_slug}';

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

/** The events a webhook may subscribe to (the issue:* ones went with Issues on 2026-08-20). */
const WEBHOOK_EVENTS = [
  'pipeline:span_created', 'project:updated', 'pullrequest:approved',
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

/** Bitbucket gives every repository the three deployment environments Test, Staging and Production. */
const ENVIRONMENT_TYPES = ['Test', 'Staging', 'Production'] as const;

interface StoredEnvironment {
  uuid: string;
  name: string;
  slug: string;
  type: (typeof ENVIRONMENT_TYPES)[number];
  rank: number;
  variables: StoredVariable[];
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
  /** Absent in data saved before environments were emulated: the defaults then. */
  environments?: StoredEnvironment[];
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
  const settings = kit.repositoryData(repository, 'settings', defaultSettings);
  settings.environments ??= ENVIRONMENT_TYPES.map((type, rank) => ({ uuid: kit.newUuid(), name: type, slug: type.toLowerCase(), type, rank, variables: [] }));
  return settings;
}

function environmentsOf(settings: Settings): StoredEnvironment[] {
  return settings.environments ?? [];
}

// --- request bodies ------------------------------------------------------------

const restrictionBody = z.object({
  kind: z.enum(RESTRICTION_KINDS),
  branch_match_kind: z.enum(['glob', 'branching_model']),
  pattern: z.string().nullish(),
  branch_type: z.enum(BRANCH_TYPES).nullish(),
  value: z.number().int().min(0).nullish(),
  users: z.array(userReference).nullish(),
  // The emulator's workspaces have no groups: any named group is unknown.
  groups: z.array(z.unknown()).max(0, 'no such group').nullish(),
});

const modelBranchBody = z.object({ use_mainbranch: z.boolean().nullish(), name: z.string().nullish() });
const branchingModelBody = z.object({
  development: modelBranchBody.nullish(),
  production: modelBranchBody.extend({ enabled: z.boolean().nullish() }).nullish(),
  branch_types: z.array(z.object({ kind: z.enum(MODEL_BRANCH_KINDS), enabled: z.boolean().nullish(), prefix: z.string().nullish() })).nullish(),
});

const hookBody = z.object({
  url: z.string().refine((url) => /^https?:\/\//.test(url) && URL.canParse(url), 'a valid http(s) URL is required'),
  description: z.string().nullish(),
  active: z.boolean().nullish(),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1, 'at least one event is required'),
  /** Empty or null: no secret. */
  secret: z.string().nullish(),
});

/** An OpenSSH public key line: "<type> <base64> [comment]", whose blob starts with its own type name. */
const publicKey = z.string().transform((line, context) => {
  const [type = '', blob = '', ...rest] = line.trim().split(/\s+/);
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(blob) ? Buffer.from(blob, 'base64') : Buffer.alloc(0);
  const length = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
  if (length < 1 || bytes.subarray(4, 4 + length).toString('latin1') !== type) {
    context.addIssue({ code: 'custom', message: 'not an SSH public key' });
    return z.NEVER;
  }
  return { key: `${type} ${blob}`, comment: rest.join(' ') };
});
const deployKeyBody = z.object({ key: publicKey, label: z.string().nullish() });

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const variableBody = z.object({
  key: z.string().regex(VARIABLE_NAME, 'letters, digits and underscores, not starting with a digit'),
  value: z.string().nullish(),
  secured: z.boolean().nullish(),
});

const environmentBody = z.object({
  name: z.string().trim().min(1, 'may not be blank').max(80),
  environment_type: z.object({ name: z.enum(ENVIRONMENT_TYPES) }),
  rank: z.number().int().min(0).nullish(),
});

const pipelinesBody = z.object({ enabled: z.boolean().nullish() });
const overridesBody = z.object({ override_settings: z.object({ default_merge_strategy: z.boolean().nullish(), branching_model: z.boolean().nullish() }).nullish() });
const permissionBody = z.object({ permission: z.enum(['read', 'write', 'admin']) });

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

/** Applies a restriction body to `rule` (what is present), enforcing Bitbucket's rules across fields. */
function applyRestriction(kit: RouteKit, rule: StoredRestriction, body: Partial<z.infer<typeof restrictionBody>>): void {
  rule.kind = body.kind ?? rule.kind;
  rule.branchMatchKind = body.branch_match_kind ?? rule.branchMatchKind;
  rule.pattern = body.pattern ?? rule.pattern;
  rule.branchType = body.branch_type ?? rule.branchType;
  if (rule.branchMatchKind === 'glob') {
    if (rule.pattern.trim() === '') fail(kit, 400, 'Bad request', 'pattern: required when branch_match_kind is glob');
    rule.branchType = null;
  } else {
    if (rule.branchType === null) fail(kit, 400, 'Bad request', 'branch_type: required when branch_match_kind is branching_model');
    rule.pattern = '';
  }
  if (body.value !== undefined) rule.value = body.value;
  if (VALUED_KINDS.has(rule.kind) && rule.value === null) fail(kit, 400, 'Bad request', `value: required for ${rule.kind}`);
  if (!VALUED_KINDS.has(rule.kind)) rule.value = null;
  if (body.users) {
    rule.userUuids = body.users.map((reference) => {
      const user = findUser(kit, reference);
      if (!user) fail(kit, 400, 'Bad request', 'users: no such user');
      return user.uuid;
    });
  }
  if (body.groups) rule.groupSlugs = [];
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

async function applyModelBranch(kit: RouteKit, repository: Repository, target: ModelBranch, body: z.infer<typeof modelBranchBody> | null | undefined, field: string): Promise<void> {
  if (!body) return;
  const useMainbranch = body.use_mainbranch ?? target.useMainbranch;
  const name = body.name === undefined ? (useMainbranch ? null : target.name) : body.name;
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

function applyHook(hook: StoredHook, body: Partial<z.infer<typeof hookBody>>): void {
  hook.url = body.url ?? hook.url;
  hook.description = body.description ?? hook.description;
  hook.active = body.active ?? hook.active;
  if (body.events) hook.events = [...new Set(body.events)];
  if (body.secret !== undefined) hook.secret = body.secret || null;
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

/** `siblings`: the variables whose keys it must differ from (the repository's, or one environment's). */
function applyVariable(kit: RouteKit, siblings: StoredVariable[], variable: StoredVariable, body: Partial<z.infer<typeof variableBody>>): void {
  if (body.key !== undefined) {
    if (siblings.some((other) => other.uuid !== variable.uuid && other.key === body.key)) fail(kit, 409, `A variable named ${body.key} already exists.`);
    variable.key = body.key;
  }
  variable.value = body.value ?? variable.value;
  variable.secured = body.secured ?? variable.secured;
}

function environmentJson(environment: StoredEnvironment): Json {
  return {
    type: 'deployment_environment',
    uuid: environment.uuid,
    name: environment.name,
    slug: environment.slug,
    rank: environment.rank,
    hidden: false,
    environment_type: { type: 'deployment_environment_type', name: environment.type, rank: ENVIRONMENT_TYPES.indexOf(environment.type) },
  };
}

/** Deployment variables answer like pipeline variables, under their own type name. */
function deploymentVariableJson(variable: StoredVariable): Json {
  return { ...variableJson(variable), type: 'deployment_variable' };
}

/**
 * Deployment environments and their variables: listed by readers of the
 * repository, changed by its admins. Bitbucket has no PUT for an environment
 * (changes go through `/changes`, not emulated); an environment's name is unique.
 */
function registerEnvironments(registry: RouteRegistry): void {
  const environmentIn = (request: RouteRequest, kit: RouteKit, settings: Settings): StoredEnvironment => {
    const param = request.params.environment_uuid ?? '';
    const environment = environmentsOf(settings).find((candidate) => sameUuid(candidate.uuid, param));
    if (!environment) fail(kit, 404, `No environment ${param}`);
    return environment;
  };
  const open = (request: RouteRequest, kit: RouteKit, need: 'read' | 'write' | 'admin'): { repository: Repository; settings: Settings } => {
    const repository = kit.repository(request, need);
    return { repository, settings: settingsOf(kit, repository) };
  };

  registry.add('GET', `${REPO}/environments`, (request, kit) => {
    const { settings } = open(request, kit, 'read');
    return kit.paginate(request, [...environmentsOf(settings)].sort((a, b) => a.rank - b.rank).map(environmentJson));
  });

  registry.add('POST', `${REPO}/environments`, async (request, kit) => {
    const { repository, settings } = open(request, kit, 'admin');
    const body = await parseBody(request, kit, environmentBody);
    const environments = environmentsOf(settings);
    if (environments.some((other) => other.name.toLowerCase() === body.name.toLowerCase())) fail(kit, 409, `Environment with name ${body.name} already exists.`);
    const environment: StoredEnvironment = {
      uuid: kit.newUuid(), name: body.name, slug: body.name.toLowerCase().replace(/[^a-z0-9]+/g, '-'), type: body.environment_type.name,
      rank: body.rank ?? environments.length, variables: [],
    };
    environments.push(environment);
    await kit.save();
    return created(environmentJson(environment), repoApi(kit, repository, `environments/${encodeURIComponent(environment.uuid)}`));
  });

  registry.add('GET', `${REPO}/environments/{environment_uuid}`, (request, kit) => {
    const { settings } = open(request, kit, 'read');
    return { status: 200, body: environmentJson(environmentIn(request, kit, settings)) };
  });

  registry.add('DELETE', `${REPO}/environments/{environment_uuid}`, async (request, kit) => {
    const { settings } = open(request, kit, 'admin');
    const environment = environmentIn(request, kit, settings);
    settings.environments = environmentsOf(settings).filter((other) => other !== environment);
    await kit.save();
    return { status: 204 };
  });

  const variables = `${REPO}/deployments_config/environments/{environment_uuid}/variables`;
  const variableIn = (request: RouteRequest, kit: RouteKit, environment: StoredEnvironment): StoredVariable => {
    const param = request.params.variable_uuid ?? '';
    const variable = environment.variables.find((candidate) => sameUuid(candidate.uuid, param));
    if (!variable) fail(kit, 404, `No variable ${param}`);
    return variable;
  };

  // Readable with write access, as pipeline variables are; the value of a secured one never.
  registry.add('GET', variables, (request, kit) => {
    const { settings } = open(request, kit, 'write');
    return kit.paginate(request, environmentIn(request, kit, settings).variables.map(deploymentVariableJson));
  });

  registry.add('POST', variables, async (request, kit) => {
    const { repository, settings } = open(request, kit, 'admin');
    const environment = environmentIn(request, kit, settings);
    const body = await parseBody(request, kit, variableBody);
    const variable: StoredVariable = { uuid: kit.newUuid(), key: '', value: '', secured: false };
    applyVariable(kit, environment.variables, variable, body);
    environment.variables.push(variable);
    await kit.save();
    return created(deploymentVariableJson(variable), repoApi(kit, repository, `deployments_config/environments/${encodeURIComponent(environment.uuid)}/variables/${encodeURIComponent(variable.uuid)}`));
  });

  registry.add('PUT', `${variables}/{variable_uuid}`, async (request, kit) => {
    const { settings } = open(request, kit, 'admin');
    const environment = environmentIn(request, kit, settings);
    const variable = variableIn(request, kit, environment);
    const body = await parseBody(request, kit, variableBody.partial());
    if (body.secured === false && variable.secured) fail(kit, 400, 'Bad request', 'secured: a secured variable cannot be unsecured');
    const updated = structuredClone(variable);
    applyVariable(kit, environment.variables, updated, body);
    Object.assign(variable, updated);
    await kit.save();
    return { status: 200, body: deploymentVariableJson(variable) };
  });

  registry.add('DELETE', `${variables}/{variable_uuid}`, async (request, kit) => {
    const { settings } = open(request, kit, 'admin');
    const environment = environmentIn(request, kit, settings);
    const variable = variableIn(request, kit, environment);
    environment.variables = environment.variables.filter((other) => other !== variable);
    await kit.save();
    return { status: 204 };
  });
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

// --- the collections: one way to list, create, read, update and delete -----

/**
 * A settings collection that Bitbucket serves the same way: list (paged),
 * create, read, update (all or nothing: worked out on a copy), delete.
 * Reading takes admin unless `read` says otherwise; changes always take admin.
 */
interface Collection<T, New, Update> {
  items(settings: Settings): T[];
  /** Under the repository, e.g. `hooks`; one item is `<path>/{<param>}`. */
  path: string;
  param: string;
  /** Numeric ids, or `{uuid}`s (which Bitbucket also takes without braces). */
  id: 'number' | 'uuid';
  idOf(item: T): number | string;
  /** For 404s: "No <noun> <id>". */
  noun: string;
  read?: 'write';
  /**
   * An access token with this scope needs only to reach the repository, for
   * reading and changing alike (the scope's documentation says so of `webhook`).
   */
  scopeGrants?: string;
  json(kit: RouteKit, repository: Repository, item: T): Json;
  /** The list's query filters. */
  filter?(request: RouteRequest, item: T): boolean;
  newSchema: z.ZodType<New>;
  /** A new item from a checked body; fails before allocating anything. */
  create(kit: RouteKit, request: RouteRequest, settings: Settings, body: New): T;
  /** Bitbucket answers most creations 201 with a Location; deploy keys 200. */
  createdStatus?: 200;
  updateSchema: z.ZodType<Update>;
  update(kit: RouteKit, settings: Settings, item: T, body: Update): void;
}

function registerCollection<T, New, Update>(registry: RouteRegistry, collection: Collection<T, New, Update>): void {
  const list = `${REPO}/${collection.path}`;
  const one = `${list}/{${collection.param}}`;
  const open = (request: RouteRequest, kit: RouteKit, need: 'write' | 'admin'): { repository: Repository; settings: Settings } => {
    const { principal } = request;
    const granted = collection.scopeGrants !== undefined && principal.kind === 'access-token' && expandScopes(principal.scopes).has(collection.scopeGrants);
    const repository = kit.repository(request, granted ? 'read' : need);
    return { repository, settings: settingsOf(kit, repository) };
  };
  const itemOf = (request: RouteRequest, kit: RouteKit, settings: Settings): T => {
    const param = request.params[collection.param] ?? '';
    const id = collection.id === 'number' ? idParam(request, kit, collection.param) : param;
    const item = collection.items(settings).find((candidate) => {
      const candidateId = collection.idOf(candidate);
      return typeof candidateId === 'number' ? candidateId === id : sameUuid(candidateId, param);
    });
    if (item === undefined) fail(kit, 404, `No ${collection.noun} ${param}`);
    return item;
  };

  registry.add('GET', list, (request, kit) => {
    const { repository, settings } = open(request, kit, collection.read ?? 'admin');
    const items = collection.items(settings).filter((item) => collection.filter?.(request, item) ?? true);
    return kit.paginate(request, items.map((item) => collection.json(kit, repository, item)));
  });

  registry.add('POST', list, async (request, kit): Promise<RouteResponse> => {
    const { repository, settings } = open(request, kit, 'admin');
    const item = collection.create(kit, request, settings, await parseBody(request, kit, collection.newSchema));
    collection.items(settings).push(item);
    await kit.save();
    const body = collection.json(kit, repository, item);
    if (collection.createdStatus === 200) return { status: 200, body };
    return created(body, repoApi(kit, repository, `${collection.path}/${encodeURIComponent(String(collection.idOf(item)))}`));
  });

  registry.add('GET', one, (request, kit) => {
    const { repository, settings } = open(request, kit, collection.read ?? 'admin');
    return { status: 200, body: collection.json(kit, repository, itemOf(request, kit, settings)) };
  });

  registry.add('PUT', one, async (request, kit) => {
    const { repository, settings } = open(request, kit, 'admin');
    const item = itemOf(request, kit, settings);
    const updated = structuredClone(item);
    collection.update(kit, settings, updated, await parseBody(request, kit, collection.updateSchema));
    Object.assign(item as object, updated);
    await kit.save();
    return { status: 200, body: collection.json(kit, repository, item) };
  });

  registry.add('DELETE', one, async (request, kit) => {
    const { settings } = open(request, kit, 'admin');
    const items = collection.items(settings);
    items.splice(items.indexOf(itemOf(request, kit, settings)), 1);
    await kit.save();
    return { status: 204 };
  });
}

/** The user a path parameter names; 404 when there is none. */
function userInPath(request: RouteRequest, kit: RouteKit, param: string): User {
  const id = request.params[param] ?? '';
  const user = findUserByPathId(kit, id);
  if (!user) fail(kit, 404, `No user ${id}`);
  return user;
}

/**
 * Every route here first refuses a credential Bitbucket documents as refused for
 * its operation (credentialRefusal: an API token's scopes, what access tokens may
 * never do), before it looks at the repository.
 */
function guarded(registry: RouteRegistry): RouteRegistry {
  return {
    add(method, path, handler) {
      const operation = findOperation(method, path);
      registry.add(method, path, (request, kit) => {
        const refused = operation?.template === path ? credentialRefusal(request.principal, operation) : undefined;
        return refused ? kit.error(403, refused.message, refused.detail) : handler(request, kit);
      });
    },
  };
}

export function register(routes: RouteRegistry): void {
  const registry = guarded(routes);
  const admin = (request: RouteRequest, kit: RouteKit): { repository: Repository; settings: Settings } => {
    const repository = kit.repository(request, 'admin');
    return { repository, settings: settingsOf(kit, repository) };
  };

  registerEnvironments(registry);

  // Branch restrictions (filters: kind, pattern).
  registerCollection(registry, {
    items: (settings) => settings.restrictions,
    path: 'branch-restrictions',
    param: 'id',
    id: 'number',
    idOf: (rule) => rule.id,
    noun: 'branch restriction with ID',
    json: restrictionJson,
    filter(request, rule) {
      const kind = request.url.searchParams.get('kind');
      const pattern = request.url.searchParams.get('pattern');
      return (kind === null || rule.kind === kind) && (pattern === null || rule.pattern === pattern);
    },
    newSchema: restrictionBody,
    create(kit, _request, _settings, body) {
      const rule: StoredRestriction = { id: 0, kind: body.kind, branchMatchKind: body.branch_match_kind, pattern: '', branchType: null, value: null, userUuids: [], groupSlugs: [] };
      applyRestriction(kit, rule, body);
      rule.id = kit.nextId('branch-restriction');
      return rule;
    },
    updateSchema: restrictionBody.partial(),
    update: (kit, _settings, rule, body) => applyRestriction(kit, rule, body),
  });

  // Webhooks: the secret is write-only.
  registerCollection(registry, {
    items: (settings) => settings.hooks,
    path: 'hooks',
    param: 'uid',
    id: 'uuid',
    idOf: (hook) => hook.uuid,
    noun: 'webhook',
    // "This scope gives read access to existing webhook subscriptions on all resources the authorization
    // mechanism can access, without needing further scopes"; it also creates, updates and deletes them
    // (spec narrative, "Bitbucket OAuth 2.0 scopes", webhook). Creating one subscribed to pull request
    // events also needs `pullrequest` there: not checked here.
    scopeGrants: 'webhook',
    json: hookJson,
    newSchema: hookBody,
    create(kit, _request, _settings, body) {
      const hook: StoredHook = { uuid: kit.newUuid(), url: body.url, description: '', active: true, events: [], secret: null, createdAt: kit.now() };
      applyHook(hook, body);
      return hook;
    },
    updateSchema: hookBody.partial(),
    update: (_kit, _settings, hook, body) => applyHook(hook, body),
  });

  // Deploy keys.
  registerCollection(registry, {
    items: (settings) => settings.deployKeys,
    path: 'deploy-keys',
    param: 'key_id',
    id: 'number',
    idOf: (key) => key.id,
    noun: 'deploy key with ID',
    json: deployKeyJson,
    newSchema: deployKeyBody,
    create(kit, request, settings, body) {
      if (settings.deployKeys.some((other) => other.key === body.key.key)) fail(kit, 400, 'Bad request', 'key: this key is already a deploy key of the repository');
      const owner = actorOf(request, kit);
      return { id: kit.nextId('deploy-key'), ...body.key, label: body.label ?? '', addedOn: kit.now(), lastUsed: null, ownerUuid: owner.uuid };
    },
    createdStatus: 200,
    updateSchema: deployKeyBody.partial(),
    update(_kit, _settings, key, body) {
      Object.assign(key, body.key);
      key.label = body.label ?? key.label;
    },
  });

  // Pipeline variables: readable with write access, the value of a secured one never.
  registerCollection(registry, {
    items: (settings) => settings.variables,
    path: 'pipelines_config/variables',
    param: 'variable_uuid',
    id: 'uuid',
    idOf: (variable) => variable.uuid,
    noun: 'variable',
    read: 'write',
    json: (_kit, _repository, variable) => variableJson(variable),
    newSchema: variableBody,
    create(kit, _request, settings, body) {
      const variable: StoredVariable = { uuid: kit.newUuid(), key: '', value: '', secured: false };
      applyVariable(kit, settings.variables, variable, body);
      return variable;
    },
    updateSchema: variableBody.partial(),
    update(kit, settings, variable, body) {
      if (body.secured === false && variable.secured) fail(kit, 400, 'Bad request', 'secured: a secured variable cannot be unsecured');
      applyVariable(kit, settings.variables, variable, body);
    },
  });

  // Default reviewers: readable by anyone who can open a pull request, changed by admins.
  registry.add('GET', `${REPO}/default-reviewers`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const users = settingsOf(kit, repository).defaultReviewerUuids.map((uuid) => userOrNull(kit, uuid)).filter((u) => u !== null);
    return kit.paginate(request, users);
  });

  registry.add('GET', `${REPO}/effective-default-reviewers`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const items = settingsOf(kit, repository).defaultReviewerUuids.flatMap((uuid) => {
      const user = userOrNull(kit, uuid);
      return user === null ? [] : [{ type: 'default_reviewer_and_type', reviewer_type: 'repository', user }];
    });
    return kit.paginate(request, items);
  });

  registry.add('GET', `${REPO}/default-reviewers/{target_username}`, (request, kit) => {
    const repository = kit.repository(request, 'read');
    const user = userInPath(request, kit, 'target_username');
    if (!settingsOf(kit, repository).defaultReviewerUuids.includes(user.uuid)) fail(kit, 404, `${user.displayName} is not a default reviewer`);
    return { status: 200, body: kit.userJson(user) };
  });

  registry.add('PUT', `${REPO}/default-reviewers/{target_username}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const user = userInPath(request, kit, 'target_username');
    if (!settings.defaultReviewerUuids.includes(user.uuid)) settings.defaultReviewerUuids.push(user.uuid);
    await kit.save();
    return { status: 200, body: kit.userJson(user) };
  });

  registry.add('DELETE', `${REPO}/default-reviewers/{target_username}`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const user = userInPath(request, kit, 'target_username');
    if (!settings.defaultReviewerUuids.includes(user.uuid)) fail(kit, 404, `${user.displayName} is not a default reviewer`);
    settings.defaultReviewerUuids = settings.defaultReviewerUuids.filter((uuid) => uuid !== user.uuid);
    await kit.save();
    return { status: 204 };
  });

  // Branching model: the active model (readers) and its settings (admins).
  for (const path of ['branching-model', 'effective-branching-model']) {
    registry.add('GET', `${REPO}/${path}`, async (request, kit) => {
      const repository = kit.repository(request, 'read');
      return { status: 200, body: await branchingModelJson(kit, repository, settingsOf(kit, repository).branchingModel, path) };
    });
  }

  registry.add('GET', `${REPO}/branching-model/settings`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return { status: 200, body: await branchingSettingsJson(kit, repository, settings.branchingModel) };
  });

  // Only what the body names changes; branch types are matched by kind.
  registry.add('PUT', `${REPO}/branching-model/settings`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    const body = await parseBody(request, kit, branchingModelBody);
    const model = structuredClone(settings.branchingModel);
    await applyModelBranch(kit, repository, model.development, body.development, 'development');
    if (body.production) {
      model.production.enabled = body.production.enabled ?? model.production.enabled;
      if (model.production.enabled) await applyModelBranch(kit, repository, model.production, body.production, 'production');
    }
    if (body.branch_types) {
      for (const entry of body.branch_types) {
        const type = model.branchTypes.find((t) => t.kind === entry.kind);
        if (!type) continue;
        type.enabled = entry.enabled ?? type.enabled;
        type.prefix = entry.prefix ?? type.prefix;
        if (type.enabled && (type.prefix.trim() === '' || /\s|\.\.|[~^:?*[\\]/.test(type.prefix))) fail(kit, 400, 'Bad request', `branch_types: "${type.prefix}" is not a valid ${entry.kind} prefix`);
      }
    }
    settings.branchingModel = model;
    await kit.save();
    return { status: 200, body: await branchingSettingsJson(kit, repository, model) };
  });

  // Pipelines' switch.
  const pipelinesJson = (kit: RouteKit, repository: Repository, settings: Settings): Json => ({
    type: 'repository_pipelines_configuration',
    enabled: settings.pipelinesEnabled,
    repository: kit.repositoryJson(repository),
  });

  registry.add('GET', `${REPO}/pipelines_config`, (request, kit) => {
    const { repository, settings } = admin(request, kit);
    return { status: 200, body: pipelinesJson(kit, repository, settings) };
  });

  registry.add('PUT', `${REPO}/pipelines_config`, async (request, kit) => {
    const { repository, settings } = admin(request, kit);
    settings.pipelinesEnabled = (await parseBody(request, kit, pipelinesBody)).enabled ?? settings.pipelinesEnabled;
    await kit.save();
    return { status: 200, body: pipelinesJson(kit, repository, settings) };
  });

  // Which project settings the repository overrides.
  registry.add('GET', `${REPO}/override-settings`, (request, kit) => {
    const { settings } = admin(request, kit);
    return { status: 200, body: { type: 'repository_inheritance_state', override_settings: settings.overrides } };
  });

  registry.add('PUT', `${REPO}/override-settings`, async (request, kit) => {
    const { settings } = admin(request, kit);
    const body = (await parseBody(request, kit, overridesBody)).override_settings ?? {};
    for (const key of Object.keys(settings.overrides) as Array<keyof Settings['overrides']>) settings.overrides[key] = body[key] ?? settings.overrides[key];
    await kit.save();
    return { status: 204 };
  });

  // Explicit user permissions (the repository's own list; workspace owners' implicit admin is not listed).
  // The emulator has no groups: their list is empty.
  registry.add('GET', `${REPO}/permissions-config/users`, (request, kit) => {
    const repository = kit.repository(request, 'admin');
    return kit.paginate(request, repository.permissions.map((entry) => userPermissionJson(kit, repository, entry)));
  });

  registry.add('GET', `${REPO}/permissions-config/users/{selected_user_id}`, (request, kit) => {
    const repository = kit.repository(request, 'admin');
    const user = userInPath(request, kit, 'selected_user_id');
    const entry = repository.permissions.find((p) => p.userUuid === user.uuid);
    if (!entry) fail(kit, 404, `${user.displayName} has no explicit permission on this repository`);
    return { status: 200, body: userPermissionJson(kit, repository, entry) };
  });

  registry.add('PUT', `${REPO}/permissions-config/users/{selected_user_id}`, async (request, kit) => {
    const repository = kit.repository(request, 'admin');
    const user = userInPath(request, kit, 'selected_user_id');
    // "The selected user must be a member of the workspace, and cannot be the workspace owner."
    const role = kit.workspace(request).members.find((member) => member.userUuid === user.uuid)?.permission;
    if (role === undefined || role === 'owner') fail(kit, 400, 'Bad request', `${user.displayName} ${role === 'owner' ? 'is an owner of the workspace' : 'is not a member of the workspace'}.`);
    const { permission } = await parseBody(request, kit, permissionBody);
    const entry = repository.permissions.find((p) => p.userUuid === user.uuid);
    if (entry) entry.permission = permission;
    else repository.permissions.push({ userUuid: user.uuid, permission });
    await kit.save();
    return { status: 200, body: userPermissionJson(kit, repository, { userUuid: user.uuid, permission }) };
  });

  registry.add('DELETE', `${REPO}/permissions-config/users/{selected_user_id}`, async (request, kit) => {
    const repository = kit.repository(request, 'admin');
    const user = userInPath(request, kit, 'selected_user_id');
    if (!repository.permissions.some((p) => p.userUuid === user.uuid)) fail(kit, 404, `${user.displayName} has no explicit permission on this repository`);
    repository.permissions = repository.permissions.filter((p) => p.userUuid !== user.uuid);
    await kit.save();
    return { status: 204 };
  });

  registry.add('GET', `${REPO}/permissions-config/groups`, (request, kit) => {
    kit.repository(request, 'admin');
    return kit.paginate(request, []);
  });

  for (const method of ['GET', 'PUT', 'DELETE'] as const) {
    registry.add(method, `${REPO}/permissions-config/groups/{group_slug}`, (request, kit) => {
      kit.repository(request, 'admin');
      fail(kit, 404, `No group ${request.params.group_slug ?? ''}`);
    });
  }
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
  const environment = (name: string): StoredEnvironment | undefined => environmentsOf(settings).find((candidate) => candidate.name === name);
  environment('Staging')?.variables.push({ uuid: '{5e6f7a8b-9c0d-4ebf-8a2b-3c4d5e6f7a8b}', key: 'API_URL', value: 'https://staging.example.com', secured: false });
  environment('Production')?.variables.push(
    { uuid: '{6f7a8b9c-0d1e-4fc0-9b3c-4d5e6f7a8b9c}', key: 'API_URL', value: 'https://example.com', secured: false },
    { uuid: '{7a8b9c0d-1e2f-4ad1-8c4d-5e6f7a8b9c0d}', key: 'DB_PASSWORD', value: 'demo-secured-db-password', secured: true },
  );
}
