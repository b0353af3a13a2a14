/**
 * Foreign history (`legacy.history`): files another migration tool kept are adopted at the version
 * their bookkeeping records, or refused with the tool, the table and the entry named, bytes untouched.
 * Real files in temporary directories; the registry read from disk (store.json) as a user writes it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRegistry, loadRegistry } from '../src/api.js';
import { RegistryError } from '../src/errors.js';
import { reconcileStore } from '../src/engine/reconcile.js';
import type { Store, StoreDefinition } from '../src/types.js';
import { cli, fingerprint, query, tmpDir, userVersion, writeSql } from './helpers.js';

// The daemon of the seeds: three versions, and a `schema_version` table recording every version applied.
const V1 = 'CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL);';
const M2 = "ALTER TABLE jobs ADD COLUMN state TEXT NOT NULL DEFAULT 'new';";
const M3 = 'CREATE TABLE runs (id INTEGER PRIMARY KEY, job_id INTEGER NOT NULL REFERENCES jobs(id), at TEXT);\nCREATE INDEX runs_job ON runs(job_id);';
const V2 = `${V1}\n${M2}`;
const V3 = `CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'new');\n${M3}`;
const SCHEMA_VERSION = 'CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);';

/** Writes a registry folder with one store `daemon` (v1 … v3) and the given store.json extras. */
function daemonRegistry(extra: Record<string, unknown>, opts: { minVersion?: number } = {}): string {
  const root = path.join(tmpDir('stores-history-'), 'stores');
  const dir = path.join(root, 'daemon');
  fs.mkdirSync(path.join(dir, 'migrations'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'versions'), { recursive: true });
  const min = opts.minVersion ?? 1;
  fs.writeFileSync(path.join(dir, 'store.json'), JSON.stringify({ file: 'daemon.db', version: 3, minVersion: min, ...extra }, null, 2));
  fs.writeFileSync(path.join(dir, 'schema.sql'), V3);
  fs.writeFileSync(path.join(dir, 'versions', `00${min}.sql`), min === 1 ? V1 : V2);
  if (min < 2) fs.writeFileSync(path.join(dir, 'migrations', '002-job-state.sql'), M2);
  fs.writeFileSync(path.join(dir, 'migrations', '003-runs.sql'), M3);
  return root;
}

async function daemon(extra: Record<string, unknown>, opts: { minVersion?: number } = {}): Promise<{ root: string; store: Store }> {
  const root = daemonRegistry(extra, opts);
  const reg = await loadRegistry(root);
  return { root, store: reg.stores[0]! };
}

const CUSTOM = { legacy: { history: [{ table: 'schema_version', version: 'SELECT max(version) FROM schema_version' }] } };

/** The daemon's file at version `v` by its own history, with rows. */
function daemonFile(dir: string, v: number, versions: number[] = Array.from({ length: v }, (_, i) => i + 1)): string {
  const file = path.join(dir, 'daemon.db');
  const schema = v === 1 ? V1 : v === 2 ? V2 : V3;
  const rows = v === 1 ? "INSERT INTO jobs VALUES (1, 'backup'), (2, 'index');" : "INSERT INTO jobs VALUES (1, 'backup', 'done'), (2, 'index', 'new');";
  writeSql(file, `${schema}\n${SCHEMA_VERSION}\n${versions.map((n) => `INSERT INTO schema_version VALUES (${n}, '2026-0${n}-01');`).join('\n')}\n${rows}`);
  return file;
}

function up(store: Store, dir: string) {
  return reconcileStore(store, dir, { mode: 'up' });
}

describe('legacy.history: adoption at the version recorded', () => {
  it("adopts the daemon's schema_version file at an intermediate version, migrates it and keeps every row", async () => {
    const { store } = await daemon(CUSTOM);
    const dir = tmpDir();
    const file = daemonFile(dir, 2);
    const check = reconcileStore(store, dir, { mode: 'check' });
    expect(check.status).toBe('legacy');
    expect(check.message).toContain('schema_version');
    const r = up(store, dir);
    expect(r.action).toBe('adopted');
    expect(r.backup).not.toBeNull();
    expect(userVersion(file)).toBe(3);
    expect(query(file, "SELECT name FROM sqlite_schema WHERE name = 'schema_version'")).toEqual([]);
    expect(query(file, 'SELECT id, name, state FROM jobs ORDER BY id')).toEqual([
      { id: 1, name: 'backup', state: 'done' },
      { id: 2, name: 'index', state: 'new' },
    ]);
    expect(query(file, "SELECT name FROM sqlite_schema WHERE name IN ('runs', 'runs_job') ORDER BY name").length).toBe(2);
    // The backup holds the bookkeeping as it was.
    expect(query(r.backup!, 'SELECT version FROM schema_version ORDER BY version')).toEqual([{ version: 1 }, { version: 2 }]);
    expect(reconcileStore(store, dir, { mode: 'check' }).status).toBe('current');
  });

  it('adopts a file at the oldest version and one at the target (bookkeeping dropped, nothing else to run)', async () => {
    const { store } = await daemon(CUSTOM);
    for (const v of [1, 3]) {
      const dir = tmpDir();
      const file = daemonFile(dir, v);
      expect(up(store, dir).action).toBe('adopted');
      expect(userVersion(file)).toBe(3);
      expect(query(file, 'SELECT count(*) AS n FROM jobs')).toEqual([{ n: 2 }]);
    }
  });

  it('maps the tool identifiers through `map`, and the dry run names the bookkeeping drop', async () => {
    const { root } = await daemon({ legacy: { history: [{ table: 'schema_version', version: 'SELECT max(version) FROM schema_version', map: { '10': 1, '20': 2, '30': 3 } }] } });
    const dir = tmpDir();
    const file = daemonFile(dir, 2, [10, 20]);
    const before = fingerprint(file);
    const dry = cli(['up', dir, '--stores', root, '--dry-run', '--json']);
    expect(dry.code).toBe(3);
    const entry = JSON.parse(dry.stdout).dirs[0].stores[0];
    expect(entry.status).toBe('legacy');
    expect(entry.plan.map((s: { kind: string; sql: string }) => s.sql)).toContain('DROP TABLE "schema_version"');
    expect(entry.plan.some((s: { sql: string }) => s.sql.includes('CREATE TABLE runs'))).toBe(true);
    expect(entry.plan.some((s: { sql: string }) => s.sql.includes('ADD COLUMN state'))).toBe(false);
    expect(fingerprint(file)).toEqual(before);
    const r = cli(['up', dir, '--stores', root, '--json']);
    expect(r.code).toBe(0);
    expect(userVersion(file)).toBe(3);
  });
});

describe('legacy.history: the CLI', () => {
  it('`adopt` adopts a history file; `diff` compares a drifted one with the version its history names', async () => {
    const { root } = await daemon(CUSTOM);
    const dir = tmpDir();
    const file = daemonFile(dir, 2);
    const adopt = cli(['adopt', dir, '--stores', root, '--json']);
    expect(adopt.code).toBe(0);
    expect(JSON.parse(adopt.stdout).dirs[0].stores[0]).toMatchObject({ status: 'legacy', action: 'adopted', to: 3 });
    expect(userVersion(file)).toBe(3);
    const bad = tmpDir();
    const drifted = daemonFile(bad, 1, [1, 2]);
    const d = cli(['diff', drifted, '--stores', root]);
    expect(d.code).toBe(3);
    expect(d.stdout).toContain('compared with v2:');
    expect(d.stdout).toContain('- missing column jobs.state');
    expect(d.stdout).toContain('= ignored table schema_version (custom history');
  });
});

describe('legacy.history: refusals name the tool, the table and the entry, and leave the bytes', () => {
  async function refused(extra: Record<string, unknown>, make: (dir: string) => string, opts: { minVersion?: number } = {}) {
    const { store } = await daemon(extra, opts);
    const dir = tmpDir();
    const file = make(dir);
    const before = fingerprint(file);
    const r = up(store, dir);
    expect(r.action).toBe('refused');
    expect(fingerprint(file)).toEqual(before);
    return r;
  }

  it('too-new: the history records a version beyond the target', async () => {
    const r = await refused(CUSTOM, (dir) => {
      const file = daemonFile(dir, 3);
      writeSql(file, "INSERT INTO schema_version VALUES (4, '2026-04-01');");
      return file;
    });
    expect(r.status).toBe('too-new');
    expect(r.message).toMatch(/custom history \(table schema_version, entry "4"\) says v4/);
  });

  it('too-old: the history records a version below minVersion', async () => {
    const r = await refused(CUSTOM, (dir) => daemonFile(dir, 1), { minVersion: 2 });
    expect(r.status).toBe('too-old');
    expect(r.message).toContain('schema_version');
    expect(r.message).toContain('v1');
  });

  it("drift: the schema is not the recorded version's, with the difference", async () => {
    const r = await refused(CUSTOM, (dir) => daemonFile(dir, 1, [1, 2]));
    expect(r.status).toBe('drift');
    expect(r.message).toContain("is not v2's");
    expect(r.message).toContain('missing column jobs.state');
    expect(r.message).toContain('table schema_version');
  });

  it('drift: two histories disagree', async () => {
    const extra = { legacy: { history: [CUSTOM.legacy.history[0], { table: 'app_meta', version: "SELECT value FROM app_meta WHERE key = 'schema'" }] } };
    const r = await refused(extra, (dir) => {
      const file = daemonFile(dir, 2);
      writeSql(file, "CREATE TABLE app_meta (key TEXT PRIMARY KEY, value INTEGER); INSERT INTO app_meta VALUES ('schema', 1);");
      return file;
    });
    expect(r.status).toBe('drift');
    expect(r.message).toContain('two histories disagree');
    expect(r.message).toContain('table schema_version');
    expect(r.message).toContain('table app_meta');
  });

  // knex's tables as knex's own table-creator.js makes them (see src/engine/history-presets.ts).
  const KNEX = `CREATE TABLE knex_migrations (id integer not null primary key autoincrement, name varchar(255), batch integer, migration_time datetime);
CREATE TABLE knex_migrations_lock (\`index\` integer not null primary key autoincrement, is_locked integer);`;
  function knexFile(dir: string, names: string[], locked = 0): string {
    const file = path.join(dir, 'daemon.db');
    writeSql(file, `${V2}\n${KNEX}\nINSERT INTO knex_migrations_lock (is_locked) VALUES (${locked});\n${names.map((n) => `INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('${n}', 1, 0);`).join('\n')}\nINSERT INTO jobs VALUES (1, 'backup', 'done');`);
    return file;
  }

  it('drift: a migration the map does not know', async () => {
    const r = await refused({ legacy: { history: [{ tool: 'knex', map: { '001_jobs.js': 1, '002_state.js': 2 } }] } }, (dir) => knexFile(dir, ['001_jobs.js', '002_state.js', '002b_hotfix.js']));
    expect(r.status).toBe('drift');
    expect(r.message).toContain('knex history (table knex_migrations)');
    expect(r.message).toContain('"002b_hotfix.js"');
  });

  it('locked: the tool holds its lock', async () => {
    const r = await refused({ legacy: { history: [{ tool: 'knex' }] } }, (dir) => knexFile(dir, ['001_jobs.js', '002_state.js'], 1));
    expect(r.status).toBe('locked');
    expect(r.message).toContain('knex_migrations_lock');
  });

  it('drift: a dirty migration (golang-migrate, its documented table)', async () => {
    // golang-migrate database/sqlite3/sqlite3.go ensureVersionTable: (version uint64, dirty bool) + a unique index.
    const r = await refused({ legacy: { history: [{ tool: 'golang-migrate' }] } }, (dir) => {
      const file = path.join(dir, 'daemon.db');
      writeSql(file, `${V2}\nCREATE TABLE schema_migrations (version uint64, dirty bool);\nCREATE UNIQUE INDEX version_unique ON schema_migrations (version);\nINSERT INTO schema_migrations VALUES (2, 1);`);
      return file;
    });
    expect(r.status).toBe('drift');
    expect(r.message).toContain('golang-migrate');
    expect(r.message).toContain('schema_migrations');
  });

  it('knex without a map is at the number of applied migrations, lock table and all dropped', async () => {
    const { store } = await daemon({ legacy: { history: [{ tool: 'knex' }] } });
    const dir = tmpDir();
    const file = knexFile(dir, ['001_jobs.js', '002_state.js']);
    const r = up(store, dir);
    expect(r.action).toBe('adopted');
    expect(userVersion(file)).toBe(3);
    expect(query(file, "SELECT name FROM sqlite_schema WHERE name LIKE 'knex%'")).toEqual([]);
    expect(query(file, 'SELECT name, state FROM jobs')).toEqual([{ name: 'backup', state: 'done' }]);
  });

  it('foreign: a file kept by a tool the store does not declare, and the message says legacy.history would adopt it', async () => {
    const { store } = await daemon({});
    const dir = tmpDir();
    const file = knexFile(dir, ['001_jobs.js', '002_state.js']);
    const before = fingerprint(file);
    const r = up(store, dir);
    expect(r.status).toBe('foreign');
    expect(r.message).toContain('legacy.history');
    expect(r.message).toContain('{"tool": "knex"}');
    expect(fingerprint(file)).toEqual(before);
  });
});

describe('legacy.history: registry checks', () => {
  const base: StoreDefinition = { name: 'daemon', file: 'daemon.db', version: 1, schema: V1 };
  const problems = (def: Partial<StoreDefinition>) => {
    try {
      createRegistry([{ ...base, ...def }]);
      return [];
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      return err.problems.map((p) => p.message);
    }
  };

  it('refuses a custom query that is not one read', () => {
    expect(problems({ legacy: { history: [{ table: 'schema_version', version: 'DELETE FROM schema_version' }] } }).join('\n')).toContain('legacy.history[0]: version must be one read-only query');
    expect(problems({ legacy: { history: [{ table: 'schema_version', version: 'SELECT 1; SELECT 2' }] } }).join('\n')).toContain('legacy.history[0]');
    expect(problems({ legacy: { history: [{ table: 'schema_version', version: 'WITH x AS (SELECT 1) DELETE FROM schema_version' }] } }).join('\n')).toContain('legacy.history[0]');
    expect(problems({ legacy: { history: [{ table: 'schema_version', version: "SELECT max(version) FROM schema_version WHERE note <> 'delete'" }] } })).toEqual([]);
  });

  it('refuses a history table that is a table of the store', () => {
    expect(problems({ legacy: { history: [{ table: 'jobs', version: 'SELECT 1' }] } }).join('\n')).toContain('keeps its bookkeeping in table jobs');
  });

  it('refuses an unknown tool in store.json, with the allowed ones', async () => {
    const root = daemonRegistry({ legacy: { history: [{ tool: 'liquibase' }] } });
    await expect(loadRegistry(root)).rejects.toThrow(/legacy\.history\[0\]/);
  });
});
