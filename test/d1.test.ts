/**
 * The D1 driver against the real runtime: Miniflare's workerd on 127.0.0.1, started once for
 * the file and disposed after. Every database is put in its state through D1 itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../src/api.js';
import { checkD1, reconcileD1, type D1Like } from '../src/api.js';
import { exitCode } from '../src/report.js';
import type { Registry } from '../src/types.js';
import { registry, storesFile } from './helpers.js';
import { all, dump, exec, startD1, writeAtD1 } from './d1-helpers.js';

const BINDINGS = ['DANGLE', 'SCHEMA', 'HISTORY', 'DROPCOL', 'EMPTY', 'BEHIND', 'CURRENT', 'TOONEW', 'DRIFT', 'FOREIGN', 'OTHER', 'LEGACY', 'DRY', 'CHECK', 'JS', 'RACE', 'INTRUDER', 'RESET', 'P1', 'P2', 'P3', 'CONTROL', 'TOOOLD', 'FTS'];
let mf: { dispose(): Promise<void> };
let d1: (name: string) => Promise<D1Like>;
let reg: Registry;

beforeAll(async () => {
  ({ mf, db: d1 } = await startD1(BINDINGS));
  reg = await registry();
}, 60_000);
afterAll(async () => {
  await mf?.dispose();
});

const objects = () => reg.stores.find((s) => s.name === 'objects')!;
/** One tenant with the objects store in `binding`. */
async function tenant(binding: string, name = 't1') {
  return [{ name, databases: { objects: { binding, db: await d1(binding) } } }];
}
/** A registry of the objects store alone (the shipped one has three stores). */
let only: Registry;
beforeAll(async () => {
  only = { source: reg.source, stores: [objects()] };
});
const entry = (r: Awaited<ReturnType<typeof reconcileD1>>) => r.dirs[0]!.stores[0]!;

describe('d1: statuses', () => {
  it('empty: up initializes at the target; a second run finds it current', async () => {
    const r = await reconcileD1(only, await tenant('EMPTY'));
    expect(r.dirs[0]!.path).toBe('d1:t1');
    const e = entry(r);
    expect(e).toMatchObject({ name: 'objects', file: 'd1:EMPTY', status: 'empty', action: 'initialized', from: 0, to: 4, backup: null });
    const db = await d1('EMPTY');
    expect(await all(db, 'SELECT store, version, application_id, written_by FROM _stores_version')).toEqual([{ store: 'objects', version: 4, application_id: null, written_by: 'stores' }]);
    expect(await all(db, "SELECT name FROM sqlite_schema WHERE name LIKE '\\_stores\\_%' ESCAPE '\\'")).toEqual([{ name: '_stores_version' }]);
    const again = entry(await checkD1(only, await tenant('EMPTY')));
    expect(again).toMatchObject({ status: 'current', version: 4 });
    expect(again.message).toBe('d1:EMPTY is current at v4');
  });

  it('behind: up migrates v1 → v4 and keeps every row', async () => {
    const db = await d1('BEHIND');
    await writeAtD1(db, objects(), 1, "INSERT INTO db_agent_definitions (id, slug, name, provider) VALUES ('a1', 'a', 'A', 'p'), ('a2', 'b', 'B', 'p');");
    const checked = await checkD1(only, await tenant('BEHIND'));
    expect(entry(checked)).toMatchObject({ status: 'behind', version: 1 });
    expect(exitCode(checked, 'check')).toBe(3);
    const up = await reconcileD1(only, await tenant('BEHIND'));
    expect(exitCode(up, 'up')).toBe(0);
    const e = entry(up);
    expect(e).toMatchObject({ status: 'behind', action: 'migrated', from: 1, to: 4 });
    expect(e.message).toBe('migrated v4 from v1');
    expect(await all(db, 'SELECT id, slug FROM db_agents ORDER BY id')).toEqual([{ id: 'a1', slug: 'a' }, { id: 'a2', slug: 'b' }]);
    expect(entry(await checkD1(only, await tenant('BEHIND')))).toMatchObject({ status: 'current' });
  });
});

describe('d1: refused and left as they were', () => {
  it('too-new: a version row above the target is refused by check and by up, and never written', async () => {
    const db = await d1('TOONEW');
    await writeAtD1(db, objects(), 4);
    await exec(db, 'UPDATE _stores_version SET version = 9');
    const before = await dump(db);
    const c = await checkD1(only, await tenant('TOONEW'));
    expect(entry(c)).toMatchObject({ status: 'too-new', version: 9 });
    expect(exitCode(c, 'check')).toBe(4);
    const r = await reconcileD1(only, await tenant('TOONEW'));
    expect(exitCode(r, 'up')).toBe(4);
    const e = entry(r);
    expect(e).toMatchObject({ status: 'too-new', action: 'refused', version: 9 });
    expect(e.message).toMatch(/^d1:TOONEW is at v9, written by a newer binary/);
    expect(await dump(db)).toBe(before);
  });

  it('a virtual table (FTS5) and its shadow tables: up creates it through one batch, the replica replays it, check finds it current', async () => {
    const notes = createRegistry([
      {
        name: 'notes',
        file: 'notes.db',
        version: 2,
        minVersion: 1,
        oldestSchema: 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);',
        schema: 'CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\nCREATE VIRTUAL TABLE note_fts USING fts5(body);',
        migrations: [{ version: 2, name: '002-fts.sql', sql: 'CREATE VIRTUAL TABLE note_fts USING fts5(body);' }],
      },
    ]);
    const db = await d1('FTS');
    const tenants = [{ name: 't1', databases: { notes: { binding: 'FTS', db } } }];
    await exec(db, "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL); INSERT INTO note VALUES (1, 'hello'); CREATE TABLE _stores_version (store TEXT NOT NULL, version INTEGER NOT NULL, application_id INTEGER, written_by TEXT, at TEXT); INSERT INTO _stores_version (store, version) VALUES ('notes', 1);");
    expect(entry(await reconcileD1(notes, tenants))).toMatchObject({ status: 'behind', action: 'migrated', to: 2 });
    expect((await all(db, "SELECT name FROM sqlite_schema WHERE name LIKE 'note_fts%' ORDER BY name")).length).toBeGreaterThan(1); // its shadow tables
    expect(entry(await checkD1(notes, tenants))).toMatchObject({ status: 'current', version: 2 });
    expect(await all(db, 'SELECT id, body FROM note')).toEqual([{ id: 1, body: 'hello' }]);
  });

  it('too-old: a version row below minVersion is refused by check and by up, and never written', async () => {
    const db = await d1('TOOOLD');
    await writeAtD1(db, objects(), 1);
    const before = await dump(db);
    const from2: Registry = { source: reg.source, stores: [{ ...objects(), minVersion: 2 }] };
    expect(entry(await checkD1(from2, await tenant('TOOOLD')))).toMatchObject({ status: 'too-old', version: 1 });
    const r = await reconcileD1(from2, await tenant('TOOOLD'));
    expect(exitCode(r, 'up')).toBe(4);
    expect(entry(r)).toMatchObject({ status: 'too-old', action: 'refused', version: 1 });
    expect(await dump(db)).toBe(before);
  });

  it('drift: a column nobody declared is refused, the database untouched', async () => {
    const db = await d1('DRIFT');
    await writeAtD1(db, objects(), 4, "ALTER TABLE db_agents ADD COLUMN extra TEXT; INSERT INTO db_agent_definitions (id, slug, name, provider) VALUES ('a1', 'a', 'A', 'p');");
    const before = await dump(db);
    const c = entry(await checkD1(only, await tenant('DRIFT')));
    expect(c.status).toBe('drift');
    expect(c.changes).toEqual([expect.objectContaining({ change: 'extra', object: 'column', table: 'db_agents', name: 'extra' })]);
    expect(entry(await reconcileD1(only, await tenant('DRIFT')))).toMatchObject({ status: 'drift', action: 'refused' });
    expect(await dump(db)).toBe(before);
  });

  it("foreign: another program's tables, and another store's version row", async () => {
    const db = await d1('FOREIGN');
    await exec(db, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);");
    const before = await dump(db);
    const e = entry(await reconcileD1(only, await tenant('FOREIGN')));
    expect(e).toMatchObject({ status: 'foreign', action: 'refused' });
    expect(e.message).toContain('invoices');
    expect(await dump(db)).toBe(before);
    const other = await d1('OTHER');
    await writeAtD1(other, objects(), 4, '', 'sagas');
    const o = entry(await reconcileD1(only, await tenant('OTHER')));
    expect(o).toMatchObject({ status: 'foreign', action: 'refused' });
    expect(o.message).toBe('d1:OTHER holds the version row of store "sagas", not of store objects: it belongs to another program or store; point stores at the right database');
  });

  it("foreign: a version row with another application id than the store's", async () => {
    const reg2 = createRegistry([{ name: 'jobs', file: 'jobs.db', version: 1, applicationId: 0x4a4f4253, schema: 'CREATE TABLE job (id TEXT PRIMARY KEY);' }]);
    const db = await d1('FOREIGN');
    await exec(db, "CREATE TABLE job (id TEXT PRIMARY KEY); CREATE TABLE _stores_version (store TEXT NOT NULL, version INTEGER NOT NULL, application_id INTEGER, written_by TEXT, at TEXT); INSERT INTO _stores_version VALUES ('jobs', 1, 7, 'x', 'y');");
    const e = entry(await checkD1(reg2, [{ name: 't', databases: { jobs: { binding: 'FOREIGN', db } } }]));
    expect(e.status).toBe('foreign');
    expect(e.message).toMatch(/application_id 7 /);
  });

  it('a JavaScript migration cannot run in a batch: refused before anything is sent', async () => {
    const js = createRegistry([
      { name: 'jobs', file: 'jobs.db', version: 2, minVersion: 1, oldestSchema: 'CREATE TABLE job (id TEXT PRIMARY KEY);', schema: 'CREATE TABLE job (id TEXT PRIMARY KEY, n INTEGER);', migrations: [{ version: 2, name: '002-n.js', run: (db) => db.exec('ALTER TABLE job ADD COLUMN n INTEGER') }] },
    ]);
    const db = await d1('JS');
    await exec(db, "CREATE TABLE job (id TEXT PRIMARY KEY); INSERT INTO job VALUES ('j1'); CREATE TABLE _stores_version (store TEXT NOT NULL, version INTEGER NOT NULL, application_id INTEGER, written_by TEXT, at TEXT); INSERT INTO _stores_version (store, version) VALUES ('jobs', 1);");
    const before = await dump(db);
    const e = entry(await reconcileD1(js, [{ name: 't', databases: { jobs: { binding: 'JS', db } } }]));
    expect(e).toMatchObject({ status: 'behind', action: 'refused' });
    expect(e.message).toMatch(/^d1:JS: migration 002-n\.js is a JavaScript step/);
    expect(await dump(db)).toBe(before);
  });
});

describe('d1: legacy, dry runs, check', () => {
  it('legacy: adopt renames, drops the dead tables, stamps v4, and keeps the rows of every table it keeps', async () => {
    const db = await d1('LEGACY');
    await exec(db, storesFile('objects/legacy/forge-era.sql'));
    const agents = await all(db, 'SELECT id, name FROM db_forge_agents ORDER BY id');
    const content = await all(db, 'SELECT * FROM db_forge_content ORDER BY agent_id, content_type');
    expect(content.length).toBeGreaterThan(0);
    const c = entry(await checkD1(only, await tenant('LEGACY')));
    expect(c.status).toBe('legacy');
    // No backup file is written beside a D1 database: the message says what stands in for it.
    expect(c.message).toContain('with rows: no backup file on D1: its Time Travel can restore the state before');
    expect(c.message).not.toContain('backed up');
    const e = entry(await reconcileD1(only, await tenant('LEGACY'), { mode: 'adopt' }));
    expect(e).toMatchObject({ status: 'legacy', action: 'adopted', to: 4 });
    expect(await all(db, 'SELECT id, name FROM db_agent_definitions ORDER BY id')).toEqual(agents);
    expect(await all(db, 'SELECT * FROM db_agent_content ORDER BY agent_id, content_type')).toEqual(content);
    expect(await all(db, "SELECT count(*) AS n FROM sqlite_schema WHERE name LIKE 'db_workflow%'")).toEqual([{ n: 0 }]);
    expect(entry(await checkD1(only, await tenant('LEGACY')))).toMatchObject({ status: 'current', version: 4 });
  });

  it('a dry run plans (rehearsed on the schema in memory) and writes nothing; check writes nothing', async () => {
    const db = await d1('DRY');
    await writeAtD1(db, objects(), 2, "INSERT INTO db_agent_definitions (id, slug, name, provider, updated_at) VALUES ('a1', 'a', 'A', 'p', 5);");
    const before = await dump(db);
    const e = entry(await reconcileD1(only, await tenant('DRY'), { dryRun: true }));
    expect(e).toMatchObject({ status: 'behind', action: 'planned', from: 2, to: 4 });
    expect(e.plan!.map((s) => s.kind)).toEqual(['migration', 'migration', 'seed', 'stamp']);
    expect(await dump(db)).toBe(before);
    expect(entry(await checkD1(only, await tenant('DRY')))).toMatchObject({ status: 'behind', version: 2 });
    expect(await dump(db)).toBe(before);
  });

  it('a store the tenant binds no database for is an error entry; an unknown store name is a usage error', async () => {
    const r = await checkD1(reg, await tenant('CHECK'));
    expect(r.dirs[0]!.stores.map((s) => [s.name, s.status])).toEqual(reg.stores.map((s) => [s.name, s.name === 'objects' ? 'empty' : 'error']));
    await expect(checkD1(reg, [{ name: 't', databases: { nope: { binding: 'CHECK', db: await d1('CHECK') } } }])).rejects.toThrow(/store nope, which the registry/);
  });
});

/** A binding that lets a test change a write batch's statements, or act just before it is sent. */
function intercept(db: D1Like, edit: (sql: string[]) => Promise<string[]> | string[]): D1Like {
  const text = new WeakMap<object, string>();
  return {
    prepare(sql) {
      const s = db.prepare(sql);
      text.set(s, sql);
      return s;
    },
    async batch(stmts) {
      const sql = stmts.map((s) => text.get(s) ?? '');
      if (!sql.some((s) => s.startsWith('DELETE FROM _stores_version'))) return await db.batch(stmts);
      return await db.batch((await edit(sql)).map((s) => db.prepare(s)));
    },
  };
}

describe('d1: one atomic batch, guarded', () => {
  it('two runners: the second batch fails its version guard, looks again and finds the database current', async () => {
    const raw = await d1('RACE');
    await writeAtD1(raw, objects(), 1);
    let raced = false;
    const db = intercept(raw, async (sql) => {
      if (!raced) {
        raced = true;
        expect(entry(await reconcileD1(only, [{ name: 'other', databases: { objects: { binding: 'RACE', db: raw } } }]))).toMatchObject({ action: 'migrated' });
      }
      return sql;
    });
    const e = entry(await reconcileD1(only, [{ name: 't1', databases: { objects: { binding: 'RACE', db } } }]));
    expect(raced).toBe(true);
    expect(e).toMatchObject({ status: 'behind', action: 'unchanged', from: 1, to: 1 });
    expect(e.message).toBe('d1:RACE was made current by another process meanwhile');
    expect(await all(raw, 'SELECT version FROM _stores_version')).toEqual([{ version: 4 }]);
  });

  it('a batch whose schema is not what the same statements give in memory fails its guard; the database is as it was', async () => {
    const raw = await d1('INTRUDER');
    await writeAtD1(raw, objects(), 2, "INSERT INTO db_agent_definitions (id, slug, name, provider) VALUES ('a1', 'a', 'A', 'p');");
    const before = await dump(raw);
    const db = intercept(raw, (sql) => {
      const at = sql.findIndex((s) => s.startsWith('DELETE FROM _stores_version'));
      return [...sql.slice(0, at), 'CREATE TABLE intruder (x)', ...sql.slice(at)];
    });
    const e = entry(await reconcileD1(only, [{ name: 't1', databases: { objects: { binding: 'INTRUDER', db } } }]));
    expect(e).toMatchObject({ status: 'behind', action: 'refused', from: 2, to: 2 });
    expect(e.message).toBe('d1:INTRUDER: guard failed: the schema after the batch is not what the same statements give in memory; D1 rolled the whole batch back, nothing changed');
    expect(await dump(raw)).toBe(before);
  });
});

/** A parent with a self-reference, CASCADE and SET NULL children, grandchildren, an index, a view and a trigger. */
const TREE_V1 = `
CREATE TABLE p (id INTEGER PRIMARY KEY, up INTEGER REFERENCES p(id) ON DELETE CASCADE, name TEXT NOT NULL);
CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER NOT NULL REFERENCES p(id) ON DELETE CASCADE, note TEXT);
CREATE INDEX c_p ON c(p);
CREATE TABLE n (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id) ON DELETE SET NULL);
CREATE TABLE g (id INTEGER PRIMARY KEY, c INTEGER NOT NULL REFERENCES c(id) ON DELETE CASCADE);
CREATE TABLE log (what TEXT);
CREATE VIEW names AS SELECT p.name, c.note FROM p JOIN c ON c.p = p.id;
CREATE TRIGGER p_added AFTER INSERT ON p BEGIN INSERT INTO log VALUES ('added ' || new.id); END;
`;
const P_V2 = 'CREATE TABLE p (id INTEGER PRIMARY KEY, up INTEGER REFERENCES p(id) ON DELETE CASCADE, name TEXT NOT NULL CHECK (length(name) > 0))';
const ROWS = `
INSERT INTO p VALUES (1, NULL, 'root'), (2, 1, 'mid'), (3, 2, 'leaf');
INSERT INTO c VALUES (10, 1, 'a'), (11, 2, 'b'), (12, 3, 'c');
INSERT INTO n VALUES (20, 1), (21, 3);
INSERT INTO g VALUES (30, 10), (31, 12);
`;
function treeRegistry(migration: string): Registry {
  return createRegistry([
    { name: 'tree', file: 'tree.db', version: 2, minVersion: 1, oldestSchema: TREE_V1, schema: TREE_V1.replace(/CREATE TABLE p \([^;]*\);/, `${P_V2};`), migrations: [{ version: 2, name: '002-p-check.sql', sql: migration }] },
  ]);
}
const REBUILD = `-- stores:rebuild p\n${P_V2};`;
/** SQLite's documented procedure, as a script (views and triggers dropped around it, as it says). */
const CLASSIC = `DROP VIEW names; DROP TRIGGER p_added; ${P_V2.replace('TABLE p', 'TABLE p_new')}; INSERT INTO p_new SELECT * FROM p; DROP TABLE p; ALTER TABLE p_new RENAME TO p;
CREATE VIEW names AS SELECT p.name, c.note FROM p JOIN c ON c.p = p.id;
CREATE TRIGGER p_added AFTER INSERT ON p BEGIN INSERT INTO log VALUES ('added ' || new.id); END;`;
async function treeAt1(db: D1Like): Promise<void> {
  await exec(db, `${TREE_V1}${ROWS}CREATE TABLE _stores_version (store TEXT NOT NULL, version INTEGER NOT NULL, application_id INTEGER, written_by TEXT, at TEXT); INSERT INTO _stores_version (store, version) VALUES ('tree', 1);`);
}
const rowsOf = async (db: D1Like) => Object.fromEntries(await Promise.all(['p', 'c', 'n', 'g', 'log'].map(async (t) => [t, await all(db, `SELECT * FROM ${t} ORDER BY rowid`)] as const)));
const tenantOf = (binding: string, db: D1Like) => [{ name: 't', databases: { tree: { binding, db } } }];

describe('d1: the other guards', () => {
  it('a foreign key left dangling (deferred) fails the foreign-key guard; the database as it was', async () => {
    const raw = await d1('DANGLE');
    await writeAtD1(raw, objects(), 3);
    const before = await dump(raw);
    const db = intercept(raw, (sql) => {
      const at = sql.findIndex((s) => s.startsWith('DELETE FROM _stores_version'));
      return [...sql.slice(0, at), 'PRAGMA defer_foreign_keys = ON', "INSERT INTO db_agent_content (agent_id, content_type) VALUES ('nobody', 'x')", ...sql.slice(at)];
    });
    const e = entry(await reconcileD1(only, [{ name: 't1', databases: { objects: { binding: 'DANGLE', db } } }]));
    expect(e).toMatchObject({ status: 'behind', action: 'refused' });
    expect(e.message).toBe('d1:DANGLE: guard failed: a foreign key dangles after the batch; D1 rolled the whole batch back, nothing changed');
    expect(await dump(raw)).toBe(before);
  });

  it('a schema changed between the look and the batch fails the listing-as-read guard; the second look reports what is there now', async () => {
    const raw = await d1('SCHEMA');
    await writeAtD1(raw, objects(), 3);
    let changed = false;
    const db = intercept(raw, async (sql) => {
      if (!changed) {
        changed = true;
        await exec(raw, 'CREATE TABLE scratch (x)');
      }
      return sql;
    });
    const e = entry(await reconcileD1(only, [{ name: 't1', databases: { objects: { binding: 'SCHEMA', db } } }]));
    expect(changed).toBe(true);
    expect(e).toMatchObject({ status: 'drift', action: 'refused', version: 3 });
    expect(e.message).toMatch(/^d1:SCHEMA says v3 but its schema differs: .*scratch/);
    expect(await all(raw, 'SELECT version FROM _stores_version')).toEqual([{ version: 3 }]);
  });
});

describe('d1: rebuilds by the rename-away procedure', () => {
  it('CONTROL: the classic procedure (create, copy, drop, rename) in one batch loses the children on D1', async () => {
    const db = await d1('CONTROL');
    await treeAt1(db);
    await exec(db, `PRAGMA defer_foreign_keys = ON; ${CLASSIC}`);
    const after = await rowsOf(db);
    // Even the parent's own rows: the new table's self-reference names p, whose drop cascades into it.
    expect(after.p).toEqual([{ id: 1, up: null, name: 'root' }]);
    expect(after.c).toEqual([]); // ON DELETE CASCADE fired when the old p was dropped
    expect(after.g).toEqual([]); // and down to the grandchildren
    expect(after.n).toEqual([{ id: 20, p: null }, { id: 21, p: null }]); // SET NULL
  });

  it('up rebuilds the parent keeping every row of it, its children, grandchildren and self-references; indexes, views and triggers come back', async () => {
    const db = await d1('P1');
    await treeAt1(db);
    const before = await rowsOf(db);
    const reg1 = treeRegistry(REBUILD);
    const e = entry(await reconcileD1(reg1, tenantOf('P1', db)));
    expect(e).toMatchObject({ status: 'behind', action: 'migrated', from: 1, to: 2 });
    expect(await rowsOf(db)).toEqual(before);
    expect(await all(db, "SELECT sql FROM sqlite_schema WHERE name = 'p'")).toEqual([{ sql: P_V2.replace('TABLE p', 'TABLE "p"') }]);
    expect((await all(db, "SELECT type, name FROM sqlite_schema WHERE type IN ('index', 'view', 'trigger') ORDER BY name")).map((r) => `${r.type} ${r.name}`)).toEqual(['index c_p', 'view names', 'trigger p_added']);
    expect(await all(db, "SELECT name FROM sqlite_schema WHERE name LIKE 'stores\\_%' ESCAPE '\\'")).toEqual([]);
    expect(await all(db, 'PRAGMA legacy_alter_table')).toEqual([{ legacy_alter_table: 0 }]);
    expect(entry(await checkD1(reg1, tenantOf('P1', db)))).toMatchObject({ status: 'current', version: 2 });
    // The foreign keys still cascade from the new parent.
    await exec(db, 'DELETE FROM p WHERE id = 3');
    expect(await all(db, 'SELECT id FROM c ORDER BY id')).toEqual([{ id: 10 }, { id: 11 }]);
    expect(await all(db, 'SELECT id FROM g')).toEqual([{ id: 30 }]);
  });

  it('the classic procedure written as a plain SQL migration is refused by the row-count guard, the database as it was', async () => {
    const db = await d1('P2');
    await treeAt1(db);
    const before = await dump(db);
    const classic = `-- stores:destructive rebuilds p by hand\n${CLASSIC}`;
    const e = entry(await reconcileD1(treeRegistry(classic), tenantOf('P2', db)));
    expect(e).toMatchObject({ status: 'behind', action: 'refused' });
    expect(e.message).toMatch(/^d1:P2: guard failed: rows lost from table (c|g); D1 rolled the whole batch back, nothing changed$/);
    expect(await dump(db)).toBe(before);
  });

  it('legacy_alter_table is off after a batch that failed while it was on', async () => {
    const raw = await d1('P3');
    await treeAt1(raw);
    const before = await dump(raw);
    const failing = (sql: string[]) => {
      const at = sql.indexOf('PRAGMA legacy_alter_table = ON');
      expect(at).toBeGreaterThan(0);
      return [...sql.slice(0, at + 1), 'INSERT INTO no_such_table VALUES (1)', ...sql.slice(at + 1)];
    };
    // Without the reset, the setting stays on after the failed batch (so this test could fail).
    await expect(raw.batch(['PRAGMA legacy_alter_table = ON', 'INSERT INTO no_such_table VALUES (1)'].map((s) => raw.prepare(s)))).rejects.toThrow(/no such table/);
    expect(await all(raw, 'PRAGMA legacy_alter_table')).toEqual([{ legacy_alter_table: 1 }]);
    await exec(raw, 'PRAGMA legacy_alter_table = OFF');
    const e = entry(await reconcileD1(treeRegistry(REBUILD), tenantOf('P3', intercept(raw, failing))));
    expect(e).toMatchObject({ status: 'behind', action: 'refused' });
    expect(e.message).toMatch(/^d1:P3: D1 refused the batch \(D1_ERROR: no such table: no_such_table/);
    expect(await all(raw, 'PRAGMA legacy_alter_table')).toEqual([{ legacy_alter_table: 0 }]);
    expect(await dump(raw)).toBe(before);
  });
});

describe('d1: a fleet of databases', () => {
  const N = 50;
  let fleet: Awaited<ReturnType<typeof startD1>>;
  beforeAll(async () => {
    fleet = await startD1(Array.from({ length: N }, (_, i) => `T${i}`));
  }, 60_000);
  afterAll(async () => {
    await fleet?.mf.dispose();
  });

  it('50 databases reconciled in parallel: each initialized or migrated once, rows kept, then all current', async () => {
    const jobs = createRegistry([
      {
        name: 'jobs',
        file: 'jobs.db',
        version: 2,
        minVersion: 1,
        oldestSchema: 'CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL);',
        schema: 'CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL, tries INTEGER NOT NULL DEFAULT 0);\nCREATE INDEX job_state ON job(state);',
        migrations: [{ version: 2, name: '002-tries.sql', sql: 'ALTER TABLE job ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX job_state ON job(state);' }],
      },
    ]);
    const dbs = await Promise.all(Array.from({ length: N }, (_, i) => fleet.db(`T${i}`)));
    // Even tenants at v1 with rows; odd ones empty.
    await Promise.all(
      dbs.map(async (db, i) => {
        if (i % 2 === 0) await exec(db, `CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL); INSERT INTO job VALUES ('j${i}', 'new'), ('k${i}', 'done'); CREATE TABLE _stores_version (store TEXT NOT NULL, version INTEGER NOT NULL, application_id INTEGER, written_by TEXT, at TEXT); INSERT INTO _stores_version (store, version) VALUES ('jobs', 1);`);
      }),
    );
    const tenants = dbs.map((db, i) => ({ name: `tenant-${i}`, databases: { jobs: { binding: `T${i}`, db } } }));
    const r = await reconcileD1(jobs, tenants, { concurrency: 8 });
    // Any entry not initialized or migrated, with its message (what went wrong, if anything).
    const odd = r.dirs.flatMap((d) => d.stores).filter((s) => s.action !== 'migrated' && s.action !== 'initialized');
    expect(odd.map((s) => `${s.file}: ${s.status} ${s.action} ${s.message}`)).toEqual([]);
    expect(r.summary).toEqual({ dirs: N, stores: N, byStatus: { behind: N / 2, empty: N / 2 }, byAction: { migrated: N / 2, initialized: N / 2 } });
    expect(r.dirs.map((d) => d.path)).toEqual(tenants.map((t) => `d1:${t.name}`));
    for (const [i, db] of dbs.entries()) {
      expect(await all(db, 'SELECT id, tries FROM job ORDER BY id')).toEqual(i % 2 === 0 ? [{ id: `j${i}`, tries: 0 }, { id: `k${i}`, tries: 0 }] : []);
    }
    const c = await checkD1(jobs, tenants);
    expect(c.dirs.flatMap((d) => d.stores).filter((s) => s.status !== 'current').map((s) => `${s.file}: ${s.status} ${s.message}`)).toEqual([]);
    expect(c.summary).toEqual({ dirs: N, stores: N, byStatus: { current: N } });
  });
});

describe('d1: the version table is ours', () => {
  it('a store may not declare a table named _stores_version (a registry error)', () => {
    const make = () => createRegistry([{ name: 'x', file: 'x.db', version: 1, schema: 'CREATE TABLE _stores_version (id INTEGER PRIMARY KEY); CREATE TABLE t (id INTEGER PRIMARY KEY);' }]);
    expect(make).toThrow(/_stores_version.*always ignored/);
  });
});

describe('d1: adoption through the rows the engine reads', () => {
  it("legacy.history: a database dbmate kept is adopted at the version its history records (the history's rows copied into the replica)", async () => {
    const reg2 = createRegistry([
      {
        name: 'jobs',
        file: 'jobs.db',
        version: 2,
        minVersion: 1,
        oldestSchema: 'CREATE TABLE job (id TEXT PRIMARY KEY);',
        schema: 'CREATE TABLE job (id TEXT PRIMARY KEY, n INTEGER);',
        migrations: [{ version: 2, name: '002-n.sql', sql: 'ALTER TABLE job ADD COLUMN n INTEGER;' }],
        legacy: { history: [{ tool: 'dbmate', map: { '20240101000000': 1 } }] },
      },
    ]);
    const db = await d1('HISTORY');
    await exec(db, "CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20240101000000'); CREATE TABLE job (id TEXT PRIMARY KEY); INSERT INTO job VALUES ('j1');");
    const t = [{ name: 't', databases: { jobs: { binding: 'HISTORY', db } } }];
    const c = entry(await checkD1(reg2, t));
    expect(c.status).toBe('legacy');
    expect(c.message).toContain('dbmate');
    expect(entry(await reconcileD1(reg2, t, { mode: 'adopt' }))).toMatchObject({ action: 'adopted', from: 0, to: 2 });
    expect(await all(db, 'SELECT id, n FROM job')).toEqual([{ id: 'j1', n: null }]);
    expect(await all(db, "SELECT name FROM sqlite_schema WHERE name = 'schema_migrations'")).toEqual([]);
    expect(entry(await checkD1(reg2, t))).toMatchObject({ status: 'current', version: 2 });
  });

  it('legacy.dropColumns: the rebuild that drops a column of a parent keeps the rows of its CASCADE children', async () => {
    const schema = 'CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nCREATE TABLE session (id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE);';
    const reg2 = createRegistry([{ name: 'auth', file: 'auth.db', version: 1, schema, legacy: { dropColumns: [{ table: 'account', column: 'old_flag' }] } }]);
    const db = await d1('DROPCOL');
    await exec(db, "CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT NOT NULL, old_flag INTEGER); CREATE TABLE session (id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE); INSERT INTO account VALUES (1, 'a', 0), (2, 'b', 1); INSERT INTO session VALUES (10, 1), (11, 2), (12, 2);");
    const t = [{ name: 't', databases: { auth: { binding: 'DROPCOL', db } } }];
    expect(entry(await checkD1(reg2, t)).status).toBe('legacy');
    expect(entry(await reconcileD1(reg2, t, { mode: 'adopt' }))).toMatchObject({ action: 'adopted', to: 1 });
    expect(await all(db, 'SELECT * FROM account ORDER BY id')).toEqual([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
    expect(await all(db, 'SELECT * FROM session ORDER BY id')).toEqual([{ id: 10, account: 1 }, { id: 11, account: 2 }, { id: 12, account: 2 }]);
    expect(entry(await checkD1(reg2, t))).toMatchObject({ status: 'current', version: 1 });
  });
});

describe('d1: a database that cannot be reached', () => {
  it('is an error entry (check and up), never a throw; the other databases are reconciled', async () => {
    const down: D1Like = {
      prepare: () => {
        throw new Error('network connection lost');
      },
      batch: async () => {
        throw new Error('network connection lost');
      },
    };
    const tenants = [
      { name: 'a', databases: { objects: { binding: 'DOWN', db: down } } },
      { name: 'b', databases: { objects: { binding: 'CHECK', db: await d1('CHECK') } } },
    ];
    for (const run of [checkD1, reconcileD1]) {
      const r = await run(only, tenants);
      const e = r.dirs[0]!.stores[0]!;
      expect(e).toMatchObject({ file: 'd1:DOWN', status: 'error' });
      expect(e.message).toBe('d1:DOWN cannot be read (D1_UNREACHABLE: network connection lost); fix the cause, then run again');
      expect(r.dirs[1]!.stores[0]!.status).toBe('empty');
    }
    expect(entry(await checkD1(only, await tenant('CHECK')))).toMatchObject({ status: 'current' });
  });
});
