// The page's one seam to Bitbucket and to the app's backend. Resolver calls are
// typed by the shared contract, so the page and its resolver cannot drift apart;
// a failed Result becomes a thrown PageError, shown at the edge of each view.
import { permissions } from '@forge/bridge';
import { EgressType } from '@forge/egress';
import type { AdminPageResolvers } from '../../../src/contract.js';
import { makeResultInvoke } from '../../shared/page-error.js';

export type * from '../../../src/contract.js';

/** Every resolver call of the page that answers a Result. */
export const invoke = makeResultInvoke<AdminPageResolvers>();

/** A job's newest view, for useJob. */
export const getJob = (jobId: string) => invoke('getJob', { jobId });

export type { WorkspaceSettings } from '../../../src/settings.js';

/** One customer-managed egress group for the bucket: allowing another endpoint replaces the one allowed before. */
const BUCKET_EGRESS_KEY = 'lifeboat-bucket';

/** Asks Bitbucket to let the app's backend reach `origin` (customer-managed egress); Bitbucket has the admin confirm. */
export async function allowEndpoint(origin: string): Promise<void> {
  await permissions.egress.set({ egresses: [{ key: BUCKET_EGRESS_KEY, description: 'The S3-compatible bucket Lifeboat backs up to', configured: [{ domain: origin, type: [EgressType.FetchBackendSide] }] }] });
}
