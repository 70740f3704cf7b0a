// Bitbucket product events as Forge delivers them, parsed at the edge: Forge
// documents the shapes but may add fields, so unknown fields are ignored.
import { z } from 'zod';

const resource = z.object({ uuid: z.string() });

const common = {
  workspace: resource,
  repository: resource,
  actor: z.object({ accountId: z.string().optional(), uuid: z.string().optional() }).optional(),
  /** When Bitbucket raised the event: the same on every redelivery. */
  timestamp: z.string().optional(),
};

export const repositoryPushEvent = z.object({
  eventType: z.literal('avi:bitbucket:push:repository'),
  ...common,
  push: z.object({
    ref: z.object({ name: z.string(), type: z.string().optional() }),
    before: z.string().optional(),
    after: z.string().optional(),
    created: z.boolean().optional(),
    closed: z.boolean().optional(),
    forced: z.boolean().optional(),
  }),
});

export const repositoryLifecycleEvent = z.object({
  eventType: z.enum(['avi:bitbucket:created:repository', 'avi:bitbucket:deleted:repository']),
  ...common,
});

export const repositoryEvent = z.discriminatedUnion('eventType', [repositoryPushEvent, repositoryLifecycleEvent]);

export type RepositoryPushEvent = z.infer<typeof repositoryPushEvent>;
export type RepositoryLifecycleEvent = z.infer<typeof repositoryLifecycleEvent>;
export type RepositoryEvent = z.infer<typeof repositoryEvent>;
