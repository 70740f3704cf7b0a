// web-app's issue tracker as Alice exported it on 2026-08-14, before Bitbucket
// removed Issues: eight issues with comments, state changes (each logged with
// its comment, as Bitbucket did), milestones, versions, components and one
// attached screenshot, by the demo users (sandbox/demo.ts). What a customer
// brings to attach to a repository's backups.
import { createHash } from 'node:crypto';
import { DEMO_USERS, type DemoRole } from '../demo.js';
import { writeIssueExport, type IssueExportInput as Db } from '../../src/engine/issue-export.js';

export const DEMO_ISSUES_EXPORTED_ON = '2026-08-14T16:00:00.000Z';

type State = 'new' | 'open' | 'resolved' | 'wontfix';

interface DemoIssue {
  title: string;
  content: string;
  kind: 'bug' | 'enhancement' | 'proposal' | 'task';
  priority: 'trivial' | 'minor' | 'major' | 'critical';
  reporter: DemoRole;
  assignee?: DemoRole;
  milestone?: string;
  version?: string;
  component?: string;
  comments?: Array<[author: DemoRole, text: string]>;
  /** State changes after creation, each with its comment. */
  changes?: Array<[author: DemoRole, state: State, message: string]>;
}

const ISSUES: DemoIssue[] = [
  {
    title: 'Login form accepts an empty password', content: 'Submitting the form with an empty password shows a spinner forever.', kind: 'bug', priority: 'critical',
    reporter: 'member', assignee: 'repoAdmin', milestone: 'M1', version: '1.0', component: 'frontend',
    comments: [['repoAdmin', 'Reproduced on Firefox and Chromium.'], ['member', 'Screenshot attached.']],
    changes: [['repoAdmin', 'open', 'Taking this one.'], ['repoAdmin', 'resolved', 'Fixed by validating the form before submitting.']],
  },
  {
    title: 'Dark mode', content: 'Follow the operating system\'s colour scheme.', kind: 'enhancement', priority: 'minor',
    reporter: 'admin', milestone: 'M2', component: 'frontend', comments: [['member', 'Please also remember the choice per user.']],
  },
  {
    title: 'Session cookie lacks SameSite', content: 'Set `SameSite=Lax` on the session cookie.', kind: 'bug', priority: 'major',
    reporter: 'repoAdmin', assignee: 'admin', milestone: 'M1', version: '1.0', component: 'backend',
    changes: [['admin', 'open', '']],
  },
  {
    title: 'Document the deployment', content: 'A page on how the app is deployed and rolled back.', kind: 'task', priority: 'minor',
    reporter: 'admin', assignee: 'member', component: 'docs',
  },
  {
    title: 'Search is slow on large projects', content: 'Searching 10 000 items takes several seconds.', kind: 'bug', priority: 'major',
    reporter: 'member', version: '1.1', component: 'backend',
    comments: [['admin', 'We should add an index.'], ['repoAdmin', 'Agreed; measured 4.2 s on the demo data.']],
  },
  {
    title: 'Export to CSV', content: 'Let users download their data as CSV.', kind: 'proposal', priority: 'trivial',
    reporter: 'member', changes: [['admin', 'wontfix', 'Out of scope for 1.x.']],
  },
  {
    title: 'Typo on the welcome page', content: '"Welcom" should read "Welcome".', kind: 'bug', priority: 'trivial',
    reporter: 'member', assignee: 'member', version: '1.0', component: 'frontend',
    changes: [['member', 'resolved', '']],
  },
  {
    title: 'Upgrade the UI framework', content: 'Move to the next major version before 1.1.', kind: 'task', priority: 'major',
    reporter: 'repoAdmin', assignee: 'repoAdmin', milestone: 'M2', version: '1.1',
    comments: [['admin', 'Check the migration guide first.']],
  },
];

/** A 1×1 PNG: the screenshot attached to issue 1. */
const PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==';

function userRef(role: DemoRole): { display_name: string; account_id: string } {
  return { display_name: DEMO_USERS[role].displayName, account_id: DEMO_USERS[role].accountId };
}

/** The export's zip, the same bytes every time. */
export function demoIssueExport(): Uint8Array {
  const issues: Db['issues'] = [];
  const comments: NonNullable<Db['comments']> = [];
  const logs: NonNullable<Db['logs']> = [];
  // Comment ids were global in Bitbucket: other trackers' comments came between.
  let nextComment = 4101;
  ISSUES.forEach((spec, index) => {
    const id = index + 1;
    let hour = 9;
    const at = (): string => new Date(Date.UTC(2026, 2, 2 + index * 3, hour++, 15)).toISOString();
    const createdOn = at();
    let updatedOn = createdOn;
    let state: State = 'new';
    const comment = (author: DemoRole, content: string): number => {
      const commentId = nextComment++;
      updatedOn = at();
      comments.push({ id: commentId, issue: id, content, user: userRef(author), created_on: updatedOn, updated_on: null });
      return commentId;
    };
    for (const [author, text] of spec.comments ?? []) comment(author, text);
    for (const [author, next, message] of spec.changes ?? []) {
      const commentId = comment(author, message);
      logs.push({ issue: id, comment: commentId, field: 'status', changed_from: state, changed_to: next, user: userRef(author), created_on: updatedOn });
      state = next;
    }
    issues.push({
      id,
      title: spec.title,
      content: spec.content,
      status: state,
      kind: spec.kind,
      priority: spec.priority,
      reporter: userRef(spec.reporter),
      assignee: spec.assignee ? userRef(spec.assignee) : null,
      milestone: spec.milestone ?? null,
      version: spec.version ?? null,
      component: spec.component ?? null,
      created_on: createdOn,
      updated_on: updatedOn,
      edited_on: null,
      watchers: [userRef(spec.reporter)],
      voters: spec.reporter === 'member' ? [userRef('member')] : [],
    });
  });
  const screenshot = `attachments/${createHash('sha1').update('1/screenshot.png').digest('hex')}`;
  const db: Db = {
    issues,
    comments,
    attachments: [{ issue: 1, filename: 'screenshot.png', path: screenshot, user: userRef('member') }],
    logs,
    meta: { default_assignee: null, default_component: null, default_kind: 'bug', default_milestone: null, default_version: null },
    milestones: [{ name: 'M1' }, { name: 'M2' }],
    versions: [{ name: '1.0' }, { name: '1.1' }],
    components: [{ name: 'frontend' }, { name: 'backend' }, { name: 'docs' }],
  };
  return writeIssueExport(db, new Map([[screenshot, Buffer.from(PIXEL_PNG, 'base64')]]), new Date(DEMO_ISSUES_EXPORTED_ON));
}
