/**
 * Introspects a live connection into a {@link Snapshot}: plain data that says what the schema
 * means, read from `sqlite_schema` and the table-valued pragma functions
 * (https://www.sqlite.org/pragma.html#pragfunc).
 */
import type Database from 'better-sqlite3';
import { canonical, canonicalExpr, foldCase, isWord, nameOf, quoteIdent, quoteString, stripOuterParens, tokenize, upperCase, type Token } from '../sql/tokens.js';
import type { Column, ForeignKey, Index, KeyTerm, MasterRow, PrimaryKey, Snapshot, Table, Trigger, Unique, View } from './model.js';
import { describeKeyTerm, describeUnique } from './diff.js';
import { parseCreateIndex, parseCreateTable, parseCreateTrigger, parseCreateView, type ParsedKey, type ParsedTable } from './parse.js';
import { perText } from '../memo.js';

type DB = Database.Database;

/** Reads `sqlite_schema` (user objects only, in a stable order). */
export function readMaster(db: DB): MasterRow[] {
  // Rows as arrays, made into objects here: cheaper than better-sqlite3's row objects, and all
  // of one shape for the comparisons that follow.
  const rows = db
    .prepare(
      `SELECT type, name, tbl_name, sql FROM sqlite_schema
        WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
        ORDER BY type, name`,
    )
    .raw()
    .all() as [string, string, string, string | null][];
  return rows.map((r) => ({ type: r[0], name: r[1], tbl_name: r[2], sql: r[3] }));
}

/** Two master listings are equal when every row matches to the letter: same schema for sure. */
export function sameMaster(a: readonly MasterRow[], b: readonly MasterRow[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.type !== y.type || x.name !== y.name || x.tbl_name !== y.tbl_name || x.sql !== y.sql) return false;
  }
  return true;
}

interface TableRow {
  name: string;
  type: string;
  wr: number;
  strict: number;
}
interface XInfoRow {
  tbl: string;
  cid: number;
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
  hidden: number;
}
interface FkRow {
  tbl: string;
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
  match: string;
}
interface IndexKeyRow {
  tbl: string;
  idx: string;
  isUnique: number;
  origin: string;
  seqno: number;
  cid: number;
  col: string | null;
  descending: number;
  coll: string;
}

/**
 * A declared type, upper-cased, without comments, with white space folded and none around
 * parentheses and commas. SQLite keeps the type as written, comments included, and takes
 * `GENERATED ALWAYS` off its end only when white space alone separates the words (a comment
 * between them leaves `GENERATED` or both in the type). Neither word can change the column's
 * affinity (https://www.sqlite.org/datatype3.html#determination_of_column_affinity), so every
 * spelling gives the same text here.
 */
export function canonicalType(type: string): string {
  const words = tokenize(type);
  if (isWord(words[words.length - 1], 'always')) words.pop();
  if (isWord(words[words.length - 1], 'generated')) words.pop();
  return words.map((t) => upperCase(t.value)).join(' ').replace(/\s*([(),])\s*/g, '$1');
}

const DEFAULT_KEYWORDS = new Set(['null', 'true', 'false', 'current_time', 'current_date', 'current_timestamp']);

/**
 * Canonical text of a DEFAULT. SQLite takes a bare identifier there as a string
 * (`DEFAULT abc` stores 'abc'), so it is compared as the string it stands for.
 */
export function canonicalDefault(text: string): string {
  const toks = tokenize(text);
  if (toks.length === 1 && (toks[0]!.kind === 'word' || toks[0]!.kind === 'ident') && !DEFAULT_KEYWORDS.has(foldCase(toks[0]!.value))) {
    return quoteString(toks[0]!.value);
  }
  return canonicalExpr(text);
}

// Every pragma is asked once per database, for all tables at once (a join with sqlite_schema),
// not once per table. A virtual table is left out: asking about it would load its module.
// https://www.sqlite.org/pragma.html#pragfunc
const Q_TABLES = `SELECT l.name, l.type, l.wr, l.strict FROM pragma_table_list AS l WHERE l.schema = 'main' AND l.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`;
const ORDINARY = `s.type = 'table' AND s.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND s.sql NOT LIKE 'create virtual%'`;
const Q_COLUMNS = `SELECT s.name AS tbl, x.* FROM sqlite_schema AS s JOIN pragma_table_xinfo(s.name, 'main') AS x WHERE ${ORDINARY}`;
const Q_FKS = `SELECT s.name AS tbl, f.* FROM sqlite_schema AS s JOIN pragma_foreign_key_list(s.name, 'main') AS f WHERE ${ORDINARY}`;
const Q_INDEX_KEYS = `SELECT s.name AS tbl, i.name AS idx, i."unique" AS isUnique, i.origin, x.seqno, x.cid, x.name AS col, x."desc" AS descending, x.coll
  FROM sqlite_schema AS s JOIN pragma_index_list(s.name, 'main') AS i JOIN pragma_index_xinfo(i.name, 'main') AS x
 WHERE ${ORDINARY} AND x.key = 1`;

function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/** What inspect asks SQLite, all tables at once. */
interface Reported {
  readonly columns: Map<string, XInfoRow[]>;
  readonly fks: Map<string, FkRow[]>;
  /** Key columns of every index, by table, then by index (in SQLite's order). */
  readonly indexKeys: Map<string, Map<string, IndexKeyRow[]>>;
}

function ask(db: DB): Reported {
  const byTable = (r: { tbl: string }) => foldCase(r.tbl);
  const indexKeys = new Map<string, Map<string, IndexKeyRow[]>>();
  for (const [t, rows] of groupBy(db.prepare(Q_INDEX_KEYS).all() as IndexKeyRow[], byTable)) {
    indexKeys.set(t, groupBy(rows, (r) => foldCase(r.idx)));
  }
  return {
    columns: groupBy(db.prepare(Q_COLUMNS).all() as XInfoRow[], byTable),
    fks: groupBy(db.prepare(Q_FKS).all() as FkRow[], byTable),
    indexKeys,
  };
}

/**
 * What a CREATE TABLE statement says depends on its text alone, and the same texts come back
 * again and again: validating a registry introspects every version of every store (90 tables
 * for the shipped three, 24 texts), a fleet's drifted files share their tables. Frozen: every
 * caller shares the result.
 */
const parsedTable = perText((sql) => deepFreeze(parseCreateTable(sql)));

/** Introspects the whole schema of `db` (the `main` schema). */
export function inspect(db: DB, master: readonly MasterRow[] = readMaster(db)): Snapshot {
  const tables: Record<string, Table> = {};
  const indexes: Record<string, Index> = {};
  const triggers: Record<string, Trigger> = {};
  const views: Record<string, View> = {};
  const sqlOf = new Map(master.map((r) => [`${r.type}\u0000${foldCase(r.name)}`, r.sql ?? '']));
  const reported = ask(db);
  // Shadow tables of virtual tables are the module's business, not the schema's.
  const shadow = new Set<string>();
  for (const t of db.prepare(Q_TABLES).all() as TableRow[]) {
    const key = foldCase(t.name);
    if (t.type === 'shadow') shadow.add(key);
    if (t.type !== 'table' && t.type !== 'virtual') continue;
    const parsed = parsedTable(sqlOf.get(`table\u0000${key}`) ?? '');
    tables[key] = readTable(t, parsed, reported);
  }
  resolveForeignKeyTargets(tables);

  for (const row of master) {
    const key = foldCase(row.name);
    const on = foldCase(row.tbl_name);
    if (!row.sql || shadow.has(on)) continue;
    if (row.type === 'index') {
      const parsed = parseCreateIndex(row.sql);
      const rows = reported.indexKeys.get(on)?.get(key) ?? [];
      const keys = rows.map((r) => indexTerm(r, parsed.terms[r.seqno]));
      indexes[key] = { name: row.name, table: on, unique: rows[0]?.isUnique === 1, keys, terms: keys.map(describeKeyTerm), where: parsed.where };
    } else if (row.type === 'trigger') {
      triggers[key] = { name: row.name, table: on, ...parseCreateTrigger(row.sql) };
    } else if (row.type === 'view') {
      views[key] = { name: row.name, ...parseCreateView(row.sql) };
    }
  }
  return { tables, indexes, triggers, views };
}

/** The collation a column has when nothing else is said (its declared one, else BINARY). */
function columnCollation(parsed: ParsedTable | undefined, column: string): string {
  return parsed?.columns.find((c) => foldCase(c.name) === column)?.collate ?? 'BINARY';
}

/**
 * One key column of an index, as SQLite reports it, with the collation it really has (the
 * column's own when none is written). An expression (cid -2) is read from the statement;
 * SQLite gives it a collation only from a COLLATE that wraps the whole expression, so that
 * COLLATE is taken off the text and kept as the term's collation.
 */
function indexTerm(r: IndexKeyRow, written: readonly Token[] | undefined): KeyTerm {
  const coll = upperCase(r.coll);
  const collate = coll === 'BINARY' ? null : coll;
  if (r.cid >= 0 || r.cid === -1) return { name: r.cid === -1 ? 'rowid' : foldCase(r.col ?? ''), collate, desc: r.descending === 1 };
  let toks = written ?? [];
  const n = toks.length;
  if (collate && n >= 2 && isWord(toks[n - 2], 'collate') && upperCase(nameOf(toks[n - 1]!)) === coll) toks = toks.slice(0, -2);
  return { name: canonical(stripOuterParens(toks)), collate, desc: r.descending === 1 };
}

/** A table, from what SQLite reports about it and, for the rest, its statement. */
function readTable(t: TableRow, parsed: ParsedTable, reported: Reported): Table {
  const key = foldCase(t.name);
  const parsedCols = new Map(parsed.columns.map((c) => [foldCase(c.name), c]));
  const columns = (reported.columns.get(key) ?? []).map((c): Column => {
    const p = parsedCols.get(foldCase(c.name));
    return {
      name: c.name,
      type: canonicalType(c.type),
      notNull: c.notnull === 1,
      notNullConflict: c.notnull === 1 ? (p?.notNullConflict ?? null) : null,
      default: c.dflt_value === null ? null : canonicalDefault(c.dflt_value),
      pk: c.pk,
      collate: p?.collate && p.collate !== 'BINARY' ? p.collate : null,
      generated: c.hidden === 2 || c.hidden === 3 ? { stored: c.hidden === 3, expr: p?.generated?.expr ?? '' } : null,
      hidden: c.hidden === 1,
    };
  });
  const indexKeys = reported.indexKeys.get(key) ?? new Map<string, IndexKeyRow[]>();
  const keyOf = (rows: readonly IndexKeyRow[]) => rows.map((r) => indexTerm(r, undefined));
  const uniques: Unique[] = [];
  let pkIndex: IndexKeyRow[] | null = null;
  for (const rows of indexKeys.values()) {
    if (rows[0]!.origin === 'pk') pkIndex = rows;
    else if (rows[0]!.origin === 'u') uniques.push({ columns: keyOf(rows), conflict: conflictOf(rows, parsed, undefined) });
  }
  const pkCols = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  const writtenPk = parsed.keys.find((k) => k.kind === 'pk');
  const primaryKey: PrimaryKey | null =
    pkCols.length === 0
      ? null
      : {
          columns: pkIndex ? keyOf(pkIndex) : pkCols.map((c) => ({ name: foldCase(c.name), collate: null, desc: false })),
          conflict: pkIndex ? conflictOf(pkIndex, parsed, writtenPk) : (writtenPk?.conflict ?? null),
          autoincrement: parsed.autoincrement,
          rowid: pkIndex === null,
        };
  return {
    name: t.name,
    columns,
    primaryKey,
    foreignKeys: readForeignKeys(reported.fks.get(key) ?? [], parsed),
    checks: parsed.checks,
    uniques: uniques.sort((a, b) => (describeUnique(a) < describeUnique(b) ? -1 : 1)),
    withoutRowid: t.wr === 1,
    strict: t.strict === 1,
    virtual: t.type === 'virtual' ? parsed.virtual ?? '' : null,
  };
}

/**
 * The conflict clause of the index SQLite made for a PRIMARY KEY or UNIQUE constraint. SQLite
 * makes one index for constraints on the same columns with the same collations (the primary
 * key's, if it is one of them), and keeps the clause that is not the default:
 * https://www.sqlite.org/lang_conflict.html. A UNIQUE index never takes the clause of a
 * primary key: that one has an index of its own, or is the rowid.
 */
function conflictOf(rows: readonly IndexKeyRow[], parsed: ParsedTable, written: ParsedKey | undefined): string | null {
  const cols = rows.map((r) => `${foldCase(r.col ?? '')} ${upperCase(r.coll)}`).join(',');
  const pk = rows[0]?.origin === 'pk';
  for (const k of parsed.keys) {
    if (k.conflict === null || (!pk && k.kind === 'pk')) continue;
    const terms = k.terms.map((t) => `${t.name} ${t.collate ?? columnCollation(parsed, t.name)}`).join(',');
    if (terms === cols) return k.conflict;
  }
  return written?.conflict ?? null;
}

/**
 * Foreign keys as `pragma_foreign_key_list` reports them, with the deferrability read from the
 * statement. SQLite numbers a table's keys last-declared first; each is paired with the written
 * key at that place, or else with the first unpaired one on the same columns and table.
 */
function readForeignKeys(rows: readonly FkRow[], parsed: ParsedTable): ForeignKey[] {
  const written = parsed.foreignKeys;
  const used = new Set<number>();
  const out: ForeignKey[] = [];
  for (const group of groupBy(rows, (r) => String(r.id)).values()) {
    const r0 = group[0]!;
    const from = group.map((r) => foldCase(r.from));
    const table = foldCase(r0.table);
    const same = (i: number) => !used.has(i) && written[i] !== undefined && written[i]!.table === table && written[i]!.from.join(',') === from.join(',');
    let at = written.length - 1 - r0.id;
    if (!same(at)) at = written.findIndex((_, i) => same(i));
    if (at >= 0) used.add(at);
    out.push({
      table,
      from,
      to: group.map((r) => (r.to === null ? null : foldCase(r.to))),
      onDelete: r0.on_delete,
      onUpdate: r0.on_update,
      match: r0.match,
      deferred: at >= 0 && written[at]!.deferred,
    });
  }
  return out;
}

/**
 * A REFERENCES clause without columns means the parent's primary key: resolve it, so that
 * `REFERENCES t` and `REFERENCES t(id)` compare equal.
 */
function resolveForeignKeyTargets(tables: Record<string, Table>): void {
  for (const key of Object.keys(tables)) {
    const t = tables[key]!;
    if (!t.foreignKeys.some((fk) => fk.to.some((c) => c === null))) continue;
    tables[key] = {
      ...t,
      foreignKeys: t.foreignKeys.map((fk) => {
        const parent = tables[fk.table];
        const pk = parent ? parent.columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => foldCase(c.name)) : [];
        return { ...fk, to: fk.to.map((c, i) => c ?? pk[i] ?? null) };
      }),
    };
  }
}

/** True when the table holds at least one row. */
export function hasRows(db: DB, table: string): boolean {
  return db.prepare(`SELECT EXISTS (SELECT 1 FROM ${quoteIdent(table)}) AS x`).pluck().get() === 1;
}


/**
 * What a schema is depends only on its `sqlite_schema` rows, so files with the same rows have
 * the same snapshot: a fleet's files of one release (or of one legacy layout) are introspected
 * once per thread, not once per file. Bounded (least recently used out); the snapshots are
 * frozen, since every file with those rows shares them.
 */
const snapshots = new Map<string, Snapshot>();
/** At most this many snapshots, of listings of at most this many characters in all. */
const SNAPSHOT_CACHE_SIZE = 32;
const SNAPSHOT_CACHE_CHARS = 1 << 20;
let cachedChars = 0;

export function inspectCached(db: DB, master: readonly MasterRow[]): Snapshot {
  let key = '';
  for (const r of master) key += `${r.type}\u0000${r.name}\u0000${r.tbl_name}\u0000${r.sql ?? '\u0001'}\u0000`;
  const hit = snapshots.get(key);
  if (hit) {
    snapshots.delete(key);
    snapshots.set(key, hit);
    return hit;
  }
  const snap = deepFreeze(inspect(db, master));
  if (key.length > SNAPSHOT_CACHE_CHARS / 4) return snap; // a giant schema is not kept
  snapshots.set(key, snap);
  cachedChars += key.length;
  while (snapshots.size > SNAPSHOT_CACHE_SIZE || cachedChars > SNAPSHOT_CACHE_CHARS) {
    const oldest = snapshots.keys().next().value!;
    snapshots.delete(oldest);
    cachedChars -= oldest.length;
  }
  return snap;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
