// Pushes that removed or rewrote history (force-pushes, deleted branches and
// tags), recorded by the push trigger with the snapshot that still holds the
// lost tip, so that the repository page can offer to put it back.
import { createHash } from 'node:crypto';
import { bracedUuid } from '../../bitbucket/uuid.js';
import type { DestructiveEvent, Paged } from '../../contract.js';
import { findSnapshotHolding, readManifests } from '../../engine/bucket/catalog.js';
import { LifeboatError, toLifeboatError } from '../../engine/errors.js';
import { fullRefNames, isTagRef } from '../../engine/git/ref-name.js';
import { cloneUrl, getRepository, gitClientFor } from '../../forge/bitbucket.js';
import { openWorkspaceBucket, repoPath } from '../../forge/bucket.js';
import type { RepositoryPushEvent } from '../../forge/events.js';
import { pinSnapshot, releasePin } from '../catalogue/pins.js';
import { kvsKeys } from '../state/state-keys.js';
import { listByPrefix } from '../state/app-state.js';
import { requireConfiguration } from '../settings/settings-store.js';
import { appTrust } from '../settings/signing-keys.js';
import { isIndexed, newestSnapshotIds } from '../catalogue/snapshot-index.js';
import { appState, now } from '../../forge/state/context.js';

/** Manifests the push trigger reads looking for the snapshot that holds a rewritten tip (it has 25 s). */
const LOOKUP_MANIFESTS = 10;
/** How long the push trigger reads snapshots and the repository's refs before recording what it learnt (undo searches again). */
const LOOKUP_MS = 8_000;

/** What the app knows of the refs a push event's short name could be. */
export interface RefEvidence {
  /** The newest of the recent snapshots that holds the lost tip at a candidate, and the candidates it holds it at. */
  holding?: { snapshotId: string; refNames: string[] };
  /** The candidates the newest snapshot has, at any commit. */
  newest?: string[];
  /** The repository's refs now (ls-refs): name → the objects it points at (its own, and an annotated tag's commit). */
  current?: Map<string, string[]>;
}

/**
 * Which of `candidates` (`refs/heads/<name>`, `refs/tags/<name>`) a push event
 * was about: the event gives only the short name, and a branch and a tag of
 * that name cannot be told apart from it (forge-events README). Each fact
 * below, in order, narrows the candidates; the first that leaves one decides:
 * 1. the snapshot that holds the lost tip at a candidate: that ref was there
 *    before the push (the strongest: it names the very commit);
 * 2. for a force-push, the candidate now at `after`; for a deletion, a
 *    candidate the newest snapshot has and the repository has no more (a ref
 *    still there was not deleted; one never backed up proves nothing by being
 *    absent);
 * 3. for a force-push, the candidate the newest snapshot has.
 * When none decides (both kinds fit, or nothing is known: the ref lived only
 * between two backups), undefined: the record names the short name, as the
 * event did, rather than guess. A late event can mislead step 2 (the ref was
 * pushed again meanwhile); step 1 does not depend on timing.
 */
export function decideRef(candidates: readonly string[], push: { closed: boolean; after?: string | undefined }, evidence: RefEvidence): string | undefined {
  const { holding, newest, current } = evidence;
  const steps: Array<(name: string) => boolean> = [];
  if (holding) steps.push((name) => holding.refNames.includes(name));
  if (push.closed) {
    if (newest) steps.push((name) => newest.includes(name) && !current?.has(name));
  } else {
    const after = push.after;
    if (current && after !== undefined) steps.push((name) => current.get(name)?.includes(after) ?? false);
    if (newest) steps.push((name) => newest.includes(name));
  }
  let possible = [...candidates];
  for (const step of steps) {
    const narrowed = possible.filter(step);
    if (narrowed.length === 1) return narrowed[0];
    if (narrowed.length > 1) possible = narrowed;
  }
  return undefined;
}

export async function recordDestructivePush(event: RepositoryPushEvent, previousTip: string): Promise<void> {
  const { push } = event;
  const repositoryUuid = bracedUuid(event.repository.uuid);
  const candidates = fullRefNames(push.ref);
  // Bitbucket's timestamp, when it gives one, is the same on every redelivery; so is what the id is made of
  // (never the decision, which may learn more the second time): a duplicate rewrites the same record.
  const atMs = Date.parse(event.timestamp ?? '') || now();
  const digest = createHash('sha256').update([repositoryUuid, push.ref, previousTip, push.after ?? '', push.closed ? 'closed' : 'forced'].join('\n')).digest('hex').slice(0, 12);
  const id = `${atMs}-${digest}`;
  // Bounded: slow reads must not push the trigger past its 25 s and lose the record itself.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), LOOKUP_MS);
  });
  const [snapshots, current] = await Promise.all([
    inTime(snapshotEvidence(event.workspace.uuid, repositoryUuid, candidates, previousTip), deadline, 'the snapshots holding a rewritten tip'),
    inTime(currentRefs(event.workspace.uuid, repositoryUuid), deadline, "the repository's refs"),
  ]).finally(() => clearTimeout(timer));
  const evidence: RefEvidence = { ...snapshots, ...(current ? { current } : {}) };
  const refName = decideRef(candidates, push, evidence);
  const kind: DestructiveEvent['kind'] = !push.closed ? 'force-push' : refName === undefined ? 'ref-deleted' : isTagRef(refName) ? 'tag-deleted' : 'branch-deleted';
  const snapshotId = evidence.holding && (refName === undefined || evidence.holding.refNames.includes(refName)) ? evidence.holding.snapshotId : undefined;
  const record: DestructiveEvent = {
    id,
    repositoryUuid,
    kind,
    ref: refName ?? push.ref,
    previousTip,
    ...(push.after && !push.closed ? { newTip: push.after } : {}),
    ...(event.actor?.accountId ? { actorAccountId: event.actor.accountId } : {}),
    at: new Date(atMs).toISOString(),
    ...(snapshotId ? { snapshotId } : {}),
  };
  // Pinned first: the banner must never offer an undo whose snapshot a prune took meanwhile.
  if (snapshotId) await pinSnapshot(repositoryUuid, snapshotId, { kind: 'event', eventId: id });
  await appState().set(kvsKeys.destructiveEvent(repositoryUuid, new Date(atMs), id), record);
}

/** `lookup`'s answer, or undefined when it failed or came after `deadline`. */
async function inTime<T>(lookup: Promise<T>, deadline: Promise<'late'>, what: string): Promise<T | undefined> {
  const answer = await Promise.race([
    lookup.then((value) => ({ value }), (error: unknown) => {
      console.warn(`lifeboat: could not read ${what}`, toLifeboatError(error).message);
      return undefined;
    }),
    deadline,
  ]);
  if (answer !== 'late') return answer?.value;
  console.warn(`lifeboat: gave up reading ${what} in time; undo will search the snapshots again`);
  return undefined;
}

/** The newest snapshot that holds `tip` at a candidate (the newest backup first, then a few older ones), and the newest one's candidates. */
async function snapshotEvidence(workspaceUuid: string, repositoryUuid: string, candidates: string[], tip: string): Promise<Pick<RefEvidence, 'holding' | 'newest'>> {
  const [{ settings, secrets }, ids] = await Promise.all([requireConfiguration(), newestSnapshotIds(repositoryUuid, LOOKUP_MANIFESTS)]);
  const store = openWorkspaceBucket(settings, secrets.bucketSecretAccessKey);
  const repo = repoPath(workspaceUuid, repositoryUuid);
  // Flagged, not refused: a snapshot the app did not sign still holds history; one whose signature is broken is never read.
  const trust = await appTrust('flag');
  const found = await findSnapshotHolding(store, repo, { refNames: candidates, oid: tip }, ids, trust);
  const holding = found && { snapshotId: found.manifest.id, refNames: candidates.filter((name) => found.manifest.refs.some((ref) => ref.name === name && ref.oid === tip)) };
  const newestId = ids[0];
  let newestManifest = found?.manifest;
  if (newestManifest?.id !== newestId) newestManifest = newestId === undefined ? undefined : (await readManifests(store, [{ repo, id: newestId }], trust)).manifests[0];
  const newest = newestManifest && candidates.filter((name) => newestManifest.refs.some((ref) => ref.name === name));
  return { ...(holding ? { holding } : {}), ...(newest ? { newest } : {}) };
}

/** The repository's refs as the backups read them: ls-refs with the stored git credential. */
async function currentRefs(workspaceUuid: string, repositoryUuid: string): Promise<Map<string, string[]>> {
  const [{ settings, secrets }, repository] = await Promise.all([requireConfiguration(), getRepository(workspaceUuid, repositoryUuid)]);
  const listing = await gitClientFor(cloneUrl(repository), settings, secrets.bitbucketToken).listRefs();
  return new Map(listing.refs.map((ref) => [ref.name, ref.peeled === undefined ? [ref.oid] : [ref.oid, ref.peeled]]));
}

/** Newest first; an open event whose snapshot the index no longer has says so, for the banner not to offer its undo. */
export async function listDestructiveEvents(repositoryUuid: string, cursor?: string): Promise<Paged<DestructiveEvent>> {
  const page = await listByPrefix<DestructiveEvent>(appState(), kvsKeys.destructiveEventPrefix(repositoryUuid), cursor);
  const items = await Promise.all(page.items.map(async (event) => (
    event.snapshotId && !event.undoneBy && !(await isIndexed(repositoryUuid, event.snapshotId)) ? { ...event, snapshotGone: true } : event)));
  return { ...page, items };
}

/** Event ids are `<epoch ms>-<digest>`, so the record's key follows from the id. */
function destructiveEventKey(repositoryUuid: string, eventId: string): string {
  const match = /^(\d{1,13})-[0-9a-f]{12}$/.exec(eventId);
  if (!match?.[1]) throw new LifeboatError('INVALID_ARGUMENT', 'There is no such event on this repository.');
  return kvsKeys.destructiveEvent(repositoryUuid, new Date(Number(match[1])), eventId);
}

export async function getDestructiveEvent(repositoryUuid: string, eventId: string): Promise<DestructiveEvent> {
  const event = await appState().get<DestructiveEvent>(destructiveEventKey(repositoryUuid, eventId));
  if (!event) throw new LifeboatError('INVALID_ARGUMENT', 'There is no such event on this repository.');
  return event;
}

export async function markEventUndone(repositoryUuid: string, eventId: string, jobId: string): Promise<DestructiveEvent> {
  const event = { ...(await getDestructiveEvent(repositoryUuid, eventId)), undoneBy: { jobId, at: new Date(now()).toISOString() } };
  await appState().set(destructiveEventKey(repositoryUuid, eventId), event);
  if (event.snapshotId) await releasePin(repositoryUuid, event.snapshotId, { kind: 'event', eventId });
  return event;
}
