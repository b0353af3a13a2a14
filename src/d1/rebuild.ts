/**
 * Table rebuilds on D1, by the rename-away procedure. D1 keeps foreign keys on
 * (`PRAGMA foreign_keys = OFF` is ignored), so SQLite's documented procedure (create the new
 * table, copy, drop the old one, rename: src/engine/rebuild.ts) fires the old table's ON DELETE
 * actions when it drops it: CASCADE children are deleted, SET NULL children nulled. Renaming the
 * old table away first makes its children follow it (SQLite rewrites their REFERENCES to the new
 * name), so the table's descendants are renamed away too, and rebuilt from their own definitions:
 *
 *  1. `legacy_alter_table = ON`; drop every trigger and view (recreated at the end, as the local
 *     rebuild does: any of them may name the table);
 *  2. rename the table and every table that references it, directly or down the tree
 *     (self-references included), to `stores_old_<name>`;
 *  3. parents before children: create each under its own name (the rebuilt table from its new
 *     definition, the others from their definitions as they were) and copy its rows;
 *  4. children before parents: drop the old tables (nothing references them by then but other
 *     old tables, already emptied of nobody's rows: every row was copied);
 *  5. `legacy_alter_table = OFF`; recreate the indexes of those tables, then triggers and views.
 *
 * The statements are worked out on the replica (foreign keys on, as on D1) and run there as they
 * are produced: which tables reference which comes from `pragma_foreign_key_list`, not parsing.
 */
import type Database from 'better-sqlite3';
import { foldCase, quoteIdent } from '../sql/tokens.js';
import { rebuildCopy, ordinaryColumns, renameCreate, type RebuildSpec } from '../engine/rebuild.js';

interface Saved {
  readonly type: string;
  readonly name: string;
  readonly tbl_name: string;
  readonly sql: string;
}

/** The name a table is renamed away to. */
export function oldName(table: string): string {
  return `stores_old_${foldCase(table)}`;
}

/** The tables referencing `table` (other than itself), by their names in the schema. */
function children(db: Database.Database, table: string): string[] {
  const rows = db
    .prepare("SELECT DISTINCT m.name FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND f.\"table\" = ? COLLATE NOCASE AND m.name <> ? COLLATE NOCASE")
    .pluck()
    .all(table, table) as string[];
  return rows;
}

/** The tables a table's rows reference (other than itself). */
function parents(db: Database.Database, table: string): Set<string> {
  const rows = db.prepare('SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)').pluck().all(table) as string[];
  return new Set(rows.map(foldCase).filter((t) => t !== foldCase(table)));
}

/** `table` and every table below it in the foreign-key tree, parents before children where the tree allows. */
export function family(db: Database.Database, table: string): string[] {
  const seen = new Map<string, string>([[foldCase(table), table]]);
  const queue = [table];
  while (queue.length > 0) {
    for (const c of children(db, queue.shift()!)) {
      if (!seen.has(foldCase(c))) {
        seen.set(foldCase(c), c);
        queue.push(c);
      }
    }
  }
  // Topological order over the family's own references; a cycle keeps the order found.
  const left = [...seen.values()];
  const ordered: string[] = [];
  const placed = new Set<string>();
  while (left.length > 0) {
    const i = left.findIndex((t) => [...parents(db, t)].every((p) => !seen.has(p) || placed.has(p)));
    const [next] = left.splice(i < 0 ? 0 : i, 1);
    ordered.push(next!);
    placed.add(foldCase(next!));
  }
  return ordered;
}

/**
 * The statements that rebuild `spec.table` on D1 keeping every row, run on `db` (the replica) as
 * they are produced through `run`.
 */
export function renameAway(db: Database.Database, spec: RebuildSpec, run: (sql: string) => void): void {
  const table = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE").pluck().get(spec.table) as string | undefined;
  if (!table) throw new Error(`cannot rebuild ${spec.table}: no such table`);
  const tables = family(db, table);
  const inFamily = new Set(tables.map(foldCase));
  const definitions = new Map(tables.map((t) => [t, db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").pluck().get(t) as string]));
  const columns = new Map(tables.map((t) => [t, ordinaryColumns(db, t)]));
  const saved = (db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND type IN ('index', 'trigger', 'view') ORDER BY rowid").all() as Saved[]).filter(
    (o) => o.type !== 'index' || inFamily.has(foldCase(o.tbl_name)),
  );
  run('PRAGMA legacy_alter_table = ON');
  for (const o of saved) if (o.type !== 'index') run(`DROP ${o.type.toUpperCase()} ${quoteIdent(o.name)}`);
  for (const t of tables) run(`ALTER TABLE ${quoteIdent(t)} RENAME TO ${quoteIdent(oldName(t))}`);
  for (const t of tables) {
    const own = foldCase(t) === foldCase(table);
    run(own ? renameCreate(spec.create, t) : definitions.get(t)!);
    const { target, source } = rebuildCopy(db, t, columns.get(t)!, t, own ? spec : { table: t, create: definitions.get(t)! });
    if (target.length > 0) run(`INSERT INTO ${quoteIdent(t)} (${target.join(', ')}) SELECT ${source.join(', ')} FROM ${quoteIdent(oldName(t))}`);
  }
  for (const t of [...tables].reverse()) run(`DROP TABLE ${quoteIdent(oldName(t))}`);
  run('PRAGMA legacy_alter_table = OFF');
  for (const o of saved) {
    try {
      run(o.sql);
    } catch (err) {
      throw new Error(`rebuild of ${table}: cannot recreate ${o.type} ${o.name} (${(err as Error).message}); it no longer fits the new table — drop it before the rebuild in the migration and create what replaces it after`);
    }
  }
}
