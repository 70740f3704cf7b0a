/**
 * The git client as the backup and restore services see it. The wire details
 * (pkt-line, discovery, side-band, reports) live in the modules beside this one.
 */
import type { ByteStream } from '../streams.js';

/** All-zero object id: "no object" in push commands. */
export const ZERO_OID = '0000000000000000000000000000000000000000';

/**
 * A fetch-compatible function. Node's global fetch and Forge's `fetch` both fit.
 * Request bodies are Web streams (with `duplex: 'half'`) or bytes; responses are
 * read with a reader loop so that backpressure is explicit.
 */
export type HttpFetch = (url: string, init: HttpRequestInit) => Promise<HttpResponse>;

export interface HttpRequestInit {
  method: 'GET' | 'POST' | 'PUT';
  headers: Record<string, string>;
  body?: Uint8Array | ReadableStream<Uint8Array>;
  duplex?: 'half';
  signal?: AbortSignal;
  /** A GET's redirects come back as answers, for the caller to check each hop (otherwise followed). */
  redirect?: 'manual';
}

export interface HttpResponse {
  status: number;
  statusText?: string;
  headers: { get(name: string): string | null };
  body: ReadableStream<Uint8Array> | null;
}

/**
 * HTTP Basic credentials for git. Bitbucket: access token → user `x-token-auth`;
 * API token → user `x-bitbucket-api-token-auth` (or the Bitbucket username).
 */
export interface GitCredentials {
  username: string;
  password: string;
}

export interface GitClientOptions {
  /** Repository URL as a user would clone it, e.g. https://bitbucket.org/ws/repo.git. Credentials in the URL are used and removed. */
  url: string;
  credentials?: GitCredentials;
  fetch?: HttpFetch;
  userAgent?: string;
  /** Highest protocol to try; 0 forces the v0 advertisement (for servers that mishandle v2). */
  protocolVersion?: 0 | 2;
  signal?: AbortSignal;
  /** How long the server may send nothing while an answer is awaited (GIT_TIMEOUT then); default 60 s. */
  idleTimeoutMs?: number;
}

export interface RemoteRef {
  name: string;
  oid: string;
  /** For an annotated tag: the object it finally points to (^{}). */
  peeled?: string;
  /** For a symbolic ref (only HEAD is advertised as one): its target. */
  symref?: string;
}

export interface RemoteHead {
  /** Target of HEAD, e.g. refs/heads/main; present even when unborn (v2 `unborn`). */
  symref?: string;
  oid?: string;
  unborn?: boolean;
}

export interface RefListing {
  protocol: 0 | 2;
  /** Every ref except HEAD, sorted by name. */
  refs: RemoteRef[];
  head: RemoteHead;
  capabilities: string[];
}

export interface ShallowRequest {
  wants: string[];
  depth: number;
  /** Commits to send as the client's shallow ones: the reply says which lie less than `depth` below `wants`. Commits only. */
  shallow?: string[];
}

export interface ShallowInfo {
  /** The commits `depth` below `wants` (a `shallow` one exactly there is left out). */
  boundary: string[];
  /** The `shallow` commits less than `depth` below `wants`. */
  unshallow: string[];
}

export interface FetchPackOptions {
  wants: string[];
  /** Commits the caller already has: the server sends a thin pack against them. */
  haves?: string[];
  /** Server progress lines (side-band 2), e.g. "Counting objects: 42% (...)". */
  onProgress?: (line: string) => void;
}

export interface PushCommand {
  ref: string;
  /** Current value on the server, ZERO_OID to create. */
  old: string;
  /** New value, ZERO_OID to delete. */
  new: string;
}

export interface PushOptions {
  commands: PushCommand[];
  /** Pack to send; omitted when every command is a delete, an empty pack is sent otherwise. */
  pack?: ByteStream;
  /** Use `atomic` when the server advertises it (default true). */
  atomic?: boolean;
  onProgress?: (line: string) => void;
}

export interface PushRefResult {
  ref: string;
  ok: boolean;
  reason?: string;
}

export interface PushReport {
  refs: PushRefResult[];
}

export interface GitClient {
  readonly url: string;
  /** Every ref with peeled targets and HEAD's symref (v2 ls-refs, or the v0 advertisement). */
  listRefs(): Promise<RefListing>;
  /** The raw pack bytes for `wants` minus what `haves` reach, checked on the fly (PACK header, trailer SHA-1). */
  fetchPack(options: FetchPackOptions): Promise<PackStream>;
  /**
   * The commits `depth` below `wants` where a shallow fetch would stop (none when the
   * history is shallower), without their pack; undefined when the server cannot deepen.
   * Absent from clients that cannot ask: their backups are not split by history.
   */
  shallowBoundary?(options: ShallowRequest): Promise<ShallowInfo | undefined>;
  /** Current refs as receive-pack advertises them (for restores). */
  listPushRefs(): Promise<RefListing>;
  /** Runs receive-pack; throws GIT_PUSH_REJECTED unless `unpack ok` and every ref `ok`. */
  push(options: PushOptions): Promise<PushReport>;
}

/** A pack being received. `stats` is complete once the stream has been read to its end without error. */
export interface PackStream extends AsyncIterable<Uint8Array> {
  readonly stats: PackStats;
}

export interface PackStats {
  version: number;
  objectCount: number;
  /** Hex SHA-1 trailer, checked against the bytes received. */
  trailer: string;
  bytes: number;
}
