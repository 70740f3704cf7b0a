// What a job says, in words: the backend keeps a job's note as data
// (src/contract.ts JobNote); both pages word it here, for the job they follow,
// and the admin page's audit log, which keeps the note of how each job ended.
import type { DestructiveEvent, JobNote, JobProgress, RestoreAsked, RestoreSummary } from '../../src/contract.js';
import { bytes, plural, triggerWords } from './format.js';
import { encryptionText } from './storage-words.js';

const EVENT_WORDS: Readonly<Record<DestructiveEvent['kind'], string>> = {
  'force-push': 'force-push',
  'tag-deleted': 'tag deletion',
  'branch-deleted': 'branch deletion',
  'ref-deleted': 'deletion',
};

/** What a restore was asked to do: "Restore 2 refs of snapshot … beside the existing work (…)." */
export function restoreAskedWords(asked: RestoreAsked): string {
  if (asked.kind === 'undo') {
    return `Undo the ${EVENT_WORDS[asked.event]} of ${asked.ref}: ${asked.inPlace ? 'put it back in place' : 'restore it beside'} at ${asked.previousTip.slice(0, 12)}.`;
  }
  if (asked.kind === 'deleted-repository') {
    return `Restore the deleted repository ${asked.repository} from snapshot ${asked.snapshotId} into the new repository ${asked.newRepositorySlug}.`;
  }
  const { snapshotId, newRepositorySlug } = asked;
  if (asked.configuration === 'only') {
    return asked.mode === 'new-repository'
      ? `Restore the repository configuration of snapshot ${snapshotId} into the new repository ${newRepositorySlug}.`
      : `Restore the repository configuration of snapshot ${snapshotId} into this repository, after backing up the current state.`;
  }
  const also = asked.configuration ? ', with its repository configuration' : '';
  const what = `${asked.refs !== undefined ? `${plural(asked.refs, 'ref')} of snapshot ${snapshotId}` : `snapshot ${snapshotId}`}${also}`;
  switch (asked.mode) {
    case 'beside': return `Restore ${what} beside the existing work (under restored/${snapshotId}/).`;
    case 'new-repository': return `Restore ${what} into the new repository ${newRepositorySlug}.`;
    case 'overwrite': return `Overwrite with ${what}, after backing up the current state.`;
  }
}

/** How a restore ended: what it wrote where, what it kept, left out or could not write. */
export function restoredWords(restore: RestoreSummary): string {
  const pushed = restore.refCount !== undefined;
  const where = restore.mode === 'beside'
    ? (pushed ? `beside the existing work (under restored/${restore.snapshotId}/)` : 'into this repository')
    : restore.mode === 'overwrite' ? 'in place' : `into the new repository ${restore.repository}`;
  const words = [`Restored ${pushed ? plural(restore.refCount ?? 0, 'ref') : 'the configuration'} of snapshot ${restore.snapshotId} ${where}.`];
  if (restore.snapshotBeforeOverwrite) words.push(`The state it replaced is kept as snapshot ${restore.snapshotBeforeOverwrite}.`);
  const leftOut = restore.leftOutRefCount ?? 0;
  if (leftOut > 0) words.push(`${plural(leftOut, 'ref')} of earlier restores (restored/…) in the snapshot were left out; choose them by name to restore them too.`);
  const lfsRestored = restore.lfsObjects ?? 0;
  const lfsMissing = restore.lfsMissing ?? 0;
  if (lfsRestored > 0) words.push(`${plural(lfsRestored, 'LFS object')} restored.`);
  if (lfsMissing > 0) words.push(`${plural(lfsMissing, 'LFS object was', 'LFS objects were')} never backed up (Bitbucket did not have ${lfsMissing === 1 ? 'it' : 'them'}).`);
  if (restore.configuration) {
    const { writtenCount, notWrittenCount } = restore.configuration;
    words.push(`Configuration: ${plural(writtenCount, 'change')} written${notWrittenCount > 0 ? `; ${plural(notWrittenCount, 'item')} could not be written (listed in the result)` : ''}.`);
  }
  const access = restore.requesterAccess;
  if (access?.admin) words.push(access.via === 'granted' ? 'The requester was made an admin of it.' : 'The requester administers it as a workspace admin.');
  else if (access) words.push(`The requester could not be made an admin of it (${access.problem.message}); a workspace admin can do that in the repository's settings, under User and group access.`);
  return words.join(' ');
}

/** A job's note in words, as the job's own panel shows it. */
export function jobNoteWords(note: JobNote): string {
  switch (note.code) {
    case 'queued': return 'Waiting in the queue.';
    case 'parked': return 'Waiting for Lifeboat\'s next scheduled run (within the hour): this work had queued the next step of itself as often as Forge allows one chain to.';
    case 'restore-queued': return `Queued. ${restoreAskedWords(note.restore)}`;
    case 'starting': return 'Starting.';
    case 'backup-continuing': return `Stored ${note.bundles} more ${note.bundles === 1 ? 'bundle' : 'bundles'}; ${note.refsRemaining} refs to go, continuing.`;
    case 'index-continuing': return `Indexed ${note.repositories} repositories in this run; continuing.`;
    case 'sweep-continuing': return `${note.repositories} repositories so far; continuing in a minute (Forge's queue limits).`;
    case 'backups-off': return 'Backups are off for this repository.';
    case 'snapshot-stored': return `Snapshot ${note.snapshotId} stored (${triggerWords(note.trigger).toLowerCase()}): ${encryptionText(note.recipients)}${note.newChain ? ', new full chain' : ''}.`;
    case 'snapshot-unchanged': return `Nothing changed since snapshot ${note.snapshotId} (${triggerWords(note.trigger).toLowerCase()}).`;
    case 'everything-kept': return 'The retention policy keeps every snapshot.';
    case 'pruned': return `Forgot ${note.snapshots} snapshots, deleted ${note.objects} objects (${note.bytes} bytes), aborted ${note.uploads} incomplete uploads.`;
    case 'indexed': return `Rebuilt the index of ${note.repositories} repositories from the bucket${note.signed ? `; signed ${plural(note.signed, 'snapshot')} taken before signing, whose content the app's own index recorded` : ''}.`;
    case 'swept': {
      const { repositories, backupsQueued, prunesQueued, includedAutomatically } = note.sweep;
      return `Swept ${plural(repositories, 'repository', 'repositories')}: ${plural(backupsQueued, 'backup')} and ${plural(prunesQueued, 'prune')} queued${includedAutomatically ? `; ${plural(includedAutomatically, 'new repository', 'new repositories')} included` : ''}.`;
    }
    case 'restored': return restoredWords(note.restore);
    case 'as-written': return note.words;
  }
}

/** What a long transfer's steps are, and what a finished one is. */
const STEP_WORDS: Readonly<Record<NonNullable<JobProgress['steps']>, { one: string; many: string; finished: string }>> = {
  segments: { one: 'segment of history', many: 'segments of history', finished: 'stored' },
  bundles: { one: 'bundle', many: 'bundles', finished: 'stored' },
  pushes: { one: 'push', many: 'pushes', finished: 'done' },
};

/** "about 40 seconds", "about 3 minutes", "about 2 hours": an estimate, rounded as one. */
export function timeLeftWords(seconds: number): string {
  const [unit, size] = seconds < 90 ? ['second', 1] as const : seconds < 90 * 60 ? ['minute', 60] as const : ['hour', 3600] as const;
  const count = Math.max(1, Math.round(seconds / size));
  return `about ${new Intl.NumberFormat('en', { style: 'unit', unit, unitDisplay: 'long' }).format(count)} left`;
}

/** A running job's progress, each part in words: "1 ref", "2 of 4 segments of history stored", "3 MB", "1 MB/s", "about 5 seconds left". */
export function progressWords(progress: JobProgress): string[] {
  const steps = progress.steps ? STEP_WORDS[progress.steps] : undefined;
  const stepWords = steps ? `${progress.done ?? 0} of ${plural(progress.total ?? 0, steps.one, steps.many)} ${steps.finished}` : `${progress.done ?? 0} of ${progress.total}`;
  return [
    progress.refs !== undefined ? plural(progress.refs, 'ref') : undefined,
    progress.total ? stepWords : undefined,
    progress.bytes !== undefined ? bytes(progress.bytes) : undefined,
    progress.bytesPerSecond !== undefined ? `${bytes(progress.bytesPerSecond)}/s` : undefined,
    progress.secondsLeft !== undefined ? timeLeftWords(progress.secondsLeft) : undefined,
  ].filter((part): part is string => part !== undefined);
}
