import { findSnapshot, fromFuture, isFromFuture, listAllSnapshots, readManifests } from '../../engine/bucket/catalog.js';
import { snapshotKey } from '../../engine/bucket/bucket-keys.js';
import { shortFingerprint } from '../../engine/bucket/signing.js';
import { LifeboatError } from '../../engine/errors.js';
import { type VerifyReport, unreadableReport, verifySnapshot } from '../../engine/verify.js';
import { defineCommand, repoOptions } from '../command.js';
import { loadIdentities, openLifeboatBucket, resolveRepo } from '../context.js';
import { ExitCode, formatBytes, inLine, reportError } from '../output.js';
import { bundleMeter } from '../progress.js';
import { describeSeal, listingPolicy, readerTrust } from '../signing.js';

export const verifyCommand = defineCommand({
  name: 'verify',
  usage: 'lifeboat verify <snapshot>|--all [--repo <workspace>/<repo>] [--identity <file>] [--trust <fingerprint>]... [--allow-unsigned]',
  summary: 'Check signatures, checksums, chain completeness, metadata objects and (decrypted, with an identity) bundle headers, pack trailers and metadata documents.',
  options: {
    all: { type: 'boolean', help: 'verify every snapshot (of --repo, when given)' },
    ...repoOptions,
    'allow-unsigned': { type: 'boolean', help: 'count a snapshot no trusted key signed as ok (one written before signing)' },
  },
  examples: ['lifeboat verify --all --identity ~/lifeboat-key.txt', 'lifeboat verify latest --repo acme/web --identity ~/lifeboat-key.txt'],
  async run(args, output) {
    const { positionals: [id], values } = args;
    const all = values.all === true;
    if ((id === undefined) === !all) throw new LifeboatError('INVALID_ARGUMENT', `Give a snapshot id or --all: ${this.usage}`);
    const store = await openLifeboatBucket(values);
    const identities = await loadIdentities(values);
    const repo = await resolveRepo(store, values.repo);
    // Every snapshot is read and checked; whether it is signed is part of the verdict, below.
    const { trust } = await readerTrust(store, values, output, listingPolicy);
    const locations = id ? [await findSnapshot(store, id, repo)] : await listAllSnapshots(store, repo);
    const now = new Date();
    const reports: (VerifyReport & { signedBy: string | null })[] = [];
    const verified = new Set<string>();
    for (const location of locations) {
      const { manifests: [manifest], unreadable: [problem], seals } = await readManifests(store, [location], trust);
      if (problem) reports.push({ ...unreadableReport(problem), signedBy: null });
      if (!manifest) continue;
      const seal = seals.get(manifest)!;
      const meter = bundleMeter(manifest.bundles.map((entry) => entry.size));
      const report = await verifySnapshot(store, manifest, {
        ...(identities ? { identities } : {}),
        verified,
        onBundle: (index, total) => output.progress(`Verifying ${manifest.id}: bundle ${index}/${total}, ${meter(index)}`),
      });
      // Where there are keys to expect a signature by, a snapshot none of them signed is what a plant looks
      // like: a failure unless --allow-unsigned accepts it (written before signing). With no key at all it is only said.
      if (!seal.signed && trust.keys.length > 0 && values['allow-unsigned'] !== true) {
        report.problems.push({ code: 'SNAPSHOT_UNSIGNED', message: `Not signed by a trusted key (${trust.keys.map(shortFingerprint).join(', ')}): nothing shows that Lifeboat wrote it.`, key: snapshotKey(location.repo, location.id) });
      }
      if (isFromFuture(location.id, now)) {
        const future = fromFuture(location.repo, location.id, now);
        report.problems.push({ code: future.code, message: future.message, key: future.key });
      }
      reports.push({ ...report, ok: report.problems.length === 0, signedBy: seal.signed ? seal.key : null });
    }
    output.done();
    const ok = reports.every((report) => report.ok);
    output.result({ ok, snapshots: reports }, () => reports.map((report) => {
      const head = `${report.ok ? 'ok    ' : 'FAILED'} ${report.snapshot}  ${describeSeal(report.signedBy)}, ${report.bundles} bundles, ${formatBytes(report.bytes)}${report.metadata > 0 ? `, ${report.metadata} metadata objects` : ''}${report.deep || report.bundles === 0 ? '' : identities ? ' (checksums only: encrypted, the identity does not open it)' : ' (checksums only: encrypted, no --identity)'}`;
      return [head, ...report.problems.map((problem) => `         ${problem.code}: ${inLine(problem.message)}`)].join('\n');
    }).join('\n') || 'No snapshots to verify.');
    // A wrong key is the caller's mistake, not damage: exit 1 as any command refused with it, unless damage was found too.
    const damaged = reports.some((report) => report.problems.some((problem) => problem.code !== 'IDENTITY_MISMATCH'));
    const undecrypted = reports.filter((report) => report.problems.some((problem) => problem.code === 'IDENTITY_MISMATCH')).map((report) => report.snapshot);
    if (!damaged && undecrypted.length > 0) {
      const error = new LifeboatError('IDENTITY_MISMATCH', `The given identity opens none of ${undecrypted.length} encrypted snapshot(s) (${undecrypted.join(', ')}): only their checksums were checked.`);
      return reportError(error, undefined, { debug: false });
    }
    return ok ? ExitCode.ok : ExitCode.verifyFailed;
  },
});
