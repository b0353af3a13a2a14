/**
 * One atomic D1 batch per store: bookkeeping and guards around the plan's statements, so that
 * nothing that fails verification commits. A guard is a row inserted into a table of ours whose
 * columns each carry a named CHECK: a false condition fails the statement, and D1 rolls the
 * whole batch back with "CHECK constraint failed: <name>" (`SELECT 1/0` does not fail a batch;
 * `RAISE` works only inside a trigger). The batch, in order:
 *
 *  a. the version table (if absent), the guard table, and the row counts of every table;
 *  b. guards: the version row and the listing are still what the look read (compare and swap:
 *     of two runners on one database, the second's batch fails here);
 *  c. the plan's statements (translate.ts);
 *  d. the version row: the store, its target version, its application id;
 *  e. guards: the listing is the one the same statements gave on the replica; no dangling
 *     foreign key; quick_check ok; no table that was there before and is there after, and that no
 *     destructive step names, has fewer rows (a cascade, a lossy rebuild);
 *  f. the guard and count tables dropped.
 */
import type Database from 'better-sqlite3';
import type { Store } from '../types.js';
import type { Plan } from '../engine/plan.js';
import { foldCase, quoteIdent, quoteString } from '../sql/tokens.js';
import { COUNTS_TABLE, CREATE_VERSION_TABLE, GUARD_TABLE, LISTING, VERSION_TABLE } from './sql.js';
import type { D1Look } from './look.js';

/** The guards and the words D1's error carries for each (`stores: ...`). */
export const GUARDS = {
  version: 'stores: the version row changed since it was read',
  before: 'stores: the schema changed since it was read',
  listing: 'stores: the schema after the batch is not what the same statements give in memory',
  fk: 'stores: a foreign key dangles after the batch',
  quick: 'stores: quick_check fails after the batch',
} as const;

/** The guard name for a table's row count. */
export function rowsGuard(table: string): string {
  return `stores: rows lost from table ${table}`;
}

/** Ordinary tables of a schema (no virtual table, none of SQLite's or ours). */
export function tablesOf(db: Database.Database): string[] {
  return db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").pluck().all() as string[];
}

/** The listing string of a schema, by the same SQL the batch's guards run on D1. */
export function listingOf(db: Database.Database): string {
  return (db.prepare(LISTING).get() as { listing: string }).listing;
}

export interface BatchInput {
  readonly look: D1Look;
  readonly store: Store;
  readonly plan: Plan;
  /** The plan's statements (translate.ts), already run on the replica. */
  readonly statements: readonly string[];
  /** Ordinary tables before the statements (on the replica). */
  readonly tablesBefore: readonly string[];
  readonly at: Date;
}

const guard = (column: string, condition: string) => `INSERT INTO ${GUARD_TABLE} (${column}) SELECT coalesce((${condition}), 0)`;

/** The SQL statements of the batch, in order. */
export function batchSql(input: BatchInput): string[] {
  const { look, store, plan, at } = input;
  const replica = look.replica!;
  const after = new Set(tablesOf(replica).map(foldCase));
  const named = new Set(plan.steps.filter((s) => s.destructive || s.kind === 'drop-table').flatMap((s) => s.tables ?? []).map(foldCase));
  const counted = input.tablesBefore.filter((t) => after.has(foldCase(t)) && !named.has(foldCase(t)) && !/^(_stores_|_cf_)/i.test(t));
  const columns = [
    ...Object.entries(GUARDS).map(([k, name]) => `${k} INTEGER CONSTRAINT ${quoteIdent(name)} CHECK (${k} = 1)`),
    ...counted.map((t, i) => `r${i} INTEGER CONSTRAINT ${quoteIdent(rowsGuard(t))} CHECK (r${i} = 1)`),
  ];
  const out = [CREATE_VERSION_TABLE, `CREATE TABLE ${GUARD_TABLE} (${columns.join(', ')})`, `CREATE TABLE ${COUNTS_TABLE} (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`];
  // One statement per table: D1 allows few terms in a compound SELECT.
  for (const t of counted) out.push(`INSERT INTO ${COUNTS_TABLE} (name, n) SELECT ${quoteString(t)}, count(*) FROM ${quoteIdent(t)}`);
  const rows = look.versionRows ?? 0;
  const cas = rows === 0 ? `(SELECT count(*) FROM ${VERSION_TABLE}) = 0` : `(SELECT count(*) FROM ${VERSION_TABLE}) = ${rows} AND (SELECT version FROM ${VERSION_TABLE}) = ${look.versionRow!.version}`;
  out.push(guard('version', cas), guard('before', `(${LISTING}) = ${quoteString(look.listing ?? '')}`));
  out.push(...input.statements);
  const appId = store.applicationId === null ? 'NULL' : String(store.applicationId);
  out.push(`DELETE FROM ${VERSION_TABLE}`, `INSERT INTO ${VERSION_TABLE} (store, version, application_id, written_by, at) VALUES (${quoteString(store.name)}, ${store.version}, ${appId}, 'stores', ${quoteString(at.toISOString())})`);
  out.push(guard('listing', `(${LISTING}) = ${quoteString(listingOf(replica))}`));
  out.push(guard('fk', 'NOT EXISTS (SELECT 1 FROM pragma_foreign_key_check)'));
  out.push(guard('quick', "(SELECT group_concat(quick_check, '; ') FROM pragma_quick_check) = 'ok'"));
  counted.forEach((t, i) => out.push(guard(`r${i}`, `(SELECT count(*) FROM ${quoteIdent(t)}) >= (SELECT n FROM ${COUNTS_TABLE} WHERE name = ${quoteString(t)})`)));
  out.push(`DROP TABLE ${GUARD_TABLE}`, `DROP TABLE ${COUNTS_TABLE}`);
  return out;
}

/** The guard a failed batch's error names (null: the batch failed for another reason). */
export function failedGuard(message: string): string | null {
  const m = /CHECK constraint failed: (stores: .*?)(?::\s*SQLITE_\w+.*)?$/.exec(message);
  return m ? m[1]!.trim() : null;
}
