/**
 * Workspace settings: what the admin page edits and every backup reads. Pure
 * data and validation (no platform imports), so the resolvers, the consumers
 * and the pages share one definition. Secrets (the bucket's secret key, the
 * Bitbucket credential's token) are not part of it: they live only in Forge's
 * secret storage.
 */
import { z } from 'zod';
import { API_TOKEN_MAX_DAYS, daysUntil } from './bitbucket/credentials.js';
import { bitbucketUuid } from './bitbucket/uuid.js';
import { LifeboatError, fieldProblemsOf } from './engine/errors.js';
import { encryptionFor, recipientSchema } from './engine/bucket/format.js';
import { bucketPrefixProblem } from './engine/bucket/bucket-keys.js';
import type { StorageSetting } from './engine/bucket/marker.js';
import { validatePolicy } from './engine/bucket/retention.js';

// Every object is strict (an unknown or misspelt field is refused, not dropped), and
// text a person pastes is trimmed first: a trailing newline or a leading space is
// never meant, and would otherwise be stored and fail at the first backup.

/** Repository UUIDs arrive with or without braces; settings hold them braced and lower-case, so lookups are plain. */
const uuid = bitbucketUuid;

/** Empty for AWS S3 itself; otherwise the provider's https endpoint (R2, B2, Wasabi, GCS, MinIO…). */
export const bucketEndpoint = z.string().trim().refine((value) => value === '' || isEndpointUrl(value), 'must be an https:// URL, or empty for AWS S3');

// S3 bucket naming rules (the strictest common subset of the providers Lifeboat supports).
const bucketName = z.string().trim()
  .min(3, 'must be 3 to 63 characters')
  .max(63, 'must be 3 to 63 characters')
  .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, 'may hold only lower-case letters, digits, dots and hyphens, and must start and end with a letter or digit');

export const bucketSettings = z.object({
  /** Empty for AWS S3 itself; otherwise the provider's https endpoint (R2, B2, Wasabi, GCS, MinIO…). */
  endpoint: bucketEndpoint,
  region: z.string().trim().min(1, 'is required (use auto for Cloudflare R2)').max(64).regex(/^[a-z0-9-]+$/, 'looks like eu-west-1 or auto'),
  name: bucketName,
  /** Key prefix inside the bucket, by the engine's one prefix rule (bucket-keys.ts). */
  prefix: z.string().trim().superRefine((value, context) => {
    const problem = bucketPrefixProblem(value);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  }),
  addressing: z.enum(['virtual-hosted', 'path']),
  accessKeyId: z.string().trim().min(1, 'is required').max(128),
}).strict();

export const encryptionSettings = z.object({
  /** age X25519 recipients (the engine's one recipient rule); empty means objects are stored unencrypted. */
  recipients: z.array(z.string().trim().pipe(recipientSchema)).max(20),
}).strict();

export const objectLockSettings = z.object({
  enabled: z.boolean(),
  mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
  days: z.number().int('must be a whole number of days').min(1, 'must be at least 1 day').max(36_500, 'must be at most 100 years'),
}).strict();

// The raw value goes to validatePolicy: a record schema would rebuild the object and
// silently drop a "__proto__" key, leaving an empty policy (keep everything).
export const retentionSettings = z.unknown().transform((policy, context) => {
  try {
    return validatePolicy(policy);
  } catch (error) {
    context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    return z.NEVER;
  }
});

export const repositorySelection = z.object({
  /** `all`: every repository of the workspace; `chosen`: only those listed. */
  mode: z.enum(['all', 'chosen']),
  chosen: z.array(uuid).max(10_000),
  /** With `chosen`: repositories created later join the list on their own. */
  includeNew: z.boolean(),
}).strict();

export const workspaceSettings = z.object({
  bucket: bucketSettings,
  encryption: encryptionSettings,
  objectLock: objectLockSettings,
  schedule: z.object({ interval: z.enum(['hour', 'day', 'week']) }).strict(),
  retention: retentionSettings,
  repositories: repositorySelection,
  /** Per-repository exceptions, keyed by repository UUID. */
  overrides: z.record(uuid, z.object({ enabled: z.boolean().optional(), retention: retentionSettings.optional() }).strict()),
  bitbucket: z.object({
    /** Which credential the admin pasted: decides the git user name and the REST authorization. */
    credential: z.enum(['access-token', 'api-token']),
    /** The Atlassian account email an API token belongs to (REST Basic auth); empty for access tokens. */
    email: z.string().trim().max(254),
    /** The day an API token expires (YYYY-MM-DD), as the admin read it when creating it: Bitbucket's API does not say. */
    expiresOn: z.string().trim().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date (YYYY-MM-DD)')
      .refine(isCalendarDate, 'must be a date (YYYY-MM-DD)').optional(),
  }).strict()
    .refine((value) => value.credential === 'access-token' || /^[^@\s]+@[^@\s]+$/.test(value.email), { message: 'an API token needs the email address of its Atlassian account', path: ['email'] })
    .refine((value) => value.credential === 'api-token' || value.expiresOn === undefined, { message: 'is kept for API tokens only', path: ['expiresOn'] }),
}).strict();

export type WorkspaceSettings = z.output<typeof workspaceSettings>;
export type WorkspaceSettingsInput = z.input<typeof workspaceSettings>;

/** How backups under these settings write their objects. */
export function storageSettingOf(settings: WorkspaceSettings): StorageSetting {
  const { objectLock } = settings;
  return {
    encryption: encryptionFor(settings.encryption.recipients),
    objectLock: objectLock.enabled ? { mode: objectLock.mode, days: objectLock.days } : null,
  };
}

/**
 * https only (Forge allows nothing else), except plain http on the loopback
 * address: a bucket on this machine (the local world's s3rver, a MinIO for the
 * CLI), which Forge's egress rules could never reach anyway.
 */
function isEndpointUrl(value: string): boolean {
  try {
    const url = new URL(value);
    const secure = url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost'));
    return secure && url.pathname === '/' && !url.search && !url.hash && !url.username;
  } catch {
    return false;
  }
}

/** A YYYY-MM-DD that names a day of the calendar (not 2027-02-30). */
function isCalendarDate(value: string): boolean {
  const time = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(time) && new Date(time).toISOString().startsWith(value);
}

/**
 * Validates settings from a page; every problem is named by its field, e.g. "bucket.name
 * must be 3 to 63 characters". An API token's expiry must lie between today and a year
 * ahead (`now`'s date, UTC; a day's slack for the admin's time zone): only here, at
 * saving, as stored settings whose token has expired still load.
 */
export function parseSettings(input: unknown, now = new Date()): WorkspaceSettings {
  const result = workspaceSettings.superRefine((settings, context) => {
    const { expiresOn } = settings.bitbucket;
    if (expiresOn === undefined) return;
    const days = daysUntil(expiresOn, now);
    if (days < 0) context.addIssue({ code: 'custom', path: ['bitbucket', 'expiresOn'], message: 'is in the past: the token has expired, create a new one' });
    else if (days > API_TOKEN_MAX_DAYS) context.addIssue({ code: 'custom', path: ['bitbucket', 'expiresOn'], message: 'is more than a year ahead: Bitbucket lets an API token live a year at most' });
  }).safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'settings'} ${issue.message}`);
  throw new LifeboatError('INVALID_ARGUMENT', `The settings were not saved: ${problems.join('; ')}.`, { details: { problems: fieldProblemsOf(result.error.issues) } });
}
