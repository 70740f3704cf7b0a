/**
 * The recovery kit: the command line in one file (dist/recovery/lifeboat.mjs, runs with
 * `node` alone), its SHA-256 and a five-line playbook, kept in the bucket beside the
 * backups (RECOVERY_KEYS) so that on the day Bitbucket is down the tool is where the data is.
 * Written with the bucket's Object Lock like every other object; refreshed when the file
 * the writer carries is not the one the bucket names.
 */
import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import { collect } from '../streams.js';
import { type BlobStore, isNotFound } from './blob-store.js';
import { RECOVERY_KEYS } from './bucket-keys.js';
import type { ObjectLockConfig } from './format.js';
import { checkRetention } from './lock-check.js';
import { lockFor } from './objects.js';

export interface RecoveryBundle {
  /** The version of Lifeboat it was built from. */
  version: string;
  /** SHA-256 of the file, hex: compared with the bucket's before the file itself is needed. */
  sha256: string;
  /** The file. */
  bytes: () => Uint8Array;
}

const FILE_NAME = RECOVERY_KEYS.bundle.slice(RECOVERY_KEYS.bundle.lastIndexOf('/') + 1);
const SHA256SUM_LINE = /^([0-9a-f]{64}) [ *]lifeboat\.mjs\n?$/;

/** `sha256sum`'s line for the file: `sha256sum -c lifeboat.mjs.sha256` checks it in the folder it was downloaded to. */
export function sha256sumLine(sha256: string): string {
  return `${sha256}  ${FILE_NAME}\n`;
}

/** The playbook: from a machine with Node and the bucket's keys to a restored repository. */
export function recoveryReadme(options: { version: string; location: string; endpoint?: string }): string {
  const { version, location, endpoint } = options;
  const bucket = `--bucket ${location}${endpoint ? ` --endpoint ${endpoint}` : ''}`;
  return [
    `Lifeboat recovery kit (lifeboat ${version}): restore the repositories backed up in ${location} without Bitbucket or the app.`,
    '1. Get Node.js 20 or newer (https://nodejs.org) and put the bucket\'s keys in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION.',
    `2. Download this folder: aws s3 cp --recursive ${location}/recovery/ lifeboat-recovery/${endpoint ? ` --endpoint-url ${endpoint}` : ''} && cd lifeboat-recovery`,
    `3. Check the file: sha256sum -c ${FILE_NAME}.sha256 (macOS: shasum -a 256 -c ${FILE_NAME}.sha256)`,
    `4. Find the snapshot: node ${FILE_NAME} snapshots ${bucket}`,
    `5. Restore it: node ${FILE_NAME} restore <snapshot-id> --to <folder> ${bucket} (encrypted snapshots: add --identity <age identity file>)`,
    `Help: node ${FILE_NAME} help. Without Node: Lifeboat's docs/bucket-format.md restores with aws, age and git alone.`,
    '',
  ].join('\n');
}

/** The SHA-256 the kit in the bucket names; undefined when there is no kit (or its line is not sha256sum's). */
export async function storedRecoveryKitSha256(store: BlobStore): Promise<string | undefined> {
  let text: string;
  try {
    text = new TextDecoder().decode(await collect(await store.get(RECOVERY_KEYS.sha256)));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  return SHA256SUM_LINE.exec(text)?.[1];
}

/**
 * Writes the kit unless the bucket already names this very file: the file and the playbook
 * first, its SHA-256 last, so a write cut short is written again next time. With Object Lock,
 * each object is read back for its retention (OBJECT_LOCK_NOT_APPLIED when it has none).
 * A refresh puts over the same keys: retention holds an object version and Object Lock needs
 * versioning (S3 User Guide, "Locking objects with Object Lock"), so the older kit stays as a
 * retained version and the new one becomes current. (MemoryBlobStore keeps one version and
 * refuses that put while the old one is retained.)
 */
export async function refreshRecoveryKit(
  store: BlobStore,
  bundle: RecoveryBundle,
  options: { objectLock: ObjectLockConfig | null; endpoint?: string; now?: Date },
): Promise<'current' | 'written'> {
  if ((await storedRecoveryKitSha256(store)) === bundle.sha256) return 'current';
  const bytes = bundle.bytes();
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== bundle.sha256) throw new LifeboatError('INTERNAL', `The recovery command line carried is damaged: SHA-256 ${actual}, expected ${bundle.sha256}.`);
  const lock = lockFor(options.objectLock, options.now);
  const put = (key: string, body: Uint8Array, contentType: string): Promise<void> =>
    store.put(key, body, { contentType, contentLength: body.byteLength, ...(lock ? { lock } : {}) });
  const text = (value: string): Uint8Array => new TextEncoder().encode(value);
  await put(RECOVERY_KEYS.bundle, bytes, 'text/javascript');
  await put(RECOVERY_KEYS.readme, text(recoveryReadme({ version: bundle.version, location: store.location, ...(options.endpoint ? { endpoint: options.endpoint } : {}) })), 'text/plain; charset=utf-8');
  await put(RECOVERY_KEYS.sha256, text(sha256sumLine(bundle.sha256)), 'text/plain; charset=utf-8');
  if (lock) await checkRetention(store, Object.values(RECOVERY_KEYS), lock);
  return 'written';
}
