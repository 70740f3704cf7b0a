import { startGitServer } from '/work/main/test/helpers/git-server.ts';
const server = await startGitServer({ root: '/tmp/perf/big/srv', receivePack: true });
console.log(server.baseUrl);
await new Promise(r => setTimeout(r, 120000));
