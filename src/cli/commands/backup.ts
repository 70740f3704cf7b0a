import { backup, type BackupProgress } from '../../engine/backup.js';
import { parseRepoPath } from '../../engine/bucket/bucket-keys.js';
import type { UnreadableManifest } from '../../engine/bucket/catalog.js';
import { readMarker } from '../../engine/bucket/marker.js';
import type { Trust } from '../../engine/bucket/signing.js';
import { LifeboatError } from '../../engine/errors.js';
import { defineCommand, gitOptions } from '../command.js';
import { lfsCollector } from '../../engine/lfs.js';
import { gitClient, lfsClient, openBucketFromOptions, wholeNumber } from '../context.js';
import { formatBytes, inLine, type Output } from '../output.js';
import { transferMeter } from '../progress.js';
import { signingKeyOptions, writerSigning } from '../signing.js';

export const backupCommand = defineCommand({
  name: 'backup',
  usage: 'lifeboat backup <git-url> --repo <workspace>/<repo> --signing-key <file> [--trust <fingerprint>]... [--max-refs-per-bundle N]',
  summary: 'Back up every ref of a git repository into a new snapshot (nothing is written when nothing changed).',
  options: {
    ...gitOptions,
    ...signingKeyOptions,
    repo: { type: 'string', value: '<workspace>/<repo>', help: 'where the snapshots go in the bucket (a path: letters, digits, ".", "_", "-")' },
    'max-refs-per-bundle': { type: 'string', value: 'N', help: 'split a first backup into bundles of at most N refs each' },
  },
  examples: ['lifeboat backup https://bitbucket.org/acme/web.git --repo acme/web --signing-key ~/lifeboat-signing.key'],
  async run(args, output) {
    const [url, extra] = args.positionals;
    if (!url || extra !== undefined) throw new LifeboatError('INVALID_ARGUMENT', `Give one git URL: ${this.usage}`);
    const { values } = args;
    const repoText = values.repo;
    if (!repoText) throw new LifeboatError('INVALID_ARGUMENT', '--repo <workspace>/<repo> is required: it names where the snapshots go in the bucket.');
    const repo = parseRepoPath(repoText);
    const store = openBucketFromOptions(values);
    const maxRefs = wholeNumber(values['max-refs-per-bundle'], '--max-refs-per-bundle', 1);
    // The command line keeps the bucket's own setting, as `init` wrote it.
    const marker = await readMarker(store);
    const signing = await writerSigning(store, values, 'backup');
    const result = await backup({
      ...signing,
      store,
      repo,
      git: gitClient(url, values),
      trigger: 'cli',
      encryption: marker.encryption,
      objectLock: marker.objectLock,
      repository: { workspaceSlug: repo.workspace, slug: repo.repository },
      // LFS objects come from the repository's own LFS server, with the git credentials.
      metadata: [lfsCollector(lfsClient(url, values))],
      ...(maxRefs !== undefined ? { maxRefsPerBundle: maxRefs } : {}),
      owner: `lifeboat-cli pid ${process.pid}`,
      onProgress: backupProgress(output, signing.trust),
    });
    output.done();
    if (result.status === 'partial') throw new LifeboatError('INTERNAL', 'Backup stopped before its end without a deadline.');
    const snapshot = result.snapshot;
    output.result(
      {
        snapshot: result.status === 'created' ? snapshot.id : null,
        status: result.status,
        newest: snapshot.id,
        repo: repoText,
        refs: snapshot.refs.length,
        bundles: snapshot.bundles.length,
        bundlesWritten: result.status === 'created' ? result.bundlesWritten : 0,
        bytesUploaded: result.bytesUploaded,
      },
      () => result.status === 'unchanged'
        ? `Unchanged since snapshot ${snapshot.id}: nothing written.`
        : `Snapshot ${snapshot.id}: ${snapshot.refs.length} refs, ${formatBytes(result.bytesUploaded)} uploaded in ${result.bundlesWritten} bundle(s); chain of ${snapshot.bundles.length}.`,
    );
    return 0;
  },
});

/** One redrawn line: the bundle being fetched and stored, bytes stored, rate and time left (counted in bundles: their sizes are not known ahead). */
function backupProgress(output: Output, trust: Trust): (progress: BackupProgress) => void {
  const meter = transferMeter();
  let stored = 0;
  let storedBundles = 0;
  let current = { bundle: 0, bundles: 0, label: '' };
  const line = (bytes: number, bundlesLeft: number): string => `${current.label}: ${meter({ bytes, steps: storedBundles, stepsLeft: bundlesLeft })}`;
  return (progress) => {
    switch (progress.phase) {
      case 'refs':
        output.progress(`Listed ${progress.refs} refs`, true);
        break;
      case 'skipped':
        for (const warning of passedOver(progress.unreadable, trust)) output.warn(warning);
        break;
      case 'fetch':
        current = { bundle: progress.bundle, bundles: progress.bundles, label: `Bundle ${progress.bundle}/${progress.bundles} (${progress.kind}, ${progress.refs} refs)` };
        output.progress(line(stored, progress.bundles - progress.bundle + 1), true);
        break;
      case 'server':
        output.progress(`${current.label}: remote: ${progress.message}`);
        break;
      case 'upload':
        output.progress(line(stored + progress.bytes, current.bundles - current.bundle + 1));
        break;
      case 'stored':
        stored += progress.bytes;
        storedBundles += 1;
        output.progress(line(stored, current.bundles - progress.bundle), true);
        break;
      case 'metadata':
        output.progress('Reading metadata', true);
        break;
      case 'unchanged':
      case 'commit':
        break;
    }
  };
}

/**
 * The snapshots newer than the one the backup builds on, said once each; those not
 * signed by a trusted key in one line (a bucket from before signing has them all).
 */
function passedOver(unreadable: readonly UnreadableManifest[], trust: Trust): string[] {
  const unsigned = unreadable.filter((problem) => problem.code === 'SNAPSHOT_UNSIGNED');
  return [
    ...unreadable.filter((problem) => problem.code !== 'SNAPSHOT_UNSIGNED').map((problem) => `lifeboat: warning [${problem.code}]: ${inLine(problem.message)} The backup builds on the newest snapshot that can be read.`),
    ...(unsigned.length === 0 ? [] : [
      `lifeboat: warning [SNAPSHOT_UNSIGNED]: ${unsigned.length} newer snapshot(s) (the newest ${unsigned[0]!.id}) are not signed by this key${trust.keys.length > 1 ? ' or a pinned one' : ''} and are not built on (nothing planted is carried forward); ` +
        'pin the key that signed them with --trust <fingerprint> to build on them.',
    ]),
  ];
}
