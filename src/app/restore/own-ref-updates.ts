// The ref updates Lifeboat's own restores make. They reach the push trigger as
// anyone's push would: Bitbucket's event names the token's account, and
// selfGenerated is false for a git push with a stored credential. Recorded
// before the push, so that the event, however early, finds the record, and the
// trigger raises no "force-pushed" banner for the app's own restore.
import { createHash } from 'node:crypto';
import { fullRefNames } from '../../engine/git/ref-name.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState } from '../../forge/state/context.js';

/**
 * Long enough for a late event (forge-events README: "delivery can be significantly
 * delayed in rare cases"), short enough that a person's later push to the very same
 * tip is not mistaken for the restore's for long.
 */
const KEPT = { value: 6, unit: 'HOURS' } as const;

const updateKey = (repositoryUuid: string, refName: string, oid: string): string =>
  kvsKeys.ownRefUpdate(repositoryUuid, createHash('sha256').update(`${refName}\n${oid}`).digest('hex').slice(0, 32));

/** Before a restore writes `refs` (full names) in the repository: these updates are Lifeboat's own. */
export async function recordOwnRefUpdates(repositoryUuid: string, refs: ReadonlyArray<{ name: string; oid: string }>): Promise<void> {
  await Promise.all(refs.map((ref) => appState().set(updateKey(repositoryUuid, ref.name, ref.oid), { ref: ref.name, oid: ref.oid }, { ttl: KEPT })));
}

/** Whether a push event (short ref name, new tip) is a recorded update of a restore's. */
export async function isOwnRefUpdate(repositoryUuid: string, shortRef: string, after: string | undefined): Promise<boolean> {
  if (after === undefined) return false; // a restore deletes no branch or tag
  const found = await Promise.all(fullRefNames(shortRef).map((name) => appState().get(updateKey(repositoryUuid, name, after))));
  return found.some((record) => record !== undefined);
}
