// Bitbucket's UUIDs, which it spells with braces ({…}) and Forge sometimes
// without: one rule, and one way to spell them inside Lifeboat — braced and
// lower-case in settings, records and API paths, bare in bucket and KVS keys
// (whose characters are restricted).
import { z } from 'zod';

const UUID = /^\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i;

export const bareUuid = (uuid: string): string => uuid.replace(/^\{|\}$/g, '').toLowerCase();
export const bracedUuid = (uuid: string): string => `{${bareUuid(uuid)}}`;

/** A Bitbucket UUID as it arrives (braces or not, any case), normalised to the braced lower-case spelling. */
export const bitbucketUuid = z.string().trim().regex(UUID, 'must be a Bitbucket UUID').transform(bracedUuid);

/** The UUID at the end of a text such as an ARI (ari:cloud:bitbucket::workspace/<uuid>), braced; undefined when there is none. */
export function trailingUuid(text: string): string | undefined {
  const match = /\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?$/i.exec(text);
  return match?.[1] ? bracedUuid(match[1]) : undefined;
}
