import Heading from '@atlaskit/heading';
import { Box, Stack, Text, xcss } from '@atlaskit/primitives';
import SectionMessage from '@atlaskit/section-message';
import Tabs, { Tab, TabList, TabPanel } from '@atlaskit/tabs';
import { useEffect, useState } from 'react';
import { invoke, type SettingsView, type WorkspaceSettings } from './api.js';
import { ErrorMessage, isPermissionDenied } from '../../shared/page-error.js';
import { Loading } from './common.js';
import { useResource } from '../../shared/data.js';
import { ExpiryWarning } from './credential-access.js';
import { AuditLog, Coverage, DeletedRepositories } from './lists.js';
import { DEFAULT_SETTINGS, SettingsForm } from './settings-form.js';
import { SigningKey } from './signing-key.js';

const pageStyles = xcss({ padding: 'space.300', maxWidth: '960px' });
const panelStyles = xcss({ paddingBlock: 'space.200', width: '100%' });

export function App() {
  const loaded = useResource(() => invoke('getSettings'));
  const [view, setView] = useState<SettingsView>();
  const [draft, setDraft] = useState<WorkspaceSettings>(DEFAULT_SETTINGS);
  useEffect(() => {
    if (loaded.data) {
      setView(loaded.data);
      setDraft(loaded.data.settings ?? DEFAULT_SETTINGS);
    }
  }, [loaded.data]);

  let body;
  if (isPermissionDenied(loaded.error)) {
    body = (
      <SectionMessage appearance="warning" title="Only workspace admins can use this page">
        <Text>Lifeboat's set-up, coverage and audit log are for the admins of this workspace. Ask one of them to change the backup settings; each repository's own Lifeboat page shows how it is backed up.</Text>
      </SectionMessage>
    );
  } else if (loaded.error !== undefined) {
    body = <ErrorMessage error={loaded.error} title="Lifeboat's settings could not be loaded" />;
  } else if (!view) {
    body = <Loading label="Loading Lifeboat's settings…" />;
  } else {
    const firstRun = !view.settings;
    const saved = (next: SettingsView) => { setView(next); if (next.settings) setDraft(next.settings); };
    // A switch in the coverage table changes only overrides: unsaved edits of the other tabs stay.
    const overridesSaved = (next: SettingsView) => {
      setView(next);
      if (next.settings) {
        const { overrides } = next.settings;
        setDraft((previous) => ({ ...previous, overrides }));
      }
    };
    body = (
      <Stack space="space.200">
        <ExpiryWarning view={view} />
        {firstRun && (
          <SectionMessage appearance="information" title="Set up Lifeboat">
            <Text>Nothing is backed up yet. Fill in the four steps below — the bucket, Bitbucket access, and optionally encryption and Object Lock — test them, and save. Backups start with the next scheduled sweep, or at once with "Back up all now".</Text>
          </SectionMessage>
        )}
        <Tabs id="lifeboat-admin-tabs">
          <TabList>
            <Tab>Set-up</Tab>
            <Tab>Schedule and retention</Tab>
            <Tab>Repositories</Tab>
            <Tab>Deleted repositories</Tab>
            <Tab>Audit log</Tab>
          </TabList>
          <TabPanel><Box xcss={panelStyles}><Stack space="space.200"><SigningKey view={view} /><SettingsForm part="setup" view={view} onSaved={saved} draft={draft} setDraft={setDraft} /></Stack></Box></TabPanel>
          <TabPanel><Box xcss={panelStyles}><SettingsForm part="schedule" view={view} onSaved={saved} draft={draft} setDraft={setDraft} /></Box></TabPanel>
          <TabPanel><Box xcss={panelStyles}>{firstRun ? <Text>Save the set-up first; then every repository of the workspace is listed here with its backups.</Text> : <Coverage view={view} onSaved={overridesSaved} />}</Box></TabPanel>
          <TabPanel><Box xcss={panelStyles}>{firstRun ? <Text>Nothing is in the bucket yet.</Text> : <DeletedRepositories />}</Box></TabPanel>
          <TabPanel><Box xcss={panelStyles}><AuditLog /></Box></TabPanel>
        </Tabs>
      </Stack>
    );
  }
  return (
    <Box as="main" xcss={pageStyles}>
      <Stack space="space.200">
        <Heading size="large" as="h1">Lifeboat backups</Heading>
        {body}
      </Stack>
    </Box>
  );
}
