// The admin page's retention preview: which of a repository's existing
// snapshots a policy (saved or not) keeps, by the engine's one rule
// (applyPolicy, as prune applies it) over the KVS snapshot index — never the
// bucket, and never more than a bounded number of KVS pages in a resolver
// (besides the repository's pins, a handful: one per open banner and recent overwrite restore).
import { bracedUuid } from '../../bitbucket/uuid.js';
import type { RetentionPreview } from '../../contract.js';
import { applyPolicy, type RetentionPolicy } from '../../engine/bucket/retention.js';
import { heldPins } from './pins.js';
import { newestIndexedSnapshots } from './snapshot-index.js';

/**
 * The newest this many snapshots are previewed (KVS pages of 20: 11 queries, the last to see whether there are more).
 * Their decisions are exact whatever is older: the rules walk newest first, and
 * each decision depends only on the snapshots newer than it.
 */
export const PREVIEW_SNAPSHOTS = 200;

export async function previewRetention(repositoryUuid: string, policy: RetentionPolicy): Promise<RetentionPreview> {
  // One more than previewed: whether there are more.
  const snapshots = await newestIndexedSnapshots(repositoryUuid, PREVIEW_SNAPSHOTS + 1);
  const previewed = snapshots.slice(0, PREVIEW_SNAPSHOTS);
  const pins = await heldPins(repositoryUuid);
  const decision = applyPolicy(previewed.map((snapshot) => ({ id: snapshot.id, createdAt: new Date(snapshot.createdAt) })), policy, new Set(pins.keys()));
  const reasons = new Map(decision.keep.map((kept) => [kept.id, kept.reasons]));
  return {
    repositoryUuid: bracedUuid(repositoryUuid),
    snapshots: previewed.map((snapshot) => ({
      id: snapshot.id,
      createdAt: snapshot.createdAt,
      trigger: snapshot.trigger,
      ownBytes: snapshot.ownBytes,
      kept: reasons.has(snapshot.id),
      reasons: reasons.get(snapshot.id) ?? [],
      ...(pins.has(snapshot.id) ? { pins: pins.get(snapshot.id) } : {}),
    })),
    more: snapshots.length > PREVIEW_SNAPSHOTS,
  };
}
