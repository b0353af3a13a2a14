/**
 * Adoption by execution: a legacy file's schema (no rows) is replayed into `:memory:`, the real
 * adoption steps run there, and the result is compared with the oldest schema. What no legacy
 * rule names is never dropped; what SQLite adopts cleanly (renames under CHECKs, triggers and
 * views) adopts. Real files in temporary directories, registries built in code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '../src/engine/classify.js';
import { probe } from '../src/engine/probe.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import { createRegistry } from '../src/api.js';
import type { LegacyDefinition, Store } from '../src/types.js';
import { verifyRegistry } from '../src/verify.js';
import { fingerprint, query, registry, storesFile, tmpDir, userVersion, writeSql } from './helpers.js';

function makeStore(schema: string, legacy: LegacyDefinition, name = 'things'): Store {
  return createRegistry([{ name, file: `${name}.db`, version: 1, schema, legacy }]).stores[0]!;
}

const check = (s: Store, dir: string) => reconcileStore(s, dir, { mode: 'check' });
const up = (s: Store, dir: string) => reconcileStore(s, dir, { mode: 'up' });
const adopt = (s: Store, dir: string, extra: Record<string, unknown> = {}) => reconcileStore(s, dir, { mode: 'adopt', ...extra });

/** A data dir holding one legacy file made by running `sql`. */
function legacyDir(s: Store, sql: string): { dir: string; file: string } {
  const dir = tmpDir('stores-adopt-');
  const file = path.join(dir, s.file);
  writeSql(file, sql);
  return { dir, file };
}

/** check, up, adopt and a dry run all refuse with `status`; the file's bytes and the dir are as they were. */
function expectRefusedUntouched(s: Store, dir: string, file: string, status: string): string {
  const before = fingerprint(file);
  const listing = fs.readdirSync(dir).sort();
  const c = check(s, dir);
  expect(c.status, c.message).toBe(status);
  const u = up(s, dir);
  expect(u).toMatchObject({ status, action: 'refused' });
  expect(adopt(s, dir).action).toBe('refused');
  expect(adopt(s, dir, { dryRun: true }).action).toBe('refused');
  expect(fingerprint(file)).toEqual(before);
  expect(fs.readdirSync(dir).sort()).toEqual(listing);
  return u.message;
}

describe('adoption never drops what no rule names', () => {
  const schema = 'CREATE TABLE t (id INTEGER PRIMARY KEY, keep TEXT NOT NULL);';
  const s = () => makeStore(schema, { dropColumns: [{ table: 't', column: 'legacy_x' }] });

  it('a column drop rebuilding t refuses a file whose t also has surprise_y holding data, naming it', () => {
    const store = s();
    const { dir, file } = legacyDir(store, `CREATE TABLE t (id INTEGER PRIMARY KEY, keep TEXT NOT NULL, legacy_x TEXT, surprise_y TEXT);
      INSERT INTO t VALUES (1, 'a', 'old', 'precious'), (2, 'b', NULL, 'also precious');`);
    const message = expectRefusedUntouched(store, dir, file, 'drift');
    expect(message).toContain('column t.surprise_y');
    expect(message).toContain('legacy.dropColumns');
    expect(message).toContain(store.file);
    expect(query(file, 'SELECT surprise_y FROM t ORDER BY id')).toEqual([{ surprise_y: 'precious' }, { surprise_y: 'also precious' }]);
    expect(userVersion(file)).toBe(0);
  });

  it('the same file without surprise_y adopts: only legacy_x goes (after a backup)', () => {
    const store = s();
    const { dir, file } = legacyDir(store, `CREATE TABLE t (id INTEGER PRIMARY KEY, keep TEXT NOT NULL, legacy_x TEXT);
      INSERT INTO t VALUES (1, 'a', 'old'), (2, 'b', NULL);`);
    expect(check(store, dir).status).toBe('legacy');
    const r = adopt(store, dir);
    expect(r.action, r.message).toBe('adopted');
    expect(query(file, 'SELECT * FROM t ORDER BY id')).toEqual([{ id: 1, keep: 'a' }, { id: 2, keep: 'b' }]);
    expect(query(r.backup!, 'SELECT legacy_x FROM t ORDER BY id')).toEqual([{ legacy_x: 'old' }, { legacy_x: null }]);
    expect(check(store, dir).status).toBe('current');
  });

  it('the rebuild changes no kept column: a t.code declared TEXT (v1: INTEGER) is refused, naming it, its text kept', () => {
    const store = makeStore('CREATE TABLE t (id INTEGER PRIMARY KEY, code INTEGER);', { dropColumns: [{ table: 't', column: 'legacy_x' }] });
    const { dir, file } = legacyDir(store, `CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, legacy_x TEXT);
      INSERT INTO t VALUES (1, '007', 'old');`);
    const message = expectRefusedUntouched(store, dir, file, 'drift');
    expect(message).toContain('t.code (TEXT here, INTEGER in v1)');
    expect(query(file, 'SELECT code FROM t')).toEqual([{ code: '007' }]);
  });

  it('a trigger using the dropped column, named by no rule: refused before anything is written, naming it', () => {
    const store = s();
    const { dir, file } = legacyDir(store, `CREATE TABLE t (id INTEGER PRIMARY KEY, keep TEXT NOT NULL, legacy_x TEXT);
      CREATE TABLE audit (v TEXT);
      CREATE TRIGGER t_audit AFTER UPDATE ON t BEGIN INSERT INTO audit VALUES (new.legacy_x); END;
      INSERT INTO t VALUES (1, 'a', 'old');`);
    // audit is no table of v1 and no rule names it: the file is not this store's legacy layout.
    expect(expectRefusedUntouched(store, dir, file, 'foreign')).toContain('audit');
    const withAudit = makeStore(`${schema}\nCREATE TABLE audit (v TEXT);`, { dropColumns: [{ table: 't', column: 'legacy_x' }] });
    const message = expectRefusedUntouched(withAudit, dir, file, 'drift');
    expect(message).toContain('t_audit');
  });
});

describe('renames SQLite rewrites adopt', () => {
  it('a column rename under a CHECK adopts, rows kept', () => {
    const store = makeStore('CREATE TABLE t (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL CHECK (qty > 0));', { renameColumns: [{ table: 't', from: 'amount', to: 'qty' }] });
    const { dir, file } = legacyDir(store, `CREATE TABLE t (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL CHECK (amount > 0));
      INSERT INTO t VALUES (1, 5), (2, 7);`);
    const c = check(store, dir);
    expect(c.status, c.message).toBe('legacy');
    expect(adopt(store, dir).action).toBe('adopted');
    expect(query(file, 'SELECT * FROM t ORDER BY id')).toEqual([{ id: 1, qty: 5 }, { id: 2, qty: 7 }]);
    expect(check(store, dir).status).toBe('current');
  });

  const v1 = `CREATE TABLE item (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
CREATE TABLE log (id INTEGER PRIMARY KEY, item_id INTEGER);`;

  it('a table rename under a trigger (on it, and naming it from another table) adopts', () => {
    const store = makeStore(
      `${v1}
CREATE TRIGGER item_log AFTER INSERT ON item BEGIN INSERT INTO log (item_id) VALUES (new.id); END;
CREATE TRIGGER log_bump AFTER INSERT ON log BEGIN UPDATE item SET n = n + 1 WHERE id = new.item_id; END;`,
      { renames: [{ from: 'thing', to: 'item' }] },
    );
    const { dir, file } = legacyDir(store, `CREATE TABLE thing (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE log (id INTEGER PRIMARY KEY, item_id INTEGER);
      CREATE TRIGGER item_log AFTER INSERT ON thing BEGIN INSERT INTO log (item_id) VALUES (new.id); END;
      CREATE TRIGGER log_bump AFTER INSERT ON log BEGIN UPDATE thing SET n = n + 1 WHERE id = new.item_id; END;
      INSERT INTO thing (id) VALUES (1), (2);`);
    const c = check(store, dir);
    expect(c.status, c.message).toBe('legacy');
    const r = adopt(store, dir);
    expect(r.action, r.message).toBe('adopted');
    expect(check(store, dir).status).toBe('current');
    expect(query(file, 'SELECT id, n FROM item ORDER BY id')).toEqual([{ id: 1, n: 1 }, { id: 2, n: 1 }]);
  });

  it('a table rename under a view adopts', () => {
    const store = makeStore(`${v1}\nCREATE VIEW busy AS SELECT id, n FROM item WHERE n > 0;`, { renames: [{ from: 'thing', to: 'item' }] });
    const { dir, file } = legacyDir(store, `CREATE TABLE thing (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE log (id INTEGER PRIMARY KEY, item_id INTEGER);
      CREATE VIEW busy AS SELECT id, n FROM thing WHERE n > 0;
      INSERT INTO thing VALUES (1, 0), (2, 3);`);
    const c = check(store, dir);
    expect(c.status, c.message).toBe('legacy');
    expect(adopt(store, dir).action).toBe('adopted');
    expect(check(store, dir).status).toBe('current');
    expect(query(file, 'SELECT * FROM busy')).toEqual([{ id: 2, n: 3 }]);
  });

  it('a rename SQLite refuses (a view naming a table the file lacks) is known before anything is written', () => {
    const store = makeStore(`${v1}\nCREATE VIEW busy AS SELECT id, n FROM item WHERE n > 0;`, { renames: [{ from: 'thing', to: 'item' }] });
    const { dir, file } = legacyDir(store, `CREATE TABLE thing (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE log (id INTEGER PRIMARY KEY, item_id INTEGER);
      CREATE VIEW busy AS SELECT id, n FROM item WHERE n > 0;
      INSERT INTO thing VALUES (1, 0);`);
    const message = expectRefusedUntouched(store, dir, file, 'drift');
    expect(message).toMatch(/legacy rename thing → item: .*busy/);
  });

  it('an fts5 table is replayed and renamed by its module (shadow tables follow)', () => {
    const store = makeStore('CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT);\nCREATE VIRTUAL TABLE doc_fts USING fts5(body);', { renames: [{ from: 'old_fts', to: 'doc_fts' }] });
    const { dir, file } = legacyDir(store, `CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT);
      CREATE VIRTUAL TABLE old_fts USING fts5(body);
      INSERT INTO doc VALUES (1, 'hello world');
      INSERT INTO old_fts (rowid, body) VALUES (1, 'hello world');`);
    const c = check(store, dir);
    expect(c.status, c.message).toBe('legacy');
    expect(adopt(store, dir).action).toBe('adopted');
    expect(check(store, dir).status).toBe('current');
    expect(query(file, "SELECT rowid FROM doc_fts WHERE doc_fts MATCH 'hello'")).toEqual([{ rowid: 1 }]);
  });
});

/** Rewrites a module name in a file's bytes: as if written by a program with a module we lack. */
function unknownModuleFile(file: string, sql: string, from: string, to: string): void {
  writeSql(file, sql);
  const buf = fs.readFileSync(file);
  const at = buf.indexOf(`USING ${from}`);
  expect(at).toBeGreaterThan(0);
  buf.write(`USING ${to}`, at, 'latin1');
  fs.writeFileSync(file, buf);
}

describe('virtual tables whose module this SQLite lacks', () => {
  const schema = 'CREATE TABLE t (id INTEGER PRIMARY KEY);';

  it('named by no rule: a table of another program, so foreign, bytes untouched', () => {
    const store = makeStore(schema, { deadTables: ['gone'] });
    const dir = tmpDir('stores-adopt-');
    const file = path.join(dir, store.file);
    unknownModuleFile(file, 'CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE VIRTUAL TABLE geo USING rtree(id, x0, x1); INSERT INTO t VALUES (1);', 'rtree', 'ztree');
    expect(expectRefusedUntouched(store, dir, file, 'foreign')).toContain('geo');
  });

  it('named by a rule: adoption cannot act on it here, refused as an error naming the module, bytes untouched', () => {
    const store = makeStore(schema, { deadTables: ['geo', 'geo_node', 'geo_rowid', 'geo_parent'] });
    const dir = tmpDir('stores-adopt-');
    const file = path.join(dir, store.file);
    unknownModuleFile(file, 'CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE VIRTUAL TABLE geo USING rtree(id, x0, x1); INSERT INTO t VALUES (1);', 'rtree', 'ztree');
    const message = expectRefusedUntouched(store, dir, file, 'error');
    expect(message).toContain('geo');
    expect(message).toContain('ztree');
  });
});

describe('dry runs', () => {
  it('row counts of a rename chain a → b → c name the table the file holds', () => {
    const store = makeStore('CREATE TABLE c (id INTEGER PRIMARY KEY, keep TEXT);', {
      renames: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
      dropColumns: [{ table: 'c', column: 'legacy_x' }],
    });
    const { dir, file } = legacyDir(store, `CREATE TABLE a (id INTEGER PRIMARY KEY, keep TEXT, legacy_x TEXT);
      INSERT INTO a VALUES (1, 'p', 'x'), (2, 'q', 'y'), (3, 'r', NULL);`);
    const before = fingerprint(file);
    const dry = adopt(store, dir, { dryRun: true });
    expect(dry.action, dry.message).toBe('planned');
    expect(dry.plan!.map((p) => p.kind)).toEqual(['rename', 'rename', 'drop-column', 'stamp']);
    expect(dry.plan!.find((p) => p.kind === 'drop-column')).toMatchObject({ destructive: true, rows: { a: 3 } });
    expect(fingerprint(file)).toEqual(before);
    expect(adopt(store, dir).action).toBe('adopted');
    expect(query(file, 'SELECT * FROM c ORDER BY id')).toEqual([{ id: 1, keep: 'p' }, { id: 2, keep: 'q' }, { id: 3, keep: 'r' }]);
  });

  it('dead-table drops show the rows they drop', async () => {
    const objects = (await registry()).stores.find((x) => x.name === 'objects')!;
    const dir = tmpDir('stores-adopt-');
    const file = path.join(dir, objects.file);
    writeSql(file, storesFile('objects/legacy/forge-era.sql'));
    const n = (query(file, 'SELECT count(*) AS n FROM db_workflow_runs')[0] as { n: number }).n;
    expect(n).toBeGreaterThan(0);
    const dry = adopt(objects, dir, { dryRun: true });
    expect(dry.plan!.find((p) => p.kind === 'drop-table' && p.sql.includes('db_workflow_runs'))).toMatchObject({ destructive: true, rows: { db_workflow_runs: n } });
  });
});

describe('replaying is cheap', () => {
  it('files with the same sqlite_schema rows share one worked-out adoption', () => {
    const store = makeStore('CREATE TABLE t (id INTEGER PRIMARY KEY, keep TEXT);', { dropColumns: [{ table: 't', column: 'legacy_x' }] });
    const sql = 'CREATE TABLE t (id INTEGER PRIMARY KEY, keep TEXT, legacy_x TEXT);';
    const a = legacyDir(store, `${sql} INSERT INTO t VALUES (1, 'a', 'b');`);
    const b = legacyDir(store, `${sql} INSERT INTO t VALUES (2, 'c', 'd'), (3, 'e', 'f');`);
    const ca = classify(probe(a.file, store), store);
    const cb = classify(probe(b.file, store), store);
    expect(ca.status).toBe('legacy');
    expect(cb.adoption).toBe(ca.adoption);
  });
});

describe('the shipped registry', () => {
  it('every legacy sample still adopts to the baseline (stores verify)', async () => {
    const result = verifyRegistry(await registry());
    const failed = result.stores.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${s.name}: ${c.name}: ${c.detail}`));
    expect(failed).toEqual([]);
    expect(result.stores.flatMap((s) => s.checks.map((c) => c.name)).filter((n) => n.startsWith('legacy sample')).length).toBeGreaterThan(0);
  });

});
