import { listAllSnapshots, readManifests } from '../../engine/bucket/catalog.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { formatRepoPath } from '../../engine/bucket/bucket-keys.js';
import type { Seal } from '../../engine/bucket/signing.js';
import { readMetadataIndex } from '../../engine/bucket/metadata.js';
import { type SnapshotContents, describeSummary, snapshotContents } from '../../engine/snapshot-contents.js';
import { LifeboatError } from '../../engine/errors.js';
import { defineCommand, repoOptions } from '../command.js';
import { openLifeboatBucket, openSnapshot, resolveRepo } from '../context.js';
import { describeUnreadable, formatBytes, inLine } from '../output.js';
import { describeSeal, listingPolicy, readerTrust } from '../signing.js';

export function summarize(manifest: SnapshotManifest, seal: Seal) {
  return {
    id: manifest.id,
    repo: `${manifest.repository.workspace}/${manifest.repository.repository}`,
    createdAt: manifest.createdAt,
    trigger: manifest.trigger,
    refs: manifest.refs.length,
    bundles: manifest.bundles.length,
    bytes: manifest.bundles.reduce((sum, bundle) => sum + bundle.size, 0),
    encrypted: manifest.encryption !== null,
    /** The fingerprint of the trusted key that signed it; null when none did. */
    signedBy: seal.signed ? seal.key : null,
  };
}

export const snapshotsCommand = defineCommand({
  name: 'snapshots',
  usage: 'lifeboat snapshots [--repo <workspace>/<repo>] [--trust <fingerprint>]...',
  summary: 'List snapshots, oldest first, each signed by a trusted key or not.',
  options: repoOptions,
  examples: ['lifeboat snapshots --repo acme/web'],
  async run(args, output) {
    const store = await openLifeboatBucket(args.values);
    const { trust } = await readerTrust(store, args.values, output, listingPolicy);
    const listing = await readManifests(store, await listAllSnapshots(store, await resolveRepo(store, args.values.repo)), trust);
    const snapshots = listing.manifests.map((manifest) => summarize(manifest, listing.seals.get(manifest)!));
    const unreadable = listing.unreadable.map(({ key, code, message }) => ({ key, code, message }));
    output.result({ snapshots, unreadable }, () => {
      const rows = snapshots.map((s) => [s.id, s.repo, s.createdAt, s.trigger, `${s.refs} refs`, `${s.bundles} bundles`, formatBytes(s.bytes), describeSeal(s.signedBy), s.encrypted ? 'encrypted' : '']);
      const list = snapshots.length === 0 ? `No snapshots in ${store.location}.` : table([['SNAPSHOT', 'REPOSITORY', 'CREATED', 'TRIGGER', 'REFS', 'CHAIN', 'SIZE', 'SIGNATURE', ''], ...rows]);
      return [list, ...describeUnreadable(listing.unreadable)].join('\n');
    });
    return 0;
  },
});

export const showCommand = defineCommand({
  name: 'show',
  usage: 'lifeboat show <snapshot> [--repo <workspace>/<repo>] [--trust <fingerprint>]...',
  summary: 'Show a snapshot: its refs, HEAD, bundle chain and what it holds besides git.',
  options: repoOptions,
  examples: ['lifeboat show latest --repo acme/web', 'lifeboat show 20261207T16 --json'],
  async run(args, output) {
    const [id] = args.positionals;
    if (!id) throw new LifeboatError('INVALID_ARGUMENT', `Which snapshot? ${this.usage}`);
    const store = await openLifeboatBucket(args.values);
    // Showing is how a person looks at a snapshot they doubt: shown signed or not, never refused (a broken signature is).
    const { trust } = await readerTrust(store, args.values, output, listingPolicy);
    const { manifest, seal } = await openSnapshot(store, args.values, id, trust, output);
    const contents = manifest.metadata ? snapshotContents(await readMetadataIndex(store, manifest), manifest.metadata.partial) : null;
    const signedBy = seal.signed ? seal.key : null;
    output.result({ ...manifest, contents, signedBy }, () => [
      `Snapshot ${manifest.id} of ${inLine(formatRepoPath(manifest.repository))}${manifest.repository.name ? ` (${inLine(manifest.repository.name)})` : ''}`,
      `Taken ${manifest.createdAt} (${manifest.trigger}) from ${manifest.source}`,
      `HEAD -> ${inLine(manifest.head.symref ?? '(detached)')}${manifest.head.unborn ? ' (unborn)' : ''}`,
      `Encryption: ${manifest.encryption ? `age to ${manifest.encryption.recipients.join(', ')}` : 'none'}`,
      `Signature: ${signedBy ? `signed by ${signedBy}` : describeSeal(null)}`,
      '',
      ...contentsText(contents),
      `Bundles (apply in order):`,
      ...manifest.bundles.map((b, i) => `  ${i + 1}. ${b.kind.padEnd(11)} ${formatBytes(b.size).padStart(10)}  ${b.refs.length} refs, ${b.pack.objectCount} objects  ${b.key}`),
      '',
      `Refs (${manifest.refs.length}):`,
      ...manifest.refs.map((r) => `  ${r.oid} ${inLine(r.name)}${r.peeled ? ` (-> ${r.peeled})` : ''}`),
    ].join('\n'));
    return 0;
  },
});

/** What the snapshot holds besides git, from its plain index. */
function contentsText(contents: SnapshotContents | null): string[] {
  if (!contents) return ['Besides git: nothing (taken without metadata).', ''];
  const { lfs } = contents;
  return [
    `Besides git${contents.partial ? ' (partial: the next backup completes it)' : ''}:`,
    `  Pull requests: ${contents.pullRequests === null ? 'not collected' : `${contents.pullRequests}${contents.pullRequestsOutstanding > 0 ? ` (${contents.pullRequestsOutstanding} changed, not stored yet)` : ''}`}`,
    `  Configuration: ${contents.configuration.length === 0 ? 'none' : contents.configuration.join(', ')}`,
    `  LFS objects: ${lfs === null ? 'not collected' : `${lfs.objects} (${formatBytes(lfs.bytes)})${lfs.missing > 0 ? `, ${lfs.missing} missing` : ''}`}`,
    `  Attachments: ${contents.attachments.length === 0 ? 'none' : contents.attachments.map((item) => `${item.kind} ${inLine(item.name)} (${describeSummary(item.summary)})`).join('; ')}`,
    ...contents.problems.map((problem) => `  Problem in ${problem.section}${problem.subject ? ` (${inLine(problem.subject)})` : ''}: [${problem.code}] ${inLine(problem.message)}${problem.firstSeen ? ` (first seen ${problem.firstSeen}, last seen ${problem.lastSeen ?? problem.firstSeen})` : ''}`),
    '',
  ];
}

/** Rows of cells; a cell is one line whatever it holds (a line break in a title would forge a row). */
export function table(rows: string[][]): string {
  rows = rows.map((row) => row.map(inLine));
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}
