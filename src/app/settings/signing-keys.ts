// The app's signing key (issue 18, "Signed snapshots"): an Ed25519 key created on
// first need and kept as a Forge secret, like the bucket's secret key: read only
// here, handed only to the engine's writers, never to a resolver's answer, a job
// record, the audit log or a log line. Beside it, in KVS, the app's own record of
// its keys (fingerprints, public halves, when each was valid): that record, not the
// bucket's marker, is what the app trusts — anyone who can write to the bucket can
// edit the marker, nobody but the app writes its KVS.
import { LifeboatError } from '../../engine/errors.js';
import { type SigningKey, type Trust, generateSigningKey, loadSigningKey } from '../../engine/bucket/signing.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState, now } from '../../forge/state/context.js';

export interface AppSigningKeyRecord {
  fingerprint: string;
  publicKeyPem: string;
  validFrom: string;
  /** null while it is the key the app signs with. */
  validUntil: string | null;
}

interface AppSigningKeys {
  keys: AppSigningKeyRecord[];
}

async function readRecord(): Promise<AppSigningKeys | undefined> {
  return appState().get<AppSigningKeys>(kvsKeys.signingKeys);
}

/** The key the app signs with now, as the admin page shows it; undefined before the first one is made. */
export async function currentSigningKey(): Promise<AppSigningKeyRecord | undefined> {
  return (await readRecord())?.keys.find((key) => key.validUntil === null);
}

/**
 * What the app believes: snapshots signed by any key it ever signed with (a snapshot
 * keeps the key it was signed by). `refuse` for what a backup builds on, `flag` for
 * everything it shows or restores (an unsigned snapshot is shown "not signed").
 */
export async function appTrust(unsigned: Trust['unsigned']): Promise<Trust> {
  return { keys: (await readRecord())?.keys.map((key) => key.fingerprint) ?? [], unsigned };
}

/**
 * The key the app signs with, made the first time one is needed. Two first
 * backups may race: each writes its own secret, then only one record is written
 * (setIfAbsent); the loser forgets its secret and uses the winner's. The secret is
 * written before the record, so the record never names a key whose secret is not there.
 */
export async function appSigningKey(): Promise<SigningKey> {
  const current = await currentSigningKey();
  if (current) return loadKept(current);
  const { key, privateKeyPem } = generateSigningKey();
  await appState().secrets.set(kvsKeys.signingSecret(key.fingerprint), privateKeyPem);
  const record: AppSigningKeys = { keys: [{ fingerprint: key.fingerprint, publicKeyPem: key.publicKeyPem, validFrom: new Date(now()).toISOString(), validUntil: null }] };
  if (await appState().setIfAbsent(kvsKeys.signingKeys, record)) return key;
  await appState().secrets.delete(kvsKeys.signingSecret(key.fingerprint));
  const winner = await currentSigningKey();
  if (!winner) throw new LifeboatError('INTERNAL', 'The app\'s record of its signing keys names no current key.');
  return loadKept(winner);
}

async function loadKept(record: AppSigningKeyRecord): Promise<SigningKey> {
  const pem = await appState().secrets.get<string>(kvsKeys.signingSecret(record.fingerprint));
  if (pem === undefined) {
    throw new LifeboatError('SIGNING_KEY_INVALID', `The app's signing key ${record.fingerprint} is missing from its secrets: nothing can be signed with it.`, { details: { fingerprint: record.fingerprint } });
  }
  const key = loadSigningKey(pem);
  if (key.fingerprint !== record.fingerprint) {
    throw new LifeboatError('SIGNING_KEY_INVALID', `The app's signing secret is not the key its record names (${record.fingerprint}).`, { details: { fingerprint: record.fingerprint } });
  }
  return key;
}
