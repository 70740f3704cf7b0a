// Storage providers a person picks from: each fills what that provider's S3 API
// needs (endpoint pattern, region, addressing), so nobody has to look it up.
export type Addressing = 'virtual-hosted' | 'path';

export interface StoragePreset {
  id: string;
  label: string;
  /** Empty for AWS S3 itself; `{region}` / `{account}` mark what the person fills in. */
  endpoint: string;
  region: string;
  addressing: Addressing;
  /** Where the values come from, in a sentence. */
  hint: string;
}

export const PRESETS: readonly StoragePreset[] = [
  { id: 'aws', label: 'AWS S3', endpoint: '', region: 'eu-west-1', addressing: 'virtual-hosted', hint: 'Leave the endpoint empty; the region is the one the bucket was created in (e.g. eu-west-1, us-east-1).' },
  { id: 'r2', label: 'Cloudflare R2', endpoint: 'https://{account}.r2.cloudflarestorage.com', region: 'auto', addressing: 'path', hint: 'Replace {account} with your Cloudflare account ID (R2 → Overview). The region is always auto.' },
  { id: 'b2', label: 'Backblaze B2', endpoint: 'https://s3.{region}.backblazeb2.com', region: 'us-west-004', addressing: 'virtual-hosted', hint: 'The endpoint is shown on the bucket\'s page in B2 (e.g. s3.us-west-004.backblazeb2.com); its middle part is the region. Use an application key as the access key.' },
  { id: 'wasabi', label: 'Wasabi', endpoint: 'https://s3.{region}.wasabisys.com', region: 'us-east-1', addressing: 'virtual-hosted', hint: 'Replace {region} with the bucket\'s region (e.g. eu-central-1).' },
  { id: 'gcs', label: 'Google Cloud Storage', endpoint: 'https://storage.googleapis.com', region: 'auto', addressing: 'path', hint: 'Use an HMAC key of a service account (Cloud Storage → Settings → Interoperability) as the access key and secret.' },
  { id: 'other', label: 'MinIO or another S3-compatible endpoint', endpoint: 'https://', region: 'us-east-1', addressing: 'path', hint: 'The server\'s https:// URL with no path; MinIO and most self-hosted servers use path-style addressing.' },
];

export function presetOf(endpoint: string): StoragePreset | undefined {
  if (endpoint === '') return PRESETS[0];
  return PRESETS.find((preset) => preset.endpoint !== '' && preset.endpoint !== 'https://' && new RegExp(`^${preset.endpoint.replace(/[.]/g, '\\.').replace(/\{[a-z]+\}/g, '[^/]+')}/?$`).test(endpoint))
    ?? PRESETS.find((preset) => preset.id === 'other');
}
