/**
 * Nothing destroyed unguarded: what a step destroys is judged by what SQLite does (its bytecode,
 * its schema before and after), never by the step's first words; a JavaScript step runs under the
 * same rule; one rule for the dry run and for `up`; the dry run shows the SQL that really runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStores } from '../src/boot.js';
import { analyzeMigration } from '../src/engine/destructive.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import { createRegistry } from '../src/api.js';
import { loadRegistry } from '../src/api.js';
import type { Store, StoreDefinition } from '../src/types.js';
import { verifyRegistry } from '../src/verify.js';
import { cli, fingerprint, query, tmpDir, userVersion, writeSql } from './helpers.js';

const SCHEMA = `
CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);
CREATE TABLE u (id INTEGER PRIMARY KEY, k TEXT UNIQUE);
CREATE TABLE r (id INTEGER PRIMARY KEY, k TEXT, UNIQUE (k) ON CONFLICT REPLACE);
CREATE TABLE log (id INTEGER PRIMARY KEY, w TEXT);
CREATE TABLE g (id INTEGER PRIMARY KEY, n TEXT);
CREATE TRIGGER g_purge AFTER INSERT ON g BEGIN DELETE FROM log WHERE id < new.id; END;
CREATE TABLE w (a TEXT PRIMARY KEY, b TEXT) WITHOUT ROWID;
CREATE VIRTUAL TABLE f USING fts5(body);
`;

function analyze(sql: string) {
  const db = new Database(':memory:');
  try {
    db.exec(SCHEMA);
    return analyzeMigration(sql, db);
  } finally {
    db.close();
  }
}

describe('SQL steps are judged by their bytecode and their effect on the schema', () => {
  const destroying: [string, string[]][] = [
    ['DELETE FROM t WHERE id = 1', ['deletes rows of t']],
    ['DELETE FROM t', ['deletes rows of t']],
    ['/* lead */ delete from T where 1', ['deletes rows of t']],
    ['WITH old AS (SELECT id FROM t WHERE x IS NULL) DELETE FROM t WHERE id IN (SELECT id FROM old)', ['deletes rows of t']],
    ["REPLACE INTO t VALUES (1, 'a')", ['deletes rows of t']],
    ["INSERT OR REPLACE INTO u VALUES (1, 'a')", ['deletes rows of u']],
    ["UPDATE OR REPLACE u SET k = 'same'", ['deletes rows of u']],
    ["INSERT INTO r VALUES (1, 'a')", ['deletes rows of r']], // its UNIQUE is ON CONFLICT REPLACE
    ["INSERT INTO g VALUES (1, 'a')", ['deletes rows of log']], // the trigger it fires deletes
    ["REPLACE INTO w VALUES ('a', 'b')", ['deletes rows of w']],
    ['DELETE FROM f WHERE rowid = 1', ['deletes rows of f']],
    ['DROP TABLE main.t', ['drops table t']],
    ['DROP TABLE f', ['drops table f']], // a virtual table (its shadow tables go with it, unnamed)
    ['DROP TABLE IF EXISTS "t"', ['drops table t']],
    ['ALTER TABLE t DROP COLUMN x', ['drops column t.x']],
    ['ALTER TABLE t RENAME TO t2; DELETE FROM t2 WHERE id > 3', ['deletes rows of t2']],
    // A rebuild by hand: the file's t, renamed t_old, is dropped after the copy — a drop all the same.
    ["CREATE TABLE t_new (id INTEGER PRIMARY KEY, x TEXT NOT NULL DEFAULT ''); INSERT INTO t_new SELECT id, coalesce(x, '') FROM t; ALTER TABLE t RENAME TO t_old; ALTER TABLE t_new RENAME TO t; DROP TABLE t_old", ['drops table t_old']],
  ];
  for (const [sql, what] of destroying) {
    it(`flags ${sql}`, () => {
      const a = analyze(sql);
      expect(a.what).toEqual(what);
      expect(a.undeclared).toBe(true);
      expect(analyze(`-- stores:destructive on purpose\n${sql}`)).toMatchObject({ what, undeclared: false, destructive: true, declared: 'on purpose' });
    });
  }

  it('names the table the file holds, through renames (what dry-run row counts read)', () => {
    expect(analyze('ALTER TABLE t RENAME TO t2; DELETE FROM t2 WHERE id > 3').tables).toEqual(['t']);
    expect(analyze('ALTER TABLE t RENAME TO t2; ALTER TABLE t2 RENAME COLUMN x TO y')).toMatchObject({ tableRenames: [['t', 't2']], columnRenames: [['t2', 'x', 'y']] });
  });

  const harmless = [
    'CREATE INDEX ix ON t(x)',
    "INSERT INTO t VALUES (1, 'a')",
    'INSERT INTO t (x) SELECT k FROM u',
    "UPDATE t SET x = 'b'",
    'UPDATE t SET id = id + 1',
    "INSERT INTO u VALUES (1, 'a') ON CONFLICT (k) DO UPDATE SET k = excluded.k",
    "INSERT OR IGNORE INTO u VALUES (1, 'a')",
    "INSERT INTO f VALUES ('x')",
    'ALTER TABLE t RENAME TO t2',
    'ALTER TABLE t RENAME COLUMN x TO y',
    'ALTER TABLE t ADD COLUMN z TEXT',
    'DROP INDEX IF EXISTS nope',
    'DROP TRIGGER g_purge',
    // a table the step makes itself holds none of the file's rows
    'CREATE TABLE tmp (a); INSERT INTO tmp VALUES (1); DELETE FROM tmp; DROP TABLE tmp',
  ];
  for (const sql of harmless) {
    it(`does not flag ${sql}`, () => {
      const a = analyze(sql);
      expect(a.what).toEqual([]);
      expect(a.undeclared).toBe(false);
      expect(a.destructive).toBe(false);
    });
  }
});

/** A registry folder with one store `things` at v2 whose step is `step` (file name → text). */
function thingsRegistry(v1: string, v2: string, step: [string, string]): string {
  const root = path.join(tmpDir(), 'stores');
  const dir = path.join(root, 'things');
  fs.mkdirSync(path.join(dir, 'versions'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'migrations'));
  fs.writeFileSync(path.join(dir, 'store.json'), JSON.stringify({ file: 'things.db', version: 2, minVersion: 1 }));
  fs.writeFileSync(path.join(dir, 'schema.sql'), v2);
  fs.writeFileSync(path.join(dir, 'versions/001.sql'), v1);
  fs.writeFileSync(path.join(dir, 'migrations', step[0]), step[1]);
  return root;
}

const V1 = `CREATE TABLE thing (id TEXT PRIMARY KEY, state TEXT NOT NULL, code TEXT UNIQUE);
CREATE TABLE old_log (id INTEGER PRIMARY KEY, line TEXT);`;
const V2_NO_LOG = 'CREATE TABLE thing (id TEXT PRIMARY KEY, state TEXT NOT NULL, code TEXT UNIQUE);';
const ROWS = "INSERT INTO thing VALUES ('a', 'live', 'A'), ('b', 'gone', 'B'), ('c', 'gone', 'C'); INSERT INTO old_log (line) VALUES ('x'), ('y');";

async function things(v2: string, step: [string, string]): Promise<{ store: Store; dir: string; file: string }> {
  const reg = await loadRegistry(thingsRegistry(V1, v2, step));
  const dir = tmpDir();
  const file = path.join(dir, 'things.db');
  writeSql(file, V1 + ROWS, 1);
  return { store: reg.stores[0]!, dir, file };
}

describe('JavaScript steps run under the same rule', () => {
  it('a .mjs step that drops a table holding rows, undeclared, is refused: the file keeps its bytes', async () => {
    const { store, dir, file } = await things(V2_NO_LOG, ['002-drop-log.mjs', "export default function (db) { db.exec('DROP TABLE old_log'); }\n"]);
    const before = fingerprint(file);
    const dry = reconcileStore(store, dir, { mode: 'up', dryRun: true });
    expect(dry.action).toBe('refused');
    const r = reconcileStore(store, dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/migration 002-drop-log\.mjs drops table old_log without declaring it/);
    expect(r.message).toMatch(/export `const destructive = '<why>'`/);
    expect(fingerprint(file)).toEqual(before);
    expect(fs.readdirSync(dir)).toEqual(['things.db']);
  });

  it('rows deleted only on real data are caught inside the transaction: rolled back, refused, bytes unchanged', async () => {
    const step = "export default function (db) { db.prepare(\"DELETE FROM thing WHERE state = 'gone'\").run(); }\n";
    const { store, dir, file } = await things(V1, ['002-purge.mjs', step]);
    const before = fingerprint(file);
    const dry = reconcileStore(store, dir, { mode: 'up', dryRun: true });
    expect(dry.plan![0]!.comment).toMatch(/JavaScript, watched as it runs: refused if it destroys anything undeclared/);
    const r = reconcileStore(store, dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/things\.db: migration 002-purge\.mjs deletes rows of thing \(2 rows\) without declaring it.*rolled back, nothing changed/);
    expect(fingerprint(file)).toEqual(before);
    expect(userVersion(file)).toBe(1);
  });

  it('rows a REPLACE conflict removes (no DELETE runs) are caught too', async () => {
    const step = "export default function (db) { db.exec(\"INSERT OR REPLACE INTO thing VALUES ('d', 'live', 'A')\"); }\n";
    const { store, dir, file } = await things(V1, ['002-upsert.mjs', step]);
    const before = fingerprint(file);
    const r = reconcileStore(store, dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/deletes rows of thing \(1 row\) without declaring it/);
    expect(fingerprint(file)).toEqual(before);
  });

  it('rebuildTable in an undeclared step is no drop (every row is copied); rows deleted after it are still seen', async () => {
    const V2 = "CREATE TABLE thing (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('live', 'gone')), code TEXT UNIQUE);\nCREATE TABLE old_log (id INTEGER PRIMARY KEY, line TEXT);";
    const rebuild = "import { rebuildTable } from " + JSON.stringify(pathToFileURL(path.resolve('src/engine/rebuild.ts')).href) + ";\n" +
      "export default function (db) { rebuildTable(db, { table: 'thing', create: \"CREATE TABLE thing (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('live', 'gone')), code TEXT UNIQUE)\" }); EXTRA }\n";
    const clean = await things(V2, ['002-check.mjs', rebuild.replace('EXTRA', '')]);
    const r = reconcileStore(clean.store, clean.dir, { mode: 'up', backup: false });
    expect(r.action, r.message).toBe('migrated');
    expect(query(clean.file, 'SELECT count(*) AS n FROM thing')).toEqual([{ n: 3 }]);
    const purge = await things(V2, ['002-check.mjs', rebuild.replace('EXTRA', "db.exec(\"DELETE FROM thing WHERE id = 'c'\");")]);
    const before = fingerprint(purge.file);
    const refused = reconcileStore(purge.store, purge.dir, { mode: 'up', backup: false });
    expect(refused.action).toBe('refused');
    expect(refused.message).toMatch(/deletes rows of thing \(1 row\) without declaring it/);
    expect(fingerprint(purge.file)).toEqual(before);
  });

  it('a harmless step (inserts, updates, a rename there and back) runs, with no backup', async () => {
    const step = `export default function (db) {
  db.exec("INSERT INTO thing VALUES ('d', 'live', 'D'); UPDATE thing SET state = 'live'; INSERT OR IGNORE INTO thing VALUES ('a', 'x', 'A')");
  db.exec('ALTER TABLE old_log RENAME TO log2; ALTER TABLE log2 RENAME TO old_log');
}\n`;
    const { store, dir, file } = await things(V1, ['002-touch.mjs', step]);
    const r = reconcileStore(store, dir, { mode: 'up' });
    expect(r.action, r.message).toBe('migrated');
    expect(r.backup).toBeNull();
    expect(query(file, 'SELECT count(*) AS n FROM thing')).toEqual([{ n: 4 }]);
    // The watch leaves nothing behind in the file.
    expect(query(file, "SELECT name FROM sqlite_schema WHERE name LIKE 'stores%'")).toEqual([]);
  });

  it('openStores migrates through a watched step and hands back a connection with nothing of the watch on it', async () => {
    const step = "export default function (db) { db.exec(\"INSERT INTO thing VALUES ('d', 'live', 'D')\"); }\n";
    const { store, dir, file } = await things(V1, ['002-add.mjs', step]);
    const opened = await openStores({ source: 'code', stores: [store] }, dir);
    try {
      expect(opened.report[0]).toMatchObject({ action: 'migrated' });
      expect(opened.db.things!.prepare('SELECT name FROM temp.sqlite_schema').all()).toEqual([]);
    } finally {
      await opened.close();
    }
    expect(query(file, 'SELECT count(*) AS n FROM thing')).toEqual([{ n: 4 }]);
  });

  it('a declared .mjs step gets a backup first, and the report says the backup is a full copy of the file', async () => {
    const step = "export const destructive = 'old_log is replaced by the audit service';\nexport default function (db) { db.exec('DROP TABLE old_log'); }\n";
    const { store, dir, file } = await things(V2_NO_LOG, ['002-drop-log.mjs', step]);
    expect(store.migrations[0]!.destructive).toBe('old_log is replaced by the audit service');
    const dry = reconcileStore(store, dir, { mode: 'up', dryRun: true });
    expect(dry.plan![0]).toMatchObject({ destructive: true, rows: { old_log: 2 } });
    expect(dry.plan![0]!.comment).toMatch(/DESTRUCTIVE: drops table old_log \(declared: old_log is replaced by the audit service\)/);
    const r = reconcileStore(store, dir, { mode: 'up', now: () => new Date('2026-05-06T07:08:09.010Z') });
    expect(r.action, r.message).toBe('migrated');
    expect(r.backup).toBe(`${file}.backup-20260506T070809010Z`);
    expect(r.message).toBe(`migrated v2 from v1; backup: ${r.backup} (a full copy of the file, taken before the first step)`);
    expect(query(r.backup!, 'SELECT line FROM old_log ORDER BY id')).toEqual([{ line: 'x' }, { line: 'y' }]);
    expect(query(r.backup!, 'SELECT count(*) AS n FROM thing')).toEqual([{ n: 3 }]);
    expect(userVersion(r.backup!)).toBe(1);
  });

  it('verify runs the same rule with its generated rows: undeclared deletions fail, declared ones verify', () => {
    const s = "CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('live', 'cancelled')));";
    const purge = (destructive?: string) =>
      createRegistry([
        {
          name: 'j',
          file: 'j.db',
          version: 2,
          minVersion: 1,
          oldestSchema: s,
          schema: s,
          migrations: [{ version: 2, name: '002-purge.mjs', ...(destructive ? { destructive } : {}), run: (db) => void db.prepare('DELETE FROM job').run() }],
        },
      ]);
    const failed = verifyRegistry(purge()).stores[0]!.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.detail).join('\n')).toMatch(/migration 002-purge\.mjs deletes rows of job \(\d+ rows?\) without declaring it/);
    expect(verifyRegistry(purge('jobs are purged at 2.0')).stores[0]!.checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('a JavaScript step that declares destructive with a non-string is a registry error', async () => {
    await expect(loadRegistry(thingsRegistry(V1, V1, ['002-x.mjs', 'export const destructive = true;\nexport default function () {}\n']))).rejects.toThrow(/export const destructive` must be a sentence/);
    const def: StoreDefinition = { name: 'x', file: 'x.db', version: 2, minVersion: 1, oldestSchema: V1, schema: V1, migrations: [{ version: 2, name: '002-x.mjs', destructive: '  ', run: () => {} }] };
    expect(() => createRegistry([def])).toThrow(/destructive must be a sentence/);
  });
});

describe('one rule for the dry run and up; the dry run shows what really runs', () => {
  const job = (states: readonly string[]) => `CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN (${states.map((x) => `'${x}'`).join(', ')})));
CREATE INDEX idx_job_state ON job(state);
CREATE TABLE job_log (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL REFERENCES job(id) ON DELETE CASCADE, line TEXT NOT NULL);`;
  const def = (migration: string): StoreDefinition => ({
    name: 'jobs',
    file: 'jobs.db',
    version: 2,
    minVersion: 1,
    oldestSchema: job(['queued', 'done']),
    schema: job(['queued', 'done', 'cancelled']),
    migrations: [{ version: 2, name: '002-cancelled.sql', sql: migration }],
  });
  const rebuild = `-- stores:rebuild job\n${job(['queued', 'done', 'cancelled']).split(';')[0]};`;
  const atV1 = () => {
    const dir = tmpDir();
    const file = path.join(dir, 'jobs.db');
    writeSql(file, `${job(['queued', 'done'])} INSERT INTO job VALUES ('j1', 'done'); INSERT INTO job_log (job_id, line) VALUES ('j1', 'a');`, 1);
    return { dir, file };
  };

  it('a declared CHECK-list rebuild is not marked destructive nor undeclared; up runs it, after a backup', () => {
    const s = createRegistry([def(rebuild)]).stores[0]!;
    const { dir, file } = atV1();
    const dry = reconcileStore(s, dir, { mode: 'up', dryRun: true });
    const step = dry.plan!.find((p) => p.kind === 'migration')!;
    expect(step.destructive).toBeUndefined();
    expect(step.comment).not.toMatch(/DESTRUCTIVE|not declared/);
    expect(step.comment).toMatch(/rebuilds job \(every row copied\)/);
    expect(step.rows).toEqual({ job: 1 });
    const r = reconcileStore(s, dir, { mode: 'up', now: () => new Date('2026-05-06T07:08:09.010Z') });
    expect(r.action, r.message).toBe('migrated');
    expect(r.backup).toBe(`${file}.backup-20260506T070809010Z`);
    expect(query(file, 'SELECT * FROM job_log')).toEqual([{ id: 1, job_id: 'j1', line: 'a' }]);
  });

  it('the same rebuild dropping a column is destructive in both: the dry run marks it, up refuses it undeclared', () => {
    const narrower = (extra: string) => ({ ...def(`${extra}-- stores:rebuild job\nCREATE TABLE job (id TEXT PRIMARY KEY);`), schema: 'CREATE TABLE job (id TEXT PRIMARY KEY);\nCREATE TABLE job_log (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL REFERENCES job(id) ON DELETE CASCADE, line TEXT NOT NULL);' });
    const oldest = job(['queued', 'done']).replace('CREATE INDEX idx_job_state ON job(state);', '');
    const { dir, file } = atV1();
    writeSql(file, 'DROP INDEX idx_job_state;', 1);
    const undeclared = createRegistry([{ ...narrower(''), oldestSchema: oldest }]).stores[0]!;
    const before = fingerprint(file);
    expect(reconcileStore(undeclared, dir, { mode: 'up', dryRun: true })).toMatchObject({ action: 'refused' });
    const r = reconcileStore(undeclared, dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/drops column job\.state without declaring it/);
    expect(fingerprint(file)).toEqual(before);
    const declared = createRegistry([{ ...narrower('-- stores:destructive state is tracked elsewhere\n'), oldestSchema: oldest }]).stores[0]!;
    const dry = reconcileStore(declared, dir, { mode: 'up', dryRun: true });
    expect(dry.plan![0]).toMatchObject({ destructive: true });
    expect(dry.plan![0]!.comment).toMatch(/DESTRUCTIVE: drops column job\.state \(declared: state is tracked elsewhere\)/);
    expect(reconcileStore(declared, dir, { mode: 'up', backup: false }).action).toBe('migrated');
  });

  it('the dry run shows the statements the rebuild runs, not only the migration source (CLI)', () => {
    const reg = path.join(tmpDir(), 'stores');
    const d = path.join(reg, 'jobs');
    fs.mkdirSync(path.join(d, 'versions'), { recursive: true });
    fs.mkdirSync(path.join(d, 'migrations'));
    fs.writeFileSync(path.join(d, 'store.json'), JSON.stringify({ file: 'jobs.db', version: 2, minVersion: 1 }));
    fs.writeFileSync(path.join(d, 'schema.sql'), job(['queued', 'done', 'cancelled']));
    fs.writeFileSync(path.join(d, 'versions/001.sql'), job(['queued', 'done']));
    fs.writeFileSync(path.join(d, 'migrations/002-cancelled.sql'), rebuild);
    const { dir, file } = atV1();
    const before = fingerprint(file);
    const out = cli(['up', dir, '--stores', reg, '--dry-run']);
    expect(out.code, out.stderr).toBe(3);
    expect(out.stdout).not.toMatch(/not declared|DESTRUCTIVE/);
    expect(out.stdout).toMatch(/rebuilds job \(every row copied\)/);
    for (const s of [
      /CREATE TABLE "stores_rebuild_job" \(id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK \(state IN \('queued', 'done', 'cancelled'\)\)\);/,
      /INSERT INTO "stores_rebuild_job" \("id", "state"\) SELECT "id", "state" FROM "job";/,
      /DROP TABLE "job";/,
      /ALTER TABLE "stores_rebuild_job" RENAME TO "job";/,
      /CREATE INDEX idx_job_state ON job\(state\);/,
    ]) {
      expect(out.stdout).toMatch(s);
    }
    expect(fingerprint(file)).toEqual(before);
  });
});
