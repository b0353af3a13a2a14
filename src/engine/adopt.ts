/**
 * Adoption by execution: what adopting a `user_version = 0` file does is learnt from SQLite, not
 * imitated. The file's `sqlite_schema` rows (no rows of data) are replayed into a fresh
 * `:memory:` database — no extension loaded, `trusted_schema = OFF`, foreign keys off and
 * `legacy_alter_table = OFF` as in a real reconcile — and the very steps the plan will run on the
 * file (table renames, column renames, index drops, column-drop rebuilds, dead-table drops,
 * creates of what the oldest version adds) run there. The result is inspected and compared with
 * the oldest schema by meaning; every object of the file must still be there, renamed, or be
 * named by a legacy rule: what no rule names is never dropped, the file is refused with the list.
 *
 * Replays are cached per store and per distinct `sqlite_schema` listing (per thread, bounded):
 * a fleet of identical legacy files replays once.
 */
import Database from 'better-sqlite3';
import type { RenameRule, Store } from '../types.js';
import { diff } from '../schema/diff.js';
import { inspect } from '../schema/inspect.js';
import type { Change, MasterRow, Snapshot } from '../schema/model.js';
import { foldCase, isWord, quoteIdent, tokenize } from '../sql/tokens.js';
import type { PlanStep } from './plan.js';
import { rebuildTable } from './rebuild.js';
import { replaySchema } from '../schema/replay.js';

/** What adopting a legacy file takes, worked out by running it on the file's replayed schema. */
export interface Adoption {
  /** Table renames that apply to this file, in order (`from` as named when the rename runs). */
  readonly renames: readonly RenameRule[];
  /** Column renames that apply to this file, in order (table as named after the table renames). */
  readonly columnRenames: readonly { readonly table: string; readonly from: string; readonly to: string }[];
  /**
   * Tables rebuilt to their oldest-version definition to drop legacy columns: `table` as named
   * after the renames, `fileTable` as the file names it now.
   */
  readonly columnDrops: readonly { readonly table: string; readonly fileTable: string; readonly columns: readonly string[]; readonly create: string }[];
  /** Leftover indexes present in the file (after renames), to drop. */
  readonly dropIndexes: readonly string[];
  /** Dead tables present in the file, to drop. */
  readonly deadTables: readonly string[];
  /** Objects of the oldest version the file lacks, to create (creation order). */
  readonly creates: readonly MasterRow[];
  /** Pairs (old, new) that both exist: the file is a conflict. */
  readonly conflicts: readonly (readonly [string, string])[];
  /** Tables that are neither legacy nor of the oldest version. */
  readonly unknownTables: readonly string[];
  /** Virtual tables adoption must act on whose module this SQLite lacks (nothing can be done here). */
  readonly missingModules: readonly { readonly table: string; readonly module: string }[];
  /** Why the steps fail on the replayed schema (SQLite's error), or null. */
  readonly failure: string | null;
  /** Objects of the file the steps would remove although no rule names them (`column t.x`). */
  readonly unaccounted: readonly string[];
  /**
   * Columns a column-drop rebuild keeps but whose definition it would change (to the oldest
   * version's): a rebuild drops the named columns and changes nothing else about the others.
   */
  readonly reshaped: readonly Change[];
  /** How the adopted file would still differ from the oldest version. */
  readonly remaining: readonly Change[];
  /** The adoption steps, in order: what ran on the replay is what runs on the file. */
  readonly steps: readonly PlanStep[];
}

/** Runs one plan step that is not a migration: a table rebuild, or its SQL. */
export function execStep(db: Database.Database, step: PlanStep): void {
  if (step.rebuild) rebuildTable(db, step.rebuild);
  else db.exec(step.sql);
}

const LEGACY = 'legacy rules';

/**
 * Works out what adopting a `user_version = 0` file does and leaves. `master` is the file's
 * `sqlite_schema` listing and `snapshot` its meaning (which tables are the file's own, shadow
 * tables of virtual tables excluded).
 */
export function planAdoption(master: readonly MasterRow[], snapshot: Snapshot, store: Store): Adoption {
  let key = '';
  for (const r of master) key += `${r.type}\u0000${r.name}\u0000${r.tbl_name}\u0000${r.sql ?? '\u0001'}\u0000`;
  let perStore = cache.get(store);
  if (!perStore) cache.set(store, (perStore = new Map()));
  const hit = perStore.get(key);
  if (hit) {
    perStore.delete(key);
    perStore.set(key, hit);
    return hit;
  }
  const adoption = computeAdoption(master, snapshot, store);
  if (key.length <= CACHE_KEY_CHARS) {
    perStore.set(key, adoption);
    if (perStore.size > CACHE_SIZE) perStore.delete(perStore.keys().next().value!);
  }
  return adoption;
}

/** Adoptions per store, per listing: least recently used out; giant listings are not kept. */
const cache = new WeakMap<Store, Map<string, Adoption>>();
const CACHE_SIZE = 32;
const CACHE_KEY_CHARS = 1 << 18;

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };

function empty(): Mutable<Adoption> {
  return { renames: [], columnRenames: [], columnDrops: [], dropIndexes: [], deadTables: [], creates: [], conflicts: [], unknownTables: [], missingModules: [], failure: null, unaccounted: [], reshaped: [], remaining: [], steps: [] };
}

function computeAdoption(master: readonly MasterRow[], snapshot: Snapshot, store: Store): Adoption {
  const a = empty();
  // Which table renames apply, which tables are dead, which are nobody's: the rules' arithmetic on
  // names. A conflict or a foreign table is known without replaying anything.
  const names = new Map(Object.values(snapshot.tables).map((t) => [foldCase(t.name), t.name]));
  for (const r of store.legacy.renames) {
    const from = names.get(foldCase(r.from));
    if (from === undefined) continue;
    const to = names.get(foldCase(r.to));
    if (to !== undefined) {
      a.conflicts.push([from, to]);
      continue;
    }
    a.renames.push({ from, to: r.to });
    names.delete(foldCase(from));
    names.set(foldCase(r.to), r.to);
  }
  const oldest = store.expect.snapshots.get(store.minVersion)!;
  const dead = store.legacy.deadTables.filter((t) => names.has(foldCase(t))).map((t) => names.get(foldCase(t))!);
  for (const t of dead) names.delete(foldCase(t));
  a.unknownTables = [...names.entries()].filter(([k]) => !oldest.tables[k]).map(([, n]) => n);
  if (a.conflicts.length > 0 || a.unknownTables.length > 0) return a;

  const db = new Database(':memory:');
  try {
    db.pragma('trusted_schema = OFF');
    db.pragma('foreign_keys = OFF');
    db.pragma('legacy_alter_table = OFF');
    const replayed = replaySchema(db, master);
    if (typeof replayed === 'string') return { ...a, failure: replayed };
    if (replayed.length > 0) return { ...a, missingModules: replayed };
    const before = objectsOf(db);
    db.exec('BEGIN');
    try {
      for (const r of a.renames) {
        run(db, a, { kind: 'rename', sql: `ALTER TABLE ${quoteIdent(r.from)} RENAME TO ${quoteIdent(r.to)}`, comment: `legacy rename ${r.from} → ${r.to}`, source: LEGACY });
      }
      if (!renameColumns(db, a, store)) return a;
      for (const name of store.legacy.dropIndexes) {
        const ix = nameIn(db, 'index', name);
        if (ix === null) continue;
        a.dropIndexes.push(ix);
        run(db, a, { kind: 'drop-index', sql: `DROP INDEX ${quoteIdent(ix)}`, comment: `drop index ${ix} left under its old name`, source: LEGACY, destructive: true });
      }
      for (const step of columnDropSteps(db, a, store)) run(db, a, step);
      for (const t of dead) {
        a.deadTables.push(t);
        run(db, a, { kind: 'drop-table', sql: `DROP TABLE ${quoteIdent(t)}`, comment: `drop dead table ${t}`, source: LEGACY, destructive: true, tables: [fileName(a, t)] });
      }
      for (const obj of store.expect.oldestObjects) {
        // Shadow tables of the oldest version's virtual tables come with them.
        if (nameIn(db, null, obj.name) !== null) continue;
        a.creates.push(obj);
        run(db, a, { kind: 'create', sql: obj.sql!, comment: `create ${obj.type} ${obj.name} (part of v${store.minVersion}, absent here)`, source: store.sources.oldestSchema ?? store.sources.schema ?? `${store.name}:schema` });
      }
    } catch (err) {
      return { ...a, failure: (err as Error).message };
    }
    a.unaccounted = unaccounted(before, objectsOf(db), a);
    a.remaining = diff(oldest, inspect(db));
    return a;
  } finally {
    db.close();
  }
}

/** Runs a step on the replay and keeps it for the plan; a failure says which step. */
function run(db: Database.Database, a: Mutable<Adoption>, step: PlanStep): void {
  try {
    execStep(db, step);
  } catch (err) {
    throw new Error(`${step.comment}: ${(err as Error).message}`);
  }
  a.steps.push(step);
}

/** The name of an object (of `type`, or of any type) as the replay holds it, or null. */
function nameIn(db: Database.Database, type: string | null, name: string): string | null {
  const row = db.prepare(`SELECT name FROM sqlite_schema WHERE name = ? COLLATE NOCASE${type ? ' AND type = ?' : ''}`).pluck().get(...(type ? [name, type] : [name])) as string | undefined;
  return row ?? null;
}

function columnsOf(db: Database.Database, table: string): string[] {
  return (db.prepare('SELECT name, hidden FROM pragma_table_xinfo(?)').all(table) as { name: string; hidden: number }[]).filter((c) => c.hidden !== 1).map((c) => c.name);
}

/** Column renames where the column is there; false when one is a conflict (both names exist). */
function renameColumns(db: Database.Database, a: Mutable<Adoption>, store: Store): boolean {
  for (const r of store.legacy.renameColumns) {
    const table = nameIn(db, 'table', r.table);
    if (table === null) continue;
    const cols = columnsOf(db, table);
    const from = cols.find((c) => foldCase(c) === foldCase(r.from));
    if (from === undefined) continue;
    if (cols.some((c) => foldCase(c) === foldCase(r.to))) {
      a.conflicts.push([`${table}.${r.from}`, `${table}.${r.to}`]);
      continue;
    }
    a.columnRenames.push({ table, from, to: r.to });
    run(db, a, { kind: 'rename-column', sql: `ALTER TABLE ${quoteIdent(table)} RENAME COLUMN ${quoteIdent(from)} TO ${quoteIdent(r.to)}`, comment: `legacy column rename ${table}.${from} → ${r.to}`, source: LEGACY });
  }
  return a.conflicts.length === 0;
}

/** The table a file holds under its name before the renames (a chain a → b → c is followed back to a). */
function fileName(a: Adoption, table: string): string {
  let name = table;
  for (let i = a.renames.length - 1; i >= 0; i--) if (foldCase(a.renames[i]!.to) === foldCase(name)) name = a.renames[i]!.from;
  return name;
}

/** One rebuild per table holding legacy columns to drop: to its oldest-version definition. */
function columnDropSteps(db: Database.Database, a: Mutable<Adoption>, store: Store): PlanStep[] {
  const byTable = new Map<string, string[]>();
  for (const d of store.legacy.dropColumns) byTable.set(foldCase(d.table), [...(byTable.get(foldCase(d.table)) ?? []), foldCase(d.column)]);
  const steps: PlanStep[] = [];
  // What each kept column is now, compared with the oldest version, before any rebuild.
  let now: Change[] | null = null;
  for (const [tk, cols] of byTable) {
    const table = nameIn(db, 'table', tk);
    const create = store.expect.oldestObjects.find((o) => o.type === 'table' && foldCase(o.name) === tk)?.sql;
    if (table === null || !create) continue;
    const present = columnsOf(db, table).filter((c) => cols.includes(foldCase(c)));
    if (present.length === 0) continue;
    const fileTable = fileName(a, table);
    now ??= diff(store.expect.snapshots.get(store.minVersion)!, inspect(db));
    a.reshaped.push(...now.filter((c) => c.object === 'column' && c.change === 'changed' && foldCase(c.table) === tk));
    a.columnDrops.push({ table, fileTable, columns: present, create });
    steps.push({
      kind: 'drop-column',
      sql: `-- stores:rebuild ${table}\n${create}`,
      comment: `drop legacy column${present.length === 1 ? '' : 's'} ${present.map((c) => `${table}.${c}`).join(', ')}: rebuild ${table} to its v${store.minVersion} definition, foreign keys off`,
      source: LEGACY,
      destructive: true,
      // Rows are counted before anything runs: under the table's name in the file as found.
      tables: [fileTable],
      rebuild: { table, create },
    });
  }
  return steps;
}

interface Objects {
  /** Folded table name → its name and its columns, shadow tables excluded. */
  readonly tables: ReadonlyMap<string, { readonly name: string; readonly columns: readonly string[] }>;
  /** Folded index/trigger/view name → its name, type and table (folded). */
  readonly others: ReadonlyMap<string, { readonly name: string; readonly type: string; readonly table: string }>;
}

/** What the replay holds now, as SQLite reports it. */
function objectsOf(db: Database.Database): Objects {
  const shadow = new Set((db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'").pluck().all() as string[]).map(foldCase));
  const rows = db.prepare("SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all() as MasterRow[];
  const tables = new Map<string, { name: string; columns: string[] }>();
  const others = new Map<string, { name: string; type: string; table: string }>();
  for (const r of rows) {
    if (r.type === 'table') {
      if (!shadow.has(foldCase(r.name))) tables.set(foldCase(r.name), { name: r.name, columns: columnsOf(db, r.name) });
    } else others.set(foldCase(r.name), { name: r.name, type: r.type, table: foldCase(r.tbl_name) });
  }
  return { tables, others };
}

/**
 * What the steps removed that no rule names: every table, column, index, trigger and view of the
 * file must still be there (under its new name after a rename), or be named by a rule — a dead
 * table (with its indexes and triggers), a dropped index, a dropped column.
 */
function unaccounted(before: Objects, after: Objects, a: Adoption): string[] {
  const tableAfter = (t: string) => a.renames.reduce((cur, r) => (cur === foldCase(r.from) ? foldCase(r.to) : cur), t);
  const columnAfter = (table: string, c: string) => a.columnRenames.reduce((cur, r) => (foldCase(r.table) === table && cur === foldCase(r.from) ? foldCase(r.to) : cur), c);
  const dead = new Set(a.deadTables.map(foldCase));
  const droppedIndexes = new Set(a.dropIndexes.map(foldCase));
  const droppedColumns = new Set(a.columnDrops.flatMap((d) => d.columns.map((c) => `${foldCase(d.table)}.${foldCase(c)}`)));
  const out: string[] = [];
  for (const [k, t] of before.tables) {
    const now = tableAfter(k);
    if (dead.has(now)) continue;
    const kept = after.tables.get(now);
    if (!kept) {
      out.push(`table ${t.name}`);
      continue;
    }
    const keptColumns = new Set(kept.columns.map(foldCase));
    for (const c of t.columns) {
      const col = columnAfter(now, foldCase(c));
      if (!keptColumns.has(col) && !droppedColumns.has(`${now}.${col}`)) out.push(`column ${t.name}.${c}`);
    }
  }
  for (const [k, o] of before.others) {
    if (after.others.has(k) || dead.has(tableAfter(o.table)) || (o.type === 'index' && droppedIndexes.has(k))) continue;
    out.push(`${o.type} ${o.name}`);
  }
  return out;
}
