// The audit log in words: what a job asked or how it ended (as the job itself
// says it), what a change of the settings did, and the app's own entries.
import type { AuditEntry, AuditNote, SecretName } from '../../../src/contract.js';
import { plural } from '../../shared/format.js';
import { jobNoteWords, restoreAskedWords } from '../../shared/job-words.js';
import { encryptionText, lockText } from '../../shared/storage-words.js';

const SECRET_WORDS: Readonly<Record<SecretName, string>> = {
  bucketSecretAccessKey: 'bucket secret access key',
  bitbucketToken: 'Bitbucket token',
};

export function auditNoteWords(note: AuditNote): string {
  switch (note.code) {
    case 'restore-queued': return restoreAskedWords(note.restore);
    case 'settings-created': return note.secrets.length > 0 ? `secrets stored: ${note.secrets.map((name) => SECRET_WORDS[name]).join(', ')}` : 'no secrets stored yet';
    case 'settings-changed': {
      const changed = [...note.fields, ...note.secrets.map((name) => SECRET_WORDS[name])];
      return changed.length > 0 ? `changed: ${changed.join(', ')}` : 'nothing changed';
    }
    case 'encryption-changed': {
      if (note.to.length === 0) return `Downgrade confirmed: from the next backup on, each repository starts a new full chain stored unencrypted. Earlier snapshots stay ${encryptionText(note.from.length)}.`;
      const earlier = note.from.length === 0 ? 'unencrypted' : `encrypted to the previous ${encryptionText(note.from.length).slice('encrypted to '.length)}`;
      return `From the next backup on, each repository starts a new full chain ${encryptionText(note.to.length)} (${note.to.join(', ')}). Earlier snapshots stay ${earlier}.`;
    }
    case 'object-lock-changed': return `From ${lockText(note.from)} to ${lockText(note.to)}, for every object written from the next backup on; objects already written keep the retention they got.`;
    case 'included-automatically': return note.slug ? `${note.slug}: new repositories join the backups (workspace setting).` : 'New repositories join the backups (workspace setting).';
    case 'repository-deleted': return 'Its snapshots stay in the bucket and can be restored into a new repository.';
    case 'repository-created': return `${note.slug} from snapshot ${note.snapshotId}`;
    case 'joined-job': return `joined job ${note.jobId}, already waiting in the queue`;
    case 'work-parked': return `Forge's cyclic invocation limit was reached: ${plural(note.events, 'event')} for ${note.queue}${note.jobIds.length > 0 ? ` (job ${note.jobIds.join(', ')})` : ''} ${note.events === 1 ? 'waits' : 'wait'} for the next scheduled run.`;
    case 'parked-work-queued': return `${plural(note.events, 'event')} parked at Forge's cyclic invocation limit queued again by the scheduled run.`;
    case 'snapshots-signed': return `Signed ${plural(note.snapshots, 'snapshot')} taken before Lifeboat signed its snapshots, whose content Lifeboat's own index recorded; any others stay "not signed".`;
    default: return jobNoteWords(note);
  }
}

/** An entry's detail column: its note in words, why it failed, the job it started, or what an older entry said. */
export function auditDetailWords(entry: AuditEntry): string {
  if (entry.note) return auditNoteWords(entry.note);
  if (entry.error) return `${entry.error.code}: ${entry.error.message}`;
  if (entry.jobId) return `job ${entry.jobId}`;
  return entry.detail ?? '';
}
