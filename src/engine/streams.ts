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

/** Gives up on a stream whose producer sends nothing for `ms` while it is being waited for. */
export interface IdleTimeout {
  ms: number;
  /** The error to fail with. */
  error: () => Error;
  /** The clock starts once this resolves (a request body sent: until then the other side may rightly be silent). */
  after?: Promise<void>;
}

/**
 * A Web ReadableStream read with an explicit reader loop: a large fetch body read with `for await` (or
 * Readable.fromWeb) into a file took 5–7 minutes and up to 700 MB where a getReader() loop took 14 s and
 * ~100 MB. With `idle`, each read waits at most `idle.ms`; time the consumer spends between reads does not count.
 */
export async function* fromWebStream(stream: ReadableStream<Uint8Array>, idle?: IdleTimeout): ByteStream {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await (idle ? readWithin(reader, idle) : reader.read());
      if (done) return;
      if (value.byteLength > 0) yield value;
    }
  } finally {
    reader.releaseLock();
    // Cancelling tells the producer (e.g. an HTTP body) we stopped early; harmless when finished.
    await stream.cancel().catch(() => undefined);
  }
}

function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, idle: IdleTimeout): ReturnType<typeof reader.read> {
  // Cancelling ends the pending read and tells the producer (the connection) to stop.
  return within(reader.read(), idle, (error) => { reader.cancel(error).catch(() => undefined); });
}

/** `pending`, or idle.error() once idle.ms have passed; `onTimeout` then stops what `pending` waits for. */
export function within<T>(pending: Promise<T>, idle: IdleTimeout, onTimeout: (error: Error) => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settled = false;
  const timedOut = new Promise<never>((_resolve, reject) => {
    const arm = (): void => {
      if (settled) return;
      timer = setTimeout(() => {
        const error = idle.error();
        // Rejected before onTimeout runs, so that it wins the race over whatever onTimeout makes `pending` do.
        reject(error);
        onTimeout(error);
      }, idle.ms);
    };
    if (idle.after) void idle.after.then(arm);
    else arm();
  });
  return Promise.race([pending, timedOut]).finally(() => {
    settled = true;
    clearTimeout(timer);
  });
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
