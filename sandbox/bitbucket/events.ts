/**
 * Forge product events as Bitbucket sends them to an app's triggers, and their
 * delivery: asynchronous, after a settable delay, and possibly more than once
 * (Forge promises neither promptness nor exactly-once delivery).
 * Payloads name things by UUID, as Forge's event reference documents.
 */
import type { Uuid } from './model.js';

export interface ForgeEventActor {
  type: 'user';
  accountId: string;
  uuid: Uuid;
}

export interface ForgeEventResource {
  uuid: Uuid;
}

interface ForgeEventBase {
  eventType: string;
  actor: ForgeEventActor;
  workspace: ForgeEventResource;
  repository: ForgeEventResource;
  project: ForgeEventResource;
  timestamp: string;
  /** The event was caused by the app itself (its asApp calls). */
  selfGenerated: boolean;
}

export interface RepositoryLifecycleEvent extends ForgeEventBase {
  eventType: 'avi:bitbucket:created:repository' | 'avi:bitbucket:updated:repository' | 'avi:bitbucket:deleted:repository';
}

export interface PushCommit {
  hash: string;
  type: 'commit';
  message: string;
  date: string;
  author: { type: 'author'; raw: string };
}

export interface PushChange {
  /** Short name (main, v1.0) and kind of the ref. */
  ref: { name: string; type: 'branch' | 'tag' };
  /** The ref's object id before the push; absent when it was created. */
  before?: string;
  /** The ref's object id after the push; absent when it was deleted. */
  after?: string;
  created: boolean;
  closed: boolean;
  /** The old tip is not an ancestor of the new one. */
  forced: boolean;
  /** More commits were pushed than `commits` lists. */
  truncated: boolean;
  /** The newest commits the push brought to this ref, newest first, at most 5. */
  commits: PushCommit[];
}

/** One per changed branch or tag. */
export interface PushEvent extends ForgeEventBase {
  eventType: 'avi:bitbucket:push:repository';
  push: PushChange;
}

export type PullRequestEventType =
  | 'avi:bitbucket:created:pullrequest'
  | 'avi:bitbucket:updated:pullrequest'
  | 'avi:bitbucket:fulfilled:pullrequest'
  | 'avi:bitbucket:rejected:pullrequest'
  | 'avi:bitbucket:created:pullrequest-comment'
  | 'avi:bitbucket:updated:pullrequest-comment'
  | 'avi:bitbucket:deleted:pullrequest-comment'
  | 'avi:bitbucket:updated:pullrequest-reviewer-status';

/** Pull request events, for the resource modules: the pull request (and comment) by id. */
export interface PullRequestEvent extends ForgeEventBase {
  eventType: PullRequestEventType;
  pullrequest: { id: number } & Record<string, unknown>;
  comment?: { id: number } & Record<string, unknown>;
}

export type ForgeProductEvent = RepositoryLifecycleEvent | PushEvent | PullRequestEvent;

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
