// Exactly the handlers that manifest.yml names (test/manifest.test.ts checks it).
export { handleRepositoryEvent, runBackup } from './forge/backups.js';
export { handleSchedule, runSweep, runPrune } from './forge/sweep.js';
export { runRestore } from './forge/restores.js';
export { repoSettingsResolver, workspaceAdminResolver } from './forge/resolvers.js';
