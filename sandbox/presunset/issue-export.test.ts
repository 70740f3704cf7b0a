import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { DEMO_USERS } from '../demo.js';
import { demoIssueExport } from './demo-issues.js';
import { isLifeboatError } from '../../src/engine/errors.js';
import { ISSUE_EXPORT_DB, ISSUE_EXPORT_LIMITS, readIssueExport, writeIssueExport, type IssueExportInput } from '../../src/engine/issue-export.js';
import { zipBomb } from '../../test/helpers/zip-bomb.js';

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
    const zip = demoIssueExport();
    const { db, files } = readIssueExport(zip);
    assert.deepEqual(db.issues.map((issue) => issue.id), [1, 2, 3, 4, 5, 6, 7, 8]);
    const [first] = db.issues;
    assert.equal(first?.status, 'resolved');
    assert.equal(first?.reporter?.account_id, DEMO_USERS.member.accountId);
    assert.deepEqual(db.logs.filter((log) => log.issue === 1).map((log) => [log.field, log.changed_from, log.changed_to]), [['status', 'new', 'open'], ['status', 'open', 'resolved']]);
    assert.ok(db.logs.every((log) => db.comments.some((comment) => comment.id === log.comment && comment.issue === log.issue)), 'every change has its comment');
    assert.ok(db.issues.every((issue) => issue.created_on < '2026-08-20'), 'written before the sunset');
    const [screenshot] = db.attachments;
    assert.equal(screenshot?.filename, 'screenshot.png');
    // The content is checked while inflating, not kept: read it here as any unzip would.
    const content = unzipSync(zip)[screenshot?.path ?? ''];
    assert.equal(Buffer.from(content ?? []).subarray(1, 4).toString(), 'PNG');
    assert.equal(files.get(screenshot?.path ?? ''), content?.length);
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
    const handmade = await readFile(join(scratch, 'handmade.zip'));
    const read = readIssueExport(handmade);
    assert.deepEqual(read.db.issues.map((issue) => [issue.id, issue.status, issue.kind, issue.priority]), [[7, 'new', 'bug', 'major']]);
    assert.deepEqual(read.db.comments, []);
    assert.equal(Buffer.from(unzipSync(handmade)['attachments/abc123'] ?? []).toString(), 'log line\n'.repeat(200));
    assert.equal(read.files.get('attachments/abc123'), 'log line\n'.repeat(200).length);
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

describe('zip bombs', () => {
  it('refuses an export that inflates far beyond its size, inflating little of it', () => {
    // 6 entries of 32 MiB of zeros: about 200 KiB, 192 MiB inflated.
    const bomb = zipBomb(6, 32 * 2 ** 20);
    assert.ok(bomb.length < 2 ** 20, `${bomb.length} bytes`);
    // Loosely: inflating the bomb whole would hold 192 MiB at once.
    const before = process.resourceUsage().maxRSS;
    assert.throws(() => readIssueExport(bomb), (error: unknown) => {
      assert.ok(isLifeboatError(error, 'ATTACHMENT_TOO_LARGE'), String(error));
      assert.match(error.message, /attachments\/0 inflates more than 100 times its compressed size/);
      return true;
    });
    const grewKiB = process.resourceUsage().maxRSS - before;
    assert.ok(grewKiB < 96 * 1024, `the peak grew by ${Math.round(grewKiB / 1024)} MiB`);
  });

  it('refuses an entry, or all entries together, inflating beyond the limits', () => {
    const issue = { id: 1, title: 'One', created_on: '2026-01-01T00:00:00Z' };
    const limits = { ...ISSUE_EXPORT_LIMITS, entryBytes: 64 * 1024, totalBytes: 160 * 1024 };
    const exportOf = (sizes: number[]): Uint8Array => writeIssueExport(
      { issues: [issue], attachments: sizes.map((_, index) => ({ issue: 1, filename: `f${index}`, path: `attachments/${index}`, user: null })) },
      new Map(sizes.map((size, index) => [`attachments/${index}`, randomBytes(size)])),
      new Date('2026-08-01T00:00:00Z'),
    );
    assert.equal(readIssueExport(exportOf([60 * 1024, 60 * 1024]), limits).files.get('attachments/1'), 60 * 1024);
    assert.throws(() => readIssueExport(exportOf([70 * 1024]), limits), /attachments\/0 inflates to more than 64 KiB/);
    assert.throws(() => readIssueExport(exportOf([60 * 1024, 60 * 1024, 60 * 1024]), limits), (error: unknown) => isLifeboatError(error, 'ATTACHMENT_TOO_LARGE') && /its entries inflate to more than/.test(error.message));
  });
});
