/**
 * The root marker `lifeboat.json`: format version, encryption recipients and
 * Object Lock settings. Every reader checks it first and stops on a version it
 * does not know; every writer takes its encryption and lock settings from it.
 */
import { LifeboatError } from '../errors.js';
import type { BlobStore } from './blob-store.js';
import { isNotFound } from './blob-store.js';
import { validateRecipient } from './crypto.js';
import { FORMAT_VERSION, type Marker, type ObjectLockConfig, markerSchema, parseDocument, serializeDocument } from './format.js';
import { MARKER_KEY } from './keys.js';
import { collect } from '../streams.js';

export interface InitOptions {
  recipients?: string[];
  objectLock?: ObjectLockConfig;
  now?: Date;
}

export async function initBucket(store: BlobStore, options: InitOptions = {}): Promise<Marker> {
  for (const recipient of options.recipients ?? []) validateRecipient(recipient);
  if (await store.stat(MARKER_KEY)) {
    throw new LifeboatError('BUCKET_ALREADY_INITIALIZED', `${store.location} already holds a Lifeboat backup (${MARKER_KEY} exists); nothing was changed.`);
  }
  if (options.objectLock && (await store.objectLockEnabled()) === false) {
    throw new LifeboatError('INVALID_ARGUMENT', `Object Lock was requested but the bucket behind ${store.location} does not have Object Lock enabled. Create the bucket with Object Lock (versioning on), or leave out the lock option.`);
  }
  const marker: Marker = {
    format: 'lifeboat',
    version: FORMAT_VERSION,
    createdAt: (options.now ?? new Date()).toISOString(),
    encryption: options.recipients?.length ? { scheme: 'age', recipients: options.recipients } : null,
    objectLock: options.objectLock ?? null,
  };
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
