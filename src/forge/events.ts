// Bitbucket product events as Forge delivers them, parsed at the edge. The
// shapes are those of Atlassian's Forge "Bitbucket events" reference (its
// example payloads and their README: shared/data/forge-events/, which
// events.test.ts parses with these schemas). Forge may add fields, so unknown
// fields are ignored; fields the app does not need may be missing without
// losing the event, but any that is present must have its documented type.
import { z } from 'zod';

const resource = z.object({ uuid: z.string() });
/** `Actor` of the reference: the user who caused the event (or who authored a pushed commit or tag). */
const actor = z.object({ type: z.string().optional(), accountId: z.string().optional(), uuid: z.string().optional() });
/** Commit and tag messages and pull request titles are `{ value, truncated }` (README). */
const truncatedText = z.object({ value: z.string(), truncated: z.boolean() });

const common = {
  workspace: resource,
  repository: resource.extend({ slug: z.string().optional() }),
  project: resource.optional(),
  actor: actor.optional(),
  /** When Bitbucket raised the event: the same on every redelivery. */
  timestamp: z.string().optional(),
  /** The app's own action raised it (README: every event may carry it). */
  selfGenerated: z.boolean().optional(),
};

const pushAuthor = z.object({ user: actor.optional() });

/**
 * One changed branch or tag. `ref` is its short name (`main`, `v1.0`) and says
 * nothing of its kind: a branch and a tag of the same name cannot be told apart
 * from the payload (README), so the app compares with the refs it knows
 * (destructive-events.ts). A branch push (`CommitPush`) adds `mainbranch`,
 * `truncated` and `commits`; an annotated tag push (`TagPush`) adds `date`,
 * `message` and `author`; `before` is absent for a created ref, `after` for a
 * deleted one.
 */
const push = z.object({
  ref: z.string().min(1),
  before: z.string().optional(),
  after: z.string().optional(),
  created: z.boolean(),
  closed: z.boolean(),
  forced: z.boolean(),
  mainbranch: z.boolean().optional(),
  truncated: z.boolean().optional(),
  commits: z.array(z.object({ hash: z.string(), message: truncatedText, date: z.string(), author: pushAuthor })).optional(),
  date: z.string().optional(),
  message: truncatedText.optional(),
  author: pushAuthor.optional(),
});

export const repositoryPushEvent = z.object({
  eventType: z.literal('avi:bitbucket:push:repository'),
  ...common,
  push,
});

export const repositoryLifecycleEvent = z.object({
  eventType: z.enum(['avi:bitbucket:created:repository', 'avi:bitbucket:deleted:repository']),
  ...common,
});

/** What the repository-events trigger (manifest.yml) receives. */
export const repositoryEvent = z.discriminatedUnion('eventType', [repositoryPushEvent, repositoryLifecycleEvent]);

const pullRequestEndpoint = z.object({ branch: z.string(), commit: z.object({ hash: z.string() }) });

/**
 * What the pull-request-events trigger (manifest.yml) receives. Comment edits
 * within 10 minutes of the last raise no event (README): an export cannot rely
 * on these alone.
 */
export const pullRequestEvent = z.object({
  eventType: z.enum([
    'avi:bitbucket:created:pullrequest',
    'avi:bitbucket:updated:pullrequest',
    'avi:bitbucket:fulfilled:pullrequest',
    'avi:bitbucket:rejected:pullrequest',
    'avi:bitbucket:created:pullrequest-comment',
    'avi:bitbucket:updated:pullrequest-comment',
    'avi:bitbucket:deleted:pullrequest-comment',
    'avi:bitbucket:resolved:pullrequest-comment',
    'avi:bitbucket:reopened:pullrequest-comment',
  ]),
  ...common,
  pullrequest: z.object({
    id: z.number().int().positive(),
    state: z.string().optional(),
    source: pullRequestEndpoint.optional(),
    destination: pullRequestEndpoint.optional(),
    title: truncatedText.optional(),
    createdOn: z.string().optional(),
    updatedOn: z.string().optional(),
  }),
  comment: z.object({ id: z.number() }).optional(),
});

export type RepositoryPushEvent = z.infer<typeof repositoryPushEvent>;
export type RepositoryLifecycleEvent = z.infer<typeof repositoryLifecycleEvent>;
export type RepositoryEvent = z.infer<typeof repositoryEvent>;
export type PullRequestEvent = z.infer<typeof pullRequestEvent>;
