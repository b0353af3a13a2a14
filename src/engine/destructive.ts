/**
 * What a migration step destroys — dropped tables and columns, deleted rows, narrowing type
 * changes in a rebuild — found by asking SQLite, never by reading the step's first words.
 *
 * A SQL step runs, statement by statement, on a copy (in `:memory:`) of the schema of the version
 * it starts from. Before each statement, `EXPLAIN` lists the bytecode SQLite would run: an
 * `OP_Delete` naming a table (P4), an `OP_Clear` of a table's root page, or an `OP_VUpdate` with one
 * argument (a virtual-table delete) is a deletion of rows (https://www.sqlite.org/opcode.html).
 * The copy holds a TEMP `BEFORE DELETE` trigger on every table and runs with
 * `recursive_triggers = ON`, so every way a row can go — `DELETE` (even behind `WITH`), `REPLACE`,
 * `INSERT OR REPLACE`, `UPDATE OR REPLACE`, an `ON CONFLICT REPLACE` constraint, a trigger body the
 * statement fires — compiles to an `OP_Delete` naming its table; trigger programs are listed by
 * `EXPLAIN` after the statement's own. After each statement, the tables are compared with the
 * ones before it by identity (root page): a table gone is dropped, a column gone is dropped.
 *
 * A JavaScript step runs under a {@link Watch} (see watch.ts): at registry load on the copy (no
 * rows: drops show), and again inside the store's transaction, where rows deleted show too.
 *
 * The rule, one for `--dry-run` and `up`: a step that destroys something must declare it —
 * `-- stores:destructive <why>` in SQL, `export const destructive = '<why>'` in JavaScript (or
 * `destructive` on a migration built in code) — or the store is refused and nothing changes.
 * A declared step is backed up first. A `-- stores:rebuild` step copies every row: it is backed
 * up, and destructive only when the new definition drops a column or narrows a type.
 */
import Database from 'better-sqlite3';
import type { MigrationDefinition } from '../types.js';
import { foldCase, quoteIdent, statementRanges } from '../sql/tokens.js';
import { parseMigration } from './rebuild.js';
import { rebuildTable } from './rebuild.js';
import { runStep } from './steps.js';
import { compareTables, Watch, type TableDelta, type TableState } from './watch.js';

export { affinity } from './watch.js';

export interface DestructiveAnalysis {
  /** What the step destroys, for people ("drops column sessions.wallet_id"); empty when nothing. */
  readonly what: readonly string[];
  /** Tables (as the file at the starting version names them) whose rows the step destroys or rebuilds. */
  readonly tables: readonly string[];
  /** Tables the step rebuilds (rows copied). */
  readonly rebuilds: readonly string[];
  /** Tables renamed by the step (`ALTER TABLE a RENAME TO b`), in order. */
  readonly tableRenames: readonly (readonly [string, string])[];
  /** Columns renamed by the step: [table, from, to] (table as named at that point). */
  readonly columnRenames: readonly (readonly [string, string, string])[];
  /** The declaration's text (`-- stores:destructive <why>`, or a JavaScript step's `destructive`), or null. */
  readonly declared: string | null;
  /** True when the step destroys something or declares that it does: a backup is taken first. */
  readonly destructive: boolean;
  /** True when something destroyed is not declared: the plan, and `up`, refuse the step. */
  readonly undeclared: boolean;
  /**
   * The SQL that runs on a file at the starting version, with every declared rebuild expanded
   * into the statements it runs; null for a JavaScript step.
   */
  readonly runs: string | null;
}

const DECLARED = /--[ \t]*stores:destructive[ \t]*([^\n]*)$/m;

/** The declaration of a migration step, or null. */
export function declaration(step: MigrationDefinition): string | null {
  if (typeof step.destructive === 'string' && step.destructive.trim() !== '') return step.destructive.trim();
  if (step.sql === undefined) return null;
  const m = DECLARED.exec(step.sql);
  return m ? m[1]!.trim() || 'declared destructive' : null;
}

/** How a step of this kind declares itself destructive. */
export function howToDeclare(step: MigrationDefinition): string {
  return step.sql !== undefined ? 'add `-- stores:destructive <why>` to the migration' : "export `const destructive = '<why>'` from the step's module";
}

/** The refusal of a step that destroys `what` without declaring it. */
export function undeclaredMessage(step: MigrationDefinition, what: readonly string[]): string {
  return `migration ${step.name} ${what.join(', ')} without declaring it; if that is intended, ${howToDeclare(step)}`;
}

/** A step destroyed something it did not declare: rolled back, the store refused. */
export class DestructiveError extends Error {
  override readonly name = 'DestructiveError';
}

/** Accumulates what a step's statements do, following each table from the file's name for it. */
class Tally {
  readonly what: string[] = [];
  readonly tables = new Set<string>();
  readonly rebuilds: string[] = [];
  readonly tableRenames: [string, string][] = [];
  readonly columnRenames: [string, string, string][] = [];
  /** Watch key → the table's name in the file at the starting version (absent: made by the step). */
  private readonly origin: ReadonlyMap<string, string>;

  constructor(start: ReadonlyMap<string, TableState>) {
    this.origin = new Map([...start].map(([k, t]) => [k, t.name]));
  }

  originOf(key: string): string | null {
    return this.origin.get(key) ?? null;
  }

  /** Rows of the table with current key `key` (named `name` now) are deleted. */
  deletes(key: string, name: string): void {
    const o = this.originOf(key);
    if (o === null) return;
    this.add(`deletes rows of ${name}`, o);
  }

  private add(what: string, origin: string): void {
    if (!this.what.includes(what)) this.what.push(what);
    this.tables.add(origin);
  }

  /** Applies one statement's (or one rebuild's) change of the tables. */
  apply(delta: TableDelta, after: ReadonlyMap<string, TableState>): void {
    for (const t of delta.dropped) {
      const o = this.originOf(t.key);
      if (o !== null) this.add(`drops table ${t.name}`, o);
    }
    const originByName = (name: string) => {
      const k = [...after.values()].find((t) => foldCase(t.name) === foldCase(name))?.key;
      return k === undefined ? null : this.originOf(k);
    };
    for (const [t, c] of delta.droppedColumns) {
      const o = originByName(t);
      if (o !== null) this.add(`drops column ${t}.${c}`, o);
    }
    for (const [t, c, from, to] of delta.retyped) {
      const o = originByName(t);
      if (o !== null) this.add(`changes the type of ${t}.${c} from ${from || 'none'} to ${to || 'none'}`, o);
    }
    this.tableRenames.push(...delta.renamed.map(([a, b]) => [a, b] as [string, string]));
    this.columnRenames.push(...delta.renamedColumns.map(([t, a, b]) => [t, a, b] as [string, string, string]));
  }
}

/** Tables whose rows `EXPLAIN`'s bytecode deletes: keys of `tables` (the tables before the statement). */
function deletions(db: Database.Database, sql: string, tables: ReadonlyMap<string, TableState>): string[] {
  const ops = db.prepare(`EXPLAIN ${sql}`).all() as { opcode: string; p1: number; p2: number; p3: number; p4: string | null }[];
  const byName = new Map([...tables.values()].map((t) => [foldCase(t.name), t.key]));
  const out = new Set<string>();
  let vtabs: Map<string, string> | null = null;
  for (const op of ops) {
    if (op.opcode === 'Delete' && op.p4 !== null) {
      const k = byName.get(foldCase(op.p4));
      if (k) out.add(k);
    } else if (op.opcode === 'Clear' && op.p2 === 0) {
      const t = [...tables.values()].find((x) => !x.virtual && x.root === op.p1);
      if (t) out.add(t.key);
    } else if (op.opcode === 'VUpdate' && op.p2 === 1 && op.p4 !== null) {
      vtabs ??= virtualTables(db, tables);
      out.add(vtabs.get(op.p4) ?? [...tables.values()].find((t) => t.virtual)?.key ?? 'v:?');
    }
  }
  return [...out];
}

/** The `vtab:…` handle EXPLAIN shows for each virtual table → its key. */
function virtualTables(db: Database.Database, tables: ReadonlyMap<string, TableState>): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of tables.values()) {
    if (!t.virtual) continue;
    const op = (db.prepare(`EXPLAIN SELECT rowid FROM main.${quoteIdent(t.name)}`).all() as { opcode: string; p4: string | null }[]).find((o) => o.opcode === 'VOpen');
    if (op?.p4) out.set(op.p4, t.key);
  }
  return out;
}

/** Runs a SQL migration's statements one by one on `db` (a copy), tallying what each destroys. */
function analyzeSql(db: Database.Database, sql: string, watch: Watch, tally: Tally): string {
  const runs: string[] = [];
  let tables = watch.start;
  const schemaVersion = () => db.pragma('main.schema_version', { simple: true }) as number;
  const step = (run: () => void) => {
    const version = schemaVersion();
    run();
    if (schemaVersion() === version) return; // no table changed
    const after = watch.tables();
    tally.apply(compareTables(tables, after), after);
    tables = after;
  };
  for (const part of parseMigration(sql)) {
    if (part.kind === 'rebuild') {
      tally.rebuilds.push(part.table);
      const k = [...tables.values()].find((t) => foldCase(t.name) === foldCase(part.table))?.key;
      const o = k === undefined ? null : tally.originOf(k);
      if (o !== null) tally.tables.add(o);
      step(() => {
        const ran = rebuildTable(db, part);
        runs.push(`-- stores:rebuild ${part.table}: the statements it runs (foreign keys off)\n${ran.map((s) => `${s.trim()};`).join('\n')}`);
      });
      continue;
    }
    for (const st of statementRanges(part.sql)) {
      for (const k of deletions(db, st.sql, tables)) tally.deletes(k, tables.get(k)?.name ?? k.replace(/^v:/, ''));
      step(() => db.exec(st.sql));
      runs.push(`${st.sql.trim()};`);
    }
  }
  return runs.join('\n');
}

/** What a watched run destroyed: drops, and rows lost, named as the watch's start names them. */
export function watchedLosses(watch: Watch, withCounts: boolean): { what: string[]; tables: string[]; delta: TableDelta } {
  const now = watch.tables(false);
  const delta = compareTables(watch.start, now);
  const tally = new Tally(watch.start);
  tally.apply(delta, now);
  for (const loss of watch.rowLosses(now)) {
    const name = watch.start.get(loss.key)?.name;
    if (name === undefined) continue;
    const n = loss.deleted + loss.vanished;
    tally.deletes(loss.key, withCounts ? `${name} (${n} row${n === 1 ? '' : 's'})` : name);
  }
  return { what: tally.what, tables: [...tally.tables], delta };
}

/**
 * Analyses migration `step` (SQL, or a JavaScript function) by running it on a copy of `before`:
 * a database at the version the step starts from (usually in memory, without rows), or its
 * serialized bytes (`db.serialize()`). `before` is never changed. A string is taken as SQL.
 * Throws when the step fails on the copy.
 */
export function analyzeMigration(step: MigrationDefinition | string, before: Database.Database | Buffer, store = ''): DestructiveAnalysis {
  const def: MigrationDefinition = typeof step === 'string' ? { version: 0, name: 'migration', sql: step } : step;
  const copy = new Database(Buffer.isBuffer(before) ? before : before.serialize());
  try {
    copy.pragma('foreign_keys = OFF');
    // REPLACE deletions fire DELETE triggers only with recursive triggers on: so they compile to
    // an OP_Delete naming their table (https://www.sqlite.org/lang_conflict.html). SQL only: a
    // JavaScript step runs as it will on the file.
    if (def.sql !== undefined) copy.pragma('recursive_triggers = ON');
    copy.exec('BEGIN');
    const watch = new Watch(copy, def.sql === undefined);
    const tally = new Tally(watch.start);
    let runs: string | null = null;
    if (def.sql !== undefined) runs = analyzeSql(copy, def.sql, watch, tally);
    else {
      runStep(copy, store, def);
      const seen = watchedLosses(watch, false);
      tally.what.push(...seen.what);
      for (const t of seen.tables) tally.tables.add(t);
      tally.tableRenames.push(...seen.delta.renamed.map(([a, b]) => [a, b] as [string, string]));
    }
    const declared = declaration(def);
    const what = tally.what;
    return {
      what,
      tables: [...tally.tables],
      rebuilds: tally.rebuilds,
      tableRenames: tally.tableRenames,
      columnRenames: tally.columnRenames,
      declared,
      destructive: what.length > 0 || declared !== null,
      undeclared: what.length > 0 && declared === null,
      runs,
    };
  } finally {
    copy.close();
  }
}

/**
 * Runs migration `step` on `db` inside the caller's transaction, under the destructive rule: a
 * JavaScript step runs watched, and throws {@link DestructiveError} (the caller rolls back) when
 * it drops a table or a column or deletes rows it did not declare. (A SQL step was judged before
 * the plan was made: the plan refuses one that destroys what it does not declare.)
 */
export function runMigration(db: Database.Database, store: string, file: string, step: MigrationDefinition): void {
  if (step.run === undefined || declaration(step) !== null) return runStep(db, store, step);
  const watch = new Watch(db);
  try {
    runStep(db, store, step);
    const seen = watchedLosses(watch, true);
    if (seen.what.length > 0) {
      throw new DestructiveError(`${file}: ${undeclaredMessage(step, seen.what)}; rolled back, nothing changed`);
    }
  } finally {
    try {
      watch.stop();
    } catch {
      // The caller rolls back, which drops the watch's temp objects too.
    }
  }
}
