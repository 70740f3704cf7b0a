// Every KVS key the app writes. Forge keys allow only [a-zA-Z0-9:._\s-#], so
// Bitbucket's braced UUIDs lose their braces here.

const bare = (uuid: string): string => uuid.replace(/^\{|\}$/g, '');

export const kvsKeys = {
  lastPush: (repositoryUuid: string): string => `repo:${bare(repositoryUuid)}:last-push`,
};
