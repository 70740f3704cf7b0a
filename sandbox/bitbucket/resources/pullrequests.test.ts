import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { DEMO_USERS } from '../../demo.js';
import { startWorld, type TestWorld } from './test-client.js';

const PR = '/2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}';

function git(gitDir: string, args: string[]): string {
  return execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
}

describe('pull requests', () => {
  let world: TestWorld;
  let webApp: string;
  let gitDir: string;

  before(async () => {
    world = await startWorld();
    webApp = world.repo('web-app');
    gitDir = world.emulator.gitDir('lifeboat-demo', 'web-app');
  });
  after(() => world.close());

  it('lists only OPEN pull requests without a state, and any mix of states when asked', async () => {
    const open = await world.all(`${webApp}/pullrequests`);
    assert.deepEqual(open.map((pr) => pr.state), ['OPEN', 'OPEN', 'OPEN']);
    const every = await world.all(`${webApp}/pullrequests?state=OPEN&state=MERGED&state=DECLINED&state=SUPERSEDED&pagelen=50`);
    assert.deepEqual(every.map((pr) => pr.id), [7, 6, 5, 4, 3, 2, 1]);
    const counts = Object.fromEntries(['OPEN', 'MERGED', 'DECLINED', 'SUPERSEDED'].map((state) => [state, every.filter((pr) => pr.state === state).length]));
    assert.deepEqual(counts, { OPEN: 3, MERGED: 2, DECLINED: 1, SUPERSEDED: 1 });
    const closed = await world.all(`${webApp}/pullrequests?state=merged&state=DECLINED`);
    assert.deepEqual(closed.map((pr) => `${pr.id}:${pr.state}`), ['5:DECLINED', '4:MERGED', '1:MERGED']);
    assert.equal((await world.call('GET', `${webApp}/pullrequests?state=CLOSED`)).status, 400);
    assert.deepEqual(await world.all(`${world.repo('docs')}/pullrequests?state=MERGED`), []);
  });

  it('serves the seeded pull requests with commits from the real history', async () => {
    const merged = (await world.call('GET', `${webApp}/pullrequests/1`, { template: PR })).body;
    assert.equal(merged.state, 'MERGED');
    assert.equal(merged.source.branch.name, 'develop');
    // Bitbucket abbreviates endpoint hashes to 12 characters.
    assert.equal(merged.source.commit.hash, git(gitDir, ['rev-parse', 'main^2']).trim().slice(0, 12));
    assert.equal(merged.merge_commit.hash, git(gitDir, ['rev-parse', 'main']).trim().slice(0, 12));
    assert.equal(merged.closed_by.uuid, DEMO_USERS.admin.uuid);
    assert.deepEqual(merged.reviewers.map((u: { uuid: string }) => u.uuid), [DEMO_USERS.admin.uuid]);
    assert.ok(merged.participants.some((p: { approved: boolean; user: { uuid: string } }) => p.approved && p.user.uuid === DEMO_USERS.admin.uuid));

    const commits = await world.all(`${webApp}/pullrequests/1/commits`, { template: `${PR}/commits` });
    assert.deepEqual(commits.map((c) => c.hash), git(gitDir, ['rev-list', 'main^1..main^2']).trim().split('\n'));
    assert.equal(commits[0].author.user.uuid, DEMO_USERS.repoAdmin.uuid);

    // The list leaves reviewers and participants out unless `fields` asks for them.
    const listed = (await world.call('GET', `${webApp}/pullrequests?state=MERGED`)).body.values;
    assert.equal(listed[0].participants, undefined);
    const withParticipants = (await world.call('GET', `${webApp}/pullrequests?state=MERGED&fields=%2Bvalues.participants`)).body.values;
    assert.ok(withParticipants[0].participants.length > 0);
  });

  it('redirects the diffstat to the repository diffstat, which counts the real changes', async () => {
    const redirect = await world.call('GET', `${webApp}/pullrequests/1/diffstat`, { template: `${PR}/diffstat` });
    assert.equal(redirect.status, 302);
    const location = redirect.headers.get('location') ?? '';
    const files = await world.all(location, { template: '/2.0/repositories/{workspace}/{repo_slug}/diffstat/{spec}' });
    const expected = git(gitDir, ['diff', '--numstat', 'main^1...main^2']).trim().split('\n').map((line) => {
      const [added, removed, path] = line.split('\t');
      return `${path} +${added} -${removed}`;
    });
    assert.deepEqual(files.map((f) => `${f.new?.path ?? f.old.path} +${f.lines_added} -${f.lines_removed}`).sort(), expected.sort());
    assert.ok(files.some((f) => f.status === 'added') && files.some((f) => f.status === 'modified'));
  });

  it('keeps comment threads: replies name their parent, inline comments their line', async () => {
    const comments = await world.all(`${webApp}/pullrequests/3/comments`, { template: `${PR}/comments` });
    const [first, ...rest] = comments;
    assert.equal(first.parent, undefined);
    assert.ok(rest.filter((c) => c.parent?.id === first.id).length >= 2);
    const inline = comments.find((c) => c.inline);
    assert.deepEqual(inline.inline, { path: 'src/theme.css', to: 1 });
    // Comment ids are one sequence for all pull requests.
    const other = await world.all(`${webApp}/pullrequests/1/comments`, { template: `${PR}/comments` });
    assert.equal(new Set([...comments, ...other].map((c) => c.id)).size, comments.length + other.length);
    assert.equal(other[0].resolution.user.uuid, DEMO_USERS.admin.uuid);

    const created = await world.call('POST', `${webApp}/pullrequests/3/comments`, { as: 'member', body: { content: { raw: 'Replying to the thread.' }, parent: { id: first.id } }, template: `${PR}/comments` });
    assert.equal(created.status, 201);
    assert.equal(created.body.parent.id, first.id);
    assert.equal(created.body.user.uuid, DEMO_USERS.member.uuid);
    const read = await world.call('GET', created.headers.get('location') ?? '', { template: `${PR}/comments/{comment_id}` });
    assert.equal(read.body.content.raw, 'Replying to the thread.');
    const line = await world.call('POST', `${webApp}/pullrequests/3/comments`, { body: { content: { raw: 'On this line.' }, inline: { path: 'src/theme.css', to: 1 } }, template: `${PR}/comments` });
    assert.deepEqual(line.body.inline, { path: 'src/theme.css', to: 1 });
    assert.equal((await world.call('POST', `${webApp}/pullrequests/3/comments`, { body: { content: { raw: 'x' }, parent: { id: 999999 } } })).status, 400);
    assert.equal((await world.call('POST', `${webApp}/pullrequests/3/comments`, { body: { content: {} } })).status, 400);

    // Only the author edits.
    const path = `${webApp}/pullrequests/3/comments/${created.body.id}`;
    assert.equal((await world.call('PUT', path, { as: 'admin', body: { content: { raw: 'hijack' } } })).status, 403);
    assert.equal((await world.call('PUT', path, { as: 'member', body: { content: { raw: 'Edited.' } } })).body.content.raw, 'Edited.');
    await world.emulator.eventsIdle();
    assert.ok(world.events.some((e) => e.eventType === 'avi:bitbucket:created:pullrequest-comment' && 'comment' in e && e.comment?.id === created.body.id));
  });

  it('serves activity, statuses and tasks', async () => {
    const activity = await world.all(`${webApp}/pullrequests/1/activity`, { template: `${PR}/activity` });
    assert.deepEqual(activity.filter((a) => a.update).map((a) => a.update.state), ['MERGED', 'OPEN']);
    assert.ok(activity.some((a) => a.approval?.user.uuid === DEMO_USERS.admin.uuid));
    assert.ok(activity.some((a) => a.comment));
    const dates = activity.map((a) => a.update?.date ?? a.approval?.date ?? a.comment.created_on);
    assert.deepEqual(dates, [...dates].sort().reverse());

    const statuses = await world.all(`${webApp}/pullrequests/3/statuses`, { template: `${PR}/statuses` });
    assert.equal(statuses[0].state, 'SUCCESSFUL');
    assert.equal(statuses[0].commit.hash, git(gitDir, ['rev-parse', 'feature/dark-mode']).trim());

    const tasks = await world.all(`${webApp}/pullrequests/3/tasks`, { template: `${PR}/tasks` });
    assert.equal(tasks[0].state, 'RESOLVED');
  });

  it('creates pull requests as a restore does, and refuses bad ones', async () => {
    const body = {
      title: 'Restored: Single sign-on',
      description: '*Originally by Bob Maintainer on 2026-10-10.*',
      source: { branch: { name: 'feature/login-sso' } },
      destination: { branch: { name: 'develop' } },
      reviewers: [{ uuid: DEMO_USERS.admin.uuid }, { account_id: DEMO_USERS.member.accountId }],
      close_source_branch: true,
    };
    const created = await world.call('POST', `${webApp}/pullrequests`, { as: 'repoAdmin', body });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.id, 8);
    assert.equal(created.body.state, 'OPEN');
    assert.equal(created.body.description, body.description);
    assert.equal(created.body.source.commit.hash, git(gitDir, ['rev-parse', 'feature/login-sso']).trim().slice(0, 12));
    assert.deepEqual(created.body.reviewers.map((u: { uuid: string }) => u.uuid), [DEMO_USERS.admin.uuid, DEMO_USERS.member.uuid]);
    assert.equal(created.headers.get('location'), `${world.emulator.url}${webApp}/pullrequests/8`);

    assert.equal((await world.call('PUT', `${webApp}/pullrequests/1`, { body: { title: 'Too late' } })).status, 400, 'a closed pull request is not edited');

    const refused = async (changes: object): Promise<number> => (await world.call('POST', `${webApp}/pullrequests`, { as: 'repoAdmin', body: { ...body, ...changes } })).status;
    assert.equal(await refused({ reviewers: [{ uuid: DEMO_USERS.repoAdmin.uuid }] }), 400, 'the author cannot review');
    assert.equal(await refused({ source: { branch: { name: 'no-such-branch' } } }), 400);
    assert.equal(await refused({ title: '' }), 400);
    assert.equal(await refused({ destination: { branch: { name: 'feature/login-sso' } } }), 400);
    assert.equal((await world.call('POST', `${webApp}/pullrequests`, { as: 'member', body })).status, 403, 'a member only reads');

    // The Forge app (asApp) may create pull requests; the change is the app's.
    const byApp = await world.call('POST', `${webApp}/pullrequests`, { as: 'forgeApp', body: { title: 'From the app', source: { branch: { name: 'feature/dark-mode' } } } });
    assert.equal(byApp.status, 201, JSON.stringify(byApp.body));
    assert.equal(byApp.body.destination.branch.name, 'main');
    assert.equal(byApp.body.author.display_name, 'Lifeboat');
    await world.emulator.eventsIdle();
    const event = world.events.find((e) => e.eventType === 'avi:bitbucket:created:pullrequest' && 'pullrequest' in e && e.pullrequest.id === byApp.body.id);
    assert.equal(event?.selfGenerated, true);
  });

  it('updates an open pull request', async () => {
    const updated = await world.call('PUT', `${webApp}/pullrequests/6`, { as: 'repoAdmin', body: { title: 'Single sign-on (Atlassian)', reviewers: [{ uuid: DEMO_USERS.admin.uuid }, { uuid: DEMO_USERS.member.uuid }] }, template: PR });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.title, 'Single sign-on (Atlassian)');
    assert.equal(updated.body.reviewers.length, 2);
    const activity = await world.all(`${webApp}/pullrequests/6/activity`, { template: `${PR}/activity` });
    assert.equal(activity[0].update.title, 'Single sign-on (Atlassian)', 'the newest activity first');

    // A refused update changes nothing, not even the fields before the one refused.
    const refused = await world.call('PUT', `${webApp}/pullrequests/6`, { body: { title: 'Half-applied', reviewers: [{ uuid: DEMO_USERS.repoAdmin.uuid }] }, template: PR });
    assert.equal(refused.status, 400, 'the author cannot review');
    assert.equal((await world.call('GET', `${webApp}/pullrequests/6`, { template: PR })).body.title, 'Single sign-on (Atlassian)');
    const badTypes = await world.call('PUT', `${webApp}/pullrequests/6`, { body: { title: 7, draft: 'yes' }, template: PR });
    assert.equal(badTypes.status, 400);
    assert.deepEqual(badTypes.body.error.detail.split('; ').map((line: string) => line.split(':')[0]).sort(), ['draft', 'title'], 'each bad field is named');

    await world.emulator.eventsIdle();
    assert.ok(world.events.some((e) => e.eventType === 'avi:bitbucket:updated:pullrequest' && 'pullrequest' in e && e.pullrequest.id === 6));
  });

  it('pages at most 50 pull requests, and refuses a larger pagelen for pull requests and their activity', async () => {
    for (let index = 0; index < 53; index++) {
      const created = await world.call('POST', `${webApp}/pullrequests`, { as: 'repoAdmin', body: { title: `Bulk ${index}`, source: { branch: { name: 'feature/dark-mode' } } }, unchecked: index > 0 });
      assert.equal(created.status, 201);
    }
    const refused = await world.call('GET', `${webApp}/pullrequests?pagelen=100`, { unchecked: true });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.message, 'Invalid pagelen');
    assert.equal((await world.call('GET', `${webApp}/pullrequests/1/activity?pagelen=51`, { unchecked: true })).status, 400);
    assert.equal((await world.call('GET', `${webApp}/pullrequests/1/comments?pagelen=100`, { template: `${PR}/comments` })).status, 200);
    const first = await world.call('GET', `${webApp}/pullrequests?pagelen=50`);
    assert.equal(first.body.pagelen, 50);
    assert.equal(first.body.values.length, 50);
    assert.ok(first.body.next);
    const every = await world.all(`${webApp}/pullrequests?pagelen=50`);
    assert.equal(every.length, 3 + 2 + 53, 'the seeded open ones, the two the create test opened, the 53 above');
    assert.equal(new Set(every.map((pr) => pr.id)).size, every.length);
  });
});
