// An API token's expiry is checked at saving, and shown, by the app's clock: the
// one its jobs and leases are aged by.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSettings, type WorkspaceSettingsInput } from '../../settings.js';
import { kvsKeys } from '../state/state-keys.js';
import { appState, now } from '../../forge/state/context.js';
import { TEST_WORKSPACE, memoryApp, testSettingsInput } from '../state/testing.js';
import { saveSettings, settingsView } from './settings-changes.js';

const WORKSPACE = TEST_WORKSPACE;
const DAY = 86_400_000;
const withExpiry = (expiresOn: string): WorkspaceSettingsInput => testSettingsInput({ schedule: { interval: 'day' }, bitbucket: { credential: 'api-token', email: 'admin@example.com', expiresOn } });

describe('an API token\'s expiry, by the app\'s clock', () => {
  it('is checked at saving and shown counted from the app\'s day, not the wall clock\'s', async () => {
    const app = memoryApp();
    // 400 days on: a date five days ahead of the app's clock is more than a year ahead of the wall clock.
    app.advance(400 * DAY);
    await app.run(async () => {
      const inFiveDays = new Date(now() + 5 * DAY).toISOString().slice(0, 10);
      await appState().set(kvsKeys.settings, parseSettings(withExpiry(inFiveDays), new Date(now())));
      assert.deepEqual((await settingsView()).bitbucketExpiry, { expiresOn: inFiveDays, daysLeft: 5, state: 'expiring' });
      const saved = await saveSettings({ accountId: 'admin', workspaceUuid: WORKSPACE }, { settings: withExpiry(inFiveDays), saveAnyway: true });
      assert.equal(saved.settings?.bitbucket.expiresOn, inFiveDays);
      const aYearAgo = new Date(now() - 365 * DAY).toISOString().slice(0, 10);
      await assert.rejects(saveSettings({ accountId: 'admin', workspaceUuid: WORKSPACE }, { settings: withExpiry(aYearAgo), saveAnyway: true }), /bitbucket\.expiresOn is in the past/);
    });
  });
});
