/**
 * Putting a snapshot's configuration back (README, "Restoring configuration"):
 * first a plan of exactly what changes in the target — each item added, replaced
 * or removed, what stays as it is, and what cannot be written (secured values,
 * webhook secrets) — then the writes, each with the identity the OpenAPI spec
 * takes for it (the access table, credentials.ts).
 *
 * The plan makes the target's configuration equal the snapshot's, with three
 * exceptions that never destroy what a snapshot cannot give back: access is
 * added or raised but never taken away (user and group permissions), a
 * deployment environment is never deleted (its deployment history goes with it),
 * and a secured variable is never deleted or replaced (its value is in no snapshot).
 * Changes that lower protection or access — a permission lowered, a default
 * reviewer, a webhook or a deploy key removed — are listed apart (`lowering`)
 * and written only when the request chooses each one.
 *
 * Applying is idempotent: a plan made again after an interrupted run has only
 * what is still left to do.
 */
import { digestOf } from '../engine/bucket/metadata.js';
import type { ConfigurationNote, SnapshotConfiguration } from '../engine/configuration-views.js';
import { LifeboatError, toLifeboatError } from '../engine/errors.js';
import type { BitbucketClient } from './client.js';
import {
  CONFIGURATION_SECTIONS, type ConfigurationClients, type ConfigurationSection, type RepositoryAddress, readSection, repositoryBase,
} from './configuration.js';
import { CONFIGURATION_ACCESS, type CredentialKind, credentialScopes, readsWith, writesWith } from './credentials.js';

type Item = Record<string, unknown>;

export interface ConfigurationChange {
  section: ConfigurationSection;
  action: 'add' | 'replace' | 'remove';
  item: string;
}

interface Step extends ConfigurationChange {
  /** Lowers access or removes a member, webhook or deploy key: only when chosen. */
  lowers?: boolean;
  /** The writes, with the identity the section is written with, against the target's API path. */
  run(client: BitbucketClient, base: string): Promise<void>;
}

export interface ConfigurationPlan {
  steps: Step[];
  /** In the target, not in the snapshot, and left as they are. */
  kept: ConfigurationNote[];
  /** In the snapshot, and not writable: secured values, webhook secrets, settings Lifeboat does not change. */
  notWritable: ConfigurationNote[];
  /** Items that already match the snapshot. */
  unchanged: number;
  /** Every change that lowers (whether chosen or not): never part of a restore unless the request names it. */
  lowering: ConfigurationChange[];
}

export interface ConfigurationRestoreResult {
  written: ConfigurationChange[];
  /** What the plan could not write (notWritable), and the writes Bitbucket refused, with its reason. */
  notWritten: ConfigurationNote[];
}

/**
 * The target's configuration now, every section the snapshot holds. A section it
 * cannot read stops the restore before anything is written: a plan made without
 * it could not say what would change.
 */
export async function readTargetConfiguration(clients: ConfigurationClients, address: RepositoryAddress, sections: Iterable<ConfigurationSection>, targetName: string): Promise<Map<ConfigurationSection, unknown>> {
  const current = new Map<ConfigurationSection, unknown>();
  for (const section of sections) {
    try {
      current.set(section, (await readSection(clients, address, section)).data);
    } catch (error) {
      const failure = toLifeboatError(error);
      if (failure.kind !== 'user') throw error;
      const identity = readsWith(section) === 'app' ? "the app's own identity" : 'the stored credential';
      throw new LifeboatError(failure.code, `Lifeboat cannot restore configuration into ${targetName}: reading its ${section} with ${identity} failed: ${failure.message} No configuration was written.`, { cause: error, ...(failure.details ? { details: failure.details } : {}) });
    }
  }
  return current;
}

// ------------------------------------------------------------------ planning

const str = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value));
const items = (data: unknown): Item[] => (Array.isArray(data) ? data.filter((item): item is Item => item !== null && typeof item === 'object') : []);
const obj = (data: unknown): Item => (data !== null && typeof data === 'object' && !Array.isArray(data) ? data as Item : {});
const path = (value: unknown): string => encodeURIComponent(str(value));

interface ListRules {
  section: ConfigurationSection;
  key(item: Item): string;
  label(item: Item): string;
  /** What decides whether a matched item must be replaced. */
  comparable(item: Item): unknown;
  add(wanted: Item): Step['run'];
  replace(wanted: Item, have: Item): Step['run'];
  /** Absent: an item only the target has is kept, for this reason. */
  remove?(have: Item): Step['run'];
  keepReason?: string;
  /** Removing an item of this section lowers protection or access. */
  removalLowers?: boolean;
  /** Whether replacing `have` with `wanted` lowers access. */
  lowers?(wanted: Item, have: Item): boolean;
}

function planList(plan: ConfigurationPlan, rules: ListRules, wanted: Item[], have: Item[]): void {
  const haves = new Map(have.map((item) => [rules.key(item), item]));
  for (const item of wanted) {
    const matched = haves.get(rules.key(item));
    haves.delete(rules.key(item));
    if (!matched) plan.steps.push({ section: rules.section, action: 'add', item: rules.label(item), run: rules.add(item) });
    else if (digestOf(rules.comparable(item)) !== digestOf(rules.comparable(matched))) plan.steps.push({ section: rules.section, action: 'replace', item: rules.label(item), run: rules.replace(item, matched), ...(rules.lowers?.(item, matched) ? { lowers: true } : {}) });
    else plan.unchanged += 1;
  }
  for (const item of haves.values()) {
    if (rules.remove) plan.steps.push({ section: rules.section, action: 'remove', item: rules.label(item), run: rules.remove(item), ...(rules.removalLowers ? { lowers: true } : {}) });
    else plan.kept.push({ section: rules.section, item: rules.label(item), reason: rules.keepReason ?? 'not in the snapshot' });
  }
}

/** Bitbucket's repository permissions, lowest first (OpenAPI repository_user_permission, repository_group_permission: `permission` enum none, read, write, admin). */
const PERMISSION_RANK: Record<string, number> = { none: 0, read: 1, write: 2, admin: 3 };
/** A permission not raised (or one not known) lowers: it needs a choice. */
const permissionLowers = (wanted: Item, have: Item): boolean => !((PERMISSION_RANK[str(wanted.permission)] ?? -1) > (PERMISSION_RANK[str(have.permission)] ?? Infinity));

const restrictionKey = (rule: Item): string => [rule.kind, rule.branch_match_kind, rule.branch_match_kind === 'glob' ? rule.pattern : rule.branch_type].map(str).join('|');
const restrictionBody = (rule: Item): Item => {
  const users = items(rule.users).map((user) => ({ uuid: user.uuid }));
  const groups = items(rule.groups).map((group) => ({ slug: group.slug }));
  return {
    kind: rule.kind,
    branch_match_kind: rule.branch_match_kind,
    ...(rule.branch_match_kind === 'glob' ? { pattern: rule.pattern } : { branch_type: rule.branch_type }),
    ...(rule.value === null || rule.value === undefined ? {} : { value: rule.value }),
    users,
    ...(groups.length > 0 ? { groups } : {}),
  };
};

const variableRules = (section: ConfigurationSection, prefix: string, base: (targetBase: string) => string): ListRules => ({
  section,
  key: (variable) => str(variable.key),
  label: (variable) => `${prefix}${str(variable.key)}`,
  comparable: (variable) => ({ value: variable.value ?? '', secured: variable.secured === true }),
  add: (variable) => async (client, target) => { await client.post(base(target), { key: variable.key, value: variable.value ?? '', secured: false }); },
  replace: (variable, have) => async (client, target) => { await client.put(`${base(target)}/${path(have.uuid)}`, { key: variable.key, value: variable.value ?? '', secured: false }); },
  remove: (have) => async (client, target) => { await client.delete(`${base(target)}/${path(have.uuid)}`); },
});

/** Variables: only non-secured ones are written; a secured one in the target is never touched. */
function planVariables(plan: ConfigurationPlan, rules: ListRules, wanted: Item[], have: Item[]): void {
  const securedHere = new Set(have.filter((variable) => variable.secured === true).map((variable) => str(variable.key)));
  const plain = wanted.filter((variable) => variable.secured !== true);
  for (const variable of plain.filter((candidate) => securedHere.has(str(candidate.key)))) {
    plan.kept.push({ section: rules.section, item: rules.label(variable), reason: 'secured here and not in the snapshot: its value cannot be put back if it were replaced' });
  }
  for (const variable of have.filter((candidate) => candidate.secured === true && !wanted.some((other) => str(other.key) === str(candidate.key)))) {
    plan.kept.push({ section: rules.section, item: rules.label(variable), reason: 'secured: its value is in no snapshot, so Lifeboat never deletes it' });
  }
  planList(plan, rules, plain.filter((variable) => !securedHere.has(str(variable.key))), have.filter((variable) => variable.secured !== true));
}

const modelBranch = (branch: unknown, withEnabled: boolean): Item => {
  const value = obj(branch);
  const enabled = withEnabled ? { enabled: value.enabled === true } : {};
  if (withEnabled && value.enabled !== true) return enabled;
  return value.use_mainbranch === true ? { ...enabled, use_mainbranch: true } : { ...enabled, use_mainbranch: false, name: value.name ?? null };
};
const branchingModelBody = (settings: unknown): Item => {
  const value = obj(settings);
  return {
    development: modelBranch(value.development, false),
    production: modelBranch(value.production, true),
    branch_types: items(value.branch_types).map((type) => ({ kind: type.kind, enabled: type.enabled === true, prefix: type.prefix ?? '' })).sort((a, b) => str(a.kind).localeCompare(str(b.kind))),
  };
};

/** What a restore changes of the repository's own settings; privacy and project it names but never changes. */
const REPOSITORY_WRITABLE = ['description', 'language', 'fork_policy'] as const;

function planRepository(plan: ConfigurationPlan, wanted: Item, have: Item, targetIsNew: boolean): void {
  const changed = REPOSITORY_WRITABLE.filter((field) => str(wanted[field]) !== str(have[field]));
  if (changed.length > 0) {
    const body = Object.fromEntries(changed.map((field) => [field, wanted[field] ?? '']));
    plan.steps.push({ section: 'repository', action: 'replace', item: changed.map((field) => `${field.replace('_', ' ')} "${str(wanted[field])}"`).join(', '), run: async (client, base) => { await client.put(base, body); } });
  } else plan.unchanged += 1;
  if (wanted.is_private === false && (targetIsNew || have.is_private !== false)) {
    plan.notWritable.push({ section: 'repository', item: 'privacy: public', reason: 'Lifeboat never makes a repository public; change it in the repository settings if you want that' });
  }
  const project = obj(wanted.project);
  if (project.key !== undefined && (targetIsNew || str(project.key) !== str(obj(have.project).key))) {
    plan.notWritable.push({ section: 'repository', item: `project ${str(project.name ?? project.key)}`, reason: 'Lifeboat does not move repositories between projects (it changes who can see them)' });
  }
}

/**
 * The plan that makes `current` (the target's configuration, or undefined for a
 * repository not created yet, planned against nothing) match the snapshot's.
 */
export function planConfiguration(snapshot: SnapshotConfiguration, current: Map<ConfigurationSection, unknown> | undefined, credential: CredentialKind, chosen: ReadonlyArray<{ section: string; action: string; item: string }> = []): ConfigurationPlan {
  const plan: ConfigurationPlan = { steps: [], kept: [], notWritable: [...snapshot.missing], unchanged: 0, lowering: [] };
  for (const section of CONFIGURATION_SECTIONS) {
    const document = snapshot.documents.get(section);
    if (!document) continue;
    const wanted = document.data;
    const have = current?.get(section);
    switch (section) {
      case 'repository':
        planRepository(plan, obj(wanted), obj(have), current === undefined);
        break;
      case 'branch-restrictions':
        planList(plan, {
          section,
          key: restrictionKey,
          label: (rule) => `${str(rule.kind)} on ${rule.branch_match_kind === 'glob' ? str(rule.pattern) : `${str(rule.branch_type)} branches`}`,
          comparable: (rule) => ({ ...restrictionBody(rule), users: items(rule.users).map((user) => str(user.uuid)).sort(), groups: items(rule.groups).map((group) => str(group.slug)).sort() }),
          add: (rule) => async (client, base) => { await client.post(`${base}/branch-restrictions`, restrictionBody(rule)); },
          replace: (rule, matched) => async (client, base) => { await client.put(`${base}/branch-restrictions/${path(matched.id)}`, restrictionBody(rule)); },
          remove: (matched) => async (client, base) => { await client.delete(`${base}/branch-restrictions/${path(matched.id)}`); },
        }, items(wanted), items(have));
        break;
      case 'default-reviewers':
        planList(plan, {
          section,
          key: (user) => str(user.uuid),
          label: (user) => str(user.display_name ?? user.uuid),
          comparable: () => null,
          add: (user) => async (client, base) => { await client.put(`${base}/default-reviewers/${path(user.uuid)}`, {}); },
          replace: () => async () => undefined,
          remove: (user) => async (client, base) => { await client.delete(`${base}/default-reviewers/${path(user.uuid)}`); },
          removalLowers: true,
        }, items(wanted), items(have));
        break;
      case 'branching-model': {
        const body = branchingModelBody(wanted);
        if (have !== undefined && digestOf(body) === digestOf(branchingModelBody(have))) plan.unchanged += 1;
        else plan.steps.push({ section, action: 'replace', item: 'the branching model (development and production branches, branch prefixes)', run: async (client, base) => { await client.put(`${base}/branching-model/settings`, body); } });
        break;
      }
      case 'webhooks':
        planList(plan, {
          section,
          key: (hook) => str(hook.url),
          label: (hook) => str(hook.url),
          comparable: (hook) => ({ description: str(hook.description), active: hook.active === true, events: [...(Array.isArray(hook.events) ? hook.events as unknown[] : [])].map(str).sort() }),
          add: (hook) => async (client, base) => { await client.post(`${base}/hooks`, { url: hook.url, description: hook.description ?? '', active: hook.active === true, events: hook.events }); },
          replace: (hook, matched) => async (client, base) => { await client.put(`${base}/hooks/${path(matched.uuid)}`, { url: hook.url, description: hook.description ?? '', active: hook.active === true, events: hook.events }); },
          remove: (matched) => async (client, base) => { await client.delete(`${base}/hooks/${path(matched.uuid)}`); },
          removalLowers: true,
        }, items(wanted), items(have));
        for (const hook of items(wanted).filter((candidate) => candidate.secret_set === true)) {
          const there = items(have).find((candidate) => str(candidate.url) === str(hook.url));
          if (there?.secret_set !== true) plan.notWritable.push({ section, item: `secret of webhook ${str(hook.url)}`, reason: 'Bitbucket never returns a webhook secret: set it again in the repository settings, under Webhooks' });
        }
        break;
      case 'deploy-keys':
        planList(plan, {
          section,
          key: (key) => str(key.key),
          label: (key) => `${str(key.label) || 'deploy key'} (${str(key.key).slice(0, 24)}…)`,
          comparable: (key) => ({ label: str(key.label) }),
          add: (key) => async (client, base) => { await client.post(`${base}/deploy-keys`, { key: `${str(key.key)}${key.comment ? ` ${str(key.comment)}` : ''}`, label: key.label ?? '' }); },
          replace: (key, matched) => async (client, base) => { await client.put(`${base}/deploy-keys/${path(matched.id)}`, { label: key.label ?? '' }); },
          remove: (matched) => async (client, base) => { await client.delete(`${base}/deploy-keys/${path(matched.id)}`); },
          removalLowers: true,
        }, items(wanted), items(have));
        break;
      case 'user-permissions':
        planList(plan, {
          section,
          key: (entry) => str(obj(entry.user).uuid),
          label: (entry) => `${str(obj(entry.user).display_name ?? obj(entry.user).uuid)}: ${str(entry.permission)}`,
          comparable: (entry) => entry.permission,
          add: (entry) => async (client, base) => { await client.put(`${base}/permissions-config/users/${path(obj(entry.user).account_id ?? obj(entry.user).uuid)}`, { permission: entry.permission }); },
          replace: (entry) => async (client, base) => { await client.put(`${base}/permissions-config/users/${path(obj(entry.user).account_id ?? obj(entry.user).uuid)}`, { permission: entry.permission }); },
          lowers: permissionLowers,
          keepReason: 'Lifeboat never takes access away',
        }, items(wanted), items(have));
        break;
      case 'group-permissions':
        planList(plan, {
          section,
          key: (entry) => str(obj(entry.group).slug),
          label: (entry) => `group ${str(obj(entry.group).name ?? obj(entry.group).slug)}: ${str(entry.permission)}`,
          comparable: (entry) => entry.permission,
          add: (entry) => async (client, base) => { await client.put(`${base}/permissions-config/groups/${path(obj(entry.group).slug)}`, { permission: entry.permission }); },
          replace: (entry) => async (client, base) => { await client.put(`${base}/permissions-config/groups/${path(obj(entry.group).slug)}`, { permission: entry.permission }); },
          lowers: permissionLowers,
          keepReason: 'Lifeboat never takes access away',
        }, items(wanted), items(have));
        break;
      case 'pipelines': {
        const enabled = obj(wanted).enabled === true;
        if (have !== undefined && (obj(have).enabled === true) === enabled) plan.unchanged += 1;
        else plan.steps.push({ section, action: 'replace', item: `Pipelines ${enabled ? 'enabled' : 'disabled'}`, run: async (client, base) => { await client.put(`${base}/pipelines_config`, { enabled }); } });
        break;
      }
      case 'pipeline-variables':
        planVariables(plan, variableRules(section, '', (base) => `${base}/pipelines_config/variables`), items(wanted), items(have));
        break;
      case 'environments':
        planEnvironments(plan, items(wanted), items(have));
        break;
    }
    for (const unreadable of document.unreadable) {
      if (section === 'webhooks') continue; // planned with the webhooks: a secret the target's webhook has stays
      if (securedHere(section, have, unreadable.item)) plan.kept.push({ section, item: unreadable.item, reason: 'secured: the repository keeps its own value' });
      else plan.notWritable.push({ section, item: unreadable.item, reason: `${unreadable.reason}: set it again in the repository settings` });
    }
  }
  // What Bitbucket lets no credential of this kind write is named beforehand, never tried.
  const refused = (section: ConfigurationSection): boolean => CONFIGURATION_ACCESS[section].restore.some((requirement) => credentialScopes(requirement, credential) === null);
  for (const step of plan.steps.filter((candidate) => refused(candidate.section))) {
    plan.notWritable.push({ section: step.section, item: `${step.action} ${step.item}`, reason: `Bitbucket lets no ${credential === 'access-token' ? 'access token' : 'API token'} write ${step.section}: restore with an API token to write it` });
  }
  plan.steps = plan.steps.filter((step) => !refused(step.section));
  const isChosen = (step: Step): boolean => chosen.some((choice) => choice.section === step.section && choice.action === step.action && choice.item === step.item);
  plan.lowering = plan.steps.filter((step) => step.lowers).map(({ section, action, item }) => ({ section, action, item }));
  plan.steps = plan.steps.filter((step) => !step.lowers || isChosen(step));
  return plan;
}

/** Whether the target already has the secured variable `item` names (`KEY`, or `Environment/KEY`). */
function securedHere(section: ConfigurationSection, have: unknown, item: string): boolean {
  const secured = (variables: unknown, key: string): boolean => items(variables).some((variable) => variable.secured === true && str(variable.key) === key);
  if (section === 'pipeline-variables') return secured(have, item);
  const slash = item.lastIndexOf('/');
  const environment = items(have).find((candidate) => str(candidate.name).toLowerCase() === item.slice(0, slash).toLowerCase());
  return environment !== undefined && secured(environment.variables, item.slice(slash + 1));
}

function planEnvironments(plan: ConfigurationPlan, wanted: Item[], have: Item[]): void {
  const section = 'environments';
  const haves = new Map(have.map((environment) => [str(environment.name).toLowerCase(), environment]));
  for (const environment of wanted) {
    const name = str(environment.name);
    const matched = haves.get(name.toLowerCase());
    haves.delete(name.toLowerCase());
    const plain = items(environment.variables).filter((variable) => variable.secured !== true);
    if (!matched) {
      plan.steps.push({
        section, action: 'add', item: `environment ${name} (${str(obj(environment.environment_type).name)}) with ${plain.length} variable${plain.length === 1 ? '' : 's'}`,
        async run(client, base) {
          const created = await client.post<Item>(`${base}/environments`, { name, environment_type: { name: obj(environment.environment_type).name } });
          for (const variable of plain) await client.post(`${base}/deployments_config/environments/${path(created.uuid)}/variables`, { key: variable.key, value: variable.value ?? '', secured: false });
        },
      });
      continue;
    }
    const variables = (base: string): string => `${base}/deployments_config/environments/${path(matched.uuid)}/variables`;
    planVariables(plan, variableRules(section, `${name}/`, variables), items(environment.variables), items(matched.variables));
  }
  for (const environment of haves.values()) plan.kept.push({ section, item: `environment ${str(environment.name)}`, reason: 'Lifeboat never deletes a deployment environment (its deployment history goes with it)' });
}

// ------------------------------------------------------------------ writing

/**
 * The plan's writes, removals first (so that nothing collides with what goes).
 * A write Bitbucket refuses (a user no longer in the workspace, a scope the
 * credential lacks) is listed and the rest go on; a transient failure throws,
 * and a plan made again continues from what is done.
 */
export async function applyConfiguration(plan: ConfigurationPlan, clients: ConfigurationClients, address: RepositoryAddress, signal?: AbortSignal): Promise<ConfigurationRestoreResult> {
  const base = repositoryBase(address);
  const order = { remove: 0, replace: 1, add: 2 } as const;
  const steps = [...plan.steps].sort((a, b) => CONFIGURATION_SECTIONS.indexOf(a.section) - CONFIGURATION_SECTIONS.indexOf(b.section) || order[a.action] - order[b.action]);
  const result: ConfigurationRestoreResult = { written: [], notWritten: [...plan.notWritable] };
  for (const step of steps) {
    signal?.throwIfAborted();
    try {
      await step.run(clients[writesWith(step.section)], base);
      result.written.push({ section: step.section, action: step.action, item: step.item });
    } catch (error) {
      const failure = toLifeboatError(error);
      if (failure.kind !== 'user') throw error;
      result.notWritten.push({ section: step.section, item: `${step.action} ${step.item}`, reason: failure.message });
    }
  }
  return result;
}

/** A plan as the page shows it: the changes, what stays, what cannot be written, and the lowering changes offered apart. */
export function describePlan(plan: ConfigurationPlan): { changes: ConfigurationChange[]; kept: ConfigurationNote[]; notWritable: ConfigurationNote[]; unchanged: number; lowering: ConfigurationChange[] } {
  return { changes: plan.steps.map(({ section, action, item }) => ({ section, action, item })), kept: plan.kept, notWritable: plan.notWritable, unchanged: plan.unchanged, lowering: plan.lowering };
}
