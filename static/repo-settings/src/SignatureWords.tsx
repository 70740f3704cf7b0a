import Lozenge from '@atlaskit/lozenge';
import { shortFingerprint } from '../../../src/engine/bucket/fingerprint.js';

/** Whether Lifeboat's key signed the snapshot (checked when it was indexed), and which key: its short fingerprint, whole on hover. */
export function SignatureWords({ signedBy }: { signedBy: string | undefined }) {
  if (signedBy === undefined) {
    return <span title="Not signed by Lifeboat's key: taken before Lifeboat signed its snapshots, or written into the bucket by someone else."><Lozenge>not signed</Lozenge></span>;
  }
  return <span title={`Signed by Lifeboat's key ${signedBy}`}><Lozenge appearance="success">signed</Lozenge> <code>{shortFingerprint(signedBy)}</code></span>;
}
