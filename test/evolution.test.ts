/**
 * Schema evolution beyond additive columns: the worked cases in test/fixtures/evolution, each a
 * store with data, and a CHECK list generated from an enum in code. Rebuilds fire no cascade
 * and lose no row; destructive steps are marked, and refused unless declared.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reconcileStore } from '../src/engine/reconcile.js';
import { createRegistry, loadRegistry } from '../src/api.js';
import type { Registry, Store, StoreDefinition } from '../src/types.js';
import { verifyRegistry } from '../src/verify.js';
import { ROOT, STORES, cli, fingerprint, query, tmpDir, userVersion, writeSql } from './helpers.js';

const FIXTURES = path.join(ROOT, 'test/fixtures/evolution');
let reg: Registry;
beforeAll(async () => {
  reg = await loadRegistry(FIXTURES);
});
const byName = (n: string): Store => reg.stores.find((s) => s.name === n)!;

/** A data dir with the store's file at v1 holding the fixture's rows. */
function atV1(s: Store): { dir: string; file: string } {
  const dir = tmpDir();
  const file = path.join(dir, s.file);
  writeSql(file, s.oldestSchema + fs.readFileSync(path.join(FIXTURES, s.name, 'data.sql'), 'utf8'), 1);
  return { dir, file };
}

describe('worked cases', () => {
  it('every case verifies: fresh, v1 with generated rows, a second pass current', () => {
    const r = verifyRegistry(reg);
    expect(r.stores.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${s.name}: ${c.name}: ${c.detail}`))).toEqual([]);
  });

  it('rename agents → wallets and the foreign-key columns of five tables, with index renames: every row kept', () => {
    const s = byName('rename-agents-wallets');
    const { dir, file } = atV1(s);
    const before = Object.fromEntries(['agent_keys', 'agent_limits', 'agent_events', 'agent_tags', 'payments'].map((t) => [t, query(file, `SELECT * FROM ${t} ORDER BY rowid`)]));
    const r = reconcileStore(s, dir, { mode: 'up' });
    expect(r.action, r.message).toBe('migrated');
    expect(query(file, 'SELECT * FROM wallets ORDER BY id')).toEqual([{ id: 'a1', name: 'one' }, { id: 'a2', name: 'two' }, { id: 'a3', name: 'three' }]);
    for (const [t, rows] of Object.entries(before)) {
      const now = query(file, `SELECT * FROM ${t} ORDER BY rowid`);
      expect(now).toEqual(rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k === 'agent_id' ? 'wallet_id' : k, v]))));
      expect(query(file, `SELECT "table" AS parent FROM pragma_foreign_key_list('${t}')`)).toEqual([{ parent: 'wallets' }]);
    }
    expect(reconcileStore(s, dir, { mode: 'check' }).status).toBe('current');
  });

  it('move sessions.wallet_id into session_wallets (NULLs skipped), drop the column: children keep every row', () => {
    const s = byName('junction-sessions-wallets');
    const { dir, file } = atV1(s);
    const events = query(file, 'SELECT * FROM session_events ORDER BY id');
    const dry = reconcileStore(s, dir, { mode: 'up', dryRun: true });
    const step = dry.plan!.find((p) => p.kind === 'migration')!;
    expect(step.destructive).toBe(true);
    expect(step.comment).toMatch(/rebuilds sessions \(every row copied\) — DESTRUCTIVE: drops column sessions\.wallet_id \(declared: sessions\.wallet_id is dropped after its values move to session_wallets\)/);
    expect(step.rows).toEqual({ sessions: 4 });
    const r = reconcileStore(s, dir, { mode: 'up', now: () => new Date('2026-02-03T04:05:06.007Z') });
    expect(r.action, r.message).toBe('migrated');
    expect(query(file, 'SELECT * FROM session_wallets ORDER BY session_id')).toEqual([
      { session_id: 's1', wallet_id: 'w1' },
      { session_id: 's3', wallet_id: 'w2' },
      { session_id: 's4', wallet_id: 'w1' },
    ]);
    expect(query(file, 'SELECT * FROM sessions ORDER BY id')).toEqual([
      { id: 's1', name: 'one' },
      { id: 's2', name: 'two' },
      { id: 's3', name: 'three' },
      { id: 's4', name: 'four' },
    ]);
    expect(query(file, 'SELECT * FROM session_events ORDER BY id')).toEqual(events);
    // A backup was taken before the rebuild, holding the old column.
    expect(r.backup).toBe(`${file}.backup-20260203T040506007Z`);
    expect(query(r.backup!, 'SELECT wallet_id FROM sessions ORDER BY id')).toEqual([{ wallet_id: 'w1' }, { wallet_id: null }, { wallet_id: 'w2' }, { wallet_id: 'w1' }]);
  });

  it('drop a column that an index and a view use', () => {
    const s = byName('drop-indexed-column');
    const { dir, file } = atV1(s);
    const r = reconcileStore(s, dir, { mode: 'up' });
    expect(r.action, r.message).toBe('migrated');
    expect(query(file, 'SELECT * FROM named_items ORDER BY id')).toEqual([{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: 'c' }]);
    expect(query(file, 'SELECT count(*) AS n FROM item_notes')).toEqual([{ n: 3 }]);
  });

  it('a destructive migration that does not declare itself is refused, changing nothing', async () => {
    const copy = path.join(tmpDir(), 'evo');
    fs.cpSync(FIXTURES, copy, { recursive: true });
    const mig = path.join(copy, 'drop-indexed-column/migrations/002-drop-legacy-code.sql');
    fs.writeFileSync(mig, fs.readFileSync(mig, 'utf8').replace(/^-- stores:destructive.*$/m, ''));
    const s = (await loadRegistry(copy)).stores.find((x) => x.name === 'drop-indexed-column')!;
    const { dir, file } = atV1(s);
    const before = fingerprint(file);
    const r = reconcileStore(s, dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/002-drop-legacy-code\.sql drops column items\.legacy_code without declaring it/);
    expect(r.message).toMatch(/-- stores:destructive <why>/);
    expect(fingerprint(file)).toEqual(before);
    expect(userVersion(file)).toBe(1);
  });
});

describe('a CHECK list generated from an enum (registry built in code)', () => {
  const job = (states: readonly string[]) => `CREATE TABLE job (id TEXT PRIMARY KEY, state TEXT NOT NULL CHECK (state IN (${states.map((x) => `'${x}'`).join(', ')})));
CREATE TABLE job_log (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL REFERENCES job(id) ON DELETE CASCADE, line TEXT NOT NULL);`;
  const V1 = ['queued', 'running', 'done'] as const;
  const V2 = [...V1, 'cancelled'] as const;
  const def = (migration: string): StoreDefinition => ({
    name: 'jobs',
    file: 'jobs.db',
    version: 2,
    minVersion: 1,
    oldestSchema: job(V1),
    schema: job(V2),
    migrations: [{ version: 2, name: '002-cancelled.sql', sql: migration }],
  });

  it('verify fails with a readable diff until the rebuild migration exists', () => {
    const r = verifyRegistry(createRegistry([def("SELECT 'forgot the rebuild';")]));
    expect(r.ok).toBe(false);
    const failed = r.stores[0]!.checks.find((c) => !c.ok)!;
    expect(failed.detail).toMatch(/missing check of table job: state in \( 'queued' , 'running' , 'done' , 'cancelled' \)/);
    expect(failed.detail).toMatch(/unexpected check of table job: state in \( 'queued' , 'running' , 'done' \)/);
  });

  it('with the rebuild, the file migrates, job_log rows survive (no cascade), and the new value is accepted', () => {
    const s = createRegistry([def(`-- stores:rebuild job\n${job(V2).split(';')[0]};`)]).stores[0]!;
    expect(verifyRegistry({ source: 'code', stores: [s] }).ok).toBe(true);
    const dir = tmpDir();
    const file = path.join(dir, 'jobs.db');
    writeSql(file, `${job(V1)} INSERT INTO job VALUES ('j1', 'done'), ('j2', 'running'); INSERT INTO job_log (job_id, line) VALUES ('j1', 'a'), ('j1', 'b'), ('j2', 'c');`, 1);
    const r = reconcileStore(s, dir, { mode: 'up', backup: false });
    expect(r.action, r.message).toBe('migrated');
    expect(query(file, 'SELECT job_id, line FROM job_log ORDER BY id')).toEqual([{ job_id: 'j1', line: 'a' }, { job_id: 'j1', line: 'b' }, { job_id: 'j2', line: 'c' }]);
    expect(query(file, 'SELECT id, state FROM job ORDER BY id')).toEqual([{ id: 'j1', state: 'done' }, { id: 'j2', state: 'running' }]);
    writeSql(path.join(dir, 'probe.db'), job(V2) + "INSERT INTO job VALUES ('x', 'cancelled');");
  });
});

describe('stores freeze and frozen proofs', () => {
  it('releasing v5: freeze records it; editing the baseline or an old migration afterwards fails verify with a diff', () => {
    const stores = path.join(tmpDir(), 'stores');
    fs.cpSync(STORES, stores, { recursive: true });
    const dir = path.join(stores, 'objects');
    // Release v5: a migration, the same change in the baseline, the version bumped.
    fs.writeFileSync(path.join(dir, 'migrations/005-client-tags.sql'), "ALTER TABLE db_client ADD COLUMN tags TEXT NOT NULL DEFAULT '';\n");
    fs.writeFileSync(path.join(dir, 'schema.sql'), fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8').replace(
      'CREATE TABLE db_client    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);',
      "CREATE TABLE db_client    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '');",
    ));
    const json = path.join(dir, 'store.json');
    fs.writeFileSync(json, fs.readFileSync(json, 'utf8').replace('"version": 4', '"version": 5'));
    expect(cli(['verify', '--stores', stores]).code).toBe(0);
    const f = cli(['freeze', 'objects', '--stores', stores]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toMatch(/froze objects v5 → .*versions\/005\.sql/);
    expect(cli(['freeze', 'objects', '--stores', stores]).stdout).toMatch(/already frozen/);
    const v = cli(['verify', '--stores', stores]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/frozen v5 equals the baseline/);

    // Editing the baseline after the release (without a new version) is caught, with the diff.
    const schema = fs.readFileSync(path.join(dir, 'schema.sql'), 'utf8');
    fs.writeFileSync(path.join(dir, 'schema.sql'), `${schema}\nCREATE INDEX idx_client_tags ON db_client(tags);\n`);
    const bad = cli(['verify', '--stores', stores]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/frozen v5 equals the baseline\n\s+the baseline was edited after this version was frozen: bump the version and add a migration; compared with the frozen schema: missing index idx_client_tags on db_client/);
    const refreeze = cli(['freeze', 'objects', '--stores', stores]);
    expect(refreeze.code).toBe(2);
    expect(refreeze.stderr).toMatch(/already frozen with a different schema .*a released version never changes/);

    // Editing an old migration after its release, baseline "fixed" to match, is caught too.
    fs.writeFileSync(path.join(dir, 'schema.sql'), schema.replace("data TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '');", "data TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '', extra TEXT);"));
    fs.appendFileSync(path.join(dir, 'migrations/005-client-tags.sql'), 'ALTER TABLE db_client ADD COLUMN extra TEXT;\n');
    const edited = cli(['verify', '--stores', stores]);
    expect(edited.code).toBe(2);
    expect(edited.stdout).toMatch(/frozen v5 equals the baseline\n.*missing column db_client\.extra|unexpected column db_client\.extra/);
  });
});

describe('legacy adoption with column renames and drops', () => {
  const v1 = `CREATE TABLE owner (id TEXT PRIMARY KEY, display_name TEXT NOT NULL);
CREATE TABLE pet (id TEXT PRIMARY KEY, owner_id TEXT NOT NULL REFERENCES owner(id) ON DELETE CASCADE, name TEXT NOT NULL);
CREATE INDEX idx_pet_owner ON pet(owner_id);`;
  const legacyFile = `CREATE TABLE people (id TEXT PRIMARY KEY, nick TEXT NOT NULL, fax TEXT);
CREATE INDEX idx_people_fax ON people(fax);
CREATE TABLE pet (id TEXT PRIMARY KEY, person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE, name TEXT NOT NULL);
CREATE INDEX idx_pet_owner ON pet(person_id);
INSERT INTO people VALUES ('p1', 'Ann', '555'), ('p2', 'Bob', NULL);
INSERT INTO pet VALUES ('d1', 'p1', 'Rex'), ('d2', 'p1', 'Tom'), ('d3', 'p2', 'Kit');`;
  const s = () =>
    createRegistry([
      {
        name: 'pets',
        file: 'pets.db',
        version: 1,
        schema: v1,
        legacy: {
          renames: [{ from: 'people', to: 'owner' }],
          renameColumns: [
            { table: 'owner', from: 'nick', to: 'display_name' },
            { table: 'pet', from: 'person_id', to: 'owner_id' },
          ],
          dropIndexes: ['idx_people_fax'],
          dropColumns: [{ table: 'owner', column: 'fax' }],
          samples: [{ name: 'legacy.sql', sql: legacyFile }],
        },
      },
    ]).stores[0]!;

  it('renames columns (references and indexes follow), drops a column by a cascade-safe rebuild, keeps every row', () => {
    const store = s();
    expect(verifyRegistry({ source: 'code', stores: [store] }).ok).toBe(true);
    const dir = tmpDir();
    const file = path.join(dir, 'pets.db');
    writeSql(file, legacyFile);
    const c = reconcileStore(store, dir, { mode: 'check' });
    expect(c.status).toBe('legacy');
    expect(c.message).toMatch(/renames 2 columns, drops legacy columns of owner/);
    const dry = reconcileStore(store, dir, { mode: 'adopt', dryRun: true });
    expect(dry.plan!.map((p) => p.kind)).toEqual(['rename', 'rename-column', 'rename-column', 'drop-index', 'drop-column', 'stamp']);
    expect(dry.plan!.find((p) => p.kind === 'drop-column')).toMatchObject({ destructive: true, rows: { people: 2 } });
    const r = reconcileStore(store, dir, { mode: 'adopt', now: () => new Date('2026-03-04T05:06:07.008Z') });
    expect(r.action, r.message).toBe('adopted');
    expect(query(file, 'SELECT * FROM owner ORDER BY id')).toEqual([{ id: 'p1', display_name: 'Ann' }, { id: 'p2', display_name: 'Bob' }]);
    expect(query(file, 'SELECT * FROM pet ORDER BY id')).toEqual([
      { id: 'd1', owner_id: 'p1', name: 'Rex' },
      { id: 'd2', owner_id: 'p1', name: 'Tom' },
      { id: 'd3', owner_id: 'p2', name: 'Kit' },
    ]);
    expect(query(r.backup!, 'SELECT fax FROM people ORDER BY id')).toEqual([{ fax: '555' }, { fax: null }]);
    expect(reconcileStore(store, dir, { mode: 'check' }).status).toBe('current');
  });

  it('a file holding both the old and the new column name is a conflict', () => {
    const dir = tmpDir();
    writeSql(path.join(dir, 'pets.db'), `${legacyFile}\nALTER TABLE people ADD COLUMN display_name TEXT;`);
    const r = reconcileStore(s(), dir, { mode: 'adopt' });
    expect(r).toMatchObject({ status: 'conflict', action: 'refused' });
    expect(r.message).toMatch(/owner\.nick and owner\.display_name/);
  });

  it('registry validation: a dropped column the oldest schema has, a rename into a missing column', () => {
    expect(() => createRegistry([{ name: 'x', file: 'x.db', version: 1, schema: v1, legacy: { dropColumns: [{ table: 'owner', column: 'display_name' }] } }])).toThrow(/adoption would drop a live column/);
    expect(() => createRegistry([{ name: 'x', file: 'x.db', version: 1, schema: v1, legacy: { renameColumns: [{ table: 'owner', from: 'a', to: 'nope' }] } }])).toThrow(/has no column nope/);
  });
});

describe('narrowing type changes', () => {
  it('a rebuild that changes a column from TEXT to INTEGER is marked and refused unless declared', () => {
    const def = (decl: string): StoreDefinition => ({
      name: 'n',
      file: 'n.db',
      version: 2,
      minVersion: 1,
      oldestSchema: 'CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT);',
      schema: 'CREATE TABLE t (id INTEGER PRIMARY KEY, code INTEGER);',
      migrations: [{ version: 2, name: '002-code-int.sql', sql: `${decl}-- stores:rebuild t\nCREATE TABLE t (id INTEGER PRIMARY KEY, code INTEGER);` }],
    });
    const dir = tmpDir();
    writeSql(path.join(dir, 'n.db'), "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT); INSERT INTO t VALUES (1, '42'), (2, 'x');", 1);
    const refused = reconcileStore(createRegistry([def('')]).stores[0]!, dir, { mode: 'up' });
    expect(refused.action).toBe('refused');
    expect(refused.message).toMatch(/changes the type of t\.code from TEXT to INTEGER without declaring it/);
    const declared = createRegistry([def('-- stores:destructive codes are numeric since 2.0\n')]).stores[0]!;
    const dry = reconcileStore(declared, dir, { mode: 'up', dryRun: true });
    expect(dry.plan![0]).toMatchObject({ destructive: true, rows: { t: 2 } });
    expect(reconcileStore(declared, dir, { mode: 'up', backup: false }).action).toBe('migrated');
    expect(query(path.join(dir, 'n.db'), 'SELECT id, code, typeof(code) AS ty FROM t ORDER BY id')).toEqual([
      { id: 1, code: 42, ty: 'integer' },
      { id: 2, code: 'x', ty: 'text' },
    ]);
  });
});

describe('rebuildTable from a JavaScript step', () => {
  it('rebuilds with a column mapping, children keep their rows, a trigger on the table comes back', async () => {
    const { rebuildTable } = await import('../src/engine/rebuild.js');
    const v1 = `CREATE TABLE account (id TEXT PRIMARY KEY, cents INTEGER NOT NULL);
CREATE TABLE entry (id INTEGER PRIMARY KEY, account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE, note TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);
CREATE TRIGGER account_audit AFTER UPDATE ON account BEGIN INSERT INTO audit (what) VALUES ('update ' || new.id); END;`;
    const v2 = `CREATE TABLE account (id TEXT PRIMARY KEY, balance REAL NOT NULL CHECK (balance >= 0));
CREATE TABLE entry (id INTEGER PRIMARY KEY, account_id TEXT NOT NULL REFERENCES account(id) ON DELETE CASCADE, note TEXT);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);
CREATE TRIGGER account_audit AFTER UPDATE ON account BEGIN INSERT INTO audit (what) VALUES ('update ' || new.id); END;`;
    const s = createRegistry([
      {
        name: 'ledger',
        file: 'ledger.db',
        version: 2,
        minVersion: 1,
        oldestSchema: v1,
        schema: v2,
        migrations: [
          {
            version: 2,
            name: '002-balance.mjs',
            // cents is dropped (its values move into balance): a column drop is declared.
            destructive: 'cents become balance, in currency units',
            run: (db) =>
              rebuildTable(db, {
                table: 'account',
                create: 'CREATE TABLE account (id TEXT PRIMARY KEY, balance REAL NOT NULL CHECK (balance >= 0))',
                map: { balance: 'cents / 100.0' },
              }),
          },
        ],
      },
    ]).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'ledger.db');
    writeSql(file, `${v1} INSERT INTO account VALUES ('a', 1250), ('b', 5); INSERT INTO entry (account_id, note) VALUES ('a', 'x'), ('a', 'y'), ('b', 'z');`, 1);
    const r = reconcileStore(s, dir, { mode: 'up', backup: false });
    expect(r.action, r.message).toBe('migrated');
    expect(query(file, 'SELECT * FROM account ORDER BY id')).toEqual([{ id: 'a', balance: 12.5 }, { id: 'b', balance: 0.05 }]);
    expect(query(file, 'SELECT count(*) AS n FROM entry')).toEqual([{ n: 3 }]);
    expect(query(file, "SELECT name FROM sqlite_schema WHERE type = 'trigger'")).toEqual([{ name: 'account_audit' }]);
  });
});
