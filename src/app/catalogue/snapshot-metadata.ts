// What a snapshot holds besides git, for the repository page: read from the
// bucket per call, at most one page of pull request documents each (a resolver
// stays short). The app holds no age identity: in an encrypted snapshot it reads
// only the plain index, and the page says how to read the rest with the CLI.
import type { PullRequestPage, PullRequestView } from '../../contract.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { readMetadataIndex } from '../../engine/bucket/metadata.js';
import { LifeboatError } from '../../engine/errors.js';
import { listPullRequests, pullRequestEntries, pullRequestEntry, readPullRequest, viewPullRequest } from '../../engine/pull-request-views.js';
import { type SnapshotContents, snapshotContents } from '../../engine/snapshot-contents.js';
import { openSnapshot } from '../../forge/bucket.js';
import { requireConfiguration } from '../settings/settings-store.js';
import { appTrust } from '../settings/signing-keys.js';

/** Pull requests per page: each one is a document read from the bucket. */
export const PULL_REQUEST_PAGE = 20;

interface Where {
  workspaceUuid: string;
  repositoryUuid: string;
  snapshotId: string;
}

async function open(where: Where): Promise<{ store: BlobStore; manifest: SnapshotManifest }> {
  return openSnapshot(await requireConfiguration(), where, where.snapshotId, await appTrust('flag'));
}

export async function contentsOf(store: BlobStore, manifest: SnapshotManifest): Promise<SnapshotContents | null> {
  return manifest.metadata ? snapshotContents(await readMetadataIndex(store, manifest), manifest.metadata.partial) : null;
}

export async function pullRequestPage(where: Where, cursor: string | undefined): Promise<PullRequestPage> {
  if (cursor !== undefined && !/^\d{1,9}$/.test(cursor)) throw new LifeboatError('INVALID_ARGUMENT', 'The request was refused: cursor is not one this page gave.');
  const offset = cursor === undefined ? 0 : Number(cursor);
  const { store, manifest } = await open(where);
  const entries = pullRequestEntries(await readMetadataIndex(store, manifest));
  const page = entries.slice(offset, offset + PULL_REQUEST_PAGE);
  const next = offset + PULL_REQUEST_PAGE;
  return {
    items: await listPullRequests(store, manifest, page, undefined),
    total: entries.length,
    encrypted: page.some((entry) => entry.object.encrypted),
    ...(next < entries.length ? { nextCursor: String(next) } : {}),
  };
}

export async function pullRequestOf(where: Where, id: number): Promise<PullRequestView> {
  const { store, manifest } = await open(where);
  const entry = pullRequestEntry(await readMetadataIndex(store, manifest), id, manifest.id);
  return viewPullRequest(await readPullRequest(store, manifest, entry, undefined));
}
