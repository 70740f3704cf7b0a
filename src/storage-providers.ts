// The S3-compatible storage providers Lifeboat knows: what the admin page's
// provider choice fills in (endpoint pattern, region, addressing), and the
// egress manifest.yml declares for each (test/manifest.test.ts checks that the
// manifest holds every entry and that each documented host passes Forge's own
// matcher). Any other endpoint is reached only through customer-managed egress,
// which Atlassian documents as early access ("experimental … not recommended for
// production", March 2026).
//
// Forge egress (forge-platform reference, "Egress"): https only; `*.` only as a
// prefix, where it matches subdomains of any depth but never the parent itself.
export type Addressing = 'virtual-hosted' | 'path';

export interface StorageProvider {
  id: string;
  label: string;
  /** Empty for AWS S3 itself; `{region}` / `{account}` mark what the person fills in. */
  endpoint: string;
  region: string;
  addressing: Addressing;
  /** Where the values come from, in a sentence. */
  hint: string;
  /** manifest.yml's `permissions.external.fetch.backend` addresses that cover it. */
  egress: readonly string[];
  /** Hosts the provider documents for its S3 API (path and virtual-hosted style): the egress must cover each. */
  documented: readonly string[];
}

export const STORAGE_PROVIDERS: readonly StorageProvider[] = [
  {
    // AWS, "Amazon S3 endpoints and quotas" (regional s3.<region>.amazonaws.com, bucket.s3.<region>…) and
    // "Using Amazon S3 dual-stack endpoints" (s3.dualstack.<region>.amazonaws.com).
    id: 'aws', label: 'AWS S3', endpoint: '', region: 'eu-west-1', addressing: 'virtual-hosted',
    hint: 'Leave the endpoint empty; the region is the one the bucket was created in (e.g. eu-west-1, us-east-1). For IPv6, use https://s3.dualstack.<region>.amazonaws.com.',
    egress: ['https://*.amazonaws.com'],
    documented: ['https://s3.amazonaws.com', 'https://s3.eu-west-1.amazonaws.com', 'https://acme-backups.s3.eu-west-1.amazonaws.com', 'https://s3.dualstack.eu-west-1.amazonaws.com', 'https://acme-backups.s3.dualstack.eu-west-1.amazonaws.com'],
  },
  {
    // Cloudflare R2 docs, "S3 API compatibility" (<ACCOUNT_ID>.r2.cloudflarestorage.com) and "Data location",
    // jurisdictions (<ACCOUNT_ID>.eu.r2.cloudflarestorage.com; the `us` one since the 2026-08-17 changelog).
    id: 'r2', label: 'Cloudflare R2', endpoint: 'https://{account}.r2.cloudflarestorage.com', region: 'auto', addressing: 'path',
    hint: 'Replace {account} with your Cloudflare account ID (R2 → Overview); for a bucket in the EU jurisdiction use https://{account}.eu.r2.cloudflarestorage.com. The region is always auto.',
    egress: ['https://*.r2.cloudflarestorage.com'],
    documented: ['https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com', 'https://0123456789abcdef0123456789abcdef.eu.r2.cloudflarestorage.com', 'https://0123456789abcdef0123456789abcdef.us.r2.cloudflarestorage.com'],
  },
  {
    // Backblaze docs, "Call the S3-Compatible API": https://s3.<region>.backblazeb2.com, bucket in the host or the path.
    id: 'b2', label: 'Backblaze B2', endpoint: 'https://s3.{region}.backblazeb2.com', region: 'us-west-004', addressing: 'virtual-hosted',
    hint: 'The endpoint is shown on the bucket\'s page in B2 (e.g. s3.us-west-004.backblazeb2.com); its middle part is the region. Use an application key as the access key.',
    egress: ['https://*.backblazeb2.com'],
    documented: ['https://s3.us-west-004.backblazeb2.com', 'https://acme-backups.s3.us-east-005.backblazeb2.com'],
  },
  {
    // Wasabi docs, "Service URLs for Wasabi's Storage Regions": s3.<region>.wasabisys.com (s3.wasabisys.com for us-east-1).
    id: 'wasabi', label: 'Wasabi', endpoint: 'https://s3.{region}.wasabisys.com', region: 'us-east-1', addressing: 'virtual-hosted',
    hint: 'Replace {region} with the bucket\'s region (e.g. eu-central-1).',
    egress: ['https://*.wasabisys.com'],
    documented: ['https://s3.wasabisys.com', 'https://s3.eu-central-1.wasabisys.com', 'https://acme-backups.s3.eu-central-1.wasabisys.com'],
  },
  {
    // Google Cloud docs, "Request endpoints", XML API: storage.googleapis.com/BUCKET and BUCKET.storage.googleapis.com.
    id: 'gcs', label: 'Google Cloud Storage', endpoint: 'https://storage.googleapis.com', region: 'auto', addressing: 'path',
    hint: 'Use an HMAC key of a service account (Cloud Storage → Settings → Interoperability) as the access key and secret.',
    egress: ['https://storage.googleapis.com', 'https://*.storage.googleapis.com'],
    documented: ['https://storage.googleapis.com', 'https://acme-backups.storage.googleapis.com'],
  },
  {
    // DigitalOcean docs, "Use DigitalOcean Spaces with AWS S3 SDKs": endpoint <region>.digitaloceanspaces.com;
    // its SDK examples sign with the region us-east-1.
    id: 'spaces', label: 'DigitalOcean Spaces', endpoint: 'https://{region}.digitaloceanspaces.com', region: 'us-east-1', addressing: 'virtual-hosted',
    hint: 'Replace {region} with the Space\'s datacenter (e.g. nyc3, fra1), as its settings show the endpoint. Leave the region us-east-1, as DigitalOcean\'s own examples do.',
    egress: ['https://*.digitaloceanspaces.com'],
    documented: ['https://nyc3.digitaloceanspaces.com', 'https://acme-backups.fra1.digitaloceanspaces.com'],
  },
  {
    // Scaleway docs, "Object Storage - Concepts", Endpoint: https://s3.<region>.scw.cloud (path) and bucket.s3.<region>.scw.cloud.
    id: 'scaleway', label: 'Scaleway Object Storage', endpoint: 'https://s3.{region}.scw.cloud', region: 'fr-par', addressing: 'virtual-hosted',
    hint: 'Replace {region} with the bucket\'s region (fr-par, nl-ams or pl-waw) in both fields.',
    egress: ['https://*.scw.cloud'],
    documented: ['https://s3.fr-par.scw.cloud', 'https://acme-backups.s3.nl-ams.scw.cloud'],
  },
  {
    // OVHcloud docs, "Object Storage - Endpoints and Object Storage geoavailability" (2026-02-03):
    // https://s3.<region>.io.cloud.ovh.net, the legacy https://s3.<region>.perf.cloud.ovh.net still served.
    id: 'ovh', label: 'OVHcloud Object Storage', endpoint: 'https://s3.{region}.io.cloud.ovh.net', region: 'gra', addressing: 'virtual-hosted',
    hint: 'Replace {region} with the bucket\'s region in lower case (e.g. gra, sbg, de, eu-west-par) in both fields.',
    egress: ['https://*.cloud.ovh.net'],
    documented: ['https://s3.gra.io.cloud.ovh.net', 'https://acme-backups.s3.gra.io.cloud.ovh.net', 'https://s3.sbg.perf.cloud.ovh.net'],
  },
  {
    // IDrive docs, "IDrive e2 Endpoint URLs": s3.<region>.idrivee2.com (aliases like s3.or-1.idrivee2.com).
    // Older accounts' per-user endpoints on idrivee2-<n>.com are not declared: customer-managed egress reaches them.
    id: 'idrive', label: 'IDrive e2', endpoint: 'https://s3.{region}.idrivee2.com', region: 'us-west-1', addressing: 'path',
    hint: 'Replace {region} with the bucket\'s region code (e.g. us-west-1, eu-west-1), as e2\'s list of endpoint URLs gives it.',
    egress: ['https://*.idrivee2.com'],
    documented: ['https://s3.us-west-1.idrivee2.com', 'https://s3.or-1.idrivee2.com'],
  },
  {
    id: 'other', label: 'MinIO or another S3-compatible endpoint', endpoint: 'https://', region: 'us-east-1', addressing: 'path',
    hint: 'The server\'s https:// URL with no path; MinIO and most self-hosted servers use path-style addressing. Lifeboat reaches it only once you allow it below (Forge\'s customer-managed egress, an early-access API).',
    egress: [],
    documented: [],
  },
];

/** Every egress address the manifest declares for storage. */
export const DECLARED_STORAGE_EGRESS: readonly string[] = STORAGE_PROVIDERS.flatMap((provider) => provider.egress);

/** The provider whose endpoint pattern an endpoint follows; "other" for any https endpoint that follows none. */
export function providerOf(endpoint: string): StorageProvider | undefined {
  if (endpoint === '') return STORAGE_PROVIDERS[0];
  const pattern = (template: string): RegExp => new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[a-z]+\}/g, '[^/]+')}/?$`);
  return STORAGE_PROVIDERS.find((provider) => provider.endpoint !== '' && provider.endpoint !== 'https://' && pattern(provider.endpoint).test(endpoint))
    ?? STORAGE_PROVIDERS.find((provider) => provider.id === 'other');
}
