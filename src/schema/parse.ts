/**
 * Reads the parts of CREATE TABLE / CREATE INDEX text that SQLite's pragmas do not report:
 * CHECK constraints, column collations, generated-column expressions, AUTOINCREMENT, table
 * options, index expressions and partial-index WHERE clauses.
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
  type Token,
} from '../sql/tokens.js';

export interface ParsedColumn {
  readonly name: string;
  readonly collate: string | null;
  readonly generated: { stored: boolean; expr: string } | null;
  /** The column definition as written, e.g. `slug TEXT NOT NULL DEFAULT ''`. */
  readonly text: string;
}

export interface ParsedTable {
  readonly columns: readonly ParsedColumn[];
  readonly checks: readonly string[];
  readonly autoincrement: boolean;
  readonly withoutRowid: boolean;
  readonly strict: boolean;
  /** `USING module(args)` of a virtual table, canonical; null otherwise. */
  readonly virtual: string | null;
}

const TABLE_CONSTRAINT_START = new Set(['constraint', 'primary', 'unique', 'check', 'foreign']);

/** Parses a CREATE TABLE (or CREATE VIRTUAL TABLE) statement as stored in sqlite_schema. */
export function parseCreateTable(sql: string): ParsedTable {
  const toks = tokenize(sql);
  const using = toks.findIndex((t) => isWord(t, 'using'));
  if (toks.some((t) => isWord(t, 'virtual')) && using > 0) {
    return {
      columns: [],
      checks: [],
      autoincrement: false,
      withoutRowid: false,
      strict: false,
      virtual: canonical(toks.slice(using + 1)),
    };
  }
  const open = toks.findIndex((t) => t.kind === 'punct' && t.value === '(');
  const close = open < 0 ? -1 : matchParen(toks, open);
  if (open < 0 || close < 0) {
    // CREATE TABLE … AS SELECT: columns come from pragmas; nothing more to read.
    return { columns: [], checks: [], autoincrement: false, withoutRowid: false, strict: false, virtual: null };
  }
  const defs = splitTopLevel(toks.slice(open + 1, close));
  const columns: ParsedColumn[] = [];
  const checks: string[] = [];
  let autoincrement = false;
  for (const def of defs) {
    if (def.length === 0) continue;
    if (def.some((t) => isWord(t, 'autoincrement'))) autoincrement = true;
    const first = def[0]!;
    const isConstraint = first.kind === 'word' && TABLE_CONSTRAINT_START.has(foldCase(first.value));
    checks.push(...findChecks(def));
    if (isConstraint) continue;
    columns.push({
      name: nameOf(first),
      collate: findCollate(def),
      generated: findGenerated(def),
      text: sql.slice(first.start, def[def.length - 1]!.end),
    });
  }
  const options = toks.slice(close + 1).map((t) => foldCase(t.value));
  return {
    columns,
    checks: checks.sort(),
    autoincrement,
    withoutRowid: options.includes('rowid') && options.includes('without'),
    strict: options.includes('strict'),
    virtual: null,
  };
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

function findCollate(def: readonly Token[]): string | null {
  for (let i = 1; i < def.length - 1; i++) {
    if (def[i]!.value === '(') {
      const end = matchParen(def, i);
      if (end > 0) i = end;
      continue;
    }
    if (isWord(def[i], 'collate') && isName(def[i + 1])) return foldCase(nameOf(def[i + 1]!));
  }
  return null;
}

function findGenerated(def: readonly Token[]): { stored: boolean; expr: string } | null {
  for (let i = 1; i < def.length; i++) {
    if (def[i]!.value === '(' ) {
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
  readonly unique: boolean;
  readonly terms: readonly string[];
  readonly where: string | null;
}

/** Parses a CREATE INDEX statement as stored in sqlite_schema. */
export function parseCreateIndex(sql: string): ParsedIndex {
  const toks = tokenize(sql);
  const unique = isWord(toks[1], 'unique');
  const on = toks.findIndex((t) => isWord(t, 'on'));
  const open = toks.findIndex((t, i) => i > on && t.kind === 'punct' && t.value === '(');
  const close = open < 0 ? -1 : matchParen(toks, open);
  if (on < 0 || open < 0 || close < 0) return { unique, terms: [], where: null };
  const terms = splitTopLevel(toks.slice(open + 1, close)).map((term) => {
    const t = isWord(term[term.length - 1], 'asc') ? term.slice(0, -1) : term;
    return canonical(stripOuterParens(t));
  });
  const whereAt = toks.findIndex((t, i) => i > close && isWord(t, 'where'));
  const where = whereAt < 0 ? null : canonical(stripOuterParens(toks.slice(whereAt + 1)));
  return { unique, terms, where };
}

/**
 * Canonical text of a whole CREATE TRIGGER / CREATE VIEW statement: `IF NOT EXISTS` and
 * `TEMP` are dropped, names are unquoted and case-folded, so a statement rewritten by
 * `ALTER TABLE … RENAME` equals the same statement written fresh.
 */
export function canonicalStatement(sql: string): string {
  const toks = tokenize(sql).filter((t) => !(t.kind === 'punct' && t.value === ';'));
  const out: Token[] = [];
  for (let i = 0; i < toks.length; i++) {
    if (i < 4 && isWord(toks[i], 'if') && isWord(toks[i + 1], 'not') && isWord(toks[i + 2], 'exists')) {
      i += 2;
      continue;
    }
    if (i === 1 && (isWord(toks[i], 'temp') || isWord(toks[i], 'temporary'))) continue;
    out.push(toks[i]!);
  }
  return canonical(out);
}
