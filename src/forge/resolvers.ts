import { kvs } from '@forge/kvs';
import { makeResolver, type Request } from '@forge/resolver';
import type { AdminPageResolvers, Overview, PushSeen, RepoPageResolvers } from '../contract.js';
import { kvsKeys } from './keys.js';

/** Identity and location come from Forge's context, never from the payload. */
async function overview({ context }: Request): Promise<Overview> {
  const repositoryUuid: unknown = context.extension?.repository?.uuid;
  const result: Overview = { workspaceId: String(context.workspaceId), accountId: String(context.accountId) };
  if (typeof repositoryUuid === 'string') {
    result.repositoryUuid = repositoryUuid;
    const lastPush = await kvs.get<PushSeen>(kvsKeys.lastPush(repositoryUuid));
    if (lastPush) result.lastPush = lastPush;
  }
  return result;
}

export const repoSettingsResolver = makeResolver<RepoPageResolvers>({ getOverview: overview });
export const workspaceAdminResolver = makeResolver<AdminPageResolvers>({ getOverview: overview });
