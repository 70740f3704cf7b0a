// Pull requests in snapshots (src/bitbucket/pull-request-collector.ts) against the real
// emulator, its git and s3rver: a first export stores every pull request in
// every state, an incremental one fetches only what changed (counted on the
// emulator), a 429 storm in the middle ends, after the resumed backups, with the
// same bucket contents as an undisturbed run, and encrypted buckets hold the
// documents encrypted.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BitbucketClient } from '../src/bitbucket/client.js';
import { type ChangeMark, type PullRequestMarks, linkedIssueKeys, pullRequestCollector } from '../src/bitbucket/pull-request-collector.js';
import { type BackupResult, backup } from '../src/engine/backup.js';
import type { BlobStore } from '../src/engine/bucket/blob-store.js';
import { generateIdentity, isAgeEncrypted } from '../src/engine/bucket/crypto.js';
import { initBucket, recordSigningKey } from '../src/engine/bucket/marker.js';
import type { EncryptionConfig, SnapshotManifest } from '../src/engine/bucket/format.js';
import { type MetadataIndex, type PullRequestDocument, pullRequestDocumentSchema, readMetadataDocument, readMetadataIndex } from '../src/engine/bucket/metadata.js';
import { collect } from '../src/engine/streams.js';
import { createGitClient } from '../src/engine/git/client.js';
import { DEMO_USERS, DEMO_WORKSPACE, DEMO_WORKSPACE_TOKEN } from '../sandbox/demo.js';
import { apiTokenAuth, call, startTestEmulator, type TestEmulator } from '../sandbox/bitbucket/test-support.js';
import type { EmulatorState } from '../sandbox/bitbucket/model.js';
import { type Endpoint, generatePullRequests } from '../sandbox/bitbucket/resources/pullrequests.js';
import { startS3Server, type S3TestServer } from './helpers/s3.js';
import { runCli } from './helpers/cli.js';
import { TEST_SIGNER, TEST_SIGNING_KEY } from './helpers/signing.js';

const repo = { workspace: 'ws', repository: 'web-app' };
/** A backup that committed (or found nothing to commit): no bundle continuation here, web-app is small. */
type Committed = Exclude<BackupResult, { status: 'partial' }>;
const PR_PATH = /\/pullrequests\/(\d+)\//;

describe('pull requests in snapshots', () => {
  let emulator: TestEmulator;
  let s3: S3TestServer;
  let repositoryUuid: string;
  let webApp: string;

  before(async () => {
    emulator = await startTestEmulator({ rateLimitPerHour: 100_000 });
    s3 = await startS3Server();
    const repository = emulator.state().repositories.find((candidate) => candidate.slug === 'web-app');
    assert.ok(repository);
    repositoryUuid = repository.uuid;
    webApp = `/2.0/repositories/${DEMO_WORKSPACE.slug}/web-app`;
  });
  after(async () => {
    await s3?.close();
    await emulator?.dispose();
  });

  /** Marks as the Forge trigger records them, kept here in memory. */
  const marks = (recorded: ChangeMark[] = []): PullRequestMarks & { recorded: ChangeMark[] } => ({
    recorded,
    async pending(coveredThrough) {
      return recorded.filter((mark) => coveredThrough === undefined || mark.at > coveredThrough);
    },
  });
  const asApp = new BitbucketClient((path, init) => fetch(new URL(path, emulator.url), { ...init, headers: { ...init?.headers, authorization: emulator.forgeAppAuthorization() } }));
  const run = async (store: BlobStore, options: { encryption?: EncryptionConfig | null; marks?: PullRequestMarks } = {}): Promise<Committed> => {
    const result = await backup({
    store,
    repo,
    git: createGitClient({ url: emulator.gitUrl(DEMO_WORKSPACE.slug, 'web-app'), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } }),
    trigger: 'cli', ...TEST_SIGNER,
    encryption: options.encryption ?? null,
    objectLock: null,
    metadata: [pullRequestCollector({ client: asApp, workspaceUuid: DEMO_WORKSPACE.uuid, repositoryUuid, marks: options.marks ?? marks() })],
    });
    assert.notEqual(result.status, 'partial');
    return result as Committed;
  };
  const indexOf = async (store: BlobStore, result: Committed): Promise<{ manifest: SnapshotManifest; index: MetadataIndex }> => {
    const index = await readMetadataIndex(store, result.snapshot);
    assert.ok(index, 'the snapshot names a metadata index');
    return { manifest: result.snapshot, index };
  };
  const documents = async (store: BlobStore, result: Committed, identities?: string[]): Promise<Map<number, PullRequestDocument>> => {
    const { manifest, index } = await indexOf(store, result);
    const read = new Map<number, PullRequestDocument>();
    for (const entry of index.pullRequests?.items ?? []) read.set(entry.id, await readMetadataDocument(store, manifest, entry.object, identities, pullRequestDocumentSchema));
    return read;
  };
  const restCalls = () => emulator.requests().filter((record) => record.rest);
  /** Pull requests whose parts were read, by id. */
  const fetchedIds = (): number[] => [...new Set(restCalls().flatMap((record) => {
    const match = PR_PATH.exec(record.path) ?? /\/pullrequests\/(\d+)\?/.exec(record.path);
    return match ? [Number(match[1])] : [];
  }))].sort((a, b) => a - b);
  const comparable = (document: PullRequestDocument): unknown => ({ ...document, fetchedAt: undefined });

  const newBucket = async (recipients: string[] = []): Promise<BlobStore> => {
    const fresh = s3.makeStore(`prs-${Math.random().toString(36).slice(2)}`);
    await initBucket(fresh, { recipients });
    await recordSigningKey(fresh, TEST_SIGNING_KEY); // as the app and the command line do: the key that signs is listed
    return fresh;
  };
  let store: BlobStore;
  let first: Committed;

  it('a first export stores every pull request in every state, with threaded and inline comments, readable from the bucket', async () => {
    store = await newBucket();
    emulator.clearRequests();
    first = await run(store);
    assert.equal(first.status, 'created');
    const { index } = await indexOf(store, first);
    const section = index.pullRequests;
    assert.ok(section);
    assert.equal(section.complete, true);
    assert.deepEqual(section.outstanding, []);
    assert.deepEqual(section.items.map((entry) => `${entry.id}:${entry.state}`), ['1:MERGED', '2:SUPERSEDED', '3:OPEN', '4:MERGED', '5:DECLINED', '6:OPEN', '7:OPEN']);
    assert.equal(section.updatedThrough, [...section.items].map((entry) => entry.updatedOn).sort().at(-1), 'the watermark is the newest update stored');

    const read = await documents(store, first);
    const validated = read.get(1);
    assert.ok(validated);
    assert.equal(validated.pullRequest.title, 'Validate login input');
    assert.ok(validated.pullRequest.merge_commit, 'a merged pull request names its merge commit');
    const participants = validated.pullRequest.participants as Array<{ user: { uuid: string }; approved: boolean }>;
    assert.ok(participants.some((participant) => participant.user.uuid === DEMO_USERS.admin.uuid && participant.approved), 'participants with their approval state');
    assert.deepEqual((validated.pullRequest.reviewers as Array<{ uuid: string }>).map((reviewer) => reviewer.uuid), [DEMO_USERS.admin.uuid]);
    const [root, ...replies] = validated.comments as Array<{ id: number; inline?: { path: string; to: number }; parent?: { id: number }; content: { raw: string } }>;
    assert.deepEqual(root?.inline, { path: 'src/login.js', to: 2 }, 'an inline comment keeps its anchor');
    assert.deepEqual(replies.map((reply) => reply.parent?.id), [root?.id, root?.id], 'replies name their thread');
    assert.ok(validated.activity.some((entry) => 'approval' in entry) && validated.activity.some((entry) => 'update' in entry), 'activity: approvals and updates');
    assert.ok(validated.commits.length > 0 && validated.diffstat.length > 0 && validated.statuses.length > 0);
    assert.equal(read.get(3)?.tasks.length, 1, 'tasks');
    assert.deepEqual(read.get(7)?.comments, [], 'a pull request without comments needs no comment call');

    for (const record of restCalls().filter((candidate) => candidate.path.includes('/pullrequests'))) {
      const url = new URL(record.path, emulator.url);
      assert.equal(record.status, 200, record.path);
      assert.ok(url.searchParams.has('fields'), `fields= on ${record.path}`);
    }
    assert.ok(restCalls().every((record) => !record.path.endsWith('/diffstat') && !record.path.includes('/diffstat?')), 'the diffstat is asked for directly, not through the redirect');
  });

  it('what the collector stored reads offline with the command line: the list, and one pull request with its thread and inline anchor', async () => {
    const prefix = `prs-cli-${Math.random().toString(36).slice(2)}`;
    const cliStore = s3.makeStore(prefix);
    await initBucket(cliStore, {});
    await recordSigningKey(cliStore, TEST_SIGNING_KEY); // as the app and the command line do: the key that signs is listed
    const exported = await run(cliStore);
    const lifeboat = async (...args: string[]): Promise<string> => {
      const result = await runCli([...args, '--bucket', `s3://${s3.bucket}/${prefix}`], s3.env);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout;
    };
    const listed = JSON.parse(await lifeboat('prs', exported.snapshot.id, '--json')) as { pullRequests: Array<{ id: number; state: string; title?: string }> };
    assert.deepEqual(listed.pullRequests.map((item) => item.id).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(listed.pullRequests.find((item) => item.id === 1)?.title, 'Validate login input');
    const text = await lifeboat('pr', exported.snapshot.id, '1');
    assert.match(text, /Validate login input/);
    assert.match(text, /src\/login\.js:2/, 'the inline anchor');
    const indent = (words: string): number => /^( *)/.exec(text.split('\n').find((line) => line.includes(words)) ?? '')![1]!.length;
    assert.ok(indent('Passwords may start with a space') > indent('Should this also trim whitespace?'), `replies indented under the comment they answer:\n${text}`);
  });

  it('an unchanged repository costs one listing call and makes no snapshot', async () => {
    emulator.clearRequests();
    const again = await run(store);
    assert.equal(again.status, 'unchanged');
    assert.deepEqual(restCalls().map((record) => decodeURIComponent(new URL(record.path, emulator.url).pathname)), [`/2.0/repositories/${DEMO_WORKSPACE.uuid}/${repositoryUuid}/pullrequests`]);
    const listing = restCalls()[0]!.path;
    // The date time unquoted, as the spec's "Filter and sort" section writes it.
    assert.match(new URL(listing, emulator.url).searchParams.get('q') ?? '', /^updated_on>\d{4}-\d{2}-\d{2}T/);
    assert.deepEqual((await asApp.page(listing)).values, [], 'the listing holds nothing: Bitbucket filtered by updated_on');
  });

  it('an incremental export fetches only the pull requests that changed; the others keep their objects', async () => {
    const before = (await indexOf(store, first)).index;
    assert.equal((await call(emulator, `${webApp}/pullrequests/3/comments`, apiTokenAuth('admin'), { method: 'POST', body: { content: { raw: 'One more look, please.' } } })).status, 201);
    assert.equal((await call(emulator, `${webApp}/pullrequests/6`, apiTokenAuth('repoAdmin'), { method: 'PUT', body: { title: 'Single sign-on (WEB-42)' } })).status, 200);
    emulator.clearRequests();
    const next = await run(store);
    assert.equal(next.status, 'created');
    assert.deepEqual(fetchedIds(), [3, 6]);
    const { index } = await indexOf(store, next);
    assert.equal(index.pullRequests?.items.length, 7, 'every pull request is still named');
    for (const entry of index.pullRequests?.items ?? []) {
      const old = before.pullRequests?.items.find((candidate) => candidate.id === entry.id);
      if (entry.id === 3 || entry.id === 6) assert.notEqual(entry.object.key, old?.object.key);
      else assert.deepEqual(entry, old, `pull request ${entry.id} is carried forward as it was`);
    }
    const read = await documents(store, next);
    assert.equal(read.get(3)?.comments.at(-1)?.content && (read.get(3)?.comments.at(-1)?.content as { raw: string }).raw, 'One more look, please.');
    assert.deepEqual(read.get(6)?.linkedIssueKeys, ['WEB-42']);
    first = next;
  });

  it('a pull request marked by an event is fetched even though its updated_on did not move', async () => {
    const listed = (await call(emulator, `${webApp}/pullrequests/5/comments`, apiTokenAuth('admin'))).body as { values: Array<{ id: number }> };
    const comment = listed.values[0];
    assert.ok(comment);
    const updatedOn = ((await call(emulator, `${webApp}/pullrequests/5`, apiTokenAuth('admin'))).body as { updated_on: string }).updated_on;
    assert.equal((await call(emulator, `${webApp}/pullrequests/5/comments/${comment.id}`, apiTokenAuth('admin'), { method: 'PUT', body: { content: { raw: 'Declining: this should target main.' } } })).status, 200);
    assert.equal(((await call(emulator, `${webApp}/pullrequests/5`, apiTokenAuth('admin'))).body as { updated_on: string }).updated_on, updatedOn, 'editing a comment leaves updated_on');
    await emulator.eventsIdle();
    assert.ok(emulator.received.some((event) => event.eventType === 'avi:bitbucket:updated:pullrequest-comment'), 'the emulator raised the event');

    const withoutMark = await run(store);
    assert.equal(withoutMark.status, 'unchanged', 'the listing alone cannot see it');
    const recorded = marks([{ id: 5, at: new Date().toISOString() }]);
    emulator.clearRequests();
    const marked = await run(store, { marks: recorded });
    assert.equal(marked.status, 'created');
    assert.deepEqual(fetchedIds(), [5]);
    const { index } = await indexOf(store, marked);
    assert.equal(index.pullRequests?.marksThrough, recorded.recorded[0]?.at, 'the snapshot records which marks it covered');
    assert.equal(((await documents(store, marked)).get(5)?.comments[0]?.content as { raw: string }).raw, 'Declining: this should target main.');
    emulator.clearRequests();
    assert.equal((await run(store, { marks: recorded })).status, 'unchanged', 'a covered mark is not fetched again');
    assert.deepEqual(fetchedIds(), []);
    first = marked;
  });

  it('a 429 storm in the middle of an export ends, after the resumed backups, with the bucket contents of an undisturbed run', async () => {
    const undisturbed = await newBucket();
    const calm = await run(undisturbed);
    const expected = await indexOf(undisturbed, calm);

    const stormy = await newBucket();
    emulator.clearRequests();
    // Through the listing and two pull requests, then 429s for a while: every backup meanwhile stops short.
    emulator.faults.rateLimitStormAfter = 14;
    emulator.faults.rateLimitStorm = 6;
    const results: Committed[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      let result: Committed;
      try {
        result = await run(stormy);
      } catch (error) {
        // A 429 on git itself fails the whole backup: the next one tries again.
        assert.match(String(error), /429|rate|busy/i);
        continue;
      }
      results.push(result);
      if (result.snapshot.metadata?.partial === false) break;
    }
    assert.equal(emulator.faults.rateLimitStorm, 0, 'the storm blew over');
    const partial = results.filter((result) => result.snapshot.metadata?.partial);
    assert.ok(partial.length > 0, 'the storm stopped an export short');
    const stopped = await indexOf(stormy, partial[0]!);
    assert.equal(stopped.index.pullRequests?.complete, false);
    assert.ok(stopped.index.pullRequests!.items.length > 0, 'what was stored before the storm is kept');
    assert.ok(stopped.index.problems.some((problem) => problem.code === 'BITBUCKET_RATE_LIMITED'));

    const last = results.at(-1)!;
    assert.equal(last.snapshot.metadata?.partial, false, 'the resumed backups completed it');
    const got = await indexOf(stormy, last);
    const entries = (index: MetadataIndex) => index.pullRequests?.items.map(({ object: _object, ...entry }) => entry);
    assert.deepEqual(entries(got.index), entries(expected.index));
    assert.equal(got.index.pullRequests?.updatedThrough, expected.index.pullRequests?.updatedThrough);
    assert.deepEqual(got.index.pullRequests?.outstanding, []);
    const mine = await documents(stormy, last);
    for (const [id, document] of await documents(undisturbed, calm)) assert.deepEqual(comparable(mine.get(id)!), comparable(document), `pull request ${id}`);
    // Nothing stored twice: across every snapshot the resumed backups wrote, one document per pull request.
    const named = new Set<string>();
    for (const result of results) for (const entry of (await indexOf(stormy, result)).index.pullRequests?.items ?? []) named.add(entry.object.key);
    assert.equal(named.size, 7);
    // Only a pull request the storm cut short in the middle of its parts is read again, once per stop.
    const activity = restCalls().filter((record) => record.status === 200 && /\/pullrequests\/\d+\/activity/.test(record.path));
    assert.ok(activity.length >= 7 && activity.length <= 7 + partial.length, `${activity.length} activity reads for 7 pull requests and ${partial.length} stops`);
  });

  it('an encrypted bucket stores the documents encrypted', async () => {
    const { identity, recipient } = await generateIdentity();
    const encrypted = await newBucket([recipient]);
    const result = await run(encrypted, { encryption: { scheme: 'age', recipients: [recipient] } });
    const { index } = await indexOf(encrypted, result);
    assert.ok(result.snapshot.metadata && !result.snapshot.metadata.index.encrypted, 'the index stays plain');
    for (const entry of index.pullRequests?.items ?? []) {
      assert.equal(entry.object.encrypted, true);
      const bytes = await collect(await encrypted.get(entry.object.key));
      assert.ok(isAgeEncrypted(bytes.subarray(0, 32)), `pull request ${entry.id} is age-encrypted in the bucket`);
    }
    assert.equal((await documents(encrypted, result, [identity])).get(1)?.pullRequest.title, 'Validate login input');
  });

  it('finds issue keys in the title and the source branch', () => {
    assert.deepEqual(linkedIssueKeys('WEB-12: fix login (see OPS-3)', 'feature/WEB-12-login'), ['OPS-3', 'WEB-12']);
    assert.deepEqual(linkedIssueKeys('Fix a typo', 'bugfix/readme'), []);
  });
});

// A repository with pull requests #1–#103 (#8–#103 generated, updated before the
// seeded ones): one pull request's diffstat answers 555 for good ("If generating
// the diffstat timed out", the spec), another's activity 500, and a third is
// listed with the id 0. None of them holds the others back, nor fails the backup.
describe('pull requests Bitbucket cannot serve', () => {
  let emulator: TestEmulator;
  let s3: S3TestServer;
  let scratch: string;
  let repositoryUuid: string;
  let store: BlobStore;
  const prefix = `prs-faults-${Math.random().toString(36).slice(2)}`;
  const api = `/2.0/repositories/${DEMO_WORKSPACE.slug}/web-app/pullrequests`;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-prs-faults-'));
    // The demo world, then generated pull requests written into its state while the emulator is down (as the benchmark does).
    await (await startTestEmulator({ dataDir: scratch })).close();
    const state = JSON.parse(await readFile(join(scratch, 'state.json'), 'utf8')) as EmulatorState;
    const repository = state.repositories.find((candidate) => candidate.slug === 'web-app')!;
    repositoryUuid = repository.uuid;
    const ends = (state.repositoryData[repositoryUuid]?.pullrequests as { pullRequests: Array<{ source: Endpoint; destination: Endpoint }> }).pullRequests[2]!;
    generatePullRequests(state, repositoryUuid, { count: 96, userUuids: Object.values(DEMO_USERS).map((user) => user.uuid), source: ends.source, destination: ends.destination, startedAt: '2025-01-06T09:00:00.000Z' });
    await writeFile(join(scratch, 'state.json'), JSON.stringify(state));
    emulator = await startTestEmulator({ dataDir: scratch, rateLimitPerHour: 100_000 });
    s3 = await startS3Server();
    store = s3.makeStore(prefix);
    await initBucket(store, {});
    await recordSigningKey(store, TEST_SIGNING_KEY); // as the app and the command line do: the key that signs is listed
  });
  after(async () => {
    await s3?.close();
    await emulator?.dispose();
    await rm(scratch, { recursive: true, force: true });
  });

  const asApp = (): BitbucketClient => new BitbucketClient((path, init) => fetch(new URL(path, emulator.url), { ...init, headers: { ...init?.headers, authorization: emulator.forgeAppAuthorization() } }));
  const run = async (): Promise<Committed> => {
    const result = await backup({
      store,
      repo,
      git: createGitClient({ url: emulator.gitUrl(DEMO_WORKSPACE.slug, 'web-app'), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } }),
      trigger: 'cli', ...TEST_SIGNER,
      encryption: null,
      objectLock: null,
      metadata: [pullRequestCollector({ client: asApp(), workspaceUuid: DEMO_WORKSPACE.uuid, repositoryUuid, marks: { pending: () => Promise.resolve([]) } })],
    });
    assert.notEqual(result.status, 'partial');
    return result as Committed;
  };
  const indexOf = async (result: Committed): Promise<MetadataIndex> => {
    const index = await readMetadataIndex(store, result.snapshot);
    assert.ok(index);
    return index;
  };
  const documentOf = async (result: Committed, id: number): Promise<PullRequestDocument> => {
    const entry = (await indexOf(result)).pullRequests?.items.find((candidate) => candidate.id === id);
    assert.ok(entry, `pull request ${id} is stored`);
    return readMetadataDocument(store, result.snapshot, entry.object, undefined, pullRequestDocumentSchema);
  };
  const calls = (pattern: RegExp): number => emulator.requests().filter((record) => record.rest && pattern.test(record.path)).length;
  const problemsOf = (index: MetadataIndex): string[] => index.problems.map((problem) => `${problem.code} ${problem.subject ?? ''}`).sort();
  const everyId = Array.from({ length: 103 }, (_, at) => at + 1);
  let first: Committed;

  it('stores #100–#103 and every other one, the failing ones without the failing part and with the problem named; id 0 is a problem, git is backed up', async () => {
    Object.assign(emulator.faults, {
      pullRequestPartFaults: [{ id: 20, part: 'diffstat', status: 555 }, { id: 40, part: 'activity', status: 500 }],
      pullRequestIdAs: { id: 60, as: 0 },
    });
    emulator.clearRequests();
    first = await run();
    assert.equal(first.status, 'created', 'the git history is backed up');
    const index = await indexOf(first);
    const section = index.pullRequests!;
    assert.deepEqual(section.items.map((entry) => entry.id), everyId.filter((id) => id !== 60));
    assert.equal(section.complete, true, 'nothing is left waiting');
    assert.deepEqual(section.outstanding, []);
    assert.deepEqual(section.items.find((entry) => entry.id === 20)?.failed, [{ part: 'diffstat', status: 555 }]);
    assert.deepEqual(section.items.find((entry) => entry.id === 40)?.failed, [{ part: 'activity', status: 500 }]);
    assert.deepEqual(problemsOf(index), ['PULL_REQUEST_ID_INVALID 0', 'PULL_REQUEST_PARTIAL 20', 'PULL_REQUEST_PARTIAL 40']);
    assert.match(index.problems.find((problem) => problem.subject === '20')!.message, /#20 is stored without its diffstat \(HTTP 555: generating it timed out\)/);
    assert.match(index.problems.find((problem) => problem.subject === '0')!.message, /the id 0 .*leaves it out/);

    const timedOut = await documentOf(first, 20);
    assert.deepEqual(timedOut.diffstat, []);
    assert.deepEqual(timedOut.unavailable, ['diffstat']);
    assert.ok(timedOut.activity.length > 0 && timedOut.commits.length > 0, 'what could be read is stored');
    const noActivity = await documentOf(first, 40);
    assert.deepEqual(noActivity.activity, []);
    assert.ok(noActivity.diffstat.length > 0);
    // A 500 is asked again once at once; the 555 (Bitbucket's own timeout) is not.
    assert.equal(calls(/\/pullrequests\/40\/activity/), 2);
    assert.equal(calls(/from_pullrequest_id=20(&|$)/), 1);
  });

  it('the command line shows the problems of the snapshot', async () => {
    const shown = await runCli(['show', first.snapshot.id, '--bucket', `s3://${s3.bucket}/${prefix}`], s3.env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /Problem in pullRequests \(20\): \[PULL_REQUEST_PARTIAL\] Pull request #20 is stored without its diffstat/);
    assert.match(shown.stdout, /Problem in pullRequests \(0\): \[PULL_REQUEST_ID_INVALID\] .* \(first seen \d{4}-\d\d-\d\dT[\d:.]+Z, last seen \d{4}-\d\d-\d\dT[\d:.]+Z\)\n/);
  });

  it('asks again for the failing ones in every backup; once Bitbucket serves them they are complete', async () => {
    emulator.clearRequests();
    const still = await run();
    assert.equal(still.status, 'unchanged', 'still failing: the same index, no new snapshot');
    assert.deepEqual(fetchedOnes(), [20, 40]);

    emulator.faults.pullRequestPartFaults = [];
    delete emulator.faults.pullRequestIdAs;
    const healed = await run();
    assert.equal(healed.status, 'created');
    const index = await indexOf(healed);
    assert.equal(index.pullRequests?.items.find((entry) => entry.id === 20)?.failed, undefined);
    assert.equal(index.pullRequests?.items.find((entry) => entry.id === 40)?.failed, undefined);
    assert.ok((await documentOf(healed, 20)).diffstat.length > 0);
    assert.ok((await documentOf(healed, 40)).activity.length > 0);
    // Nothing has stored the one listed as 0: every snapshot says so.
    assert.deepEqual(problemsOf(index), ['PULL_REQUEST_ID_INVALID 0']);
    first = healed;
  });

  it('with next links dropping sort and fields, an incremental export still fetches every changed pull request', async () => {
    const changed = Array.from({ length: 55 }, (_, at) => 30 + at);
    for (const id of changed) {
      assert.equal((await call(emulator, `${api}/${id}/comments`, apiTokenAuth('admin'), { method: 'POST', body: { content: { raw: `Late note on #${id}.` } } })).status, 201);
    }
    emulator.faults.pageLinksDropSortAndFields = '/pullrequests';
    try {
      // Bitbucket's own listing with the knob on: page 2's link lost them.
      const listed = (await call(emulator, `${api}?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED&pagelen=50&sort=updated_on&fields=values.id,next`, apiTokenAuth('admin'))).body as { next?: string };
      assert.ok(listed.next && !/sort=|fields=/.test(listed.next), listed.next);
      emulator.clearRequests();
      const next = await run();
      assert.equal(next.status, 'created');
      assert.deepEqual(fetchedOnes(), changed, 'every changed pull request, #60 too now that Bitbucket lists it by its id');
      const index = await indexOf(next);
      assert.deepEqual(index.pullRequests?.items.map((entry) => entry.id), everyId);
      const current = new Map<number, string>();
      for await (const pr of asApp().paginate<{ id: number; updated_on: string }>(`${api}?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED&pagelen=50&fields=values.id,values.updated_on,next`)) current.set(pr.id, pr.updated_on);
      for (const entry of index.pullRequests!.items) assert.equal(entry.updatedOn, current.get(entry.id), `pull request ${entry.id} as Bitbucket has it now`);
      assert.equal(index.pullRequests?.updatedThrough, [...current.values()].sort().at(-1));
      const late = await documentOf(next, 84);
      assert.equal((late.comments.at(-1)?.content as { raw: string }).raw, 'Late note on #84.');
      assert.ok(Array.isArray(late.pullRequest.participants), 'the listing\'s fields were kept');
    } finally {
      delete emulator.faults.pageLinksDropSortAndFields;
    }
  });

  it('an outage in the middle of an export stops it, rather than storing every pull request without its parts', async () => {
    const outageStore = s3.makeStore(`${prefix}-outage`);
    await initBucket(outageStore, {});
    await recordSigningKey(outageStore, TEST_SIGNING_KEY); // as the app and the command line do: the key that signs is listed
    let calls = 0;
    let down = true;
    // Bitbucket answers 503 to everything from the 40th REST call of the first export on.
    const flaky = new BitbucketClient(async (path, init) => {
      if (down && ++calls > 40) return { status: 503, headers: new Headers(), text: async () => '{"type":"error","error":{"message":"Service unavailable"}}' };
      return fetch(new URL(path, emulator.url), { ...init, headers: { ...init?.headers, authorization: emulator.forgeAppAuthorization() } });
    });
    const exportWith = async (): Promise<MetadataIndex> => {
      const result = await backup({
        store: outageStore, repo, git: createGitClient({ url: emulator.gitUrl(DEMO_WORKSPACE.slug, 'web-app'), credentials: { username: 'x-token-auth', password: DEMO_WORKSPACE_TOKEN.token } }),
        trigger: 'cli', ...TEST_SIGNER, encryption: null, objectLock: null,
        metadata: [pullRequestCollector({ client: flaky, workspaceUuid: DEMO_WORKSPACE.uuid, repositoryUuid, marks: { pending: () => Promise.resolve([]) } })],
      });
      assert.ok(result.status === 'created', result.status);
      const index = await readMetadataIndex(outageStore, result.snapshot);
      assert.ok(index);
      return index;
    };
    const stopped = await exportWith();
    const section = stopped.pullRequests!;
    assert.equal(section.complete, false, 'the outage stopped the export');
    assert.ok(section.items.length > 0 && section.items.length < 20, `${section.items.length} stored before the outage`);
    assert.ok(section.items.filter((entry) => entry.failed).length <= 1, 'at most the pull request the outage began in lacks parts');
    assert.ok(stopped.problems.some((problem) => problem.code === 'BITBUCKET_UNAVAILABLE' && problem.subject === undefined));
    down = false;
    const resumed = await exportWith();
    assert.equal(resumed.pullRequests?.complete, true);
    assert.deepEqual(resumed.pullRequests?.items.map((entry) => entry.id), everyId);
    assert.deepEqual(resumed.pullRequests?.items.filter((entry) => entry.failed), [], 'the one cut short is asked again and complete');
  });

  it('the emulator refuses a quoted date time, as the spec writes them unquoted', async () => {
    const quoted = await call(emulator, `${api}?q=${encodeURIComponent('updated_on>"2026-01-01T00:00:00Z"')}`, apiTokenAuth('admin'));
    assert.equal(quoted.status, 400);
    const bare = await call(emulator, `${api}?q=${encodeURIComponent('updated_on>2026-01-01T00:00:00Z')}`, apiTokenAuth('admin'));
    assert.equal(bare.status, 200);
  });

  /** Pull requests whose parts (or own JSON) were read since the last clearRequests. */
  function fetchedOnes(): number[] {
    return [...new Set(emulator.requests().filter((record) => record.rest).flatMap((record) => {
      const match = /\/pullrequests\/(\d+)[/?]/.exec(record.path);
      return match ? [Number(match[1])] : [];
    }))].sort((a, b) => a - b);
  }
});
