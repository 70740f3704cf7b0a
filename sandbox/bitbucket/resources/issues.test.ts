import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEMO_USERS } from '../../demo.js';
import { validateResponse } from '../index.js';
import { startWorld, type Answer, type TestWorld } from './test-client.js';
import { readZip } from './zip.js';

const ISSUE = '/2.0/repositories/{workspace}/{repo_slug}/issues/{issue_id}';
const EXPORT_ZIP = '/2.0/repositories/{workspace}/{repo_slug}/issues/export/{repo_name}-issues-{task_id}.zip';

interface Db {
  issues: Array<{ id: number; title: string; status: string; reporter: { account_id: string } | null; milestone: string | null; component: string | null }>;
  comments: Array<{ id: number; issue: number; content: string; user: { account_id: string } | null }>;
  attachments: Array<{ issue: number; filename: string; path: string }>;
  logs: Array<{ issue: number; field: string; changed_from: string; changed_to: string; comment: number | null }>;
  meta: Record<string, unknown>;
  milestones: Array<{ name: string }>;
  versions: Array<{ name: string }>;
  components: Array<{ name: string }>;
}

describe('issues', () => {
  let world: TestWorld;
  let webApp: string;
  let scratch: string;

  before(async () => {
    world = await startWorld();
    webApp = world.repo('web-app');
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-issues-test-'));
  });
  after(async () => {
    await world.close();
    await rm(scratch, { recursive: true, force: true });
  });

  /** Runs an export to its end, polling as a client must. */
  async function exportArchive(slug: string): Promise<Buffer> {
    const started = await world.call('POST', `${world.repo(slug)}/issues/export`, { body: { type: 'export_options', include_attachments: true } });
    assert.equal(started.status, 202);
    const location = started.headers.get('location') ?? '';
    assert.match(location, new RegExp(`/issues/export/${slug}-issues-[^/]+\\.zip$`));
    let polled: Answer;
    let polls = 0;
    do {
      polled = await world.call('GET', location, { template: EXPORT_ZIP, unchecked: true });
      polls++;
      // The zip itself (200) is binary; the "in progress" answers are the spec's issue_job_status.
      if (polled.status === 202) assert.deepEqual(validateResponse('GET', EXPORT_ZIP, 202, polled.body), []);
    } while (polled.status === 202 && polls < 5);
    assert.equal(polled.status, 200, polled.bytes.toString());
    assert.equal(polls, 2, 'the first poll answers "in progress"');
    assert.equal(polled.headers.get('content-type'), 'application/zip');
    return polled.bytes;
  }

  async function importArchive(slug: string, archive: Buffer, name = 'issues.zip'): Promise<Answer> {
    const form = new FormData();
    form.append('archive', new Blob([archive], { type: 'application/zip' }), name);
    const accepted = await world.call('POST', `${world.repo(slug)}/issues/import`, { form });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.equal(accepted.body.status, 'ACCEPTED');
    let status: Answer;
    do status = await world.call('GET', `${world.repo(slug)}/issues/import`, { unchecked: true });
    while (status.status === 202);
    // The spec's enum lacks SUCCESS, the final status its own description of this operation names.
    const problems = validateResponse('GET', `${world.repo(slug)}/issues/import`, status.status, status.body).filter((problem) => !problem.startsWith('$.status: "SUCCESS"'));
    assert.deepEqual(problems, []);
    return status;
  }

  it('serves the seeded tracker and its catalogues', async () => {
    const issues = await world.all(`${webApp}/issues`);
    assert.equal(issues.length, 8);
    assert.deepEqual(issues.map((i) => i.id), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(issues[0].state, 'resolved');
    assert.equal(issues[0].milestone.name, 'M1');
    assert.equal(issues[0].reporter.uuid, DEMO_USERS.member.uuid);
    assert.equal((await world.all(`${world.repo('api-server')}/issues`)).length, 3);
    const filtered = await world.all(`${webApp}/issues?q=${encodeURIComponent('state="new" AND kind="bug"')}`);
    assert.deepEqual(filtered.map((i) => i.id), [5]);

    const milestones = await world.all(`${webApp}/milestones`);
    assert.deepEqual(milestones.map((m) => m.name), ['M1', 'M2']);
    const one = await world.call('GET', `${webApp}/milestones/${milestones[0].id}`, { template: '/2.0/repositories/{workspace}/{repo_slug}/milestones/{milestone_id}' });
    assert.equal(one.body.name, 'M1');
    assert.deepEqual((await world.all(`${webApp}/versions`)).map((v) => v.name), ['1.0', '1.1']);
    const components = await world.all(`${webApp}/components`);
    assert.deepEqual(components.map((c) => c.name), ['frontend', 'backend', 'docs']);
    assert.equal((await world.call('GET', `${webApp}/components/${components[2].id}`, { template: '/2.0/repositories/{workspace}/{repo_slug}/components/{component_id}' })).body.name, 'docs');
    assert.equal((await world.call('GET', `${webApp}/versions/999`, { template: '/2.0/repositories/{workspace}/{repo_slug}/versions/{version_id}' })).status, 404);

    const changes = await world.all(`${webApp}/issues/1/changes`, { template: `${ISSUE}/changes` });
    assert.deepEqual(changes.map((c) => c.changes.state), [{ old: 'new', new: 'open' }, { old: 'open', new: 'resolved' }]);
    assert.equal(changes[1].message.raw, 'Fixed by validating the form before submitting.');
    const change = await world.call('GET', `${webApp}/issues/1/changes/${changes[0].id}`, { template: `${ISSUE}/changes/{change_id}` });
    assert.equal(change.body.user.uuid, DEMO_USERS.repoAdmin.uuid);
  });

  it('creates, edits and deletes issues, recording each edit as a change', async () => {
    const created = await world.call('POST', `${webApp}/issues`, {
      as: 'member',
      body: { title: 'Crash on logout', content: { raw: 'Steps: log out twice.' }, kind: 'bug', priority: 'blocker', component: { name: 'frontend' }, assignee: { account_id: DEMO_USERS.repoAdmin.accountId } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.id, 9);
    assert.equal(created.body.state, 'new');
    assert.equal(created.body.reporter.uuid, DEMO_USERS.member.uuid);
    assert.equal(created.body.assignee.uuid, DEMO_USERS.repoAdmin.uuid);
    assert.equal(created.body.component.name, 'frontend');
    const path = `${webApp}/issues/9`;
    assert.equal(created.headers.get('location'), `${world.emulator.url}${path}`);

    const edited = await world.call('PUT', path, { as: 'repoAdmin', body: { title: 'Crash on double logout', state: 'open', component: null, milestone: { name: 'M2' } }, template: ISSUE });
    assert.equal(edited.status, 200);
    assert.equal(edited.body.title, 'Crash on double logout');
    assert.equal(edited.body.component, null);
    assert.equal(edited.body.milestone.name, 'M2');
    const changes = await world.all(`${path}/changes`, { template: `${ISSUE}/changes` });
    assert.deepEqual(changes.at(-1).changes, {
      title: { old: 'Crash on logout', new: 'Crash on double logout' },
      state: { old: 'new', new: 'open' },
      component: { old: 'frontend', new: '' },
      milestone: { old: '', new: 'M2' },
    });

    const change = await world.call('POST', `${path}/changes`, { as: 'repoAdmin', body: { changes: { state: { new: 'resolved' }, assignee_account_id: { new: DEMO_USERS.admin.accountId } }, message: { raw: 'Fixed in 1.1.' } }, template: `${ISSUE}/changes` });
    assert.equal(change.status, 201, JSON.stringify(change.body));
    assert.deepEqual(change.body.changes.state, { old: 'open', new: 'resolved' });
    const resolved = (await world.call('GET', path, { template: ISSUE })).body;
    assert.equal(resolved.state, 'resolved');
    assert.equal(resolved.assignee.uuid, DEMO_USERS.admin.uuid);
    const comments = await world.all(`${path}/comments`, { template: `${ISSUE}/comments` });
    assert.equal(comments.at(-1).content.raw, 'Fixed in 1.1.');

    assert.equal((await world.call('POST', `${webApp}/issues`, { body: { content: { raw: 'no title' } } })).status, 400);
    assert.equal((await world.call('POST', `${webApp}/issues`, { body: { title: 'x', kind: 'feature' } })).status, 400);
    assert.equal((await world.call('POST', `${webApp}/issues`, { body: { title: 'x', milestone: { name: 'M9' } } })).status, 400);
    assert.equal((await world.call('PUT', path, { as: 'member', body: { title: 'Mine now' }, template: ISSUE })).status, 403, 'a reader cannot edit');
    assert.equal((await world.call('DELETE', path, { as: 'member', template: ISSUE })).status, 403);
    assert.equal((await world.call('DELETE', path, { as: 'repoAdmin', template: ISSUE })).status, 204);
    assert.equal((await world.call('GET', path, { template: ISSUE })).status, 404);
    // Ids are not reused.
    assert.equal((await world.call('POST', `${webApp}/issues`, { body: { title: 'Next' } })).body.id, 10);
    assert.equal((await world.call('DELETE', `${webApp}/issues/10`, { template: ISSUE })).status, 204);
  });

  it('keeps comments: create, read, edit by their author, delete', async () => {
    const path = `${webApp}/issues/2/comments`;
    const created = await world.call('POST', path, { as: 'member', body: { content: { raw: 'Any news?' } }, template: `${ISSUE}/comments` });
    assert.equal(created.status, 201);
    const one = `${path}/${created.body.id}`;
    assert.equal((await world.call('GET', one, { template: `${ISSUE}/comments/{comment_id}` })).body.content.raw, 'Any news?');
    assert.equal((await world.call('PUT', one, { as: 'member', body: { content: { raw: 'Any news? (edited)' } }, template: `${ISSUE}/comments/{comment_id}` })).body.content.raw, 'Any news? (edited)');
    assert.equal((await world.call('PUT', one, { as: 'repoAdmin', body: { content: { raw: 'moderated' } }, template: `${ISSUE}/comments/{comment_id}` })).status, 200, 'writers may edit');
    assert.equal((await world.call('DELETE', one, { as: 'member', template: `${ISSUE}/comments/{comment_id}` })).status, 204);
    assert.equal((await world.call('GET', one, { template: `${ISSUE}/comments/{comment_id}` })).status, 404);
  });

  it('stores attachments and serves their bytes through a redirect', async () => {
    const list = await world.all(`${webApp}/issues/1/attachments`, { template: `${ISSUE}/attachments` });
    assert.deepEqual(list.map((a) => a.name), ['screenshot.png']);

    const form = new FormData();
    form.append('files', new Blob([Buffer.from('first\n')]), 'notes v1.txt');
    form.append('files', new Blob([Buffer.from([0, 1, 2, 255])]), 'data.bin');
    const uploaded = await world.call('POST', `${webApp}/issues/3/attachments`, { as: 'repoAdmin', form, template: `${ISSUE}/attachments` });
    assert.equal(uploaded.status, 201);
    const again = new FormData();
    again.append('files', new Blob([Buffer.from('second\n')]), 'notes v1.txt');
    await world.call('POST', `${webApp}/issues/3/attachments`, { as: 'repoAdmin', form: again, template: `${ISSUE}/attachments` });
    const names = (await world.all(`${webApp}/issues/3/attachments`, { template: `${ISSUE}/attachments` })).map((a) => a.name);
    assert.deepEqual(names, ['data.bin', 'notes v1.txt'], 'the same name replaces the file');

    const redirect = await world.call('GET', `${webApp}/issues/3/attachments/${encodeURIComponent('notes v1.txt')}`, { template: `${ISSUE}/attachments/{path}` });
    assert.equal(redirect.status, 302);
    const file = await world.call('GET', redirect.headers.get('location') ?? '', { unchecked: true });
    assert.equal(file.status, 200);
    assert.equal(file.bytes.toString(), 'second\n');
    const empty = await world.call('POST', `${webApp}/issues/3/attachments`, { as: 'repoAdmin', form: new FormData(), template: `${ISSUE}/attachments` });
    assert.equal(empty.status, 400);
    assert.equal((await world.call('DELETE', `${webApp}/issues/3/attachments/data.bin`, { as: 'repoAdmin', template: `${ISSUE}/attachments/{path}` })).status, 204);
  });

  it('exports the tracker as Bitbucket does: a zip with db-2.0.json consistent with the API', async () => {
    const archive = await exportArchive('web-app');
    const file = join(scratch, 'web-app-issues.zip');
    await writeFile(file, archive);
    execFileSync('unzip', ['-tq', file]); // a real zip tool accepts it

    const entries = new Map(readZip(archive).map((entry) => [entry.name, entry.data]));
    const db = JSON.parse(entries.get('db-2.0.json')?.toString('utf8') ?? 'null') as Db;
    const issues = await world.all(`${webApp}/issues`);
    assert.deepEqual(db.issues.map((i) => [i.id, i.title, i.status]), issues.map((i) => [i.id, i.title, i.state]));
    assert.equal(db.issues[0]?.reporter?.account_id, DEMO_USERS.member.accountId);
    for (const issue of issues) {
      const comments = await world.all(`${webApp}/issues/${issue.id}/comments`);
      assert.deepEqual(db.comments.filter((c) => c.issue === issue.id).map((c) => [c.id, c.content]), comments.map((c) => [c.id, c.content.raw]));
    }
    assert.deepEqual(db.milestones, [{ name: 'M1' }, { name: 'M2' }]);
    assert.deepEqual(db.components.map((c) => c.name), ['frontend', 'backend', 'docs']);
    assert.equal(db.meta.default_kind, 'bug');
    assert.deepEqual(db.logs.filter((l) => l.issue === 1).map((l) => [l.field, l.changed_from, l.changed_to]), [['status', 'new', 'open'], ['status', 'open', 'resolved']]);
    assert.ok(db.logs.some((l) => l.comment !== null), 'some log lines belong to a comment');
    assert.ok(db.logs.every((l) => l.comment === null || db.comments.some((c) => c.id === l.comment)));

    const screenshot = db.attachments.find((a) => a.filename === 'screenshot.png');
    assert.ok(screenshot);
    const redirect = await world.call('GET', `${webApp}/issues/1/attachments/screenshot.png`, { template: `${ISSUE}/attachments/{path}` });
    const served = await world.call('GET', redirect.headers.get('location') ?? '', { unchecked: true });
    assert.deepEqual(entries.get(screenshot.path), served.bytes);
    assert.equal(served.bytes.subarray(1, 4).toString(), 'PNG');
  });

  it('imports an archive: replaces every issue, keeps issue ids, renumbers comments', async () => {
    const archive = await exportArchive('web-app');
    const before = await world.all(`${webApp}/issues`);
    const commentsBefore = await world.all(`${webApp}/issues/1/comments`);

    // Change the tracker after the export: delete one issue, add another.
    await world.call('DELETE', `${webApp}/issues/4`, { template: ISSUE });
    const extra = await world.call('POST', `${webApp}/issues`, { body: { title: 'Made after the export' } });
    assert.equal(extra.status, 201);

    const status = await importArchive('web-app', archive);
    assert.equal(status.status, 200);
    assert.equal(status.body.status, 'SUCCESS');
    const after = await world.all(`${webApp}/issues`);
    assert.deepEqual(after.map((i) => [i.id, i.title, i.state, i.reporter?.uuid, i.milestone?.name]), before.map((i) => [i.id, i.title, i.state, i.reporter?.uuid, i.milestone?.name]));
    assert.ok(!after.some((i) => i.title === 'Made after the export'), 'an import replaces, never merges');

    const commentsAfter = await world.all(`${webApp}/issues/1/comments`);
    assert.deepEqual(commentsAfter.map((c) => c.content.raw), commentsBefore.map((c) => c.content.raw));
    assert.ok(commentsAfter.every((c) => !commentsBefore.some((old) => old.id === c.id)), 'comment ids are new');
    const changes = await world.all(`${webApp}/issues/1/changes`);
    assert.deepEqual(changes.map((c) => [c.changes.state.new, c.message.raw]), [['open', 'Taking this one.'], ['resolved', 'Fixed by validating the form before submitting.']]);
    assert.deepEqual((await world.all(`${webApp}/issues/1/attachments`)).map((a) => a.name), ['screenshot.png']);
    // The next issue continues after the imported ids.
    assert.equal((await world.call('POST', `${webApp}/issues`, { body: { title: 'After the import' } })).body.id, 9);
  });

  it('imports an archive made by another zip tool into another repository', async () => {
    const source = join(scratch, 'handmade');
    await mkdir(join(source, 'attachments'), { recursive: true });
    const db = {
      issues: [
        { id: 7, title: 'Imported bug', content: 'From another tracker.', status: 'open', kind: 'bug', priority: 'critical', reporter: { display_name: 'Carol', account_id: DEMO_USERS.member.accountId }, assignee: { display_name: 'Gone', account_id: 'no-such-account' }, milestone: 'Sprint 1', version: 'undeclared', component: null, created_on: '2020-01-02T03:04:05.678901+00:00', updated_on: '2020-01-03T00:00:00+00:00', edited_on: null, watchers: [], voters: [] },
        { id: 3, title: 'Imported task', content: null, status: 'new', kind: 'task', priority: 'minor', reporter: null, assignee: null, milestone: null, version: null, component: null, created_on: '2020-01-01T00:00:00+00:00', updated_on: null, edited_on: null, watchers: [], voters: [] },
      ],
      comments: [{ id: 12345, issue: 7, content: 'First!', user: { display_name: 'Alice', account_id: DEMO_USERS.admin.accountId }, created_on: '2020-01-02T04:00:00+00:00', updated_on: null }],
      attachments: [{ issue: 7, filename: 'log.txt', path: 'attachments/abc123', user: null }],
      logs: [{ issue: 7, field: 'status', changed_from: 'new', changed_to: 'open', comment: 12345, user: { display_name: 'Alice', account_id: DEMO_USERS.admin.accountId }, created_on: '2020-01-02T04:00:00+00:00' }],
      meta: { default_kind: 'task' },
      milestones: [{ name: 'Sprint 1' }],
      versions: [],
      components: [],
    };
    await writeFile(join(source, 'db-2.0.json'), JSON.stringify(db));
    await writeFile(join(source, 'attachments', 'abc123'), 'log line\n'.repeat(200));
    execFileSync('zip', ['-qr', join(scratch, 'handmade.zip'), '.'], { cwd: source });
    const status = await importArchive('api-server', await readFile(join(scratch, 'handmade.zip')));
    assert.equal(status.body.status, 'SUCCESS', JSON.stringify(status.body));

    const api = world.repo('api-server');
    const issues = await world.all(`${api}/issues`);
    assert.deepEqual(issues.map((i) => i.id), [3, 7]);
    const bug = issues[1];
    assert.equal(bug.reporter.uuid, DEMO_USERS.member.uuid);
    assert.equal(bug.assignee, null, 'unknown users become null');
    assert.equal(bug.milestone.name, 'Sprint 1');
    assert.equal(bug.version, null, 'undeclared versions become null');
    const comments = await world.all(`${api}/issues/7/comments`);
    assert.equal(comments.length, 1);
    assert.notEqual(comments[0].id, 12345);
    const [change] = await world.all(`${api}/issues/7/changes`);
    assert.equal(change.message.raw, 'First!');
    const redirect = await world.call('GET', `${api}/issues/7/attachments/log.txt`, { template: `${ISSUE}/attachments/{path}` });
    assert.equal((await world.call('GET', redirect.headers.get('location') ?? '', { unchecked: true })).bytes.toString(), 'log line\n'.repeat(200));
    assert.deepEqual((await world.all(`${api}/milestones`)).map((m) => m.name), ['Sprint 1']);
  });

  it('reports a broken archive as a failed import and keeps the tracker', async () => {
    const before = await world.all(`${webApp}/issues`);
    const status = await importArchive('web-app', Buffer.from('not a zip at all'));
    assert.equal(status.status, 200);
    assert.equal(status.body.status, 'FAILURE');
    assert.deepEqual((await world.all(`${webApp}/issues`)).map((i) => i.id), before.map((i) => i.id));
    const noArchive = await world.call('POST', `${webApp}/issues/import`, { form: new FormData() });
    assert.equal(noArchive.status, 400);
  });

  it('refuses what Bitbucket refuses', async () => {
    const forge = await world.call('GET', `${webApp}/issues`, { as: 'forgeApp' });
    assert.equal(forge.status, 403, 'issues accept API tokens only, not the Forge app');
    assert.equal((await world.call('POST', `${webApp}/issues/export`, { as: 'repoAdmin' })).status, 202, 'a repository admin may export');
    assert.equal((await world.call('POST', `${webApp}/issues/export`, { as: 'member' })).status, 403, 'a member may not');
    assert.equal((await world.call('GET', `${world.repo('docs')}/issues`)).status, 404, 'docs has no tracker');
    assert.equal((await world.call('GET', `${webApp}/issues/export/web-app-issues-999.zip`, { template: EXPORT_ZIP })).status, 404);
    assert.equal((await world.call('GET', `${webApp}/issues/999`, { template: ISSUE })).status, 404);
    const token = await world.call('GET', `${webApp}/issues`, { as: 'workspaceToken' });
    assert.equal(token.status, 200, 'the workspace access token has the issue scope');
  });
});
