/**
 * What to do next, said for someone at a shell: engine errors say what happened
 * (the same words reach the Forge pages); the CLI adds how to fix it with its own
 * flags and environment variables. Keyed by code, with the error's details.
 */
import type { ErrorCode, LifeboatError } from '../engine/errors.js';

type Hint = string | ((details: Record<string, unknown>) => string | undefined);

export const GIT_CREDENTIALS =
  'put the credentials in the URL or set LIFEBOAT_GIT_USERNAME and LIFEBOAT_GIT_PASSWORD; on Bitbucket a repository, ' +
  'project or workspace access token goes with the user name x-token-auth, an API token with x-bitbucket-api-token-auth';

const IDENTITY = 'pass --identity <file> or set LIFEBOAT_IDENTITY';

const LIFT_FILE_LIMIT = 'on Bitbucket a repository admin turns the file size limit off in Repository settings > Advanced';

const HINTS: Partial<Record<ErrorCode, Hint>> = {
  RESTORE_LARGE_FILES: `once the target takes files that large (${LIFT_FILE_LIMIT}), run the same command with --allow-large-files`,
  RESTORE_LARGE_FILE_REFUSED: `check that the target takes files that large (${LIFT_FILE_LIMIT}), then run the same command again`,
  RESTORE_LFS_NOT_UPLOADED: (details) => `run \`${typeof details.retry === 'string' ? details.retry : 'lifeboat lfs-push <snapshot> --push <git-url>'}\` (with the same bucket and identity) once the target's LFS server takes them; the refs need no restore again`,
  GIT_AUTH_REQUIRED: GIT_CREDENTIALS,
  IDENTITY_REQUIRED: IDENTITY,
  IDENTITY_MISMATCH: `${IDENTITY} with an identity of one of the snapshot's recipients (lifeboat show <snapshot> names them)`,
  SNAPSHOT_NOT_FOUND: (details) => `list the snapshots with \`lifeboat snapshots${typeof details.repo === 'string' ? ` --repo ${details.repo}` : ''}\``,
  SNAPSHOT_AMBIGUOUS: (details) => {
    const repos = Array.isArray(details.repos) ? details.repos : [];
    const byRepo = `add --repo <workspace>/<repo>${typeof repos[0] === 'string' ? `, e.g. --repo ${repos[0]}` : ''}`;
    // A prefix that fits several ids (details.matches): more of the id tells them apart, --repo only across repositories.
    if (!Array.isArray(details.matches)) return byRepo;
    return `give more of the id${repos.length > 1 ? `, or ${byRepo}` : ''}`;
  },
  METADATA_NOT_FOUND: (details) => {
    // A snapshot without configuration: a later one of the same repository may hold it.
    if (details.section === 'configuration') return `\`lifeboat log --repo ${typeof details.repo === 'string' ? details.repo : '<workspace>/<repo>'}\` lists its snapshots, \`lifeboat show <snapshot>\` the configuration each holds`;
    return typeof details.snapshot === 'string' ? `list them with \`lifeboat prs ${details.snapshot}\`` : undefined;
  },
  ATTACHMENT_TOO_LARGE: 'nothing was written; `unzip -lv <file>` lists what each entry inflates to: a genuine issue export stays well within these limits',
  OBJECT_LOCK_UNAVAILABLE: 'use a bucket created with Object Lock enabled, or start without --object-lock-days',
  OBJECT_LOCK_NOT_APPLIED: 'the snapshot was stored, but not protected: use a bucket that keeps Object Lock retention (created with Object Lock enabled) and credentials that may read it back (s3:GetObjectRetention)',
  SNAPSHOT_SIGNATURE_INVALID: (details) => `the snapshot was changed after it was signed: do not restore it; \`lifeboat verify --all\` shows which snapshots still hold${typeof details.snapshot === 'string' ? ` (restore one older than ${details.snapshot})` : ''}`,
  SNAPSHOT_UNSIGNED:
    'if another key of yours signed it, pin that key with --trust <fingerprint>; if it was written before signing (or you know who wrote it), ' +
    'restore, download, prs, pr, config and attachments read it with --allow-unsigned (`lifeboat snapshots` says which snapshots are signed)',
  SNAPSHOT_FROM_FUTURE: 'it was planted or written by a host whose clock is wrong: check it with `lifeboat show`, and remove its manifest if it is not yours; it is never built on',
  SIGNING_KEY_INVALID: 'give the key file `lifeboat keygen --out <file>` or `lifeboat init` created (--signing-key <file> or LIFEBOAT_SIGNING_KEY); a pin is the key\'s fingerprint, SHA256: and 64 hex digits, as they print it',
  BUCKET_NOT_INITIALIZED: 'check --bucket (or LIFEBOAT_BUCKET) and its prefix, or run `lifeboat init` to start a backup there',
  BUCKET_NOT_FOUND: 'check the bucket name in --bucket (or LIFEBOAT_BUCKET) and the endpoint (--endpoint or AWS_ENDPOINT_URL_S3)',
  BUCKET_ACCESS_DENIED:
    'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials) or AWS_PROFILE, ' +
    'and that they may read and write the bucket',
};

const BUG = 'this is a bug in Lifeboat; please report it with the command you ran (LIFEBOAT_DEBUG=1 prints the stack)';

/** The CLI's hint for an error, or undefined when its message says all there is. */
export function cliHint(error: LifeboatError): string | undefined {
  if (error.kind === 'bug') return BUG;
  const hint = HINTS[error.code];
  return typeof hint === 'function' ? hint(error.details ?? {}) : hint;
}
