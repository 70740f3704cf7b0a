// What the app collects besides git for each backup (src/engine/metadata.ts):
// one list, so that every kind of metadata is found here in one hop.
import { configurationCollector } from '../../bitbucket/configuration.js';
import { bracedUuid } from '../../bitbucket/uuid.js';
import { type RepositoryJson, apiOrigin, appBitbucket, cloneUrl, credentialBitbucket, lfsClientFor } from '../../forge/bitbucket.js';
import { lfsCollector } from '../../engine/lfs.js';
import type { MetadataCollector } from '../../engine/metadata.js';
import type { BackupReason } from './backup-queue.js';
import type { Configuration } from '../settings/settings-store.js';
import { pullRequestsOf } from '../../forge/pull-request-events.js';
import { withRestBudget } from './rest-budget.js';

export interface CollectorInput {
  configuration: Configuration;
  workspaceUuid: string;
  repositoryUuid: string;
  /** The repository as Bitbucket answered it (links, clone URL). */
  repository: RepositoryJson;
  /** Why this backup runs (backups.ts): a push-driven one leaves configuration to the others. */
  reason?: BackupReason;
}

export interface Collectors {
  collectors: MetadataCollector[];
  /** Once they have run: how soon a backup should go on with what a collector left undone, if one asked (seconds). */
  retryAfterSeconds(): number | undefined;
}

export function metadataCollectors(input: CollectorInput): Collectors {
  const { settings, secrets } = input.configuration;
  const pullRequests = pullRequestsOf(input.workspaceUuid, input.repositoryUuid);
  const collectors: MetadataCollector[] = [
    pullRequests,
    // LFS objects through the repository's batch API, with the git credential (as gitClientFor).
    lfsCollector(lfsClientFor(cloneUrl(input.repository), settings, secrets.bitbucketToken)),
  ];
  // A push changes no setting, and pushes come in bursts: reading configuration on each would spend
  // the workspace's REST budget (about a dozen calls a time) on nothing. The sweep and "Back up now"
  // read it; a push-driven snapshot carries the previous snapshot's configuration forward.
  if (input.reason !== 'push') collectors.push(configurationCollectorFor(input));
  return { collectors, retryAfterSeconds: () => pullRequests.retryAfterSeconds };
}

function configurationCollectorFor(input: CollectorInput): MetadataCollector {
  const { settings, secrets } = input.configuration;
  return {
    section: 'configuration',
    // The app's reads draw from the workspace's REST budget like the pull requests'; the stored token has its own allowance.
    collect: (context) => withRestBudget((meter) => configurationCollector({
      clients: { app: appBitbucket(meter), credential: credentialBitbucket(apiOrigin(input.repository), settings, secrets.bitbucketToken) },
      address: { workspace: bracedUuid(input.workspaceUuid), repository: bracedUuid(input.repositoryUuid) },
      repository: input.repository as unknown as Record<string, unknown>,
      credential: settings.bitbucket.credential,
    }).collect(context)),
  };
}
