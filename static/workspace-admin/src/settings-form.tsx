// The settings a workspace admin edits: storage, Bitbucket access, encryption,
// Object Lock (the first-run set-up), then schedule and retention. One draft,
// saved whole; the backend validates and names every bad field.
import Button from '@atlaskit/button/new';
import { Label } from '@atlaskit/form';
import Heading from '@atlaskit/heading';
import Lozenge from '@atlaskit/lozenge';
import ModalDialog, { ModalBody, ModalFooter, ModalHeader, ModalTitle, ModalTransition } from '@atlaskit/modal-dialog';
import { Box, Inline, Stack, Text, xcss } from '@atlaskit/primitives';
import SectionMessage from '@atlaskit/section-message';
import Select from '@atlaskit/select';
import Toggle from '@atlaskit/toggle';
import { useState } from 'react';
import { GIT_USERNAMES } from '../../../src/bitbucket/credentials.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../../../src/engine/bucket/retention.js';
import { invoke, type BitbucketCheck, type BucketCheck, type SaveSettingsRequest, type SettingsView, type WorkspaceSettings } from './api.js';
import { bitbucketCheckWords, bucketCheckWords } from './check-words.js';
import { ErrorMessage, PageError, fieldProblems } from '../../shared/page-error.js';
import { Command, RadioField, TextField } from './fields.js';
import { STORAGE_PROVIDERS, providerOf, type StorageProvider } from '../../../src/storage-providers.js';
import { CredentialAccess } from './credential-access.js';
import { EndpointAccess } from './egress.js';
import { RetentionPreview } from './retention-preview.js';

export const DEFAULT_SETTINGS: WorkspaceSettings = {
  bucket: { endpoint: '', region: 'eu-west-1', name: '', prefix: 'lifeboat', addressing: 'virtual-hosted', accessKeyId: '' },
  encryption: { recipients: [] },
  objectLock: { enabled: false, mode: 'GOVERNANCE', days: 30 },
  schedule: { interval: 'day' },
  retention: { ...DEFAULT_RETENTION },
  repositories: { mode: 'all', chosen: [], includeNew: true },
  overrides: {},
  bitbucket: { credential: 'access-token', email: '' },
};

/** The fields the form shows, by their path in the save request (the settings' own from the settings object). */
const FIELD_NAMES = [
  'bucket.endpoint', 'bucket.region', 'bucket.name', 'bucket.prefix', 'bucket.addressing', 'bucket.accessKeyId', 'bucketSecretAccessKey',
  'bitbucket.email', 'bitbucket.expiresOn', 'bitbucketToken', 'encryption.recipients', 'objectLock.days', 'retention', 'schedule.interval',
] as const;

const sectionStyles = xcss({ borderColor: 'color.border', borderWidth: 'border.width', borderStyle: 'solid', borderRadius: 'radius.small', padding: 'space.200' });

function Section({ title, children, step }: { title: string; step?: number; children: React.ReactNode }) {
  return (
    <Box as="section" xcss={sectionStyles} aria-label={title}>
      <Stack space="space.150">
        <Heading size="small" as="h3">{step !== undefined ? `${step}. ${title}` : title}</Heading>
        {children}
      </Stack>
    </Box>
  );
}

function SecretState({ set, what }: { set: boolean; what: string }) {
  return set
    ? <Inline space="space.100" alignBlock="center"><Lozenge appearance="success">set</Lozenge><Text>A {what} is stored. Leave the field empty to keep it, or type a new one to replace it.</Text></Inline>
    : <Inline space="space.100" alignBlock="center"><Lozenge appearance="moved">not set</Lozenge><Text>No {what} is stored yet.</Text></Inline>;
}

function CheckResult({ check }: { check: BucketCheck | BitbucketCheck | undefined }) {
  if (!check) return null;
  const scopes = 'missingScopes' in check && check.missingScopes.length > 0 ? check.missingScopes : undefined;
  return (
    <SectionMessage appearance={check.ok ? 'success' : 'warning'} title={check.ok ? 'The test passed' : 'The test found a problem'}>
      <Stack space="space.050">
        <Text>{'gitUsername' in check ? bitbucketCheckWords(check) : bucketCheckWords(check)}</Text>
        {'objectLock' in check && <Text>Object Lock on the bucket: {check.objectLock ? 'enabled' : 'not enabled'}.</Text>}
        {'gitUsername' in check && <Text>Git user name for this credential: <code>{check.gitUsername}</code>.</Text>}
        {scopes && <Text>Missing scopes: {scopes.join(', ')}.</Text>}
      </Stack>
    </SectionMessage>
  );
}

const parseRecipients = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);
const RETENTION_RULES: ReadonlyArray<[keyof RetentionPolicy, string]> = [
  ['keepWithin', 'Everything within'], ['keepLast', 'Keep the last'], ['keepHourly', 'Hourly'], ['keepDaily', 'Daily'], ['keepWeekly', 'Weekly'], ['keepMonthly', 'Monthly'], ['keepYearly', 'Yearly'],
];

export interface SettingsFormProps {
  view: SettingsView;
  onSaved: (view: SettingsView) => void;
  part: 'setup' | 'schedule';
  /** The draft lives with the page, so switching tabs keeps unsaved edits. */
  draft: WorkspaceSettings;
  setDraft: (draft: WorkspaceSettings) => void;
}

export function SettingsForm({ view, onSaved, part, draft, setDraft }: SettingsFormProps) {
  const [bucketSecret, setBucketSecret] = useState('');
  const [token, setToken] = useState('');
  const [recipientsText, setRecipientsText] = useState(draft.encryption.recipients.join('\n'));
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [askDowngrade, setAskDowngrade] = useState(false);
  const [testing, setTesting] = useState<'bucket' | 'bitbucket'>();
  const [bucketCheck, setBucketCheck] = useState<BucketCheck>();
  const [bitbucketCheck, setBitbucketCheck] = useState<BitbucketCheck>();
  const [testError, setTestError] = useState<{ which: 'bucket' | 'bitbucket'; error: unknown }>();

  const recipients = parseRecipients(recipientsText);
  const current: WorkspaceSettings = { ...draft, encryption: { recipients } };
  const dirty = !view.settings || JSON.stringify(current) !== JSON.stringify(view.settings) || bucketSecret !== '' || token !== '';
  const problems = fieldProblems(saveError, FIELD_NAMES);
  // A new token or key failed its test and the working one was kept: saving it anyway is the admin's explicit choice.
  const failedTest = saveError instanceof PageError && saveError.problems.some((problem) => problem.kind === 'failed-test');
  const preset = providerOf(draft.bucket.endpoint);
  const credential = draft.bitbucket.credential;

  const set = <S extends keyof WorkspaceSettings>(section: S, change: Partial<WorkspaceSettings[S]>) => {
    setSaved(false);
    setDraft({ ...draft, [section]: { ...(draft[section] as object), ...change } });
  };
  // Replaced whole: an expiry date belongs to an API token only, and is dropped with it.
  const setBitbucket = (bitbucket: WorkspaceSettings['bitbucket']) => {
    setSaved(false);
    setDraft({ ...draft, bitbucket });
  };
  const choosePreset = (chosen: StorageProvider) => set('bucket', { endpoint: chosen.endpoint, region: chosen.region, addressing: chosen.addressing });

  /** Saves the draft; true when it was stored. */
  const save = async (confirmDowngrade = false, saveAnyway = false): Promise<boolean> => {
    const previous = view.settings?.encryption.recipients ?? [];
    if (previous.length > 0 && recipients.length === 0 && !confirmDowngrade) {
      setAskDowngrade(true);
      return false;
    }
    setSaving(true);
    setSaveError(undefined);
    const request: SaveSettingsRequest = {
      settings: current,
      ...(bucketSecret.trim() ? { bucketSecretAccessKey: bucketSecret } : {}),
      ...(token.trim() ? { bitbucketToken: token } : {}),
      ...(confirmDowngrade ? { confirmDowngrade: true } : {}),
      ...(saveAnyway ? { saveAnyway: true } : {}),
    };
    try {
      const next = await invoke('saveSettings', request);
      setBucketSecret('');
      setToken('');
      setSaved(true);
      onSaved(next);
      return true;
    } catch (error) {
      setSaveError(error);
      return false;
    } finally {
      setSaving(false);
    }
  };

  const test = async (which: 'bucket' | 'bitbucket') => {
    setTestError(undefined);
    if (dirty && !(await save())) return;
    setTesting(which);
    try {
      if (which === 'bucket') setBucketCheck(await invoke('testBucket'));
      else setBitbucketCheck(await invoke('testBitbucket'));
    } catch (error) {
      setTestError({ which, error });
    } finally {
      setTesting(undefined);
    }
  };
  const testLabel = (what: string) => (dirty ? `Save and test ${what}` : `Test ${what}`);

  const saveBar = (
    <Stack space="space.100">
      {saveError !== undefined && (problems.other.length > 0 || Object.keys(problems.fields).length === 0) && <ErrorMessage error={saveError} title="The settings were not saved" />}
      {saveError !== undefined && problems.other.length === 0 && Object.keys(problems.fields).length > 0 && (
        <SectionMessage appearance="error" title="The settings were not saved"><Text>{failedTest ? 'The stored credential works and was kept. Fix the fields marked below and save again, or save anyway.' : 'Fix the fields marked below and save again.'}</Text></SectionMessage>
      )}
      {saved && !dirty && <SectionMessage appearance="success" title="Settings saved"><Text>Backups use them from the next run.</Text></SectionMessage>}
      <Inline space="space.100">
        <Button appearance="primary" onClick={() => void save()} isLoading={saving} isDisabled={!dirty}>Save settings</Button>
        {failedTest && <Button appearance="warning" onClick={() => void save(false, true)} isDisabled={saving}>Save anyway</Button>}
      </Inline>
    </Stack>
  );

  const downgradeDialog = (
    <ModalTransition>
      {askDowngrade && (
        <ModalDialog onClose={() => setAskDowngrade(false)}>
          <ModalHeader><ModalTitle appearance="warning">Turn encryption off?</ModalTitle></ModalHeader>
          <ModalBody>
            <Text>From the next backup on, every repository starts a new full chain stored unencrypted in the bucket. Snapshots already written stay encrypted and still need their identity to restore.</Text>
          </ModalBody>
          <ModalFooter>
            <Button appearance="subtle" onClick={() => setAskDowngrade(false)}>Keep encryption</Button>
            <Button appearance="warning" onClick={() => { setAskDowngrade(false); void save(true); }}>Turn encryption off</Button>
          </ModalFooter>
        </ModalDialog>
      )}
    </ModalTransition>
  );

  if (part === 'schedule') {
    return (
      <Stack space="space.200">
        <Section title="Schedule">
          <RadioField
            id="schedule-interval"
            label="Back up every repository that changed"
            value={draft.schedule.interval}
            options={[{ value: 'hour', label: 'Every hour' }, { value: 'day', label: 'Every day' }, { value: 'week', label: 'Every week' }]}
            onChange={(interval) => set('schedule', { interval })}
            helper="Pushes are also backed up soon after they happen; the schedule catches everything else."
          />
        </Section>
        <Section title="Retention">
          <Text>Which snapshots pruning keeps, by restic's rules: every snapshot within a time of the newest one (e.g. 30d, 1y6m, 12h), and each other rule keeps the newest snapshot of that many hours, days, weeks, months or years. The newest snapshot is always kept, and so is every snapshot an undo or a restore still needs. Leave a rule empty not to use it; leave all empty to keep everything.</Text>
          <Inline space="space.200" shouldWrap>
            {RETENTION_RULES.map(([rule, label]) => (
              <TextField
                key={rule}
                id={`retention-${rule}`}
                label={label}
                type={rule === 'keepWithin' ? 'text' : 'number'}
                width={120}
                value={draft.retention[rule]?.toString() ?? ''}
                onChange={(text) => {
                  const rest = { ...draft.retention };
                  delete rest[rule];
                  setSaved(false);
                  setDraft({ ...draft, retention: text === '' ? rest : { ...rest, [rule]: rule === 'keepWithin' ? text.trim() : Number(text) } });
                }}
              />
            ))}
          </Inline>
          {problems.fields.retention && <SectionMessage appearance="error"><Text>Retention {problems.fields.retention}</Text></SectionMessage>}
        </Section>
        {view.settings && (
          <Section title="Preview: what this policy keeps">
            <RetentionPreview draft={draft} />
          </Section>
        )}
        {saveBar}
        {downgradeDialog}
      </Stack>
    );
  }

  return (
    <Stack space="space.200">
      <Section title="Storage: the bucket backups go to" step={1}>
        <Text>Lifeboat writes into your own S3-compatible bucket. Create the bucket first, and an access key that may read, write, list and delete objects in it.</Text>
        <Stack space="space.050">
          <Label htmlFor="storage-provider">Provider</Label>
          <Select<StorageProvider>
            inputId="storage-provider"
            options={[...STORAGE_PROVIDERS]}
            getOptionLabel={(option) => option.label}
            getOptionValue={(option) => option.id}
            value={preset}
            onChange={(chosen) => { if (chosen) choosePreset(chosen); }}
          />
          {preset && <Text size="small">{preset.hint}</Text>}
        </Stack>
        <TextField id="bucket-endpoint" label="Endpoint" value={draft.bucket.endpoint} onChange={(endpoint) => set('bucket', { endpoint })} error={problems.fields['bucket.endpoint']} helper="Empty for AWS S3; otherwise the provider's https:// URL." />
        {view.settings !== undefined || draft.bucket.endpoint !== '' ? <EndpointAccess endpoint={draft.bucket.endpoint} /> : null}
        <TextField id="bucket-region" label="Region" value={draft.bucket.region} onChange={(region) => set('bucket', { region })} error={problems.fields['bucket.region']} />
        <TextField id="bucket-name" label="Bucket name" isRequired value={draft.bucket.name} onChange={(name) => set('bucket', { name })} error={problems.fields['bucket.name']} />
        <TextField id="bucket-prefix" label="Key prefix" value={draft.bucket.prefix} onChange={(prefix) => set('bucket', { prefix })} error={problems.fields['bucket.prefix']} helper="Every object Lifeboat writes goes under this folder of the bucket." />
        <RadioField
          id="bucket-addressing"
          label="Addressing"
          value={draft.bucket.addressing}
          options={[{ value: 'virtual-hosted', label: 'Virtual-hosted (bucket.endpoint)' }, { value: 'path', label: 'Path style (endpoint/bucket)' }]}
          onChange={(addressing) => set('bucket', { addressing })}
          error={problems.fields['bucket.addressing']}
        />
        <TextField id="bucket-access-key" label="Access key ID" isRequired value={draft.bucket.accessKeyId} onChange={(accessKeyId) => set('bucket', { accessKeyId })} error={problems.fields['bucket.accessKeyId']} />
        <TextField id="bucket-secret" label="Secret access key" type="password" value={bucketSecret} onChange={(value) => { setSaved(false); setBucketSecret(value); }} error={problems.fields.bucketSecretAccessKey} helper={<SecretState set={view.secrets.bucketSecretAccessKey} what="secret access key" />} />
        <Inline space="space.100"><Button onClick={() => void test('bucket')} isLoading={testing === 'bucket'}>{testLabel('bucket')}</Button></Inline>
        {testError?.which === 'bucket' && <ErrorMessage error={testError.error} title="The bucket could not be tested" />}
        <CheckResult check={bucketCheck} />
      </Section>

      <Section title="Bitbucket access" step={2}>
        <Text>Backups clone and restores push with a credential you create in Bitbucket. On Bitbucket Premium, create a <strong>workspace access token</strong> (Workspace settings → Access tokens). Otherwise, create an <strong>API token of a service account</strong> (a separate Atlassian account that is a member of this workspace; id.atlassian.com → Security → API tokens, "with scopes", app Bitbucket).</Text>
        <RadioField
          id="bitbucket-credential"
          label="Credential"
          value={credential}
          options={[{ value: 'access-token', label: 'Workspace access token (Premium)' }, { value: 'api-token', label: 'API token of a service account' }]}
          onChange={(value) => setBitbucket(value === 'api-token' ? { ...draft.bitbucket, credential: value } : { credential: value, email: draft.bitbucket.email })}
        />
        <CredentialAccess kind={credential} check={bitbucketCheck} />
        <Text>Lifeboat uses it with the git user name <code>{GIT_USERNAMES[credential]}</code>.</Text>
        {credential === 'api-token' && (
          <>
            <TextField id="bitbucket-email" label="Email of the service account" type="email" value={draft.bitbucket.email} onChange={(email) => set('bitbucket', { email })} error={problems.fields['bitbucket.email']} helper="The API token authenticates together with this address." />
            <TextField
              id="bitbucket-expires-on"
              label="Expiry date of the API token (optional)"
              type="date"
              width={200}
              value={draft.bitbucket.expiresOn ?? ''}
              onChange={(date) => setBitbucket(date === '' ? { credential, email: draft.bitbucket.email } : { ...draft.bitbucket, expiresOn: date })}
              error={problems.fields['bitbucket.expiresOn']}
              helper="Bitbucket asks for one when the token is created (a year at most) and does not tell apps: with it, this page warns two weeks ahead."
            />
          </>
        )}
        <TextField id="bitbucket-token" label={credential === 'access-token' ? 'Workspace access token' : 'API token'} type="password" value={token} onChange={(value) => { setSaved(false); setToken(value); }} error={problems.fields.bitbucketToken} helper={<SecretState set={view.secrets.bitbucketToken} what="Bitbucket token" />} />
        <Inline space="space.100"><Button onClick={() => void test('bitbucket')} isLoading={testing === 'bitbucket'}>{testLabel('Bitbucket access')}</Button></Inline>
        {testError?.which === 'bitbucket' && <ErrorMessage error={testError.error} title="Bitbucket access could not be tested" />}
        <CheckResult check={bitbucketCheck} />
      </Section>

      <Section title="Encryption (optional)" step={3}>
        <Text>Paste one or more age recipients (public keys, starting with age1) to encrypt every snapshot before it leaves for the bucket. Lifeboat keeps only the recipients. Keep the identity (the private key) outside Bitbucket and outside this app — in a password manager or a safe: without it, encrypted snapshots cannot be restored. Create a pair with:</Text>
        <Command>age-keygen -o lifeboat-key.txt</Command>
        <Text>It prints the public key to paste here; lifeboat-key.txt holds the identity.</Text>
        <TextField id="encryption-recipients" label="age recipients" value={recipientsText} onChange={(value) => { setSaved(false); setRecipientsText(value); }} error={problems.fields['encryption.recipients']} placeholder="age1…" helper="Several recipients: separate them with spaces. Empty: snapshots are stored unencrypted." />
      </Section>

      <Section title="Object Lock (optional)" step={4}>
        <Text>With Object Lock, every object a backup writes is retained for the days chosen, so nobody (not even a stolen key) can delete or overwrite it before then. The bucket must have been created with Object Lock enabled (which turns on versioning); "Test bucket" says whether it is.</Text>
        <Inline space="space.100" alignBlock="center">
          <Toggle id="object-lock-enabled" isChecked={draft.objectLock.enabled} onChange={() => set('objectLock', { enabled: !draft.objectLock.enabled })} />
          <Label htmlFor="object-lock-enabled">Lock every object a backup writes</Label>
        </Inline>
        {draft.objectLock.enabled && (
          <>
            <RadioField
              id="object-lock-mode"
              label="Mode"
              value={draft.objectLock.mode}
              options={[{ value: 'GOVERNANCE', label: 'Governance: users with a special permission can still remove the lock' }, { value: 'COMPLIANCE', label: 'Compliance: nobody can remove the lock, not even the account root' }]}
              onChange={(mode) => set('objectLock', { mode })}
            />
            <TextField id="object-lock-days" label="Days" type="number" width={120} value={String(draft.objectLock.days)} onChange={(days) => set('objectLock', { days: Number(days) })} error={problems.fields['objectLock.days']} />
          </>
        )}
      </Section>
      {saveBar}
      {downgradeDialog}
    </Stack>
  );
}
