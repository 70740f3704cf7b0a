/**
 * Object Lock, read back: a writer that asked for retention checks that what it
 * wrote carries it. A server may accept the lock headers and keep no retention
 * (s3rver does, and so may other S3-compatible servers); then nothing is protected,
 * and the writer must say so rather than report success.
 */
import { LifeboatError } from '../errors.js';
import type { BlobStore, ObjectLockOptions } from './blob-store.js';

/**
 * Checks that each of `keys` is retained at least as `asked`: in the mode asked (or
 * COMPLIANCE, which is stricter) until no earlier than asked. `asked` is the least
 * any of them was written with (its date from before the first write). Dates are
 * compared in whole seconds: HTTP carries the date S3 answers, not milliseconds.
 */
export async function checkRetention(store: BlobStore, keys: readonly string[], asked: ObjectLockOptions): Promise<void> {
  const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);
  const found = await Promise.all(keys.map(async (key) => ({ key, lock: (await store.stat(key))?.lock })));
  const short = found.filter(({ lock }) => !lock
    || (asked.mode === 'COMPLIANCE' && lock.mode !== 'COMPLIANCE')
    || seconds(lock.retainUntil) < seconds(asked.retainUntil));
  if (short.length === 0) return;
  const said = short.map(({ key, lock }) => `${key}: ${lock ? `${lock.mode} until ${lock.retainUntil.toISOString()}` : 'no retention'}`).join('; ');
  throw new LifeboatError(
    'OBJECT_LOCK_NOT_APPLIED',
    `Object Lock was asked for (${asked.mode} until ${asked.retainUntil.toISOString()}), but ${short.length} of ${keys.length} objects just written in ${store.location} do not carry it (${said}): they are NOT protected against deletion or overwriting. The bucket ignores Object Lock, or the key may not read retention (s3:GetObjectRetention).`,
    { details: { location: store.location, asked: { mode: asked.mode, retainUntil: asked.retainUntil.toISOString() }, keys: short.map(({ key }) => key) } },
  );
}
