// Exactly the handlers that manifest.yml names (test/manifest.test.ts checks it).
export { handleRepositoryEvent } from './forge/repository-events.js';
export { handlePullRequestEvent } from './forge/pull-request-events.js';
export { runBackup } from './app/backup/backups.js';
export { handleSchedule, runSweep } from './app/backup/sweep.js';
export { runPrune } from './app/backup/prunes.js';
export { runRestore } from './app/restore/restore-consumer.js';
export { runReindex } from './app/catalogue/reindex.js';
export { repoSettingsResolver, workspaceAdminResolver } from './forge/resolvers.js';
