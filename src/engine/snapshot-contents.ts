/**
 * What a snapshot holds besides git, from its plain metadata index alone (no
 * decryption): what `lifeboat show` prints and the repository page shows.
 */
import type { AttachmentEntry, MetadataIndex, MetadataProblem } from './bucket/metadata.js';

export interface AttachmentSummary {
  kind: AttachmentEntry['kind'];
  name: string;
  attachedAt: string;
  /** Counts: issues, comments, attachments of an export; refs, commits of a wiki. */
  summary: Record<string, number>;
  /** Of the content as attached: `sha256sum` of the file written out. */
  sha256: string;
  bytes: number;
  encrypted: boolean;
}

export interface SnapshotContents {
  /** Pull requests stored; null when they were never collected for this repository. */
  pullRequests: number | null;
  /** Known to have changed but not stored yet: the next backup fetches them. */
  pullRequestsOutstanding: number;
  /** Configuration sections stored (repository, branch-restrictions, ...). */
  configuration: string[];
  lfs: { objects: number; bytes: number; missing: number } | null;
  attachments: AttachmentSummary[];
  /** Some section stopped before it was complete; the next backup goes on with it. */
  partial: boolean;
  problems: MetadataProblem[];
}

export function snapshotContents(index: MetadataIndex | undefined, partial: boolean): SnapshotContents {
  return {
    pullRequests: index?.pullRequests ? index.pullRequests.items.length : null,
    pullRequestsOutstanding: index?.pullRequests?.outstanding.length ?? 0,
    configuration: (index?.configuration ?? []).map((entry) => entry.section),
    lfs: index?.lfs ? { objects: index.lfs.items.length, bytes: index.lfs.items.reduce((sum, item) => sum + item.size, 0), missing: index.lfs.missing.length } : null,
    attachments: attachmentSummaries(index?.attachments ?? []),
    partial,
    problems: index?.problems ?? [],
  };
}

export function attachmentSummaries(entries: readonly AttachmentEntry[]): AttachmentSummary[] {
  return entries.map((entry) => ({ kind: entry.kind, name: entry.name, attachedAt: entry.attachedAt, summary: entry.summary, sha256: entry.sha256, bytes: entry.object.size, encrypted: entry.object.encrypted }));
}

/** "3 issues, 5 comments": an attachment's counts as words. */
export function describeSummary(summary: Record<string, number>): string {
  return Object.entries(summary).map(([what, count]) => `${count} ${count === 1 ? what.replace(/s$/, '') : what}`).join(', ');
}
