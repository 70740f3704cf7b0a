// Before saving: which existing snapshots of a repository the retention policy
// being edited keeps. The backend applies the engine's rule over the KVS index.
import { Label } from '@atlaskit/form';
import Lozenge from '@atlaskit/lozenge';
import { Stack, Text } from '@atlaskit/primitives';
import Select from '@atlaskit/select';
import { useState } from 'react';
import type { RetentionPolicy } from '../../../src/engine/bucket/retention.js';
import { ErrorMessage } from '../../shared/page-error.js';
import { invoke, type PinView, type WorkspaceSettings } from './api.js';
import { Loading } from './common.js';
import { useResource, useSettled } from '../../shared/data.js';
import { absoluteTime, bytes, triggerWords } from '../../shared/format.js';

type Option = { label: string; value: string };

const REASON_WORDS: Record<string, string> = {
  newest: 'the newest', unlimited: 'no rule limits it', within: 'within the time kept whole', last: 'one of the last', hourly: 'hourly', daily: 'daily', weekly: 'weekly', monthly: 'monthly', yearly: 'yearly',
};

/** Why a pinned snapshot is kept whatever the policy says. */
function pinWords(pin: PinView): string {
  const until = pin.until ? ` until ${absoluteTime(pin.until)}` : '';
  return pin.kind === 'event'
    ? `pinned${until || ' while the banner stands'}: a force-push or deletion banner offers to put its tip back from it`
    : `pinned${until}: an overwrite restore can be undone from it`;
}

export function RetentionPreview({ draft }: { draft: WorkspaceSettings }) {
  // Repositories with at least one snapshot: the coverage list's first page, searched by the backend as the person types.
  const [typed, setTyped] = useState('');
  const search = useSettled(typed.trim());
  const repositories = useResource(() => invoke('getCoverage', search ? { search } : {}), [search]);
  const options: Option[] = (repositories.data?.items ?? []).filter((row) => row.lastSnapshotId).map((row) => ({ value: row.repositoryUuid, label: row.slug }));
  const [chosen, setChosen] = useState<Option | null>(null);
  const selected = chosen ?? options[0] ?? null;
  const own = selected ? draft.overrides[selected.value]?.retention : undefined;
  const policy: RetentionPolicy = own ?? draft.retention;
  // The preview follows the draft once typing has settled, and always the repository chosen.
  // (The draft's policy is a new object only when it is edited.)
  const settledPolicy = useSettled(policy);
  const preview = useResource(async () => (selected ? invoke('previewRetention', { repositoryUuid: selected.value, retention: { ...settledPolicy } }) : undefined), [selected?.value, settledPolicy]);

  if (repositories.error !== undefined) return <ErrorMessage error={repositories.error} title="The repositories could not be listed" />;
  if (repositories.loading && !repositories.data) return <Loading label="Loading repositories…" />;
  if (options.length === 0 && !search && !chosen) return <Text>No repository has a snapshot yet: the preview shows once the first backups are in.</Text>;

  const data = preview.data?.repositoryUuid === selected?.value ? preview.data : undefined;
  const kept = data?.snapshots.filter((snapshot) => snapshot.kept).length ?? 0;
  return (
    <Stack space="space.150">
      <Stack space="space.050">
        <Label htmlFor="retention-preview-repository">Repository to preview</Label>
        <Select<Option>
          inputId="retention-preview-repository"
          options={options}
          value={selected}
          isLoading={repositories.loading}
          // The backend searches; the list shows what it found.
          filterOption={null}
          onInputChange={(value) => setTyped(value)}
          onChange={(value) => setChosen(value)}
          noOptionsMessage={() => 'No repository with snapshots matches'}
        />
      </Stack>
      {own && <Text>This repository has its own retention policy, so the workspace's does not apply to it; the preview shows its own.</Text>}
      {preview.error !== undefined && <ErrorMessage error={preview.error} title="The preview could not be made" />}
      {preview.loading && !data && <Loading label="Working out the preview…" />}
      {data && (
        <>
          <Text as="p" testId="retention-preview-summary">
            {`This policy keeps ${kept} of the ${data.snapshots.length} ${data.more ? 'newest ' : ''}snapshots; the next prune forgets the other ${data.snapshots.length - kept}.`}
            {' '}The schedule decides only when new snapshots are taken.
          </Text>
          <table className="refs" aria-label="Retention preview">
            <thead><tr><th scope="col">Snapshot</th><th scope="col">Trigger</th><th scope="col">Added</th><th scope="col">Outcome</th><th scope="col">Why</th></tr></thead>
            <tbody>
              {data.snapshots.map((snapshot) => (
                <tr key={snapshot.id}>
                  <td><time dateTime={snapshot.createdAt}>{absoluteTime(snapshot.createdAt)}</time></td>
                  <td>{triggerWords(snapshot.trigger)}</td>
                  <td>{bytes(snapshot.ownBytes)}</td>
                  <td><Lozenge appearance={snapshot.kept ? 'success' : 'removed'}>{snapshot.kept ? 'kept' : 'forgotten'}</Lozenge></td>
                  <td>{[...snapshot.reasons.filter((reason) => reason !== 'pinned').map((reason) => REASON_WORDS[reason] ?? reason), ...(snapshot.pins ?? []).map(pinWords)].join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Stack>
  );
}
