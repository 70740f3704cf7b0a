import Button from '@atlaskit/button/new';
import { Label } from '@atlaskit/form';
import Modal, { ModalBody, ModalFooter, ModalHeader, ModalTitle, ModalTransition } from '@atlaskit/modal-dialog';
import { RadioGroup } from '@atlaskit/radio';
import SectionMessage from '@atlaskit/section-message';
import Select from '@atlaskit/select';
import Spinner from '@atlaskit/spinner';
import Textfield from '@atlaskit/textfield';
import { useState } from 'react';
import { REPOSITORY_SLUG_RULE, isRepositorySlug } from '../../../src/bitbucket/slug.js';
import { branchName } from '../../../src/engine/git/ref-name.js';
import { getJob, invoke, type JobView, type RestoreDestination, type RestorePlanView, type RestoreRequest, type SnapshotSummary } from './api.js';
import { ErrorMessage } from '../../shared/page-error.js';
import { absoluteTime, bytes, plural, refLabel } from './format.js';
import { JobStatus } from '../../shared/job-status.js';
import { type ConfigurationChoice, type LoweringChoice, ConfigurationRestoreChoice, ConfigurationRestoreResult } from './ConfigurationRestore.js';
import { useJob, useResource } from '../../shared/data.js';

type Option = { label: string; value: string };

/**
 * Bitbucket's limits a restore meets (src/engine/restore-plan.ts has the sources): a
 * repository is locked at 4 GB; a push with a file over 100 MB is refused unless a
 * repository admin turned that limit off.
 */
const REPOSITORY_LIMIT_BYTES = 4 * 1000 ** 3;
const FILE_LIMIT_SETTING = 'Repository settings > Advanced';

const WHERE: Array<{ value: RestoreDestination; label: string }> = [
  { value: 'beside', label: 'Beside the current work, under restored/ (changes nothing that exists)' },
  { value: 'new-repository', label: 'Into a new repository' },
  { value: 'overwrite', label: 'Over the chosen branches (replaces them)' },
];

/** Restore: what, where, exactly what will happen, then the job's progress and its result. */
/** What the dialog knows of the repository: its name, where Bitbucket shows it and clones it. */
export interface RestoreTarget {
  name: string;
  fullName?: string;
  links?: { html?: string; clone?: string };
}

/** The recovery command line's restore, for what the dialog has chosen (src/cli/commands/restore.ts has its flags). */
function cliCommand(snapshot: SnapshotSummary, repository: RestoreTarget, where: RestoreDestination, refs: string[] | undefined, encrypted = true): string {
  const push = where === 'new-repository' ? '<clone URL of a new, empty repository>' : repository.links?.clone ?? '<clone URL of this repository>';
  return [
    'lifeboat restore', snapshot.id,
    ...(repository.fullName ? ['--repo', repository.fullName] : []),
    ...(encrypted ? ['--identity ~/lifeboat-key.txt'] : []),
    '--push', push,
    ...(where === 'beside' ? ['--beside'] : where === 'overwrite' ? ['--overwrite'] : []),
    ...(refs ?? []).flatMap((ref) => ['--ref', ref]),
  ].join(' ');
}

/** What the job's plan found, after it pushed. */
function planWords(plan: RestorePlanView): string {
  const oversized = plan.oversizedBundles.length > 0 ? ` ${plural(plan.oversizedBundles.length, 'bundle')} over the push limit of ${bytes(plan.pushMaxBytes)} went in one push each.` : '';
  const large = plan.largeFileCount > 0 ? ` It held ${plural(plan.largeFileCount, 'file')} over ${bytes(plan.fileMaxBytes)}.` : '';
  const locked = plan.overRepositoryLimit ? ` The repository is over Bitbucket's size limit of ${bytes(plan.repositoryMaxBytes)}: Bitbucket locks it.` : '';
  return `Pushed ${bytes(plan.bytes)} in at most ${plural(plan.pushes, 'push', 'pushes')}.${oversized}${large}${locked}`;
}

/** A restored ref's page in Bitbucket: a branch's own page, a tag's source. */
function refUrl(repositoryUrl: string | undefined, ref: { to: string; oid: string }): string | undefined {
  if (!repositoryUrl) return undefined;
  const base = repositoryUrl.replace(/\/$/, '');
  const branch = branchName(ref.to);
  return branch !== undefined ? `${base}/branch/${branch.split('/').map(encodeURIComponent).join('/')}` : `${base}/src/${ref.oid}`;
}

export function RestoreDialog({ snapshot, repository, onClose, onFinished }: { snapshot: SnapshotSummary; repository: RestoreTarget; onClose: () => void; onFinished: () => void }) {
  const repositoryName = repository.name;
  const encrypted = snapshot.recipients.length > 0;
  const { data: details, error: loadError } = useResource(() => invoke('getSnapshot', { snapshotId: snapshot.id }), [snapshot.id]);
  const [what, setWhat] = useState<'all' | 'chosen'>('all');
  const [chosen, setChosen] = useState<readonly Option[]>([]);
  const [where, setWhere] = useState<RestoreDestination>('beside');
  const [newSlug, setNewSlug] = useState('');
  const [typedName, setTypedName] = useState('');
  const [configuration, setConfiguration] = useState<ConfigurationChoice>('none');
  const [lowering, setLowering] = useState<LoweringChoice[]>([]);
  const [identity, setIdentity] = useState('');
  // Set once a restore of this dialog stopped at its plan for files over the limit: then the person must confirm the limit is off.
  const [largeFilesFound, setLargeFilesFound] = useState(false);
  const [largeFilesConfirmed, setLargeFilesConfirmed] = useState(false);
  const [startError, setStartError] = useState<unknown>();
  const [job, setJob] = useState<JobView>();
  const followed = useJob(getJob, job?.id, { ...(job ? { first: job } : {}), onEnded: (ended) => { if (ended.state === 'done') onFinished(); } });
  const done = followed.job?.state === 'done';
  const stoppedForLargeFiles = followed.job?.state === 'failed' && followed.job.error?.code === 'RESTORE_LARGE_FILES';


  const options: Option[] = (details?.refList ?? []).map((ref) => ({ value: ref.name, label: refLabel(ref.name) }));
  const refs = what === 'all' || configuration === 'only' ? undefined : chosen.map((option) => option.value);
  const problems: string[] = [];
  if (what === 'chosen' && chosen.length === 0 && configuration !== 'only') problems.push('Choose at least one branch or tag.');
  if (where === 'new-repository' && !isRepositorySlug(newSlug)) problems.push(`Name the new repository: ${REPOSITORY_SLUG_RULE}.`);
  if (where === 'overwrite' && typedName !== repositoryName) problems.push(`Type the repository name, ${repositoryName}, to confirm.`);
  if (where === 'overwrite' && what === 'all') problems.push('Overwriting replaces branches: choose which ones.');
  if (where === 'overwrite' && configuration === 'only') problems.push('Only the configuration: restore it into this repository (beside) or into a new repository.');
  if (encrypted && !identity.includes('AGE-SECRET-KEY-')) problems.push('Paste the age identity (AGE-SECRET-KEY-1…) this snapshot is encrypted for.');
  if (largeFilesFound && configuration !== 'only' && where === 'new-repository') problems.push('A repository Lifeboat creates has the file size limit on: restore into a repository whose limit is off, with the command line below.');
  else if (largeFilesFound && configuration !== 'only' && !largeFilesConfirmed) problems.push('Confirm that the file size limit of the target repository is off: Bitbucket refuses the snapshot\'s large files otherwise.');

  const count = refs ? plural(refs.length, 'ref') : `all ${plural(details?.refList.length ?? snapshot.refs, 'ref')}`;
  const summary = where === 'beside'
    ? `Lifeboat pushes ${count} of the snapshot of ${absoluteTime(snapshot.createdAt)} into this repository under restored/${snapshot.id}/. No existing branch or tag changes.`
    : where === 'new-repository'
      ? `Lifeboat creates the repository ${newSlug || '…'} in this workspace and pushes ${count} of the snapshot of ${absoluteTime(snapshot.createdAt)} into it. You become its admin.`
      : `Lifeboat first backs up the current state of this repository, then sets ${count} to where they were in the snapshot of ${absoluteTime(snapshot.createdAt)}. Commits pushed to them since are no longer on those branches (the backup keeps them).`;

  // What the manifest tells before the job reads the packs (which find files over the limit).
  const pushes = details ? ` About ${bytes(snapshot.bytes)} in at most ${plural(details.bundles + 1, 'push', 'pushes')}.` : '';
  const planned = `${summary}${pushes}`;

  const configurationSummary = configuration === 'only'
    ? `Lifeboat ${where === 'new-repository' ? `creates the repository ${newSlug || '…'} and writes` : 'backs up the current state of this repository, then writes'} the configuration of the snapshot of ${absoluteTime(snapshot.createdAt)} as planned above. No branch or tag changes.`
    : configuration === 'with-git' ? `${planned} Then it writes the repository configuration as planned above.` : planned;

  async function start() {
    setStartError(undefined);
    const request: RestoreRequest = {
      snapshotId: snapshot.id,
      mode: where,
      ...(refs ? { refs } : {}),
      ...(where === 'new-repository' ? { newRepositorySlug: newSlug } : {}),
      ...(where === 'overwrite' ? { confirmOverwrite: true } : {}),
      ...(configuration !== 'none' ? { configuration } : {}),
      ...(configuration !== 'none' && lowering.length > 0 ? { lowering } : {}),
      ...(encrypted ? { identity } : {}),
      ...(largeFilesFound && largeFilesConfirmed && configuration !== 'only' ? { largeFilesConfirmed: true } : {}),
    };
    try {
      setJob(await invoke('startRestore', request));
      // The page keeps it no longer than the request: the job holds it now.
      setIdentity('');
    } catch (error) {
      setStartError(error);
    }
  }

  // The job's result names each ref written: from the snapshot, to the target, at a commit.
  const result = followed.job?.kind === 'restore' ? followed.job.result : undefined;
  const restoredRefs = result?.refs ?? [];
  const target = result?.repository;
  const targetUrl = result?.repositoryUrl;
  return (
    <ModalTransition>
      <Modal onClose={onClose} width="large">
        <ModalHeader>
          <ModalTitle>Restore from the snapshot of {absoluteTime(snapshot.createdAt)}</ModalTitle>
        </ModalHeader>
        <ModalBody>
          {loadError !== undefined && <ErrorMessage error={loadError} title="Could not read the snapshot" />}
          {!details && loadError === undefined && <Spinner label="Loading the snapshot" />}
          {details && !job && (
            <>
              {details.signedBy === undefined && (
                <SectionMessage appearance="warning" title="This snapshot is not signed by Lifeboat">
                  <p>It was taken before Lifeboat signed its snapshots, or written into the bucket by someone else. Restore it only if you know where it came from.</p>
                </SectionMessage>
              )}
              <fieldset>
                <legend>What</legend>
                <RadioGroup
                  name="what"
                  value={what}
                  onChange={(event) => setWhat(event.currentTarget.value as 'all' | 'chosen')}
                  options={[{ name: 'what', value: 'all', label: `Everything (${plural(details.refList.length, 'ref')})` }, { name: 'what', value: 'chosen', label: 'Chosen branches and tags' }]}
                />
                {what === 'chosen' && (
                  <>
                    <Label htmlFor="restore-refs">Branches and tags to restore</Label>
                    <Select<Option, true> inputId="restore-refs" isMulti options={options} value={chosen} onChange={(value) => setChosen(value)} placeholder="Search branches and tags" />
                  </>
                )}
              </fieldset>
              <fieldset>
                <legend>Where</legend>
                <RadioGroup name="where" value={where} onChange={(event) => setWhere(event.currentTarget.value as RestoreDestination)} options={WHERE.map((option) => ({ ...option, name: 'where' }))} />
                {where === 'new-repository' && (
                  <>
                    <Label htmlFor="restore-new-slug">Name of the new repository</Label>
                    <Textfield id="restore-new-slug" value={newSlug} onChange={(event) => setNewSlug(event.currentTarget.value)} />
                  </>
                )}
                {where === 'overwrite' && (
                  <>
                    <SectionMessage appearance="warning" title="This replaces the chosen branches">
                      <p>The current state of the repository is backed up first, so this restore can be undone.</p>
                    </SectionMessage>
                    <Label htmlFor="restore-confirm">Type {repositoryName} to confirm</Label>
                    <Textfield id="restore-confirm" value={typedName} onChange={(event) => setTypedName(event.currentTarget.value)} />
                  </>
                )}
              </fieldset>
              <ConfigurationRestoreChoice snapshotId={snapshot.id} target={where === 'new-repository' ? 'new-repository' : 'this-repository'} value={configuration} onChange={setConfiguration} lowering={lowering} onLoweringChange={setLowering} />
              {encrypted && (
                <fieldset>
                  <legend>Decryption</legend>
                  <SectionMessage appearance="warning" title="This snapshot is encrypted">
                    <p>Lifeboat holds only the public keys ({snapshot.recipients.join(', ')}). To restore it here, give the age identity for one of them.</p>
                    <p>It is used for this restore only: kept as a Forge secret under this job and deleted when the job ends, also when it fails. It is never logged, shown again or recorded in the job or the audit log.</p>
                  </SectionMessage>
                  <Label htmlFor="restore-identity">Age identity (AGE-SECRET-KEY-1…)</Label>
                  <Textfield id="restore-identity" type="password" autoComplete="off" spellCheck={false} value={identity} onChange={(event) => setIdentity(event.currentTarget.value)} />
                  <p>Or restore it yourself, with the identity never leaving your machine (the lifeboat command line, with the bucket set in LIFEBOAT_BUCKET and its keys as the AWS SDK takes them):</p>
                  <pre className="command" data-testid="restore-cli-command"><code>{cliCommand(snapshot, repository, where, refs)}</code></pre>
                </fieldset>
              )}
              {largeFilesFound && configuration !== 'only' && (
                <fieldset>
                  <legend>Large files</legend>
                  <SectionMessage appearance="warning" title="The snapshot holds files over 100 MB">
                    <p>Bitbucket refuses a push containing a file over 100 MB unless a repository admin of the target turned its file size limit off ({FILE_LIMIT_SETTING}). The restore starts only once you confirm that.</p>
                  </SectionMessage>
                  {where === 'new-repository' ? (
                    <>
                      <p>A new repository starts with the limit on, so Lifeboat cannot push these files into one it creates. Create the repository in Bitbucket, turn its limit off, and push the snapshot into it with the lifeboat command line:</p>
                      <pre className="command"><code>{`${cliCommand(snapshot, repository, where, refs, encrypted)} --allow-large-files`}</code></pre>
                    </>
                  ) : (
                    <>
                      <input type="checkbox" id="restore-large-files" checked={largeFilesConfirmed} onChange={(event) => setLargeFilesConfirmed(event.currentTarget.checked)} />
                      <Label htmlFor="restore-large-files">The file size limit of the target repository is off</Label>
                    </>
                  )}
                </fieldset>
              )}
              {snapshot.bytes > REPOSITORY_LIMIT_BYTES && configuration !== 'only' && (
                <SectionMessage appearance="warning" title="Over Bitbucket's repository size limit">
                  <p data-testid="restore-repository-limit">The snapshot holds {bytes(snapshot.bytes)}: Bitbucket locks a repository over {bytes(REPOSITORY_LIMIT_BYTES)}, and accepts no push into it after that.</p>
                </SectionMessage>
              )}
              <SectionMessage appearance="information" title="What will happen">
                <p data-testid="restore-summary">{configurationSummary}</p>
                {problems.length > 0 && <ul>{problems.map((problem) => <li key={problem}>{problem}</li>)}</ul>}
              </SectionMessage>
            </>
          )}
          <JobStatus followed={followed} label="Restore" />
          {stoppedForLargeFiles && (
            <p><Button onClick={() => { setJob(undefined); setLargeFilesFound(true); setLargeFilesConfirmed(false); }}>Back to the restore</Button></p>
          )}
          {done && result?.plan && <p data-testid="restore-plan">{planWords(result.plan)}</p>}
          <ConfigurationRestoreResult job={followed.job} />
          {done && result?.mode === 'new-repository' && target && (
            <p>{targetUrl ? <a href={targetUrl} target="_blank" rel="noreferrer">Open {target} in Bitbucket</a> : <>The new repository is {target}.</>}</p>
          )}
          {restoredRefs.length > 0 && (
            <table className="refs" data-testid="restored-refs">
              <caption>Written{target ? ` in ${target}` : ''}</caption>
              <thead><tr><th scope="col">From the snapshot</th><th scope="col">Restored as</th><th scope="col">Commit</th></tr></thead>
              <tbody>
                {restoredRefs.map((ref) => {
                  const url = refUrl(targetUrl, ref);
                  return <tr key={ref.to}><td>{refLabel(ref.from)}</td><td>{url ? <a href={url} target="_blank" rel="noreferrer"><code>{refLabel(ref.to)}</code></a> : <code>{refLabel(ref.to)}</code>}</td><td><code>{ref.oid.slice(0, 12)}</code></td></tr>;
                })}
              </tbody>
            </table>
          )}
          {followed.error !== undefined && <ErrorMessage error={followed.error} title="Could not follow the restore" />}
          {startError !== undefined && <ErrorMessage error={startError} title="The restore could not start" />}
        </ModalBody>
        <ModalFooter>
          <Button onClick={onClose}>{job ? 'Close' : 'Cancel'}</Button>
          {!job && <Button appearance={where === 'overwrite' ? 'warning' : 'primary'} isDisabled={!details || problems.length > 0} onClick={start}>Start restore</Button>}
        </ModalFooter>
      </Modal>
    </ModalTransition>
  );
}
