import { listRepositoryNames } from '../../engine/bucket/catalog.js';
import { formatRepoPath } from '../../engine/bucket/bucket-keys.js';
import { UNCHECKED } from '../../engine/bucket/signing.js';
import { defineCommand } from '../command.js';
import { openLifeboatBucket } from '../context.js';
import { describeUnreadable } from '../output.js';
import { table } from './snapshots.js';

export const reposCommand = defineCommand({
  name: 'repos',
  usage: 'lifeboat repos',
  summary: 'List the repositories in the bucket: names at the newest snapshot, path, newest snapshot, count. Any --repo takes the path or a workspace/slug or workspace/name one had.',
  options: {},
  examples: ['lifeboat repos --bucket s3://acme-backups/lifeboat'],
  async run(args, output) {
    const store = await openLifeboatBucket(args.values);
    // Names, as the manifests give them; `lifeboat snapshots` says which are signed.
    const { repositories, unreadable } = await listRepositoryNames(store, UNCHECKED);
    const rows = repositories.map(({ repo, ids, newest, names }) => ({
      workspace: newest?.repository.workspaceSlug ?? repo.workspace,
      slug: newest?.repository.slug ?? repo.repository,
      name: newest?.repository.name ?? null,
      path: formatRepoPath(repo),
      newest: ids.at(-1)!,
      snapshots: ids.length,
      /** Every workspace/slug and workspace/name it had, newest first: each works as --repo. */
      names,
    })).sort((a, b) => `${a.workspace}/${a.slug}`.localeCompare(`${b.workspace}/${b.slug}`) || a.path.localeCompare(b.path));
    output.result({ repositories: rows, unreadable: unreadable.map(({ key, code, message }) => ({ key, code, message })) }, () => {
      const list = rows.length === 0
        ? `No repositories in ${store.location}.`
        : table([['WORKSPACE', 'SLUG', 'NAME', 'PATH', 'NEWEST', 'SNAPSHOTS', 'ALSO NAMED'], ...rows.map((row) => [row.workspace, row.slug, row.name ?? '', row.path, row.newest, String(row.snapshots), formerNames(row).join(', ')])]);
      return [list, ...describeUnreadable(unreadable)].join('\n');
    });
    return 0;
  },
});

/** The names a repository had besides the ones it has now (renamed, or moved to another workspace). */
function formerNames(row: { workspace: string; slug: string; name: string | null; names: string[] }): string[] {
  const now = [`${row.workspace}/${row.slug}`, `${row.workspace}/${row.name}`].map((name) => name.toLowerCase());
  return row.names.filter((name) => !now.includes(name.toLowerCase()));
}
