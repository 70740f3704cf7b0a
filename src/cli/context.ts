/**
 * What every command shares: the bucket, age identities and git clients, from the
 * parsed options (command.ts says which flag and which environment variable gives each).
 * Credentials follow the usual conventions: the AWS SDK's own chain for S3, the URL or
 * LIFEBOAT_GIT_USERNAME / LIFEBOAT_GIT_PASSWORD for git.
 */
import { readFile } from 'node:fs/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { LifeboatError } from '../engine/errors.js';
import type { BlobStore } from '../engine/bucket/blob-store.js';
import { LATEST, type SealedManifest, findSnapshot, listRepositoryNames, listSnapshotIds, readNewest } from '../engine/bucket/catalog.js';
import { parseIdentities } from '../engine/bucket/crypto.js';
import { readMarker } from '../engine/bucket/marker.js';
import { formatRepoPath, isValidSegment, parseRepoPath, type RepoPath } from '../engine/bucket/bucket-keys.js';
import { parseBucketUrl } from '../engine/bucket/bucket-url.js';
import { DEFAULT_REGION } from '../engine/bucket/s3-client.js';
import { createS3Store } from '../engine/bucket/s3-store.js';
import { createGitClient } from '../engine/git/client.js';
import { type LfsClient, createLfsClient, servedOnLoopback } from '../engine/git/lfs.js';
import type { GitClient } from '../engine/git/types.js';
import { type Trust, UNCHECKED } from '../engine/bucket/signing.js';
import type { Values, commonOptions, gitOptions } from './command.js';
import type { Output } from './output.js';
import { type allowUnsignedOptions, dataPolicy, readTrustedManifest, readerTrust } from './signing.js';

type Common = Values<typeof commonOptions>;

/** The bucket named by --bucket / LIFEBOAT_BUCKET (only `init` uses one that has no marker yet). */
export function openBucketFromOptions(values: Pick<Common, 'bucket' | 'endpoint'>): BlobStore {
  if (!values.bucket) throw new LifeboatError('INVALID_ARGUMENT', 'No bucket given: use --bucket s3://<bucket>/<prefix> or set LIFEBOAT_BUCKET.');
  const { bucket, prefix } = parseBucketUrl(values.bucket);
  return createS3Store({ bucket, prefix, ...(values.endpoint ? { endpoint: values.endpoint } : {}), region: memoize(regionOrDefault) });
}

/** The SDK asks for the region on every request. */
function memoize<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= load());
}

/** The SDK's region chain (env, profile), falling back to us-east-1 so S3-compatible endpoints work unconfigured. */
async function regionOrDefault(): Promise<string> {
  const probe = new S3Client({});
  try {
    return await probe.config.region();
  } catch {
    return DEFAULT_REGION;
  } finally {
    probe.destroy();
  }
}

/** The bucket, after checking that it holds a Lifeboat backup in a format this version reads. */
export async function openLifeboatBucket(values: Pick<Common, 'bucket' | 'endpoint'>): Promise<BlobStore> {
  const store = openBucketFromOptions(values);
  await readMarker(store);
  return store;
}

/**
 * The one reading of a snapshot argument, for every command that takes one: a whole id,
 * a unique prefix of one, or `latest` (the newest a trusted key signed), in the repository
 * --repo names (resolveRepo); its manifest read through `trust`.
 */
export async function openSnapshot(store: BlobStore, values: { repo?: string }, id: string, trust: Trust, output: Output): Promise<SealedManifest> {
  const repo = await resolveRepo(store, values.repo);
  if (id === LATEST && repo && trust.keys.length > 0) {
    // `latest` is the newest snapshot a trusted key signed: a planted newer id must not become it.
    const newest = await readNewest(store, repo, { ...trust, unsigned: 'refuse' }, new Date());
    const passed = [...newest.future, ...newest.skipped];
    if (passed.length > 0) output.warn(`lifeboat: latest passes over ${passed.length} newer snapshot(s) not signed by a trusted key or dated in the future: ${passed.map((entry) => `${entry.id} (${entry.code})`).join(', ')}.`);
    if (newest.manifest) return readTrustedManifest(store, { repo, id: newest.manifest.id }, trust, output);
  }
  return readTrustedManifest(store, await findSnapshot(store, id, repo), trust, output);
}


/**
 * The repository --repo names: its path in the bucket (`workspace/repository` as stored: the
 * app's UUIDs, the command line's slugs), or else any `workspace/slug` or `workspace/name` its
 * manifests ever gave it (renamed or deleted since), compared without case. A path that holds
 * snapshots is taken as it is, without reading a manifest; a name that fits several
 * repositories is refused, naming their paths. Undefined when --repo was not given.
 */
export async function resolveRepo(store: BlobStore, text: string): Promise<RepoPath>;
export async function resolveRepo(store: BlobStore, text: string | undefined): Promise<RepoPath | undefined>;
export async function resolveRepo(store: BlobStore, text: string | undefined): Promise<RepoPath | undefined> {
  if (text === undefined) return undefined;
  const path = asRepoPath(text);
  if (path && (await listSnapshotIds(store, path)).length > 0) return path;
  // Names only: which manifests are trusted is for the command that reads the snapshot to decide.
  const { repositories } = await listRepositoryNames(store, UNCHECKED);
  const wanted = text.toLowerCase();
  const matches = repositories.filter((entry) => entry.names.some((name) => name.toLowerCase() === wanted));
  const [match, another] = matches;
  if (another) {
    const candidates = matches.map((entry) => `${formatRepoPath(entry.repo)} (${entry.names.join(', ')})`);
    throw new LifeboatError('INVALID_ARGUMENT', `--repo ${text} fits ${matches.length} repositories: ${candidates.join('; ')}. Give the path of the one you mean (\`lifeboat repos\` lists them).`, {
      details: { repo: text, candidates: matches.map((entry) => formatRepoPath(entry.repo)) },
    });
  }
  if (match) return match.repo;
  // A path with no snapshots yet: each command says what that means for it.
  if (path) return path;
  throw new LifeboatError('INVALID_ARGUMENT', `No repository in ${store.location} is stored as or was ever named ${text} (\`lifeboat repos\` lists them).`, { details: { repo: text } });
}

/** `text` as a repository path, or undefined when it cannot be one (a name with spaces, say). */
function asRepoPath(text: string): RepoPath | undefined {
  const parts = text.split('/');
  return parts.length === 2 && parts.every((part) => isValidSegment(part.replace(/^\{(.*)\}$/, '$1'))) ? parseRepoPath(text) : undefined;
}

/**
 * What reading a snapshot's data takes: the bucket, the snapshot's manifest (trusted
 * as dataPolicy says: refused when no trusted key signed it, unless --allow-unsigned)
 * with its seal and stored bytes, and the identities to decrypt it.
 */
export async function openSnapshotData(
  values: Pick<Common, 'bucket' | 'endpoint' | 'identity' | 'trust'> & Values<typeof allowUnsignedOptions> & { repo?: string },
  id: string,
  output: Output,
): Promise<SealedManifest & { store: BlobStore; identities: string[] | undefined }> {
  const store = await openLifeboatBucket(values);
  const identities = await loadIdentities(values);
  const { trust } = await readerTrust(store, values, output, dataPolicy(values['allow-unsigned']));
  return { store, identities, ...(await openSnapshot(store, values, id, trust, output)) };
}

/** Identities from --identity / LIFEBOAT_IDENTITY (a file path); undefined when none is given. */
export async function loadIdentities(values: Pick<Common, 'identity'>): Promise<string[] | undefined> {
  const path = values.identity;
  if (!path) return undefined;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new LifeboatError('IDENTITY_INVALID', `Cannot read the identity file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseIdentities(text);
}

export function gitClient(url: string, values: Values<typeof gitOptions>): GitClient {
  return createGitClient({ url, ...gitCredentials(values) });
}

/** The repository's LFS server (its batch API), with the same credentials as git; transfers on loopback only for a repository served there. */
export function lfsClient(url: string, values: Values<typeof gitOptions>): LfsClient {
  return createLfsClient({ url, ...gitCredentials(values), loopbackTransfers: servedOnLoopback(url) });
}

function gitCredentials(values: Values<typeof gitOptions>): { credentials?: { username: string; password: string } } {
  const { 'git-username': username, 'git-password': password } = values;
  if ((username === undefined) !== (password === undefined)) {
    throw new LifeboatError('INVALID_ARGUMENT', 'Set both LIFEBOAT_GIT_USERNAME and LIFEBOAT_GIT_PASSWORD, or neither.');
  }
  return username !== undefined && password !== undefined ? { credentials: { username, password } } : {};
}

/** A flag's whole number of at least `min`; undefined when the flag is absent. */
export function wholeNumber(text: string | undefined, flag: string, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min) throw new LifeboatError('INVALID_ARGUMENT', `${flag} needs a whole number${min > 0 ? ` of at least ${min}` : ''}, not "${text}".`);
  return value;
}
