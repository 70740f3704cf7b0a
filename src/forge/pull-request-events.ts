// Pull requests in every snapshot (src/bitbucket/pull-request-collector.ts reads them).
// The pull-request-events trigger (manifest.yml `pull-request-events`) marks a
// pull request as changed — one KVS key per pull request, so that concurrent
// events never overwrite each other — and the next backup fetches it, whether
// or not its updated_on moved (an edited or deleted comment leaves it). The
// trigger queues no backup: the next push or sweep picks the marks up.
import { entriesByPrefix } from '../app/state/app-state.js';
import { type ChangeMark, type PullRequestMarks, pullRequestCollector } from '../bitbucket/pull-request-collector.js';
import type { MetadataCollector } from '../engine/metadata.js';
import { appBitbucket } from './bitbucket.js';
import { pullRequestEvent } from './events.js';
import { kvsKeys } from '../app/state/state-keys.js';
import { retryPlan } from './jobs.js';
import { withRestBudget } from '../app/backup/rest-budget.js';
import { LifeboatError, type ErrorCode } from '../engine/errors.js';
import { appState } from './state/context.js';

/** A continuation stopped by the run's deadline goes on after this. */
const CONTINUE_AFTER_SECONDS = 60;

export async function handlePullRequestEvent(event: unknown): Promise<void> {
  const parsed = pullRequestEvent.safeParse(event);
  if (!parsed.success) {
    console.warn('lifeboat: ignoring an unexpected pull request event', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    return;
  }
  const { repository, pullrequest } = parsed.data;
  // A redelivery moves the mark later: the pull request is fetched once more, never missed.
  await appState().set(kvsKeys.pullRequestMark(repository.uuid, pullrequest.id), { id: pullrequest.id, at: new Date().toISOString() } satisfies ChangeMark);
}

/** The marks of one repository in KVS. */
export function pullRequestMarks(repositoryUuid: string): PullRequestMarks {
  return {
    async pending(coveredThrough) {
      const marks: ChangeMark[] = [];
      const covered: string[] = [];
      for await (const { key, value } of entriesByPrefix<ChangeMark>(appState(), kvsKeys.pullRequestMarkPrefix(repositoryUuid))) {
        // Covered by the committed snapshot this backup follows: fetched then, or carried as outstanding.
        if (coveredThrough !== undefined && value.at <= coveredThrough) covered.push(key);
        else marks.push(value);
      }
      for (const key of covered) await appState().delete(key);
      return marks;
    },
  };
}

/**
 * The pull request collector of one backup: every read as the app (each
 * endpoint it calls accepts `forge-oauth2`), metered against the workspace's
 * budget. An export that stopped short after storing something asks for a
 * backup to go on (`retryAfterSeconds`, which the backup queues) — soon after a
 * deadline, when the budget should allow again after a rate limit (retryPlan,
 * as for a failed job); one that stored nothing is left to the next push or
 * sweep, so that a spent budget is not polled.
 */
export function pullRequestsOf(workspaceUuid: string, repositoryUuid: string): MetadataCollector & { retryAfterSeconds?: number } {
  const collector: MetadataCollector & { retryAfterSeconds?: number } = {
    section: 'pullRequests',
    async collect(context) {
      const { result, refusal } = await withRestBudget(async (meter) => {
        const inner = pullRequestCollector({ client: appBitbucket(meter), workspaceUuid, repositoryUuid, marks: pullRequestMarks(repositoryUuid) });
        return { result: await inner.collect(context), refusal: meter.refusal };
      });
      const section = result.pullRequests;
      if (section && !section.complete) {
        const before = new Map((context.previous?.pullRequests?.items ?? []).map((entry) => [entry.id, entry.object.key]));
        const progressed = section.items.some((entry) => before.get(entry.id) !== entry.object.key);
        // What stopped the export names no subject (a problem of one pull request does).
        const problem = result.problems?.find((candidate) => candidate.section === 'pullRequests' && candidate.subject === undefined);
        const stoppedBy = refusal ?? (problem ? new LifeboatError(problem.code as ErrorCode, problem.message) : undefined);
        const plan = stoppedBy ? retryPlan(stoppedBy, 0) : { afterSeconds: CONTINUE_AFTER_SECONDS };
        if (plan && progressed) collector.retryAfterSeconds = plan.afterSeconds;
      }
      return result;
    },
  };
  return collector;
}
