// What the app gets for `@forge/api` (see loader.ts). `route` and the error
// classes are the real package's; requestBitbucket goes to the Bitbucket emulator
// with the host's credentials for the app (asApp) or the invoking user (asUser),
// as Forge's proxy would, without egress checks (product calls are not egress),
// and its answer passes the package's own proxy-error check (ProxyRequestError);
// fetch is the global fetch, which the egress guard checks during invocations.
// Exports Lifeboat does not use throw a clear error instead of half-working.
import type * as RealApi from '@forge/api';
import type { APIResponse, FetchAPI, FetchMethod, ForgeAPI, RequestInit, RequestProductMethod } from '@forge/api';
import { getAppAri, getEnvironmentAri, getInstallationAri } from '@forge/api/out/api/ari.js';
import { handleProxyResponseErrors } from '@forge/api/out/api/fetch.js';
import { MissingPermissions, RuntimePermissions } from '@forge/api/out/api/runtime.js';
import { isRoute, requireSafeUrl } from '@forge/api/out/safeUrl.js';
import { EgressFilteringService } from '@forge/egress';
import { cutFetch, unguardedFetch } from '../egress.js';
import type { ForgeManifest } from '../manifest.js';
import { requireInvocation, type Invocation } from '../runtime.js';
import type * as SandboxApi from './api.js';

export {
  assumeTrustedRoute,
  bindInvocationContext,
  ExternalEndpointNotAllowedError,
  FetchError,
  FUNCTION_ERR,
  HttpError,
  InvalidWorkspaceRequestedError,
  isExpectedError,
  isForgePlatformError,
  isHostedCodeError,
  NeedsAuthenticationError,
  NotAllowedError,
  ProductEndpointNotAllowedError,
  ProxyRequestError,
  RequestProductNotAllowedError,
  route,
  routeFromAbsolute,
} from '@forge/api';

function notAvailable(name: string): never {
  throw new Error(`${name} from @forge/api is not available in the sandbox Forge host.`);
}

const rejecting =
  (name: string) =>
  async (..._args: unknown[]): Promise<never> =>
    notAvailable(name);

/** requestBitbucket as Forge's proxy serves it: the emulator, with the app's or the user's credentials. */
function bitbucketRequester(as: 'app' | 'user', userId?: string): RequestProductMethod {
  return async (path, init?: RequestInit): Promise<APIResponse> => {
    const invocation = requireInvocation('@forge/api requestBitbucket');
    const safe = requireSafeUrl(path);
    let accountId: string | undefined;
    if (as === 'user') {
      accountId = userId ?? invocation.accountId;
      if (accountId === undefined) {
        throw new Error(`asUser().requestBitbucket: this ${invocation.kind} invocation (${invocation.key}) runs without a user; use asApp().`);
      }
    }
    const { apiUrl, authorization } = invocation.services.bitbucket;
    // Forge's proxy names its own failure in a `forge-proxy-error` header; the package turns that into
    // ProxyRequestError (@forge/api out/api/fetch.js handleProxyResponseErrors, which __fetchProduct runs).
    const fault = invocation.services.takeProxyFault();
    const response = fault
      ? new Response(null, { status: fault.status, headers: { 'forge-proxy-error': fault.reason } })
      : await cutFetch(unguardedFetch, apiUrl.replace(/\/$/, '') + safe.value, { ...init, headers: { ...init?.headers, Authorization: authorization(accountId) } });
    handleProxyResponseErrors(response);
    return response;
  };
}

const unavailableProducts = (prefix: string) => ({
  requestJira: rejecting(`${prefix}requestJira`),
  requestConfluence: rejecting(`${prefix}requestConfluence`),
  requestGraph: rejecting(`${prefix}requestGraph`),
  requestConnectedData: rejecting(`${prefix}requestConnectedData`),
  requestAtlassian: rejecting(`${prefix}requestAtlassian`),
});

export const asApp: FetchAPI['asApp'] = () => {
  const requestBitbucket = bitbucketRequester('app');
  return {
    ...unavailableProducts('asApp().'),
    requestBitbucket,
    withContext: () => ({ requestBitbucket, requestJira: rejecting('requestJira'), requestConfluence: rejecting('requestConfluence') }),
  };
};

export const asUser: FetchAPI['asUser'] = (userId?: string) => {
  const requestBitbucket = bitbucketRequester('user', userId);
  return {
    ...unavailableProducts('asUser().'),
    requestBitbucket,
    requestTeamworkGraph: rejecting('asUser().requestTeamworkGraph'),
    withProvider: () => notAvailable('asUser().withProvider (external auth)'),
    withContext: () => ({ requestBitbucket, requestJira: rejecting('requestJira'), requestConfluence: rejecting('requestConfluence') }),
  };
};

export const fetch: FetchAPI['fetch'] = (url, init) => globalThis.fetch(isRoute(url) ? url.value : url, init);
/** Without asApp()/asUser() Forge's proxy serves product calls with the app's identity. */
export const requestBitbucket: RequestProductMethod = bitbucketRequester('app');
export const requestJira: RequestProductMethod = rejecting('requestJira');
export const requestConfluence: RequestProductMethod = rejecting('requestConfluence');
export const invokeRemote: typeof RealApi.invokeRemote = rejecting('invokeRemote');
export const invokeService: typeof RealApi.invokeService = rejecting('invokeService');
export const __fetchProduct: typeof RealApi.__fetchProduct = () => rejecting('__fetchProduct');
export const __requestAtlassianAsApp: FetchMethod = rejecting('__requestAtlassianAsApp');
export const __requestAtlassianAsUser: FetchMethod = rejecting('__requestAtlassianAsUser');
export const createRequestStargateAsApp: typeof RealApi.createRequestStargateAsApp = () => rejecting('createRequestStargateAsApp');
export const authorize: typeof RealApi.authorize = () => notAvailable('authorize');
export const webTrigger: typeof RealApi.webTrigger = { getUrl: rejecting('webTrigger.getUrl'), deleteUrl: rejecting('webTrigger.deleteUrl'), queryUrls: rejecting('webTrigger.queryUrls') };
export const i18n: typeof RealApi.i18n = { createTranslationFunction: rejecting('i18n'), getTranslations: rejecting('i18n') };
export const privacy: typeof RealApi.privacy = { reportPersonalData: rejecting('privacy.reportPersonalData') };
export const __getRuntime: typeof RealApi.__getRuntime = () => notAvailable('__getRuntime (the Forge runtime object)');

const API: ForgeAPI = { asApp, asUser, fetch, requestBitbucket, requestJira, requestConfluence, invokeRemote, invokeService };
export default API;

type External = ConstructorParameters<typeof RuntimePermissions>[1];

function manifestExternal(manifest: ForgeManifest): External {
  const permissions = manifest.raw.permissions as { external?: External } | undefined;
  return permissions?.external ?? {};
}

function addresses(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry: unknown) => {
    if (typeof entry === 'string') return [entry];
    if (entry !== null && typeof entry === 'object' && 'address' in entry && typeof entry.address === 'string') return [entry.address];
    return [];
  });
}

function appIdOf(manifest: ForgeManifest): string {
  return manifest.appId?.replace(/^ari:cloud:ecosystem::app\//, '') ?? 'sandbox-app';
}

export const getAppContext: typeof RealApi.getAppContext = () => {
  const invocation: Invocation = requireInvocation('@forge/api getAppContext');
  const { manifest, installationId } = invocation.services;
  const appId = appIdOf(manifest);
  return {
    appAri: getAppAri(appId),
    appVersion: '0.0.0-sandbox',
    environmentAri: getEnvironmentAri(appId, 'sandbox'),
    environmentType: 'DEVELOPMENT',
    invocationId: invocation.id,
    invocationRemainingTimeInMillis: () => Math.max(0, invocation.deadline - Date.now()),
    installationAri: getInstallationAri(installationId),
    moduleKey: invocation.key,
    permissions: new RuntimePermissions([...manifest.scopes], manifestExternal(manifest)),
  };
};

type Requirements = Parameters<typeof RealApi.permissions.hasPermission>[0];
type ResourceType = Parameters<typeof RealApi.permissions.canLoadResource>[0];

/** Which of `urls` the manifest does not allow; backend fetches go through the host's egress policy (stand-ins, customer egress). */
function missingUrls(invocation: Invocation, type: string, urls: unknown): string[] {
  const wanted = addresses(urls);
  if (type === 'backend') return wanted.filter((url) => !invocation.services.canFetch(url));
  const external = manifestExternal(invocation.services.manifest) as Record<string, unknown>;
  const granted = type === 'client' ? (external.fetch as Record<string, unknown> | undefined)?.client : external[type];
  const filter = new EgressFilteringService(addresses(granted));
  return wanted.filter((url) => !filter.isValidUrlCSP(url));
}

function hasPermission(requirements: Requirements): ReturnType<typeof RealApi.permissions.hasPermission> {
  const invocation = requireInvocation('@forge/api permissions');
  const scopes = requirements.scopes ?? [];
  const missingScopes = (Array.isArray(scopes) ? scopes : Object.keys(scopes)).filter((scope) => !invocation.services.manifest.scopes.includes(scope));
  const missingExternal: Record<string, unknown> = {};
  for (const [type, value] of Object.entries(requirements.external ?? {})) {
    if (type === 'fetch') {
      const fetchMissing: Record<string, string[]> = {};
      for (const [fetchType, urls] of Object.entries((value ?? {}) as Record<string, unknown>)) {
        const missing = missingUrls(invocation, fetchType, urls);
        if (missing.length > 0) fetchMissing[fetchType] = missing;
      }
      if (Object.keys(fetchMissing).length > 0) missingExternal.fetch = fetchMissing;
    } else if (type !== 'configurable') {
      const missing = missingUrls(invocation, type, value);
      if (missing.length > 0) missingExternal[type] = missing;
    }
  }
  const granted = missingScopes.length === 0 && Object.keys(missingExternal).length === 0;
  if (granted) return { granted };
  return {
    granted,
    missing: new MissingPermissions(missingScopes.length > 0 ? missingScopes : undefined, Object.keys(missingExternal).length > 0 ? (missingExternal as External) : undefined),
  };
}

export const permissions: typeof RealApi.permissions = {
  hasPermission,
  hasScope: (scope) => hasPermission({ scopes: [scope] }).granted,
  canFetchFrom: (type, url) => hasPermission({ external: { fetch: { [type]: [url] } } }).granted,
  canLoadResource: (type: ResourceType, url) => hasPermission({ external: { [type]: [url] } }).granted,
};

// Drift check: this module must offer everything the real package exports, typed as
// it declares them. (Under NodeNext a CommonJS package's `default` is its whole
// exports object, so the default is compared with the ForgeAPI it is declared as.)
export type ExportsMatchRealPackage = Omit<typeof SandboxApi, 'default'> extends Omit<typeof RealApi, 'default'>
  ? (typeof SandboxApi)['default'] extends ForgeAPI
    ? true
    : never
  : never;
const exportsMatch: ExportsMatchRealPackage = true;
void exportsMatch;
