// A job read back through getJob is of any kind; a test that knows which one reads its typed result.
import assert from 'node:assert/strict';
import type { JobKind, JobView } from '../../src/contract.js';

/** The job, checked to be of `kind`, with that kind's result type. */
export function jobOfKind<K extends JobKind>(job: JobView, kind: K): JobView<K> {
  assert.equal(job.kind, kind, `a ${kind} job`);
  return job as JobView<K>;
}
