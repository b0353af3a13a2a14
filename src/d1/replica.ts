/**
 * The schema of a D1 database, replayed in better-sqlite3 `:memory:`: the engine inspects,
 * classifies and rehearses on it exactly as on a local file (ask SQLite, never imitate it).
 * Rows are copied only where the engine reads them: dead tables (does it hold rows?) and other
 * tools' bookkeeping tables (which version does their history say?).
 */
import Database from 'better-sqlite3';
import type { MasterRow } from '../schema/model.js';
import type { Store } from '../types.js';
import { foldCase, quoteIdent } from '../sql/tokens.js';
import { PRESETS } from '../engine/history-presets.js';
import { sourceTables } from '../engine/history.js';
import { ordinaryColumns } from '../engine/rebuild.js';
import type { D1Like } from './types.js';
import { replaySchema } from '../schema/replay.js';

/**
 * A `:memory:` database holding the listed objects, replayed as adoption replays a file
 * (src/schema/replay.ts: virtual tables, tables, indexes, views, triggers, each CREATE alone).
 * Throws when the listing does not replay (a module this SQLite lacks, a statement it refuses).
 */
export function buildReplica(rows: readonly MasterRow[]): Database.Database {
  const db = new Database(':memory:');
  try {
    db.pragma('foreign_keys = OFF');
    const replayed = replaySchema(db, rows);
    if (typeof replayed === 'string') throw new Error(replayed);
    if (replayed.length > 0) throw new Error(`the schema does not replay in memory: ${replayed.map((m) => `virtual table ${m.table} needs module ${m.module}, which this SQLite lacks`).join('; ')}`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * The tables of a version-0 database whose rows classification reads, with how many rows to
 * copy: a dead table needs one (does it hold rows?); bookkeeping tables all of theirs.
 */
export function tablesToCopy(store: Store, rows: readonly MasterRow[]): { table: string; limit: number | null }[] {
  const present = new Map(rows.filter((r) => r.type === 'table').map((r) => [foldCase(r.name), r.name]));
  const out = new Map<string, number | null>();
  const bookkeeping = [...store.legacy.history.flatMap((h) => sourceTables(h)), ...Object.values(PRESETS).flatMap((p) => p.tables)];
  for (const t of bookkeeping) if (present.has(foldCase(t))) out.set(present.get(foldCase(t))!, null);
  for (const t of store.legacy.deadTables) if (present.has(foldCase(t)) && !out.has(present.get(foldCase(t))!)) out.set(present.get(foldCase(t))!, 1);
  return [...out].map(([table, limit]) => ({ table, limit }));
}

/** D1 gives a BLOB as an array of bytes (or an ArrayBuffer): back to a Buffer for better-sqlite3. */
function toSqlite(v: unknown): unknown {
  if (Array.isArray(v)) return Buffer.from(v as number[]);
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v;
}

/** Copies the rows of `tables` from D1 into the replica (one batch for all of them). */
export async function copyRows(d1: D1Like, replica: Database.Database, tables: readonly { table: string; limit: number | null }[]): Promise<void> {
  if (tables.length === 0) return;
  // Ordinary columns only: generated and hidden ones cannot be inserted.
  const columns = tables.map((t) => ordinaryColumns(replica, t.table));
  const select = (t: (typeof tables)[number], i: number) => `SELECT ${columns[i]!.map(quoteIdent).join(', ')} FROM ${quoteIdent(t.table)}${t.limit === null ? '' : ` LIMIT ${t.limit}`}`;
  const results = await d1.batch(tables.map((t, i) => d1.prepare(select(t, i))));
  tables.forEach((t, i) => {
    const rows = (results[i]?.results ?? []) as Record<string, unknown>[];
    const cols = columns[i]!;
    if (rows.length === 0 || cols.length === 0) return;
    const insert = replica.prepare(`INSERT INTO ${quoteIdent(t.table)} (${cols.map(quoteIdent).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    for (const r of rows) insert.run(...cols.map((c) => toSqlite(r[c])));
  });
}
