/**
 * Creating store files in bulk: the first file of a store is built by SQLite, the next ones are
 * its bytes; the missing stores of a data dir are placed together (their fsyncs overlapping).
 * Whatever the road, a created file is the same: current, intact, in its declared journal mode,
 * with the file mode SQLite gives a new database; nothing temporary is left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkFleet, createRegistry, reconcileFleet } from '../src/api.js';
import { buildMissing, placeBuilt, type BuiltStore } from '../src/engine/reconcile.js';
import { createStopFlag, requestStop, runDir } from '../src/fleet/run-dir.js';
import type { Registry } from '../src/types.js';
import { fingerprint, query, registry, store, tmpDir, writeAt, writeSql } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

const sqliteMode = (dir: string): number => {
  const f = path.join(dir, 'made-by-sqlite.db');
  const db = new Database(f);
  db.exec('CREATE TABLE t (x)');
  db.close();
  const mode = fs.statSync(f).mode & 0o7777;
  fs.rmSync(f);
  return mode;
};

describe('creating many data dirs', () => {
  it('every file of a store is the same bytes, current and intact, in its journal mode, with SQLite\'s file mode', async () => {
    const root = tmpDir();
    const dirs = Array.from({ length: 5 }, (_, i) => path.join(root, `1.0.${i}`));
    const r = await reconcileFleet(reg, [], { dirs, concurrency: 1 });
    expect(r.summary.byAction).toEqual({ created: 15 });
    const mode = sqliteMode(root);
    for (const s of reg.stores) {
      const files = dirs.map((d) => path.join(d, s.file));
      const first = fs.readFileSync(files[0]!);
      for (const f of files) {
        expect(fs.readFileSync(f).equals(first), f).toBe(true);
        expect(fs.statSync(f).mode & 0o7777, f).toBe(mode);
        // Read-write: a read-only connection to a WAL file would leave its -shm behind.
        const db = new Database(f, { fileMustExist: true });
        expect(db.pragma('quick_check', { simple: true })).toBe('ok');
        expect(db.pragma('user_version', { simple: true })).toBe(s.version);
        db.close();
      }
      // Bytes 18-19 of the header: 2 for WAL, 1 for a rollback journal, as the store declares.
      const wal = String(s.connection.journal_mode).toLowerCase() === 'wal';
      expect([...first.subarray(18, 20)], s.name).toEqual(wal ? [2, 2] : [1, 1]);
    }
    // The seed rows are in every copy.
    for (const d of dirs) {
      const db = new Database(path.join(d, 'objects.db'), { fileMustExist: true });
      expect(db.prepare("SELECT count(*) AS n FROM db_memory_bundles WHERE id = 'blank'").get()).toEqual({ n: 1 });
      db.close();
    }
    const check = await checkFleet(reg, [root]);
    expect(check.summary.byStatus).toEqual({ current: 15 });
    for (const d of dirs) expect(fs.readdirSync(d).sort(), d).toEqual(reg.stores.map((s) => s.file).sort());
  });

  it('a file another process creates between the build and the placement is left as it is and reconciled; nothing temporary stays', async () => {
    const dir = path.join(tmpDir(), 'data');
    const builds: BuiltStore[] = [];
    for (const s of reg.stores) {
      const b = buildMissing(s, dir, { mode: 'up' });
      if (!('built' in b)) throw new Error(`expected a build for ${s.name}: ${JSON.stringify(b.report)}`);
      builds.push(b.built);
    }
    expect(fs.readdirSync(dir).filter((f) => f.includes('stores-new'))).toHaveLength(3);
    // Meanwhile, another process creates objects.db (behind, with rows).
    const objects = store(reg, 'objects');
    const theirs = path.join(dir, objects.file);
    writeAt(objects, theirs, 2);
    const before = fingerprint(theirs);
    const reports = await placeBuilt(builds, { mode: 'up' });
    expect(reports.map((r) => [r.name, r.action])).toEqual(reg.stores.map((s) => [s.name, s.name === 'objects' ? 'migrated' : 'created']));
    // Theirs was not replaced: it was migrated in place, as up does with what it finds.
    expect(fingerprint(theirs)).not.toEqual(before);
    expect(query(theirs, 'SELECT count(*) AS n FROM db_agents')).toEqual([{ n: 0 }]);
    expect(fs.readdirSync(dir).sort()).toEqual(reg.stores.map((s) => s.file).sort());
  });

  it('a data dir with some stores missing: those first in order are placed together, the rest reconciled in order', async () => {
    const dir = path.join(tmpDir(), 'data');
    // Order: filestore, objects, sagas. objects is behind; the others are missing.
    writeAt(store(reg, 'objects'), path.join(dir, 'objects.db'), 2);
    const r = await reconcileFleet(reg, [], { dirs: [dir], concurrency: 1 });
    expect(r.dirs[0]!.stores.map((s) => [s.name, s.action])).toEqual([
      ['filestore', 'created'],
      ['objects', 'migrated'],
      ['sagas', 'created'],
    ]);
    expect((await checkFleet(reg, [dir])).summary.byStatus).toEqual({ current: 3 });
  });
});

describe('a copy is what SQLite would build', () => {
  it('a seed that draws randomblob() or reads the clock is run again for each file, not copied', async () => {
    // An install id and a creation time: each file must get its own, as SQLite would build it.
    const reg2 = createRegistry([
      {
        name: 'install',
        file: 'install.db',
        version: 1,
        schema: 'CREATE TABLE install (id TEXT NOT NULL, at TEXT NOT NULL);',
        seed: "INSERT INTO install (id, at) SELECT lower(hex(randomblob(16))), strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE NOT EXISTS (SELECT 1 FROM install);",
      },
    ]);
    const root = tmpDir();
    const dirs = Array.from({ length: 3 }, (_, i) => path.join(root, `d${i}`));
    const r = await reconcileFleet(reg2, [], { dirs, concurrency: 1 });
    expect(r.summary.byAction).toEqual({ created: 3 });
    const ids = dirs.map((d) => query<{ id: string }>(path.join(d, 'install.db'), 'SELECT id FROM install')[0]!.id);
    expect(new Set(ids).size).toBe(3);
  });

  it('SQLite builds a store\'s first new file in a process; the next ones of that store are its bytes', async () => {
    const reg2 = createRegistry([
      { name: 'notes', file: 'notes.db', version: 1, schema: 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);', seed: "INSERT OR IGNORE INTO note VALUES (1, 'welcome');" },
    ]);
    const root = tmpDir();
    const builds: string[] = [];
    const close = Database.prototype.close;
    Database.prototype.close = function (this: Database.Database) {
      if (this.name.includes('.stores-new-')) builds.push(this.name);
      return close.call(this);
    } as typeof close;
    try {
      const r = await reconcileFleet(reg2, [], { dirs: ['a', 'b', 'c', 'd'].map((d) => path.join(root, d)), concurrency: 1 });
      expect(r.summary.byAction).toEqual({ created: 4 });
    } finally {
      Database.prototype.close = close;
    }
    expect(builds).toHaveLength(1);
    const first = fs.readFileSync(path.join(root, 'a', 'notes.db'));
    for (const d of ['b', 'c', 'd']) expect(fs.readFileSync(path.join(root, d, 'notes.db')).equals(first), d).toBe(true);
  });

  it('a schema or seed that reads the clock alone (SQLite flags the date functions deterministic) is built for each file', async () => {
    // Two creations 20 ms apart in one process: copied bytes would carry the first one's time.
    const cases = [
      { schema: 'CREATE TABLE install (at TEXT NOT NULL);', seed: "INSERT INTO install SELECT strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE NOT EXISTS (SELECT 1 FROM install);" },
      { schema: "CREATE TABLE install (id INTEGER PRIMARY KEY, at REAL NOT NULL DEFAULT (julianday('now')));", seed: 'INSERT OR IGNORE INTO install (id) VALUES (1);' },
    ];
    for (const [i, c] of cases.entries()) {
      const reg2 = createRegistry([{ name: 'install', file: 'install.db', version: 1, ...c }]);
      const root = tmpDir();
      const at: unknown[] = [];
      for (const d of ['a', 'b']) {
        await reconcileFleet(reg2, [], { dirs: [path.join(root, d)], concurrency: 1 });
        at.push(query<{ at: unknown }>(path.join(root, d, 'install.db'), 'SELECT at FROM install')[0]!.at);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(at[0], `case ${i}`).not.toEqual(at[1]);
    }
  });

  it('a run asked to stop before a data dir builds none of its missing stores', async () => {
    const dir = path.join(tmpDir(), 'data');
    const stop = createStopFlag();
    requestStop(stop);
    const r = await runDir(reg, dir, { mode: 'up' }, stop);
    expect(r.stores.map((s) => [s.name, s.status, s.action])).toEqual(reg.stores.map((s) => [s.name, 'missing', 'unchanged']));
    for (const s of r.stores) expect(s.message).toMatch(/^not reached/);
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
  });

  it('a file put at the temporary name after the build does not become the bytes of the next files', async () => {
    // Someone who may write in one data dir renames a file of theirs over the temporary name the
    // instant the build's connection closes: their dir is theirs, the next dirs' files are not.
    const reg2 = createRegistry([{ name: 'notes', file: 'notes.db', version: 1, schema: 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);' }]);
    const root = tmpDir();
    const close = Database.prototype.close;
    Database.prototype.close = function (this: Database.Database) {
      const r = close.call(this);
      if (this.name.includes('.stores-new-')) {
        const theirs = path.join(root, 'theirs.db');
        writeSql(theirs, 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL); CREATE TABLE planted (x);', 1);
        fs.renameSync(theirs, this.name);
      }
      return r;
    } as typeof close;
    try {
      await reconcileFleet(reg2, [], { dirs: [path.join(root, 'a')], concurrency: 1 });
    } finally {
      Database.prototype.close = close;
    }
    const r = await reconcileFleet(reg2, [], { dirs: [path.join(root, 'b'), path.join(root, 'c')], concurrency: 1 });
    expect(r.summary.byAction).toEqual({ created: 2 });
    for (const d of ['b', 'c']) expect(query(path.join(root, d, 'notes.db'), "SELECT name FROM sqlite_schema WHERE name = 'planted'"), d).toEqual([]);
  });
});

describe('a missing store whose companions are still there', () => {
  it('is refused, not created for SQLite to replay another file\'s -wal into (nor beside a link)', async () => {
    // A store file moved away without its -wal (frames of another database) or its -journal, or
    // a symbolic link at its -wal: a new file there would take them as its own on its first open.
    const cases: [string, (file: string, dir: string) => void, RegExp][] = [
      [
        '-wal',
        (file, dir) => {
          const old = new Database(path.join(dir, 'old.db'));
          old.pragma('journal_mode = WAL');
          old.pragma('wal_autocheckpoint = 0');
          old.exec('CREATE TABLE planted (x); INSERT INTO planted VALUES (1);');
          fs.copyFileSync(path.join(dir, 'old.db-wal'), `${file}-wal`);
          old.close();
          for (const f of fs.readdirSync(dir)) if (f.startsWith('old.db')) fs.rmSync(path.join(dir, f));
        },
        /sagas\.db-wal .*move it away/,
      ],
      ['-journal', (file) => fs.writeFileSync(`${file}-journal`, Buffer.alloc(4096, 7)), /sagas\.db-journal .*move it away/],
      ['a link at -wal', (file) => fs.symlinkSync(path.join(tmpDir(), 'elsewhere'), `${file}-wal`), /sagas\.db-wal is a symbolic link/],
    ];
    for (const [what, plant, message] of cases) {
      const dir = path.join(tmpDir(), 'data');
      fs.mkdirSync(dir);
      const file = path.join(dir, 'sagas.db');
      plant(file, dir);
      const before = fs.readdirSync(dir).sort();
      const r = await reconcileFleet(reg, [], { dirs: [dir], concurrency: 1 });
      const sagas = r.dirs[0]!.stores.find((x) => x.name === 'sagas')!;
      expect(sagas, what).toMatchObject({ status: 'error', action: 'refused' });
      expect(sagas.message, what).toMatch(message);
      expect(fs.existsSync(file), what).toBe(false);
      // The other stores of the dir are created, in registry order.
      expect(r.dirs[0]!.stores.map((x) => [x.name, x.action]), what).toEqual(reg.stores.map((x) => [x.name, x.name === 'sagas' ? 'refused' : 'created']));
      expect(fs.readdirSync(dir).sort(), what).toEqual([...before, 'filestore.db', 'objects.db'].sort());
      expect((await checkFleet(reg, [dir])).dirs[0]!.stores.find((x) => x.name === 'sagas')!.status, what).toBe('error');
    }
  });
});
