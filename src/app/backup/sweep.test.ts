// The hourly trigger decides whether a sweep is due, and the page says when the
// next one is, by the app's clock: the one its jobs and leases are aged by.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSettings } from '../../settings.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState, now } from '../../forge/state/context.js';
import { QUEUES } from '../../forge/queues.js';
import { TEST_CONTEXT, memoryApp, testSettingsInput } from '../state/testing.js';
import { handleSchedule, nextSweepAt } from './sweep.js';

const CONTEXT = TEST_CONTEXT;
const SETTINGS = parseSettings(testSettingsInput());
const HOUR = 3_600_000;

describe('the sweep\'s schedule', () => {
  it('starts a sweep when the interval has passed on the app\'s clock, and says when the next is due', async () => {
    const app = memoryApp();
    const sweeps = (): number => app.pushed.filter((event) => event.queue === QUEUES.sweep).length;
    await app.run(async () => {
      await appState().set(kvsKeys.settings, SETTINGS);
      await handleSchedule({}, CONTEXT);
      await handleSchedule({}, CONTEXT);
      assert.equal(sweeps(), 1, 'one sweep within the hour');
      const last = Date.parse((await appState().get<string>(kvsKeys.lastSweep))!);
      assert.equal(await nextSweepAt(SETTINGS), new Date(last + HOUR).toISOString());
    });
    // Three hours on the app's clock (the wall clock has not moved): a sweep is due, and overdue until it runs.
    app.advance(3 * HOUR);
    await app.run(async () => {
      const since = now();
      const next = Date.parse((await nextSweepAt(SETTINGS))!);
      assert.ok(next >= since && next <= now(), `next sweep ${new Date(next).toISOString()}, the app's clock ${new Date(since).toISOString()}`);
      await handleSchedule({}, CONTEXT);
      assert.equal(sweeps(), 2, 'the interval has passed');
    });
  });
});
