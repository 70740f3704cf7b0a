// What the Bitbucket credential must cover, area by area, as the access table
// (src/bitbucket/credentials.ts) says: for the chosen kind of credential, the
// scopes each backup and restore needs of it, what Lifeboat does with its own
// access, and what no credential of that kind may do. After "Test Bitbucket
// access", each cell also says how the test found it. And the warning before an
// API token expires.
import DynamicTable from '@atlaskit/dynamic-table';
import Lozenge from '@atlaskit/lozenge';
import { Inline, Stack, Text } from '@atlaskit/primitives';
import SectionMessage from '@atlaskit/section-message';
import type { ReactNode } from 'react';
import { ACCESS, ACCESS_AREAS, type AccessArea, type CredentialKind, type Requirement, credentialScopes, scopesFor } from '../../../src/bitbucket/credentials.js';
import { AREA_NAMES } from '../../shared/areas.js';
import type { AccessCheck, AccessStatus, BitbucketCheck, SettingsView } from './api.js';

const KIND_NAMES: Record<CredentialKind, string> = { 'access-token': 'access token', 'api-token': 'API token' };

const STATUS_LOOK: Record<AccessStatus, { appearance: 'success' | 'removed' | 'default' | 'moved'; text: string }> = {
  covered: { appearance: 'success', text: 'covered' },
  'missing-scopes': { appearance: 'removed', text: 'refused: scope missing' },
  'not-for-this-credential': { appearance: 'default', text: 'not possible' },
  'app-refused': { appearance: 'removed', text: 'refused to Lifeboat' },
  'not-tested': { appearance: 'moved', text: 'not tested' },
};

const Scopes = ({ scopes }: { scopes: readonly string[] }) => <>{scopes.map((scope, index) => <span key={scope}>{index > 0 ? ', ' : ''}<code>{scope}</code></span>)}</>;

function requirementText(requirement: Requirement, kind: CredentialKind, area: AccessArea): ReactNode {
  if (requirement.identity === 'app') return area === 'new-repository' ? 'Lifeboat creates it' : 'Lifeboat itself';
  const scopes = credentialScopes(requirement, kind);
  const lead = area === 'new-repository' ? 'making you its admin: ' : '';
  if (scopes === null) return <>{lead}no {KIND_NAMES[kind]} may (an API token can)</>;
  return <>{lead}<Scopes scopes={scopes} /></>;
}

function Cell({ area, phase, kind, checks }: { area: AccessArea; phase: 'backup' | 'restore'; kind: CredentialKind; checks: AccessCheck[] | undefined }) {
  const requirements = ACCESS[area][phase];
  if (requirements.length === 0) return <Text color="color.text.subtlest">—</Text>;
  return (
    <Stack space="space.050">
      {requirements.map((requirement) => {
        const found = checks?.find((check) => check.area === area && check.phase === phase && check.identity === requirement.identity);
        const look = found && STATUS_LOOK[found.status];
        return (
          <Inline key={requirement.identity} space="space.075" alignBlock="center" shouldWrap>
            <Text>{requirementText(requirement, kind, area)}</Text>
            {look && <Lozenge appearance={look.appearance}>{look.text}</Lozenge>}
          </Inline>
        );
      })}
    </Stack>
  );
}

// Widths in percent: the scopes are long words, the restore column holds the most of them.
const HEAD = { cells: [{ key: 'area', content: 'What', width: 26 }, { key: 'backup', content: 'Backups read it with', width: 32 }, { key: 'restore', content: 'Restores write it with', width: 42 }] };

/** The scopes to give, and the table; `check` is the last test's answer (shown when it tested this kind). */
export function CredentialAccess({ kind, check }: { kind: CredentialKind; check: BitbucketCheck | undefined }) {
  const { backup, restore } = scopesFor(kind);
  const checks = check?.credential === kind ? check.access : undefined;
  const rows = ACCESS_AREAS.map((area) => ({
    key: area,
    cells: [
      { key: 'area', content: AREA_NAMES[area] },
      { key: 'backup', content: <Cell area={area} phase="backup" kind={kind} checks={checks} /> },
      { key: 'restore', content: <Cell area={area} phase="restore" kind={kind} checks={checks} /> },
    ],
  }));
  return (
    <Stack space="space.100">
      <Text>Give the {KIND_NAMES[kind]} these scopes: <Scopes scopes={backup} /> for backups, and <Scopes scopes={restore} /> too for restores. Lifeboat reads the rest with its own access.</Text>
      <DynamicTable caption={`What an ${KIND_NAMES[kind]} covers, and what Lifeboat does itself`} head={HEAD} rows={rows} testId="credential-access" />
      {checks && check?.repository && <Text size="small">Tested on {check.repository}. A restore's writes cannot be tried without writing: they are covered when a read showed the same scopes.</Text>}
    </Stack>
  );
}

/** Shown from 14 days before an API token's expiry (SettingsView.bitbucketExpiry), and after it. */
export function ExpiryWarning({ view }: { view: SettingsView }) {
  const expiry = view.bitbucketExpiry;
  if (!expiry || expiry.state === 'ok') return null;
  const title = expiry.state === 'expired'
    ? `The Bitbucket API token expired on ${expiry.expiresOn}`
    : `The Bitbucket API token expires ${expiry.daysLeft === 0 ? 'today' : expiry.daysLeft === 1 ? 'tomorrow' : `in ${expiry.daysLeft} days`} (${expiry.expiresOn})`;
  return (
    <SectionMessage appearance={expiry.state === 'expired' ? 'error' : 'warning'} title={title}>
      <Text>{expiry.state === 'expired' ? 'Backups and restores fail until' : 'Backups and restores stop working then, unless'} you create a new API token (id.atlassian.com → Security → API tokens, with the scopes Set-up → Bitbucket access lists), paste it there with its expiry date, and save.</Text>
    </SectionMessage>
  );
}
