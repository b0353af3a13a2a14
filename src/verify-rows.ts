/**
 * Rows for `stores verify`: every table of a schema filled so that a migration meets what real
 * data holds. Every parent row has children in every child table (each foreign key, multi-column
 * and self-references included), and every value of every `IN (…)` list of a CHECK appears.
 *
 * SQLite is the judge of every value: a row is inserted, and when SQLite refuses it (a CHECK, a
 * UNIQUE, a NOT NULL, a STRICT type) the columns its message names take their next candidate.
 * Foreign keys are off while rows are written (a cycle or a self-reference needs rows that point
 * forward), then `foreign_key_check` must be clean.
 */
import type Database from 'better-sqlite3';
import type { Snapshot } from './schema/model.js';
import { foldCase, isWord, quoteIdent, splitTopLevel, tokenize, matchParen, type Token } from './sql/tokens.js';

type DB = Database.Database;
type Value = string | number | bigint | Buffer | null;

/** Rows per table when nothing asks for more (an `IN` list or a parent with more rows does). */
const BASE_ROWS = 3;
/** Attempts per row before it is given up (each advances the columns SQLite complained about). */
const ATTEMPTS = 24;

interface Col {
  readonly name: string;
  readonly key: string;
  readonly type: string;
  readonly notNull: boolean;
  readonly pk: number;
}

interface Fk {
  readonly parent: string;
  /** Child columns (folded) and the parent columns they point at (folded), pairwise. */
  readonly from: readonly string[];
  readonly to: readonly string[];
}

interface Filled {
  readonly cols: readonly Col[];
  /** Each inserted row: its values by folded column name, and how to find it again. */
  readonly rows: { values: Map<string, Value>; where: { sql: string; args: Value[] } }[];
}

/** The literal values of every `col IN (…)` in a table's SQL (CHECK constraints), by folded column. */
export function inLists(createSql: string, columns: ReadonlySet<string>): Map<string, Value[]> {
  const toks = tokenize(createSql);
  const out = new Map<string, Value[]>();
  for (let i = 1; i < toks.length - 1; i++) {
    if (!isWord(toks[i], 'in') || toks[i + 1]!.value !== '(') continue;
    const col = toks[i - 1]!;
    if (col.kind !== 'word' && col.kind !== 'ident') continue;
    const key = foldCase(col.value);
    if (!columns.has(key)) continue;
    const close = matchParen(toks, i + 1);
    if (close < 0) continue;
    const values = out.get(key) ?? [];
    for (const part of splitTopLevel(toks.slice(i + 2, close))) {
      const v = literal(part);
      if (v !== undefined && !values.some((x) => same(x, v))) values.push(v);
    }
    out.set(key, values);
  }
  return out;
}

function same(a: Value, b: Value): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}

/** The value of a literal written as tokens (`'a'`, `-3`, `x'00'`), or undefined. */
function literal(part: readonly Token[]): Value | undefined {
  const sign = part.length === 2 && (part[0]!.value === '-' || part[0]!.value === '+') ? part[0]!.value : '';
  const t = sign ? part[1] : part.length === 1 ? part[0] : undefined;
  if (!t) return undefined;
  if (t.kind === 'string' && !sign) return t.value.slice(1, -1).split("''").join("'");
  if (t.kind === 'blob' && !sign) return Buffer.from(t.value.slice(2, -1), 'hex');
  if (t.kind === 'number') {
    const n = Number(t.value.replace(/_/g, ''));
    return Number.isFinite(n) ? (sign === '-' ? -n : n) : undefined;
  }
  return undefined;
}

/** Candidate values for a column that no foreign key fixes, first choice first. */
function candidates(table: string, c: Col, i: number, allowed: readonly Value[] | undefined): Value[] {
  const label = `${table}.${c.name}#${i + 1}`;
  if (allowed && allowed.length > 0) {
    // Row i starts at value i, so n ≥ the list's length rows use every value.
    const rotated = allowed.map((_, j) => allowed[(i + j) % allowed.length]!);
    // The same literal in the other spelling, should the column's affinity want it.
    const respelled = rotated.flatMap((v): Value[] => (typeof v === 'number' ? [String(v)] : typeof v === 'string' && /^-?[0-9.]+$/.test(v) ? [Number(v)] : []));
    return [...rotated, ...respelled];
  }
  const t = c.type.toUpperCase();
  if (t.includes('INT')) return c.pk > 0 ? [i + 1, 100 + i, -(i + 1)] : [100 + i, i + 1, 0, 1, -(i + 1)];
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) {
    return [label, `{"${c.name}":${i + 1}}`, String(i + 1), `2026-01-${String(i + 1).padStart(2, '0')}`, `${c.name}${i + 1}`];
  }
  if (t.includes('BLOB') || t === '') return [Buffer.from(label), label, i + 1];
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return [i + 0.5, i + 1, 0];
  return [i + 1, 100 + i, 0, label];
}

/** Columns a constraint error names (`UNIQUE constraint failed: t.a, t.b`, `CHECK constraint failed: a > 0`). */
function blamed(message: string, cols: readonly Col[], createSql: string): Set<string> {
  const keys = new Set(cols.map((c) => c.key));
  const out = new Set<string>();
  const check = /CHECK constraint failed: (.*)$/s.exec(message);
  let text = check ? check[1]! : message;
  if (check) {
    // A named CHECK is reported by its name: blame the columns of its expression.
    const toks = tokenize(createSql);
    const at = toks.findIndex((t, j) => isWord(toks[j - 1], 'constraint') && foldCase(t.value) === foldCase(text.trim()) && isWord(toks[j + 1], 'check'));
    if (at >= 0) text = createSql.slice(toks[at + 2]!.start, toks[matchParen(toks, at + 2)]?.end ?? createSql.length);
  }
  for (const t of tokenize(text)) if ((t.kind === 'word' || t.kind === 'ident') && keys.has(foldCase(t.value))) out.add(foldCase(t.value));
  return out;
}

/** Foreign keys of a table, as SQLite reports them; omitted parent columns resolve to the parent's primary key. */
function foreignKeys(db: DB, table: string): Fk[] {
  const rows = db.prepare('SELECT id, seq, "table" AS parent, "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq').all(table) as { id: number; parent: string; from: string; to: string | null }[];
  const out: Fk[] = [];
  for (const id of [...new Set(rows.map((r) => r.id))]) {
    const parts = rows.filter((r) => r.id === id);
    const parent = parts[0]!.parent;
    const pk = (db.prepare('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk').all(parent) as { name: string }[]).map((r) => foldCase(r.name));
    const to = parts.map((p, j) => (p.to === null ? pk[j] : foldCase(p.to)));
    if (to.some((t) => t === undefined)) continue; // no key to point at: SQLite refuses such a key anyway
    out.push({ parent: foldCase(parent), from: parts.map((p) => foldCase(p.from)), to: to as string[] });
  }
  return out;
}

/** Tables in an order where parents come before the children that reference them. */
function parentFirst(snap: Snapshot): string[] {
  const done = new Set<string>();
  const out: string[] = [];
  const visit = (k: string) => {
    const t = snap.tables[k];
    if (done.has(k) || !t || t.virtual) return;
    done.add(k);
    for (const fk of t.foreignKeys) visit(foldCase(fk.table));
    out.push(k);
  };
  for (const k of Object.keys(snap.tables).sort()) visit(k);
  return out;
}

/** The parent row (of `rows`) for child row `i`: the i-th, or the first after it whose values agree with those already set. */
function pickParent(fk: Fk, parent: Filled, i: number, values: Map<string, Value>): Map<string, Value> | null {
  for (let j = 0; j < parent.rows.length; j++) {
    const p = parent.rows[(i + j) % parent.rows.length]!.values;
    if (fk.from.every((f, k) => !values.has(f) || same(values.get(f)!, p.get(fk.to[k]!) ?? null))) return p;
  }
  return null;
}

interface Plan {
  readonly name: string;
  readonly cols: readonly Col[];
  readonly fks: readonly Fk[];
  readonly allowed: Map<string, Value[]>;
  readonly createSql: string;
  readonly rowid: boolean;
}

/** Inserts row `i` of a table, asking SQLite until it takes one; returns the row, or the last refusal. */
function insertRow(db: DB, p: Plan, filled: Map<string, Filled>, i: number, insert: Database.Statement): Filled['rows'][number] | string {
  const fixed = new Map<string, Value>();
  const seen = new Map<string, number>();
  for (const fk of p.fks) {
    const parent = filled.get(fk.parent);
    if (fk.parent === foldCase(p.name) || !parent || parent.rows.length === 0) continue; // linked afterwards
    // A second key to the same parent (from_wallet, to_wallet) points at the next row.
    const offset = seen.get(fk.parent) ?? 0;
    seen.set(fk.parent, offset + 1);
    const row = pickParent(fk, parent, i + offset, fixed);
    if (row) fk.from.forEach((f, k) => fixed.set(f, row.get(fk.to[k]!) ?? null));
  }
  const free = p.cols.filter((c) => !fixed.has(c.key));
  // Foreign-key columns linked afterwards (self-references, cycles): NULL first when allowed, else a placeholder.
  const later = new Set(p.fks.filter((fk) => !fk.from.every((f) => fixed.has(f))).flatMap((fk) => fk.from));
  const choices = new Map(free.map((c) => [c.key, [...(later.has(c.key) && !c.notNull ? [null] : []), ...candidates(p.name, c, i, p.allowed.get(c.key))]]));
  const at = new Map(free.map((c) => [c.key, 0]));
  let refusal = '';
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const values = new Map<string, Value>(fixed);
    for (const c of free) values.set(c.key, choices.get(c.key)![at.get(c.key)!] ?? null);
    const args = p.cols.map((c) => values.get(c.key) ?? null);
    try {
      const r = insert.run(...args);
      const where = p.rowid
        ? { sql: 'rowid = ?', args: [r.lastInsertRowid] as Value[] }
        : { sql: p.cols.filter((c) => c.pk > 0).map((c) => `${quoteIdent(c.name)} IS ?`).join(' AND ') || '1', args: p.cols.filter((c) => c.pk > 0).map((c) => values.get(c.key) ?? null) };
      return { values: readBack(db, p, where) ?? values, where };
    } catch (err) {
      refusal = (err as Error).message;
      const blame = [...blamed(refusal, p.cols, p.createSql)].filter((k) => at.has(k));
      const next = blame.length > 0 ? blame : [...at.keys()];
      let moved = false;
      for (const k of next) {
        if (at.get(k)! + 1 < choices.get(k)!.length) {
          at.set(k, at.get(k)! + 1);
          moved = true;
        }
      }
      if (!moved) break;
    }
  }
  return refusal;
}

/** A row as SQLite stored it (affinity applied, triggers run). */
function readBack(db: DB, p: Plan, where: { sql: string; args: Value[] }): Map<string, Value> | null {
  const row = db.prepare(`SELECT ${p.cols.map((c) => quoteIdent(c.name)).join(', ')} FROM ${quoteIdent(p.name)} WHERE ${where.sql}`).raw().get(...where.args) as Value[] | undefined;
  return row ? new Map(p.cols.map((c, j) => [c.key, row[j] ?? null])) : null;
}

/**
 * Points the foreign keys that could not be set while inserting (self-references, cycles) at
 * their parents: child row i at parent row i, and for a self-reference row i at row i - 1 and the
 * first row at the last, so that every row has a child. A link SQLite refuses stays as it was.
 */
function link(db: DB, p: Plan, filled: Map<string, Filled>): void {
  const mine = filled.get(foldCase(p.name))!;
  for (const fk of p.fks) {
    const parent = filled.get(fk.parent);
    if (!parent || parent.rows.length === 0) continue;
    const self = fk.parent === foldCase(p.name);
    const linkedAlready = mine.rows.every((r) => fk.from.every((f, k) => r.values.get(f) !== null && parent.rows.some((q) => same(q.values.get(fk.to[k]!) ?? null, r.values.get(f)!))));
    if (!self && linkedAlready) continue;
    const set = fk.from.map((f) => `${quoteIdent(p.cols.find((c) => c.key === f)!.name)} = ?`).join(', ');
    // Rows are visited last first so that a UNIQUE self-reference never meets its own new value.
    for (let i = mine.rows.length - 1; i >= 0; i--) {
      const row = mine.rows[i]!;
      const target = self ? parent.rows[(i + parent.rows.length - 1) % parent.rows.length]! : parent.rows[i % parent.rows.length]!;
      const vals = fk.to.map((t) => target.values.get(t) ?? null);
      try {
        db.prepare(`UPDATE ${quoteIdent(p.name)} SET ${set} WHERE ${row.where.sql}`).run(...vals, ...row.where.args);
        fk.from.forEach((f, k) => row.values.set(f, vals[k]!));
      } catch {
        // Refused (a CHECK or UNIQUE): this row keeps what it had.
      }
    }
  }
}

/**
 * Inserts rows into every table of `snap` (see the module comment). Returns what could not be
 * generated: tables that took no row, and rows left pointing at nothing.
 */
export function generateRows(db: DB, snap: Snapshot, n = BASE_ROWS): string[] {
  const problems: string[] = [];
  const fkBefore = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    const filled = new Map<string, Filled>();
    const plans: Plan[] = [];
    for (const key of parentFirst(snap)) {
      const t = snap.tables[key]!;
      const createSql = (db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE").pluck().get(t.name) as string | undefined) ?? '';
      const xinfo = db.prepare('SELECT name, type, "notnull", pk, hidden FROM pragma_table_xinfo(?)').all(t.name) as { name: string; type: string; notnull: number; pk: number; hidden: number }[];
      const cols = xinfo.filter((c) => c.hidden === 0).map((c): Col => ({ name: c.name, key: foldCase(c.name), type: c.type, notNull: c.notnull === 1, pk: c.pk }));
      const p: Plan = { name: t.name, cols, fks: foreignKeys(db, t.name), allowed: inLists(createSql, new Set(cols.map((c) => c.key))), createSql, rowid: !t.withoutRowid };
      plans.push(p);
      // Enough rows for every value of each IN list, and for every row of each parent to have a child.
      const want = Math.max(n, ...[...p.allowed.values()].map((v) => v.length), ...p.fks.map((fk) => (fk.parent === key ? 0 : (filled.get(fk.parent)?.rows.length ?? 0))));
      const insert = db.prepare(`INSERT INTO ${quoteIdent(t.name)} (${cols.map((c) => quoteIdent(c.name)).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
      const rows: Filled['rows'] = [];
      let refusal = '';
      for (let i = 0; i < want; i++) {
        const r = insertRow(db, p, filled, i, insert);
        if (typeof r === 'string') refusal = r;
        else rows.push(r);
      }
      if (rows.length === 0) problems.push(`${t.name}: no row could be inserted (${refusal})`);
      filled.set(key, { cols, rows });
    }
    for (const p of plans) link(db, p, filled);
    const dangling = db.prepare('SELECT "table", parent, count(*) AS n FROM pragma_foreign_key_check GROUP BY 1, 2').all() as { table: string; parent: string; n: number }[];
    for (const d of dangling) problems.push(`${d.table}: ${d.n} row(s) point at no ${d.parent} row`);
  } finally {
    if (fkBefore) db.pragma('foreign_keys = ON');
  }
  return problems;
}
