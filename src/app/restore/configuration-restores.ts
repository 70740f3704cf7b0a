// Restoring a snapshot's repository configuration from the app: the plan the
// repository page shows before anything happens, and the writes the restore job
// makes (src/bitbucket/configuration-plan.ts holds the rules). Both read the
// target's configuration now, so the job writes only what is still different.
import {
  type ConfigurationRestoreResult, applyConfiguration, describePlan, planConfiguration, readTargetConfiguration,
} from '../../bitbucket/configuration-plan.js';
import type { ConfigurationClients } from '../../bitbucket/configuration.js';
import { bracedUuid } from '../../bitbucket/uuid.js';
import type { ConfigurationPlanView } from '../../contract.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { readSnapshotConfiguration } from '../../engine/configuration-views.js';
import { type RepositoryJson, apiOrigin, appBitbucket, credentialBitbucket, getRepository } from '../../forge/bitbucket.js';
import { openSnapshot } from '../../forge/bucket.js';
import { refuseEncrypted } from './restore-identity.js';
import type { Configuration } from '../settings/settings-store.js';
import { appTrust } from '../settings/signing-keys.js';

interface Where {
  workspaceUuid: string;
  repositoryUuid: string;
}

/** The app's own identity, and the stored credential for what Bitbucket takes only from tokens. */
function clientsFor(configuration: Configuration, repository: RepositoryJson): ConfigurationClients {
  return { app: appBitbucket(), credential: credentialBitbucket(apiOrigin(repository), configuration.settings, configuration.secrets.bitbucketToken) };
}

const addressOf = (workspaceUuid: string, repositoryUuid: string) => ({ workspace: bracedUuid(workspaceUuid), repository: bracedUuid(repositoryUuid) });

/**
 * What restoring snapshot `snapshotId` of the page's repository would change:
 * in that repository as it is now, or in a new repository (planned against
 * nothing: everything is added). Refuses a snapshot without configuration, and
 * configuration the app or the credential cannot read, before anything is written.
 */
export async function planConfigurationRestore(configuration: Configuration, where: Where, snapshotId: string, target: ConfigurationPlanView['target']): Promise<ConfigurationPlanView> {
  const { store, manifest } = await openSnapshot(configuration, where, snapshotId, await appTrust('flag'));
  // The plan is shown before any identity is asked for.
  refuseEncrypted(manifest, 'its configuration cannot be read here. Restore its branches with the age identity; its configuration is readable offline with age and the identity (docs/bucket-format.md).');
  const snapshot = await readSnapshotConfiguration(store, manifest);
  const repository = await getRepository(where.workspaceUuid, where.repositoryUuid);
  // A new repository is planned against nothing; reading this one still proves, before anything is created,
  // that both identities reach every section in this workspace.
  const current = await readTargetConfiguration(clientsFor(configuration, repository), addressOf(where.workspaceUuid, where.repositoryUuid), snapshot.documents.keys(), repository.slug ?? bracedUuid(where.repositoryUuid));
  return { snapshotId: manifest.id, target, ...describePlan(planConfiguration(snapshot, target === 'this-repository' ? current : undefined, configuration.settings.bitbucket.credential)) };
}

/** The restore job's part: the snapshot's configuration written into `targetUuid` (this repository, or the one the job created). */
export async function restoreConfiguration(configuration: Configuration, store: BlobStore, manifest: SnapshotManifest, workspaceUuid: string, targetUuid: string, lowering: ReadonlyArray<{ section: string; action: string; item: string }> = []): Promise<ConfigurationRestoreResult> {
  const snapshot = await readSnapshotConfiguration(store, manifest);
  const repository = await getRepository(workspaceUuid, targetUuid);
  const clients = clientsFor(configuration, repository);
  const address = addressOf(workspaceUuid, targetUuid);
  const current = await readTargetConfiguration(clients, address, snapshot.documents.keys(), repository.slug ?? bracedUuid(targetUuid));
  return applyConfiguration(planConfiguration(snapshot, current, configuration.settings.bitbucket.credential, lowering), clients, address);
}
