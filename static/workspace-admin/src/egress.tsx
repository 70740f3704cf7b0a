// Customer-managed egress: a storage endpoint outside the providers manifest.yml
// declares can be reached only once a workspace admin allows it. The backend
// says whether Forge lets it reach the endpoint and whether it is a declared
// provider; the page asks Bitbucket, through @forge/bridge's permissions.egress,
// and Bitbucket asks the admin to confirm. Atlassian documents that API as early
// access ("experimental … not recommended for production", March 2026): the page
// says so wherever an endpoint depends on it.
import Button from '@atlaskit/button/new';
import Lozenge from '@atlaskit/lozenge';
import { Inline, Stack, Text } from '@atlaskit/primitives';
import SectionMessage from '@atlaskit/section-message';
import { useState } from 'react';
import { useResource, useSettled } from '../../shared/data.js';
import { ErrorMessage, PageError } from '../../shared/page-error.js';
import { STORAGE_PROVIDERS } from '../../../src/storage-providers.js';
import { allowEndpoint, invoke } from './api.js';

const SETTLE_MS = 400;
const EARLY_ACCESS = 'an early-access API that Atlassian calls experimental and not recommended for production';
const DECLARED_NAMES = STORAGE_PROVIDERS.filter((provider) => provider.egress.length > 0).map((provider) => provider.label).join(', ');

export function EndpointAccess({ endpoint }: { endpoint: string }) {
  const [error, setError] = useState<unknown>();
  const [asking, setAsking] = useState(false);
  const settled = useSettled(endpoint.trim(), SETTLE_MS);
  const check = useResource(() => invoke('checkEndpoint', { endpoint: settled }), [settled]);
  // While the admin types, an answer about an earlier endpoint says nothing.
  const state = settled === endpoint.trim() && !check.loading ? check.data : undefined;

  // Not an endpoint yet: the field says why when the settings are saved.
  if (check.error !== undefined && !(check.error instanceof PageError && check.error.code === 'INVALID_ARGUMENT')) {
    return <ErrorMessage error={check.error} title="Lifeboat could not check whether Forge lets it reach this endpoint" />;
  }
  if (!state) return null;
  if (state.allowed && state.declared) {
    return <Inline space="space.100" alignBlock="center"><Lozenge appearance="success">reachable</Lozenge><Text>Forge lets Lifeboat reach {state.origin}.</Text></Inline>;
  }
  if (state.allowed) {
    return (
      <Stack space="space.050">
        <Inline space="space.100" alignBlock="center"><Lozenge appearance="success">reachable</Lozenge><Text>Forge lets Lifeboat reach {state.origin}.</Text></Inline>
        <Text size="small">A workspace admin allowed it: it is not one of the storage providers Lifeboat declares, so backups depend on Forge's customer-managed egress, {EARLY_ACCESS}.</Text>
      </Stack>
    );
  }
  const allow = () => {
    setAsking(true);
    setError(undefined);
    allowEndpoint(state.origin)
      .then(check.reload, setError)
      .finally(() => setAsking(false));
  };
  return (
    <SectionMessage appearance="warning" title={`Lifeboat may not reach ${state.origin} yet`}>
      <Stack space="space.100">
        <Text>This endpoint is not one of the storage providers Lifeboat declares to Forge ({DECLARED_NAMES}). As a workspace admin you can allow it: Bitbucket asks you to confirm, and then only Lifeboat's backend may send data there. Backups to it then depend on Forge's customer-managed egress, {EARLY_ACCESS}.</Text>
        <Inline space="space.100"><Button appearance="primary" onClick={allow} isLoading={asking}>Allow Lifeboat to reach {state.origin}</Button></Inline>
        {error !== undefined && <ErrorMessage error={error} title="The endpoint was not allowed" />}
      </Stack>
    </SectionMessage>
  );
}
