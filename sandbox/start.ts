/**
 * `npm start`: brings up the local world (bucket, Bitbucket emulator, Forge host
 * running the app, UI pages) on 127.0.0.1, prints where everything is, and
 * stops it all on Ctrl-C.
 *
 *   npm start                 reuse sandbox/.data (seeded on first start)
 *   npm start -- --reset      start from a fresh seed
 *   npm start -- --data DIR   keep the world somewhere else
 *   npm start -- --configured save working settings (local bucket, demo workspace
 *                             token) through the admin page's resolver, so
 *                             backups and restores can be tried at once
 *
 * LIFEBOAT_SANDBOX_PORTS=any picks free ports (tests); the default ports are fixed
 * so that bookmarked URLs keep working. LIFEBOAT_SANDBOX_OUTBOUND_TIMEOUT_S lowers
 * Forge's 180 s cap on one outbound request (the Forge host reads it);
 * LIFEBOAT_SANDBOX_GIT_BYTES_PER_S, _PUSH_MAX_BYTES, _FILE_MAX_BYTES and
 * _REPO_MAX_BYTES set Bitbucket's git limits (the emulator reads them:
 * sandbox/bitbucket/limits.ts).
 */
import { parseArgs } from 'node:util';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPages } from './ui/build.js';
import { sizeLabel, type GitLimits } from './bitbucket/index.js';
import { DEMO_WORKSPACE_TOKEN } from './demo.js';
import { defaultLimits } from './forge/index.js';
import { configureWorld, DEFAULT_PORTS, startWorld, type WorldUrls } from './world.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    reset: { type: 'boolean', default: false },
    configured: { type: 'boolean', default: false },
    data: { type: 'string', default: join(appDir, 'sandbox', '.data') },
  },
});
const dataDir = resolve(values.data);
const ports = process.env.LIFEBOAT_SANDBOX_PORTS === 'any' ? { ui: 0, bitbucket: 0, s3: 0 } : DEFAULT_PORTS;

// Page sources edited since the last build are built now (tests build once, up front, instead).
await buildPages(appDir, { log: (line) => console.log(line) });
const world = await startWorld({ appDir, dataDir, reset: values.reset, ports, log: (line) => console.log(line) });
if (values.configured) {
  await configureWorld(world);
  console.log('Configured: working settings saved as Alice, through the admin page\'s saveSettings.');
}
console.log(describe(world.urls, join(dataDir, 'world.json'), world.emulator.limits));

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log('Stopping…');
  await world.close();
  console.log('Stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

function describe(urls: WorldUrls, urlFile: string, git: GitLimits): string {
  const lines = [
    '',
    'Lifeboat local world is up.',
    '',
    'Pages (switch the signed-in user at the top of each page):',
    `  workspace admin     ${urls.pages.workspaceAdmin}`,
    ...Object.entries(urls.pages.repositorySettings).map(([slug, url]) => `  ${`${slug} settings`.padEnd(19)} ${url}`),
    `  all pages           ${urls.pages.home}`,
    '',
    `Bitbucket emulator   ${urls.bitbucket.api}`,
    ...Object.entries(urls.bitbucket.git).map(([slug, url]) => `  git ${slug.padEnd(15)} ${url}`),
    '  git credentials (user name / password):',
    ...urls.bitbucket.gitCredentials.map((credential) => `    ${credential.who.padEnd(32)} ${credential.username} / ${credential.password}`),
    '',
    `Bucket (s3rver)      ${urls.bucket.endpoint}  bucket ${urls.bucket.bucket}, keys ${urls.bucket.accessKeyId} / ${urls.bucket.secretAccessKey}`,
    '',
    'Limits (LIFEBOAT_SANDBOX_* variables change them; README):',
    `  Forge: outbound request ${defaultLimits().outboundRequestSeconds} s`,
    `  Bitbucket: push ${sizeLabel(git.pushMaxBytes)}, file ${sizeLabel(git.fileMaxBytes)}, repository ${sizeLabel(git.repositoryMaxBytes)}, git ${Number.isFinite(git.bytesPerSecond) ? `${sizeLabel(git.bytesPerSecond)}/s` : 'unlimited'}`,
    '',
    'First-run set-up on the workspace admin page (as Alice), with this world\'s values:',
    '  Provider "MinIO or another S3-compatible endpoint" (path style, region us-east-1)',
    `  Endpoint ${urls.bucket.endpoint}   Bucket name ${urls.bucket.bucket}   Access key ID ${urls.bucket.accessKeyId}   Secret access key ${urls.bucket.secretAccessKey}`,
    `  Credential "Workspace access token": ${DEMO_WORKSPACE_TOKEN.token}`,
    '  (or start with `npm start -- --configured` to have this saved for you)',
    '',
    `These URLs are also in ${urlFile}. Ctrl-C stops everything.`,
    '',
  ];
  return lines.join('\n');
}
