/**
 * Key fingerprints as people read them. Apart from signing.ts (node:crypto) so that
 * the pages, which run in a browser, show them by the same rule.
 */
export const FINGERPRINT_PREFIX = 'SHA256:';

/** A fingerprint short enough to read aloud and compare by eye: SHA256:1a2b3c4d…9e0f (first 16, last 4 hex digits). */
export function shortFingerprint(fingerprint: string): string {
  const hex = fingerprint.slice(FINGERPRINT_PREFIX.length);
  return `${FINGERPRINT_PREFIX}${hex.slice(0, 16)}…${hex.slice(-4)}`;
}
