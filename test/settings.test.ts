/**
 * File identity and settings (issue 13 item 2): a file `up` creates is born in its store's
 * journal mode, with its page size and auto_vacuum; `applicationId` is stamped at creation,
 * adoption and migration, and a file holding another one is `foreign`. On real files.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../src/api.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import { RegistryError } from '../src/errors.js';
import { checkStoreJson } from '../src/registry/store-json.js';
import type { StoreDefinition } from '../src/types.js';
import { cli, fingerprint, STORES, tmpDir, writeSql } from './helpers.js';

const NOTES_V1 = 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);';
const NOTES_V2 = 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL, tag TEXT);';
/** "NOTE" in ASCII: how file(1) would show it. */
const APP_ID = 0x4e4f5445;

function notes(extra: Partial<StoreDefinition> = {}, v2 = false): StoreDefinition {
  return {
    name: 'notes',
    file: 'notes.db',
    version: v2 ? 2 : 1,
    minVersion: 1,
    schema: v2 ? NOTES_V2 : NOTES_V1,
    ...(v2 ? { oldestSchema: NOTES_V1, migrations: [{ version: 2, name: '002-tag.sql', sql: 'ALTER TABLE note ADD COLUMN tag TEXT;' }] } : {}),
    ...extra,
  };
}

const storeOf = (def: StoreDefinition) => createRegistry([def]).stores[0]!;
const up = (def: StoreDefinition, dir: string) => reconcileStore(storeOf(def), dir, { mode: 'up' });
const check = (def: StoreDefinition, dir: string) => reconcileStore(storeOf(def), dir, { mode: 'check' });

/** Bytes 18-19 of the header: 2,2 for WAL, 1,1 for a rollback journal (https://www.sqlite.org/fileformat.html#file_format_version_numbers). */
function headerModes(file: string): [number, number] {
  const b = fs.readFileSync(file).subarray(18, 20);
  return [b[0]!, b[1]!];
}

/** Opens a file with no settings of ours, as another program would, and reads pragmas. */
function pragmas(file: string, names: string[]): Record<string, unknown> {
  const db = new Database(file, { fileMustExist: true });
  try {
    return Object.fromEntries(names.map((n) => [n, db.pragma(n, { simple: true })]));
  } finally {
    db.close();
  }
}

describe('journal mode from birth', () => {
  it('a file up creates for a WAL store is WAL before any host opens it, with nothing left beside it', () => {
    const dir = tmpDir();
    expect(up(notes({ connection: { journal_mode: 'WAL' } }), dir).action).toBe('created');
    const file = path.join(dir, 'notes.db');
    expect(headerModes(file)).toEqual([2, 2]);
    expect(fs.readdirSync(dir)).toEqual(['notes.db']); // no -wal/-shm, no temporary file
    expect(pragmas(file, ['journal_mode'])).toEqual({ journal_mode: 'wal' });
  });

  it('the CLI with the shipped registry creates every file in WAL mode (the stores declare it)', () => {
    const dir = path.join(tmpDir(), 'd');
    const r = cli(['up', dir, '--stores', STORES, '--json']);
    expect(r.code).toBe(0);
    for (const f of ['objects.db', 'filestore.db', 'sagas.db']) {
      expect(headerModes(path.join(dir, f))).toEqual([2, 2]);
      expect(pragmas(path.join(dir, f), ['journal_mode'])).toEqual({ journal_mode: 'wal' });
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['filestore.db', 'objects.db', 'sagas.db']);
  });

  it('a store declaring a rollback journal gets rollback-journal files', () => {
    const dir = tmpDir();
    up(notes({ connection: { journal_mode: 'DELETE' } }), dir);
    expect(headerModes(path.join(dir, 'notes.db'))).toEqual([1, 1]);
  });

  it('a zero-byte file up initializes is WAL too, with its file settings', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'notes.db');
    fs.writeFileSync(file, '');
    const def = notes({ connection: { journal_mode: 'WAL' }, fileSettings: { page_size: 8192, auto_vacuum: 'INCREMENTAL' } });
    expect(up(def, dir)).toMatchObject({ status: 'empty', action: 'initialized' });
    expect(headerModes(file)).toEqual([2, 2]);
    expect(pragmas(file, ['journal_mode', 'page_size', 'auto_vacuum'])).toEqual({ journal_mode: 'wal', page_size: 8192, auto_vacuum: 2 });
    expect(check(def, dir).status).toBe('current');
  });
});

describe('file settings at creation', () => {
  it('page_size and auto_vacuum are in the file up creates (SQLite takes them only before the first table)', () => {
    const dir = tmpDir();
    up(notes({ fileSettings: { page_size: 16384, auto_vacuum: 'FULL' } }), dir);
    expect(pragmas(path.join(dir, 'notes.db'), ['page_size', 'auto_vacuum'])).toEqual({ page_size: 16384, auto_vacuum: 1 });
    const other = tmpDir();
    up(notes({ fileSettings: { page_size: 1024, auto_vacuum: 2 } }), other);
    expect(pragmas(path.join(other, 'notes.db'), ['page_size', 'auto_vacuum'])).toEqual({ page_size: 1024, auto_vacuum: 2 });
  });

  it('an existing file keeps its settings: they are no reason to refuse or rewrite it', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'notes.db');
    writeSql(file, NOTES_V1, 1);
    const before = fingerprint(file);
    const def = notes({ fileSettings: { page_size: 8192, auto_vacuum: 'FULL' } });
    expect(up(def, dir)).toMatchObject({ status: 'current', action: 'unchanged' });
    expect(fingerprint(file)).toEqual(before);
    expect(pragmas(file, ['page_size', 'auto_vacuum'])).toEqual({ page_size: 4096, auto_vacuum: 0 });
  });
});

describe('applicationId', () => {
  it('is stamped when up creates a file', () => {
    const dir = tmpDir();
    up(notes({ applicationId: APP_ID }), dir);
    expect(pragmas(path.join(dir, 'notes.db'), ['application_id', 'user_version'])).toEqual({ application_id: APP_ID, user_version: 1 });
    expect(check(notes({ applicationId: APP_ID }), dir).status).toBe('current');
  });

  it('is stamped when up adopts a legacy file, and when it migrates one', () => {
    const legacyDir = tmpDir();
    writeSql(path.join(legacyDir, 'notes.db'), `${NOTES_V1} INSERT INTO note VALUES (1, 'kept');`, 0);
    const def = notes({ applicationId: APP_ID }, true);
    expect(up(def, legacyDir)).toMatchObject({ status: 'legacy', action: 'adopted' });
    expect(pragmas(path.join(legacyDir, 'notes.db'), ['application_id', 'user_version'])).toEqual({ application_id: APP_ID, user_version: 2 });

    const behindDir = tmpDir();
    writeSql(path.join(behindDir, 'notes.db'), NOTES_V1, 1);
    expect(up(def, behindDir)).toMatchObject({ status: 'behind', action: 'migrated' });
    expect(pragmas(path.join(behindDir, 'notes.db'), ['application_id'])).toEqual({ application_id: APP_ID });
  });

  it('a file with application id 0 and our schema is ours (files made before the id was declared)', () => {
    const dir = tmpDir();
    writeSql(path.join(dir, 'notes.db'), NOTES_V1, 1);
    expect(check(notes({ applicationId: APP_ID }), dir).status).toBe('current');
  });

  it("a file with another program's application id is foreign whatever its tables, and is not touched", () => {
    const dir = tmpDir();
    const file = path.join(dir, 'notes.db');
    // Exactly our schema and version: only the application id tells it apart.
    writeSql(file, `${NOTES_V1} PRAGMA application_id = 1196444487;`, 1); // "GPKG", a GeoPackage's
    const before = fingerprint(file);
    const def = notes({ applicationId: APP_ID }, true);
    for (const r of [check(def, dir), up(def, dir)]) {
      expect(r.status).toBe('foreign');
      expect(r.message).toContain('application_id 1196444487 (0x47504B47, "GPKG")');
      expect(r.message).toContain(`store notes's ${APP_ID} (0x4E4F5445, "NOTE")`);
      expect(r.message).toMatch(/whatever its tables/);
    }
    expect(fingerprint(file)).toEqual(before);
    // A legacy file (user_version 0) likewise, and a negative id (the high bit set).
    const legacy = tmpDir();
    writeSql(path.join(legacy, 'notes.db'), `${NOTES_V1} PRAGMA application_id = -1;`, 0);
    const r = check(def, legacy);
    expect(r.status).toBe('foreign');
    expect(r.message).toContain('application_id -1 (0xFFFFFFFF)');
  });

  it('a store declaring none does not look at application ids', () => {
    const dir = tmpDir();
    writeSql(path.join(dir, 'notes.db'), `${NOTES_V1} PRAGMA application_id = 7;`, 1);
    expect(check(notes(), dir).status).toBe('current');
  });

  it('the dry-run plan shows the stamp', () => {
    const dir = tmpDir();
    const r = reconcileStore(storeOf(notes({ applicationId: APP_ID })), dir, { mode: 'up', dryRun: true });
    expect(r.action).toBe('planned');
    expect(JSON.stringify(r)).toContain(`PRAGMA application_id = ${APP_ID}`);
    expect(fs.existsSync(path.join(dir, 'notes.db'))).toBe(false);
  });
});

describe('validation', () => {
  const base = { file: 'notes.db', version: 1 };
  it.each([
    [{ applicationId: 0 }, 'applicationId: found 0; allowed: a non-zero whole number from -2147483648 to 2147483647'],
    [{ applicationId: 2 ** 31 }, 'applicationId: found 2147483648; allowed: a non-zero whole number'],
    [{ applicationId: 1.5 }, 'applicationId: found 1.5'],
    [{ fileSettings: { page_size: 1000 } }, 'fileSettings.page_size: found 1000; allowed: 512, 1024, 2048, 4096, 8192, 16384, 32768 or 65536'],
    [{ fileSettings: { page_size: 131072 } }, 'fileSettings.page_size: found 131072'],
    [{ fileSettings: { auto_vacuum: 'FUL' } }, 'fileSettings.auto_vacuum: found "FUL"; allowed: "NONE", "FULL", "INCREMENTAL", 0, 1 or 2 (did you mean "FULL"?)'],
    [{ fileSettings: { auto_vacuum: 3 } }, 'fileSettings.auto_vacuum: found 3'],
    [{ fileSettings: { journal_mode: 'WAL' } }, 'unknown field "fileSettings.journal_mode"; allowed in fileSettings: page_size, auto_vacuum'],
  ])('store.json %j is refused', (extra, message) => {
    const r = checkStoreJson({ ...base, ...extra });
    expect('errors' in r && r.errors.join('\n')).toContain(message);
  });

  it('store.json accepts the documented forms', () => {
    for (const extra of [{ applicationId: -2147483648 }, { applicationId: 2147483647 }, { fileSettings: { page_size: 512, auto_vacuum: 'NONE' } }, { fileSettings: { page_size: 65536, auto_vacuum: 0 } }]) {
      expect(checkStoreJson({ ...base, ...extra })).toHaveProperty('value');
    }
  });

  it('a registry built in code is checked the same way', () => {
    const bad = notes({ applicationId: 0, fileSettings: { page_size: 3000, auto_vacuum: 'SOMETIMES' as 'FULL' } });
    let err: unknown;
    try {
      createRegistry([bad]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RegistryError);
    const text = (err as RegistryError).problems.map((p) => p.message).join('\n');
    expect(text).toContain('applicationId is 0: use a non-zero whole number from -2147483648 to 2147483647');
    expect(text).toContain('fileSettings.page_size is 3000: use a power of two from 512 to 65536');
    expect(text).toContain('fileSettings.auto_vacuum is "SOMETIMES": use NONE, FULL, INCREMENTAL (or 0, 1, 2)');
  });
});
