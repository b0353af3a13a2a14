/**
 * The boot API: openStores classifies every store first, refuses before changing any file,
 * reconciles, then hands over connections with the store's settings.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStores } from '../src/boot.js';
import { StoreError } from '../src/errors.js';
import type { Registry } from '../src/types.js';
import { createRegistry } from '../src/api.js';
import { OBJECTS_ROWS_V1, fingerprint, query, registry, store, storesFile, tmpDir, userVersion, writeAt, writeSql } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

describe('openStores', () => {
  it('creates a fresh data dir and returns connections with the spec settings applied', async () => {
    const dir = path.join(tmpDir(), 'data', '1.5.0');
    const s = await openStores(reg, dir);
    try {
      expect(Object.keys(s.db).sort()).toEqual(['filestore', 'objects', 'sagas']);
      for (const db of Object.values(s.db)) {
        expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
        expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
        expect(db.pragma('cache_size', { simple: true })).toBe(-64000);
        expect(db.pragma('mmap_size', { simple: true })).toBe(268435456);
        expect(db.pragma('temp_store', { simple: true })).toBe(2); // MEMORY
      }
      expect(s.report.map((r) => [r.name, r.status, r.action])).toEqual([
        ['filestore', 'missing', 'created'],
        ['objects', 'missing', 'created'],
        ['sagas', 'missing', 'created'],
      ]);
      s.db.objects!.prepare("INSERT INTO db_client VALUES ('c', 1, 'x')").run();
    } finally {
      await s.close();
    }
    // close() checkpoints (TRUNCATE): the row is in the main file, no -wal left behind.
    expect(fs.existsSync(path.join(dir, 'objects.db-wal'))).toBe(false);
    expect(query(path.join(dir, 'objects.db'), 'SELECT oid FROM db_client')).toEqual([{ oid: 'c' }]);
  });

  it('on a current dir: every store unchanged, no write', async () => {
    const dir = tmpDir();
    await (await openStores(reg, dir)).close();
    const before = reg.stores.map((s) => fingerprint(path.join(dir, s.file)).main);
    const s = await openStores(reg, dir);
    expect(s.report.every((r) => r.status === 'current' && r.action === 'unchanged')).toBe(true);
    await s.close();
    expect(reg.stores.map((s) => fingerprint(path.join(dir, s.file)).main)).toEqual(before);
  });

  it('migrates a behind store and adopts a legacy one, keeping rows', async () => {
    const dir = tmpDir();
    writeAt(store(reg, 'objects'), path.join(dir, 'objects.db'), 2, OBJECTS_ROWS_V1);
    writeSql(path.join(dir, 'sagas.db'), storesFile('sagas/legacy/unstamped.sql'));
    const s = await openStores(reg, dir);
    try {
      expect(s.report.map((r) => [r.name, r.status, r.action])).toEqual([
        ['filestore', 'missing', 'created'],
        ['objects', 'behind', 'migrated'],
        ['sagas', 'legacy', 'adopted'],
      ]);
      expect(s.db.objects!.prepare('SELECT count(*) AS n FROM db_agents').get()).toEqual({ n: 2 });
      expect(s.db.sagas!.prepare('SELECT count(*) AS n FROM saga_step').get()).toEqual({ n: 2 });
    } finally {
      await s.close();
    }
  });

  const refusals: [string, (dir: string) => void, string][] = [
    ['too-new', (d) => writeSql(path.join(d, 'objects.db'), storesFile('objects/schema.sql'), 5), 'STORE_TOO_NEW'],
    ['drift', (d) => writeSql(path.join(d, 'objects.db'), storesFile('objects/schema.sql') + 'DROP INDEX idx_agents_definition;', 4), 'STORE_DRIFT'],
    ['conflict', (d) => writeSql(path.join(d, 'objects.db'), storesFile('objects/legacy/forge-era.sql') + 'CREATE TABLE db_memory_bundles (id TEXT);'), 'STORE_CONFLICT'],
    ['foreign', (d) => writeSql(path.join(d, 'objects.db'), 'CREATE TABLE invoices (id INTEGER PRIMARY KEY)'), 'STORE_FOREIGN'],
    ['corrupt', (d) => fs.writeFileSync(path.join(d, 'objects.db'), 'garbage'.repeat(100)), 'STORE_CORRUPT'],
  ];
  for (const [status, make, code] of refusals) {
    it(`refuses a ${status} store before changing any file (${code})`, async () => {
      const dir = tmpDir();
      make(dir);
      // A behind sibling that would otherwise be migrated must stay as it was too.
      writeAt(store(reg, 'sagas'), path.join(dir, 'sagas.db'), 1);
      fs.writeFileSync(path.join(dir, 'filestore.db'), '');
      const before = ['objects.db', 'sagas.db', 'filestore.db'].map((f) => fingerprint(path.join(dir, f)));
      const err = await openStores(reg, dir).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreError);
      const e = err as StoreError;
      expect(e.code).toBe(code);
      expect(e.store).toBe('objects');
      expect(e.file).toBe(path.join(dir, 'objects.db'));
      expect(e.expected).toBe(4);
      expect(e.message).toContain(path.join(dir, 'objects.db'));
      expect(['objects.db', 'sagas.db', 'filestore.db'].map((f) => fingerprint(path.join(dir, f)))).toEqual(before);
      expect(fs.readdirSync(dir).sort()).toEqual(['filestore.db', 'objects.db', 'sagas.db']);
    });
  }

  it('the too-new message tells the operator what to do, with versions', async () => {
    const dir = tmpDir();
    writeSql(path.join(dir, 'objects.db'), storesFile('objects/schema.sql'), 7);
    const e = (await openStores(reg, dir).catch((x: unknown) => x)) as StoreError;
    expect(e.found).toBe(7);
    expect(e.message).toMatch(/newer binary/);
    expect(e.message).toMatch(/run that newer version, or restore an older data dir/);
    expect(e.refusals).toHaveLength(1);
  });

  it('lists every refused store of the directory', async () => {
    const dir = tmpDir();
    writeSql(path.join(dir, 'objects.db'), storesFile('objects/schema.sql'), 7);
    fs.writeFileSync(path.join(dir, 'sagas.db'), 'x'.repeat(200));
    const e = (await openStores(reg, dir).catch((x: unknown) => x)) as StoreError;
    expect(e.refusals.map((r) => [r.store, r.status])).toEqual([
      ['objects', 'too-new'],
      ['sagas', 'corrupt'],
    ]);
    expect(fs.existsSync(path.join(dir, 'filestore.db'))).toBe(false);
  });

  it('a WAL-mode current dir with a crashed writer\'s -wal keeps the committed rows', async () => {
    const dir = tmpDir();
    await (await openStores(reg, dir)).close();
    const w = new Database(path.join(dir, 'objects.db'));
    w.pragma('wal_autocheckpoint = 0');
    w.exec("INSERT INTO db_client VALUES ('pending', 1, 'in the wal')");
    const copy = tmpDir();
    for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
    w.close();
    fs.rmSync(path.join(copy, 'objects.db-shm'), { force: true });
    const s = await openStores(reg, copy);
    expect(s.db.objects!.prepare('SELECT oid FROM db_client').all()).toEqual([{ oid: 'pending' }]);
    await s.close();
    expect(userVersion(path.join(copy, 'objects.db'))).toBe(4);
  });

  it('initializes empty files (zero bytes, or no tables)', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'filestore.db'), '');
    writeSql(path.join(dir, 'sagas.db'), 'CREATE TABLE t (x); DROP TABLE t;');
    const s = await openStores(reg, dir);
    expect(s.report.map((r) => [r.name, r.status, r.action])).toEqual([
      ['filestore', 'empty', 'initialized'],
      ['objects', 'missing', 'created'],
      ['sagas', 'empty', 'initialized'],
    ]);
    await s.close();
  });

  it('refuses a too-old file (STORE_TOO_OLD) and a directory in the way (STORE_ERROR)', async () => {
    const later = createRegistry([
      { name: 'jobs', file: 'jobs.db', version: 3, minVersion: 2, schema: 'CREATE TABLE job (id TEXT PRIMARY KEY, b TEXT);', oldestSchema: 'CREATE TABLE job (id TEXT PRIMARY KEY);', migrations: [{ version: 3, name: '003-b.sql', sql: 'ALTER TABLE job ADD COLUMN b TEXT;' }] },
    ]);
    const dir = tmpDir();
    writeSql(path.join(dir, 'jobs.db'), 'CREATE TABLE job (id TEXT PRIMARY KEY);', 1);
    const before = fingerprint(path.join(dir, 'jobs.db'));
    const e = (await openStores(later, dir).catch((x: unknown) => x)) as StoreError;
    expect(e.code).toBe('STORE_TOO_OLD');
    expect(e.found).toBe(1);
    expect(e.message).toMatch(/older release first/);
    expect(fingerprint(path.join(dir, 'jobs.db'))).toEqual(before);

    const dir2 = tmpDir();
    fs.mkdirSync(path.join(dir2, 'jobs.db'));
    const e2 = (await openStores(later, dir2).catch((x: unknown) => x)) as StoreError;
    expect(e2.code).toBe('STORE_ERROR');
    expect(e2.message).toMatch(/directory stands where the file/);
  });

  it('refuses a store locked past the busy timeout (STORE_LOCKED); a later boot succeeds', async () => {
    const quick = createRegistry([{ name: 'jobs', file: 'jobs.db', version: 1, schema: 'CREATE TABLE job (id TEXT PRIMARY KEY);', connection: { busy_timeout: 50, journal_mode: 'WAL' } }]);
    const dir = tmpDir();
    const file = path.join(dir, 'jobs.db');
    writeSql(file, 'CREATE TABLE job (id TEXT PRIMARY KEY);', 0);
    const holder = new Database(file);
    holder.exec('BEGIN EXCLUSIVE');
    const e = (await openStores(quick, dir).catch((x: unknown) => x)) as StoreError;
    expect(e).toBeInstanceOf(StoreError);
    expect(e.code).toBe('STORE_LOCKED');
    holder.exec('ROLLBACK');
    holder.close();
    const s = await openStores(quick, dir);
    expect(s.report[0]).toMatchObject({ status: 'legacy', action: 'adopted' });
    await s.close();
  });

  it('a store file that is a symbolic link is refused (STORE_ERROR) before any change, its target untouched', async () => {
    const dir = tmpDir();
    const outside = tmpDir();
    const real = path.join(outside, 'objects.db');
    writeAt(store(reg, 'objects'), real, 2, OBJECTS_ROWS_V1);
    fs.symlinkSync(real, path.join(dir, 'objects.db'));
    const before = fingerprint(real);
    const e = (await openStores(reg, dir).catch((x: unknown) => x)) as StoreError;
    expect(e).toBeInstanceOf(StoreError);
    expect(e.code).toBe('STORE_ERROR');
    expect(e.store).toBe('objects');
    expect(e.message).toContain(`objects.db is a symbolic link to ${real}`);
    expect(fingerprint(real)).toEqual(before);
    expect(fs.readdirSync(dir)).toEqual(['objects.db']); // nothing created beside it either
    expect(e.report.map((r) => [r.name, r.status, r.action])).toEqual([
      ['filestore', 'missing', 'unchanged'],
      ['objects', 'error', 'refused'],
      ['sagas', 'missing', 'unchanged'],
    ]);
  });

  it('a data dir that is a regular file: StoreError (STORE_ERROR) with the cause, never a raw EEXIST', async () => {
    const file = path.join(tmpDir(), 'data');
    fs.writeFileSync(file, 'not a directory');
    for (const create of [true, false]) {
      const e = (await openStores(reg, file, { create }).catch((x: unknown) => x)) as StoreError;
      expect(e).toBeInstanceOf(StoreError);
      expect(e.code).toBe('STORE_ERROR');
      expect(e.message).toContain(`the data dir ${file} is not a directory`);
      expect((e.cause as NodeJS.ErrnoException).code).toBe('ENOTDIR');
      expect(e.refusals).toHaveLength(3);
    }
    // A regular file where a parent directory should be: the OS's error is the cause.
    const e = (await openStores(reg, path.join(file, 'inner')).catch((x: unknown) => x)) as StoreError;
    expect(e).toBeInstanceOf(StoreError);
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ENOTDIR');
    expect(e.message).toMatch(/cannot be created \(ENOTDIR/);
    expect(fs.readFileSync(file, 'utf8')).toBe('not a directory');
  });

  it('a store refused after others were committed: the StoreError reports them as committed', async () => {
    // b's look succeeds; its write lock is refused past the busy timeout, after a was created.
    const two = createRegistry([
      { name: 'a', file: 'a.db', version: 1, schema: 'CREATE TABLE a (id TEXT PRIMARY KEY);' },
      {
        name: 'b',
        file: 'b.db',
        version: 2,
        minVersion: 1,
        schema: 'CREATE TABLE b (id TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);',
        oldestSchema: 'CREATE TABLE b (id TEXT PRIMARY KEY);',
        migrations: [{ version: 2, name: '002-n.sql', sql: 'ALTER TABLE b ADD COLUMN n INTEGER NOT NULL DEFAULT 0;' }],
        connection: { busy_timeout: 50 },
      },
    ]);
    const dir = tmpDir();
    writeSql(path.join(dir, 'b.db'), "CREATE TABLE b (id TEXT PRIMARY KEY); INSERT INTO b VALUES ('x');", 1);
    const holder = new Database(path.join(dir, 'b.db'));
    holder.exec('BEGIN; SELECT * FROM b;'); // a shared lock: readers pass, no writer
    try {
      const e = (await openStores(two, dir).catch((x: unknown) => x)) as StoreError;
      expect(e).toBeInstanceOf(StoreError);
      expect(e.store).toBe('b');
      expect(e.report.map((r) => [r.name, r.action])).toEqual([
        ['a', 'created'],
        ['b', 'refused'],
      ]);
      expect(userVersion(path.join(dir, 'a.db'))).toBe(1);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });
});
