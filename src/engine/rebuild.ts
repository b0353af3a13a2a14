/**
 * Table rebuilds: the schema changes ALTER TABLE cannot make (drop or retype a column, change a
 * CHECK list, reorder columns), done by SQLite's documented procedure
 * (https://www.sqlite.org/lang_altertable.html#otheralter): with foreign keys off, create the
 * new table under a temporary name, copy the rows through a column mapping, drop the old table,
 * rename the new one into place, recreate the indexes, triggers and views. No ON DELETE action
 * fires, so rows in child tables survive; the caller verifies and runs foreign_key_check.
 *
 * In a SQL migration, a rebuild is declared with comments before the table's new definition:
 *
 *   -- stores:rebuild sessions
 *   -- stores:map wallet_ref = wallet_id          (new column = expression over old columns)
 *   CREATE TABLE sessions (...);
 *
 * Columns the new table shares with the old one are copied by name; others take their DEFAULT
 * unless mapped. From a JavaScript step, call {@link rebuildTable}.
 */
import type Database from 'better-sqlite3';
import { foldCase, isName, isWord, nameOf, quoteIdent, statementRanges, tokenize } from '../sql/tokens.js';
import { rewatch, watchOf } from './watch.js';

export interface RebuildSpec {
  /** The table to rebuild. */
  readonly table: string;
  /** Its new definition: a CREATE TABLE statement for `table`. */
  readonly create: string;
  /** New column → SQL expression over the old table's columns (default: the same column). */
  readonly map?: Readonly<Record<string, string>>;
}

/** A SQL migration, split into plain SQL and declared rebuilds, in order. */
export type MigrationPart = { readonly kind: 'sql'; readonly sql: string } | ({ readonly kind: 'rebuild' } & RebuildSpec);

const REBUILD = /--[ \t]*stores:rebuild[ \t]+([^\n]+?)[ \t]*$/gm;
const MAP = /--[ \t]*stores:map[ \t]+([^\n=]+?)[ \t]*=[ \t]*([^\n]+?)[ \t]*$/gm;
const unquote = (n: string) => n.replace(/^["`[]|["`\]]$/g, '');

/** The table a CREATE TABLE statement creates, or null. */
export function createdTable(sql: string): string | null {
  const t = tokenize(sql);
  let i = 0;
  if (!isWord(t[i++], 'create')) return null;
  if (isWord(t[i], 'temp') || isWord(t[i], 'temporary')) i++;
  if (!isWord(t[i++], 'table')) return null;
  if (isWord(t[i], 'if')) i += 3;
  if (!isName(t[i])) return null;
  if (t[i + 1]?.value === '.') i += 2;
  return nameOf(t[i]!);
}

/**
 * Splits a migration's SQL into parts: a statement preceded by a `-- stores:rebuild T` comment
 * (and optional `-- stores:map col = expr` comments) is a rebuild of T; the rest is plain SQL.
 * Throws when the statement after the comment is not a CREATE TABLE of T.
 */
export function parseMigration(sql: string): MigrationPart[] {
  if (!sql.includes('stores:rebuild')) return [{ kind: 'sql', sql }];
  const parts: MigrationPart[] = [];
  let plain: string[] = [];
  let prevEnd = 0;
  for (const st of statementRanges(sql)) {
    const lead = sql.slice(prevEnd, st.start);
    prevEnd = st.end;
    const rebuild = [...lead.matchAll(REBUILD)].pop();
    if (!rebuild) {
      plain.push(st.sql);
      continue;
    }
    const table = unquote(rebuild[1]!);
    if (foldCase(createdTable(st.sql) ?? '') !== foldCase(table)) {
      throw new Error(`"-- stores:rebuild ${table}" must be followed by the new CREATE TABLE ${table} statement`);
    }
    const map: Record<string, string> = {};
    for (const m of lead.matchAll(MAP)) map[unquote(m[1]!)] = m[2]!;
    if (plain.length > 0) parts.push({ kind: 'sql', sql: plain.join(';\n') });
    plain = [];
    parts.push({ kind: 'rebuild', table, create: st.sql, map });
  }
  if (plain.length > 0) parts.push({ kind: 'sql', sql: plain.join(';\n') });
  return parts;
}

/** The same CREATE TABLE statement, creating `name` instead. */
function renameCreate(sql: string, name: string): string {
  const t = tokenize(sql);
  let i = 2;
  if (isWord(t[1], 'temp') || isWord(t[1], 'temporary')) i = 3;
  if (isWord(t[i], 'if')) i += 3;
  const tok = t[i]!;
  return sql.slice(0, tok.start) + quoteIdent(name) + sql.slice(tok.end);
}

interface Saved {
  type: string;
  name: string;
  tbl_name: string;
  sql: string;
}

/**
 * Rebuilds `spec.table` inside the caller's transaction. Foreign keys must be off (stores turns
 * them off around every reconcile). Indexes of the table, and every trigger and view, are
 * recreated after the swap; one that no longer fits the new table (it uses a dropped column)
 * fails the rebuild with its name: drop it before the rebuild and create its replacement after.
 * Returns the statements it ran, in order (what a dry run shows).
 */
export function rebuildTable(db: Database.Database, spec: RebuildSpec): string[] {
  if (db.pragma('foreign_keys', { simple: true }) !== 0) {
    throw new Error(`rebuilding ${spec.table} needs foreign keys off (ON DELETE actions would fire); stores turns them off for migrations`);
  }
  if (!db.inTransaction) throw new Error(`rebuilding ${spec.table} must run inside a transaction`);
  const table = spec.table;
  const exists = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE").pluck().get(table) as string | undefined;
  if (!exists) throw new Error(`cannot rebuild ${table}: no such table`);
  const ran: string[] = [];
  const run = (sql: string) => {
    db.exec(sql);
    ran.push(sql);
  };
  const watched = watchOf(db, exists);
  const tmp = `stores_rebuild_${foldCase(exists)}`;
  const oldCols = (db.prepare('SELECT name, hidden FROM pragma_table_xinfo(?)').all(exists) as { name: string; hidden: number }[]).filter((c) => c.hidden === 0).map((c) => c.name);
  const saved = db
    .prepare(
      `SELECT type, name, tbl_name, sql FROM sqlite_schema
        WHERE sql IS NOT NULL AND ((type = 'index' AND tbl_name = ? COLLATE NOCASE) OR type IN ('trigger', 'view'))
        ORDER BY rowid`,
    )
    .all(exists) as Saved[];
  // Views and triggers anywhere may name the table; drop them all for the swap, recreate after.
  for (const o of saved) if (o.type !== 'index') run(`DROP ${o.type.toUpperCase()} ${quoteIdent(o.name)}`);
  run(renameCreate(spec.create, tmp));
  const newCols = (db.prepare('SELECT name, hidden FROM pragma_table_xinfo(?)').all(tmp) as { name: string; hidden: number }[]).filter((c) => c.hidden === 0).map((c) => c.name);
  const map = new Map(Object.entries(spec.map ?? {}).map(([k, v]) => [foldCase(k), v]));
  for (const k of map.keys()) {
    if (!newCols.some((c) => foldCase(c) === k)) throw new Error(`rebuild of ${table}: mapped column ${k} is not in the new definition`);
  }
  const old = new Set(oldCols.map(foldCase));
  const target: string[] = [];
  const source: string[] = [];
  for (const c of newCols) {
    const expr = map.get(foldCase(c)) ?? (old.has(foldCase(c)) ? quoteIdent(c) : null);
    if (expr === null) continue;
    target.push(quoteIdent(c));
    source.push(expr);
  }
  if (target.length > 0) run(`INSERT INTO ${quoteIdent(tmp)} (${target.join(', ')}) SELECT ${source.join(', ')} FROM ${quoteIdent(exists)}`);
  run(`DROP TABLE ${quoteIdent(exists)}`);
  run(`ALTER TABLE ${quoteIdent(tmp)} RENAME TO ${quoteIdent(table)}`);
  // A watch (see watch.ts) follows the rows into the new table.
  if (watched !== null) rewatch(db, table, watched);
  for (const o of saved) {
    try {
      run(o.sql);
    } catch (err) {
      // Every index on the table is carried through, another program's (an ignored one) included.
      throw new Error(
        `rebuild of ${table}: cannot recreate ${o.type} ${o.name} (${(err as Error).message}); a rebuild keeps every index, trigger and view, ours or another program's, and this one no longer fits the new table — drop it before the rebuild in the migration and create what replaces it after${o.type === 'index' ? ' (if another program owns it, that program must drop or change it first)' : ''}`,
      );
    }
  }
  return ran;
}
