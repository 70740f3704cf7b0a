// Process-wide setup for the sandbox Forge host, done once on first import and
// as early as possible: importing index.ts does it.
// - The ESM seam (loader.ts): the app's @forge/kvs, @forge/events and @forge/api
//   resolve to platform/*.ts. Needs tsx registered first (`node --import tsx`).
// - The egress guard: patched before any other code can keep a reference to the
//   unpatched http/https functions (the AWS SDK, for one, keeps http.request).
import { register } from 'node:module';
import { installEgressGuard } from './egress.js';

register('./loader.ts', import.meta.url);
installEgressGuard();

// The real @forge/* packages reach the platform through this global. They run only
// when something loads them past the seam (require(), or a package in node_modules
// importing them): say so instead of failing with "not a function".
Object.defineProperty(globalThis, '__forge_fetch__', {
  configurable: true,
  value: () => {
    throw new Error('A real @forge/* package made a platform call: the sandbox substitutes @forge/api, @forge/events and @forge/kvs only for ESM imports in app code (not require() or packages in node_modules).');
  },
});
