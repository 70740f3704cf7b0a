/**
 * What a snapshot holds besides git (docs/bucket-format.md, "Metadata"): pull
 * requests, repository configuration, LFS objects and attached pre-sunset exports.
 *
 * Every item is a content-addressed object like a bundle (objects.ts), encrypted
 * like the snapshot's bundles: a gzip-compressed JSON document, or the raw bytes of
 * an LFS object or a wiki bundle. One index object per snapshot names them all, so
 * a manifest stays small however many pull requests there are, and a later
 * snapshot names the same object again for an item that did not change.
 *
 * The index is never encrypted. It holds ids, states, times, sizes and hashes, no
 * content: the app, which holds no age identity, must still tell what changed
 * since the last snapshot, and prune must tell which objects are still named.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { type ByteStream, collect, fromBytes } from '../streams.js';
import type { BlobStore } from './blob-store.js';
import { type SnapshotManifest, type StoredObjectRef, FORMAT_VERSION, parseDocument, storedObjectSchema } from './format.js';
import { type WriteObjectOptions, readPlain, writeObject } from './objects.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-hex SHA-256');
const isoDate = z.string().datetime({ offset: true });

/** A section could not be read in full (an endpoint refused, a permission is missing): said, never hidden. */
export const metadataProblemSchema = z.object({
  section: z.enum(['pullRequests', 'configuration', 'lfs', 'attachments']),
  /** What within the section, e.g. "pipeline-variables" or a pull request id. */
  subject: z.string().optional(),
  /** A stable error code (errors.ts). */
  code: z.string(),
  message: z.string(),
  /**
   * When a backup first and last met it (optional, added within version 1: older readers ignore them, older indexes
   * lack them). The same problem met again is one entry with a later `lastSeen`, never another copy.
   */
  firstSeen: isoDate.optional(),
  lastSeen: isoDate.optional(),
});
export type MetadataProblem = z.infer<typeof metadataProblemSchema>;

export const pullRequestStateSchema = z.enum(['OPEN', 'MERGED', 'DECLINED', 'SUPERSEDED']);

export const pullRequestEntrySchema = z.object({
  id: z.number().int().positive(),
  state: pullRequestStateSchema,
  /** Bitbucket's updated_on when it was fetched: an entry is fetched again only once this moved (or an event marked it). */
  updatedOn: isoDate,
  /** A `lifeboat-pull-request` document. */
  object: storedObjectSchema,
  /** SHA-256 of the document without `fetchedAt` (digestOf): a pull request fetched again with nothing changed keeps its stored object. */
  digest: sha256.optional(),
  /**
   * Parts Bitbucket answered with a server error when this was fetched (`status`: e.g. 555 for a diffstat that
   * timed out), even after a retry: the document lacks them, and every later export fetches it again until they come.
   */
  failed: z.array(z.object({ part: z.string(), status: z.number().int() })).optional(),
});
export type PullRequestEntry = z.infer<typeof pullRequestEntrySchema>;

export const pullRequestsSectionSchema = z.object({
  /** false: the export stopped (rate limit, time budget) before every changed pull request was stored. */
  complete: z.boolean(),
  /** Every pull request updated up to this time is in `items` as of that update; the next export asks for later ones. */
  updatedThrough: isoDate.nullable(),
  /** Pull requests known to have changed but not stored yet (marked by events, or not reached): the next export fetches them. */
  outstanding: z.array(z.number().int().positive()),
  /** By id, ascending. */
  items: z.array(pullRequestEntrySchema),
  /** Every change mark (from Forge's pull request events) recorded up to this time is covered: fetched, or listed in `outstanding`. */
  marksThrough: isoDate.optional(),
});
export type PullRequestsSection = z.infer<typeof pullRequestsSectionSchema>;

export const configurationEntrySchema = z.object({
  /** repository, branch-restrictions, default-reviewers, branching-model, webhooks, deploy-keys, permissions, pipelines, pipeline-variables, environments... */
  section: z.string(),
  /** SHA-256 of the section's canonical JSON (digestOf): unchanged configuration is not stored again. */
  digest: sha256,
  /** A `lifeboat-configuration` document. */
  object: storedObjectSchema,
});
export type ConfigurationEntry = z.infer<typeof configurationEntrySchema>;

export const lfsEntrySchema = z.object({
  /** The LFS object id: SHA-256 of its content. */
  oid: sha256,
  size: z.number().int().nonnegative(),
  /** The content itself (encrypted like the bundles when the snapshot is). */
  object: storedObjectSchema,
});
export type LfsEntry = z.infer<typeof lfsEntrySchema>;

export const lfsSectionSchema = z.object({
  /** false: some pointer's object is not stored yet (see `missing`); the next backup tries again. */
  complete: z.boolean(),
  /** By oid. */
  items: z.array(lfsEntrySchema),
  /** Pointers whose object could not be downloaded, and why (the server lost it, a budget ran out). */
  missing: z.array(z.object({ oid: sha256, size: z.number().int().nonnegative(), reason: z.string() })),
});
export type LfsSection = z.infer<typeof lfsSectionSchema>;

export const attachmentEntrySchema = z.object({
  /** issues-export: a Bitbucket issue tracker export zip (db-2.0.json and attachments); wiki: a git bundle of the wiki. */
  kind: z.enum(['issues-export', 'wiki']),
  /** The file or folder name it was attached from. */
  name: z.string(),
  attachedAt: isoDate,
  /** SHA-256 of the content as attached, before any encryption: what `sha256sum` of the zip or bundle written out gives. */
  sha256,
  object: storedObjectSchema,
  /** What it holds, for listings (counts), so that a listing needs no decryption. */
  summary: z.record(z.string(), z.number().int().nonnegative()),
});
export type AttachmentEntry = z.infer<typeof attachmentEntrySchema>;

export const metadataIndexSchema = z.object({
  format: z.literal('lifeboat-metadata'),
  version: z.number().int(),
  createdAt: isoDate,
  /** A section is absent when it was never collected for this repository. */
  pullRequests: pullRequestsSectionSchema.optional(),
  configuration: z.array(configurationEntrySchema).optional(),
  lfs: lfsSectionSchema.optional(),
  /** Kept by every later snapshot: attaching is done once. */
  attachments: z.array(attachmentEntrySchema).optional(),
  problems: z.array(metadataProblemSchema),
});
export type MetadataIndex = z.infer<typeof metadataIndexSchema>;

/**
 * A pull request as stored: Bitbucket's own JSON for each part (REST API 2.0
 * shapes, trimmed by `fields=`), so that Bitbucket's documentation describes it.
 * Only what readers rely on is checked; the rest is kept as Bitbucket gave it.
 */
export const pullRequestDocumentSchema = z.object({
  format: z.literal('lifeboat-pull-request'),
  version: z.number().int(),
  fetchedAt: isoDate,
  pullRequest: z.looseObject({ id: z.number().int().positive(), title: z.string(), state: pullRequestStateSchema, created_on: isoDate, updated_on: isoDate }),
  /** General and inline comments (with `inline` anchors, `parent` for threads, `deleted` markers), oldest first. */
  comments: z.array(z.looseObject({ id: z.number().int() })),
  /** Approvals, changes requested, updates, comments, as /activity gives them, oldest first. */
  activity: z.array(z.looseObject({})),
  tasks: z.array(z.looseObject({ id: z.number().int() })),
  /** Build statuses of the pull request's commits. */
  statuses: z.array(z.looseObject({})),
  commits: z.array(z.looseObject({ hash: z.string() })),
  diffstat: z.array(z.looseObject({})),
  /** Issue keys (e.g. "PROJ-12") named in the title or the source branch. */
  linkedIssueKeys: z.array(z.string()).optional(),
  /**
   * Parts Bitbucket did not serve for this pull request: no longer there (e.g. "commits" and "diffstat" once its
   * source branch is gone), or failing when it was fetched (the index entry's `failed` says how).
   */
  unavailable: z.array(z.string()).optional(),
});
export type PullRequestDocument = z.infer<typeof pullRequestDocumentSchema>;

/** One section of repository configuration as stored. */
export const configurationDocumentSchema = z.object({
  format: z.literal('lifeboat-configuration'),
  version: z.number().int(),
  fetchedAt: isoDate,
  section: z.string(),
  /** Bitbucket's JSON for the section (an object, or the values of a paged list). */
  data: z.unknown(),
  /** What Bitbucket never returns (secured variable values, webhook secrets), named so that a restore can list it. */
  unreadable: z.array(z.object({ item: z.string(), reason: z.string() })),
  /** Who read it: the app's own identity, or the stored credential where Bitbucket refuses the app. */
  readWith: z.enum(['app', 'credential']).optional(),
});
export type ConfigurationDocument = z.infer<typeof configurationDocumentSchema>;

export type MetadataSections = Pick<MetadataIndex, 'pullRequests' | 'configuration' | 'lfs' | 'attachments'>;
const METADATA_SECTIONS = ['pullRequests', 'configuration', 'lfs', 'attachments'] as const satisfies ReadonlyArray<keyof MetadataSections>;

/** JSON with keys sorted at every level: equal values give equal bytes. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item && typeof item === 'object' && !Array.isArray(item)
    ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : item));
}

/** SHA-256 of canonical JSON: how configuration is compared with the last snapshot's without reading (or decrypting) it. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

type ObjectWriteOptions = Omit<WriteObjectOptions, 'onProgress'>;

/** Stores a JSON document (gzip-compressed; encrypted when `options.encryption` is set). */
export async function writeMetadataDocument(document: unknown, options: ObjectWriteOptions): Promise<StoredObjectRef> {
  return writeMetadataBlob(fromBytes(gzipSync(Buffer.from(JSON.stringify(document), 'utf8'))), options);
}

/** Stores raw bytes (an LFS object, a wiki bundle) as a metadata object. */
export async function writeMetadataBlob(content: ByteStream, options: WriteObjectOptions): Promise<StoredObjectRef> {
  const stored = await writeObject(content, options);
  return { ...stored, encrypted: options.encryption !== null };
}

/** Stores a snapshot's index: never encrypted (see the module comment). */
export async function writeMetadataIndex(index: MetadataIndex, options: ObjectWriteOptions): Promise<StoredObjectRef> {
  return writeMetadataDocument(metadataIndexSchema.parse(index), { ...options, encryption: null });
}

/** The metadata index a snapshot names, or undefined for a snapshot taken without metadata. */
export async function readMetadataIndex(store: BlobStore, manifest: SnapshotManifest): Promise<MetadataIndex | undefined> {
  if (!manifest.metadata) return undefined;
  const bytes = await readGzipJson(store, manifest, manifest.metadata.index, undefined);
  return parseDocument(metadataIndexSchema, bytes, `Metadata index ${manifest.metadata.index.key} of snapshot ${manifest.id}`);
}

/** A JSON document the snapshot's index names: verified, decrypted (with `identities` when it is encrypted) and checked against `schema`. */
export async function readMetadataDocument<S extends z.ZodType<{ version: number }>>(
  store: BlobStore,
  manifest: SnapshotManifest,
  ref: StoredObjectRef,
  identities: string[] | undefined,
  schema: S,
): Promise<z.infer<S>> {
  return parseDocument(schema, await readGzipJson(store, manifest, ref, identities), `Metadata object ${ref.key} of snapshot ${manifest.id}`);
}

/**
 * A pull request's or a configuration section's document, as its index entry names it. The document must be of
 * that entry (its id, its section): an index naming another item's object would otherwise show and restore that
 * item as this one (the signature covers the index, but not what an earlier writer put in it).
 */
export async function readEntryDocument(store: BlobStore, manifest: SnapshotManifest, entry: PullRequestEntry, identities: string[] | undefined): Promise<PullRequestDocument>;
export async function readEntryDocument(store: BlobStore, manifest: SnapshotManifest, entry: ConfigurationEntry, identities: string[] | undefined): Promise<ConfigurationDocument>;
export async function readEntryDocument(store: BlobStore, manifest: SnapshotManifest, entry: PullRequestEntry | ConfigurationEntry, identities: string[] | undefined): Promise<PullRequestDocument | ConfigurationDocument>;
export async function readEntryDocument(store: BlobStore, manifest: SnapshotManifest, entry: PullRequestEntry | ConfigurationEntry, identities: string[] | undefined): Promise<PullRequestDocument | ConfigurationDocument> {
  const [document, named, found] = 'section' in entry
    ? await readMetadataDocument(store, manifest, entry.object, identities, configurationDocumentSchema).then((read) => [read, `configuration section ${entry.section}`, `section ${read.section}`] as const)
    : await readMetadataDocument(store, manifest, entry.object, identities, pullRequestDocumentSchema).then((read) => [read, `pull request #${entry.id}`, `pull request #${read.pullRequest.id}`] as const);
  const matches = 'section' in entry ? (document as ConfigurationDocument).section === entry.section : (document as PullRequestDocument).pullRequest.id === entry.id;
  if (!matches) {
    throw new LifeboatError('FORMAT_INVALID', `Snapshot ${manifest.id} names object ${entry.object.key} as ${named}, but it holds ${found}: the index was altered.`, { details: { key: entry.object.key } });
  }
  return document;
}

async function readGzipJson(store: BlobStore, manifest: SnapshotManifest, ref: StoredObjectRef, identities: string[] | undefined): Promise<string> {
  const compressed = await collect(readPlain(store, { repository: manifest.repository, encryption: manifest.encryption }, ref, identities));
  try {
    return gunzipSync(compressed).toString('utf8');
  } catch (error) {
    throw new LifeboatError('FORMAT_INVALID', `Metadata object ${ref.key} is not gzip-compressed.`, { cause: error, details: { key: ref.key } });
  }
}

/** Every object an index names (not the index itself): what prune keeps and verify checks. */
export function metadataObjects(index: MetadataIndex): StoredObjectRef[] {
  return [
    ...(index.pullRequests?.items ?? []).map((entry) => entry.object),
    ...(index.configuration ?? []).map((entry) => entry.object),
    ...(index.lfs?.items ?? []).map((entry) => entry.object),
    ...(index.attachments ?? []).map((entry) => entry.object),
  ];
}

/**
 * The problems carried forward (of the sections not collected now) and those met now, one entry per problem (its
 * section, subject and code). Met again, a problem keeps its firstSeen from the previous index, carried or not, and
 * takes the new message and lastSeen. One recorded before these dates were was met by the previous index's time at
 * the latest: that becomes its firstSeen. Copies an older Lifeboat piled up become one.
 */
function mergeProblems(previous: MetadataIndex | undefined, refreshed: ReadonlySet<string>, met: MetadataProblem[], now: string): MetadataProblem[] {
  const keyOf = (problem: MetadataProblem): string => JSON.stringify([problem.section, problem.subject ?? null, problem.code]);
  const earlier = new Map<string, MetadataProblem>();
  for (const problem of previous?.problems ?? []) {
    const known = earlier.get(keyOf(problem));
    earlier.set(keyOf(problem), known ? { ...problem, ...datesOf([known, problem]) } : problem);
  }
  const merged = new Map([...earlier].filter(([, problem]) => !refreshed.has(problem.section)));
  for (const problem of met) {
    const known = earlier.get(keyOf(problem));
    merged.set(keyOf(problem), { ...problem, firstSeen: known ? known.firstSeen ?? previous?.createdAt ?? now : now, lastSeen: now });
  }
  return [...merged.values()];
}

/** The earliest firstSeen and the latest lastSeen of copies of one problem (ISO times compare as strings). */
function datesOf(copies: MetadataProblem[]): Pick<MetadataProblem, 'firstSeen' | 'lastSeen'> {
  const first = copies.map((copy) => copy.firstSeen).filter((time) => time !== undefined).sort()[0];
  const last = copies.map((copy) => copy.lastSeen).filter((time) => time !== undefined).sort().at(-1);
  return { ...(first ? { firstSeen: first } : {}), ...(last ? { lastSeen: last } : {}) };
}

/** Whether any section is incomplete (the manifest's `metadata.partial`). */
export function isPartial(index: MetadataIndex): boolean {
  return index.pullRequests?.complete === false || index.lfs?.complete === false;
}

/**
 * The next snapshot's index: the sections collected now replace the previous
 * snapshot's, the rest are carried forward as they were (so is every problem of a
 * section not collected now). `changed`: whether it names anything else than the
 * previous one did; an unchanged repository then needs no new snapshot.
 */
export function nextIndex(previous: MetadataIndex | undefined, collected: MetadataSections & { problems: MetadataProblem[] }, createdAt: string): { index: MetadataIndex; changed: boolean } {
  const index: MetadataIndex = { format: 'lifeboat-metadata', version: FORMAT_VERSION, createdAt, problems: [] };
  const refreshed = new Set<string>();
  for (const section of METADATA_SECTIONS) {
    const value = collected[section] ?? previous?.[section];
    if (collected[section] !== undefined) refreshed.add(section);
    if (value !== undefined) (index as Record<string, unknown>)[section] = value;
  }
  index.problems = mergeProblems(previous, refreshed, collected.problems, createdAt);
  // Meeting the same problem again is no change: a new lastSeen alone makes no snapshot.
  const comparable = ({ createdAt: _createdAt, problems, ...rest }: MetadataIndex): string => canonicalJson({ ...rest, problems: problems.map(({ lastSeen: _lastSeen, ...problem }) => problem) });
  return { index, changed: previous === undefined ? METADATA_SECTIONS.some((section) => index[section] !== undefined) || index.problems.length > 0 : comparable(index) !== comparable(previous) };
}
