import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, GatewayError } from '../domain/errors.ts';

/** How much of the file's start stays in memory for the index (the attributes before the pixel data). */
const headLimit = 64 * 1024;

export interface FinishedFile {
  path: string;
  size: number;
  sha256: string;
  /** The first bytes of the file (at most 64 KB), meta header included. */
  head: Buffer;
}

/**
 * A `.part` file in `incoming/` that receives an instance as it arrives: written through a stream
 * (`write` says when to wait for `drain`), hashed on the way, closed on `finish`, removed on
 * `discard`. Not fsync'd here: the archive syncs it after the rename, together with its directory.
 * Opening, writing and closing all run off the event loop.
 */
export class IncomingFile {
  readonly path: string;
  readonly #stream: WriteStream;
  readonly #closed: Promise<void>;
  readonly #hash: Hash = createHash('sha256');
  #size = 0;
  #head: Buffer[] = [];
  #headBytes = 0;
  #error: NodeJS.ErrnoException | undefined;
  #state: 'open' | 'finishing' | 'finished' | 'discarded' = 'open';

  private constructor(file: string) {
    this.path = file;
    this.#stream = createWriteStream(file, { flags: 'wx', mode: 0o640, highWaterMark: 256 * 1024 });
    this.#stream.on('error', (err: NodeJS.ErrnoException) => {
      this.#error ??= err;
    });
    this.#closed = new Promise((resolve) => this.#stream.once('close', () => resolve()));
  }

  /** Creates a new, uniquely named file in `dir` and writes `header` first. */
  static create(dir: string, header: Buffer): IncomingFile {
    const incoming = new IncomingFile(path.join(dir, `${randomUUID()}.part`));
    incoming.write(header);
    return incoming;
  }

  get size(): number {
    return this.#size;
  }

  /** False: wait for `onDrain` before writing more (the write itself is taken). */
  write(chunk: Buffer): boolean {
    if (this.#state !== 'open' || this.#error !== undefined) return true;
    this.#hash.update(chunk);
    this.#size += chunk.length;
    if (this.#headBytes < headLimit) {
      const part = chunk.subarray(0, headLimit - this.#headBytes);
      // A copy: the chunk may be a view of a larger network buffer.
      this.#head.push(Buffer.from(part));
      this.#headBytes += part.length;
    }
    return this.#stream.write(chunk);
  }

  onDrain(listener: () => void): void {
    if (!this.#stream.writableNeedDrain || this.#state !== 'open') {
      listener();
      return;
    }
    const done = (): void => {
      this.#stream.off('drain', done);
      this.#stream.off('close', done);
      listener();
    };
    this.#stream.on('drain', done);
    this.#stream.on('close', done);
  }

  /** Writes what is buffered and closes the file; throws (after removing it) when it could not be written. */
  async finish(): Promise<FinishedFile> {
    if (this.#state !== 'open') throw new Error(`incoming file is ${this.#state}`);
    this.#state = 'finishing';
    if (this.#error === undefined) this.#stream.end();
    else this.#stream.destroy();
    await this.#closed;
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#state = 'discarded';
      await unlink(this.path).catch(() => undefined);
      throw writeError(err);
    }
    this.#state = 'finished';
    return { path: this.path, size: this.#size, sha256: this.#hash.digest('hex'), head: Buffer.concat(this.#head) };
  }

  /** Removes the file whatever its state; never throws. */
  async discard(): Promise<void> {
    if (this.#state === 'discarded') return;
    this.#state = 'discarded';
    // Waits for a write in flight and the close before the file goes.
    this.#stream.destroy();
    await this.#closed;
    await unlink(this.path).catch(() => undefined);
  }
}

function writeError(err: unknown): GatewayError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new GatewayError(ErrorCode.Unavailable, 'the disk is full', { cause: err, publicDetail: 'out of disk space' });
  return new GatewayError(ErrorCode.Internal, `could not write the received instance: ${(err as Error).message}`, { cause: err });
}
