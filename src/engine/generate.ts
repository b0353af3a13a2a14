/**
 * The migration `stores generate` writes: from the schema a store's current version stands for
 * (a database built in memory) to the edited `schema.sql`. Works on the schema model (inspect,
 * diff): renames come only from `-- stores:renamed-from` annotations and run first (SQLite
 * rewrites what names the renamed objects); the remaining differences, as plain data, decide
 * per table between plain `ALTER TABLE … ADD/DROP COLUMN` (asked of SQLite on a copy holding
 * rows) and a `-- stores:rebuild`; indexes, triggers and views are dropped before what they
 * depend on changes and created after. Whatever needs a decision the schema cannot carry (a
 * drop, a narrowing, a tightened constraint, a data move) is refused with what to write instead.
 * The result is asked of SQLite: run on the old schema, it must give exactly the new one.
 */
import Database from 'better-sqlite3';
import { editDistance } from '../text.js';
import { inspect } from '../schema/inspect.js';
import { describeChange, describeColumn, diff } from '../schema/diff.js';
import type { Change, Column, Snapshot, Table } from '../schema/model.js';
import { foldCase, isWord, matchParen, nameOf, quoteIdent, splitTopLevel, tokenize } from '../sql/tokens.js';
import { generateRows } from '../verify-rows.js';
import { renameAnnotations, type RenameAnnotation } from './annotations.js';
import { affinity } from './watch.js';
import { runStep } from './steps.js';

/** Something generate will not decide alone: what, why, and what to write instead. */
export interface Refusal {
  readonly what: string;
  readonly why: string;
  readonly instead: string;
}

export interface GenerateInput {
  /** The database at the store's current version (it is not modified). */
  readonly old: Database.Database;
  /** The edited schema.sql. */
  readonly schema: string;
  /** Why the drops are wanted: written as `-- stores:destructive WHY`. */
  readonly destructive?: string;
  /** Header line of the migration. */
  readonly header?: string;
  /** Renames earlier migrations made (from their analysis): an annotation naming one is stale, not wrong. */
  readonly applied?: { readonly tables: readonly (readonly [string, string])[]; readonly columns: readonly (readonly [string, string, string])[] };
}

export type GenerateOutcome =
  | { readonly kind: 'unchanged'; readonly notes: readonly string[] }
  | { readonly kind: 'migration'; readonly sql: string; readonly summary: readonly string[]; readonly destructive: boolean; readonly notes: readonly string[] }
  | { readonly kind: 'skeleton'; readonly sql: string; readonly summary: readonly string[]; readonly moves: readonly Refusal[]; readonly notes: readonly string[] }
  | { readonly kind: 'refused'; readonly refusals: readonly Refusal[]; readonly notes: readonly string[] };

/** An annotation error, a schema that does not run: the input is wrong (not a refusal). */
export class GenerateInputError extends Error {
  override readonly name = 'GenerateInputError';
}

const q = quoteIdent;

interface Master {
  readonly type: string;
  readonly name: string;
  readonly tbl_name: string;
  readonly sql: string;
}

function objects(db: Database.Database): Master[] {
  return db
    .prepare(`SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid`)
    .all() as Master[];
}

function copyOf(db: Database.Database): Database.Database {
  return new Database(db.serialize());
}

/** Runs SQL as a migration step runs (foreign keys off, in a transaction). */
function runSql(db: Database.Database, sql: string): void {
  runStep(db, 'generate', { version: 0, name: 'generated', sql });
}

/** The rename statements the annotations ask for; stale ones (already applied) become notes. */
function renameStatements(anns: readonly RenameAnnotation[], old: Snapshot, applied: NonNullable<GenerateInput['applied']>, notes: string[]): string[] {
  const didTable = (from: string, to: string) => applied.tables.some(([f, t]) => foldCase(f) === from && foldCase(t) === to);
  const didColumn = (from: string, to: string) => applied.columns.some(([, f, t]) => foldCase(f) === foldCase(from) && foldCase(t) === foldCase(to));
  const out: string[] = [];
  const problems: string[] = [];
  const tableFrom = new Map<string, string>();
  for (const a of anns.filter((x) => x.kind === 'table')) {
    const [from, to] = [foldCase(a.from), foldCase(a.table)];
    if (old.tables[to] && !old.tables[from] && didTable(from, to)) notes.push(`schema.sql line ${a.line}: ${a.table} is already named so at this version; "-- stores:renamed-from ${a.from}" can be removed`);
    else if (!old.tables[from]) problems.push(`line ${a.line}: "-- stores:renamed-from ${a.from}" on table ${a.table}: this version has no table ${a.from} (and no migration renamed it)`);
    else if (old.tables[to]) problems.push(`line ${a.line}: "-- stores:renamed-from ${a.from}" on table ${a.table}: this version has both tables`);
    else {
      tableFrom.set(to, from);
      out.push(`ALTER TABLE ${q(old.tables[from]!.name)} RENAME TO ${q(a.table)}`);
    }
  }
  for (const a of anns.filter((x) => x.kind === 'column')) {
    const tbl = old.tables[tableFrom.get(foldCase(a.table)) ?? foldCase(a.table)];
    const has = (c: string) => tbl?.columns.some((x) => foldCase(x.name) === foldCase(c)) === true;
    if (!tbl) problems.push(`line ${a.line}: "-- stores:renamed-from ${a.from}" on column ${a.table}.${a.column}: this version has no table ${a.table} (a new table has no column to rename)`);
    else if (has(a.column!) && !has(a.from) && didColumn(a.from, a.column!)) notes.push(`schema.sql line ${a.line}: ${a.table}.${a.column} is already named so at this version; "-- stores:renamed-from ${a.from}" can be removed`);
    else if (!has(a.from)) problems.push(`line ${a.line}: "-- stores:renamed-from ${a.from}" on column ${a.table}.${a.column}: ${tbl.name} has no column ${a.from} at this version (and no migration renamed it)`);
    else if (has(a.column!)) problems.push(`line ${a.line}: "-- stores:renamed-from ${a.from}" on column ${a.table}.${a.column}: ${tbl.name} has both columns`);
    else out.push(`ALTER TABLE ${q(a.table)} RENAME COLUMN ${q(a.from)} TO ${q(a.column!)}`);
  }
  if (problems.length > 0) throw new GenerateInputError(problems.join('; '));
  return out;
}

/** Share of common column names, key columns aside (every table has an `id`): how much two tables look alike. */
function likeness(a: Table, b: Table): number {
  const names = (t: Table) => {
    const all = t.columns.map((c) => foldCase(c.name));
    const rest = t.columns.filter((c) => c.pk === 0).map((c) => foldCase(c.name));
    return rest.length > 0 ? rest : all;
  };
  const an = new Set(names(a));
  const bn = names(b);
  return bn.filter((n) => an.has(n)).length / Math.max(an.size, bn.length);
}

/** A dropped and an added column that may be one column renamed: the same definition, or the same type and a close name. */
function similarColumns(dropped: Column, added: Column): boolean {
  if (describeColumn({ ...dropped, name: '' }) === describeColumn({ ...added, name: '' })) return true;
  const [a, b] = [foldCase(dropped.name), foldCase(added.name)];
  return affinity(dropped.type) === affinity(added.type) && (a.includes(b) || b.includes(a) || editDistance(a, b) <= Math.max(2, Math.floor(Math.min(a.length, b.length) / 3)));
}

/** The literal values of a CHECK that is `col IN (…)`, or null. */
function inList(check: string): { col: string; values: string[] } | null {
  const t = tokenize(check);
  if (t.length < 4 || (t[0]!.kind !== 'word' && t[0]!.kind !== 'ident') || t[1]!.value.toLowerCase() !== 'in' || t[2]!.value !== '(' || t[t.length - 1]!.value !== ')') return null;
  const values: string[] = [];
  for (let i = 3; i < t.length - 1; i++) {
    const tok = t[i]!;
    if (tok.value === ',') continue;
    if (tok.kind !== 'string' && tok.kind !== 'number') return null;
    values.push(tok.value);
  }
  return { col: foldCase(t[0]!.value), values };
}

/** True when every row `old` accepts, `next` accepts too (IN lists: the new list contains the old one). */
function widens(old: string, next: string): boolean {
  const a = inList(old);
  const b = inList(next);
  return a !== null && b !== null && a.col === b.col && a.values.every((v) => b.values.includes(v));
}

/** Why changing a column's type would change or lose values, or null when it keeps them. */
function narrowing(t: Table, from: Column, to: Column): string | null {
  if (from.type === to.type) return null;
  if (t.strict) return to.type === 'ANY' ? null : `STRICT ${t.name} would refuse or convert values of ${from.type} stored as ${to.type}`;
  const [a, b] = [affinity(from.type), affinity(to.type)];
  // As the destructive analysis judges a rebuild (watch.ts): same affinity, or none (BLOB), keeps every value.
  if (a === b || b === 'BLOB') return null;
  return `${from.type || '(no type)'} → ${to.type || '(no type)'} changes the affinity ${a} to ${b}: SQLite converts the stored values`;
}

interface TablePlan {
  readonly table: string;
  readonly how: 'alter' | 'rebuild';
  readonly alters: readonly string[];
  readonly dropped: readonly string[];
  readonly added: readonly string[];
}

/** Refusals for one table kept from old to new, or its plan (ALTER or rebuild). */
function planTable(cur: Table, next: Table, changes: readonly Change[], ctx: { refusals: Refusal[]; moves: Refusal[]; created: readonly Table[]; destructive: boolean; defs: ColumnDefs }): TablePlan | null {
  const name = next.name;
  const curCols = new Map(cur.columns.map((c) => [foldCase(c.name), c]));
  const nextCols = new Map(next.columns.map((c) => [foldCase(c.name), c]));
  const dropped = cur.columns.filter((c) => !nextCols.has(foldCase(c.name)));
  const added = next.columns.filter((c) => !curCols.has(foldCase(c.name)));
  const refuse = (what: string, why: string, instead: string) => ctx.refusals.push({ what, why, instead });
  const count = ctx.refusals.length;
  for (const c of changes) {
    if (c.object === 'primary-key') refuse(`primary key of ${name}`, `${c.actual} → ${c.expected}: a primary key, rowid or AUTOINCREMENT change rewrites every row's identity`, 'write this migration by hand (a -- stores:rebuild with the mapping the keys need), or keep the primary key');
    if (c.object === 'table-option' && c.name !== 'column order') refuse(`${c.name} of ${name}`, `${c.actual} → ${c.expected}: STRICT, WITHOUT ROWID and virtual tables change how every row is stored`, 'write this migration by hand, or keep the table option');
    if (c.object === 'foreign-key' && c.change === 'missing' && !fkOnNewColumns(c.expected ?? '', next, added) && !sameReference(c.expected ?? '', cur, next)) refuse(`foreign key of ${name}`, `new ${c.expected}: existing rows may point at nothing`, 'write the migration by hand: fix or delete the rows that would point at nothing, then -- stores:rebuild');
    if (c.object === 'unique' && c.change === 'missing') refuse(`${c.expected} on ${name}`, 'existing rows may hold duplicates', 'write the migration by hand: resolve duplicates first (UPDATE/DELETE), then -- stores:rebuild; or use a new CREATE UNIQUE INDEX after cleaning the rows');
  }
  const oldChecks = cur.checks.filter((x) => !next.checks.includes(x));
  const addedNames = new Set(added.map((c) => foldCase(c.name)));
  const columnNames = new Set(next.columns.map((c) => foldCase(c.name)));
  for (const chk of next.checks.filter((x) => !cur.checks.includes(x))) {
    // A CHECK on new columns only is judged by SQLite on the existing rows when the column is added.
    const onNewOnly = [...mentions(chk)].filter((n) => columnNames.has(n)).every((n) => addedNames.has(n));
    if (!onNewOnly && !oldChecks.some((o) => widens(o, chk))) refuse(`CHECK (${chk}) on ${name}`, 'a new or tightened CHECK (or a shorter IN list) may fail on existing rows', 'write the migration by hand with a -- stores:map that brings every row within the CHECK (verify proves it), or widen the CHECK instead');
  }
  for (const c of next.columns) {
    const o = curCols.get(foldCase(c.name));
    if (!o) continue;
    const why = narrowing(cur, o, c);
    if (why) refuse(`type of ${name}.${c.name}`, `a narrowing type change: ${why}`, 'keep the type, or add a new column and copy the values you can convert in a hand-written migration');
    if (c.notNull && !o.notNull) refuse(`NOT NULL on ${name}.${c.name}`, 'existing rows may hold NULL there', `write the migration by hand with -- stores:map ${c.name} = coalesce(${c.name}, <value>) before the rebuild`);
    if ((c.collate ?? '') !== (o.collate ?? '') && isKeyed(next, c.name)) refuse(`COLLATE of ${name}.${c.name}`, 'a collation change on a column of a key may make existing rows collide', 'write the migration by hand, resolving the rows that would collide');
  }
  for (const c of added) {
    if (c.notNull && c.default !== null && !constantDefault(c.default)) {
      refuse(`${name}.${c.name} ${c.type} NOT NULL DEFAULT ${c.default}`, 'NOT NULL without a constant default on a table that may hold rows: every existing row would get the value of the moment the migration runs (SQLite: "Cannot add a column with non-constant default")', `give it a constant default, or allow NULL; to fill it otherwise, write the migration by hand (-- stores:rebuild ${name} with -- stores:map ${c.name} = <expression>) and an invariant`);
    }
    if (c.notNull && c.default === null && c.generated === null) {
      refuse(`${name}.${c.name} ${c.type} NOT NULL`, `NOT NULL without a constant default on a table that may hold rows (SQLite: "Cannot add a NOT NULL column with default value NULL")`, `give it a constant default (DEFAULT '' or DEFAULT 0), or allow NULL; to fill it from other columns, write the migration by hand (-- stores:rebuild ${name} with -- stores:map ${c.name} = <expression>) and an invariant`);
    }
  }
  for (const c of dropped) {
    const twin = added.find((a) => similarColumns(c, a));
    const moved = ctx.created.find((t) => t.columns.some((x) => foldCase(x.name) === foldCase(c.name)) && t.foreignKeys.some((fk) => fk.table === foldCase(name)));
    if (twin) refuse(`${name}.${c.name} dropped, ${name}.${twin.name} added`, 'is this a rename? a drop next to a similar add would lose the values', `if it is a rename, write "-- stores:renamed-from ${c.name}" at the end of ${twin.name}'s line in schema.sql; if not, drop the column in one generate run and add the new one in the next`);
    else if (moved) ctx.moves.push({ what: `${name}.${c.name} → ${moved.name}`, why: `${name}.${c.name} is dropped while the new table ${moved.name}, which points at ${name}, has a ${c.name} column: a data move`, instead: `complete the copy in the skeleton, add an invariant to store.json that proves it, remove the -- stores:todo lines, then run stores verify` });
    else if (!ctx.destructive) refuse(`${name}.${c.name} dropped`, 'dropping a column destroys its values', `say why with --destructive "<why ${c.name} is no longer needed>"`);
  }
  if (ctx.refusals.length > count) return null;
  // Plain ALTER when the table changes only by columns added at the end and columns dropped.
  // (CHECKs and foreign keys that reached here are on added columns: the ALTER may carry them; SQLite's result decides.)
  const onlyColumns = changes.every((c) => (c.object === 'column' && c.change !== 'changed') || ((c.object === 'check' || c.object === 'foreign-key') && c.change === 'missing'));
  const order = [...cur.columns.filter((c) => nextCols.has(foldCase(c.name))), ...added].map((c) => foldCase(c.name)).join(',');
  const alterable = onlyColumns && order === next.columns.map((c) => foldCase(c.name)).join(',');
  const alters = alterable ? [...added.map((c) => `ALTER TABLE ${q(name)} ADD COLUMN ${ctx.defs.get(`${foldCase(name)}.${foldCase(c.name)}`) ?? q(c.name)}`), ...dropped.map((c) => `ALTER TABLE ${q(name)} DROP COLUMN ${q(c.name)}`)] : [];
  return { table: name, how: alterable ? 'alter' : 'rebuild', alters, dropped: dropped.map((c) => c.name), added: added.map((c) => c.name) };
}

const constants = new Map<string, boolean>();

/** Whether SQLite takes a DEFAULT as constant: asked by adding a column with it to a table holding a row. */
function constantDefault(expr: string): boolean {
  let known = constants.get(expr);
  if (known === undefined) {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE t (a); INSERT INTO t VALUES (1)');
      db.exec(`ALTER TABLE t ADD COLUMN b DEFAULT ${expr}`);
      known = true;
    } catch {
      known = false;
    } finally {
      db.close();
    }
    constants.set(expr, known);
  }
  return known;
}

/** True when the new foreign key points the same columns at the same parent as an old one (only its actions differ). */
function sameReference(described: string, cur: Table, next: Table): boolean {
  const key = (f: Table['foreignKeys'][number]) => JSON.stringify([f.from.map(foldCase), f.table, f.to.map((t) => (t === null ? null : foldCase(t)))]);
  const fk = next.foreignKeys.find((f) => described.startsWith(`(${f.from.join(', ')}) REFERENCES ${f.table}(`));
  return fk !== undefined && cur.foreignKeys.some((f) => key(f) === key(fk));
}

/** True when the new foreign key (as `diff` describes it) is on added columns only: existing rows hold their default there. */
function fkOnNewColumns(described: string, next: Table, added: readonly Column[]): boolean {
  const fk = next.foreignKeys.find((f) => described.startsWith(`(${f.from.join(', ')}) REFERENCES ${f.table}(`));
  return fk !== undefined && fk.from.every((f) => added.some((a) => foldCase(a.name) === foldCase(f)));
}

function isKeyed(t: Table, col: string): boolean {
  const f = foldCase(col);
  return (t.primaryKey?.columns.some((k) => k.name === f) ?? false) || t.uniques.some((u) => u.columns.some((k) => k.name === f));
}

/** Each column's definition as schema.sql writes it, by `table.column` (folded). */
type ColumnDefs = ReadonlyMap<string, string>;

/** Every column definition of every CREATE TABLE of `db`, as written. */
function readColumnDefs(db: Database.Database): ColumnDefs {
  const defs = new Map<string, string>();
  for (const o of objects(db)) {
    if (o.type !== 'table') continue;
    const toks = tokenize(o.sql);
    const open = toks.findIndex((t) => t.value === '(');
    if (open < 0) continue;
    const close = matchParen(toks, open);
    for (const part of splitTopLevel(toks.slice(open + 1, close < 0 ? toks.length : close))) {
      const first = part[0];
      if (!first || ['constraint', 'primary', 'unique', 'check', 'foreign'].some((k) => isWord(first, k))) continue;
      defs.set(`${foldCase(o.name)}.${foldCase(nameOf(first))}`, o.sql.slice(first.start, part[part.length - 1]!.end));
    }
  }
  return defs;
}

/** Names a statement mentions (folded): what a view or trigger depends on, over-approximated. */
function mentions(sql: string): Set<string> {
  return new Set(tokenize(sql).filter((t) => t.kind === 'word' || t.kind === 'ident' || t.kind === 'string').map((t) => foldCase(t.kind === 'string' ? t.value.slice(1, -1) : t.value)));
}

/**
 * Tries ALTER statements on a copy holding rows: SQLite decides whether they apply, and whether
 * the table they leave is the new one (else the table is rebuilt).
 */
function altersApply(scratch: Database.Database, prelude: readonly string[], alters: readonly string[], next: Table): boolean {
  const db = copyOf(scratch);
  try {
    runSql(db, [...prelude, ...alters].join(';\n'));
    const got = inspect(db).tables[foldCase(next.name)];
    const only = (t: Table | undefined): Snapshot => ({ tables: t ? { [foldCase(t.name)]: t } : {}, indexes: {}, triggers: {}, views: {} });
    return diff(only(next), only(got)).length === 0;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** Computes the migration (see the module comment). */
export function generate(input: GenerateInput): GenerateOutcome {
  const notes: string[] = [];
  const nextDb = new Database(':memory:');
  const work = copyOf(input.old);
  try {
    try {
      nextDb.exec(input.schema);
    } catch (err) {
      throw new GenerateInputError(`schema.sql does not run: ${(err as Error).message}`);
    }
    let anns: RenameAnnotation[];
    try {
      anns = renameAnnotations(input.schema);
    } catch (err) {
      throw new GenerateInputError((err as Error).message);
    }
    const next = inspect(nextDb);
    const old = inspect(work);
    const renames = renameStatements(anns, old, input.applied ?? { tables: [], columns: [] }, notes);
    // Rows in every table, so that SQLite judges each ALTER as it will on real files (best effort:
    // verify, which runs on the result, fills the tables the same way and reports what it could not).
    try {
      generateRows(work, old);
    } catch {
      // judged on the rows that went in
    }
    if (renames.length > 0) {
      try {
        runSql(work, renames.join(';\n'));
      } catch (err) {
        throw new GenerateInputError(`the renames schema.sql asks for fail: ${(err as Error).message}`);
      }
    }
    const cur = inspect(work);
    const changes = diff(next, cur);
    if (changes.length === 0 && renames.length === 0) return { kind: 'unchanged', notes };
    return assemble({ input, next, cur, changes, renames, work, nextDb, notes, defs: readColumnDefs(nextDb) });
  } finally {
    nextDb.close();
    work.close();
  }
}

interface Ctx {
  readonly input: GenerateInput;
  readonly next: Snapshot;
  readonly cur: Snapshot;
  readonly changes: readonly Change[];
  readonly renames: readonly string[];
  readonly work: Database.Database;
  readonly nextDb: Database.Database;
  readonly notes: string[];
  readonly defs: ColumnDefs;
}

function assemble(ctx: Ctx): GenerateOutcome {
  const { input, next, cur, changes, notes } = ctx;
  const refusals: Refusal[] = [];
  const moves: Refusal[] = [];
  const destructive = input.destructive !== undefined && input.destructive.trim() !== '';
  const created = Object.keys(next.tables).filter((k) => !cur.tables[k]).map((k) => next.tables[k]!);
  const droppedTables = Object.keys(cur.tables).filter((k) => !next.tables[k]).map((k) => cur.tables[k]!);
  for (const d of droppedTables) {
    const twin = created.find((c) => likeness(d, c) >= 0.5);
    if (twin) refusals.push({ what: `table ${d.name} dropped, table ${twin.name} created`, why: 'is this a rename? a drop next to a similar table would lose the rows', instead: `if it is a rename, write "-- stores:renamed-from ${d.name}" at the end of the CREATE TABLE ${twin.name} line in schema.sql; if not, drop the table in one generate run and create the new one in the next` });
    else if (!destructive) refusals.push({ what: `table ${d.name} dropped`, why: 'dropping a table destroys its rows', instead: `say why with --destructive "<why ${d.name} is no longer needed>"` });
  }
  for (const [key, ix] of Object.entries(next.indexes)) {
    const had = cur.indexes[key];
    if (!ix.unique || !cur.tables[ix.table] || (had && had.unique && had.terms.join() === ix.terms.join() && had.where === ix.where)) continue;
    refusals.push({ what: `UNIQUE index ${ix.name} on ${ix.table}`, why: 'existing rows may hold duplicates: CREATE UNIQUE INDEX would fail on them', instead: 'write the migration by hand: resolve the duplicates first (UPDATE/DELETE, declared destructive if rows go), then CREATE UNIQUE INDEX' });
  }
  const plans: TablePlan[] = [];
  for (const key of Object.keys(next.tables)) {
    const [n, c] = [next.tables[key]!, cur.tables[key]];
    if (!c) continue;
    const own = changes.filter((x) => foldCase(x.table) === key && !['index', 'trigger', 'view', 'table'].includes(x.object));
    if (own.length === 0) continue;
    const p = planTable(c, n, own, { refusals, moves, created, destructive, defs: ctx.defs });
    if (p) plans.push(p);
  }
  if (refusals.length > 0) return { kind: 'refused', refusals, notes };
  return statements(ctx, plans, created, droppedTables, moves, destructive);
}

/** The migration's statements in order, asked of SQLite before they are returned. */
function statements(ctx: Ctx, plans: TablePlan[], created: readonly Table[], droppedTables: readonly Table[], moves: readonly Refusal[], destructive: boolean): GenerateOutcome {
  const { input, next, cur, work, nextDb, notes } = ctx;
  const curObjects = objects(work);
  const nextObjects = objects(nextDb);
  const nextByName = new Map(nextObjects.map((o) => [foldCase(o.name), o]));
  const sameSql = (o: Master) => {
    const n = nextByName.get(foldCase(o.name));
    return n !== undefined && n.type === o.type && sameMeaning(o, n, cur, next);
  };
  // Tables whose rows or columns change: what depends on them is dropped and recreated.
  // (A rebuild recreates the triggers and views it drops; those on dropped columns must go first.)
  const touched = new Set([...plans.filter((p) => p.dropped.length > 0).map((p) => foldCase(p.table)), ...droppedTables.map((t) => foldCase(t.name))]);
  const drop = toDrop(curObjects, sameSql, touched);
  const out: string[] = [];
  const summary: string[] = [];
  for (const r of ctx.renames) (out.push(r), summary.push(r));
  for (const o of curObjects) {
    if (o.type === 'table' || !drop.has(foldCase(o.name))) continue;
    if (o.type === 'index' && droppedTables.some((t) => foldCase(t.name) === foldCase(o.tbl_name))) continue;
    out.push(`DROP ${o.type.toUpperCase()} ${q(o.name)}`);
    summary.push(`drop ${o.type} ${o.name}`);
  }
  for (const o of nextObjects) if (o.type === 'table' && created.some((t) => foldCase(t.name) === foldCase(o.name))) (out.push(o.sql), summary.push(`create table ${o.name}`));
  // What an ALTER is tried after, on the copy that already holds the renames.
  const prelude = out.slice(ctx.renames.length);
  for (const m of moves) out.push(...skeletonFor(m, cur, next));
  for (const p of plans) {
    const asAlter = p.how === 'alter' && altersApply(work, prelude, p.alters, next.tables[foldCase(p.table)]!);
    if (asAlter) {
      out.push(...p.alters);
      summary.push(...p.alters);
    } else {
      const create = nextObjects.find((o) => o.type === 'table' && foldCase(o.name) === foldCase(p.table))!;
      out.push(`-- stores:rebuild ${p.table}\n${create.sql}`);
      summary.push(`rebuild ${p.table} (${describeRebuild(p, ctx.changes)})`);
    }
  }
  for (const t of droppedTables) (out.push(`DROP TABLE ${q(t.name)}`), summary.push(`drop table ${t.name}`));
  for (const o of nextObjects) {
    if (o.type === 'table') continue;
    const had = curObjects.find((c) => foldCase(c.name) === foldCase(o.name));
    if (!had || drop.has(foldCase(o.name))) (out.push(o.sql), summary.push(`create ${o.type} ${o.name}`));
  }
  const dropsSomething = droppedTables.length > 0 || plans.some((p) => p.dropped.length > 0);
  if (destructive && !dropsSomething) notes.push('--destructive is not needed: nothing is dropped');
  const head = headerLines(input, dropsSomething, moves.length > 0);
  const sql = `${head.join('\n')}\n${out.map((s) => `${s};`).join('\n')}\n`;
  if (moves.length > 0) return { kind: 'skeleton', sql, summary, moves, notes };
  try {
    proveBySqlite(input.old, sql, next);
  } catch (err) {
    return { kind: 'refused', refusals: [{ what: 'the generated migration', why: (err as Error).message, instead: 'write this migration by hand (and report the case: generate should not produce it)' }], notes };
  }
  return { kind: 'migration', sql, summary, destructive: dropsSomething, notes };
}

/** Views, triggers and indexes to drop first: those that change, and what reads a touched table or a dropped object. */
function toDrop(curObjects: readonly Master[], same: (o: Master) => boolean, touched: ReadonlySet<string>): Set<string> {
  const drop = new Set<string>();
  for (const o of curObjects) if (o.type !== 'table' && !same(o)) drop.add(foldCase(o.name));
  for (let grew = true; grew; ) {
    grew = false;
    for (const o of curObjects) {
      if ((o.type !== 'view' && o.type !== 'trigger') || drop.has(foldCase(o.name))) continue;
      const names = mentions(o.sql);
      if ([...touched, ...drop].some((n) => names.has(n)) || touched.has(foldCase(o.tbl_name))) {
        drop.add(foldCase(o.name));
        grew = true;
      }
    }
  }
  return drop;
}

/** The migration's first lines: what it is, the destructive declaration, a skeleton's to-do. */
function headerLines(input: GenerateInput, drops: boolean, skeleton: boolean): string[] {
  const head = [input.header ?? '-- generated by stores generate'];
  const why = input.destructive?.trim().replace(/\s+/g, ' ');
  if (drops || skeleton) head.push(`-- stores:destructive ${why || 'TODO say why the dropped data may go'}`);
  if (skeleton) {
    head.push('-- stores:todo this is a skeleton: complete the data move below, add an invariant to store.json that proves it,');
    if (!why) head.push('-- stores:todo say on the stores:destructive line why the dropped data may go,');
    head.push('-- stores:todo then delete every "-- stores:todo" line and run `stores verify`.');
  }
  return head;
}

/** Same object by meaning: compared through the model, so spelling never counts. */
function sameMeaning(o: Master, n: Master, cur: Snapshot, next: Snapshot): boolean {
  const key = foldCase(o.name);
  const pick = (s: Snapshot) => (o.type === 'index' ? { indexes: pickOne(s.indexes, key) } : o.type === 'trigger' ? { triggers: pickOne(s.triggers, key) } : { views: pickOne(s.views, key) });
  const a = { tables: {}, indexes: {}, triggers: {}, views: {}, ...pick(cur) } as Snapshot;
  const b = { tables: {}, indexes: {}, triggers: {}, views: {}, ...pick(next) } as Snapshot;
  void n;
  return diff(b, a).length === 0;
}

function pickOne<T>(rec: Readonly<Record<string, T>>, key: string): Record<string, T> {
  return rec[key] ? { [key]: rec[key]! } : {};
}

function describeRebuild(p: TablePlan, changes: readonly Change[]): string {
  const own = changes.filter((c) => foldCase(c.table) === foldCase(p.table) && !['index', 'trigger', 'view'].includes(c.object));
  return own.map(describeChange).join('; ').replace(/expected (.*?), found (.*?)(;|$)/g, '$2 → $1$3') || 'columns';
}

/** The skeleton of a data move: the copy to complete, marked to do. */
function skeletonFor(m: Refusal, cur: Snapshot, next: Snapshot): string[] {
  const [from, target] = m.what.split(' → ') as [string, string];
  const [table, column] = from.split('.') as [string, string];
  const t = next.tables[foldCase(target)]!;
  const fk = t.foreignKeys.find((f) => f.table === foldCase(table));
  const src = cur.tables[foldCase(table)]!;
  const cols: string[] = [];
  const vals: string[] = [];
  fk?.from.forEach((f, i) => (cols.push(q(f)), vals.push(q(fk.to[i] ?? src.columns.find((c) => c.pk === 1)?.name ?? 'rowid'))));
  cols.push(q(column));
  vals.push(q(column));
  return [`-- stores:todo check this copy of ${table}.${column} into ${target} (and fill any other NOT NULL column)\nINSERT INTO ${q(target)} (${cols.join(', ')}) SELECT ${vals.join(', ')} FROM ${q(table)} WHERE ${q(column)} IS NOT NULL`];
}

/** Runs the migration on the old schema in memory: the result must be exactly the new schema. */
function proveBySqlite(old: Database.Database, sql: string, next: Snapshot): void {
  const db = copyOf(old);
  try {
    generateRows(db, inspect(db));
    runSql(db, sql);
    const left = diff(next, inspect(db));
    if (left.length > 0) throw new Error(`the generated migration does not produce schema.sql: ${left.map(describeChange).join('; ')}`);
  } finally {
    db.close();
  }
}
