// What the app collects besides git for each backup (src/engine/metadata.ts):
// one list, so that every kind of metadata is found here in one hop.
import { type RepositoryJson, cloneUrl, lfsClientFor } from './bitbucket.js';
import { lfsCollector } from '../engine/lfs.js';
import type { MetadataCollector } from '../engine/metadata.js';
import type { Configuration } from './settings-store.js';

export interface CollectorInput {
  configuration: Configuration;
  workspaceUuid: string;
  repositoryUuid: string;
  /** The repository as Bitbucket answered it (links, clone URL). */
  repository: RepositoryJson;
}

export function metadataCollectors(input: CollectorInput): MetadataCollector[] {
  const { settings, secrets } = input.configuration;
  return [
    // LFS objects through the repository's batch API, with the git credential (as gitClientFor).
    lfsCollector(lfsClientFor(cloneUrl(input.repository), settings, secrets.bitbucketToken)),
  ];
}
