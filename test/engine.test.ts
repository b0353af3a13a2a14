/**
 * Every status of a store file through check, up, adopt and --dry-run, on real files.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { decide, readyForWrite, reconcileStore } from '../src/engine/reconcile.js';
import { lookAt } from '../src/engine/look.js';
import { createRegistry } from '../src/api.js';
import type { Registry, Store } from '../src/types.js';
import { OBJECTS_ROWS_V1, ROOT, fingerprint, query, registry, store, storesFile, tmpDir, userVersion, writeAt, writeSql } from './helpers.js';

let reg: Registry;
let objects: Store;
let sagas: Store;
beforeAll(async () => {
  reg = await registry();
  objects = store(reg, 'objects');
  sagas = store(reg, 'sagas');
});

const check = (s: Store, dir: string) => reconcileStore(s, dir, { mode: 'check' });
const up = (s: Store, dir: string, extra: Record<string, unknown> = {}) => reconcileStore(s, dir, { mode: 'up', ...extra });
const adopt = (s: Store, dir: string, extra: Record<string, unknown> = {}) => reconcileStore(s, dir, { mode: 'adopt', ...extra });

function tableNames(file: string): string[] {
  return query<{ name: string }>(file, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").map((r) => r.name);
}

describe('missing and empty', () => {
  it('missing: check reports it without creating anything; up creates it at the target', () => {
    const dir = tmpDir();
    const r = check(objects, dir);
    expect(r).toMatchObject({ status: 'missing', version: null, target: 4 });
    expect(fs.existsSync(path.join(dir, 'objects.db'))).toBe(false);
    const u = up(objects, dir);
    expect(u).toMatchObject({ status: 'missing', action: 'created', to: 4 });
    const file = path.join(dir, 'objects.db');
    expect(userVersion(file)).toBe(4);
    expect(query(file, "SELECT id FROM db_memory_bundles WHERE is_blank = 1")).toEqual([{ id: 'blank' }]);
    expect(check(objects, dir).status).toBe('current');
    expect(up(objects, dir).action).toBe('unchanged');
    // No temporary file is left beside it (the file is born in WAL mode: this test's read-only
    // reads leave the -shm a read-only connection cannot remove).
    expect(fs.readdirSync(dir).filter((n) => n !== 'objects.db-shm')).toEqual(['objects.db']);
  });

  it('up creates the data dir when absent', () => {
    const dir = path.join(tmpDir(), 'a', 'b');
    expect(up(sagas, dir).action).toBe('created');
    expect(userVersion(path.join(dir, 'sagas.db'))).toBe(1);
  });

  it('a zero-byte file and a file with no tables are empty and get initialized', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'sagas.db'), '');
    expect(check(sagas, dir).status).toBe('empty');
    expect(up(sagas, dir)).toMatchObject({ status: 'empty', action: 'initialized', to: 1 });
    expect(check(sagas, dir).status).toBe('current');

    const dir2 = tmpDir();
    writeSql(path.join(dir2, 'sagas.db'), 'CREATE TABLE t(x); DROP TABLE t;');
    expect(check(sagas, dir2).status).toBe('empty');
    expect(up(sagas, dir2).action).toBe('initialized');
  });
});

describe('WAL-mode files (read under an exclusive lock when nobody holds them)', () => {
  const walAt = (dir: string, v: number) => {
    const file = path.join(dir, 'objects.db');
    writeAt(objects, file, v, OBJECTS_ROWS_V1);
    const w = new Database(file);
    w.pragma('journal_mode = WAL');
    w.close();
    return file;
  };
  // Read-write, so that reading a WAL file leaves no companions (a read-only connection would).
  const read = <T,>(file: string, sql: string): T[] => {
    const d = new Database(file, { fileMustExist: true });
    try {
      return d.prepare(sql).all() as T[];
    } finally {
      d.close();
    }
  };

  it('check and a no-op up read a WAL file and leave no -wal/-shm behind, the bytes as they were', () => {
    const dir = tmpDir();
    const file = walAt(dir, 4);
    const before = fingerprint(file);
    expect(check(objects, dir).status).toBe('current');
    expect(up(objects, dir).action).toBe('unchanged');
    expect(fs.readdirSync(dir)).toEqual(['objects.db']);
    expect(fingerprint(file)).toEqual(before);
  });

  it('a WAL file another connection holds is read the ordinary way: no waiting, no error, the holder goes on', () => {
    const dir = tmpDir();
    const file = walAt(dir, 4);
    const host = new Database(file, { timeout: 0 });
    host.prepare('SELECT count(*) FROM db_client').get(); // the host's connection now holds its shared lock
    try {
      const t0 = Date.now();
      expect(check(objects, dir).status).toBe('current');
      expect(up(objects, dir).action).toBe('unchanged');
      expect(Date.now() - t0).toBeLessThan(2000); // busy_timeout is 5 s: the fallback did not wait
      // The host, with no busy timeout at all, still reads and writes.
      host.exec("INSERT INTO db_client VALUES ('after-check', 1, 'x')");
      expect(host.prepare('SELECT count(*) AS n FROM db_client WHERE oid = ?').get('after-check')).toEqual({ n: 1 });
    } finally {
      host.close();
    }
  });

  it('a behind WAL file is migrated on the look\'s connection, stays WAL, keeps its rows, leaves no companions', () => {
    const dir = tmpDir();
    const file = walAt(dir, 2);
    const defs = read(file, 'SELECT id, slug FROM db_agent_definitions ORDER BY id');
    expect(defs.length).toBeGreaterThan(0);
    expect(up(objects, dir)).toMatchObject({ status: 'behind', action: 'migrated', from: 2, to: 4 });
    expect(fs.readdirSync(dir)).toEqual(['objects.db']);
    expect(read(file, 'PRAGMA user_version')).toEqual([{ user_version: 4 }]);
    expect(read(file, 'SELECT id, slug FROM db_agent_definitions ORDER BY id')).toEqual(defs);
    expect(read(file, 'SELECT count(*) AS n FROM db_agents')).toEqual([{ n: defs.length }]);
    expect(read(file, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(check(objects, dir).status).toBe('current');
  });

  it('a legacy WAL file whose dead tables hold rows is backed up, then adopted (the backup reads through its own connection)', () => {
    // Regression: the look's exclusive lock kept the backup's connection out (SQLITE_BUSY).
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeSql(file, storesFile('objects/legacy/forge-era.sql'));
    const w = new Database(file);
    w.pragma('journal_mode = WAL');
    w.close();
    const deadRuns = read(file, 'SELECT * FROM db_workflow_runs');
    expect(deadRuns.length).toBeGreaterThan(0);
    const r = up(objects, dir, { now: () => new Date('2026-01-02T03:04:05.678Z') });
    expect(r).toMatchObject({ status: 'legacy', action: 'adopted', from: 0, to: 4 });
    expect(r.backup).toBe(`${file}.backup-20260102T030405678Z`);
    expect(read(r.backup!, 'SELECT * FROM db_workflow_runs')).toEqual(deadRuns);
    expect(read(file, 'PRAGMA user_version')).toEqual([{ user_version: 4 }]);
    expect(fs.readdirSync(dir).sort()).toEqual(['objects.db', 'objects.db.backup-20260102T030405678Z']);
  });

  it('two processes upgrading the same behind rollback-journal and WAL files: each migrates once, neither fails', async () => {
    const dirs = [tmpDir(), tmpDir()];
    writeAt(objects, path.join(dirs[0]!, 'objects.db'), 1, OBJECTS_ROWS_V1);
    walAt(dirs[1]!, 1);
    const cliPath = path.join(ROOT, 'dist', 'bundle', 'main.js');
    const { spawn } = await import('node:child_process');
    const run = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, [cliPath, 'up', ...dirs, '--json', '--concurrency', '1']);
        let out = '';
        p.stdout.on('data', (c) => (out += c));
        p.on('close', (code) => resolve({ code, out }));
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const actions = [a, b].flatMap((r) => (JSON.parse(r.out) as { dirs: { stores: { name: string; action: string }[] }[] }).dirs.map((d) => d.stores.find((s) => s.name === 'objects')!.action));
    expect(actions.filter((x) => x === 'migrated')).toHaveLength(2);
    for (const d of dirs) expect(userVersion(path.join(d, 'objects.db'))).toBe(4);
  });
});

describe('behind: every migration path keeps every row', () => {
  for (const v of [1, 2, 3]) {
    it(`v${v} → v4 runs the migrations after v${v}, backfills db_agents, keeps rows`, () => {
      const dir = tmpDir();
      const file = path.join(dir, 'objects.db');
      writeAt(objects, file, v, OBJECTS_ROWS_V1);
      const before = query(file, 'SELECT id, slug, name, provider, description, created_at FROM db_agent_definitions ORDER BY id');
      const counts = (f: string) =>
        Object.fromEntries(
          ['db_client', 'db_agent_definitions', 'db_agent_content', 'db_agent_skills', 'db_agent_history', 'db_identity_bundles', 'db_agent_identity_links', 'db_drone_definitions', 'db_drone_runs'].map((t) => [t, query<{ n: number }>(f, `SELECT count(*) AS n FROM ${t}`)[0]!.n]),
        );
      const countsBefore = counts(file);
      expect(check(objects, dir)).toMatchObject({ status: 'behind', version: v });
      const r = up(objects, dir);
      expect(r).toMatchObject({ status: 'behind', action: 'migrated', from: v, to: 4 });
      expect(userVersion(file)).toBe(4);
      expect(counts(file)).toEqual(countsBefore);
      expect(query(file, 'SELECT id, slug, name, provider, description, created_at FROM db_agent_definitions ORDER BY id')).toEqual(before);
      // The v4 backfill: every definition has its agent row.
      expect(query(file, 'SELECT id, definition_id, slug, name, provider FROM db_agents ORDER BY id')).toEqual([
        { id: 'a1', definition_id: 'a1', slug: 'coder', name: 'Coder', provider: 'anthropic' },
        { id: 'a2', definition_id: 'a2', slug: 'rev', name: 'Reviewer', provider: 'openai' },
      ]);
      expect(query(file, "SELECT count(*) AS n FROM db_memory_bundles")[0]).toEqual({ n: 2 });
      expect(check(objects, dir).status).toBe('current');
    });
  }

  it('a v1 file written with other spacing (not a known listing) is compared by meaning: behind, and migrated', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeSql(file, storesFile('objects/versions/001.sql').replace(/ {2,}/g, ' '), 1);
    expect(check(objects, dir)).toMatchObject({ status: 'behind', version: 1 });
    expect(up(objects, dir)).toMatchObject({ action: 'migrated', from: 1, to: 4 });
    expect(check(objects, dir).status).toBe('current');
  });

  it('a v3 file whose rows already carry updated_at/user_hidden keeps them through the backfill', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(objects, file, 3, `INSERT INTO db_agent_definitions (id, name, provider, updated_at, user_hidden) VALUES ('x', 'X', 'p', 99, 1);`);
    up(objects, dir);
    expect(query(file, 'SELECT updated_at, user_hidden FROM db_agents')).toEqual([{ updated_at: 99, user_hidden: 1 }]);
  });
});

describe('legacy adoption', () => {
  function legacyDir(sample: string): { dir: string; file: string } {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeSql(file, storesFile(sample));
    return { dir, file };
  }

  it('forge era: renames (keeping every row), drops leftover indexes and dead tables after a backup, completes v1, migrates to v4', () => {
    const { dir, file } = legacyDir('objects/legacy/forge-era.sql');
    const agents = query(file, 'SELECT * FROM db_forge_agents ORDER BY id');
    const history = query(file, 'SELECT * FROM db_forge_history ORDER BY id');
    const deadRuns = query(file, 'SELECT * FROM db_workflow_runs');
    expect(check(objects, dir)).toMatchObject({ status: 'legacy', version: 0 });
    const r = adopt(objects, dir, { now: () => new Date('2026-01-02T03:04:05.678Z') });
    expect(r).toMatchObject({ status: 'legacy', action: 'adopted', from: 0, to: 4 });
    expect(userVersion(file)).toBe(4);
    expect(check(objects, dir).status).toBe('current');
    expect(query(file, 'SELECT id, slug, name, provider, description, created_at FROM db_agent_definitions ORDER BY id')).toEqual(agents);
    expect(query(file, 'SELECT * FROM db_agent_history ORDER BY id')).toEqual(history);
    expect(query(file, 'SELECT count(*) AS n FROM db_agents')[0]).toEqual({ n: agents.length });
    const names = tableNames(file);
    for (const dead of ['db_workflow_runs', 'db_workflow_definitions', 'db_v10_migrated_legacy_defs', 'db_v10_migrated_legacy_runs']) expect(names).not.toContain(dead);
    for (const old of ['db_forge_agents', 'db_memories', 'db_identities']) expect(names).not.toContain(old);
    const indexes = query<{ name: string }>(file, "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL").map((x) => x.name);
    expect(indexes).not.toContain('idx_forge_agents_slug');
    expect(indexes).toContain('idx_agent_definitions_slug');
    // Foreign keys follow the renamed tables.
    expect(query(file, "SELECT \"table\" AS t FROM pragma_foreign_key_list('db_agent_content')")).toEqual([{ t: 'db_agent_definitions' }]);
    // The backup holds the dead rows, is named so it is never a store, and is reported.
    expect(r.backup).toBe(`${file}.backup-20260102T030405678Z`);
    expect(query(r.backup!, 'SELECT * FROM db_workflow_runs')).toEqual(deadRuns);
    expect(userVersion(r.backup!)).toBe(0);
    expect(fs.statSync(r.backup!).mode & 0o777).toBe(fs.statSync(file).mode & 0o777);
  });

  it('older variant: db_forge_memories → db_memories → db_memory_bundles in one pass; missing drone tables created', () => {
    const { dir, file } = legacyDir('objects/legacy/forge-memories.sql');
    const memories = query(file, 'SELECT * FROM db_forge_memories ORDER BY id');
    expect(check(objects, dir).status).toBe('legacy');
    expect(up(objects, dir).action).toBe('adopted');
    const now = query(file, 'SELECT * FROM db_memory_bundles ORDER BY id');
    expect(now).toEqual([...memories, { id: 'blank', name: '', instructions: '', is_blank: 1 }].sort((a, b) => String(a.id).localeCompare(String(b.id))));
    expect(tableNames(file)).toContain('db_drone_runs');
    expect(check(objects, dir).status).toBe('current');
  });

  it('a legacy file lacking some tables gets them created', () => {
    const dir = tmpDir();
    writeSql(path.join(dir, 'objects.db'), "CREATE TABLE db_client (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL); INSERT INTO db_client VALUES ('c', 1, 'x');");
    expect(check(objects, dir).status).toBe('legacy');
    expect(up(objects, dir).action).toBe('adopted');
    expect(query(path.join(dir, 'objects.db'), 'SELECT * FROM db_client')).toEqual([{ oid: 'c', version: 1, data: 'x' }]);
  });

  it('--no-backup skips the backup', () => {
    const { dir } = legacyDir('objects/legacy/forge-era.sql');
    const r = up(objects, dir, { backup: false });
    expect(r.action).toBe('adopted');
    expect(r.backup).toBeNull();
    expect(fs.readdirSync(dir)).toEqual(['objects.db']);
  });

  it('no backup when the dead tables are empty', () => {
    const { dir } = legacyDir('objects/legacy/forge-era.sql');
    const db = new Database(path.join(dir, 'objects.db'));
    db.exec('DELETE FROM db_workflow_runs; DELETE FROM db_workflow_definitions; DELETE FROM db_v10_migrated_legacy_defs;');
    db.close();
    expect(up(objects, dir).backup).toBeNull();
  });

  it('filestore and sagas legacy files (same tables, never stamped) are adopted to v1 with their rows', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'sagas.db');
    writeSql(file, storesFile('sagas/legacy/unstamped.sql'));
    const steps = query(file, 'SELECT * FROM saga_step ORDER BY saga_id, idx');
    expect(check(sagas, dir).status).toBe('legacy');
    expect(adopt(sagas, dir)).toMatchObject({ action: 'adopted', to: 1 });
    expect(query(file, 'SELECT * FROM saga_step ORDER BY saga_id, idx')).toEqual(steps);
  });
});

describe('refusals leave every byte as it was', () => {
  function refusedCase(name: string, make: (file: string) => void, status: string, s = () => objects) {
    it(`${status}: ${name}`, () => {
      const dir = tmpDir();
      const file = path.join(dir, s().file);
      make(file);
      const before = fingerprint(file);
      expect(check(s(), dir).status).toBe(status);
      const r = up(s(), dir);
      expect(r).toMatchObject({ status, action: 'refused' });
      expect(r.message).toContain(s().file);
      expect(adopt(s(), dir).action).toBe('refused');
      expect(reconcileStore(s(), dir, { mode: 'up', dryRun: true }).action).toBe('refused');
      expect(fingerprint(file)).toEqual(before);
      expect(fs.readdirSync(dir).sort()).toEqual([s().file]);
    });
  }
  refusedCase('user_version above the target (the tripwire)', (f) => writeAt(objects, f, 4, "INSERT INTO db_client VALUES ('x', 1, 'y')") || bump(f, 5), 'too-new');
  refusedCase('a huge user_version', (f) => writeSql(f, 'CREATE TABLE t(x)', 2147483647), 'too-new');
  refusedCase('a WAL-mode too-new file', (f) => {
    writeAt(objects, f, 4);
    const db = new Database(f);
    db.pragma('journal_mode = WAL');
    db.pragma('user_version = 9');
    db.close();
  }, 'too-new');
  refusedCase('user_version between 0 and minVersion', (f) => writeSql(f, storesFile('sagas/schema.sql'), 1), 'too-old', () => tooOldStore());
  refusedCase('a current version whose schema differs (extra column, dropped index)', (f) => {
    writeAt(objects, f, 4);
    const db = new Database(f);
    db.exec('DROP INDEX idx_agents_definition; ALTER TABLE db_client ADD COLUMN extra TEXT;');
    db.close();
  }, 'drift');
  refusedCase('an older version whose schema differs from that version\'s (v2 with v3\'s column)', (f) => {
    writeAt(objects, f, 2);
    const db = new Database(f);
    db.exec('ALTER TABLE db_agent_definitions ADD COLUMN user_hidden INTEGER NOT NULL DEFAULT 0');
    db.close();
  }, 'drift');
  refusedCase('legacy file holding an old table and its replacement', (f) => {
    writeSql(f, storesFile('objects/legacy/forge-era.sql') + 'CREATE TABLE db_agent_definitions (id TEXT PRIMARY KEY);');
  }, 'conflict');
  refusedCase('user_version 0 with tables of another program', (f) => writeSql(f, 'CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);'), 'foreign');
  refusedCase('a negative user_version', (f) => writeSql(f, 'CREATE TABLE t(x)', -3), 'foreign');
  refusedCase('a text file', (f) => fs.writeFileSync(f, 'this is not a database\n'.repeat(20)), 'corrupt');
  refusedCase('random bytes after a valid header', (f) => {
    writeAt(objects, f, 4);
    const buf = fs.readFileSync(f);
    for (let i = 100; i < buf.length; i++) buf[i] = (i * 7919) % 251;
    fs.writeFileSync(f, buf);
  }, 'corrupt');
  refusedCase('a truncated database', (f) => {
    writeAt(objects, f, 4, OBJECTS_ROWS_V1.replace(/INSERT INTO db_agent_definitions[^;]*;/, '').replace(/INSERT INTO db_agent_(content|skills|history|identity_links)[^;]*;/g, ''));
    const buf = fs.readFileSync(f);
    fs.writeFileSync(f, buf.subarray(0, 4096 + 1000));
  }, 'corrupt');
});

function bump(file: string, v: number): void {
  const db = new Database(file);
  db.pragma(`user_version = ${v}`);
  db.close();
}

let tooOld: Store | null = null;
function tooOldStore(): Store {
  // sagas with a history starting at v2: a file stamped 1 is too old for it.
  tooOld ??= createRegistry([
    {
      name: 'sagas',
      file: 'sagas.db',
      version: 3,
      minVersion: 2,
      schema: storesFile('sagas/schema.sql') + '\nCREATE TABLE extra3 (id TEXT PRIMARY KEY);',
      oldestSchema: storesFile('sagas/schema.sql'),
      migrations: [{ version: 3, name: '003-extra.sql', sql: 'CREATE TABLE extra3 (id TEXT PRIMARY KEY);' }],
    },
  ]).stores[0]!;
  return tooOld;
}

describe('other statuses', () => {
  it('a directory where the file should be is an error, reported with the path', () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'objects.db'));
    const r = up(objects, dir);
    expect(r).toMatchObject({ status: 'error', action: 'refused' });
    expect(r.message).toMatch(/directory/);
  });

  it('locked: a writer holding the lock past the busy timeout; a later run succeeds', () => {
    const quick = createRegistry([{ name: 'sagas', file: 'sagas.db', version: 1, schema: storesFile('sagas/schema.sql'), connection: { busy_timeout: 50 } }]).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'sagas.db');
    writeSql(file, storesFile('sagas/schema.sql'), 0);
    const holder = new Database(file);
    holder.exec('BEGIN EXCLUSIVE');
    const r = up(quick, dir);
    expect(r).toMatchObject({ status: 'locked', action: 'refused' });
    expect(r.message).toMatch(/locked by another connection/);
    holder.exec('ROLLBACK');
    holder.close();
    expect(up(quick, dir).action).toBe('adopted');
  });

  it('a WAL file with a pending -wal from a crashed writer is read with its committed rows, and kept', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(objects, file, 4);
    const w = new Database(file);
    w.pragma('journal_mode = WAL');
    w.pragma('wal_autocheckpoint = 0');
    w.exec("INSERT INTO db_client VALUES ('in-wal', 1, 'x')");
    // Simulate a crash: copy the files while the writer still has them open.
    const crash = path.join(tmpDir(), 'objects.db');
    fs.copyFileSync(file, crash);
    fs.copyFileSync(`${file}-wal`, `${crash}-wal`);
    w.close();
    const before = fingerprint(crash);
    expect(check(objects, path.dirname(crash)).status).toBe('current');
    expect(fingerprint(crash).main).toBe(before.main);
    expect(fingerprint(crash)['-wal']).toBe(before['-wal']);
  });
});

describe('rollback-journal files: the look reads under an exclusive lock, and its connection carries the write', () => {
  const commitFrom = (file: string): boolean => {
    const other = new Database(file, { timeout: 0 });
    try {
      other.exec('BEGIN IMMEDIATE; CREATE TABLE probe_lock (x); COMMIT');
      other.exec('DROP TABLE probe_lock');
      return true;
    } catch (err) {
      if (!/BUSY|LOCKED/.test(String((err as { code?: string }).code))) throw err;
      if (other.inTransaction) other.exec('ROLLBACK');
      return false;
    } finally {
      other.close();
    }
  };

  it('getting the connection ready for the write releases the look\'s lasting shared lock', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(objects, file, 2, OBJECTS_ROWS_V1);
    const look = lookAt(objects, file, { exclusive: true });
    try {
      expect(look.cls.status).toBe('behind');
      expect(look.db!.pragma('locking_mode', { simple: true })).toBe('exclusive');
      // Held by the look: another writer cannot commit (its commit needs every shared lock gone).
      expect(commitFrom(file)).toBe(false);
      readyForWrite(look.db!, objects);
      expect(look.db!.pragma('locking_mode', { simple: true })).toBe('normal');
      expect(commitFrom(file)).toBe(true);
      // A commit on it deletes its journal, as in the normal mode (the exclusive mode keeps the file).
      look.db!.exec('BEGIN IMMEDIATE; CREATE TABLE probe_journal (x); COMMIT');
      expect(fs.existsSync(`${file}-journal`)).toBe(false);
    } finally {
      look.db?.close();
    }
  });

  it('up migrates on the look\'s connection: rows kept, no journal left, still a rollback-journal file', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(objects, file, 1, OBJECTS_ROWS_V1);
    const defs = query(file, 'SELECT * FROM db_agent_definitions ORDER BY id');
    expect(up(objects, dir)).toMatchObject({ status: 'behind', action: 'migrated', from: 1, to: 4 });
    expect(fs.readdirSync(dir)).toEqual(['objects.db']);
    expect(query(file, 'SELECT id, slug, name, provider, description, created_at FROM db_agent_definitions ORDER BY id')).toEqual(
      defs.map((d) => ({ id: d.id, slug: d.slug, name: d.name, provider: d.provider, description: d.description, created_at: d.created_at })),
    );
    expect(fs.readFileSync(file).subarray(18, 20)).toEqual(Buffer.from([1, 1]));
    expect(check(objects, dir).status).toBe('current');
  });
});

describe('a file replaced between the look and the write', () => {
  it('the write goes to the file the name holds now, not to the one the look opened', () => {
    // Renamed over (a restore, another tool): the look's connection still holds the old file, which
    // the name no longer reaches; a write through it would be lost, its -journal beside another file.
    for (const exclusive of [true, false]) {
      const dir = tmpDir();
      const file = path.join(dir, 'objects.db');
      writeAt(objects, file, 1, OBJECTS_ROWS_V1);
      writeAt(objects, path.join(dir, 'restored.db'), 2);
      const look = lookAt(objects, file, { readOnly: true, exclusive });
      let d: ReturnType<typeof decide>;
      try {
        expect(look.db, `exclusive ${exclusive}`).not.toBeNull();
        fs.renameSync(path.join(dir, 'restored.db'), file);
        d = decide(objects, file, look.cls, look.facts, look.db, { mode: 'up' });
      } finally {
        look.db?.close();
      }
      expect(d.kind).toBe('written');
      expect(d.kind === 'written' && d.outcome.plan?.from, `exclusive ${exclusive}`).toBe(2);
      expect(userVersion(file), `exclusive ${exclusive}`).toBe(4);
      expect(fs.readdirSync(dir)).toEqual(['objects.db']);
    }
  });
});

describe('a writer killed mid-transaction (rollback journal)', () => {
  it('check reports the hot journal without touching it; up rolls it back and reconciles', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'sagas.db');
    writeAt(sagas, file, 1, "INSERT INTO saga VALUES ('kept', 'k', 'done', '{}', 1, 1)");
    const killed = spawnSync(process.execPath, ['-e', `
      const Database = require(${JSON.stringify(path.join(ROOT, 'node_modules/better-sqlite3'))});
      const db = new Database(${JSON.stringify(file)});
      db.pragma('cache_size = 1');
      db.exec('BEGIN');
      const ins = db.prepare("INSERT INTO saga VALUES (?, 'k', 'running', hex(randomblob(500)), 1, 1)");
      for (let i = 0; i < 3000; i++) ins.run('lost-' + i);
      process.kill(process.pid, 'SIGKILL');`]);
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(`${file}-journal`)).toBe(true);
    const before = fingerprint(file);
    const r = check(sagas, dir);
    expect(r.status).toBe('error');
    expect(r.message).toMatch(/hot journal/);
    expect(fingerprint(file)).toEqual(before);
    const u = up(sagas, dir);
    expect(u).toMatchObject({ status: 'current', action: 'unchanged' });
    expect(query(file, 'SELECT id FROM saga')).toEqual([{ id: 'kept' }]);
    expect(fs.existsSync(`${file}-journal`)).toBe(false);
  });
});

describe('--dry-run and --repair', () => {
  it('dry run plans every step in order and writes nothing', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(objects, file, 2);
    const before = fingerprint(file);
    const r = reconcileStore(objects, dir, { mode: 'up', dryRun: true });
    expect(r.action).toBe('planned');
    expect(r.plan!.map((s) => s.kind)).toEqual(['migration', 'migration', 'seed', 'stamp']);
    expect(r.plan![0]!.sql).toContain('ADD COLUMN user_hidden');
    expect(r.plan![1]!.sql).toContain('CREATE TABLE db_agents');
    expect(fingerprint(file)).toEqual(before);
    const missing = reconcileStore(objects, tmpDir(), { mode: 'up', dryRun: true });
    expect(missing.plan![0]!.kind).toBe('baseline');
  });

  it('--repair adds a missing index, table and trailing nullable column; never drops', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(objects, file, 4, "INSERT INTO db_agents (id, name, provider) VALUES ('k', 'K', 'p')");
    const db = new Database(file);
    db.exec('DROP INDEX idx_agents_definition; DROP TABLE db_temp;');
    db.close();
    expect(check(objects, dir).status).toBe('drift');
    expect(up(objects, dir).action).toBe('refused');
    const r = up(objects, dir, { repair: true });
    expect(r).toMatchObject({ status: 'drift', action: 'repaired' });
    expect(check(objects, dir).status).toBe('current');
    expect(query(file, 'SELECT id FROM db_agents')).toEqual([{ id: 'k' }]);
  });

  it('--repair refuses what it cannot add (an extra column), changing nothing', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'objects.db');
    writeAt(objects, file, 4);
    const db = new Database(file);
    db.exec('ALTER TABLE db_client ADD COLUMN extra TEXT');
    db.close();
    const before = fingerprint(file);
    const r = up(objects, dir, { repair: true });
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/repair only adds/);
    expect(fingerprint(file)).toEqual(before);
  });
});

describe('transactions and foreign keys', () => {
  const parent = 'CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT NOT NULL);';
  const child = 'CREATE TABLE child (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parent(id) ON DELETE CASCADE);';
  const rebuild = `
    -- stores:destructive the classic rebuild by hand: parent is recreated with every row
    CREATE TABLE parent_new (id TEXT PRIMARY KEY, name TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');
    INSERT INTO parent_new (id, name) SELECT id, name FROM parent;
    DROP TABLE parent;
    ALTER TABLE parent_new RENAME TO parent;`;
  function rebuildStore(extra = ''): Store {
    return createRegistry([
      {
        name: 'fam',
        file: 'fam.db',
        version: 2,
        minVersion: 1,
        oldestSchema: parent + child,
        schema: "CREATE TABLE parent (id TEXT PRIMARY KEY, name TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');" + child,
        migrations: [{ version: 2, name: '002-rebuild-parent.sql', sql: rebuild + extra }],
      },
    ]).stores[0]!;
  }

  it('a parent-table rebuild with ON DELETE CASCADE children fires no cascade: every child row survives', () => {
    const s = rebuildStore();
    const dir = tmpDir();
    const file = path.join(dir, 'fam.db');
    writeSql(file, `${parent}${child} INSERT INTO parent VALUES ('p1', 'one'), ('p2', 'two'); INSERT INTO child VALUES ('c1', 'p1'), ('c2', 'p1'), ('c3', 'p2');`, 1);
    const r = up(s, dir);
    expect(r.action).toBe('migrated');
    expect(query(file, 'SELECT id, parent_id FROM child ORDER BY id')).toEqual([
      { id: 'c1', parent_id: 'p1' },
      { id: 'c2', parent_id: 'p1' },
      { id: 'c3', parent_id: 'p2' },
    ]);
  });

  it('control: the same rebuild on a plain connection (foreign keys on) does wipe the children', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    db.exec(`${parent}${child} INSERT INTO parent VALUES ('p1', 'one'); INSERT INTO child VALUES ('c1', 'p1');`);
    db.exec(rebuild);
    expect(db.prepare('SELECT count(*) AS n FROM child').get()).toEqual({ n: 0 });
    db.close();
  });

  it('a step that leaves rows pointing at nothing is rolled back: foreign_key_check must be clean', () => {
    const s = rebuildStore("DELETE FROM parent WHERE id = 'p2';");
    const dir = tmpDir();
    const file = path.join(dir, 'fam.db');
    writeSql(file, `${parent}${child} INSERT INTO parent VALUES ('p1', 'one'), ('p2', 'two'); INSERT INTO child VALUES ('c3', 'p2');`, 1);
    const before = fingerprint(file);
    const r = up(s, dir);
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/foreign_key_check/);
    expect(fingerprint(file)).toEqual(before);
    expect(userVersion(file)).toBe(1);
  });

  it('a migration that does not produce the baseline is rolled back with the difference named', () => {
    const s = createRegistry([
      {
        name: 'fam',
        file: 'fam.db',
        version: 2,
        minVersion: 1,
        oldestSchema: parent,
        schema: parent + 'CREATE TABLE other (id TEXT PRIMARY KEY);',
        migrations: [{ version: 2, name: '002-wrong.sql', sql: 'CREATE TABLE otter (id TEXT PRIMARY KEY);' }],
      },
    ]).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'fam.db');
    writeSql(file, parent + "INSERT INTO parent VALUES ('p', 'n');", 1);
    const before = fingerprint(file);
    const r = up(s, dir);
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/missing table other/);
    expect(r.message).toMatch(/unexpected table otter/);
    expect(fingerprint(file)).toEqual(before);
  });

  it('a JavaScript step that throws is rolled back and named', () => {
    const s = createRegistry([
      {
        name: 'fam',
        file: 'fam.db',
        version: 2,
        minVersion: 1,
        oldestSchema: parent,
        schema: parent,
        migrations: [
          {
            version: 2,
            name: '002-data.mjs',
            run: (db) => {
              db.exec("UPDATE parent SET name = 'changed'");
              if ((db.prepare('SELECT count(*) AS n FROM parent').get() as { n: number }).n > 0) throw new Error('boom');
            },
          },
        ],
      },
    ]).stores[0]!;
    const dir = tmpDir();
    const file = path.join(dir, 'fam.db');
    writeSql(file, parent + "INSERT INTO parent VALUES ('p', 'n');", 1);
    const r = up(s, dir);
    expect(r.action).toBe('refused');
    expect(r.message).toMatch(/002-data\.mjs failed: boom/);
    expect(query(file, 'SELECT name FROM parent')).toEqual([{ name: 'n' }]);
    expect(userVersion(file)).toBe(1);
  });
});
