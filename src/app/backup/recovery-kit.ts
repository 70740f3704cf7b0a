// The recovery kit in the workspace's bucket (src/engine/bucket/recovery-kit.ts): the command
// line the app carries, written under recovery/ when the bucket does not hold this very build.
import { gunzipSync } from 'node:zlib';
import { refreshRecoveryKit } from '../../engine/bucket/recovery-kit.js';
import { RECOVERY_BUNDLE } from '../../generated/recovery-bundle.js';
import { openWorkspaceBucket } from '../../forge/bucket.js';
import { storageSettingOf } from '../../settings.js';
import { requireConfiguration } from '../settings/settings-store.js';

/** Once per sweep: one small read when the kit is current, the file (about 2.5 MB) written when not. */
export async function keepRecoveryKit(): Promise<'current' | 'written'> {
  const { settings, secrets } = await requireConfiguration();
  const store = openWorkspaceBucket(settings, secrets.bucketSecretAccessKey);
  const { version, sha256, gzipBase64 } = RECOVERY_BUNDLE;
  return refreshRecoveryKit(store, { version, sha256, bytes: () => gunzipSync(Buffer.from(gzipBase64, 'base64')) }, {
    objectLock: storageSettingOf(settings).objectLock,
    ...(settings.bucket.endpoint ? { endpoint: settings.bucket.endpoint } : {}),
  });
}
