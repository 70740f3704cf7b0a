// The age identity of an encrypted restore is deleted on every end path: the
// kernel's onEnded for the endings it sees, and the hourly trigger for jobs that
// ended without a word (Forge killed the delivery: the job stalls) or whose
// record is gone. A job still queued, waiting or running keeps it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { JobState, JobView } from '../../contract.js';
import { parseSettings } from '../../settings.js';
import { storeJob } from '../jobs/job-records.js';
import { keepIdentity } from './restore-identity.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState, now } from '../../forge/state/context.js';
import { TEST_CONTEXT, memoryApp, testSettingsInput } from '../state/testing.js';
import { handleSchedule } from '../backup/sweep.js';

const CONTEXT = TEST_CONTEXT;
const SETTINGS = parseSettings(testSettingsInput({ repositories: { mode: 'all', chosen: [], includeNew: true } }));
const IDENTITY = ['AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ'];

describe('the age identity of a restore', () => {
  it('is forgotten by the hourly trigger once its job ended, stalled or was forgotten; a live job keeps it', async () => {
    const app = memoryApp();
    const jobs: Record<string, string> = {};
    const kept = async (): Promise<string[]> => {
      const names: string[] = [];
      for (const [name, jobId] of Object.entries(jobs)) if (await appState().secrets.get(kvsKeys.restoreIdentity(jobId))) names.push(name);
      return names.sort();
    };
    await app.run(async () => {
      await appState().set(kvsKeys.settings, SETTINGS);
      const job = async (name: string, state: JobState | undefined): Promise<void> => {
        const id = randomUUID();
        jobs[name] = id;
        const at = new Date(now()).toISOString();
        if (state) await storeJob({ id, kind: 'restore', state, note: { code: 'queued' }, createdAt: at, updatedAt: at } as JobView<'restore'>);
        await keepIdentity(id, IDENTITY);
      };
      await job('done', 'done');
      await job('failed', 'failed');
      await job('forgotten', undefined);
      await job('queued', 'queued');
      await job('retrying', 'waiting-to-retry');
      await job('running', 'running');
      assert.deepEqual(await kept(), ['done', 'failed', 'forgotten', 'queued', 'retrying', 'running']);

      await handleSchedule({}, CONTEXT);
      assert.deepEqual(await kept(), ['queued', 'retrying', 'running'], 'the ended jobs\' identities are gone');
    });
    // Forge ended the running delivery at its time limit without a word: the job stalls, onEnded never ran.
    app.advance(17 * 60_000);
    await app.run(async () => {
      await handleSchedule({}, CONTEXT);
      assert.deepEqual(await kept(), ['queued', 'retrying'], 'the stalled job\'s identity is gone, well before its 24 h expiry');
      const listed = (await appState().page<{ jobId: string }>(kvsKeys.identityKeptPrefix)).entries.map((entry) => entry.value.jobId);
      assert.deepEqual(listed.sort(), [jobs.queued, jobs.retrying].sort(), 'the clean-up\'s list keeps only the live jobs');
    });
  });
});
