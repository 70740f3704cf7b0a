/**
 * Attaching a pre-sunset export (an issue tracker export zip, a wiki's git
 * bundle) to a repository's backups: a new snapshot with the newest snapshot's
 * refs and bundles as they are, and its metadata index carried forward with the
 * attachment added. Later backups carry it forward in turn (nextIndex), and prune
 * keeps it while a kept snapshot names it. The caller checks the content first
 * (issue-export.ts, the CLI's wiki check): nothing is written for bad input.
 */
import { createHash } from 'node:crypto';
import { newSnapshotId } from './backup.js';
import type { BlobStore } from './bucket/blob-store.js';
import { readNewest } from './bucket/catalog.js';
import type { ObjectLockConfig, SnapshotManifest } from './bucket/format.js';
import { type RepoPath, formatRepoPath, signatureKey, snapshotKey } from './bucket/bucket-keys.js';
import { acquireLock } from './bucket/locks.js';
import { checkRetention } from './bucket/lock-check.js';
import { readMarker } from './bucket/marker.js';
import { type AttachmentEntry, nextIndex, readMetadataIndex, writeMetadataBlob } from './bucket/metadata.js';
import { lockFor } from './bucket/objects.js';
import type { SigningKey, Trust } from './bucket/signing.js';
import { commitSnapshot } from './commit.js';
import { LifeboatError } from './errors.js';
import type { ByteStream } from './streams.js';

export interface AttachOptions {
  store: BlobStore;
  repo: RepoPath;
  kind: AttachmentEntry['kind'];
  /** The file or folder name it came from. */
  name: string;
  /** What it holds (counts), for listings that need no decryption. */
  summary: Record<string, number>;
  /** The bytes to store (the zip as it is, or the wiki's bundle), each call from the start: read once to hash, once to store. */
  content: () => ByteStream;
  /** Object Lock retention for what is written; null for none. */
  objectLock: ObjectLockConfig | null;
  /** Signs the new snapshot. */
  signingKey: SigningKey;
  /** The newest snapshot is carried forward only when this trusts it. */
  trust: Trust;
  owner?: string;
  now?: () => Date;
}

export type AttachResult =
  | { status: 'attached'; snapshot: SnapshotManifest; attachment: AttachmentEntry }
  /** The same content of the same kind is attached already: no new snapshot. */
  | { status: 'unchanged'; snapshot: SnapshotManifest; attachment: AttachmentEntry };

export async function attach(options: AttachOptions): Promise<AttachResult> {
  const { store, repo } = options;
  const now = options.now ?? (() => new Date());
  await readMarker(store);
  const where = formatRepoPath(repo);
  // Read-only first: a repository with nothing to attach to gets its answer before anything is written.
  await newestToAttachTo(options, where, now());
  // Exclusive: a backup running beside it would build its snapshot on the one before the attachment, and every later
  // snapshot on that one, leaving the attachment behind. Attaching is rare; a backup meeting the lock waits for it.
  const lock = await acquireLock(store, repo, 'exclusive', { owner: options.owner ?? 'lifeboat attach', now });
  try {
    // Under the lock nothing else writes: the newest snapshot is the one this one follows.
    const { manifest: newest, newestId } = await newestToAttachTo(options, where, now());
    const previous = await readMetadataIndex(store, newest);
    // By the content's own hash: an encrypted copy of the same bytes is stored under another key.
    const sha256 = await hashOf(options.content());
    const known = previous?.attachments?.find((entry) => entry.kind === options.kind && entry.sha256 === sha256);
    if (known) return { status: 'unchanged', snapshot: newest, attachment: known };
    const lockedFrom = lockFor(options.objectLock, now());
    // Encrypted like the snapshot it joins: a snapshot is encrypted all or nothing.
    const object = await writeMetadataBlob(options.content(), { store, repo, encryption: newest.encryption, objectLock: options.objectLock, now: now() });
    const attachment: AttachmentEntry = { kind: options.kind, name: options.name, attachedAt: now().toISOString(), sha256, object, summary: options.summary };
    const { index } = nextIndex(previous, { attachments: [...(previous?.attachments ?? []), attachment], problems: [] }, now().toISOString());
    await lock.refresh(); // throws when the lock went stale meanwhile: never commit without it
    const snapshot = await commitSnapshot({
      store,
      repo,
      manifest: withoutMetadata({ ...newest, id: newSnapshotId(now(), newestId), createdAt: now().toISOString(), trigger: 'cli' }),
      metadata: { index, partial: newest.metadata?.partial ?? false },
      objectLock: options.objectLock,
      signingKey: options.signingKey,
      now,
    });
    // The manifest only: the attached object may be one stored before (same bytes), with the retention it got then.
    if (lockedFrom) await checkRetention(store, [snapshotKey(repo, snapshot.id), signatureKey(repo, snapshot.id, options.signingKey.fingerprint)], lockedFrom);
    return { status: 'attached', snapshot, attachment };
  } finally {
    await lock.release().catch(() => undefined);
  }
}

async function hashOf(content: ByteStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of content) hash.update(chunk);
  return hash.digest('hex');
}

/** The newest snapshot's manifest as the base of the next: its index is replaced by the new one. */
function withoutMetadata({ metadata: _metadata, ...rest }: SnapshotManifest): Omit<SnapshotManifest, 'metadata'> {
  return rest;
}

async function newestToAttachTo({ store, repo, trust }: AttachOptions, where: string, now: Date): Promise<{ manifest: SnapshotManifest; newestId: string | null }> {
  const newest = await readNewest(store, repo, trust, now);
  const [unreadable] = newest.skipped;
  // Building on an older snapshot would name refs older than the newest one holds.
  if (unreadable) throw new LifeboatError(unreadable.code, `The newest snapshot of ${where}, ${unreadable.id}, cannot be read (${unreadable.message}); attach after the next backup.`, { details: { repo: where } });
  if (!newest.manifest) throw new LifeboatError('SNAPSHOT_NOT_FOUND', `${where} has no snapshot yet: back it up first, then attach.`, { details: { repo: where } });
  return { manifest: newest.manifest, newestId: newest.newestId };
}
