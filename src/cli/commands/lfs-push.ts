import { LifeboatError } from '../../engine/errors.js';
import type { SnapshotManifest } from '../../engine/bucket/format.js';
import type { BlobStore } from '../../engine/bucket/blob-store.js';
import { type LfsRestoreReport, uploadLfsObjects } from '../../engine/lfs.js';
import { type Values, defineCommand, gitOptions, repoOptions } from '../command.js';
import { lfsClient, openSnapshotData } from '../context.js';
import type { Output } from '../output.js';
import { allowUnsignedOptions } from '../signing.js';

export const lfsPushCommand = defineCommand({
  name: 'lfs-push',
  usage: 'lifeboat lfs-push <snapshot> --push <git-url> [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: "Upload only a snapshot's LFS objects to a git host's LFS server (the LFS step of `restore --push`, on its own); objects the server has are skipped.",
  options: { ...gitOptions, push: { type: 'string', value: '<git-url>', help: "the repository whose LFS server receives the objects (git-lfs's rule: <url>/info/lfs)" }, ...repoOptions, ...allowUnsignedOptions },
  examples: ['lifeboat lfs-push latest --repo acme/web --push https://git.example.com/acme/web.git --identity ~/lifeboat-key.txt'],
  async run(args, output) {
    const { positionals: [id], values } = args;
    if (!id || !values.push) throw new LifeboatError('INVALID_ARGUMENT', `Give a snapshot and --push: ${this.usage}`);
    const { store, manifest, identities } = await openSnapshotData(values, id, output);
    const lfs = await pushLfsObjects({ store, manifest, identities, url: values.push, values, output });
    output.result({ snapshot: manifest.id, lfs: lfs ?? null }, () => (lfs ? lfsLine(lfs, 'uploaded') : `Snapshot ${manifest.id} holds no LFS objects.`));
    return 0;
  },
});

/** The snapshot's LFS objects to the LFS server of the repository at `url` (git-lfs's rule: <url>.git/info/lfs), with the git credentials. */
export async function pushLfsObjects(options: { store: BlobStore; manifest: SnapshotManifest; identities: string[] | undefined; url: string; values: Values<typeof gitOptions>; output: Output }): Promise<LfsRestoreReport | undefined> {
  const { store, manifest, identities, output } = options;
  output.progress(`Uploading the LFS objects of ${manifest.id}`, true);
  const lfs = await uploadLfsObjects({ store, manifest, client: lfsClient(options.url, options.values), ...(identities ? { identities } : {}) });
  output.done();
  return lfs;
}

/** What an LFS step did, as a sentence: `verb` is where the objects went. */
export function lfsLine(lfs: LfsRestoreReport, verb: string): string {
  const missing = lfs.missing.length > 0 ? ` ${lfs.missing.length} LFS object(s) the snapshot names were never stored (see its metadata index): a checkout of them fails.` : '';
  return `${lfs.uploaded} LFS object(s) ${verb}${lfs.present > 0 ? `, ${lfs.present} already there` : ''}.${missing}`;
}
