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
 * since the last snapshot, and prune must tell which objects are still named. The
 * digests of an encrypted snapshot's documents are keyed (metadataDigest), so that
 * the index confirms no guess of them.
 */
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { type ByteStream, collect, fromBytes } from '../streams.js';
import type { BlobStore } from './blob-store.js';
import { type SnapshotManifest, type StoredObjectRef, FORMAT_VERSION, parseDocument, storedObjectSchema } from './format.js';
import { type WriteObjectOptions, readPlain, writeObject } from './objects.js';
import { type SigningKey, fingerprintSchema } from './signing.js';

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
  /**
   * The index's digest (MetadataDigest) of the document without `fetchedAt`: a pull request fetched again with
   * nothing changed keeps its stored object. Absent when carried from an index whose digests were of another kind.
   */
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
  /**
   * The index's digest (MetadataDigest) of the section's content: unchanged configuration is not stored again.
   * Carried from an index whose digests were of another kind, 64 random hex digits that no content has (older
   * readers require the field), so that the section is stored again the next time it is read.
   */
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
  /**
   * The signing key (fingerprint) whose derived key made the digests of this index (HMAC-SHA256, metadataDigest);
   * absent: plain SHA-256. Optional, added within version 1: older readers ignore it.
   */
  digestKey: fingerprintSchema.optional(),
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

/** SHA-256 of canonical JSON: how two values are compared, and a plain snapshot's index digest (metadataDigest). */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** How a snapshot's index digests documents, so that the next backup compares with the last without reading them. */
export interface MetadataDigest {
  /** The index's `digestKey`: the signing key's fingerprint when keyed, undefined for plain SHA-256. */
  key: string | undefined;
  of(value: unknown): string;
}

/** HKDF's `info`: the derived key serves this one purpose (and a later derivation gets another string). */
const DIGEST_KEY_INFO = 'lifeboat metadata digest v1';

/**
 * The digests of a snapshot's index, which is never encrypted. A plain snapshot's are SHA-256 (digestOf): nothing to
 * hide, its documents are readable anyway. An encrypted one's are HMAC-SHA256, since the plain digest of a small
 * document gives it away to anyone who can guess it (a branching model is one of a few). The key is derived (HKDF)
 * from the writer's Ed25519 private key: one secret the writer already holds, never stored in the bucket, and
 * another signing key makes other digests (the next backup then stores the documents once again).
 */
export function metadataDigest(encrypted: boolean, signingKey: SigningKey): MetadataDigest {
  if (!encrypted) return { key: undefined, of: digestOf };
  // The JWK's `d` is the raw 32-byte private key, however the key's PEM was written.
  const { d } = signingKey.privateKey.export({ format: 'jwk' });
  if (d === undefined) throw new LifeboatError('SIGNING_KEY_INVALID', 'The signing key holds no private key to key the metadata digests with.');
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(d, 'base64url'), Buffer.alloc(0), DIGEST_KEY_INFO, 32));
  return { key: signingKey.fingerprint, of: (value) => createHmac('sha256', key).update(canonicalJson(value)).digest('hex') };
}

/**
 * The previous index as the next snapshot's collectors compare with it. Digests of another kind than `digest`
 * (plain where this snapshot keys them, or keyed by another signing key) match nothing computed now, and a plain one
 * must never be carried into an encrypted snapshot's index: a pull request entry loses its digest (fetched again, it
 * is stored again), a configuration entry gets one of no content (read again, its section is stored again; one that
 * cannot be read keeps its object).
 */
export function withDigestsOf(index: MetadataIndex, digest: MetadataDigest): MetadataIndex {
  if (index.digestKey === digest.key) return index;
  const keyed = ({ digestKey: _digestKey, ...rest }: MetadataIndex): MetadataIndex => (digest.key === undefined ? rest : { ...rest, digestKey: digest.key });
  return keyed({
    ...index,
    ...(index.pullRequests ? { pullRequests: { ...index.pullRequests, items: index.pullRequests.items.map(({ digest: _digest, ...entry }) => entry) } } : {}),
    ...(index.configuration ? { configuration: index.configuration.map((entry) => ({ ...entry, digest: randomBytes(32).toString('hex') })) } : {}),
  });
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
 * `digestKey`: the kind of its digests (MetadataDigest), as the previous one's
 * unless given (a previous index of another kind passes through withDigestsOf first).
 */
export function nextIndex(previous: MetadataIndex | undefined, collected: MetadataSections & { problems: MetadataProblem[] }, createdAt: string, digestKey = previous?.digestKey): { index: MetadataIndex; changed: boolean } {
  const index: MetadataIndex = { format: 'lifeboat-metadata', version: FORMAT_VERSION, createdAt, ...(digestKey === undefined ? {} : { digestKey }), problems: [] };
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
