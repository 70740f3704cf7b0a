import { findSnapshot, listAllSnapshots, readManifests } from '../../engine/bucket/catalog.js';
import { LifeboatError } from '../../engine/errors.js';
import { type VerifyReport, unreadableReport, verifySnapshot } from '../../engine/verify.js';
import { defineCommand } from '../command.js';
import { loadIdentities, openLifeboatBucket, optionalRepo } from '../context.js';
import { ExitCode, formatBytes, inLine } from '../output.js';

export const verifyCommand = defineCommand({
  name: 'verify',
  usage: 'lifeboat verify <snapshot>|--all [--repo <workspace>/<repo>] [--identity <file>]',
  summary: 'Check checksums, chain completeness, metadata objects and (decrypted, with an identity) bundle headers, pack trailers and metadata documents.',
  options: { all: { type: 'boolean' }, repo: { type: 'string' } },
  async run(args, output) {
    const { positionals: [id], values } = args;
    const all = values.all === true;
    if ((id === undefined) === !all) throw new LifeboatError('INVALID_ARGUMENT', `Give a snapshot id or --all: ${this.usage}`);
    const store = await openLifeboatBucket(values);
    const identities = await loadIdentities(values);
    const repo = optionalRepo(values.repo);
    const locations = id ? [await findSnapshot(store, id, repo)] : await listAllSnapshots(store, repo);
    const reports: VerifyReport[] = [];
    const verified = new Set<string>();
    for (const location of locations) {
      const { manifests: [manifest], unreadable: [problem] } = await readManifests(store, [location]);
      if (problem) reports.push(unreadableReport(problem));
      if (!manifest) continue;
      reports.push(await verifySnapshot(store, manifest, {
        ...(identities ? { identities } : {}),
        verified,
        onBundle: (index, total) => output.progress(`Verifying ${manifest.id}: bundle ${index}/${total}`),
      }));
    }
    output.done();
    const ok = reports.every((report) => report.ok);
    output.result({ ok, snapshots: reports }, () => reports.map((report) => {
      const head = `${report.ok ? 'ok    ' : 'FAILED'} ${report.snapshot}  ${report.bundles} bundles, ${formatBytes(report.bytes)}${report.metadata > 0 ? `, ${report.metadata} metadata objects` : ''}${report.deep || report.bundles === 0 ? '' : ' (checksums only: encrypted, no --identity)'}`;
      return [head, ...report.problems.map((problem) => `         ${problem.code}: ${inLine(problem.message)}`)].join('\n');
    }).join('\n') || 'No snapshots to verify.');
    return ok ? ExitCode.ok : ExitCode.verifyFailed;
  },
});
