/** The GitClient over smart HTTP: the modules beside this one, tied together. */
import { discover, type Advertisement } from './discovery.js';
import { fetchPack, shallowBoundary } from './fetch.js';
import { GitHttp } from './http.js';
import { lsRefs } from './ls-refs.js';
import { listPushRefs, push } from './push.js';
import type { GitClient, GitClientOptions } from './types.js';

export function createGitClient(options: GitClientOptions): GitClient {
  const http = new GitHttp(options);
  const tryV2 = (options.protocolVersion ?? 2) === 2;
  // upload-pack's discovery: asks for v2 and learns what the server speaks; done once per client.
  let probe: Promise<Advertisement> | undefined;
  const uploadPack = (): Promise<Advertisement> => {
    probe ??= discover(http, 'git-upload-pack', tryV2).catch((error: unknown) => {
      probe = undefined;
      throw error;
    });
    return probe;
  };

  return {
    url: http.url,
    async listRefs() {
      const fresh = probe === undefined;
      const advertisement = await uploadPack();
      if (advertisement.protocol === 2) return lsRefs(http, advertisement.capabilities);
      // v0 lists refs in the advertisement itself: the probe's is current only if it was just made.
      return fresh ? advertisement : discover(http, 'git-upload-pack', tryV2);
    },
    async fetchPack(fetchOptions) {
      return fetchPack(http, await uploadPack(), fetchOptions);
    },
    async shallowBoundary(boundaryOptions) {
      return shallowBoundary(http, await uploadPack(), boundaryOptions);
    },
    listPushRefs: () => listPushRefs(http),
    push: (pushOptions) => push(http, pushOptions),
  };
}
