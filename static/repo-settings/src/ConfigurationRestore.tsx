import { RadioGroup } from '@atlaskit/radio';
import SectionMessage from '@atlaskit/section-message';
import Spinner from '@atlaskit/spinner';
import { invoke, type ConfigurationNoteView, type ConfigurationPlanView, type JobView, type RestoreRequest } from './api.js';
import { ErrorMessage } from '../../shared/page-error.js';
import { plural } from './format.js';
import { useResource } from '../../shared/data.js';

export type ConfigurationChoice = NonNullable<RestoreRequest['configuration']> | 'none';
/** A lowering change the person ticked, as the plan listed it. */
export type LoweringChoice = NonNullable<RestoreRequest['lowering']>[number];
const sameChange = (a: LoweringChoice) => (b: LoweringChoice): boolean => a.section === b.section && a.action === b.action && a.item === b.item;

const CHOICES: Array<{ value: ConfigurationChoice; label: string }> = [
  { value: 'none', label: 'Git history only' },
  { value: 'with-git', label: 'Git history and the repository configuration' },
  { value: 'only', label: 'Only the repository configuration (branch restrictions, reviewers, webhooks, keys, access, variables, environments)' },
];

const ACTION_WORDS = { add: 'Add', replace: 'Replace', remove: 'Remove' } as const;

function Notes({ notes, testId }: { notes: ConfigurationNoteView[]; testId: string }) {
  return (
    <ul data-testid={testId}>
      {notes.map((note) => <li key={`${note.section} ${note.item}`}><strong>{note.section}</strong>: {note.item} — {note.reason}</li>)}
    </ul>
  );
}

/**
 * The restore dialog's configuration part: whether to restore it, and — before
 * anything happens — exactly what it will change in the target, as the backend
 * plans it against the target's configuration now.
 */
export function ConfigurationRestoreChoice({ snapshotId, target, value, onChange, lowering, onLoweringChange }: {
  snapshotId: string; target: ConfigurationPlanView['target']; value: ConfigurationChoice; onChange: (choice: ConfigurationChoice) => void;
  lowering: LoweringChoice[]; onLoweringChange: (chosen: LoweringChoice[]) => void;
}) {
  // Planned only once asked for, and afresh for another target.
  const wanted = value !== 'none';
  const planned = useResource(async () => (wanted ? invoke('planConfigurationRestore', { snapshotId, target }) : undefined), [snapshotId, target, wanted]);
  const plan = planned.loading ? undefined : planned.data;
  const error = planned.loading ? undefined : planned.error;

  return (
    <fieldset>
      <legend>Repository configuration</legend>
      <RadioGroup name="configuration" value={value} onChange={(event) => onChange(event.currentTarget.value as ConfigurationChoice)} options={CHOICES.map((choice) => ({ ...choice, name: 'configuration' }))} />
      {value !== 'none' && error !== undefined && <ErrorMessage error={error} title="The configuration cannot be restored" />}
      {value !== 'none' && !plan && error === undefined && <Spinner label="Planning the configuration restore" />}
      {value !== 'none' && plan && (
        <SectionMessage appearance="information" title={target === 'new-repository' ? 'Configuration the new repository gets' : 'What changes in this repository\'s configuration'}>
          {plan.changes.length === 0
            ? <p>Nothing: the configuration already matches the snapshot ({plural(plan.unchanged, 'item')}).</p>
            : (
              <ul data-testid="configuration-plan">
                {plan.changes.map((change) => <li key={`${change.section} ${change.action} ${change.item}`}>{ACTION_WORDS[change.action]} <strong>{change.section}</strong>: {change.item}</li>)}
              </ul>
            )}
          {plan.lowering.length > 0 && (
            <>
              <p>These would lower access or remove a reviewer, webhook or deploy key. None is part of the restore unless you tick it:</p>
              <ul data-testid="configuration-lowering">
                {plan.lowering.map((change, index) => (
                  <li key={`${change.section} ${change.action} ${change.item}`}>
                    <input type="checkbox" id={`lowering-${index}`} checked={lowering.some(sameChange(change))} onChange={(event) => onLoweringChange(event.currentTarget.checked ? [...lowering, change] : lowering.filter((chosen) => !sameChange(change)(chosen)))} />
                    {' '}<label htmlFor={`lowering-${index}`}>{ACTION_WORDS[change.action]} <strong>{change.section}</strong>: {change.item}</label>
                  </li>
                ))}
              </ul>
            </>
          )}
          {plan.changes.length > 0 && plan.unchanged > 0 && <p>{plural(plan.unchanged, 'item')} already match the snapshot.</p>}
          {plan.kept.length > 0 && <><p>Left as they are:</p><Notes notes={plan.kept} testId="configuration-kept" /></>}
          {plan.notWritable.length > 0 && <><p>Cannot be written (set these again by hand afterwards):</p><Notes notes={plan.notWritable} testId="configuration-not-writable" /></>}
          {target === 'this-repository' && <p>The current state of the repository is backed up first.</p>}
        </SectionMessage>
      )}
    </fieldset>
  );
}

/** What a finished restore wrote of the configuration, and what it could not. */
export function ConfigurationRestoreResult({ job }: { job: JobView | undefined }) {
  const result = job?.state === 'done' && job.kind === 'restore' ? job.result?.configuration : undefined;
  if (!result) return null;
  return (
    <SectionMessage appearance={result.notWritten.length > 0 ? 'warning' : 'success'} title={`Configuration: ${plural(result.writtenCount, 'change')} written${result.notWrittenCount > 0 ? `, ${plural(result.notWrittenCount, 'item')} not written` : ''}`}>
      {result.written.length > 0 && (
        <ul data-testid="configuration-written">
          {result.written.map((change) => <li key={`${change.section} ${change.action} ${change.item}`}>{ACTION_WORDS[change.action]} <strong>{change.section}</strong>: {change.item}</li>)}
        </ul>
      )}
      {result.notWritten.length > 0 && <><p>Not written:</p><Notes notes={result.notWritten} testId="configuration-not-written" /></>}
    </SectionMessage>
  );
}
