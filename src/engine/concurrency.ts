/**
 * Bounded concurrency, written once: bucket reads, S3 part copies, Bitbucket reads.
 */

/**
 * `work` for every item, at most `limit` at a time; the answers in the items' order.
 * After a failure no further item is started; those under way are waited for (nothing
 * is left running behind the caller's back), then the first failure is thrown.
 */
export async function inTurns<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const answers = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const at = next++;
      try {
        answers[at] = await work(items[at]!, at);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return answers;
}
