// The workspace's repositories as backups see them, deleted repositories still
// in the bucket, and the audit log: each paged by the backend's cursor.
import Button from '@atlaskit/button/new';
import DynamicTable from '@atlaskit/dynamic-table';
import EmptyState from '@atlaskit/empty-state';
import Lozenge from '@atlaskit/lozenge';
import ModalDialog, { ModalBody, ModalFooter, ModalHeader, ModalTitle, ModalTransition } from '@atlaskit/modal-dialog';
import { Label } from '@atlaskit/form';
import { Box, Inline, Stack, Text, xcss } from '@atlaskit/primitives';
import Select from '@atlaskit/select';
import Toggle from '@atlaskit/toggle';
import Tooltip from '@atlaskit/tooltip';
import { useEffect, useState, type ReactNode } from 'react';
import { getJob, invoke, type CoverageRow, type CoverageSort, type DeletedRepository, type JobView, type SettingsView } from './api.js';
import { ErrorMessage, fieldProblems } from '../../shared/page-error.js';
import { jobEnded, useJob, usePaged, useResource, useSettled } from '../../shared/data.js';
import { JobStatus } from '../../shared/job-status.js';
import { auditDetailWords } from './audit-words.js';
import { TextField } from './fields.js';
import { absoluteTime, bytes, relativeTime } from '../../shared/format.js';

function Pager({ label, pageNumber, pages, previous, next }: { label: string; pageNumber: number; pages?: number; previous: (() => void) | undefined; next: (() => void) | undefined }) {
  if (!previous && !next) return null;
  return (
    <nav aria-label={label}>
      <Inline space="space.100" alignBlock="center">
        <Button isDisabled={!previous} onClick={() => previous?.()}>Previous page</Button>
        <Text>Page {pageNumber}{pages !== undefined ? ` of ${pages}` : ''}</Text>
        <Button isDisabled={!next} onClick={() => next?.()}>Next page</Button>
      </Inline>
    </nav>
  );
}

function When({ at }: { at: string }) {
  return <Tooltip content={absoluteTime(at)}><time dateTime={at}>{relativeTime(at)}</time></Tooltip>;
}

const STATE_LOZENGES: Record<CoverageRow['state'], { appearance: 'success' | 'inprogress' | 'removed' | 'default' | 'new'; text: string }> = {
  idle: { appearance: 'success', text: 'protected' },
  queued: { appearance: 'new', text: 'queued' },
  running: { appearance: 'inprogress', text: 'backing up' },
  failed: { appearance: 'removed', text: 'failing' },
  never: { appearance: 'default', text: 'no backup yet' },
};

function statusOf(row: CoverageRow): ReactNode {
  if (!row.included) return <Lozenge appearance="default">not backed up</Lozenge>;
  const { appearance, text } = STATE_LOZENGES[row.state];
  const lozenge = <Lozenge appearance={appearance}>{text}</Lozenge>;
  return row.lastError ? <Tooltip content={row.lastError}><span tabIndex={0} aria-label={`${text}: ${row.lastError}`}>{lozenge}</span></Tooltip> : lozenge;
}

/** Includes or excludes one repository: its own override, set on the settings as stored now (as the repository page's switch and the bulk action do). */
function IncludedToggle({ row, view, onSaved, onError }: { row: CoverageRow; view: SettingsView; onSaved: (view: SettingsView) => void; onError: (error: unknown) => void }) {
  const [busy, setBusy] = useState(false);
  if (!view.settings) return <>{row.included ? 'Yes' : 'No'}</>;
  const change = () => {
    setBusy(true);
    invoke('setRepositoriesIncluded', { repositoryUuids: [row.repositoryUuid], included: !row.included }).then(onSaved, onError).finally(() => setBusy(false));
  };
  return <Toggle label={`Back up ${row.name}`} isChecked={row.included} isDisabled={busy} onChange={change} />;
}

type SortChoice = { label: string; value: string; sort: CoverageSort; descending: boolean };

const SORTS: SortChoice[] = [
  { value: 'name', label: 'Name, A to Z', sort: 'name', descending: false },
  { value: 'name-desc', label: 'Name, Z to A', sort: 'name', descending: true },
  { value: 'last', label: 'Last backup, oldest first', sort: 'lastBackup', descending: false },
  { value: 'last-desc', label: 'Last backup, newest first', sort: 'lastBackup', descending: true },
  { value: 'size-desc', label: 'Size, largest first', sort: 'size', descending: true },
  { value: 'size', label: 'Size, smallest first', sort: 'size', descending: false },
  { value: 'status', label: 'Status, problems first', sort: 'status', descending: false },
];

/** A short wait after the last keystroke, so a search asks once. */

/**
 * Every repository of the workspace: searched, sorted and paged by the backend
 * over the catalogue the last sweep built (before the first sweep: Bitbucket's
 * order, page by page); one or many included or excluded at once.
 */
export function Coverage({ view, onSaved }: { view: SettingsView; onSaved: (view: SettingsView) => void }) {
  const [searchText, setSearchText] = useState('');
  const search = useSettled(searchText.trim());
  const [sort, setSort] = useState<SortChoice>(SORTS[0]!);
  const [pageNumber, setPageNumber] = useState(1);
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  // A new search starts at its first page.
  useEffect(() => setPageNumber(1), [search]);
  const cursor = cursors.at(-1);
  const page = useResource(
    () => invoke('getCoverage', cursor !== undefined ? { cursor } : { ...(search ? { search } : {}), sort: sort.sort, descending: sort.descending, page: pageNumber }),
    [search, sort.value, pageNumber, cursor],
  );
  const catalogue = page.data?.catalogue;
  const [changeError, setChangeError] = useState<unknown>();
  const [changing, setChanging] = useState(false);
  const changed = (next: SettingsView) => {
    setChangeError(undefined);
    onSaved(next);
    page.reload();
  };
  const [sweep, setSweep] = useState<JobView>();
  const [sweepError, setSweepError] = useState<unknown>();
  const followed = useJob(getJob, sweep?.id, { first: sweep, onEnded: page.reload });
  const startSweep = () => {
    setSweepError(undefined);
    invoke('sweepNow').then(setSweep, setSweepError);
  };
  const running = followed.job !== undefined && !jobEnded(followed.job);
  const rows = page.data?.items ?? [];
  const allSelected = rows.length > 0 && rows.every((row) => selected.has(row.repositoryUuid));
  const toggleRow = (uuid: string) => {
    const next = new Set(selected);
    if (next.has(uuid)) next.delete(uuid);
    else next.add(uuid);
    setSelected(next);
  };
  const toggleAll = () => {
    const next = new Set(selected);
    for (const row of rows) {
      if (allSelected) next.delete(row.repositoryUuid);
      else next.add(row.repositoryUuid);
    }
    setSelected(next);
  };
  const bulk = (included: boolean) => {
    setChanging(true);
    invoke('setRepositoriesIncluded', { repositoryUuids: [...selected], included })
      .then((next) => { setSelected(new Set()); changed(next); }, setChangeError)
      .finally(() => setChanging(false));
  };
  const paging = catalogue
    ? {
      pageNumber: catalogue.page,
      pages: catalogue.pages,
      previous: catalogue.page > 1 ? () => setPageNumber(catalogue.page - 1) : undefined,
      next: catalogue.page < catalogue.pages ? () => setPageNumber(catalogue.page + 1) : undefined,
    }
    : {
      pageNumber: cursors.length,
      previous: cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : undefined,
      next: page.data?.nextCursor !== undefined ? () => setCursors([...cursors, page.data!.nextCursor]) : undefined,
    };
  return (
    <Stack space="space.200">
      <Inline space="space.100" alignBlock="center">
        <Button appearance="primary" onClick={startSweep} isDisabled={running}>Back up all now</Button>
        <Button onClick={page.reload}>Refresh</Button>
      </Inline>
      {sweepError !== undefined && <ErrorMessage error={sweepError} title="The backup of all repositories did not start" />}
      <JobStatus followed={followed} label="The backup of all repositories" doneTitle="Every included repository is queued for backup" />
      <Inline space="space.200" alignBlock="end" shouldWrap>
        <Box xcss={searchStyles}>
          <TextField id="coverage-search" label="Search repositories" value={searchText} onChange={setSearchText} placeholder="Name or slug" />
        </Box>
        <Box xcss={sortStyles}>
          <Stack space="space.050">
            <Label htmlFor="coverage-sort">Sort by</Label>
            <Select<SortChoice> inputId="coverage-sort" options={SORTS} value={sort} isDisabled={!catalogue} onChange={(value) => { if (value) { setSort(value); setPageNumber(1); } }} />
          </Stack>
        </Box>
      </Inline>
      {page.data && !catalogue && <Text>Search and sorting work over the list the sweep keeps: it is made by the first sweep ("Back up all now", or the next scheduled one). Until then the repositories are listed as Bitbucket orders them.</Text>}
      {catalogue && (
        <Text testId="coverage-counts">
          {search ? `${catalogue.matching} of ${catalogue.total} repositories match "${search}".` : `${catalogue.total} repositories.`}
          {` Listed as the sweep ${relativeTime(catalogue.builtAt)} saw them; each row shows its state now.`}
        </Text>
      )}
      <Inline space="space.100" alignBlock="center">
        <input type="checkbox" id="coverage-select-all" checked={allSelected} onChange={toggleAll} disabled={rows.length === 0} />
        <Label htmlFor="coverage-select-all">Select every repository on this page</Label>
        <Text>{selected.size} selected</Text>
        <Button isDisabled={selected.size === 0 || changing} onClick={() => bulk(true)}>Include selected</Button>
        <Button isDisabled={selected.size === 0 || changing} onClick={() => bulk(false)}>Exclude selected</Button>
      </Inline>
      {page.error !== undefined && <ErrorMessage error={page.error} title="The repositories could not be listed" />}
      {changeError !== undefined && <ErrorMessage error={changeError} title="The repositories were not changed" />}
      <DynamicTable
        caption="Repositories of this workspace"
        isLoading={page.loading}
        head={{ cells: [
          { key: 'select', content: 'Select' },
          { key: 'name', content: 'Repository' },
          { key: 'included', content: 'Included' },
          { key: 'last', content: 'Last backup' },
          { key: 'size', content: 'Size' },
          { key: 'status', content: 'Status' },
        ] }}
        rows={rows.map((row) => ({
          key: row.repositoryUuid,
          cells: [
            { key: 'select', content: <input type="checkbox" aria-label={`Select ${row.name}`} checked={selected.has(row.repositoryUuid)} onChange={() => toggleRow(row.repositoryUuid)} /> },
            { key: 'name', content: <Stack><Text weight="medium">{row.name}</Text><Text size="small" color="color.text.subtle">{row.slug}</Text></Stack> },
            { key: 'included', content: <IncludedToggle row={row} view={view} onSaved={changed} onError={setChangeError} /> },
            { key: 'last', content: row.lastBackupAt ? <When at={row.lastBackupAt} /> : 'Never' },
            { key: 'size', content: row.bytes !== undefined ? bytes(row.bytes) : '—' },
            { key: 'status', content: statusOf(row) },
          ],
        }))}
        emptyView={page.error === undefined ? (search
          ? <EmptyState header="No repository matches" description={`No repository's name or slug contains "${search}".`} headingLevel={3} />
          : <EmptyState header="No repositories" description="This workspace has no repositories yet; Lifeboat backs up each one as soon as it is created." headingLevel={3} />) : undefined}
      />
      <Pager label="Repository pages" {...paging} />
      <Text size="small" color="color.text.subtle">Each switch, and "Include selected" or "Exclude selected", overrides the workspace selection for its repositories (as a repository's own Lifeboat page does).</Text>
    </Stack>
  );
}

const searchStyles = xcss({ width: '320px' });
const sortStyles = xcss({ width: '280px' });

function RestoreDeleted({ repository, onClose }: { repository: DeletedRepository; onClose: () => void }) {
  const [slug, setSlug] = useState(`${repository.slug}-restored`);
  const [job, setJob] = useState<JobView>();
  const [error, setError] = useState<unknown>();
  const [starting, setStarting] = useState(false);
  const followed = useJob(getJob, job?.id, { first: job });
  const problems = fieldProblems(error, ['newRepositorySlug']);
  const start = () => {
    setStarting(true);
    setError(undefined);
    invoke('restoreDeletedRepository', { repositoryUuid: repository.repositoryUuid, snapshotId: repository.lastSnapshotId, newRepositorySlug: slug })
      .then(setJob, setError)
      .finally(() => setStarting(false));
  };
  return (
    <ModalDialog onClose={onClose}>
      <ModalHeader><ModalTitle>Restore {repository.name} into a new repository</ModalTitle></ModalHeader>
      <ModalBody>
        <Stack space="space.150">
          <Text>{`Lifeboat creates a new repository in this workspace and pushes every branch and tag of the snapshot taken ${relativeTime(repository.lastSnapshotAt)} (${absoluteTime(repository.lastSnapshotAt)}) into it.`}</Text>
          <TextField id="restore-slug" label="Name of the new repository (slug)" value={slug} onChange={setSlug} error={problems.fields.newRepositorySlug} />
          {error !== undefined && !problems.fields.newRepositorySlug && <ErrorMessage error={error} title="The restore did not start" />}
          <JobStatus followed={followed} label="The restore" />
          {followed.job?.state === 'done' && followed.job.kind === 'restore' && followed.job.result?.repositoryUrl && (
            <Text><a href={followed.job.result.repositoryUrl} target="_blank" rel="noreferrer">Open {followed.job.result.repository} in Bitbucket</a></Text>
          )}
        </Stack>
      </ModalBody>
      <ModalFooter>
        <Button appearance="subtle" onClick={onClose}>Close</Button>
        <Button appearance="primary" onClick={start} isLoading={starting} isDisabled={job !== undefined}>Restore</Button>
      </ModalFooter>
    </ModalDialog>
  );
}

export function DeletedRepositories() {
  const { page, ...paging } = usePaged((cursor) => invoke('listDeletedRepositories', cursor === undefined ? {} : { cursor }));
  const [restoring, setRestoring] = useState<DeletedRepository>();
  const [reindex, setReindex] = useState<JobView>();
  const [reindexError, setReindexError] = useState<unknown>();
  const followed = useJob(getJob, reindex?.id, { first: reindex, onEnded: page.reload });
  return (
    <Stack space="space.200">
      <Text>Repositories deleted from Bitbucket whose snapshots are still in the bucket. Restoring one creates a new repository; the snapshots stay until retention prunes them.</Text>
      {page.error !== undefined && <ErrorMessage error={page.error} title="Deleted repositories could not be listed" />}
      <DynamicTable
        caption="Deleted repositories still in the bucket"
        isLoading={page.loading}
        head={{ cells: [{ key: 'name', content: 'Repository' }, { key: 'last', content: 'Last snapshot' }, { key: 'action', content: 'Action' }] }}
        rows={(page.data?.items ?? []).map((repository) => ({
          key: repository.repositoryUuid,
          cells: [
            { key: 'name', content: <Stack><Text weight="medium">{repository.name}</Text><Text size="small" color="color.text.subtle">{repository.slug}</Text></Stack> },
            { key: 'last', content: <When at={repository.lastSnapshotAt} /> },
            { key: 'action', content: <Button onClick={() => setRestoring(repository)} aria-label={`Restore ${repository.name}`}>Restore…</Button> },
          ],
        }))}
        emptyView={page.error === undefined ? <EmptyState header="No deleted repositories" description="Every repository with snapshots in the bucket still exists in Bitbucket." headingLevel={3} /> : undefined}
      />
      <Pager label="Deleted repository pages" {...paging} />
      <Stack space="space.100">
        <Text>The lists on this page come from an index Lifeboat keeps beside the bucket. If snapshots were written or removed behind the app's back (with the command line), rebuild it.</Text>
        <Inline space="space.100"><Button onClick={() => { setReindexError(undefined); invoke('rebuildIndex').then(setReindex, setReindexError); }}>Rebuild the index from the bucket</Button></Inline>
        {reindexError !== undefined && <ErrorMessage error={reindexError} title="The index rebuild did not start" />}
        <JobStatus followed={followed} label="The index rebuild" />
      </Stack>
      <ModalTransition>{restoring && <RestoreDeleted repository={restoring} onClose={() => setRestoring(undefined)} />}</ModalTransition>
    </Stack>
  );
}

export function AuditLog() {
  const { page, ...paging } = usePaged((cursor) => invoke('getAuditLog', cursor === undefined ? {} : { cursor }));
  return (
    <Stack space="space.200">
      {page.error !== undefined && <ErrorMessage error={page.error} title="The audit log could not be read" />}
      <DynamicTable
        caption="Audit log, newest first"
        isLoading={page.loading}
        head={{ cells: [{ key: 'at', content: 'When' }, { key: 'who', content: 'Who' }, { key: 'action', content: 'What' }, { key: 'outcome', content: 'Outcome' }, { key: 'detail', content: 'Detail' }] }}
        rows={(page.data?.items ?? []).map((entry) => ({
          key: entry.id,
          cells: [
            { key: 'at', content: <When at={entry.at} /> },
            { key: 'who', content: entry.actorAccountId ?? 'Lifeboat' },
            { key: 'action', content: entry.action },
            { key: 'outcome', content: entry.outcome ? <Lozenge appearance={entry.outcome === 'ok' ? 'success' : 'removed'}>{entry.outcome}</Lozenge> : '—' },
            { key: 'detail', content: auditDetailWords(entry) },
          ],
        }))}
        emptyView={page.error === undefined ? <EmptyState header="Nothing recorded yet" description="Settings changes, backups asked for by people, and restores appear here." headingLevel={3} /> : undefined}
      />
      <Pager label="Audit log pages" {...paging} />
    </Stack>
  );
}

