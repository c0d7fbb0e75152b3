import { createHash, randomUUID, type Hash } from 'node:crypto';
import { closeSync, createWriteStream, fsync, openSync, unlink, type WriteStream } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, GatewayError } from '../domain/errors.ts';

const fsyncAsync = promisify(fsync);
const unlinkAsync = promisify(unlink);

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
 * (`write` says when to wait for `drain`), hashed on the way, fsync'd on `finish`, removed on `discard`.
 */
export class IncomingFile {
  readonly path: string;
  readonly #fd: number;
  readonly #stream: WriteStream;
  readonly #hash: Hash = createHash('sha256');
  #size = 0;
  #head: Buffer[] = [];
  #headBytes = 0;
  #error: NodeJS.ErrnoException | undefined;
  #state: 'open' | 'finishing' | 'finished' | 'discarded' = 'open';

  private constructor(file: string, fd: number) {
    this.path = file;
    this.#fd = fd;
    this.#stream = createWriteStream(file, { fd, autoClose: false, highWaterMark: 256 * 1024 });
    this.#stream.on('error', (err: NodeJS.ErrnoException) => {
      this.#error ??= err;
    });
  }

  /** Creates a new, uniquely named file in `dir` and writes `header` first. */
  static create(dir: string, header: Buffer): IncomingFile {
    const file = path.join(dir, `${randomUUID()}.part`);
    const incoming = new IncomingFile(file, openSync(file, 'wx', 0o640));
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
      this.#stream.off('error', done);
      listener();
    };
    this.#stream.on('drain', done);
    this.#stream.on('close', done);
    this.#stream.on('error', done);
  }

  /** Flushes and fsyncs the file; throws (after removing it) when it could not be written. */
  async finish(): Promise<FinishedFile> {
    if (this.#state !== 'open') throw new Error(`incoming file is ${this.#state}`);
    this.#state = 'finishing';
    try {
      await new Promise<void>((resolve, reject) => {
        if (this.#error !== undefined) {
          reject(this.#error);
          return;
        }
        this.#stream.once('error', reject);
        this.#stream.end(() => resolve());
      });
      await fsyncAsync(this.#fd);
      closeSync(this.#fd);
      this.#state = 'finished';
    } catch (err) {
      this.#state = 'open';
      await this.discard();
      throw writeError(err);
    }
    return { path: this.path, size: this.#size, sha256: this.#hash.digest('hex'), head: Buffer.concat(this.#head) };
  }

  /** Removes the file whatever its state; never throws. */
  async discard(): Promise<void> {
    const state = this.#state;
    if (state === 'discarded') return;
    this.#state = 'discarded';
    if (state !== 'finished') {
      // Waits for a write in flight before the descriptor goes (its number could be reused at once).
      await new Promise<void>((resolve) => {
        if (this.#stream.closed) {
          resolve();
          return;
        }
        const timer = setTimeout(resolve, 5000);
        this.#stream.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        this.#stream.destroy();
      });
      try {
        closeSync(this.#fd);
      } catch {
        // already closed
      }
    }
    await unlinkAsync(this.path).catch(() => undefined);
  }
}

function writeError(err: unknown): GatewayError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new GatewayError(ErrorCode.Unavailable, 'the disk is full', { cause: err, publicDetail: 'out of disk space' });
  return new GatewayError(ErrorCode.Internal, `could not write the received instance: ${(err as Error).message}`, { cause: err });
}
