// The audit log's notes in words: what a job asked or how it ended (as the job
// itself says it), and what a change of the settings did.
import type { AuditNote, SecretName } from '../../../src/contract.js';
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
    default: return jobNoteWords(note);
  }
}
