/**
 * The command line's side of signed snapshots (docs/bucket-format.md, "Signatures"):
 * the key file that signs what it writes, and the trust it reads with.
 *
 * A writer signs with its key file (--signing-key / LIFEBOAT_SIGNING_KEY) and builds
 * only on snapshots signed by that key or a pinned one. A reader trusts the keys
 * pinned with --trust / LIFEBOAT_TRUST; without a pin, the keys the bucket's marker
 * lists, and it says so: whoever can write the bucket can write that list too.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { BlobStore } from '../engine/bucket/blob-store.js';
import { type SealedManifest, type SnapshotLocation, readSealedManifest } from '../engine/bucket/catalog.js';
import { type RepoPath, formatRepoPath, parseKey, signaturesPrefix } from '../engine/bucket/bucket-keys.js';
import { readMarker, recordSigningKey } from '../engine/bucket/marker.js';
import { type SigningKey, type Trust, generateSigningKey, loadSigningKey, parseFingerprint, shortFingerprint } from '../engine/bucket/signing.js';
import { LifeboatError, isLifeboatError } from '../engine/errors.js';
import type { Options, Values } from './command.js';
import type { Output } from './output.js';

export const signingKeyOptions = {
  'signing-key': { type: 'string', env: ['LIFEBOAT_SIGNING_KEY'], value: '<file>', help: 'the Ed25519 key file that signs what the command writes (`lifeboat keygen` makes one)' },
} as const satisfies Options;

/** For the commands that read a snapshot's data: restore, download, prs, pr, config, attachments. */
export const allowUnsignedOptions = {
  'allow-unsigned': { type: 'boolean', help: 'read a snapshot no trusted key signed (one written before signing; it may be a plant)' },
} as const satisfies Options;

const KEYGEN = 'create one with `lifeboat keygen --out <file>`';

/** A new key in `path` (PKCS#8 PEM, readable by its owner only); never over an existing file. */
export async function writeKeyFile(path: string): Promise<SigningKey> {
  const { key, privateKeyPem } = generateSigningKey();
  try {
    await writeFile(path, privateKeyPem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new LifeboatError('INVALID_ARGUMENT', `${path} exists already: a signing key is never overwritten (it may be the only copy of a key that signs your snapshots). Choose another file.`);
    throw new LifeboatError('SIGNING_KEY_INVALID', `Cannot write the signing key file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return key;
}

/** The key in `path`; undefined when there is no such file (`init` then creates it). */
export async function readKeyFile(path: string): Promise<SigningKey | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LifeboatError('SIGNING_KEY_INVALID', `Cannot read the signing key file ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return loadSigningKey(text);
  } catch (error) {
    if (isLifeboatError(error, 'SIGNING_KEY_INVALID')) throw new LifeboatError('SIGNING_KEY_INVALID', `${path}: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * What `backup` and `attach` sign with and build on: the key file, recorded in the
 * marker as its current key, and a trust of that key and the pins that refuses
 * anything else (a snapshot planted in the bucket is never carried forward).
 * A write never produces an unsigned snapshot: no key, no write.
 */
export async function writerSigning(store: BlobStore, values: Values<typeof signingKeyOptions> & { trust?: string[] }, command: string): Promise<{ signingKey: SigningKey; trust: Trust }> {
  const path = values['signing-key'];
  if (!path) throw new LifeboatError('INVALID_ARGUMENT', `${command} signs what it writes: give --signing-key <file> or set LIFEBOAT_SIGNING_KEY (${KEYGEN}).`);
  const signingKey = await readKeyFile(path);
  if (!signingKey) throw new LifeboatError('SIGNING_KEY_INVALID', `No signing key file ${path}.`, { details: { path } });
  const keys = [signingKey.fingerprint, ...pinnedKeys(values)];
  await recordSigningKey(store, signingKey);
  return { signingKey, trust: { keys: [...new Set(keys)], unsigned: 'refuse' } };
}

/** The fingerprints given with --trust (repeatable) or LIFEBOAT_TRUST (comma or space separated). */
export function pinnedKeys(values: { trust?: string[] }): string[] {
  return (values.trust ?? []).flatMap((text) => text.split(/[\s,]+/)).filter((text) => text !== '').map(parseFingerprint);
}

export interface ReaderTrust {
  trust: Trust;
  /** Whether the keys were pinned (--trust), not taken from the marker. */
  pinned: boolean;
}

/**
 * The trust a reading command reads with: the pins, or else the marker's keys (said
 * once on stderr, with their fingerprints). `unsigned` is the command's choice for a
 * snapshot none of them signed: listings flag it, readers of its data refuse it when
 * there are keys to expect a signature by (readerPolicy).
 */
export async function readerTrust(store: BlobStore, values: { trust?: string[] }, output: Output, unsigned: (keys: readonly string[]) => Trust['unsigned']): Promise<ReaderTrust> {
  const pins = pinnedKeys(values);
  if (pins.length > 0) return { trust: { keys: pins, unsigned: unsigned(pins) }, pinned: true };
  const keys = ((await readMarker(store)).signing?.keys ?? []).map((key) => key.fingerprint);
  output.warn(keys.length > 0
    ? `lifeboat: no key pinned (--trust or LIFEBOAT_TRUST): trusting the signing keys the bucket's lifeboat.json lists, ${keys.join(', ')}. Whoever can write the bucket can change that list: pin the key you know to be sure.`
    : 'lifeboat: no key pinned (--trust or LIFEBOAT_TRUST), and the bucket lists no signing keys (written before signing): its snapshots are read as not signed.');
  return { trust: { keys, unsigned: unsigned(keys) }, pinned: false };
}

/**
 * For the commands that hand a snapshot's data on (restore, download, prs, pr,
 * attachments): a snapshot not signed by a trusted key, when there are trusted keys,
 * is what a plant looks like, so it is refused unless --allow-unsigned says the
 * person knows it (e.g. written before signing). A bucket that lists no keys and
 * has no pin predates signing: its snapshots are read, and said not signed.
 */
export function dataPolicy(allowUnsigned: boolean | undefined): (keys: readonly string[]) => Trust['unsigned'] {
  return (keys) => (keys.length > 0 && allowUnsigned !== true ? 'refuse' : 'flag');
}

/** Listings (snapshots, show, verify) read every snapshot and say per snapshot whether it is signed. */
export const listingPolicy = (): Trust['unsigned'] => 'flag';

/** A manifest read through `trust`, with a note on stderr when it is read though not signed. */
export async function readTrustedManifest(store: BlobStore, snapshot: SnapshotLocation, trust: Trust, output: Output): Promise<SealedManifest> {
  if (trust.keys.length === 0 && await holdsSignatures(store, snapshot.repo)) {
    // No pin and no key in the marker, yet this repository's snapshots are signed: the marker's key list was removed,
    // and reading on "as written before signing" is exactly what someone who planted a manifest would want.
    throw new LifeboatError('SNAPSHOT_UNSIGNED', `The bucket's lifeboat.json lists no signing keys, but snapshots of ${formatRepoPath(snapshot.repo)} are signed: the key list was removed. Pin the key you know with --trust <fingerprint> (or LIFEBOAT_TRUST).`, {
      details: { snapshot: snapshot.id, trusted: [] },
    });
  }
  const sealed = await readSealedManifest(store, snapshot, trust);
  if (!sealed.seal.signed) output.warn(`lifeboat: snapshot ${snapshot.id} is not signed${trust.keys.length > 0 ? ' by a trusted key' : ''}: nothing shows that Lifeboat wrote it.`);
  return sealed;
}

async function holdsSignatures(store: BlobStore, repo: RepoPath): Promise<boolean> {
  for await (const blob of store.list(signaturesPrefix(repo))) if (parseKey(blob.key).kind === 'signature') return true;
  return false;
}

/** "signed by SHA256:1a2b…9e0f" or "not signed" (by a trusted key), as the listings show it. */
export function describeSeal(signedBy: string | null): string {
  return signedBy ? `signed by ${shortFingerprint(signedBy)}` : 'not signed';
}
