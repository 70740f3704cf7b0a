// The app's queues: one per kind of work, each with its own consumer in
// manifest.yml (made by jobs.ts `defineConsumer`, its body schema beside it).
// Bodies are small JSON (Forge: ≤100 KB per event for long-running consumers).
import { Queue } from '@forge/events';

export const QUEUES = {
  backup: 'lifeboat-backup',
  restore: 'lifeboat-restore',
  sweep: 'lifeboat-sweep',
  prune: 'lifeboat-prune',
  index: 'lifeboat-index',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Forge accepts at most 50 events per push. */
const PUSH_LIMIT = 50;

export async function enqueue<T extends object>(queue: QueueName, bodies: T[], delayInSeconds = 0): Promise<void> {
  const target = new Queue({ key: queue });
  for (let start = 0; start < bodies.length; start += PUSH_LIMIT) {
    await target.push(bodies.slice(start, start + PUSH_LIMIT).map((body) => ({ body: body as Record<string, unknown> & T, delayInSeconds })));
  }
}
