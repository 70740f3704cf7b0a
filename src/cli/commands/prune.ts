import { prune, pruneAll, type PruneReport } from '../../engine/bucket/prune.js';
import { type RetentionPolicy, validatePolicy } from '../../engine/bucket/retention.js';
import { formatRepoPath } from '../../engine/bucket/bucket-keys.js';
import { type OptionSpec, type Values, defineCommand, repoOptions } from '../command.js';
import { openLifeboatBucket, resolveRepo, wholeNumber } from '../context.js';
import { ExitCode, formatBytes, inLine } from '../output.js';
import { listingPolicy, readerTrust } from '../signing.js';

/** The policy's flags, each with the field of the engine's RetentionPolicy it sets. */
const POLICY_FLAGS = {
  'keep-within': { field: 'keepWithin', value: '<duration>', help: 'keep every snapshot taken within this long before the newest (30d, 1y6m, 2d12h)' },
  'keep-last': { field: 'keepLast', value: 'N', help: 'keep the newest N snapshots' },
  'keep-hourly': { field: 'keepHourly', value: 'N', help: 'keep the newest snapshot of each of the last N hours that have one' },
  'keep-daily': { field: 'keepDaily', value: 'N', help: 'keep the newest snapshot of each of the last N days that have one' },
  'keep-weekly': { field: 'keepWeekly', value: 'N', help: 'keep the newest snapshot of each of the last N weeks that have one' },
  'keep-monthly': { field: 'keepMonthly', value: 'N', help: 'keep the newest snapshot of each of the last N months that have one' },
  'keep-yearly': { field: 'keepYearly', value: 'N', help: 'keep the newest snapshot of each of the last N years that have one' },
} as const;
type PolicyFlag = keyof typeof POLICY_FLAGS;
const policyOptions = Object.fromEntries(Object.entries(POLICY_FLAGS).map(([flag, { value, help }]) => [flag, { type: 'string', value, help }])) as Record<PolicyFlag, OptionSpec & { type: 'string' }>;

export const pruneCommand = defineCommand({
  name: 'prune',
  usage: 'lifeboat prune [--dry-run] [--repo <workspace>/<repo>] [--keep-within <duration, e.g. 30d, 1y6m>] [--keep-last N] [--keep-hourly N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--keep-yearly N]',
  summary: 'Forget snapshots outside the retention policy (none given: keep all), then delete objects no snapshot needs and abort uploads that interrupted backups left. The newest snapshot is always kept. The app\'s pins (snapshots an undo or a restore still needs) live in the app, not in the bucket: this command does not see them, so keep at least the app\'s keep-within window (--keep-within 30d).',
  options: {
    'dry-run': { type: 'boolean', help: 'say what would be forgotten and deleted; change nothing' },
    ...repoOptions,
    ...policyOptions,
  },
  examples: ['lifeboat prune --keep-within 30d --keep-daily 14 --keep-monthly 12 --dry-run'],
  async run({ values }, output) {
    const store = await openLifeboatBucket(values);
    const policy = policyFrom(values);
    const repo = await resolveRepo(store, values.repo);
    // The policy counts only snapshots a trusted key signed (a plant must not push real ones out); a bucket from before signing counts all.
    const { trust } = await readerTrust(store, values, output, listingPolicy);
    const options = {
      ...(trust.keys.length > 0 ? { trust } : {}),
      dryRun: values['dry-run'] === true,
      owner: `lifeboat-cli prune pid ${process.pid}`,
      onProgress: (message: string) => output.progress(message),
    };
    const result = repo ? { reports: [await prune(store, repo, policy, options)], failures: [] } : await pruneAll(store, policy, options);
    output.done();
    output.result(result, () => [
      ...result.reports.map(describe),
      ...result.failures.map((failure) => `${formatRepoPath(failure.repo)}: not pruned: [${failure.error.code}] ${inLine(failure.error.message)}`),
    ].join('\n') || 'Nothing to prune.');
    return result.failures.length > 0 ? ExitCode.failed : ExitCode.ok;
  },
});

function policyFrom(values: Values<typeof policyOptions>): RetentionPolicy {
  const policy: Record<string, number | string> = {};
  for (const [flag, { field }] of Object.entries(POLICY_FLAGS) as [PolicyFlag, (typeof POLICY_FLAGS)[PolicyFlag]][]) {
    // A duration is checked by validatePolicy, which names the flag's rule.
    const value = flag === 'keep-within' ? values[flag] : wholeNumber(values[flag], `--${flag}`);
    if (value !== undefined) policy[field] = value;
  }
  return validatePolicy(policy);
}

function describe(report: PruneReport): string {
  const verb = report.dryRun ? 'would' : '';
  const lines = [
    `${formatRepoPath(report.repo)}: keep ${report.keptSnapshots.length} snapshot(s), ${verb ? 'would forget' : 'forgot'} ${report.forgottenSnapshots.length}, ${verb ? 'would delete' : 'deleted'} ${report.deletedObjects.length} object(s) (${formatBytes(report.bytesFreed)})${report.dryRun ? ' [dry run: nothing changed]' : ''}`,
    ...report.forgottenSnapshots.map((id) => `  forget ${id}`),
    ...report.deletedObjects.map((object) => `  delete ${object.key} (${formatBytes(object.size)})`),
    ...report.abortedUploads.map((upload) => `  abort the incomplete upload of ${upload.key} (begun ${upload.initiated})`),
  ];
  if (!report.uploadsChecked) lines.push('  incomplete uploads not checked: the bucket cannot list them (a lifecycle rule should abort them; see docs/bucket-format.md)');
  if (report.lockedSnapshots.length + report.lockedObjects.length > 0) {
    lines.push(`  under Object Lock, kept until their retention ends: ${report.lockedSnapshots.length} snapshot(s), ${report.lockedObjects.length} object(s)`);
  }
  return lines.join('\n');
}
