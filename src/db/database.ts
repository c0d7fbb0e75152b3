import { closeSync, existsSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { GroupFsync } from '../group-fsync.ts';
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
  /** Syncs the WAL file; undefined for `:memory:`. */
  readonly #wal: GroupFsync | undefined;
  #pending: PendingWrite[] = [];
  #flushScheduled = false;
  #closed = false;
  #closing = false;

  private constructor(sqlite: DatabaseSync, walFile: string | undefined) {
    this.sqlite = sqlite;
    this.#wal = walFile === undefined ? undefined : new GroupFsync(walFile);
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
    const wal = options.file === ':memory:' ? undefined : `${options.file}-wal`;
    const db = new Database(sqlite, wal);
    applyMigrations(sqlite, options.migrations ?? allMigrations);
    // The WAL's own directory entry must survive a crash too: synced once, as it exists from here on.
    if (wal !== undefined && existsSync(wal)) fsyncDirectory(path.dirname(wal));
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
    const wal = this.#closing ? undefined : this.#wal;
    try {
      if (wal !== undefined) this.sqlite.exec('PRAGMA synchronous = NORMAL');
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
      if (wal !== undefined) this.sqlite.exec('PRAGMA synchronous = FULL');
    }
    const settle = (): void =>
      batch.forEach((item, i) => {
        const outcome = outcomes[i];
        if (outcome?.ok) item.resolve(outcome.value);
        else item.reject(outcome?.value);
      });
    if (wal === undefined) return settle();
    wal.sync().then(settle, (err: unknown) => {
      // Committed but perhaps not durable: nobody may be told it is stored.
      for (const item of batch) item.reject(err);
    });
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closing = true;
    this.#flush();
    this.#closed = true;
    // Closing checkpoints the WAL into the database file (synced, as synchronous is FULL here), so
    // writers still waiting for their WAL fsync are durable either way; theirs completes on its own.
    this.sqlite.close();
    void this.#wal?.close();
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
