/**
 * Forge product events as Bitbucket sends them to an app's triggers, and their
 * delivery: asynchronous, after a settable delay, and possibly more than once
 * (Forge promises neither promptness nor exactly-once delivery; the events
 * reference says delivery "can be significantly delayed").
 *
 * Shapes: the example payloads of Atlassian's Forge "Bitbucket events"
 * reference, kept in shared/data/forge-events/ (one file per event, named in
 * each comment below) with the facts of its README. Tests hold the emulator's
 * events to those files key by key (sandbox/bitbucket/events.test.ts).
 */
import type { User, Uuid } from './model.js';

/** `Actor` of the reference's type listing: every example's `actor`. */
export interface ForgeEventActor {
  type: 'user';
  accountId: string;
  uuid: Uuid;
}

export function eventActor(user: User): ForgeEventActor {
  return { type: 'user', accountId: user.accountId, uuid: user.uuid };
}

/** `BitbucketResource` of the reference's type listing. */
export interface ForgeEventResource {
  uuid: Uuid;
}

/**
 * The event's repository: some examples add its `slug` (repository-created.json,
 * push-*.json, pullrequest-created.json…), others do not (repository-deleted.json,
 * pullrequest-comment-deleted.json…); each builder follows its event's example.
 */
export interface ForgeEventRepository extends ForgeEventResource {
  slug?: string;
}

interface ForgeEventBase {
  eventType: string;
  actor: ForgeEventActor;
  workspace: ForgeEventResource;
  repository: ForgeEventRepository;
  project: ForgeEventResource;
  timestamp: string;
  /** "Every event may carry `selfGenerated: boolean`" (README): the app's own asApp call raised it. */
  selfGenerated: boolean;
}

/** Commit and tag messages and pull request titles (README; push-branch.json, pullrequest-created.json). */
export interface TruncatedText {
  value: string;
  truncated: boolean;
}

/** A repository created or deleted: repository-created.json (with `slug`), repository-deleted.json (without). */
export interface RepositoryLifecycleEvent extends ForgeEventBase {
  eventType: 'avi:bitbucket:created:repository' | 'avi:bitbucket:deleted:repository';
}

/** What a repository update changed, each `{ old, new }` (repository-updated.json shows `description`). */
export type RepositoryChanges = Record<string, { old: TruncatedText; new: TruncatedText }>;

/** repository-updated.json: no `slug`, and `changes`. */
export interface RepositoryUpdatedEvent extends ForgeEventBase {
  eventType: 'avi:bitbucket:updated:repository';
  changes: RepositoryChanges;
}

/**
 * The author of a pushed commit or annotated tag: the Bitbucket account
 * (push-branch.json `commits[].author`, push-annotated-tag.json `author`).
 * Not documented: assumed that Bitbucket names an account only when the git
 * author's email belongs to one, and leaves `user` out otherwise.
 */
export interface PushAuthor {
  user?: ForgeEventActor;
}

/** push-branch.json `commits[]`. */
export interface PushCommit {
  hash: string;
  message: TruncatedText;
  date: string;
  author: PushAuthor;
}

/** What both kinds of push carry (README): the short name, and `before`/`after` only where the ref had or has one. */
interface PushCommon {
  /** The short name (`main`, `v1.0`): a string, with no ref type (README). */
  ref: string;
  before?: string;
  after?: string;
  created: boolean;
  closed: boolean;
  forced: boolean;
}

/** A branch push (`CommitPush`, push-branch.json). */
export interface CommitPush extends PushCommon {
  /** Not documented beyond the example (`true` for `main`): assumed to say whether the branch is the repository's main branch. */
  mainbranch: boolean;
  /** More commits were pushed than `commits` lists. */
  truncated: boolean;
  /** The newest commits the push brought to this branch, newest first (at most 5: not documented for Forge, assumed as for Bitbucket's webhooks). */
  commits: PushCommit[];
}

/**
 * A tag push (`TagPush`, push-annotated-tag.json): an annotated tag adds its
 * `date`, `message` and `author`; a lightweight tag, or a deleted one, has no
 * tag object to take them from.
 */
export interface TagPush extends PushCommon {
  date?: string;
  message?: TruncatedText;
  author?: PushAuthor;
}

/** One per changed branch or tag (push-branch.json, push-annotated-tag.json). */
export interface PushEvent extends ForgeEventBase {
  eventType: 'avi:bitbucket:push:repository';
  push: CommitPush | TagPush;
}

export type PullRequestEventType =
  | 'avi:bitbucket:created:pullrequest'
  | 'avi:bitbucket:updated:pullrequest'
  | 'avi:bitbucket:fulfilled:pullrequest'
  | 'avi:bitbucket:rejected:pullrequest'
  | 'avi:bitbucket:created:pullrequest-comment'
  | 'avi:bitbucket:updated:pullrequest-comment'
  | 'avi:bitbucket:deleted:pullrequest-comment'
  | 'avi:bitbucket:resolved:pullrequest-comment'
  | 'avi:bitbucket:reopened:pullrequest-comment'
  | 'avi:bitbucket:updated:pullrequest-reviewer-status';

/** A pull request's side: the branch name and a short commit hash (every pull request example). */
export interface PullRequestEndpoint {
  branch: string;
  commit: { hash: string };
}

/** The pull request of pullrequest-comment-{updated,deleted,resolved,reopened}.json. */
export interface PullRequestSummary {
  id: number;
  state: string;
  source: PullRequestEndpoint;
  destination: PullRequestEndpoint;
}

/** The pull request of pullrequest-{created,updated,fulfilled,rejected}.json and pullrequest-comment-created.json. */
export interface PullRequestDetails extends PullRequestSummary {
  updatedOn: string;
  createdOn: string;
  title: TruncatedText;
  author: ForgeEventActor & { displayName: string };
  commentCount: number;
  taskCount: number;
  /** Merged pull requests only (pullrequest-fulfilled.json). */
  mergeCommit?: { hash: string };
}

/** A reviewer's status (README: `reviewers { value: [{ user, status, timestamp }], truncated }`). */
export interface ReviewerStatus {
  user: ForgeEventActor;
  status: string;
  timestamp: string;
}

/** Pull request events, for the resource modules: the pull request (and comment) by id. */
export interface PullRequestEvent extends ForgeEventBase {
  eventType: PullRequestEventType;
  pullrequest: PullRequestSummary | PullRequestDetails;
  /** Comment events (pullrequest-comment-*.json). */
  comment?: { id: number };
  /** pullrequest-comment-updated.json: `{ content: {} }`, as its example shows it. */
  changes?: { content: Record<string, never> };
  /** The reviewer-status event (README). Not documented: assumed beside `pullrequest`. */
  reviewers?: { value: ReviewerStatus[]; truncated: boolean };
}

export type ForgeProductEvent = RepositoryLifecycleEvent | RepositoryUpdatedEvent | PushEvent | PullRequestEvent;

export type EventListener = (event: ForgeProductEvent) => void | Promise<void>;

export interface EventDeliverySettings {
  /** Milliseconds between the change and the delivery. */
  delayMs: number;
  /** Extra deliveries of each event (0: exactly once). */
  duplicate: number;
}

export class EventBus {
  readonly settings: EventDeliverySettings = { delayMs: 0, duplicate: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly listener: EventListener | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** Schedules delivery and returns at once: a slow listener never holds up the request that caused the event. */
  emit(event: ForgeProductEvent): void {
    if (!this.listener || this.closed) return;
    const listener = this.listener;
    const copies = 1 + Math.max(0, Math.floor(this.settings.duplicate));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const delivery = (async () => {
        for (let copy = 0; copy < copies && !this.closed; copy++) {
          try {
            await listener(structuredClone(event));
          } catch (error) {
            this.log(`[bitbucket] event listener failed on ${event.eventType}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
          }
        }
      })();
      this.inFlight.add(delivery);
      void delivery.finally(() => this.inFlight.delete(delivery));
    }, Math.max(0, this.settings.delayMs));
    this.timers.add(timer);
  }

  /** Resolves when every event emitted so far has been delivered. */
  async idle(): Promise<void> {
    while (this.timers.size > 0 || this.inFlight.size > 0) {
      if (this.inFlight.size > 0) await Promise.all(this.inFlight);
      else await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Drops deliveries not yet started; ones under way finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.inFlight);
  }
}
