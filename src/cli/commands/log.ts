import { listAllSnapshots, readManifests } from '../../engine/bucket/catalog.js';
import { formatRepoPath } from '../../engine/bucket/bucket-keys.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import { LifeboatError } from '../../engine/errors.js';
import { type RefChanges, changeCount, refChanges } from '../../engine/ref-changes.js';
import { defineCommand, repoOptions } from '../command.js';
import { openLifeboatBucket, openSnapshot, resolveRepo } from '../context.js';
import { describeUnreadable, inLine } from '../output.js';
import { describeSeal, listingPolicy, readerTrust } from '../signing.js';
import { table } from './snapshots.js';

/** Said under every listing of moves: what the manifests cannot tell. */
const MOVES = 'A move is not told apart from a force-push: manifests hold ref tips, not the commit graph. In a copy restored with `lifeboat restore --to`, `git merge-base --is-ancestor <from> <to>` says whether one was a fast-forward.';

export const logCommand = defineCommand({
  name: 'log',
  usage: 'lifeboat log --repo <workspace>/<repo> [--ref <name>] [--trust <fingerprint>]...',
  summary: "A repository's snapshots, oldest first, each with the refs it added, moved and deleted; with --ref, that ref's value in each snapshot.",
  options: {
    ...repoOptions,
    ref: { type: 'string', value: '<name>', help: 'follow one ref: a full name (refs/heads/develop) or a branch or tag name (develop)' },
  },
  examples: ['lifeboat log --repo acme/web', 'lifeboat log --repo acme/web --ref develop'],
  async run(args, output) {
    const { values } = args;
    if (!values.repo || args.positionals.length > 0) throw new LifeboatError('INVALID_ARGUMENT', `Which repository? ${this.usage}`);
    const store = await openLifeboatBucket(values);
    const repo = await resolveRepo(store, values.repo);
    const { trust } = await readerTrust(store, values, output, listingPolicy);
    const listing = await readManifests(store, await listAllSnapshots(store, repo), trust);
    const { manifests } = listing;
    const unreadable = listing.unreadable.map(({ key, code, message }) => ({ key, code, message }));
    if (values.ref !== undefined) {
      const ref = refNamed(manifests, values.ref, formatRepoPath(repo));
      const oidIn = (manifest: SnapshotManifest | undefined): string | null => manifest?.refs.find((each) => each.name === ref)?.oid ?? null;
      const history = manifests.map((manifest, index) => {
        const [before, oid] = [oidIn(manifests[index - 1]), oidIn(manifest)];
        const change = oid === before ? (oid === null ? 'absent' : 'unchanged') : oid === null ? 'deleted' : before === null ? 'added' : 'moved';
        return { snapshot: manifest.id, createdAt: manifest.createdAt, oid, change };
      });
      output.result({ repo: formatRepoPath(repo), ref, history, unreadable }, () => [
        table([['SNAPSHOT', 'CREATED', ref, 'CHANGE'], ...history.map((row) => [row.snapshot, row.createdAt, row.oid ?? '-', row.change])]),
        ...(history.some((row) => row.change === 'moved') ? ['', MOVES] : []),
        ...describeUnreadable(listing.unreadable),
      ].join('\n'));
      return 0;
    }
    const snapshots = manifests.map((manifest, index) => {
      const seal = listing.seals.get(manifest);
      return {
        id: manifest.id,
        createdAt: manifest.createdAt,
        trigger: manifest.trigger,
        signedBy: seal?.signed ? seal.key : null,
        refs: manifest.refs.length,
        // Against the snapshot before it that could be read (listing.unreadable names any passed over).
        changes: refChanges(manifests[index - 1], manifest),
      };
    });
    output.result({ repo: formatRepoPath(repo), snapshots, unreadable }, () => {
      if (snapshots.length === 0) return `No snapshots of ${formatRepoPath(repo)} in ${store.location}.`;
      const lines = snapshots.flatMap((snapshot, index) => {
        const count = changeCount(snapshot.changes);
        const what = index === 0 ? `first snapshot: ${snapshot.refs} refs` : count === 0 ? 'no ref changed' : `${count} change${count === 1 ? '' : 's'}`;
        const seal = snapshot.signedBy ? '' : `  (${describeSeal(null)})`;
        return [`${snapshot.id}  ${snapshot.createdAt}  ${snapshot.trigger}  ${what}${seal}`, ...(index === 0 ? [] : changeLines(snapshot.changes))];
      });
      const moved = snapshots.some((snapshot, index) => index > 0 && snapshot.changes.moved.length > 0);
      return [...lines, ...(moved ? ['', MOVES] : []), ...describeUnreadable(listing.unreadable)].join('\n');
    });
    return 0;
  },
});

export const diffCommand = defineCommand({
  name: 'diff',
  usage: 'lifeboat diff <snapshot> <snapshot> [--repo <workspace>/<repo>] [--trust <fingerprint>]...',
  summary: 'The refs added, moved and deleted from one snapshot to another, and HEAD when it changed.',
  options: repoOptions,
  examples: ['lifeboat diff 20261207T15 latest --repo acme/web'],
  async run(args, output) {
    const [a, b, extra] = args.positionals;
    if (!a || !b || extra !== undefined) throw new LifeboatError('INVALID_ARGUMENT', `Which two snapshots? ${this.usage}`);
    const store = await openLifeboatBucket(args.values);
    const { trust } = await readerTrust(store, args.values, output, listingPolicy);
    // Each resolved as every command resolves a snapshot; read as `show` reads one (flagged, not refused, when not signed).
    const [from, to] = [(await openSnapshot(store, args.values, a, trust, output)).manifest, (await openSnapshot(store, args.values, b, trust, output)).manifest];
    const changes = refChanges(from, to);
    output.result({ from: from.id, to: to.id, ...changes }, () => {
      const count = changeCount(changes);
      return [
        `From ${from.id} (${inLine(formatRepoPath(from.repository))}) to ${to.id} (${inLine(formatRepoPath(to.repository))}): ${count === 0 ? 'no ref changed' : `${count} change${count === 1 ? '' : 's'}`}`,
        ...changeLines(changes),
        ...(changes.moved.length > 0 ? ['', MOVES] : []),
      ].join('\n');
    });
    return 0;
  },
});

/** + added, ~ moved, - deleted, one ref a line (object ids abbreviated; --json has them whole). */
function changeLines(changes: RefChanges): string[] {
  const short = (oid: string): string => oid.slice(0, 12);
  return [
    ...changes.added.map((ref) => `  + ${inLine(ref.name)}  ${short(ref.oid)}`),
    ...changes.moved.map((ref) => `  ~ ${inLine(ref.name)}  ${short(ref.from)} -> ${short(ref.to)}`),
    ...changes.deleted.map((ref) => `  - ${inLine(ref.name)}  ${short(ref.oid)}`),
    ...(changes.head ? [`  HEAD: ${inLine(changes.head.from ?? '(detached)')} -> ${inLine(changes.head.to ?? '(detached)')}`] : []),
  ];
}

/** The full name `name` gives in these snapshots: itself when it is one, else the branch or the tag of that name; both is refused. */
function refNamed(manifests: readonly SnapshotManifest[], name: string, repo: string): string {
  const held = new Set(manifests.flatMap((manifest) => manifest.refs.map((ref) => ref.name)));
  const candidates = [name, `refs/heads/${name}`, `refs/tags/${name}`].filter((candidate) => held.has(candidate));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) throw new LifeboatError('INVALID_ARGUMENT', `--ref ${name} is ${candidates.join(' and ')} in ${repo}: give the full name.`);
  throw new LifeboatError('INVALID_ARGUMENT', `No snapshot of ${repo} holds a ref ${name}${name.startsWith('refs/') ? '' : ` (nor refs/heads/${name} or refs/tags/${name})`}.`);
}
