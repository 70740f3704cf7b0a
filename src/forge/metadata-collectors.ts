// What the app collects besides git for each backup (src/engine/metadata.ts):
// one list, so that every kind of metadata is found here in one hop.
import type { RepositoryJson } from './bitbucket.js';
import type { MetadataCollector } from '../engine/metadata.js';
import type { Configuration } from './settings-store.js';
import { pullRequestsOf } from './pull-requests.js';

export interface CollectorInput {
  configuration: Configuration;
  workspaceUuid: string;
  repositoryUuid: string;
  /** The repository as Bitbucket answered it (links, clone URL). */
  repository: RepositoryJson;
}

export function metadataCollectors(input: CollectorInput): MetadataCollector[] {
  return [pullRequestsOf(input.workspaceUuid, input.repositoryUuid)];
}
