/**
 * Content-addressed objects: written once under the SHA-256 of their stored bytes,
 * read back only after that hash is checked.
 *
 * A streamed upload cannot know its hash before the last byte, so it goes to
 * `staging/` first and is then copied server-side to `objects/<sha256>` (S3 has no
 * rename). A crash leaves only a staging object, which prune removes later.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LifeboatError, isLifeboatError } from '../errors.js';
import { type ByteStream, drain } from '../streams.js';
import type { BlobStore, ObjectLockOptions } from './blob-store.js';
import { decryptStream, encryptStream } from './crypto.js';
import type { EncryptionConfig, ObjectLockConfig } from './format.js';
import { type RepoPath, formatRepoPath, objectKey, stagingKey } from './bucket-keys.js';

export interface StoredObject {
  key: string;
  sha256: string;
  size: number;
}

export interface WriteObjectOptions {
  store: BlobStore;
  repo: RepoPath;
  /** Encrypt to these recipients (null: store in plain). */
  encryption: EncryptionConfig | null;
  /** Lock the object for this long (null: no lock). */
  objectLock: ObjectLockConfig | null;
  now?: Date;
  onProgress?: (bytesSent: number) => void;
  signal?: AbortSignal;
}

export function lockFor(objectLock: ObjectLockConfig | null, now: Date = new Date()): ObjectLockOptions | undefined {
  if (!objectLock) return undefined;
  return { mode: objectLock.mode, retainUntil: new Date(now.getTime() + objectLock.days * 86_400_000) };
}

/** Encrypts (when asked to), hashes and uploads `plain`; returns where it now lives. */
export async function writeObject(plain: ByteStream, options: WriteObjectOptions): Promise<StoredObject> {
  const { store, repo, encryption } = options;
  const stored = encryption ? encryptStream(plain, encryption.recipients) : plain;
  const hash = createHash('sha256');
  let size = 0;
  async function* measured(): ByteStream {
    for await (const chunk of stored) {
      hash.update(chunk);
      size += chunk.byteLength;
      yield chunk;
    }
  }
  const lock = lockFor(options.objectLock, options.now);
  const staging = stagingKey(repo, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`);
  // Staging is not locked: the copy below carries the retention, and a locked staging version would be billed twice.
  await store.put(staging, measured(), {
    contentType: 'application/octet-stream',
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const sha256 = hash.digest('hex');
  const key = objectKey(repo, sha256);
  // Same bytes already stored (only possible unencrypted): the object is immutable, keep it.
  if (!(await store.stat(key))) await store.copy(staging, key, lock ? { lock } : undefined);
  await store.remove(staging).catch(() => undefined); // prune removes what is left here later
  return { key, sha256, size };
}

/**
 * The stored bytes of an object of `repo`, checked against its SHA-256. Its key
 * must be exactly the one `repo` stores that SHA-256 under: a manifest naming any
 * other key (another repository's object, a path with "..") is refused before a
 * byte is read. The last chunk is held back until the hash matches, so no consumer
 * ever sees the complete content of a tampered object; one that must see none of
 * it (git) runs checkObject first.
 */
export async function* readVerified(store: BlobStore, repo: RepoPath, entry: { key: string; sha256: string; size: number }): ByteStream {
  const expected = objectKey(repo, entry.sha256);
  if (entry.key !== expected) {
    throw new LifeboatError('OBJECT_KEY_MISMATCH', `The snapshot names object ${entry.key}, but ${formatRepoPath(repo)} stores the object of SHA-256 ${entry.sha256} as ${expected}: the manifest was altered or copied from elsewhere. Nothing was read.`, { details: { key: entry.key, expected } });
  }
  const hash = createHash('sha256');
  let size = 0;
  let held: Uint8Array | undefined;
  for await (const chunk of await store.get(entry.key)) {
    hash.update(chunk);
    size += chunk.byteLength;
    if (held) yield held;
    held = chunk;
  }
  const actual = hash.digest('hex');
  if (actual !== entry.sha256 || size !== entry.size) {
    throw new LifeboatError('CHECKSUM_MISMATCH', `Object ${entry.key} is damaged or was altered: expected SHA-256 ${entry.sha256} (${entry.size} bytes), found ${actual} (${size} bytes).`, { details: { key: entry.key, expected: entry.sha256, actual } });
  }
  if (held) yield held;
}

/** A hashing pass over a stored object: resolves when its bytes are the ones recorded, throws as readVerified does otherwise. */
export async function checkObject(store: BlobStore, repo: RepoPath, entry: { key: string; sha256: string; size: number }): Promise<void> {
  await drain(readVerified(store, repo, entry));
}

/**
 * What a reader of an object failed on, told truly: a damaged object can fail a
 * parser (bundle header, pack, age) before its hash is known, so on such a failure
 * the object is hashed and a mismatch is reported instead, as the cause.
 */
export async function rootCause(store: BlobStore, repo: RepoPath, entry: { key: string; sha256: string; size: number }, failure: LifeboatError): Promise<LifeboatError> {
  // Failures no damaged byte causes: no second read.
  if (['CHECKSUM_MISMATCH', 'OBJECT_NOT_FOUND', 'OBJECT_KEY_MISMATCH', 'IDENTITY_REQUIRED'].includes(failure.code)) return failure;
  try {
    await checkObject(store, repo, entry);
  } catch (error) {
    if (isLifeboatError(error, 'CHECKSUM_MISMATCH')) return error;
  }
  return failure;
}

/** The plaintext of an object a snapshot names: verified, then decrypted when it was encrypted. */
export function readPlain(
  store: BlobStore,
  snapshot: { repository: RepoPath; encryption: EncryptionConfig | null },
  entry: { key: string; sha256: string; size: number; encrypted: boolean },
  identities: string[] | undefined,
): ByteStream {
  const verified = readVerified(store, snapshot.repository, entry);
  if (!entry.encrypted) return verified;
  if (!identities?.length) {
    const { encryption } = snapshot;
    throw new LifeboatError('IDENTITY_REQUIRED', `Snapshot data is encrypted with age${encryption ? ` to ${encryption.recipients.join(', ')}` : ''} and no identity was given to decrypt it.`, {
      details: { recipients: encryption?.recipients ?? [] },
    });
  }
  return decryptStream(verified, identities);
}
