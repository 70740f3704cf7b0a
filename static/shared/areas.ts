// What each area of Lifeboat's work in Bitbucket (src/bitbucket/credentials.ts:
// git, pull requests, each configuration section, new repositories) is called on both pages.
import type { AccessArea } from '../../src/bitbucket/credentials.js';

export const AREA_NAMES: Readonly<Record<AccessArea, string>> = {
  git: 'Branches, tags and LFS objects (git)',
  'pull-requests': 'Pull requests',
  repository: 'Description, language, fork policy',
  'branch-restrictions': 'Branch restrictions',
  'default-reviewers': 'Default reviewers',
  'branching-model': 'Branching model',
  webhooks: 'Webhooks',
  'deploy-keys': 'Deploy keys',
  'user-permissions': 'User permissions',
  'group-permissions': 'Group permissions',
  pipelines: 'Pipelines switch',
  'pipeline-variables': 'Pipeline variables',
  environments: 'Deployment environments and their variables',
  'new-repository': 'Restoring into a new repository',
};

/** An area's name, or the name itself when a newer Lifeboat wrote one this page does not know. */
export const areaName = (area: string): string => (AREA_NAMES as Record<string, string>)[area] ?? area;
