import { createHash } from 'node:crypto';
import { formatRepoPath } from '../../engine/bucket/bucket-keys.js';
import { CONFIGURATION_SECTIONS, type ConfigurationSection, isConfigurationSection, readSnapshotConfiguration } from '../../engine/configuration-views.js';
import { LifeboatError } from '../../engine/errors.js';
import { closest, defineCommand, repoOptions } from '../command.js';
import { openSnapshotData } from '../context.js';
import { inLine } from '../output.js';
import { allowUnsignedOptions } from '../signing.js';

type Item = Record<string, unknown>;

export const configCommand = defineCommand({
  name: 'config',
  usage: 'lifeboat config <snapshot> [--section <name>]... [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: "Show a snapshot's repository configuration (settings, branch restrictions, reviewers, webhooks, keys, permissions, pipelines) and what it could not hold.",
  options: {
    ...repoOptions,
    ...allowUnsignedOptions,
    section: { type: 'string', multiple: true, value: '<name>', help: `only this section (repeatable): ${CONFIGURATION_SECTIONS.join(', ')}` },
  },
  examples: [
    'lifeboat config latest --repo acme/web --identity ~/lifeboat-key.txt',
    'lifeboat config 20261207T16 --repo acme/web --section webhooks --section deploy-keys --json',
  ],
  async run(args, output) {
    const [id, ...more] = args.positionals;
    if (!id || more.length > 0) throw new LifeboatError('INVALID_ARGUMENT', `Which snapshot? ${this.usage}`);
    const chosen = chosenSections(args.values.section);
    const { store, manifest, identities } = await openSnapshotData(args.values, id, output);
    const configuration = await readSnapshotConfiguration(store, manifest, identities);
    const sections = CONFIGURATION_SECTIONS.filter((section) => chosen.has(section));
    const documents = sections.flatMap((section) => {
      const document = configuration.documents.get(section);
      return document ? [[section, document] as const] : [];
    });
    const missing = configuration.missing.filter((note) => chosen.has(note.section));
    // A problem names its section as `subject`; one that names none is about the whole of configuration.
    const problems = configuration.problems.filter((problem) => problem.subject === undefined || !isConfigurationSection(problem.subject) || chosen.has(problem.subject));
    const unreadable = documents.flatMap(([section, document]) => document.unreadable.map((item) => ({ section, ...item })));
    output.result({ snapshot: manifest.id, repository: formatRepoPath(manifest.repository), sections: Object.fromEntries(documents), unreadable, missing, problems }, () => {
      const held = new Map(documents);
      const lines = [`Configuration of snapshot ${manifest.id} (${formatRepoPath(manifest.repository)})`];
      for (const section of sections) {
        const document = held.get(section);
        lines.push('', document ? `${section} (read ${document.fetchedAt})` : section);
        if (document) lines.push(...describeSection(section, document.data).map((line) => `  ${line}`));
        else lines.push(`  ${missing.some((note) => note.section === section) ? 'not held: the backup could not read it (below)' : 'not in this snapshot'}`);
      }
      if (unreadable.length > 0) {
        lines.push('', 'Not in the snapshot (Bitbucket never returns them):', ...unreadable.map((item) => `  ${item.section}: ${inLine(item.item)}: ${inLine(item.reason)}`));
      }
      if (problems.length > 0) {
        lines.push('', 'Problems the backup met:', ...problems.map((problem) => `  [${inLine(problem.code)}] ${problem.subject === undefined ? '' : `${inLine(problem.subject)}: `}${inLine(problem.message)}`));
      }
      return lines.join('\n');
    });
    return 0;
  },
});

/** The sections --section names (all when none), each checked against the list. */
function chosenSections(names: string[] | undefined): Set<ConfigurationSection> {
  if (!names || names.length === 0) return new Set(CONFIGURATION_SECTIONS);
  return new Set(names.map((name) => {
    if (isConfigurationSection(name)) return name;
    const guess = closest(name, CONFIGURATION_SECTIONS);
    throw new LifeboatError('INVALID_ARGUMENT', `There is no configuration section "${name}"${guess ? ` (did you mean ${guess}?)` : ''}; the sections are ${CONFIGURATION_SECTIONS.join(', ')}.`);
  }));
}

// The documents hold Bitbucket's JSON as it was served (src/bitbucket/configuration.ts names the fields each keeps):
// read without trusting its shape, every text one line.
const text = (value: unknown): string => (typeof value === 'string' ? inLine(value) : value === undefined || value === null ? '' : inLine(JSON.stringify(value)));
const list = (data: unknown): Item[] => (Array.isArray(data) ? data.filter((item): item is Item => item !== null && typeof item === 'object') : []);
const object = (data: unknown): Item => (data !== null && typeof data === 'object' && !Array.isArray(data) ? data as Item : {});
const person = (user: unknown): string => text(object(user).display_name ?? object(user).uuid);
const group = (value: unknown): string => `group ${text(object(value).name ?? object(value).slug)}`;
const none = (lines: string[]): string[] => (lines.length > 0 ? lines : ['none']);

/** What a person needs to see of one section, a line per item. */
function describeSection(section: ConfigurationSection, data: unknown): string[] {
  switch (section) {
    case 'repository': {
      const repository = object(data);
      const project = object(repository.project);
      return [
        `Name: ${text(repository.name)}`,
        ...(repository.description ? [`Description: ${text(repository.description)}`] : []),
        `Private: ${repository.is_private === true ? 'yes' : repository.is_private === false ? 'no' : text(repository.is_private)}`,
        `Fork policy: ${text(repository.fork_policy)}`,
        ...(repository.language ? [`Language: ${text(repository.language)}`] : []),
        `Main branch: ${text(object(repository.mainbranch).name)}`,
        ...(Object.keys(project).length > 0 ? [`Project: ${text(project.key)}${project.name ? ` (${text(project.name)})` : ''}`] : []),
      ];
    }
    case 'branch-restrictions':
      return none(list(data).map((rule) => {
        const branches = rule.branch_match_kind === 'branching_model' ? `${text(rule.branch_type)} branches` : text(rule.pattern);
        const who = [...list(rule.users).map(person), ...list(rule.groups).map(group)];
        return `${text(rule.kind)} on ${branches}${rule.value === null || rule.value === undefined ? '' : `: ${text(rule.value)}`}${who.length > 0 ? ` (exempt: ${who.join(', ')})` : ''}`;
      }));
    case 'default-reviewers':
      return none(list(data).map(person));
    case 'branching-model': {
      const model = object(data);
      const branch = (value: unknown): string => (object(value).use_mainbranch === true ? 'the main branch' : text(object(value).name));
      const production = object(model.production);
      return [
        `Development: ${branch(model.development)}`,
        `Production: ${production.enabled === false ? 'off' : branch(production)}`,
        ...list(model.branch_types).map((type) => `${text(type.kind)}: ${text(type.prefix)}${type.enabled === false ? ' (off)' : ''}`),
      ];
    }
    case 'webhooks':
      // A webhook's secret is never returned by Bitbucket, and never printed: only whether one is set.
      return none(list(data).map((hook) => [
        text(hook.url),
        hook.active === false ? 'inactive' : 'active',
        ...(hook.description ? [`"${text(hook.description)}"`] : []),
        `events: ${Array.isArray(hook.events) ? hook.events.map(text).join(', ') : text(hook.events)}`,
        ...(hook.secret_set === true ? ['secret set (not in the snapshot)'] : []),
      ].join('  ')));
    case 'deploy-keys':
      return none(list(data).map((key) => `${text(key.label) || 'deploy key'}  ${keyPrint(key.key)}${key.comment ? `  ${text(key.comment)}` : ''}`));
    case 'user-permissions':
      return none(list(data).map((entry) => `${person(entry.user)}: ${text(entry.permission)}`));
    case 'group-permissions':
      return none(list(data).map((entry) => `${group(entry.group)}: ${text(entry.permission)}`));
    case 'pipelines':
      return [`Pipelines: ${object(data).enabled === true ? 'enabled' : object(data).enabled === false ? 'disabled' : text(object(data).enabled)}`];
    case 'pipeline-variables':
      return none(list(data).map(variable));
    case 'environments':
      return none(list(data).map((environment) => {
        const type = text(object(environment.environment_type).name);
        const variables = list(environment.variables).map(variable);
        return `${text(environment.name)}${type && type !== text(environment.name) ? ` (${type})` : ''}: ${variables.length > 0 ? variables.join(', ') : 'no variables'}`;
      }));
  }
}

/** A variable by name (its value is configuration, not for the screen); a secured one marked, its value being in no snapshot. */
const variable = (item: Item): string => `${text(item.key)}${item.secured === true ? ' (secured)' : ''}`;

/**
 * An OpenSSH public key as `ssh-keygen -l` names it (ssh-keygen(1), -E sha256 the default): its type and SHA256
 * fingerprint, the unpadded base64 SHA-256 of the base64-decoded key blob; the text's start when it is not one.
 */
function keyPrint(key: unknown): string {
  const [type, blob] = typeof key === 'string' ? key.trim().split(/\s+/) : [];
  if (type && blob && /^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return `${inLine(type)} SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
  return `${text(key).slice(0, 24)}…`;
}
