/**
 * A repository's configuration as Bitbucket serves it, one section per endpoint
 * (docs/bucket-format.md, "Configuration"): read for every snapshot, compared with
 * the previous snapshot's by digest, and stored again only when it differs.
 *
 * Each section is read with the identity the access table gives it
 * (credentials.ts, from the OpenAPI spec): the app's own wherever it may, so
 * that the customer's token keeps its allowance for git; the stored credential
 * where Bitbucket takes only tokens (webhooks, deploy keys). `fields=` keeps to
 * what a restore needs and leaves out what changes by itself (a deploy key's
 * last use, the repository embedded in a webhook), so that unchanged
 * configuration digests the same.
 */
import type { ConfigurationEntry, MetadataProblem } from '../engine/bucket/metadata.js';
import type { ConfigurationDocument } from '../engine/bucket/metadata.js';
import { FORMAT_VERSION } from '../engine/bucket/format.js';
import { inTurns } from '../engine/concurrency.js';
import { toLifeboatError } from '../engine/errors.js';
import { CONFIGURATION_SECTIONS, type ConfigurationSection } from '../engine/configuration-views.js';
import type { MetadataCollector, MetadataContext } from '../engine/metadata.js';
import { type BitbucketClient, apiPath } from './client.js';
import { CONFIGURATION_ACCESS, type CredentialKind, type Identity, credentialScopes, readsWith } from './credentials.js';

export type { Identity } from './credentials.js';

export interface ConfigurationClients {
  app: BitbucketClient;
  credential: BitbucketClient;
}

/** A repository as the REST paths name it: slugs, or UUIDs in braces. */
export interface RepositoryAddress {
  workspace: string;
  repository: string;
}

// The list is the bucket format's (the engine reads snapshots without this module).
export { CONFIGURATION_SECTIONS, type ConfigurationSection } from '../engine/configuration-views.js';

export type Unreadable = ConfigurationDocument['unreadable'][number];

export interface SectionRead {
  section: ConfigurationSection;
  readWith: Identity;
  data: unknown;
  unreadable: Unreadable[];
}

/** Bitbucket's largest page for these collections. */
const PAGELEN = 100;
const SECURED = 'secured: Bitbucket never returns the value of a secured variable';
const HOOK_SECRET = 'Bitbucket never returns a webhook secret, only that one is set';

/** The repository's own settings, as a snapshot keeps them (from a repository JSON with every field). */
export function repositorySettings(repository: Record<string, unknown>): Record<string, unknown> {
  const nested = (value: unknown, keys: string[]): Record<string, unknown> | null => (value && typeof value === 'object'
    ? Object.fromEntries(keys.flatMap((key) => (key in value ? [[key, (value as Record<string, unknown>)[key]]] : [])))
    : null);
  return {
    name: repository.name,
    description: repository.description,
    is_private: repository.is_private,
    fork_policy: repository.fork_policy,
    language: repository.language,
    mainbranch: nested(repository.mainbranch, ['name']),
    project: nested(repository.project, ['key', 'name', 'uuid']),
  };
}
const REPOSITORY_FIELDS = 'name,description,is_private,fork_policy,language,mainbranch.name,project.key,project.name,project.uuid';

async function list(client: BitbucketClient, path: string, fields: string): Promise<Array<Record<string, unknown>>> {
  const values: Array<Record<string, unknown>> = [];
  const separator = path.includes('?') ? '&' : '?';
  for await (const value of client.paginate<Record<string, unknown>>(`${path}${separator}pagelen=${PAGELEN}&fields=${encodeURIComponent(`${fields},next`)}`)) values.push(value);
  return values;
}

const valuesFields = (names: string[]): string => names.map((name) => `values.${name}`).join(',');
const VARIABLE_FIELDS = valuesFields(['uuid', 'key', 'value', 'secured']);

interface SectionReader {
  read(client: BitbucketClient, base: string, known: Record<string, unknown> | undefined): Promise<{ data: unknown; unreadable: Unreadable[] }>;
}

/** How each section is read (with the identity CONFIGURATION_ACCESS gives it). */
export const SECTION_READERS: Record<ConfigurationSection, SectionReader> = {
  repository: {
    // The backup has just read the repository with every field: no call of its own.
    read: async (client, base, known) => ({ data: repositorySettings(known ?? await client.get<Record<string, unknown>>(`${base}?fields=${REPOSITORY_FIELDS}`)), unreadable: [] }),
  },
  'branch-restrictions': {
    read: async (client, base) => ({
      data: await list(client, `${base}/branch-restrictions`, valuesFields(['id', 'kind', 'branch_match_kind', 'pattern', 'branch_type', 'value', 'users.uuid', 'users.account_id', 'users.display_name', 'groups.slug', 'groups.name'])),
      unreadable: [],
    }),
  },
  'default-reviewers': {
    read: async (client, base) => ({ data: await list(client, `${base}/default-reviewers`, valuesFields(['uuid', 'account_id', 'display_name'])), unreadable: [] }),
  },
  // The settings decide the model (Bitbucket derives /branching-model from them and the branches).
  'branching-model': {
    read: async (client, base) => ({ data: await client.get(`${base}/branching-model/settings?fields=development.name,development.use_mainbranch,production.name,production.use_mainbranch,production.enabled,branch_types`), unreadable: [] }),
  },
  webhooks: {
    async read(client, base) {
      const hooks = await list(client, `${base}/hooks`, valuesFields(['uuid', 'url', 'description', 'active', 'events', 'secret_set']));
      return { data: hooks, unreadable: hooks.filter((hook) => hook.secret_set === true).map((hook) => ({ item: `secret of webhook ${String(hook.url)}`, reason: HOOK_SECRET })) };
    },
  },
  'deploy-keys': {
    read: async (client, base) => ({ data: await list(client, `${base}/deploy-keys`, valuesFields(['id', 'key', 'label', 'comment'])), unreadable: [] }),
  },
  // Read as the app, but changed only with a token (the spec takes no Forge app for PUT and DELETE).
  'user-permissions': {
    read: async (client, base) => ({ data: await list(client, `${base}/permissions-config/users`, valuesFields(['permission', 'user.uuid', 'user.account_id', 'user.display_name'])), unreadable: [] }),
  },
  'group-permissions': {
    read: async (client, base) => ({ data: await list(client, `${base}/permissions-config/groups`, valuesFields(['permission', 'group.slug', 'group.name'])), unreadable: [] }),
  },
  pipelines: {
    read: async (client, base) => ({ data: await client.get(`${base}/pipelines_config?fields=enabled`), unreadable: [] }),
  },
  'pipeline-variables': {
    async read(client, base) {
      const variables = await list(client, `${base}/pipelines_config/variables`, VARIABLE_FIELDS);
      return { data: variables, unreadable: variables.filter((variable) => variable.secured === true).map((variable) => ({ item: String(variable.key), reason: SECURED })) };
    },
  },
  // One call for the list, then one per environment for its variables.
  environments: {
    async read(client, base) {
      const environments = await list(client, `${base}/environments`, valuesFields(['uuid', 'name', 'rank', 'environment_type.name']));
      const unreadable: Unreadable[] = [];
      const data = [];
      for (const environment of environments) {
        const variables = await list(client, `${base}/deployments_config/environments/${encodeURIComponent(String(environment.uuid))}/variables`, VARIABLE_FIELDS);
        unreadable.push(...variables.filter((variable) => variable.secured === true).map((variable) => ({ item: `${String(environment.name)}/${String(variable.key)}`, reason: SECURED })));
        data.push({ ...environment, variables });
      }
      return { data, unreadable };
    },
  },
};

export function repositoryBase(address: RepositoryAddress): string {
  return apiPath`/2.0/repositories/${address.workspace}/${address.repository}`;
}

/** One section of a repository's configuration, read with its identity. */
export async function readSection(clients: ConfigurationClients, address: RepositoryAddress, section: ConfigurationSection, known?: Record<string, unknown>): Promise<SectionRead> {
  const readWith = readsWith(section);
  const { data, unreadable } = await SECTION_READERS[section].read(clients[readWith], repositoryBase(address), known);
  return { section, readWith, data, unreadable };
}

/** What a section's entry is compared by: its content, never when it was read or by whom (`digest`: the snapshot's, MetadataContext). */
export function sectionDigest(read: Pick<SectionRead, 'data' | 'unreadable'>, digest: (value: unknown) => string): string {
  return digest({ data: read.data, unreadable: read.unreadable });
}

/** Sections read at once: a few, well within what the hourly budget and Bitbucket's per-second limits allow. */
const READ_CONCURRENCY = 4;

export interface ConfigurationCollectorOptions {
  clients: ConfigurationClients;
  address: RepositoryAddress;
  /** The repository as the backup already read it (every field): its own settings cost no call. */
  repository?: Record<string, unknown>;
  /** The kind of the stored credential: a section it may not read names what it needs. */
  credential: CredentialKind;
}

const KIND_NAMES: Record<CredentialKind, string> = { 'access-token': 'an access token', 'api-token': 'an API token' };

/** Who read a section and, when Bitbucket refused, what that identity needs for it (the access table's words). */
export function readerNeeds(section: ConfigurationSection, kind: CredentialKind): string {
  const requirement = CONFIGURATION_ACCESS[section].backup[0]!;
  if (requirement.identity === 'app') return `Read with the app's own identity, which needs the scope ${requirement.scopes.join(' and ')} (granted when the workspace installs or updates Lifeboat).`;
  const scopes = credentialScopes(requirement, kind);
  return scopes === null
    ? `Read with the stored credential (${KIND_NAMES[kind]}), and Bitbucket lets no ${kind === 'access-token' ? 'access token' : 'API token'} read it.`
    : `Read with the stored credential (${KIND_NAMES[kind]}), which needs the scope${scopes.length > 1 ? 's' : ''} ${scopes.join(' and ')} for it.`;
}

/**
 * The `configuration` section of a snapshot: one `lifeboat-configuration`
 * document per section. A section whose digest equals the previous snapshot's
 * names the same object again (nothing is written). A section Bitbucket refuses
 * (the app or the credential lacks a permission) is a problem of that section:
 * the previous snapshot's copy, if any, is kept. A transient failure (rate
 * limit, Bitbucket down) stops the collector, which carries the whole section
 * forward and marks the snapshot partial (src/engine/metadata.ts).
 */
export function configurationCollector(options: ConfigurationCollectorOptions): MetadataCollector {
  return {
    section: 'configuration',
    async collect(context: MetadataContext) {
      const previous = new Map((context.previous?.configuration ?? []).map((entry) => [entry.section, entry]));
      // Sections are independent: read a few at a time, and store the changed ones at once (a backup waits on both).
      const reads = await inTurns(CONFIGURATION_SECTIONS, READ_CONCURRENCY, async (section) => {
        context.signal?.throwIfAborted();
        try {
          return { section, read: await readSection(options.clients, options.address, section, section === 'repository' ? options.repository : undefined) };
        } catch (error) {
          return { section, error };
        }
      });
      const problems: MetadataProblem[] = [];
      const entries = await Promise.all(reads.map(async ({ section, read, error }): Promise<ConfigurationEntry | undefined> => {
        const before = previous.get(section);
        if (!read) {
          const failure = toLifeboatError(error);
          if (failure.kind !== 'user' || failure.code === 'ABORTED') throw error;
          problems.push({ section: 'configuration', subject: section, code: failure.code, message: `${failure.message} ${readerNeeds(section, options.credential)}${before ? ' The previous snapshot\'s copy is kept.' : ''}` });
          return before;
        }
        const digest = sectionDigest(read, context.digest);
        if (before?.digest === digest) return before;
        const document: ConfigurationDocument = {
          format: 'lifeboat-configuration', version: FORMAT_VERSION, fetchedAt: context.now().toISOString(),
          section, readWith: read.readWith, data: read.data, unreadable: read.unreadable,
        };
        return { section, digest, object: await context.writeDocument(document) };
      }));
      const configuration = entries.filter((entry): entry is ConfigurationEntry => entry !== undefined);
      // In section order, whatever order the reads ended in.
      problems.sort((a, b) => CONFIGURATION_SECTIONS.indexOf(a.subject as ConfigurationSection) - CONFIGURATION_SECTIONS.indexOf(b.subject as ConfigurationSection));
      return { configuration, problems };
    },
  };
}
