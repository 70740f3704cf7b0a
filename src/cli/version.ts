/**
 * The command line's version, as `lifeboat --version` prints it: package.json's
 * (test/cli-help.test.ts holds them equal). A constant, because the one-file recovery
 * build runs with no package.json beside it, and Node 20 warns on importing JSON.
 */
export const VERSION = '0.1.0';
