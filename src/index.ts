// Exactly the handlers that manifest.yml names (test/manifest.test.ts checks it).
export { handleRepositoryEvent } from './forge/repository-events.js';
export { handlePullRequestEvent } from './forge/pull-request-events.js';
export { runBackup } from './forge/backups.js';
export { handleSchedule, runSweep } from './forge/sweep.js';
export { runPrune } from './forge/prunes.js';
export { runRestore } from './forge/restore-consumer.js';
export { runReindex } from './forge/reindex.js';
export { repoSettingsResolver, workspaceAdminResolver } from './forge/resolvers.js';
