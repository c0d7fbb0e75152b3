import { closeSync, fsync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { migrations as allMigrations, type Migration } from './migrations/index.ts';
import { applyMigrations } from './migrate.ts';

export type SqlValue = SQLInputValue;
export type Row = Record<string, SqlValue>;

interface PendingWrite {
  write: (db: DatabaseSync) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export interface OpenOptions {
  /** `:memory:` for unit tests; otherwise a file in the data directory. */
  file: string;
  migrations?: readonly Migration[];
}

/**
 * The gateway's SQLite database. `node:sqlite` is synchronous and blocks the event loop while it
 * commits, so writes on hot paths go through `write()`, which commits all writes requested in the
 * same turn of the event loop in one transaction (group commit), and makes them durable off the event
 * loop: the commit itself runs with synchronous=NORMAL (no fsync), then an fsync of the WAL file on
 * libuv's thread pool makes it durable before the writers are answered. fsync flushes the file, not
 * the descriptor, so ours covers SQLite's writes; frames a checkpoint has moved on were synced into
 * the database file by that checkpoint. Every other commit (`transaction()`, single statements) keeps
 * synchronous=FULL.
 */
export class Database {
  readonly sqlite: DatabaseSync;
  /** The WAL file; undefined for `:memory:`. */
  readonly #walFile: string | undefined;
  #walFd: number | undefined;
  #pending: PendingWrite[] = [];
  #flushScheduled = false;
  #closed = false;
  #closing = false;
  /** Writers whose commit waits for the next WAL fsync; one fsync runs at a time. */
  #syncWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #syncing = false;

  private constructor(sqlite: DatabaseSync, walFile: string | undefined) {
    this.sqlite = sqlite;
    this.#walFile = walFile;
  }

  readonly #statements = new Map<string, StatementSync>();

  /**
   * A statement prepared once for this connection. On hot paths (every stored instance, every job)
   * preparing a statement costs about as much as running it. `tx` is the handle a transaction
   * callback got: always this connection, but checked, so that a stray handle never gets ours.
   */
  statement(sql: string, tx: DatabaseSync = this.sqlite): StatementSync {
    if (tx !== this.sqlite) return tx.prepare(sql);
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.sqlite.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  static open(options: OpenOptions): Database {
    if (options.file !== ':memory:') mkdirSync(path.dirname(options.file), { recursive: true });
    const sqlite = new DatabaseSync(options.file, { enableForeignKeyConstraints: true, timeout: 5000 });
    // WAL lets the API read while the listener writes; FULL makes a commit durable before we acknowledge.
    sqlite.exec('PRAGMA journal_mode = WAL');
    sqlite.exec('PRAGMA synchronous = FULL');
    sqlite.exec('PRAGMA foreign_keys = ON');
    const db = new Database(sqlite, options.file === ':memory:' ? undefined : `${options.file}-wal`);
    applyMigrations(sqlite, options.migrations ?? allMigrations);
    return db;
  }

  /** Runs `fn` in one immediate transaction now; rolls back if it throws. */
  transaction<T>(fn: (db: DatabaseSync) => T): T {
    this.sqlite.exec('BEGIN IMMEDIATE');
    try {
      const result = fn(this.sqlite);
      this.sqlite.exec('COMMIT');
      return result;
    } catch (err) {
      this.sqlite.exec('ROLLBACK');
      throw err;
    }
  }

  /**
   * Queues `write` for the next group commit; resolves once it is durable. Each write runs in its own
   * savepoint, so one that throws is rolled back and rejected alone while the others commit.
   */
  write<T>(write: (db: DatabaseSync) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('database is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ write, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    // Closing: commit with a synchronous fsync, as there will be no event loop turn to wait for.
    const deferSync = this.#walFile !== undefined && !this.#closing;
    try {
      if (deferSync) this.sqlite.exec('PRAGMA synchronous = NORMAL');
      this.sqlite.exec('BEGIN IMMEDIATE');
      for (const item of batch) {
        this.sqlite.exec('SAVEPOINT w');
        try {
          outcomes.push({ ok: true, value: item.write(this.sqlite) });
          this.sqlite.exec('RELEASE w');
        } catch (err) {
          this.sqlite.exec('ROLLBACK TO w');
          this.sqlite.exec('RELEASE w');
          outcomes.push({ ok: false, value: err });
        }
      }
      this.sqlite.exec('COMMIT');
    } catch (err) {
      if (this.sqlite.isTransaction) this.sqlite.exec('ROLLBACK');
      for (const item of batch) item.reject(err);
      return;
    } finally {
      if (deferSync) this.sqlite.exec('PRAGMA synchronous = FULL');
    }
    const settle = (): void =>
      batch.forEach((item, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) item.resolve(outcome.value);
        else item.reject(outcome?.value);
      });
    if (!deferSync) return settle();
    this.#syncWal().then(settle, (err: unknown) => {
      // Committed but perhaps not durable: nobody may be told it is stored.
      for (const item of batch) item.reject(err);
    });
  }

  /** Resolves after an fsync of the WAL that started after this call; concurrent callers share one. */
  #syncWal(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#syncWaiters.push({ resolve, reject });
      if (!this.#syncing) void this.#runSyncs();
    });
  }

  async #runSyncs(): Promise<void> {
    this.#syncing = true;
    while (this.#syncWaiters.length > 0) {
      const round = this.#syncWaiters;
      this.#syncWaiters = [];
      try {
        const fd = this.#openWal();
        await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
        for (const w of round) w.resolve();
      } catch (err) {
        for (const w of round) w.reject(err);
      }
    }
    this.#syncing = false;
  }

  /** SQLite creates the WAL at the first write and keeps it while the connection is open. */
  #openWal(): number {
    if (this.#walFd === undefined) {
      const file = this.#walFile as string;
      this.#walFd = openSync(file, 'r');
      // The WAL's own directory entry must survive a crash too (once).
      const dir = openSync(path.dirname(file), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    return this.#walFd;
  }

  async #waitForSyncs(): Promise<void> {
    while (this.#syncing) await new Promise((r) => setImmediate(r));
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closing = true;
    this.#flush();
    // Writers still waiting for a WAL fsync get it now, synchronously: after close there is no WAL to sync.
    const waiting = this.#syncWaiters;
    this.#syncWaiters = [];
    if (waiting.length > 0) {
      try {
        fsyncSync(this.#openWal());
        for (const w of waiting) w.resolve();
      } catch (err) {
        for (const w of waiting) w.reject(err);
      }
    }
    this.#closed = true;
    this.sqlite.close();
    // An fsync still running uses the descriptor; it is closed once that one is done.
    const fd = this.#walFd;
    this.#walFd = undefined;
    if (fd !== undefined) void this.#waitForSyncs().then(() => closeSync(fd));
  }
}
