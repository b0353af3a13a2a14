/**
 * Test helpers for the D1 driver: a real D1 runtime (Miniflare's workerd on 127.0.0.1) and ways to
 * put a database in a given state through D1 itself.
 */
import Database from 'better-sqlite3';
import { startLocalD1 } from '../src/d1/local.js';
import type { Store } from '../src/types.js';
import type { D1Like } from '../src/d1/index.js';
import { statements } from '../src/d1/translate.js';
import { runStep } from '../src/engine/steps.js';
import { tmpDir } from './helpers.js';

/**
 * D1 databases in Miniflare, reached from a Worker inside workerd as production code reaches them
 * (src/d1/local.ts: Miniflare's Node-side binding proxy fails an assertion now and then under load).
 */
export async function startD1(bindings: readonly string[]): Promise<{ mf: { dispose(): Promise<void> }; db: (name: string) => Promise<D1Like> }> {
  const local = await startLocalD1(Object.fromEntries(bindings.map((b) => [b, b])), tmpDir('stores-d1-'));
  return { mf: local, db: async (name) => local.db(name) };
}

/** Runs a script on D1 in one batch. */
export async function exec(db: D1Like, sql: string): Promise<void> {
  const list = statements(sql);
  if (list.length > 0) await db.batch(list.map((s) => db.prepare(s)));
}

export async function all(db: D1Like, sql: string): Promise<Record<string, unknown>[]> {
  return (await db.prepare(sql).all()).results as Record<string, unknown>[];
}

/** The schema a store has at version v (through its own history), as CREATE statements in creation order. */
export function schemaAt(s: Store, v: number): string[] {
  const mem = new Database(':memory:');
  try {
    if (v === s.version) mem.exec(s.schema);
    else {
      mem.exec(s.oldestSchema);
      for (const m of s.migrations) if (m.version <= v) runStep(mem, s.name, m);
    }
    return mem.prepare("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid").pluck().all() as string[];
  } finally {
    mem.close();
  }
}

/** Writes a D1 database at version v of the store, as stores would leave it (the version row included). */
export async function writeAtD1(db: D1Like, s: Store, v: number, rowsSql = '', store = s.name): Promise<void> {
  const list = [...schemaAt(s, v), ...statements(rowsSql), 'CREATE TABLE IF NOT EXISTS _stores_version (store TEXT NOT NULL, version INTEGER NOT NULL, application_id INTEGER, written_by TEXT, at TEXT)', `INSERT INTO _stores_version (store, version) VALUES ('${store}', ${v})`];
  await db.batch(list.map((x) => db.prepare(x)));
}

/** Everything of a database, for byte-for-byte comparisons: its listing and every table's rows. */
export async function dump(db: D1Like): Promise<string> {
  const master = await all(db, "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY type, name");
  const out: unknown[] = [master];
  for (const r of master) if (r.type === 'table' && !String(r.name).startsWith('sqlite_')) out.push([r.name, await all(db, `SELECT * FROM "${String(r.name)}" ORDER BY rowid`)]);
  return JSON.stringify(out);
}
