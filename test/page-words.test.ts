// The pages word what the backend stores as codes and data: snapshot triggers, how snapshots are stored, what a job says.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessCheck } from '../src/contract.js';
import { triggerSchema } from '../src/engine/bucket/format.js';
import { refLabel, triggerWords } from '../static/repo-settings/src/format.js';
import { storageWords } from '../static/shared/storage-words.js';
import { jobNoteWords, progressWords, restoreAskedWords, restoredWords, timeLeftWords } from '../static/shared/job-words.js';
import { auditDetailWords, auditNoteWords } from '../static/workspace-admin/src/audit-words.js';
import { bitbucketCheckWords, bucketCheckWords } from '../static/workspace-admin/src/check-words.js';

describe('the pages\' words for snapshot triggers', () => {
  it('names every trigger a manifest stores, a pre-restore snapshot as "Before overwrite"', () => {
    assert.equal(triggerWords('restore-guard'), 'Before overwrite');
    for (const trigger of triggerSchema.options) assert.notEqual(triggerWords(trigger), trigger, `${trigger} has words of its own`);
  });
});

describe('the pages\' words for how snapshots are stored', () => {
  const lock = { mode: 'GOVERNANCE' as const, days: 1 };
  it('before the first backup, once it matches the settings, and with a new chain pending', () => {
    assert.equal(storageWords({ recipients: [], objectLock: null, newChainPending: false }), 'Backups are stored unencrypted. No Object Lock on new objects.');
    assert.equal(storageWords({ lastSnapshotRecipients: ['age1a', 'age1b'], recipients: ['age1a', 'age1b'], objectLock: lock, newChainPending: false }),
      'Snapshots are stored encrypted to 2 age recipients. Object Lock: GOVERNANCE, 1 day on every object a backup writes; objects already written keep the retention they got.');
    assert.equal(storageWords({ lastSnapshotRecipients: [], recipients: ['age1a'], objectLock: null, newChainPending: true }),
      'The newest snapshot is stored unencrypted; the settings have changed since, so the next backup starts a new full chain stored encrypted to 1 age recipient. Earlier snapshots stay as they were stored. No Object Lock on new objects.');
  });
});

describe('the pages\' words for a job\'s note', () => {
  it('words how a restore ended from its summary, as the backend did before it sent data', () => {
    assert.equal(restoredWords({ snapshotId: 's1', mode: 'beside', repository: 'web', refCount: 1, snapshotBeforeOverwrite: 's0', leftOutRefCount: 2, lfsObjects: 2, lfsMissing: 1, configuration: { writtenCount: 1, notWrittenCount: 3 }, requesterAccess: { admin: true, via: 'granted' } }),
      'Restored 1 ref of snapshot s1 beside the existing work (under restored/s1/). The state it replaced is kept as snapshot s0. 2 refs of earlier restores (restored/…) in the snapshot were left out; choose them by name to restore them too. 2 LFS objects restored. 1 LFS object was never backed up (Bitbucket did not have it). Configuration: 1 change written; 3 items could not be written (listed in the result). The requester was made an admin of it.');
    assert.equal(restoredWords({ snapshotId: 's1', mode: 'beside', repository: 'web', configuration: { writtenCount: 2, notWrittenCount: 0 } }), 'Restored the configuration of snapshot s1 into this repository. Configuration: 2 changes written.');
    assert.equal(restoredWords({ snapshotId: 's1', mode: 'new-repository', repository: 'copy', refCount: 3, requesterAccess: { admin: false, problem: { code: 'X', message: 'refused' } } }),
      'Restored 3 refs of snapshot s1 into the new repository copy. The requester could not be made an admin of it (refused); a workspace admin can do that in the repository\'s settings, under User and group access.');
  });

  it('words what a restore was asked, in the job while it waits and alone in the audit log', () => {
    const note = { code: 'restore-queued', restore: { kind: 'restore', snapshotId: 's1', mode: 'beside', refs: 2, configuration: 'with-git' } } as const;
    assert.equal(jobNoteWords(note), 'Queued. Restore 2 refs of snapshot s1, with its repository configuration beside the existing work (under restored/s1/).');
    assert.equal(auditNoteWords(note), 'Restore 2 refs of snapshot s1, with its repository configuration beside the existing work (under restored/s1/).');
    assert.equal(restoreAskedWords({ kind: 'undo', event: 'force-push', ref: 'refs/heads/main', previousTip: '0123456789abcdef', inPlace: true }), 'Undo the force-push of refs/heads/main: put it back in place at 0123456789ab.');
    assert.equal(restoreAskedWords({ kind: 'deleted-repository', snapshotId: 's1', repository: 'old', newRepositorySlug: 'new' }), 'Restore the deleted repository old from snapshot s1 into the new repository new.');
  });

  it('words each step and ending of the other jobs', () => {
    assert.equal(jobNoteWords({ code: 'snapshot-stored', snapshotId: 's1', trigger: 'push', recipients: 1, newChain: true }), 'Snapshot s1 stored (push): encrypted to 1 age recipient, new full chain.');
    assert.equal(jobNoteWords({ code: 'snapshot-unchanged', snapshotId: 's1', trigger: 'restore-guard' }), 'Nothing changed since snapshot s1 (before overwrite).');
    assert.equal(jobNoteWords({ code: 'backup-continuing', bundles: 1, refsRemaining: 40 }), 'Stored 1 more bundle; 40 refs to go, continuing.');
    assert.equal(jobNoteWords({ code: 'swept', sweep: { repositories: 3, backupsQueued: 2, prunesQueued: 1, includedAutomatically: 1 } }), 'Swept 3 repositories: 2 backups and 1 prune queued; 1 new repository included.');
    assert.equal(jobNoteWords({ code: 'pruned', snapshots: 2, objects: 5, bytes: 900, uploads: 0 }), 'Forgot 2 snapshots, deleted 5 objects (900 bytes), aborted 0 incomplete uploads.');
  });
});

describe('the audit log\'s words for a change of the settings', () => {
  it('names the fields and secrets changed, never a secret\'s value, and says what a change of storage does', () => {
    assert.equal(auditNoteWords({ code: 'settings-created', secrets: ['bucketSecretAccessKey'] }), 'secrets stored: bucket secret access key');
    assert.equal(auditNoteWords({ code: 'settings-changed', fields: ['schedule.interval'], secrets: ['bitbucketToken'] }), 'changed: schedule.interval, Bitbucket token');
    assert.equal(auditNoteWords({ code: 'settings-changed', fields: [], secrets: [] }), 'nothing changed');
    assert.equal(auditNoteWords({ code: 'encryption-changed', from: ['age1a', 'age1b'], to: ['age1c'] }),
      'From the next backup on, each repository starts a new full chain encrypted to 1 age recipient (age1c). Earlier snapshots stay encrypted to the previous 2 age recipients.');
    assert.equal(auditNoteWords({ code: 'encryption-changed', from: ['age1a'], to: [] }),
      'Downgrade confirmed: from the next backup on, each repository starts a new full chain stored unencrypted. Earlier snapshots stay encrypted to 1 age recipient.');
    assert.equal(auditNoteWords({ code: 'object-lock-changed', from: null, to: { mode: 'COMPLIANCE', days: 7 } }),
      'From none to COMPLIANCE, 7 days, for every object written from the next backup on; objects already written keep the retention they got.');
  });
});

describe('the repository page\'s words for a ref', () => {
  it('a branch by its short name, a tag as "tag …", any other ref in full', () => {
    assert.deepEqual(['refs/heads/feature/x', 'refs/tags/v1', 'refs/notes/commits'].map(refLabel), ['feature/x', 'tag v1', 'refs/notes/commits']);
  });
});

describe('the admin page\'s words for a connection test', () => {
  const base = { credential: 'access-token' as const, gitUsername: 'x-token-auth', missingScopes: [] as string[], access: [] as AccessCheck[] };
  it('says what the bucket test found', () => {
    assert.equal(bucketCheckWords({ ok: true, objectLock: true, found: { code: 'written', location: 's3://b/p', lock: 'enabled', lockWanted: true } }),
      'Lifeboat wrote, read and deleted a test object in s3://b/p. The bucket has Object Lock enabled.');
    assert.equal(bucketCheckWords({ ok: false, objectLock: false, found: { code: 'written', location: 's3://b/p', lock: 'disabled', lockWanted: true } }),
      'Lifeboat wrote, read and deleted a test object in s3://b/p. The bucket does not have Object Lock enabled. Backups with Object Lock turned on will fail: enable Object Lock on the bucket (only possible when it is created) or turn it off in the settings.');
    assert.equal(bucketCheckWords({ ok: false, objectLock: false, found: { code: 'failed', reason: 'Access denied.' } }), 'Writing, reading and deleting a test object failed: Access denied.');
  });
  it('says what the Bitbucket test found: a refused credential, missing scopes, the app\'s own access', () => {
    assert.equal(bitbucketCheckWords({ ...base, ok: false, found: { code: 'credential-refused', on: 'backup', repository: 'acme/web' } }),
      'Bitbucket refused the token on git (cloning acme/web as x-token-auth): it is not a valid access token of this workspace (revoked, expired, or mistyped). If it is an API token, choose "API token" and give its account\'s email.');
    assert.equal(bitbucketCheckWords({ ...base, credential: 'api-token', ok: false, found: { code: 'credential-refused', on: 'rest', repository: 'acme/web', email: 'bot@example.com' } }),
      'Bitbucket refused the token on the REST API (reading acme/web): the API token, or the email bot@example.com that goes with it, is wrong (or the token expired). If it is an access token, choose "access token".');
    const appRefused: AccessCheck = { area: 'pull-requests', phase: 'backup', identity: 'app', status: 'app-refused', scopes: ['read:pullrequest:bitbucket'] };
    assert.equal(bitbucketCheckWords({ ...base, ok: false, found: { code: 'tested' }, missingScopes: ['webhook'], access: [appRefused], repository: 'acme/web' }),
      'This is an access token (git user x-token-auth), but Bitbucket refused it some reads on acme/web: create a new one with the scope webhook added. Bitbucket refused Lifeboat\'s own access on acme/web: the installed app lacks read:pullrequest:bitbucket; update Lifeboat (Workspace settings → Installed apps) to grant it.');
    assert.equal(bitbucketCheckWords({ ...base, ok: true, found: { code: 'tested' }, repository: 'acme/web' }),
      'This is an access token (git user x-token-auth): on acme/web it reads and pushes with git and reads what backups need of it over the REST API.');
  });
});

describe('the audit log\'s detail column', () => {
  const entry = { id: 'e', at: '2026-12-07T00:00:00.000Z', action: 'x' };
  it('words a note, a failure and the job a request started; an older entry keeps its words', () => {
    assert.equal(auditDetailWords({ ...entry, note: { code: 'work-parked', events: 1, queue: 'lifeboat-backup', jobIds: ['j1'] } }),
      'Forge\'s cyclic invocation limit was reached: 1 event for lifeboat-backup (job j1) waits for the next scheduled run.');
    assert.equal(auditDetailWords({ ...entry, note: { code: 'included-automatically', slug: 'web' } }), 'web: new repositories join the backups (workspace setting).');
    assert.equal(auditDetailWords({ ...entry, outcome: 'failed', error: { code: 'LOCKED', message: 'The bucket is locked.' } }), 'LOCKED: The bucket is locked.');
    assert.equal(auditDetailWords({ ...entry, jobId: 'j2' }), 'job j2');
    assert.equal(auditDetailWords({ ...entry, detail: 'as written before' }), 'as written before');
  });
});

describe('the pages\' words for a long transfer\'s progress', () => {
  it('says segment k of n, bytes, rate and time left, the estimate as "about"', () => {
    assert.deepEqual(progressWords({ done: 1, total: 4, steps: 'segments', bytes: 1_500_000, bytesPerSecond: 1_000_000, secondsLeft: 5 }),
      ['1 of 4 segments of history stored', '1.5 MB', '1 MB/s', 'about 5 seconds left']);
    assert.deepEqual(progressWords({ done: 2, total: 3, steps: 'pushes', bytes: 2_000_000, bytesPerSecond: 500_000, secondsLeft: 250 }),
      ['2 of 3 pushes done', '2 MB', '500 kB/s', 'about 4 minutes left']);
    assert.deepEqual(progressWords({ refs: 1, done: 0, total: 1, steps: 'bundles' }), ['1 ref', '0 of 1 bundle stored']);
    // Work that counts steps of its own (repositories) keeps its plain count; no rate, no estimate before they exist.
    assert.deepEqual(progressWords({ done: 2, total: 5 }), ['2 of 5']);
  });

  it('rounds the time left as an estimate', () => {
    assert.equal(timeLeftWords(0), 'about 1 second left');
    assert.equal(timeLeftWords(89), 'about 89 seconds left');
    assert.equal(timeLeftWords(90), 'about 2 minutes left');
    assert.equal(timeLeftWords(3 * 3600), 'about 3 hours left');
  });
});
