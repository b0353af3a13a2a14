/**
 * Reads the parts of CREATE statements that SQLite's pragmas do not report: conflict clauses,
 * foreign-key deferrability, CHECK constraints, column collations, generated-column expressions,
 * AUTOINCREMENT, indexed expressions, partial-index WHERE clauses, trigger and view bodies.
 * Everything a pragma reports (columns, types, defaults, key columns and their collations and
 * order, foreign-key targets and actions, table options) is read from the pragma instead.
 *
 * Only text that SQLite has already accepted (from `sqlite_schema`) is parsed here, so the
 * grammar can be forgiving: https://www.sqlite.org/lang_createtable.html
 */
import {
  canonical,
  foldCase,
  isName,
  isWord,
  matchParen,
  nameOf,
  splitTopLevel,
  stripOuterParens,
  tokenize,
  upperCase,
  type Token,
} from '../sql/tokens.js';

export interface ParsedColumn {
  readonly name: string;
  /** The last COLLATE of the definition (upper-case), or null. */
  readonly collate: string | null;
  /** Conflict clause of NOT NULL, null when none or ABORT. */
  readonly notNullConflict: string | null;
  readonly generated: { stored: boolean; expr: string } | null;
  /** The column definition as written, e.g. `slug TEXT NOT NULL DEFAULT ''`. */
  readonly text: string;
}

/** A PRIMARY KEY or UNIQUE constraint as written, column-level or table-level. */
export interface ParsedKey {
  readonly kind: 'pk' | 'unique';
  /** Columns (case-folded) with the collation written on the term (upper-case), if any. */
  readonly terms: readonly { readonly name: string; readonly collate: string | null }[];
  /** Conflict clause, null when none or ABORT. */
  readonly conflict: string | null;
}

/** A foreign key as written: enough to pair it with `pragma_foreign_key_list`, and its deferrability. */
export interface ParsedForeignKey {
  readonly from: readonly string[];
  readonly table: string;
  readonly deferred: boolean;
}

export interface ParsedTable {
  readonly columns: readonly ParsedColumn[];
  readonly checks: readonly string[];
  /** Keys in the order written (the order SQLite numbers their automatic indexes). */
  readonly keys: readonly ParsedKey[];
  /** Foreign keys in the order written. */
  readonly foreignKeys: readonly ParsedForeignKey[];
  readonly autoincrement: boolean;
  readonly withoutRowid: boolean;
  readonly strict: boolean;
  /** `USING module(args)` of a virtual table, canonical; null otherwise. */
  readonly virtual: string | null;
}

const TABLE_CONSTRAINT_START = new Set(['constraint', 'primary', 'unique', 'check', 'foreign']);
const EMPTY_TABLE: ParsedTable = { columns: [], checks: [], keys: [], foreignKeys: [], autoincrement: false, withoutRowid: false, strict: false, virtual: null };

/** Parses a CREATE TABLE (or CREATE VIRTUAL TABLE) statement as stored in sqlite_schema. */
export function parseCreateTable(sql: string): ParsedTable {
  const toks = tokenize(sql);
  const using = toks.findIndex((t) => isWord(t, 'using'));
  if (isWord(toks[1], 'virtual') && using > 0) {
    // The module name is case-insensitive; its arguments are the module's to read.
    const mod = toks[using + 1];
    const args = toks.slice(using + 2);
    return { ...EMPTY_TABLE, virtual: `${mod ? foldCase(nameOf(mod)) : ''}${canonical(args).replace(/^\( /, '(').replace(/ \)$/, ')')}` };
  }
  const open = toks.findIndex((t) => t.kind === 'punct' && t.value === '(');
  const close = open < 0 ? -1 : matchParen(toks, open);
  // CREATE TABLE … AS SELECT: columns come from pragmas; nothing more to read.
  if (open < 0 || close < 0) return EMPTY_TABLE;
  const columns: ParsedColumn[] = [];
  const checks: string[] = [];
  const keys: ParsedKey[] = [];
  const fks: { from: string[]; table: string; deferred: boolean }[] = [];
  let autoincrement = false;
  for (const def of splitTopLevel(toks.slice(open + 1, close))) {
    if (def.length === 0) continue;
    if (def.some((t) => isWord(t, 'autoincrement'))) autoincrement = true;
    checks.push(...findChecks(def));
    const first = def[0]!;
    if (first.kind === 'word' && TABLE_CONSTRAINT_START.has(foldCase(first.value))) {
      readTableConstraint(def, keys, fks);
      continue;
    }
    const col = readColumnConstraints(def, keys, fks);
    columns.push({ ...col, generated: findGenerated(def), text: sql.slice(first.start, def[def.length - 1]!.end) });
  }
  const options = toks.slice(close + 1).map((t) => foldCase(t.value));
  return {
    columns,
    checks: checks.sort(),
    keys,
    foreignKeys: fks,
    autoincrement,
    withoutRowid: options.includes('rowid') && options.includes('without'),
    strict: options.includes('strict'),
    virtual: null,
  };
}

/** `ON CONFLICT x` at `i`: the clause (ABORT, the default, as null) and where it ends. */
function conflictAt(def: readonly Token[], i: number): { conflict: string | null; next: number } | null {
  if (!isWord(def[i], 'on') || !isWord(def[i + 1], 'conflict') || !def[i + 2]) return null;
  const what = upperCase(def[i + 2]!.value);
  return { conflict: what === 'ABORT' ? null : what, next: i + 3 };
}

/** Index of the first top-level `ON CONFLICT` at or after `from`, read. */
function conflictAfter(def: readonly Token[], from: number): string | null {
  for (let i = from; i < def.length; i++) {
    if (def[i]!.value === '(') {
      i = Math.max(i, matchParen(def, i));
      continue;
    }
    const c = conflictAt(def, i);
    if (c) return c.conflict;
  }
  return null;
}

/**
 * Walks a column definition's constraints in order. As in SQLite's grammar, a DEFERRABLE clause
 * standing on its own applies to the foreign key declared last so far in the table.
 */
function readColumnConstraints(
  def: readonly Token[],
  keys: ParsedKey[],
  fks: { from: string[]; table: string; deferred: boolean }[],
): { name: string; collate: string | null; notNullConflict: string | null } {
  const name = nameOf(def[0]!);
  const self = [{ name: foldCase(name), collate: null }];
  let collate: string | null = null;
  let notNullConflict: string | null = null;
  for (let i = 1; i < def.length; i++) {
    const t = def[i]!;
    if (t.value === '(') {
      i = Math.max(i, matchParen(def, i));
    } else if (isWord(t, 'constraint')) {
      i++;
    } else if (isWord(t, 'collate') && isName(def[i + 1])) {
      collate = upperCase(nameOf(def[++i]!));
    } else if (isWord(t, 'not') && isWord(def[i + 1], 'null')) {
      const c = conflictAt(def, i + 2);
      notNullConflict = c?.conflict ?? null;
      i = c ? c.next - 1 : i + 1;
    } else if (isWord(t, 'primary') && isWord(def[i + 1], 'key')) {
      let j = i + 2;
      if (isWord(def[j], 'asc') || isWord(def[j], 'desc')) j++;
      const c = conflictAt(def, j);
      keys.push({ kind: 'pk', terms: self, conflict: c?.conflict ?? null });
      i = (c?.next ?? j) - 1;
    } else if (isWord(t, 'unique')) {
      const c = conflictAt(def, i + 1);
      keys.push({ kind: 'unique', terms: self, conflict: c?.conflict ?? null });
      i = (c?.next ?? i + 1) - 1;
    } else if (isWord(t, 'references') && def[i + 1]) {
      fks.push({ from: [foldCase(name)], table: foldCase(nameOf(def[i + 1]!)), deferred: false });
      i++;
    } else if (isWord(t, 'deferrable')) {
      const last = fks[fks.length - 1];
      if (last) last.deferred = !isWord(def[i - 1], 'not') && isWord(def[i + 1], 'initially') && isWord(def[i + 2], 'deferred');
    }
  }
  return { name, collate, notNullConflict };
}

/** Reads a table constraint: PRIMARY KEY (…), UNIQUE (…), FOREIGN KEY (…) REFERENCES … */
function readTableConstraint(
  def: readonly Token[],
  keys: ParsedKey[],
  fks: { from: string[]; table: string; deferred: boolean }[],
): void {
  let i = isWord(def[0], 'constraint') ? 2 : 0;
  const kind = isWord(def[i], 'primary') ? 'pk' : isWord(def[i], 'unique') ? 'unique' : isWord(def[i], 'foreign') ? 'fk' : null;
  if (kind === null) return;
  while (i < def.length && def[i]!.value !== '(') i++;
  const close = i < def.length ? matchParen(def, i) : -1;
  if (close < 0) return;
  const inner = splitTopLevel(def.slice(i + 1, close));
  if (kind === 'fk') {
    const ref = def.findIndex((t, k) => k > close && isWord(t, 'references'));
    const d = def.findIndex((t, k) => k > ref && isWord(t, 'deferrable'));
    fks.push({
      from: inner.map((term) => foldCase(nameOf(term[0]!))),
      table: ref > 0 && def[ref + 1] ? foldCase(nameOf(def[ref + 1]!)) : '',
      deferred: d > 0 && !isWord(def[d - 1], 'not') && isWord(def[d + 1], 'initially') && isWord(def[d + 2], 'deferred'),
    });
    return;
  }
  const terms = inner.map((term) => {
    const c = term.findIndex((t) => isWord(t, 'collate'));
    return { name: foldCase(nameOf(term[0]!)), collate: c > 0 && term[c + 1] ? upperCase(nameOf(term[c + 1]!)) : null };
  });
  keys.push({ kind, terms, conflict: conflictAfter(def, close + 1) });
}

function findChecks(def: readonly Token[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < def.length; i++) {
    if (isWord(def[i], 'check') && def[i + 1]?.value === '(') {
      const end = matchParen(def, i + 1);
      if (end > 0) {
        out.push(canonical(stripOuterParens(def.slice(i + 1, end + 1))));
        i = end;
      }
    }
  }
  return out;
}

function findGenerated(def: readonly Token[]): { stored: boolean; expr: string } | null {
  for (let i = 1; i < def.length; i++) {
    if (def[i]!.value === '(') {
      // Skip parenthesised parts that are not the AS ( … ) of a generated column.
      if (!isWord(def[i - 1], 'as')) {
        const end = matchParen(def, i);
        if (end > 0) i = end;
        continue;
      }
      const end = matchParen(def, i);
      if (end < 0) return null;
      const stored = isWord(def[end + 1], 'stored');
      return { stored, expr: canonical(stripOuterParens(def.slice(i, end + 1))) };
    }
  }
  return null;
}

export interface ParsedIndex {
  /** The indexed terms as written, without ASC/DESC (SQLite reports the order). */
  readonly terms: readonly (readonly Token[])[];
  /** Canonical WHERE of a partial index, or null. */
  readonly where: string | null;
}

/** Parses a CREATE INDEX statement as stored in sqlite_schema. */
export function parseCreateIndex(sql: string): ParsedIndex {
  const toks = tokenize(sql);
  const on = toks.findIndex((t) => isWord(t, 'on'));
  const open = toks.findIndex((t, i) => i > on && t.kind === 'punct' && t.value === '(');
  const close = open < 0 ? -1 : matchParen(toks, open);
  if (on < 0 || open < 0 || close < 0) return { terms: [], where: null };
  const terms = splitTopLevel(toks.slice(open + 1, close)).map((term) => {
    const last = term[term.length - 1];
    return isWord(last, 'asc') || isWord(last, 'desc') ? term.slice(0, -1) : term;
  });
  const whereAt = toks.findIndex((t, i) => i > close && isWord(t, 'where'));
  const where = whereAt < 0 ? null : canonical(stripOuterParens(toks.slice(whereAt + 1)));
  return { terms, where };
}

/** Skips `IF NOT EXISTS` and a `schema.` prefix before an object's name; returns the name's index. */
function nameIndex(toks: readonly Token[], i: number): number {
  if (isWord(toks[i], 'if') && isWord(toks[i + 1], 'not') && isWord(toks[i + 2], 'exists')) i += 3;
  if (toks[i + 1]?.value === '.') i += 2;
  return i;
}

/** Drops trailing semicolons. */
function statementTokens(sql: string): Token[] {
  const toks = tokenize(sql);
  while (toks.length > 0 && toks[toks.length - 1]!.value === ';') toks.pop();
  return toks;
}

export interface ParsedTrigger {
  readonly timing: string;
  readonly event: string;
  readonly columns: readonly string[];
  readonly when: string | null;
  readonly body: string;
}

/**
 * Parses a CREATE TRIGGER statement: https://www.sqlite.org/lang_createtrigger.html. BEFORE is
 * what SQLite does when no timing is written, and every SQLite trigger is FOR EACH ROW, so
 * neither spelling makes a difference here.
 */
export function parseCreateTrigger(sql: string): ParsedTrigger {
  const toks = statementTokens(sql);
  let i = nameIndex(toks, toks.findIndex((t) => isWord(t, 'trigger')) + 1) + 1;
  let timing = 'BEFORE';
  if (isWord(toks[i], 'before') || isWord(toks[i], 'after')) timing = upperCase(toks[i++]!.value);
  else if (isWord(toks[i], 'instead') && isWord(toks[i + 1], 'of')) {
    timing = 'INSTEAD OF';
    i += 2;
  }
  const event = toks[i] ? upperCase(toks[i++]!.value) : '';
  const columns: string[] = [];
  if (isWord(toks[i], 'of')) {
    for (i++; i < toks.length && !isWord(toks[i], 'on'); i++) if (toks[i]!.value !== ',') columns.push(foldCase(nameOf(toks[i]!)));
  }
  i = nameIndex(toks, i + 1) + 1; // past ON [schema.]table
  if (isWord(toks[i], 'for') && isWord(toks[i + 1], 'each') && isWord(toks[i + 2], 'row')) i += 3;
  let when: string | null = null;
  if (isWord(toks[i], 'when')) {
    const begin = toks.findIndex((t, k) => k > i && isWord(t, 'begin'));
    when = canonical(stripOuterParens(toks.slice(i + 1, begin < 0 ? toks.length : begin)));
    i = begin < 0 ? toks.length : begin;
  }
  const end = isWord(toks[toks.length - 1], 'end') ? toks.length - 1 : toks.length;
  return { timing, event, columns: columns.sort(), when, body: canonical(toks.slice(i + 1, end)) };
}

export interface ParsedView {
  readonly columns: readonly string[] | null;
  readonly body: string;
}

/** Parses a CREATE VIEW statement: its column list, if any, and its SELECT. */
export function parseCreateView(sql: string): ParsedView {
  const toks = statementTokens(sql);
  let i = nameIndex(toks, toks.findIndex((t) => isWord(t, 'view')) + 1) + 1;
  let columns: string[] | null = null;
  if (toks[i]?.value === '(') {
    const close = matchParen(toks, i);
    columns = splitTopLevel(toks.slice(i + 1, close)).map((c) => foldCase(nameOf(c[0]!)));
    i = close + 1;
  }
  if (isWord(toks[i], 'as')) i++;
  return { columns, body: canonical(toks.slice(i)) };
}
