/**
 * `stores verify` as a library call: the shipped registry is proven; broken histories are caught.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { reconcileStore } from '../src/engine/reconcile.js';
import { createRegistry } from '../src/api.js';
import type { Registry, StoreDefinition } from '../src/types.js';
import { inspect } from '../src/schema/inspect.js';
import { generateRows, verifyRegistry } from '../src/verify.js';
import { fingerprint, query, registry, storesFile, tmpDir, userVersion, writeSql } from './helpers.js';

let reg: Registry;
beforeAll(async () => {
  reg = await registry();
});

/** The shipped objects store, as a code definition, with some parts replaced. */
function objectsWith(change: Partial<StoreDefinition> & { m4?: string }): Registry {
  const o = reg.stores.find((s) => s.name === 'objects')!;
  const migrations = o.migrations.map((m) => (m.version === 4 && change.m4 !== undefined ? { ...m, sql: change.m4 } : m));
  return createRegistry([
    {
      name: 'objects',
      file: 'objects.db',
      version: 4,
      minVersion: 1,
      schema: o.schema,
      oldestSchema: o.oldestSchema,
      migrations,
      seed: o.seed ?? undefined,
      legacy: o.legacy,
      invariants: o.invariants,
      ...change,
    },
  ]);
}

describe('verifyRegistry', () => {
  it('proves the shipped registry: fresh, v1..v3 with rows, both legacy samples, the unstamped samples', () => {
    const result = verifyRegistry(reg);
    const names = result.stores.flatMap((s) => s.checks.map((c) => `${s.name}: ${c.name}: ${c.ok ? 'ok' : c.detail}`));
    expect(names).toEqual([
      'filestore: fresh file equals the baseline (v1): ok',
      'filestore: frozen v1 equals the baseline: ok',
      'filestore: legacy sample legacy/unstamped.sql adopts to the baseline: ok',
      'objects: fresh file equals the baseline (v4): ok',
      'objects: frozen v4 equals the baseline: ok',
      'objects: v1 (frozen) with rows migrates to the baseline: ok',
      'objects: v2 with rows migrates to the baseline: ok',
      'objects: v3 with rows migrates to the baseline: ok',
      'objects: legacy sample legacy/forge-era.sql adopts to the baseline: ok',
      'objects: legacy sample legacy/forge-memories.sql adopts to the baseline: ok',
      'sagas: fresh file equals the baseline (v1): ok',
      'sagas: frozen v1 equals the baseline: ok',
      'sagas: legacy sample legacy/unstamped.sql adopts to the baseline: ok',
    ]);
    expect(result.ok).toBe(true);
  });

  it('a baseline edited without a migration fails every upgrade path, with a readable difference', () => {
    const r = verifyRegistry(objectsWith({ schema: storesFile('objects/schema.sql') + '\nCREATE INDEX idx_extra ON db_client(version);' }));
    expect(r.ok).toBe(false);
    const failed = r.stores[0]!.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toContain('v1 with rows migrates to the baseline');
    expect(failed[0]!.detail).toMatch(/missing index idx_extra on db_client/);
  });

  it('a backfill that forgets rows breaks the invariant', () => {
    const m4 = storesFile('objects/migrations/004-agents-consolidation.sql').replace('FROM db_agent_definitions;', 'FROM db_agent_definitions WHERE 0;');
    const r = verifyRegistry(objectsWith({ m4 }));
    const v3 = r.stores[0]!.checks.find((c) => c.name === 'v3 with rows migrates to the baseline')!;
    expect(v3.ok).toBe(false);
    expect(v3.detail).toMatch(/every agent definition has its db_agents row/);
  });

  it('a migration that deletes rows without declaring it fails verify', () => {
    const m4 = storesFile('objects/migrations/004-agents-consolidation.sql') + "\nDELETE FROM db_drone_runs;";
    const r = verifyRegistry(objectsWith({ m4 }));
    const v1 = r.stores[0]!.checks.find((c) => c.name === 'v1 with rows migrates to the baseline')!;
    expect(v1.ok).toBe(false);
    expect(v1.detail).toMatch(/004-agents-consolidation\.sql deletes rows of db_drone_runs without declaring it/);
    // Declared, the deletion is intended and verify passes.
    expect(verifyRegistry(objectsWith({ m4: `-- stores:destructive drone runs are rebuilt from the queue\n${m4}` })).ok).toBe(true);
  });

  it('a migration that loses rows some other way (an UPDATE) is caught as changed rows', () => {
    const m4 = storesFile('objects/migrations/004-agents-consolidation.sql') + "\nUPDATE db_client SET data = '{}';";
    const r = verifyRegistry(objectsWith({ m4 }));
    const v1 = r.stores[0]!.checks.find((c) => c.name === 'v1 with rows migrates to the baseline')!;
    expect(v1.ok).toBe(false);
    expect(v1.detail).toMatch(/db_client: 3 of 3 rows lost or changed/);
  });

  it('failures inside verify never end with advice to run verify', () => {
    const edited = verifyRegistry(objectsWith({ schema: storesFile('objects/schema.sql') + '\nCREATE INDEX idx_extra ON db_client(version);' }));
    const undeclared = verifyRegistry(objectsWith({ m4: storesFile('objects/migrations/004-agents-consolidation.sql') + '\nDELETE FROM db_drone_runs;' }));
    const details = [edited, undeclared].flatMap((r) => r.stores[0]!.checks.filter((c) => !c.ok).map((c) => c.detail));
    expect(details.length).toBeGreaterThan(2);
    expect(details.some((d) => /the registry's steps do not produce its baseline/.test(d))).toBe(true);
    expect(details.some((d) => /without declaring it/.test(d))).toBe(true);
    for (const d of details) expect(d).not.toMatch(/stores verify/);
  });

  it('a legacy sample that no longer adopts (a rename removed) fails with the cause', () => {
    const o = reg.stores.find((s) => s.name === 'objects')!;
    const r = verifyRegistry(objectsWith({ legacy: { ...o.legacy, renames: o.legacy.renames.filter((x) => x.from !== 'db_identities') } }));
    const sample = r.stores[0]!.checks.find((c) => c.name.includes('forge-era'))!;
    expect(sample.ok).toBe(false);
    expect(sample.detail).toMatch(/conflict|foreign|db_identities/);
  });
});

/**
 * Wallets with sessions under ON DELETE CASCADE, and a v2 step that purges terminated wallets.
 * A step that leans on the cascade leaves sessions pointing at nothing, since no ON DELETE
 * action fires during a reconcile (foreign keys are off there).
 */
const WALLETS_V1 = `CREATE TABLE wallets (
  id     INTEGER PRIMARY KEY,
  owner  TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'TERMINATED'))
);
CREATE TABLE sessions (
  id        INTEGER PRIMARY KEY,
  wallet_id INTEGER NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
  token     TEXT NOT NULL UNIQUE
);
`;
const WALLETS_V2 = `${WALLETS_V1}CREATE INDEX idx_sessions_wallet ON sessions(wallet_id);\n`;
const PURGE_BY_CASCADE = `-- stores:destructive terminated wallets are purged
DELETE FROM wallets WHERE status = 'TERMINATED';
CREATE INDEX idx_sessions_wallet ON sessions(wallet_id);`;
const PURGE_CHILDREN_FIRST = `-- stores:destructive terminated wallets are purged, with their sessions
DELETE FROM sessions WHERE wallet_id IN (SELECT id FROM wallets WHERE status = 'TERMINATED');
DELETE FROM wallets WHERE status = 'TERMINATED';
CREATE INDEX idx_sessions_wallet ON sessions(wallet_id);`;

function walletsRegistry(step: string): Registry {
  return createRegistry([
    { name: 'pay', file: 'pay.db', version: 2, minVersion: 1, oldestSchema: WALLETS_V1, schema: WALLETS_V2, migrations: [{ version: 2, name: '002-purge-terminated.sql', sql: step }] },
  ]);
}

describe('frozen versions: each check says what it compares', () => {
  const v1 = 'CREATE TABLE t (id INTEGER PRIMARY KEY);';
  const m2 = 'ALTER TABLE t ADD COLUMN a TEXT;';
  const m3 = 'ALTER TABLE t ADD COLUMN b TEXT;';
  const v2 = 'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT);';
  const v3 = 'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);';
  const def = (over: Partial<StoreDefinition>): StoreDefinition => ({
    name: 't', file: 't.db', version: 3, minVersion: 1, oldestSchema: v1, schema: v3,
    migrations: [{ version: 2, name: '002-a.sql', sql: m2 }, { version: 3, name: '003-b.sql', sql: m3 }],
    frozen: { 1: v1, 2: v2, 3: v3 },
    ...over,
  });
  const names = (d: StoreDefinition) => verifyRegistry(createRegistry([d])).stores[0]!.checks.filter((c) => c.name.includes('frozen')).map((c) => `${c.name}: ${c.ok ? 'ok' : c.detail}`);

  it('the oldest schema read from frozen v1 is not compared with itself; later versions are compared with the migrations', () => {
    expect(names(def({}))).toEqual([
      'the oldest schema and the migrations up to v2 still produce frozen v2: ok',
      'frozen v3 equals the baseline: ok',
      'v1 (frozen) with rows migrates to the baseline: ok',
      'v2 (frozen) with rows migrates to the baseline: ok',
    ]);
  });

  it('an edited released migration, and an oldest schema that is not frozen v1, are named as such', () => {
    const r = names(def({ migrations: [{ version: 2, name: '002-a.sql', sql: 'ALTER TABLE t ADD COLUMN a INTEGER;' }, { version: 3, name: '003-b.sql', sql: m3 }], schema: 'CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT);', frozen: { 2: v2 } }));
    expect(r[0]).toMatch(/^the oldest schema and the migrations up to v2 still produce frozen v2: a migration up to this version was edited after it was released: add a new migration instead; compared with the frozen schema: .*column t\.a/);
    const r2 = names(def({ frozen: { 1: 'CREATE TABLE t (id INTEGER PRIMARY KEY, z TEXT);' } }));
    expect(r2[0]).toMatch(/^the oldest schema still equals frozen v1: the oldest schema was edited after v1 was frozen/);
  });
});

const CASCADE_ADVICE = /foreign-key actions are off during a reconcile.*no ON DELETE action fires.*must delete the sessions rows.*itself.*sessions\(wallet_id\) → wallets\(id\) ON DELETE CASCADE/;

describe('verify catches what production would: cascades', () => {
  it('a step that relies on ON DELETE CASCADE fails verify, saying foreign-key actions are off and the step must delete the children', () => {
    const r = verifyRegistry(walletsRegistry(PURGE_BY_CASCADE));
    expect(r.ok).toBe(false);
    const v1 = r.stores[0]!.checks.find((c) => c.name.startsWith('v1'))!;
    expect(v1.ok).toBe(false);
    expect(v1.detail).toMatch(/foreign_key_check finds/);
    expect(v1.detail).toMatch(CASCADE_ADVICE);
    expect(v1.detail).toMatch(/002-purge-terminated\.sql is the step that leaves them$/);
  });

  it('the corrected step (children deleted first) verifies', () => {
    const r = verifyRegistry(walletsRegistry(PURGE_CHILDREN_FIRST));
    expect(r.stores[0]!.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('a real file with a terminated wallet that has sessions is refused by up with the same advice, bytes unchanged', () => {
    const s = walletsRegistry(PURGE_BY_CASCADE).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'pay.db');
    writeSql(file, `${WALLETS_V1}INSERT INTO wallets VALUES (1, 'ann', 'ACTIVE'), (2, 'bob', 'TERMINATED');
      INSERT INTO sessions VALUES (10, 1, 'a'), (11, 2, 'b'), (12, 2, 'c');`, 1);
    const before = fingerprint(file);
    const r = reconcileStore(s, dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/foreign_key_check finds 2 rows pointing at nothing/);
    expect(r.message).toMatch(CASCADE_ADVICE);
    expect(fingerprint(file)).toEqual(before);
    expect(userVersion(file)).toBe(1);
    // The corrected step migrates the same file, its sessions gone with their wallet.
    const fixed = reconcileStore(walletsRegistry(PURGE_CHILDREN_FIRST).stores[0]!, dir, { mode: 'up' });
    expect(fixed.action, fixed.message).toBe('migrated');
    expect(query(file, 'SELECT id FROM sessions ORDER BY id')).toEqual([{ id: 10 }]);
  });

  it('each foreign key left dangling is named with what the step must do by hand: SET NULL, NO ACTION', () => {
    const v1 = `${WALLETS_V1}CREATE TABLE audit (id INTEGER PRIMARY KEY, wallet_id INTEGER REFERENCES wallets ON DELETE SET NULL);
      CREATE TABLE notes (id INTEGER PRIMARY KEY, w TEXT REFERENCES wallets(id));`;
    const s = createRegistry([{ name: 'pay', file: 'pay.db', version: 2, minVersion: 1, oldestSchema: v1, schema: v1, migrations: [{ version: 2, name: '002-purge.sql', sql: "-- stores:destructive purge\nDELETE FROM wallets WHERE status = 'TERMINATED';" }] }]).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'pay.db');
    writeSql(file, `${v1}INSERT INTO wallets VALUES (2, 'bob', 'TERMINATED'); INSERT INTO audit VALUES (1, 2); INSERT INTO notes VALUES (1, '2');`, 1);
    const before = fingerprint(file);
    const r = reconcileStore(s, dir, { mode: 'up' });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/audit rowid 1 → missing wallets row \(wallet_id = 2\)/);
    expect(r.message).toMatch(/notes rowid 1 → missing wallets row \(w = '2'\)/);
    expect(r.message).toMatch(/must set audit\.wallet_id to NULL in the rows that point at them itself \(audit\(wallet_id\) → wallets\(id\) ON DELETE SET NULL\)/);
    expect(r.message).toMatch(/must delete or repoint the notes rows that point at them itself \(notes\(w\) → wallets\(id\)\)/);
    expect(fingerprint(file)).toEqual(before);
  });
});

describe('generated rows', () => {
  function filled(schema: string): Database.Database {
    const db = new Database(':memory:');
    db.exec(schema);
    expect(generateRows(db, inspect(db))).toEqual([]);
    return db;
  }
  const all = (db: Database.Database, sql: string) => db.prepare(sql).all();

  it('use every value of every IN (…) list of the CHECK constraints', () => {
    const db = filled(`${WALLETS_V1}
      CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, prio INTEGER NOT NULL DEFAULT 1,
        CHECK (kind IN ('a', 'b', 'c', 'd', 'e') AND prio IN (1, 2, 3)), CONSTRAINT named CHECK (id <> kind));`);
    expect(all(db, 'SELECT DISTINCT status FROM wallets ORDER BY 1')).toEqual([{ status: 'ACTIVE' }, { status: 'SUSPENDED' }, { status: 'TERMINATED' }]);
    expect(all(db, 'SELECT DISTINCT kind FROM jobs ORDER BY 1').map((r) => (r as { kind: string }).kind)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(all(db, 'SELECT DISTINCT prio FROM jobs ORDER BY 1')).toEqual([{ prio: 1 }, { prio: 2 }, { prio: 3 }]);
    db.close();
  });

  it('give every parent row children in every child table: multi-column and self references, NOT NULL, UNIQUE and CHECK kept', () => {
    const db = filled(`${WALLETS_V1}
      CREATE TABLE tenants (id TEXT PRIMARY KEY CHECK (length(id) > 2));
      CREATE TABLE users (tenant_id TEXT NOT NULL REFERENCES tenants(id), id INTEGER NOT NULL CHECK (id > 0), PRIMARY KEY (tenant_id, id));
      CREATE TABLE profiles (tenant_id TEXT NOT NULL, user_id INTEGER NOT NULL, bio TEXT NOT NULL UNIQUE,
        FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE, UNIQUE (tenant_id, user_id));
      CREATE TABLE nodes (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES nodes(id) ON DELETE CASCADE, wallet_id INTEGER NOT NULL UNIQUE REFERENCES wallets(id));`);
    expect(all(db, 'SELECT * FROM pragma_foreign_key_check')).toEqual([]);
    const childless = (child: string, on: string, parent: string) => all(db, `SELECT * FROM ${parent} p WHERE NOT EXISTS (SELECT 1 FROM ${child} c WHERE ${on})`);
    expect(childless('sessions', 'c.wallet_id = p.id', 'wallets')).toEqual([]);
    expect(childless('users', 'c.tenant_id = p.id', 'tenants')).toEqual([]);
    expect(childless('profiles', 'c.tenant_id = p.tenant_id AND c.user_id = p.id', 'users')).toEqual([]);
    expect(childless('nodes', 'c.parent_id = p.id', 'nodes')).toEqual([]);
    expect(childless('nodes', 'c.wallet_id = p.id', 'wallets')).toEqual([]);
    db.close();
  });
});
