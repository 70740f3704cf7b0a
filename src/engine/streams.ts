/**
 * The engine's one stream type. Pull-based async iteration gives backpressure for
 * free: a producer runs only as fast as its consumer asks for the next chunk.
 */
export type ByteStream = AsyncIterable<Uint8Array>;

export async function* fromBytes(bytes: Uint8Array): ByteStream {
  yield bytes;
}

/** Reads a whole stream; only for small bodies (JSON, pkt-line replies), never packs. */
export async function collect(stream: ByteStream): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Drains a stream, discarding its bytes. */
export async function drain(stream: ByteStream): Promise<void> {
  const iterator = stream[Symbol.asyncIterator]();
  while (!(await iterator.next()).done) { /* discard */ }
}

export async function* concatStreams(streams: Iterable<ByteStream | Uint8Array>): ByteStream {
  for (const part of streams) {
    if (part instanceof Uint8Array) yield part;
    else yield* part;
  }
}

/** A Web ReadableStream read with an explicit reader loop (see git-protocol.md: `for await` over fetch bodies was slow). */
export async function* fromWebStream(stream: ReadableStream<Uint8Array>): ByteStream {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value.byteLength > 0) yield value;
    }
  } finally {
    reader.releaseLock();
    // Cancelling tells the producer (e.g. an HTTP body) we stopped early; harmless when finished.
    await stream.cancel().catch(() => undefined);
  }
}

/** A pull-based Web ReadableStream over a ByteStream, for APIs that take Web streams (age, fetch bodies). */
export function toWebStream(stream: ByteStream): ReadableStream<Uint8Array> {
  const iterator = stream[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  }, { highWaterMark: 0 });
}
