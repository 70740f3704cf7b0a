// The prune queue's consumer (manifest.yml `prune-consumer`): a repository's
// retention policy applied under its lease (so no restore reads a snapshot
// while it is forgotten) and the bucket's own lock; what it forgot leaves the
// KVS index too. Pinned snapshots (pins.ts) are kept whatever the policy says.
import { z } from 'zod';
import { bitbucketUuid, bracedUuid } from '../../bitbucket/uuid.js';
import { prune } from '../../engine/bucket/prune.js';
import { isUnlimited } from '../../engine/bucket/retention.js';
import { openWorkspaceBucket, repoPath } from '../../forge/bucket.js';
import { retentionFor } from '../catalogue/coverage.js';
import { defineConsumer } from '../../forge/jobs.js';
import { heldPins } from '../catalogue/pins.js';
import { QUEUES } from '../../forge/queues.js';
import { requireConfiguration } from '../settings/settings-store.js';
import { forgetSnapshots } from '../catalogue/snapshot-index.js';
import { appTrust } from '../settings/signing-keys.js';

const pruneBody = z.object({ workspaceUuid: bitbucketUuid, repositoryUuid: bitbucketUuid, jobId: z.string().optional() });
export type PruneBody = z.infer<typeof pruneBody>;

export const runPrune = defineConsumer<PruneBody>({
  kind: 'prune',
  queue: QUEUES.prune,
  body: pruneBody,
  leases: (body) => body.repositoryUuid,
  audit: (body) => ({ action: 'prune', repositoryUuid: bracedUuid(body.repositoryUuid) }),
  // Nothing is lost by waiting for the next sweep.
  requeue: async () => undefined,
  async run(body) {
    const { settings, secrets } = await requireConfiguration();
    const policy = retentionFor(settings, body.repositoryUuid);
    if (isUnlimited(policy)) return { state: 'done', note: { code: 'everything-kept' }, quiet: true };
    const pinned = new Set((await heldPins(body.repositoryUuid, undefined, { dropExpired: true })).keys());
    const report = await prune(openWorkspaceBucket(settings, secrets.bucketSecretAccessKey), repoPath(body.workspaceUuid, body.repositoryUuid), policy, { owner: 'lifeboat prune (Forge)', pinned, trust: await appTrust('flag') });
    await forgetSnapshots(body.repositoryUuid, report.forgottenSnapshots);
    return {
      state: 'done',
      note: { code: 'pruned', snapshots: report.forgottenSnapshots.length, objects: report.deletedObjects.length, bytes: report.bytesFreed, uploads: report.abortedUploads.length },
      quiet: report.forgottenSnapshots.length === 0 && report.deletedObjects.length === 0 && report.abortedUploads.length === 0,
    };
  },
});
