// Exactly the handlers that manifest.yml names.
export { handleRepositoryEvent } from './forge/triggers.js';
export { repoSettingsResolver, workspaceAdminResolver } from './forge/resolvers.js';
