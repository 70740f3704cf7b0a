/**
 * REST calls of the pull request export (src/bitbucket/pull-request-collector.ts) against
 * the Bitbucket emulator, counted on the emulator: the first export of a
 * repository with thousands of generated pull requests (a realistic mix of
 * states, comment threads, reviews, tasks and build statuses), an incremental
 * export after some of them changed, and a sweep over an unchanged repository.
 * Calls are the figure that matters: Bitbucket allows 1,000 an hour per
 * workspace at the base tier.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BitbucketClient } from '../src/bitbucket/client.js';
import { type PullRequestMarks, pullRequestCollector } from '../src/bitbucket/pull-request-collector.js';
import { MemoryBlobStore } from '../src/engine/bucket/memory-store.js';
import type { MetadataIndex } from '../src/engine/bucket/metadata.js';
import { generateSigningKey } from '../src/engine/bucket/signing.js';
import { collectMetadata } from '../src/engine/metadata.js';
import { DEMO_USERS, DEMO_WORKSPACE } from '../sandbox/demo.js';
import { startBitbucketEmulator, type Emulator } from '../sandbox/bitbucket/index.js';
import type { EmulatorState } from '../sandbox/bitbucket/model.js';
import { generatePullRequests } from '../sandbox/bitbucket/resources/pullrequests.js';
import { apiTokenAuth, call } from '../sandbox/bitbucket/test-support.js';

export interface PullRequestRow {
  measure: string;
  calls: number;
  detail: string;
  target: string;
  result: 'PASS' | 'FAIL' | 'info';
}

const SLUG = 'web-app';

export async function benchPullRequests(dataDir: string, count: number, changed: number, log: (line: string) => void): Promise<PullRequestRow[]> {
  await rm(dataDir, { recursive: true, force: true });
  // The demo world, then the generated pull requests written into its state while the emulator is down.
  await (await startBitbucketEmulator({ dataDir, seed: true, log: () => {} })).close();
  const stateFile = join(dataDir, 'state.json');
  const state = JSON.parse(await readFile(stateFile, 'utf8')) as EmulatorState;
  const repository = state.repositories.find((candidate) => candidate.slug === SLUG);
  if (!repository) throw new Error(`the demo world has no ${SLUG}`);
  const seeded = (state.repositoryData[repository.uuid]?.pullrequests as { pullRequests: Array<{ source: { branch: string; commit: string | null }; destination: { branch: string; commit: string | null } }> }).pullRequests;
  const ends = seeded[2];
  if (!ends) throw new Error('the demo pull requests are missing');
  log(`pull requests: generating ${count} in ${SLUG}`);
  generatePullRequests(state, repository.uuid, {
    count, userUuids: Object.values(DEMO_USERS).map((user) => user.uuid), source: ends.source, destination: ends.destination, startedAt: '2025-01-06T09:00:00.000Z',
  });
  await writeFile(stateFile, JSON.stringify(state));
  const prs = (state.repositoryData[repository.uuid]?.pullrequests as { pullRequests: Array<{ comments: unknown[]; tasks: unknown[]; reviews: unknown[] }> }).pullRequests;
  const mix = `${prs.reduce((sum, pr) => sum + pr.comments.length, 0)} comments, ${prs.reduce((sum, pr) => sum + pr.reviews.length, 0)} reviews, ${prs.reduce((sum, pr) => sum + pr.tasks.length, 0)} tasks`;

  const emulator: Emulator = await startBitbucketEmulator({ dataDir, rateLimitPerHour: 10_000_000, log: () => {} });
  try {
    const client = new BitbucketClient((path, init) => fetch(new URL(path, emulator.url), { ...init, headers: { ...init?.headers, authorization: emulator.forgeAppAuthorization() } }));
    const noMarks: PullRequestMarks = { pending: () => Promise.resolve([]) };
    const store = new MemoryBlobStore();
    const repo = { workspace: 'bench', repository: SLUG };
    /** The pull request a call read a part of (the diffstat names it in a parameter), or undefined for a listing. */
    const subject = (path: string): number | undefined => {
      const id = /\/pullrequests\/(\d+)[/?]/.exec(path)?.[1] ?? new URL(path, emulator.url).searchParams.get('from_pullrequest_id');
      return id ? Number(id) : undefined;
    };
    // Plain: the signing key only keys an encrypted snapshot's digests.
    const signingKey = generateSigningKey().key;
    const collect = async (previous: MetadataIndex | undefined): Promise<{ index: MetadataIndex; calls: number; subjects: Array<number | undefined>; seconds: number }> => {
      emulator.clearRequests();
      const started = process.hrtime.bigint();
      const { index } = await collectMetadata({
        store, repo, collectors: [pullRequestCollector({ client, workspaceUuid: DEMO_WORKSPACE.uuid, repositoryUuid: repository.uuid, marks: noMarks })],
        previous, lfsPointers: [], encryption: null, objectLock: null, signingKey, now: () => new Date(),
      });
      const rest = emulator.requests().filter((record) => record.rest);
      return { index, calls: rest.length, subjects: rest.map((record) => subject(record.path)), seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    };

    log(`pull requests: first export of ${prs.length}`);
    const first = await collect(undefined);
    if (first.index.pullRequests?.complete !== true) throw new Error(`the first export did not complete: ${JSON.stringify(first.index.problems)}`);
    const total = first.index.pullRequests.items.length;

    log(`pull requests: changing ${changed} of them`);
    const api = `/2.0/repositories/${DEMO_WORKSPACE.slug}/${SLUG}/pullrequests`;
    const open = first.index.pullRequests.items.filter((entry) => entry.state === 'OPEN').map((entry) => entry.id);
    const changedIds = new Set<number>();
    for (let index = 0; index < changed; index++) {
      // Half get a new comment (any state), half a new title (open ones), spread over the whole history.
      const id = index % 2 === 0 ? 1 + Math.floor((index * total) / changed) : open[Math.floor((index * open.length) / changed)]!;
      changedIds.add(id);
      const answer = index % 2 === 0
        ? await call(emulator, `${api}/${id}/comments`, apiTokenAuth('admin'), { method: 'POST', body: { content: { raw: `Benchmark comment ${index}` } } })
        : await call(emulator, `${api}/${id}`, apiTokenAuth('admin'), { method: 'PUT', body: { title: `Benchmark title ${index}` } });
      if (answer.status >= 300) throw new Error(`changing pull request ${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    const incremental = await collect(first.index);
    const refetched = incremental.index.pullRequests?.items.filter((entry, at) => entry.object.key !== first.index.pullRequests?.items[at]?.object.key).length ?? 0;
    const onUnchanged = incremental.subjects.filter((id) => id !== undefined && !changedIds.has(id)).length;
    const listings = incremental.subjects.filter((id) => id === undefined).length;
    const unchanged = await collect(incremental.index);

    const perPr = (first.calls - Math.ceil(total / 50)) / total;
    const perChanged = (incremental.calls - listings) / Math.max(1, refetched);
    return [
      { measure: `first export, ${total} pull requests (${mix})`, calls: first.calls, detail: `${perPr.toFixed(2)} calls per pull request + ${Math.ceil(total / 50)} listing pages; ${first.seconds.toFixed(0)} s against the emulator; ${(first.calls / 500).toFixed(0)} h at Lifeboat's 500/h share`, target: 'info', result: 'info' },
      { measure: `incremental after ${changedIds.size} changed`, calls: incremental.calls, detail: `${refetched} re-fetched, ${perChanged.toFixed(1)} calls each + ${listings} listing`, target: `≤ ${Math.ceil(perPr + 1) * changedIds.size + 1} (in proportion)`, result: refetched === changedIds.size && incremental.calls <= Math.ceil(perPr + 1) * changedIds.size + 1 ? 'PASS' : 'FAIL' },
      { measure: 'unchanged pull request (in that incremental)', calls: onUnchanged, detail: `${total - refetched} carried forward with their objects`, target: '0', result: onUnchanged === 0 ? 'PASS' : 'FAIL' },
      { measure: 'unchanged repository (sweep)', calls: unchanged.calls, detail: 'one listing call, nothing fetched', target: '1', result: unchanged.calls === 1 ? 'PASS' : 'FAIL' },
    ];
  } finally {
    await emulator.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
