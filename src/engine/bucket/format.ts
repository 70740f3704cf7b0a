/**
 * Bucket format v1: the JSON documents (marker, snapshot manifest, pending record,
 * lock) and their validation. docs/bucket-format.md is the spec; keep them in step.
 * Readers refuse a version they do not know, and a document that does not match.
 */
import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { isValidRefName, quoteRefName } from '../git/ref-name.js';
import { recipientProblem } from './crypto.js';

export const FORMAT_VERSION = 1;

const oid = z.string().regex(/^[0-9a-f]{40}$/, 'a 40-hex git object id');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-hex SHA-256');
const isoDate = z.string().datetime({ offset: true });
/** Refs are written into git commands and scripts: a manifest must not smuggle anything else in. */
const refName = z.string().refine(isValidRefName, { error: (issue) => `${quoteRefName(String(issue.input))} is not a valid git ref name` });

/** An age X25519 recipient (crypto.ts holds the rule). */
export const recipientSchema = z.string().superRefine((value, context) => {
  const problem = recipientProblem(value);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
});

export const encryptionSchema = z.object({
  scheme: z.literal('age'),
  /** X25519 recipients (age1...); any one matching identity decrypts. */
  recipients: z.array(recipientSchema).min(1),
});
export type EncryptionConfig = z.infer<typeof encryptionSchema>;

/** How objects are encrypted for these recipients: null (plain) when there are none. */
export function encryptionFor(recipients: readonly string[]): EncryptionConfig | null {
  return recipients.length > 0 ? { scheme: 'age', recipients: [...recipients] } : null;
}

/** Whether two settings encrypt alike: both plain, or to the same set of recipients (order and repeats aside). */
export function sameEncryption(a: EncryptionConfig | null, b: EncryptionConfig | null): boolean {
  if (a === null || b === null) return a === b;
  const set = (config: EncryptionConfig): string => [...new Set(config.recipients)].sort().join(' ');
  return a.scheme === b.scheme && set(a) === set(b);
}

export const objectLockSchema = z.object({
  mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
  days: z.number().int().min(1).max(36500),
});
export type ObjectLockConfig = z.infer<typeof objectLockSchema>;

/** A key that signs (or signed) snapshots (signing.ts), with when it did. */
export const markerKeySchema = z.object({
  /** SHA256:<hex> of the public key's DER (SubjectPublicKeyInfo). */
  fingerprint: z.string().regex(/^SHA256:[0-9a-f]{64}$/),
  /** SPKI PEM. */
  publicKey: z.string(),
  validFrom: isoDate,
  /** When a newer key replaced it; null while it is the current one. */
  validUntil: isoDate.nullable(),
});
export type MarkerKey = z.infer<typeof markerKeySchema>;

export const markerSchema = z.object({
  format: z.literal('lifeboat'),
  version: z.number().int(),
  createdAt: isoDate,
  encryption: encryptionSchema.nullable(),
  objectLock: objectLockSchema.nullable(),
  /**
   * The keys that sign snapshots, oldest first (added within version 1: older
   * readers ignore it). Anyone who can write the bucket can write this list too:
   * it tells readers which keys exist, a pin (or the app's own record) tells them
   * which to trust.
   */
  signing: z.object({ keys: z.array(markerKeySchema) }).optional(),
});
export type Marker = z.infer<typeof markerSchema>;

export const refSchema = z.object({
  name: refName,
  oid,
  /** Annotated tags: the object the tag finally points to. */
  peeled: oid.optional(),
});
export type SnapshotRef = z.infer<typeof refSchema>;

export const headSchema = z.object({
  symref: refName.optional(),
  oid: oid.optional(),
  unborn: z.boolean().optional(),
});

export const bundleSchema = z.object({
  /** Key relative to the bucket prefix: <workspace>/<repo>/objects/<sha256>. */
  key: z.string(),
  /** SHA-256 of the stored bytes (after encryption, when encrypted). */
  sha256,
  size: z.number().int().nonnegative(),
  /** full: no prerequisites; incremental: a thin pack against `prerequisites`. */
  kind: z.enum(['full', 'incremental']),
  prerequisites: z.array(oid),
  /** Refs the bundle header lists (its bundle "references"). */
  refs: z.array(refSchema.pick({ name: true, oid: true })),
  pack: z.object({
    objectCount: z.number().int().nonnegative(),
    /** Trailing SHA-1 of the pack, hex. */
    trailer: oid,
    bytes: z.number().int().nonnegative(),
  }),
  encrypted: z.boolean(),
  /** The snapshot that wrote this bundle (later snapshots reuse it). */
  createdBy: z.string(),
  /**
   * The LFS pointers in the bundle's pack, found while it streamed (git/lfs-pointers.ts):
   * what the snapshot's LFS objects are collected from, and the bases a later thin
   * pack's deltified pointers are resolved against. `text` only for a pointer that
   * is not the canonical three lines. Absent when the pack holds none, and in
   * bundles written before Lifeboat recorded pointers.
   */
  lfsPointers: z.array(z.object({ blob: oid, oid: sha256, size: z.number().int().nonnegative(), text: z.string().max(1024).optional() })).optional(),
});
export type BundleEntry = z.infer<typeof bundleSchema>;

export const repositorySchema = z.object({
  workspace: z.string(),
  repository: z.string(),
  /** Descriptive, as known when the snapshot was taken. */
  workspaceSlug: z.string().optional(),
  slug: z.string().optional(),
  name: z.string().optional(),
  uuid: z.string().optional(),
});

export const triggerSchema = z.enum(['push', 'schedule', 'manual', 'cli', 'restore-guard']);
export type SnapshotTrigger = z.infer<typeof triggerSchema>;

/** An object a snapshot names besides its bundles (metadata.ts): where it is, what it hashes to, whether it is encrypted. */
export const storedObjectSchema = z.object({
  key: z.string(),
  sha256,
  size: z.number().int().nonnegative(),
  encrypted: z.boolean(),
});
export type StoredObjectRef = z.infer<typeof storedObjectSchema>;

export const manifestSchema = z.object({
  format: z.literal('lifeboat-snapshot'),
  version: z.number().int(),
  id: z.string(),
  repository: repositorySchema,
  /** Where the refs were read, without credentials. */
  source: z.string(),
  createdAt: isoDate,
  trigger: triggerSchema,
  head: headSchema,
  refs: z.array(refSchema),
  /** Apply in order: the first is full, each later one needs the ones before it. */
  bundles: z.array(bundleSchema),
  encryption: encryptionSchema.nullable(),
  /**
   * What the snapshot holds besides git (pull requests, configuration, LFS objects,
   * attachments): one index object, so that the manifest stays small. Absent in
   * snapshots taken without metadata.
   */
  metadata: z.object({
    /** A gzip-compressed JSON metadata index (metadata.ts), never encrypted: it holds ids, times and hashes only. */
    index: storedObjectSchema,
    /** Some section stopped before it was complete (a rate limit, a time budget); the next backup goes on with it. */
    partial: z.boolean(),
  }).optional(),
});
export type SnapshotManifest = z.infer<typeof manifestSchema>;

/**
 * A backup fetched in segments along its new history (segments.ts): the cut points,
 * oldest first, each the commits one segment wants; `done` of them are stored.
 */
export const segmentPlanSchema = z.object({
  cuts: z.array(z.array(oid).min(1)),
  /** Per cut: at most how many commits lie between it and the cut before. */
  spans: z.array(z.number().int().positive()),
  done: z.number().int().nonnegative(),
  /** Measured on the segments stored so far: what sizes the next one. */
  bytesPerCommit: z.number().int().positive().optional(),
  bytesPerSecond: z.number().int().positive().optional(),
}).refine((plan) => plan.done <= plan.cuts.length && plan.spans.length === plan.cuts.length, { error: 'a span per cut, and no more cuts done than planned' });
export type SegmentPlan = z.infer<typeof segmentPlanSchema>;

/** A backup still in progress: the bundles already stored, so the next invocation can continue. */
export const pendingSchema = z.object({
  format: z.literal('lifeboat-pending'),
  version: z.number().int(),
  id: z.string(),
  startedAt: isoDate,
  updatedAt: isoDate,
  /** The newest snapshot when this backup started: it continues only while that is still the newest. */
  after: z.string().nullable(),
  /** The snapshot whose chain this backup extends; null when it starts a new chain. */
  base: z.string().nullable(),
  bundles: z.array(bundleSchema),
  /**
   * How its bundles are encrypted: it is continued only with the same setting, so a
   * snapshot is never part one way, part another. Absent in records of earlier
   * versions, which are therefore not continued.
   */
  encryption: encryptionSchema.nullable().optional(),
  /** The history plan of a segmented fetch; absent when the backup is not split by history (and in records of earlier Lifeboats). */
  segments: segmentPlanSchema.optional(),
});
export type PendingBackup = z.infer<typeof pendingSchema>;

export const lockSchema = z.object({
  format: z.literal('lifeboat-lock'),
  version: z.number().int(),
  /** shared: a backup or restore is running; exclusive: a prune is deleting. */
  mode: z.enum(['shared', 'exclusive']),
  owner: z.string(),
  createdAt: isoDate,
  /** Refreshed while the holder is alive; a lock older than the stale age is ignored. */
  refreshedAt: isoDate,
});
export type LockRecord = z.infer<typeof lockSchema>;

/** Parses one of the documents above; refuses an unknown version before looking at the rest. */
export function parseDocument<S extends z.ZodType<{ version: number }>>(schema: S, bytes: Uint8Array | string, what: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new LifeboatError('FORMAT_INVALID', `${what} is not valid JSON.`, { cause: error });
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version > FORMAT_VERSION) {
    throw new LifeboatError('FORMAT_UNSUPPORTED', `${what} uses bucket format version ${version}; this Lifeboat reads version ${FORMAT_VERSION}. Upgrade Lifeboat to read it.`, { details: { version } });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new LifeboatError('FORMAT_INVALID', `${what} is not a valid Lifeboat document: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}.`);
  }
  if (result.data.version !== FORMAT_VERSION) {
    throw new LifeboatError('FORMAT_UNSUPPORTED', `${what} uses bucket format version ${result.data.version}; this Lifeboat reads version ${FORMAT_VERSION}.`, { details: { version: result.data.version } });
  }
  return result.data;
}

export function serializeDocument(document: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
}
