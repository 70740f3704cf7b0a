/**
 * Signed snapshots (docs/bucket-format.md, "Signatures"): the writer signs the
 * exact bytes of each manifest with Ed25519, and readers check the signature
 * against keys they trust before they trust the manifest. The manifest names
 * every other object by SHA-256 (bundles, the metadata index, and through the
 * index every metadata object), and readers check those hashes (objects.ts), so
 * one signature covers all that a snapshot is.
 *
 * node:crypto signs and verifies Ed25519 itself (no dependency), and the
 * signature is a plain detached Ed25519 signature over the manifest file, so
 * `openssl pkeyutl -verify -rawin` checks it without Lifeboat.
 *
 * A key is known by its fingerprint: the SHA-256 of its public key in DER
 * (SubjectPublicKeyInfo), what `openssl pkey -pubin -outform DER | sha256sum` prints.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { FORMAT_VERSION } from './format.js';
import { FINGERPRINT_PREFIX } from './fingerprint.js';

export { shortFingerprint } from './fingerprint.js';
const FINGERPRINT = /^SHA256:[0-9a-f]{64}$/;

export const fingerprintSchema = z.string().regex(FINGERPRINT, 'a key fingerprint (SHA256: and 64 hex digits)');

/** A key that signs: the app's (a Forge secret) or the command line's (a key file). */
export interface SigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  fingerprint: string;
}

/** A public key as the marker lists it, and as a reader trusts it. */
export interface PublicSigningKey {
  fingerprint: string;
  publicKeyPem: string;
}

export function generateSigningKey(): { key: SigningKey; privateKeyPem: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { key: keyFrom(privateKey), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A key from its PEM (PKCS#8, as `generateSigningKey` or `openssl genpkey -algorithm ed25519` writes it). */
export function loadSigningKey(privateKeyPem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new LifeboatError('SIGNING_KEY_INVALID', 'The signing key is not a PEM private key.', { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new LifeboatError('SIGNING_KEY_INVALID', `The signing key is a ${privateKey.asymmetricKeyType ?? 'unknown'} key; Lifeboat signs with Ed25519.`);
  }
  return keyFrom(privateKey);
}

function keyFrom(privateKey: KeyObject): SigningKey {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), fingerprint: fingerprintOf(publicKey) };
}

/** The fingerprint of a public key (a KeyObject, or SPKI PEM). */
export function fingerprintOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
  return `${FINGERPRINT_PREFIX}${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new LifeboatError('SIGNING_KEY_INVALID', 'A public signing key is not a PEM public key.', { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new LifeboatError('SIGNING_KEY_INVALID', `A public signing key is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519.`);
  return key;
}

/**
 * A fingerprint as a person gives it (a pin): with or without "SHA256:", any case,
 * with ":" or spaces between digit groups. Throws SIGNING_KEY_INVALID otherwise.
 */
export function parseFingerprint(text: string): string {
  const hex = text.trim().replace(/^sha256:/i, '').replace(/[\s:]/g, '').toLowerCase();
  const fingerprint = `${FINGERPRINT_PREFIX}${hex}`;
  if (!FINGERPRINT.test(fingerprint)) {
    throw new LifeboatError('SIGNING_KEY_INVALID', `"${text}" is not a key fingerprint: give the 64 hex digits of SHA256:… as the admin page or \`lifeboat keygen\` shows them.`, { details: { fingerprint: text } });
  }
  return fingerprint;
}

export const signatureSchema = z.object({
  format: z.literal('lifeboat-signature'),
  version: z.number().int(),
  /** The snapshot whose manifest this signs (the manifest names its repository). */
  snapshot: z.string(),
  algorithm: z.literal('ed25519'),
  /** Fingerprint of the signing key; the signature object's key names it too. */
  key: fingerprintSchema,
  /** The signing key's public half (SPKI PEM): a reader trusts it only if its fingerprint is pinned or otherwise trusted. */
  publicKey: z.string(),
  /** SHA-256 of the manifest bytes, for people comparing by eye; the signature is over the bytes themselves. */
  manifestSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Base64 of the 64-byte Ed25519 signature of the manifest file's bytes. */
  signature: z.string(),
  signedAt: z.string().datetime({ offset: true }),
});
export type SignatureDocument = z.infer<typeof signatureSchema>;

export function signManifest(manifestBytes: Uint8Array, snapshotId: string, key: SigningKey, now: Date): SignatureDocument {
  return {
    format: 'lifeboat-signature',
    version: FORMAT_VERSION,
    snapshot: snapshotId,
    algorithm: 'ed25519',
    key: key.fingerprint,
    publicKey: key.publicKeyPem,
    manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'),
    signature: sign(null, manifestBytes, key.privateKey).toString('base64'),
    signedAt: now.toISOString(),
  };
}

/** Whether `signature` is `fingerprint`'s valid signature of these manifest bytes. */
export function signatureHolds(manifestBytes: Uint8Array, signature: SignatureDocument, fingerprint: string): boolean {
  if (signature.key !== fingerprint) return false;
  let publicKey: KeyObject;
  try {
    publicKey = parsePublicKey(signature.publicKey);
  } catch {
    return false;
  }
  // The key it carries must be the one the reader trusts, not merely one that verifies.
  if (fingerprintOf(publicKey) !== fingerprint) return false;
  return verify(null, manifestBytes, publicKey, Buffer.from(signature.signature, 'base64'));
}

/**
 * Which signatures a reader accepts: keys it trusts, by fingerprint, and whether a
 * manifest signed by none of them is still read (flagged as not signed) or refused.
 */
export interface Trust {
  keys: readonly string[];
  unsigned: 'flag' | 'refuse';
}

/**
 * For readers that need what manifests name, not whether to believe them: prune's
 * garbage pass (an object any manifest names stays, planted or not; its policy
 * counts only what PruneOptions.trust trusts) and tools that list names. Every
 * manifest reads, as not signed.
 */
export const UNCHECKED: Trust = { keys: [], unsigned: 'flag' };

/** What a reader found: signed by a trusted key, or not (never signed, or by a key it does not trust). */
export type Seal = { signed: true; key: string } | { signed: false };
