// Node module hooks (run on Node's hooks thread, registered by register.ts):
// the app's imports of the Forge platform packages resolve to the sandbox's
// stand-ins, the way the Forge runtime supplies its own platform underneath them.
import type { ResolveHook } from 'node:module';

const platformDir = new URL('./platform/', import.meta.url).href;

const substitutes: Readonly<Record<string, string>> = {
  '@forge/api': `${platformDir}api.ts`,
  '@forge/events': `${platformDir}events.ts`,
  '@forge/kvs': `${platformDir}kvs.ts`,
};

export const resolve: ResolveHook = (specifier, context, nextResolve) => {
  const substitute = substitutes[specifier];
  const parent = context.parentURL;
  // The stand-ins build on the real packages, and packages in node_modules depend on
  // each other (@forge/events requires @forge/api): those imports keep the originals.
  if (substitute && parent && !parent.startsWith(platformDir) && !parent.includes('/node_modules/')) {
    // Resolved by the next hooks (tsx) so that they also load the TypeScript file.
    return nextResolve(substitute, context);
  }
  return nextResolve(specifier, context);
};
