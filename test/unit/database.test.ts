import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Database, MigrationError, migrations, type Migration } from '../../src/db/index.ts';
import { tempDir } from '../support/temp.ts';

const testMigrations: Migration[] = [
  { version: 1, name: 'a', sql: 'CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT;' },
  { version: 2, name: 'b', sql: 'CREATE TABLE b (id INTEGER PRIMARY KEY) STRICT;' },
];

describe('database', () => {
  test('applies every migration once, records it, and sets the durability pragmas', () => {
    const file = path.join(tempDir(), 'gateway.db');
    const db = Database.open({ file });
    const rows = db.sqlite.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    assert.deepEqual(rows.map((r) => r['version']), migrations.map((m) => m.version));
    assert.equal((db.sqlite.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    assert.equal((db.sqlite.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous, 2);
    assert.equal((db.sqlite.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys, 1);
    db.close();
    // Reopening applies nothing new.
    const again = Database.open({ file });
    assert.equal((again.sqlite.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n, migrations.length);
    again.close();
  });

  test('a new migration is applied on top of an existing database', () => {
    const file = path.join(tempDir(), 'gateway.db');
    Database.open({ file, migrations: testMigrations.slice(0, 1) }).close();
    const db = Database.open({ file, migrations: testMigrations });
    const tables = db.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b') ORDER BY name").all();
    assert.deepEqual(tables.map((t) => t['name']), ['a', 'b']);
    db.close();
  });

  test('a failing migration is rolled back whole and names itself', () => {
    const file = path.join(tempDir(), 'gateway.db');
    const broken: Migration[] = [testMigrations[0] as Migration, { version: 2, name: 'broken', sql: 'CREATE TABLE c (id INTEGER) STRICT; CREATE TABLE oops (' }];
    assert.throws(() => Database.open({ file, migrations: broken }), (err: unknown) => err instanceof MigrationError && /2 \(broken\)/.test(err.message));
    const db = Database.open({ file, migrations: testMigrations.slice(0, 1) });
    const c = db.sqlite.prepare("SELECT name FROM sqlite_master WHERE name = 'c'").get();
    assert.equal(c, undefined, 'the half-applied migration left a table behind');
    db.close();
  });

  test('a database from a newer gateway is refused', () => {
    const file = path.join(tempDir(), 'gateway.db');
    Database.open({ file, migrations: testMigrations }).close();
    assert.throws(() => Database.open({ file, migrations: testMigrations.slice(0, 1) }), /newer version/);
  });

  test('migrations must be numbered 1, 2, 3 without gaps', () => {
    assert.throws(() => Database.open({ file: ':memory:', migrations: [testMigrations[1] as Migration] }), /expected 1/);
  });

  test('a table rebuild runs with foreign keys off, is checked before it commits, and turns them on again', () => {
    const file = path.join(tempDir(), 'gateway.db');
    const base: Migration[] = [
      { version: 1, name: 'parent', sql: 'CREATE TABLE p (id INTEGER PRIMARY KEY, v TEXT UNIQUE) STRICT; CREATE TABLE c (p_ref INTEGER NOT NULL REFERENCES p (id)) STRICT; INSERT INTO p VALUES (1, 1); INSERT INTO c VALUES (1);' },
    ];
    const rebuild = (sql: string): Migration => ({ version: 2, name: 'rebuild', foreignKeysOff: true, sql });
    Database.open({ file, migrations: base }).close();
    // Losing the parent row is caught, and nothing of the migration stays.
    assert.throws(
      () => Database.open({ file, migrations: [...base, rebuild('CREATE TABLE p2 (id INTEGER PRIMARY KEY, v TEXT) STRICT; DROP TABLE p; ALTER TABLE p2 RENAME TO p;')] }),
      (err: unknown) => err instanceof MigrationError && /foreign key/.test(err.message),
    );
    const db = Database.open({ file, migrations: [...base, rebuild('CREATE TABLE p2 (id INTEGER PRIMARY KEY, v TEXT) STRICT; INSERT INTO p2 SELECT * FROM p; DROP TABLE p; ALTER TABLE p2 RENAME TO p;')] });
    assert.equal((db.sqlite.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys, 1);
    assert.throws(() => db.sqlite.exec('INSERT INTO c VALUES (9)'), /FOREIGN KEY/);
    db.close();
  });

  test('group commit: writes of one turn commit together; a failing one is rolled back alone', async () => {
    const db = Database.open({ file: path.join(tempDir(), 'gateway.db'), migrations: testMigrations });
    let commits = 0;
    const original = db.sqlite.exec.bind(db.sqlite);
    db.sqlite.exec = (sql: string) => {
      if (sql === 'COMMIT') commits++;
      return original(sql);
    };
    const insert = (v: string) => db.write((s) => s.prepare('INSERT INTO a (v) VALUES (?)').run(v).lastInsertRowid);
    const results = await Promise.allSettled([insert('one'), insert('two'), db.write(() => { throw new Error('bad row'); }), insert('three')]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    assert.equal(commits, 1);
    const values = db.sqlite.prepare('SELECT v FROM a ORDER BY id').all().map((r) => r['v']);
    assert.deepEqual(values, ['one', 'two', 'three']);
    db.close();
    await assert.rejects(insert('late'), /closed/);
  });

  test('a group commit is made durable by an fsync of the WAL after the commit, and other commits keep synchronous=FULL', async () => {
    const db = Database.open({ file: path.join(tempDir(), 'gateway.db'), migrations: testMigrations });
    const log: string[] = [];
    const original = db.sqlite.exec.bind(db.sqlite);
    db.sqlite.exec = (sql: string) => {
      if (/synchronous|COMMIT/.test(sql)) log.push(sql.replace('PRAGMA ', ''));
      return original(sql);
    };
    const syncs = fsyncCalls();
    try {
      const first = db.write((s) => s.prepare("INSERT INTO a (v) VALUES ('x')").run());
      // The commit has happened within this turn; the writer is answered only after the fsync.
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(log, ['synchronous = NORMAL', 'COMMIT', 'synchronous = FULL']);
      await first;
      assert.ok(syncs.count >= 1, 'the WAL was fsynced before the write resolved');
      assert.equal((db.sqlite.prepare('PRAGMA synchronous').get() as { synchronous: number }).synchronous, 2);
      // Many writers in flight share few fsyncs, and every one of them is answered.
      const before = syncs.count;
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => db.write((s) => s.prepare('INSERT INTO a (v) VALUES (?)').run(String(i)).changes)));
      assert.equal(many.length, 50);
      assert.ok(syncs.count - before <= 50);
      // Writes pending at close are committed with a synchronous fsync and answered.
      const late = db.write((s) => s.prepare("INSERT INTO a (v) VALUES ('late')").run().changes);
      db.close();
      assert.equal(await late, 1);
    } finally {
      syncs.restore();
    }
  });
});

/** Counts fsync calls on any descriptor (the WAL's among them) while installed. */
function fsyncCalls(): { count: number; restore(): void } {
  const counter = { count: 0, restore: () => {} };
  const original = fs.fsync;
  (fs as { fsync: typeof fs.fsync }).fsync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    counter.count++;
    original(fd, cb);
  }) as typeof fs.fsync;
  // The database imports `fsync` by name: builtin ES module exports follow the patch only when synced.
  syncBuiltinESMExports();
  counter.restore = () => {
    (fs as { fsync: typeof fs.fsync }).fsync = original;
    syncBuiltinESMExports();
  };
  return counter;
}
