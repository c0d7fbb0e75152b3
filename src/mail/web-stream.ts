/**
 * A web ReadableStream (what openpgp takes) that pulls from an async iterator one chunk at a time:
 * openpgp reads as fast as it encrypts or decrypts, and a cancel (openpgp giving up on bad input)
 * ends the iterator, closing its file. Chunks are counted one each, never sized (strings have no
 * byteLength, which `Readable.toWeb` trips over).
 */
export function pullStream<T>(source: AsyncIterable<T>): ReadableStream<T> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<T>(
    {
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done === true) controller.close();
          else controller.enqueue(next.value);
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 1, size: () => 1 },
  );
}
