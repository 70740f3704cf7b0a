/**
 * LFS objects in snapshots (docs/bucket-format.md, "Metadata", section `lfs`): the
 * collector that stores every object the snapshot's pointers name, once per oid,
 * and the restore that uploads them back through the batch API.
 */
import type { BlobStore } from './bucket/blob-store.js';
import type { SnapshotManifest } from './bucket/format.js';
import { type LfsEntry, type LfsSection, readMetadataIndex } from './bucket/metadata.js';
import { readPlain } from './bucket/objects.js';
import { LifeboatError, isLifeboatError, toLifeboatError } from './errors.js';
import { LFS_BATCH_SIZE, type LfsClient, verified } from './git/lfs.js';
import type { LfsPointer, MetadataCollector } from './metadata.js';
import type { ByteStream } from './streams.js';

const byOid = (a: { oid: string }, b: { oid: string }): number => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0);

/**
 * Section `lfs`: an object the previous snapshot already stored is named again (no
 * download); the others are downloaded in batches, streamed through a check of
 * their oid and size into the bucket. An object the server lacks, that arrives
 * damaged, or whose download is on a host the app may not reach, goes in
 * `missing` with the reason, and so does every object not reached
 * before the deadline or a transient failure: the section is then incomplete and
 * the next backup tries them again.
 */
const OUT_OF_TIME = 'The backup ran out of time before this object; the next backup fetches it.';

export function lfsCollector(client: LfsClient): MetadataCollector {
  return {
    section: 'lfs',
    async collect(context) {
      const stored = new Map((context.previous?.lfs?.items ?? []).map((entry) => [entry.oid, entry]));
      const items: LfsEntry[] = [];
      const wanted: LfsPointer[] = [];
      for (const pointer of context.lfsPointers) {
        const kept = stored.get(pointer.oid);
        if (kept && kept.size === pointer.size) items.push(kept);
        else wanted.push(pointer);
      }
      if (context.lfsPointers.length === 0 && !context.previous?.lfs) return {};
      const missing: LfsSection['missing'] = [];
      let stop: string | undefined;
      const outOfTime = (): boolean => context.deadline !== undefined && context.now() >= context.deadline;
      for (let start = 0; start < wanted.length; start += LFS_BATCH_SIZE) {
        const batch = wanted.slice(start, start + LFS_BATCH_SIZE);
        if (outOfTime()) stop ??= OUT_OF_TIME;
        if (stop !== undefined) {
          missing.push(...batch.map(({ oid, size }) => ({ oid, size, reason: stop! })));
          continue;
        }
        context.signal?.throwIfAborted();
        try {
          const answers = await client.batch('download', batch);
          for (const pointer of batch) {
            const answer = answers.get(pointer.oid);
            const action = answer?.actions?.download;
            if (!answer || answer.error || !action) {
              const why = answer?.error ? `${answer.error.code} ${answer.error.message}` : 'no download offered';
              missing.push({ ...pointer, reason: `The LFS server does not have it (${why}).` });
              continue;
            }
            if (stop !== undefined || outOfTime()) {
              stop ??= OUT_OF_TIME;
              missing.push({ ...pointer, reason: stop });
              continue;
            }
            try {
              const object = await context.writeBlob(await client.download(pointer, action));
              items.push({ oid: pointer.oid, size: pointer.size, object });
            } catch (error) {
              // This one object: damaged, or sent to a host the app may not reach. The others go on.
              if (!isLifeboatError(error, 'CHECKSUM_MISMATCH') && !isLifeboatError(error, 'LFS_HOST_NOT_ALLOWED')) throw error;
              missing.push({ ...pointer, reason: error.message });
            }
          }
        } catch (error) {
          const failure = toLifeboatError(error);
          if (failure.kind !== 'transient') throw error;
          // Bitbucket busy or unreachable: what is stored stays stored, the rest waits for the next backup.
          stop = `${failure.message} The next backup tries again.`;
          const done = new Set([...items, ...missing].map((entry) => entry.oid));
          missing.push(...batch.filter((pointer) => !done.has(pointer.oid)).map(({ oid, size }) => ({ oid, size, reason: stop! })));
        }
      }
      return { lfs: { complete: missing.length === 0, items: items.sort(byOid), missing: missing.sort(byOid) } };
    },
  };
}

/** The LFS objects a snapshot holds, and those it names but could not store. */
export async function snapshotLfs(store: BlobStore, manifest: SnapshotManifest): Promise<LfsSection | undefined> {
  return (await readMetadataIndex(store, manifest))?.lfs;
}

/** One stored LFS object's content: decrypted, and checked against its oid and size as it streams. */
export function readLfsObject(store: BlobStore, manifest: SnapshotManifest, entry: LfsEntry, identities: string[] | undefined): ByteStream {
  return verified(readPlain(store, { repository: manifest.repository, encryption: manifest.encryption }, entry.object, identities), entry);
}

export interface LfsRestoreReport {
  /** Sent to the server. */
  uploaded: number;
  /** The server had them already. */
  present: number;
  /** Named by the snapshot's pointers but never stored (the section's `missing`): a checkout of them fails. */
  missing: string[];
}

/** Uploads a snapshot's LFS objects through the batch API (after its refs are pushed). */
export async function uploadLfsObjects(options: { store: BlobStore; manifest: SnapshotManifest; client: LfsClient; identities?: string[]; signal?: AbortSignal }): Promise<LfsRestoreReport | undefined> {
  const section = await snapshotLfs(options.store, options.manifest);
  if (!section) return undefined;
  const report: LfsRestoreReport = { uploaded: 0, present: 0, missing: section.missing.map((entry) => entry.oid) };
  for (let start = 0; start < section.items.length; start += LFS_BATCH_SIZE) {
    options.signal?.throwIfAborted();
    const batch = section.items.slice(start, start + LFS_BATCH_SIZE);
    const answers = await options.client.batch('upload', batch);
    for (const entry of batch) {
      const answer = answers.get(entry.oid);
      if (answer?.error) {
        throw new LifeboatError('GIT_HTTP', `The LFS server at ${options.client.url} refused LFS object ${entry.oid}: ${answer.error.code} ${answer.error.message}.`, { details: { oid: entry.oid } });
      }
      const upload = answer?.actions?.upload;
      // "If the server already has the object, the actions property is omitted."
      if (!upload) {
        report.present += 1;
        continue;
      }
      const verify = answer.actions?.verify;
      await options.client.upload(entry, { upload, ...(verify ? { verify } : {}) }, readLfsObject(options.store, options.manifest, entry, options.identities));
      report.uploaded += 1;
    }
  }
  return report;
}
