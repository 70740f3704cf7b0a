// Bitbucket product events as Forge delivers them, parsed at the edge: Forge
// documents the shapes but may add fields, so unknown fields pass through.
import { z } from 'zod';

const resource = z.object({ uuid: z.string() });

export const repositoryPushEvent = z.object({
  eventType: z.literal('avi:bitbucket:push:repository'),
  workspace: resource,
  repository: resource,
  actor: z.object({ accountId: z.string().optional(), uuid: z.string().optional() }).optional(),
  push: z.object({
    ref: z.object({ name: z.string(), type: z.string().optional() }),
    before: z.string().optional(),
    after: z.string().optional(),
    created: z.boolean().optional(),
    closed: z.boolean().optional(),
    forced: z.boolean().optional(),
  }),
});

export type RepositoryPushEvent = z.infer<typeof repositoryPushEvent>;
