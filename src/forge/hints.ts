// The app's edge for errors: what a person on a Lifeboat page can do about a
// failure. Engine errors say what happened and carry a stable code; the hint
// that fits the page (not the command line's flags or environment) is added
// here, once, for the resolvers' answers and the jobs the pages poll.
import type { UserError } from '../contract.js';
import { fieldProblemsIn, type ErrorCode, type LifeboatError } from '../engine/errors.js';

const ADMIN_PAGE = 'Lifeboat\'s admin page (Workspace settings → Lifeboat)';

/** Atlassian Community, "Bitbucket Cloud is implementing a 100 MB limit on files included in pushes" (2024): "can be disabled by a repository admin within the Advanced settings in Repository settings". */
const FILE_LIMIT_SETTING = 'Repository settings > Advanced';
const FILE_LIMIT_OFF = `A repository admin of the target turns its file size limit off (${FILE_LIMIT_SETTING})`;

const PAGE_HINTS: Partial<Record<ErrorCode, string>> = {
  NOT_CONFIGURED: `A workspace admin finishes the set-up on ${ADMIN_PAGE}.`,
  GIT_AUTH_REQUIRED: `Paste a working Bitbucket token on ${ADMIN_PAGE} and test it there.`,
  BITBUCKET_AUTH_REQUIRED: `Paste a working Bitbucket token on ${ADMIN_PAGE} and test it there.`,
  GIT_FORBIDDEN: `The token lacks a permission: "Test Bitbucket access" on ${ADMIN_PAGE} names the missing scope.`,
  BITBUCKET_FORBIDDEN: `The token lacks a permission: "Test Bitbucket access" on ${ADMIN_PAGE} names the missing scope.`,
  BUCKET_NOT_FOUND: `Check the bucket's name and region on ${ADMIN_PAGE} ("Test bucket").`,
  BUCKET_ACCESS_DENIED: `Check the access key and the bucket policy on ${ADMIN_PAGE} ("Test bucket").`,
  BUCKET_NOT_INITIALIZED: `Check the bucket and prefix on ${ADMIN_PAGE}: the first backup sets a new one up by itself.`,
  OBJECT_LOCK_UNAVAILABLE: `Turn Object Lock off on ${ADMIN_PAGE}, or choose a bucket created with Object Lock enabled ("Test bucket" says whether it is).`,
  OBJECT_LOCK_NOT_APPLIED: `The snapshot was stored, but not protected. Use a bucket that keeps Object Lock retention (created with Object Lock enabled, "Test bucket" says whether it is) and a key that may read it back (s3:GetObjectRetention), or turn Object Lock off on ${ADMIN_PAGE}.`,
  IDENTITY_REQUIRED: 'Give the age identity in the restore dialog (it is kept only for that job), or restore with the lifeboat command line.',
  IDENTITY_MISMATCH: 'Start the restore again with the identity of one of the snapshot\'s recipients (`age-keygen -y <identity file>` prints an identity\'s recipient). The identity given was deleted with the job.',
  IDENTITY_INVALID: 'Paste the line AGE-SECRET-KEY-1... of your age identity file (or the whole file).',
  RESTORE_REF_EXISTS: 'Choose other branches, or restore into a new repository.',
  RESTORE_LARGE_FILES: `${FILE_LIMIT_OFF}, then start the restore again from the snapshot's Restore dialog, confirming that the limit is off.`,
  RESTORE_LARGE_FILE_REFUSED: `Check that the file size limit of the target repository is off (${FILE_LIMIT_SETTING}), then start the restore again.`,
  PERMISSION_DENIED: 'Ask a repository or workspace admin.',
  CONNECTION_LOST: 'Lifeboat tries again by itself. Forge ends any single request after 180 s: if this keeps happening, one request carries too much to finish in that time.',
  SNAPSHOT_SIGNATURE_INVALID: 'The snapshot was changed in the bucket after Lifeboat signed it: it is never restored or built on. Restore from another snapshot, and find out who can write to the bucket (its access keys and policy).',
  SNAPSHOT_UNSIGNED: 'Lifeboat did not sign this snapshot: it was written before Lifeboat signed its snapshots, or by someone else with write access to the bucket. Lifeboat never builds on it; restore it only if you know where it came from.',
  SNAPSHOT_FROM_FUTURE: 'Its id is dated in the future: it was planted, or written by a host whose clock is wrong. Lifeboat never builds on it; check the bucket\'s access keys, and delete it once you know where it came from.',
  SIGNING_KEY_INVALID: `Lifeboat's signing key is missing or damaged in the app's storage. Tell Lifeboat's maintainers; the fingerprint on ${ADMIN_PAGE} is still the one to trust for the snapshots already signed.`,
  LFS_HOST_NOT_ALLOWED: 'Bitbucket sent this LFS transfer to a host the app does not declare (Forge lets an app reach only the hosts its manifest names): update Lifeboat, or tell its maintainers the host named above.',
  INTERNAL: 'The app\'s log has the details.',
};

const TRANSIENT_HINT = 'Lifeboat tries again by itself.';

/** An error as a page shows it: a bug's internals stay in the log. */
export function userError(error: LifeboatError): UserError {
  const message = error.kind === 'bug' ? 'Something went wrong inside Lifeboat.' : error.message;
  const hint = PAGE_HINTS[error.code] ?? (error.kind === 'transient' ? TRANSIENT_HINT : undefined);
  const problems = fieldProblemsIn(error);
  return { code: error.code, message, ...(hint ? { hint } : {}), ...(problems.length > 0 ? { problems } : {}) };
}
