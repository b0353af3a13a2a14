/**
 * Introspects a live connection into a {@link Snapshot}: plain data that says what the schema
 * means, read from `sqlite_schema` and the table-valued pragma functions
 * (https://www.sqlite.org/pragma.html#pragfunc).
 */
import type Database from 'better-sqlite3';
import { canonicalExpr, foldCase, quoteIdent, quoteString, tokenize } from '../sql/tokens.js';
import type { Column, ForeignKey, Index, MasterRow, Snapshot, Table, Trigger, View } from './model.js';
import { canonicalStatement, parseCreateIndex, parseCreateTable } from './parse.js';

type DB = Database.Database;

/** Reads `sqlite_schema` (user objects only, in a stable order). */
export function readMaster(db: DB): MasterRow[] {
  return db
    .prepare(
      `SELECT type, name, tbl_name, sql FROM sqlite_schema
        WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
        ORDER BY type, name`,
    )
    .all() as MasterRow[];
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

interface XInfoRow {
  cid: number;
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
  hidden: number;
}
interface FkRow {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
  match: string;
}
interface IndexListRow {
  name: string;
  unique: number;
  origin: string;
  partial: number;
}

/** A declared type, upper-cased, with white space folded and none around parentheses and commas. */
export function canonicalType(type: string): string {
  return type.toUpperCase().replace(/\s+/g, ' ').replace(/\s*([(),])\s*/g, '$1').trim();
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

/** Introspects the whole schema of `db` (the `main` schema). */
export function inspect(db: DB, master: readonly MasterRow[] = readMaster(db)): Snapshot {
  const tables: Record<string, Table> = {};
  const indexes: Record<string, Index> = {};
  const triggers: Record<string, Trigger> = {};
  const views: Record<string, View> = {};
  const xinfo = db.prepare('SELECT * FROM pragma_table_xinfo(?)');
  const fkList = db.prepare('SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq');
  const indexList = db.prepare('SELECT name, "unique", origin, partial FROM pragma_index_list(?)');
  const indexInfo = db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno');

  const pkOf = new Map<string, string[]>();
  // Shadow tables of virtual tables are the module's business, not the schema's.
  const shadow = new Set(
    (db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'").pluck().all() as string[]).map(foldCase),
  );

  for (const row of master) {
    if (row.type !== 'table' || shadow.has(foldCase(row.name))) continue;
    const parsed = parseCreateTable(row.sql ?? '');
    const parsedCols = new Map(parsed.columns.map((c) => [foldCase(c.name), c]));
    const cols = (parsed.virtual ? [] : (xinfo.all(row.name) as XInfoRow[])).map((c): Column => {
      const p = parsedCols.get(foldCase(c.name));
      return {
        name: c.name,
        type: canonicalType(c.type),
        notNull: c.notnull === 1,
        default: c.dflt_value === null ? null : canonicalDefault(c.dflt_value),
        pk: c.pk,
        collate: p?.collate ?? null,
        generated: c.hidden === 2 || c.hidden === 3 ? (p?.generated ?? { stored: c.hidden === 3, expr: '' }) : null,
        hidden: c.hidden === 1,
      };
    });
    pkOf.set(
      foldCase(row.name),
      cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => foldCase(c.name)),
    );
    const fkRows = parsed.virtual ? [] : (fkList.all(row.name) as FkRow[]);
    const fks: ForeignKey[] = [];
    for (const r of fkRows) {
      let fk = fks[r.id] as (ForeignKey & { from: string[]; to: (string | null)[] }) | undefined;
      if (!fk) {
        fk = {
          table: foldCase(r.table),
          from: [],
          to: [],
          onDelete: r.on_delete,
          onUpdate: r.on_update,
          match: r.match,
        };
        fks[r.id] = fk;
      }
      fk.from.push(foldCase(r.from));
      fk.to.push(r.to === null ? null : foldCase(r.to));
    }
    const uniques: string[] = [];
    if (!parsed.virtual) {
      for (const ix of indexList.all(row.name) as IndexListRow[]) {
        if (ix.origin === 'u') {
          const names = (indexInfo.all(ix.name) as { name: string | null }[]).map((r) => foldCase(r.name ?? '?'));
          uniques.push(names.join(', '));
        }
      }
    }
    tables[foldCase(row.name)] = {
      name: row.name,
      columns: cols,
      foreignKeys: fks.filter(Boolean),
      checks: parsed.checks,
      uniques: uniques.sort(),
      autoincrement: parsed.autoincrement,
      withoutRowid: parsed.withoutRowid,
      strict: parsed.strict,
      virtual: parsed.virtual,
    };
  }

  // A REFERENCES clause without columns means the parent's primary key: resolve it, so that
  // `REFERENCES t` and `REFERENCES t(id)` compare equal.
  for (const key of Object.keys(tables)) {
    const t = tables[key]!;
    if (t.foreignKeys.some((fk) => fk.to.some((c) => c === null))) {
      tables[key] = {
        ...t,
        foreignKeys: t.foreignKeys.map((fk) => {
          const pk = pkOf.get(fk.table) ?? [];
          return { ...fk, to: fk.to.map((c, i) => c ?? pk[i] ?? null) };
        }),
      };
    }
  }

  for (const row of master) {
    if (row.type === 'index' && row.sql) {
      const p = parseCreateIndex(row.sql);
      indexes[foldCase(row.name)] = {
        name: row.name,
        table: foldCase(row.tbl_name),
        unique: p.unique,
        terms: p.terms,
        where: p.where,
      };
    } else if (row.type === 'trigger' && row.sql) {
      triggers[foldCase(row.name)] = { name: row.name, table: foldCase(row.tbl_name), sql: canonicalStatement(row.sql) };
    } else if (row.type === 'view' && row.sql) {
      views[foldCase(row.name)] = { name: row.name, sql: canonicalStatement(row.sql) };
    }
  }
  return { tables, indexes, triggers, views };
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
