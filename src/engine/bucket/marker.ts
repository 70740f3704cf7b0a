/**
 * The root marker `lifeboat.json`: format version, and the encryption recipients
 * and Object Lock settings that writers use now. Every reader checks it first and
 * stops on a version it does not know. What an object actually is, the snapshot
 * manifests say (`encryption`, `bundles[].encrypted`): the marker may have changed
 * since it was written.
 */
import { LifeboatError, isLifeboatError } from '../errors.js';
import type { BlobStore } from './blob-store.js';
import { isNotFound } from './blob-store.js';
import { validateRecipient } from './crypto.js';
import {
  type EncryptionConfig,
  FORMAT_VERSION,
  type Marker,
  type ObjectLockConfig,
  encryptionFor,
  markerSchema,
  parseDocument,
  sameEncryption,
  serializeDocument,
} from './format.js';
import { MARKER_KEY } from './bucket-keys.js';
import type { PublicSigningKey } from './signing.js';
import { collect } from '../streams.js';

export interface InitOptions {
  recipients?: string[];
  objectLock?: ObjectLockConfig;
  now?: Date;
}

/** How new objects are written: encrypted or not, locked or not. */
export interface StorageSetting {
  encryption: EncryptionConfig | null;
  objectLock: ObjectLockConfig | null;
}

export async function initBucket(store: BlobStore, options: InitOptions = {}): Promise<Marker> {
  const setting: StorageSetting = { encryption: encryptionFor(options.recipients ?? []), objectLock: options.objectLock ?? null };
  for (const recipient of options.recipients ?? []) validateRecipient(recipient);
  if (await store.stat(MARKER_KEY)) {
    throw new LifeboatError('BUCKET_ALREADY_INITIALIZED', `${store.location} already holds a Lifeboat backup (${MARKER_KEY} exists); nothing was changed.`);
  }
  await checkObjectLock(store, setting);
  const marker: Marker = { format: 'lifeboat', version: FORMAT_VERSION, createdAt: (options.now ?? new Date()).toISOString(), encryption: setting.encryption, objectLock: setting.objectLock };
  await store.put(MARKER_KEY, serializeDocument(marker), { contentType: 'application/json' });
  return marker;
}

export async function readMarker(store: BlobStore): Promise<Marker> {
  let bytes: Buffer;
  try {
    bytes = await collect(await store.get(MARKER_KEY));
  } catch (error) {
    if (isNotFound(error)) {
      throw new LifeboatError('BUCKET_NOT_INITIALIZED', `${store.location} holds no Lifeboat backup (no ${MARKER_KEY}).`, { details: { location: store.location } });
    }
    throw error;
  }
  return parseDocument(markerSchema, bytes, `${MARKER_KEY} in ${store.location}`);
}

/**
 * Lists `key` in the marker as a signing key, valid from now. Other keys stay as
 * they are: the app and the command line (attach) may write the same bucket, each
 * with its own key, and neither retires the other's (`validUntil` is for a rotation,
 * which nothing performs yet). Nothing is written when the key is listed already.
 */
export async function recordSigningKey(store: BlobStore, key: PublicSigningKey, now: Date = new Date()): Promise<Marker> {
  const current = await readMarker(store);
  const keys = current.signing?.keys ?? [];
  if (keys.some((known) => known.fingerprint === key.fingerprint && known.validUntil === null)) return current;
  // A key retired earlier and used again is listed once, valid from now.
  const listed = [...keys.filter((known) => known.fingerprint !== key.fingerprint), { fingerprint: key.fingerprint, publicKey: key.publicKeyPem, validFrom: now.toISOString(), validUntil: null }];
  const marker: Marker = { ...current, signing: { keys: listed } };
  await store.put(MARKER_KEY, serializeDocument(marker), { contentType: 'application/json' });
  return marker;
}

/** Whether two Object Lock settings give new objects the same retention. */
export function sameObjectLock(a: ObjectLockConfig | null, b: ObjectLockConfig | null): boolean {
  const lock = (config: ObjectLockConfig | null): string => (config ? `${config.mode} ${config.days}` : 'none');
  return lock(a) === lock(b);
}

function sameStorageSetting(a: StorageSetting, b: StorageSetting): boolean {
  return sameEncryption(a.encryption, b.encryption) && sameObjectLock(a.objectLock, b.objectLock);
}

/**
 * Makes the marker record `setting`: a fresh bucket gets one, a marker with another
 * setting is rewritten (the Forge app, whose settings may change after the first
 * backup). Snapshots already written keep what their manifests say.
 */
export async function recordStorageSetting(store: BlobStore, setting: StorageSetting, now: Date = new Date()): Promise<Marker> {
  let current: Marker;
  try {
    current = await readMarker(store);
  } catch (error) {
    if (!isLifeboatError(error, 'BUCKET_NOT_INITIALIZED')) throw error;
    try {
      return await initBucket(store, { recipients: setting.encryption?.recipients ?? [], ...(setting.objectLock ? { objectLock: setting.objectLock } : {}), now });
    } catch (raced) {
      // Two first backups racing: the other one wrote it; compare with what it wrote.
      if (!isLifeboatError(raced, 'BUCKET_ALREADY_INITIALIZED')) throw raced;
      current = await readMarker(store);
    }
  }
  if (sameStorageSetting(current, setting)) return current;
  for (const recipient of setting.encryption?.recipients ?? []) validateRecipient(recipient);
  await checkObjectLock(store, setting);
  const marker: Marker = { ...current, encryption: setting.encryption, objectLock: setting.objectLock };
  await store.put(MARKER_KEY, serializeDocument(marker), { contentType: 'application/json' });
  return marker;
}

/**
 * A bucket that says it has no Object Lock is refused before anything is written. One that
 * cannot tell (a policy without s3:GetBucketObjectLockConfiguration) is written to: what the
 * objects then carry is read back after the writes (lock-check.ts).
 */
async function checkObjectLock(store: BlobStore, setting: StorageSetting): Promise<void> {
  if (setting.objectLock && (await store.objectLockEnabled()) === false) {
    throw new LifeboatError('OBJECT_LOCK_UNAVAILABLE', `Object Lock was requested but the bucket behind ${store.location} does not have Object Lock enabled. Create the bucket with Object Lock (versioning on), or leave out the lock option.`, { details: { location: store.location, objectLock: 'disabled' } });
  }
}
