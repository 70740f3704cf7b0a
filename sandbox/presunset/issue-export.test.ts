import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { strToU8, zipSync } from 'fflate';
import { DEMO_USERS } from '../demo.js';
import { demoIssueExport } from './demo-issues.js';
import { ISSUE_EXPORT_DB, readIssueExport, writeIssueExport, type IssueExportInput } from '../../src/engine/issue-export.js';

describe('pre-sunset issue exports', () => {
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lifeboat-issue-export-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('writes the demo tracker as a zip that unzip accepts, the same bytes every time', async () => {
    const zip = demoIssueExport();
    assert.deepEqual(demoIssueExport(), zip);
    const file = join(scratch, 'web-app-issues.zip');
    await writeFile(file, zip);
    execFileSync('unzip', ['-tq', file]);
    const listing = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(listing[0], ISSUE_EXPORT_DB);
    assert.match(listing[1] ?? '', /^attachments\/[0-9a-f]{40}$/);
  });

  it('reads it back: issues, comments, change log and attachment consistent with one another', () => {
    const { db, files } = readIssueExport(demoIssueExport());
    assert.deepEqual(db.issues.map((issue) => issue.id), [1, 2, 3, 4, 5, 6, 7, 8]);
    const [first] = db.issues;
    assert.equal(first?.status, 'resolved');
    assert.equal(first?.reporter?.account_id, DEMO_USERS.member.accountId);
    assert.deepEqual(db.logs.filter((log) => log.issue === 1).map((log) => [log.field, log.changed_from, log.changed_to]), [['status', 'new', 'open'], ['status', 'open', 'resolved']]);
    assert.ok(db.logs.every((log) => db.comments.some((comment) => comment.id === log.comment && comment.issue === log.issue)), 'every change has its comment');
    assert.ok(db.issues.every((issue) => issue.created_on < '2026-08-20'), 'written before the sunset');
    const [screenshot] = db.attachments;
    assert.equal(screenshot?.filename, 'screenshot.png');
    assert.equal(Buffer.from(files.get(screenshot?.path ?? '') ?? []).subarray(1, 4).toString(), 'PNG');
    assert.deepEqual(db.milestones, [{ name: 'M1' }, { name: 'M2' }]);
  });

  it('reads a deflated archive made by zip, filling in what the importer defaulted', async () => {
    const source = join(scratch, 'handmade');
    await mkdir(join(source, 'attachments'), { recursive: true });
    const db = {
      issues: [{ id: 7, title: 'Imported bug', created_on: '2020-01-02T03:04:05.678901+00:00' }],
      attachments: [{ issue: 7, filename: 'log.txt', path: 'attachments/abc123', user: null }],
    };
    await writeFile(join(source, ISSUE_EXPORT_DB), JSON.stringify(db));
    await writeFile(join(source, 'attachments', 'abc123'), 'log line\n'.repeat(200));
    execFileSync('zip', ['-qr', '-9', join(scratch, 'handmade.zip'), '.'], { cwd: source });
    const read = readIssueExport(await readFile(join(scratch, 'handmade.zip')));
    assert.deepEqual(read.db.issues.map((issue) => [issue.id, issue.status, issue.kind, issue.priority]), [[7, 'new', 'bug', 'major']]);
    assert.deepEqual(read.db.comments, []);
    assert.equal(Buffer.from(read.files.get('attachments/abc123') ?? []).toString(), 'log line\n'.repeat(200));
  });

  it('refuses what is not a whole export, saying why', () => {
    const issue = { id: 1, title: 'One', created_on: '2026-01-01T00:00:00Z' };
    const zip = (db: unknown, files = new Map<string, Uint8Array>()): Uint8Array => writeIssueExport(db as IssueExportInput, files, new Date('2026-08-01T00:00:00Z'));
    assert.equal(readIssueExport(zip({ issues: [issue] })).db.issues.length, 1);
    assert.throws(() => readIssueExport(Buffer.from('not a zip at all')), /not a zip archive/);
    const whole = zip({ issues: [issue] });
    assert.throws(() => readIssueExport(whole.subarray(0, whole.length - 30)), /not a zip archive/);
    assert.throws(() => readIssueExport(zipSync({ 'db-1.0.json': strToU8('{}') })), /holds no db-2\.0\.json/);
    assert.throws(() => readIssueExport(zipSync({ [ISSUE_EXPORT_DB]: strToU8('{"issues": [') })), /db-2\.0\.json is not JSON/);
    assert.throws(() => readIssueExport(zip({ issues: [{ ...issue, title: undefined }] })), /issues\.0\.title/);
    assert.throws(() => readIssueExport(zip({ issues: [{ ...issue, status: 'archived' }] })), /issues\.0\.status/);
    assert.throws(() => readIssueExport(zip({ issues: [issue, { ...issue, title: 'Again' }] })), /issue 1 twice/);
    const attachments = [{ issue: 1, filename: 'a.txt', path: 'attachments/a', user: null }];
    assert.throws(() => readIssueExport(zip({ issues: [issue], attachments })), /attachment a\.txt of issue 1 is missing \(attachments\/a\)/);
    assert.equal(readIssueExport(zip({ issues: [issue], attachments }, new Map([['attachments/a', strToU8('a')]]))).files.size, 1);
  });
});
