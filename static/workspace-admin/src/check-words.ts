// The connection tests' answers in words: the backend says what it found
// (src/contract.ts BucketFinding, BitbucketFinding), the admin page says it so.
import type { BitbucketCheck, BucketCheck } from '../../../src/contract.js';
import { scopesWithStatus } from '../../../src/bitbucket/credentials.js';

const CREDENTIAL_NAMES = { 'access-token': 'an access token', 'api-token': 'an API token' } as const;

export function bucketCheckWords({ found }: BucketCheck): string {
  switch (found.code) {
    case 'not-reachable': return `Forge does not let Lifeboat reach ${found.origin} yet: it is not one of the storage providers the app declares. A workspace admin allows it with "Allow Lifeboat to reach ${found.origin}" beside the endpoint.`;
    case 'different-bytes': return `${found.location} gave back different bytes than were written; check the endpoint and addressing style.`;
    case 'not-deleted': return `${found.location} still lists the test object ${found.key} after deleting it; Lifeboat needs delete permission to prune old snapshots.`;
    case 'failed': return `Writing, reading and deleting a test object failed: ${found.reason}`;
    case 'written': {
      const written = `Lifeboat wrote, read and deleted a test object in ${found.location}.`;
      if (found.lock === 'enabled') return `${written} The bucket has Object Lock enabled.`;
      const lock = found.lock === 'disabled'
        ? 'The bucket does not have Object Lock enabled.'
        : 'The bucket did not say whether it has Object Lock (the server does not support it, or the key may not read its configuration).';
      const failing = found.lockWanted ? ' Backups with Object Lock turned on will fail: enable Object Lock on the bucket (only possible when it is created) or turn it off in the settings.' : '';
      return `${written} ${lock}${failing}`;
    }
  }
}

export function bitbucketCheckWords(check: BitbucketCheck): string {
  const { found, credential, gitUsername: user } = check;
  switch (found.code) {
    case 'credential-refused': {
      const where = found.on === 'rest' ? `the REST API (reading ${found.repository})` : `git (${found.on === 'backup' ? 'cloning' : 'pushing to'} ${found.repository} as ${user})`;
      return credential === 'access-token'
        ? `Bitbucket refused the token on ${where}: it is not a valid access token of this workspace (revoked, expired, or mistyped). If it is an API token, choose "API token" and give its account's email.`
        : `Bitbucket refused the token on ${where}: the API token, or the email ${found.email ?? ''} that goes with it, is wrong (or the token expired). If it is an access token, choose "access token".`;
    }
    case 'no-repository': return 'The workspace has no repository to test the credential on; create one and test again.';
    case 'tested': {
      const name = check.repository ?? '';
      const who = `This is ${CREDENTIAL_NAMES[credential]} (git user ${user})`;
      const appRefused = scopesWithStatus(check.access, 'app-refused');
      const missing = check.missingScopes;
      const problems = [
        ...(missing.length > 0 ? [`${who}, but Bitbucket refused it some reads on ${name}: create a new one with the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')} added.`] : []),
        ...(appRefused.length > 0 ? [`Bitbucket refused Lifeboat's own access on ${name}: the installed app lacks ${appRefused.join(', ')}; update Lifeboat (Workspace settings → Installed apps) to grant it.`] : []),
      ];
      return problems.length > 0 ? problems.join(' ') : `${who}: on ${name} it reads and pushes with git and reads what backups need of it over the REST API.`;
    }
  }
}
