import { close, fsync, open } from 'node:fs';

/**
 * Shares fsyncs of one file or directory among concurrent callers: `sync()` resolves after an fsync
 * that started after the call, and callers that arrive while one runs share the next. fsync flushes
 * the file (the inode), whichever descriptor wrote it, so one descriptor serves every writer. Runs
 * on libuv's thread pool, never on the event loop.
 */
export class GroupFsync {
  readonly #open: () => Promise<number>;
  #fd: Promise<number> | undefined;
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #running = false;

  /** `fd`: a descriptor to use (closed by the owner), or a path to open read-only when first needed. */
  constructor(target: number | string) {
    this.#open = typeof target === 'number' ? () => Promise.resolve(target) : () => openReadOnly(target);
    this.#ownsFd = typeof target === 'string';
  }

  readonly #ownsFd: boolean;

  /** True while an fsync runs or callers wait for one. */
  get busy(): boolean {
    return this.#running || this.#waiters.length > 0;
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#running) void this.#run();
    });
  }

  async #run(): Promise<void> {
    this.#running = true;
    while (this.#waiters.length > 0) {
      const round = this.#waiters;
      this.#waiters = [];
      try {
        this.#fd ??= this.#open();
        const fd = await this.#fd;
        await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
        for (const w of round) w.resolve();
      } catch (err) {
        // A failed open is tried again by the next round.
        this.#fd = undefined;
        for (const w of round) w.reject(err);
      }
    }
    this.#running = false;
  }

  /** Closes a descriptor this object opened, once no fsync is running or waiting. */
  async close(): Promise<void> {
    while (this.busy) await new Promise((r) => setImmediate(r));
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined && this.#ownsFd) {
      const n = await fd.catch(() => undefined);
      if (n !== undefined) await new Promise<void>((resolve) => close(n, () => resolve()));
    }
  }
}

function openReadOnly(file: string): Promise<number> {
  return new Promise((resolve, reject) => open(file, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** fsyncs one file once (opened read-only for it: fsync flushes the file, whichever descriptor wrote it). */
export async function fsyncFile(file: string): Promise<void> {
  const sync = new GroupFsync(file);
  try {
    await sync.sync();
  } finally {
    await sync.close();
  }
}

/**
 * Directory fsyncs shared by concurrent callers per directory (instances of one series renamed into
 * the same folder at once need one fsync between them); a directory's descriptor is closed when no
 * caller waits for it any more.
 */
export class DirectorySyncs {
  readonly #byDir = new Map<string, GroupFsync>();

  async sync(dir: string): Promise<void> {
    let group = this.#byDir.get(dir);
    if (group === undefined) {
      group = new GroupFsync(dir);
      this.#byDir.set(dir, group);
    }
    try {
      await group.sync();
    } finally {
      if (!group.busy && this.#byDir.get(dir) === group) {
        this.#byDir.delete(dir);
        void group.close();
      }
    }
  }
}
