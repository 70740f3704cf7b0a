import SectionMessage from '@atlaskit/section-message';
import { Text } from '@atlaskit/primitives';
import type { SettingsView } from './api.js';

/** The app's signing key, by its fingerprint: what a person pins to check the snapshots without Bitbucket. */
export function SigningKey({ view }: { view: SettingsView }) {
  if (!view.signingKey) return null;
  return (
    <SectionMessage appearance="information" title="Lifeboat's signing key">
      <Text as="p"><code data-testid="signing-key-fingerprint">{view.signingKey.fingerprint}</code></Text>
      <Text as="p">Keep this fingerprint outside Bitbucket (a password manager, your runbook): on the day Bitbucket is down, <code>lifeboat … --trust {'<fingerprint>'}</code> checks with it that the snapshots are the ones Lifeboat signed.</Text>
    </SectionMessage>
  );
}
