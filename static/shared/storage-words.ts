// How snapshots are stored, in words: the repository status (StorageStatus) and
// the audit log's entries for a change of encryption or Object Lock both say it
// this way. The backend sends the recipients and the lock; the words are here.
import type { StorageStatus } from '../../src/contract.js';
import { plural } from './format.js';

type ObjectLock = StorageStatus['objectLock'];

const recipientsText = (count: number): string => plural(count, 'age recipient');

/** "encrypted to 2 age recipients", or "unencrypted". */
export const encryptionText = (recipients: number): string => (recipients > 0 ? `encrypted to ${recipientsText(recipients)}` : 'unencrypted');

/** "GOVERNANCE, 30 days", or "none". */
export const lockText = (lock: ObjectLock): string => (lock ? `${lock.mode}, ${plural(lock.days, 'day')}` : 'none');

/** What the repository page says of how its snapshots are stored and what the next backup writes. */
export function storageWords(storage: StorageStatus): string {
  const next = encryptionText(storage.recipients.length);
  const last = storage.lastSnapshotRecipients;
  let words: string;
  if (last === undefined) words = `Backups are stored ${next}.`;
  else if (!storage.newChainPending) words = `Snapshots are stored ${next}.`;
  else words = `The newest snapshot is stored ${encryptionText(last.length)}; the settings have changed since, so the next backup starts a new full chain stored ${next}. Earlier snapshots stay as they were stored.`;
  const lock = storage.objectLock
    ? ` Object Lock: ${lockText(storage.objectLock)} on every object a backup writes; objects already written keep the retention they got.`
    : ' No Object Lock on new objects.';
  return words + lock;
}
