/**
 * Finding the repository and the snapshot with the `lifeboat` command line (a child
 * process, a real git server and a real S3 server) in a bucket filled the way the app
 * fills it: repositories under workspace and repository UUIDs, named only in their
 * manifests (`repository.workspaceSlug`, `slug`, `name`), one of them renamed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backup } from '../src/engine/backup.js';
import type { SnapshotManifest } from '../src/engine/bucket/format.js';
import { createGitClient } from '../src/engine/git/client.js';
import { addCommit, buildRichWorkRepo } from './helpers/fixtures.js';
import { startGitServer } from './helpers/git-server.js';
import { git, refsOf } from './helpers/repos.js';
import { startS3Server } from './helpers/s3.js';
import { type CliResult, runCli as runTestCli } from './helpers/cli.js';
import { TEST_SIGNER } from './helpers/signing.js';

let root: string;
let work: string;
let bare: string;
let server: Awaited<ReturnType<typeof startGitServer>>;
let s3: Awaited<ReturnType<typeof startS3Server>>;
let bucketUrl: string;

const WORKSPACE = '6f1c2a3b-4d5e-4f60-8172-93a4b5c6d7e8';
/** Repository paths as the app writes them: <workspace UUID>/<repository UUID>. */
const WEB = `${WORKSPACE}/0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d`;
const API = `${WORKSPACE}/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e`;
const DOCS_OLD = `${WORKSPACE}/2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f`;
const DOCS_NEW = `${WORKSPACE}/3d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f7a`;

const ids: Record<string, string> = {};
const oids: Record<string, string> = {};

function runCli(args: string[]): Promise<CliResult> {
  return runTestCli([...args, '--bucket', bucketUrl], s3.env);
}

async function cliJson<T>(args: string[]): Promise<T> {
  const result = await runCli([...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

/** A snapshot as the app takes one: under UUIDs, the names in the manifest only. */
async function appSnapshot(path: string, at: string, repository: { workspaceSlug: string; slug: string; name: string }): Promise<string> {
  const [workspace, uuid] = path.split('/') as [string, string];
  const result = await backup({
    store: s3.makeStore(bucketUrl.split('/').slice(3).join('/')),
    repo: { workspace, repository: uuid },
    git: createGitClient({ url: server.url('web.git') }),
    trigger: 'schedule',
    encryption: null,
    objectLock: null,
    ...TEST_SIGNER,
    repository: { ...repository, uuid },
    now: () => new Date(at),
  });
  assert.equal(result.status, 'created');
  return (result as { snapshot: SnapshotManifest }).snapshot.id;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lifeboat-cli-find-'));
  work = join(root, 'work');
  buildRichWorkRepo(work);
  bare = join(root, 'served', 'web.git');
  git(undefined, ['clone', '--quiet', '--mirror', work, bare]);
  server = await startGitServer({ root: join(root, 'served') });
  s3 = await startS3Server();
  bucketUrl = `s3://${s3.bucket}/find`;
  const init = await runTestCli(['init', '--bucket', bucketUrl], s3.env);
  assert.equal(init.code, 0, init.stderr);
  // web was called web-old until a rename between its two snapshots.
  ids.webOld = await appSnapshot(WEB, '2026-12-07T15:00:00Z', { workspaceSlug: 'acme', slug: 'web-old', name: 'Web (old)' });
  oids.mainBefore = git(bare, ['rev-parse', 'refs/heads/main']).trim();
  oids.ghPages = git(bare, ['rev-parse', 'refs/heads/gh-pages']).trim();
  // Between the two: main moves, develop is added, gh-pages deleted, HEAD turns to develop.
  addCommit(work, 'After the rename');
  git(work, ['branch', 'develop']);
  git(work, ['branch', '-D', '--quiet', 'gh-pages']);
  git(work, ['push', '--quiet', '--mirror', bare]);
  git(bare, ['symbolic-ref', 'HEAD', 'refs/heads/develop']);
  oids.mainAfter = git(bare, ['rev-parse', 'refs/heads/main']).trim();
  ids.web = await appSnapshot(WEB, '2026-12-07T16:30:00Z', { workspaceSlug: 'acme', slug: 'web', name: 'Web' });
  ids.api = await appSnapshot(API, '2026-12-07T16:45:00Z', { workspaceSlug: 'acme', slug: 'api', name: 'API' });
  // Two repositories that were each named acme/docs: one deleted, then another created under the name.
  ids.docsOld = await appSnapshot(DOCS_OLD, '2026-12-06T10:00:00Z', { workspaceSlug: 'acme', slug: 'docs', name: 'Docs' });
  ids.docsNew = await appSnapshot(DOCS_NEW, '2026-12-06T11:00:00Z', { workspaceSlug: 'acme', slug: 'docs', name: 'Docs' });
});

after(async () => {
  await server?.close();
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('lifeboat CLI: finding the repository', () => {
  it('repos lists each repository by the names of its newest snapshot, where it is stored, its newest snapshot and count', async () => {
    const { repositories } = await cliJson<{ repositories: Record<string, unknown>[] }>(['repos']);
    assert.deepEqual(repositories, [
      { workspace: 'acme', slug: 'api', name: 'API', path: API, newest: ids.api, snapshots: 1, names: ['acme/api', 'acme/API'] },
      { workspace: 'acme', slug: 'docs', name: 'Docs', path: DOCS_OLD, newest: ids.docsOld, snapshots: 1, names: ['acme/docs', 'acme/Docs'] },
      { workspace: 'acme', slug: 'docs', name: 'Docs', path: DOCS_NEW, newest: ids.docsNew, snapshots: 1, names: ['acme/docs', 'acme/Docs'] },
      { workspace: 'acme', slug: 'web', name: 'Web', path: WEB, newest: ids.web, snapshots: 2, names: ['acme/web', 'acme/Web', 'acme/web-old', 'acme/Web (old)'] },
    ]);
    const text = await runCli(['repos']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^WORKSPACE +SLUG +NAME +PATH +NEWEST +SNAPSHOTS +ALSO NAMED\n/);
    assert.match(text.stdout, new RegExp(`\\nacme +web +Web +${WEB} +${ids.web} +2 +acme/web-old, acme/Web \\(old\\)\\n?$`));
  });

  it("snapshots --repo acme/web (a name) on a bucket the app filled (UUID paths), and by any name the repository had", async () => {
    for (const repo of ['acme/web', 'acme/web-old', 'acme/Web (old)', 'ACME/WEB', WEB]) {
      const { snapshots } = await cliJson<{ snapshots: { id: string }[] }>(['snapshots', '--repo', repo]);
      assert.deepEqual(snapshots.map((snapshot) => snapshot.id), [ids.webOld, ids.web], repo);
    }
  });

  it('a name two repositories had is refused, naming both; a name none had is refused pointing to repos', async () => {
    const ambiguous = await runCli(['snapshots', '--repo', 'acme/docs']);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, new RegExp(`(^|\\n)lifeboat: error \\[INVALID_ARGUMENT\\]: --repo acme/docs fits 2 repositories: ${DOCS_OLD} \\(acme/docs, acme/Docs\\); ${DOCS_NEW} \\(acme/docs, acme/Docs\\)\\. [^\\n]*lifeboat repos[^\\n]*\\n$`));
    const unknown = await runCli(['show', 'latest', '--repo', 'acme/No Such Thing']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /\[INVALID_ARGUMENT\]: No repository in [^\n]* was ever named acme\/No Such Thing \(`lifeboat repos` lists them\)/);
  });
});

describe('lifeboat CLI: naming the snapshot', () => {
  it('latest with --repo, and a unique prefix, in show, verify and restore', async () => {
    assert.equal((await cliJson<{ id: string }>(['show', 'latest', '--repo', 'acme/web'])).id, ids.web);
    assert.equal((await cliJson<{ id: string }>(['show', ids.web!.slice(0, 14)])).id, ids.web);
    const verify = await cliJson<{ snapshots: { snapshot: string }[] }>(['verify', ids.api!.slice(0, 13)]);
    assert.deepEqual(verify.snapshots.map((report) => report.snapshot), [ids.api]);
    const folder = join(root, 'restored-latest');
    const restore = await runCli(['restore', 'latest', '--repo', 'acme/web-old', '--to', folder]);
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(refsOf(folder), refsOf(bare));
  });

  it('latest across several repositories and a prefix of several ids are refused, listing them', async () => {
    const latest = await runCli(['show', 'latest', '--json']);
    assert.equal(latest.code, 1);
    const { error } = JSON.parse(latest.stdout) as { error: { code: string; message: string; hint: string } };
    assert.equal(error.code, 'SNAPSHOT_AMBIGUOUS');
    assert.match(error.message, /"latest" is the newest snapshot of one repository/);
    assert.match(error.hint, /^add --repo <workspace>\/<repo>, e\.g\. --repo /);
    // 16:30 (web) and 16:45 (api) both start 20261207T16.
    const prefix = await runCli(['show', '20261207T16']);
    assert.equal(prefix.code, 1);
    assert.match(prefix.stderr, new RegExp(`\\[SNAPSHOT_AMBIGUOUS\\]: 20261207T16 is the start of 2 snapshot ids: ${ids.web} \\(${WEB}\\), ${ids.api} \\(${API}\\)\\. — give more of the id, or add --repo`));
    assert.equal((await cliJson<{ id: string }>(['show', '20261207T16', '--repo', 'acme/api'])).id, ids.api);
  });
});

describe('lifeboat CLI: what changed', () => {
  const changes = () => ({
    added: [{ name: 'refs/heads/develop', oid: oids.mainAfter }],
    moved: [{ name: 'refs/heads/main', from: oids.mainBefore, to: oids.mainAfter }],
    deleted: [{ name: 'refs/heads/gh-pages', oid: oids.ghPages }],
    head: { from: 'refs/heads/main', to: 'refs/heads/develop' },
  });

  it('log: each snapshot with the refs it added, moved and deleted, a move not claimed to be a fast-forward or not', async () => {
    const log = await cliJson<{ repo: string; snapshots: { id: string; refs: number; changes: { added: unknown[] } }[] }>(['log', '--repo', 'acme/web']);
    assert.equal(log.repo, WEB);
    assert.deepEqual(log.snapshots.map((snapshot) => snapshot.id), [ids.webOld, ids.web]);
    assert.equal(log.snapshots[0]!.changes.added.length, log.snapshots[0]!.refs);
    assert.deepEqual(log.snapshots[1]!.changes, changes());
    const text = await runCli(['log', '--repo', 'acme/web']);
    assert.equal(text.code, 0, text.stderr);
    const short = (oid: string) => oid.slice(0, 12);
    assert.ok(text.stdout.includes([
      `${ids.web}  2026-12-07T16:30:00.000Z  schedule  4 changes`,
      `  + refs/heads/develop  ${short(oids.mainAfter!)}`,
      `  ~ refs/heads/main  ${short(oids.mainBefore!)} -> ${short(oids.mainAfter!)}`,
      `  - refs/heads/gh-pages  ${short(oids.ghPages!)}`,
      '  HEAD: refs/heads/main -> refs/heads/develop',
      '',
      'A move is not told apart from a force-push',
    ].join('\n')), text.stdout);
  });

  it("log --ref: one ref's value in each snapshot, by its short name", async () => {
    const deleted = await cliJson<{ ref: string; history: unknown[] }>(['log', '--repo', 'acme/web', '--ref', 'gh-pages']);
    assert.deepEqual(deleted, { repo: WEB, ref: 'refs/heads/gh-pages', unreadable: [], history: [
      { snapshot: ids.webOld, createdAt: '2026-12-07T15:00:00.000Z', oid: oids.ghPages, change: 'added' },
      { snapshot: ids.web, createdAt: '2026-12-07T16:30:00.000Z', oid: null, change: 'deleted' },
    ] });
    const main = await runCli(['log', '--repo', 'acme/web', '--ref', 'main']);
    assert.equal(main.code, 0, main.stderr);
    assert.match(main.stdout, new RegExp(`^SNAPSHOT +CREATED +refs/heads/main +CHANGE\n${ids.webOld} +\\S+ +${oids.mainBefore} +added\n${ids.web} +\\S+ +${oids.mainAfter} +moved\n`));
    const none = await runCli(['log', '--repo', 'acme/web', '--ref', 'no-such-branch']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /No snapshot of [^\n]* holds a ref no-such-branch \(nor refs\/heads\/no-such-branch or refs\/tags\/no-such-branch\)/);
  });

  it('diff: the same changes between any two snapshots, each named as every command names one', async () => {
    const diff = await cliJson<Record<string, unknown>>(['diff', ids.webOld!.slice(0, 13), 'latest', '--repo', 'acme/web-old']);
    assert.deepEqual(diff, { from: ids.webOld, to: ids.web, ...changes() });
    const back = await cliJson<{ added: { name: string }[]; deleted: { name: string }[] }>(['diff', ids.web!, ids.webOld!]);
    assert.deepEqual([back.added.map((ref) => ref.name), back.deleted.map((ref) => ref.name)], [['refs/heads/gh-pages'], ['refs/heads/develop']]);
  });
});
