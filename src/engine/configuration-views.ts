/**
 * Reading a snapshot's repository configuration back (docs/bucket-format.md,
 * "Configuration"), for a restore (src/bitbucket/configuration-plan.ts) and for
 * `lifeboat config` alike: every section's `lifeboat-configuration` document as
 * stored, and what the backup could not read.
 */
import type { BlobStore } from './bucket/blob-store.js';
import { formatRepoPath } from './bucket/bucket-keys.js';
import type { SnapshotManifest } from './bucket/format.js';
import { type ConfigurationDocument, type MetadataProblem, readEntryDocument, readMetadataIndex } from './bucket/metadata.js';
import { LifeboatError } from './errors.js';

/** The sections a backup reads, one per Bitbucket endpoint (src/bitbucket/configuration.ts), in the order they are listed. */
export const CONFIGURATION_SECTIONS = [
  'repository', 'branch-restrictions', 'default-reviewers', 'branching-model', 'webhooks', 'deploy-keys',
  'user-permissions', 'group-permissions', 'pipelines', 'pipeline-variables', 'environments',
] as const;
export type ConfigurationSection = (typeof CONFIGURATION_SECTIONS)[number];

export interface ConfigurationNote {
  section: ConfigurationSection;
  item: string;
  reason: string;
}

/** The configuration a snapshot holds: each section's document, the sections its backup could not read, and the index's problems of configuration. */
export interface SnapshotConfiguration {
  documents: Map<ConfigurationSection, ConfigurationDocument>;
  missing: ConfigurationNote[];
  /** Every problem the index records for configuration, also of a section whose earlier copy was kept. */
  problems: MetadataProblem[];
}

export const isConfigurationSection = (name: string): name is ConfigurationSection => (CONFIGURATION_SECTIONS as readonly string[]).includes(name);

/** Reads every configuration document a snapshot names; a snapshot taken without configuration is refused. */
export async function readSnapshotConfiguration(store: BlobStore, manifest: SnapshotManifest, identities?: string[]): Promise<SnapshotConfiguration> {
  const index = await readMetadataIndex(store, manifest);
  if (!index?.configuration || index.configuration.length === 0) {
    throw new LifeboatError('METADATA_NOT_FOUND', `Snapshot ${manifest.id} holds no repository configuration: it was taken before Lifeboat backed configuration up (choose a later snapshot).`, {
      details: { snapshotId: manifest.id, repo: formatRepoPath(manifest.repository), section: 'configuration' },
    });
  }
  const documents = new Map<ConfigurationSection, ConfigurationDocument>();
  for (const entry of index.configuration) {
    if (isConfigurationSection(entry.section)) documents.set(entry.section, await readEntryDocument(store, manifest, entry, identities));
  }
  const problems = index.problems.filter((problem) => problem.section === 'configuration');
  const missing = problems.filter((problem) => problem.subject !== undefined && isConfigurationSection(problem.subject) && !documents.has(problem.subject))
    .map((problem) => ({ section: problem.subject as ConfigurationSection, item: 'the whole section', reason: `the backup could not read it: ${problem.message}` }));
  return { documents, missing, problems };
}
