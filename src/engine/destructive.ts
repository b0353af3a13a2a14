/**
 * Which migration steps destroy something, found by reading their SQL against the schema of the
 * version they start from: dropped tables and columns, deleted rows, table rebuilds, narrowing
 * type changes. `--dry-run` marks them; `up` refuses one the migration does not declare with
 * `-- stores:destructive <why>` (a rebuild is declared by its `-- stores:rebuild` comment).
 */
import type { Snapshot } from '../schema/model.js';
import { parseCreateTable } from '../schema/parse.js';
import { foldCase, isName, isWord, nameOf, statementRanges, tokenize } from '../sql/tokens.js';
import { parseMigration } from './rebuild.js';

export interface DestructiveAnalysis {
  /** What the step destroys, for people ("drops column sessions.wallet_id"). */
  readonly what: readonly string[];
  /** Tables whose rows the step touches (for row counts in dry runs, and backups). */
  readonly tables: readonly string[];
  /** Tables the step rebuilds. */
  readonly rebuilds: readonly string[];
  /** Tables renamed by the step (`ALTER TABLE a RENAME TO b`), in order. */
  readonly tableRenames: readonly (readonly [string, string])[];
  /** Columns renamed by the step: [table, from, to] (table as named at that point). */
  readonly columnRenames: readonly (readonly [string, string, string])[];
  /** The declaration's text (`-- stores:destructive <why>`), or null. */
  readonly declared: string | null;
  /** True when something destroyed is not declared: `up` refuses the step. */
  readonly undeclared: boolean;
}

const DECLARED = /--[ \t]*stores:destructive[ \t]*([^\n]*)$/m;

/** SQLite's type affinity of a declared type (https://www.sqlite.org/datatype3.html#affname). */
export function affinity(type: string): 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC' {
  const t = type.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

/** The declared type in a column definition's text (`slug TEXT NOT NULL` → `TEXT`). */
function declaredType(colText: string): string {
  const toks = tokenize(colText).slice(1);
  const out: string[] = [];
  for (const t of toks) {
    if (t.kind === 'word' && ['constraint', 'primary', 'not', 'null', 'unique', 'check', 'default', 'collate', 'references', 'generated', 'as'].includes(foldCase(t.value))) break;
    out.push(t.value);
  }
  return out.join(' ');
}

/** Analyses a SQL migration that starts from schema `before`. */
export function analyzeMigration(sql: string, before: Snapshot): DestructiveAnalysis {
  const what: string[] = [];
  const tables = new Set<string>();
  const rebuilds: string[] = [];
  const tableRenames: [string, string][] = [];
  const columnRenames: [string, string, string][] = [];
  for (const part of parseMigration(sql)) {
    if (part.kind === 'rebuild') {
      rebuilds.push(part.table);
      tables.add(part.table);
      const old = before.tables[foldCase(part.table)];
      what.push(`rebuilds table ${part.table} (rows copied)`);
      if (!old) continue;
      const next = parseCreateTable(part.create).columns;
      const nextByName = new Map(next.map((c) => [foldCase(c.name), c]));
      for (const c of old.columns) {
        const n = nextByName.get(foldCase(c.name));
        if (!n) what.push(`drops column ${part.table}.${c.name}`);
        else if (affinity(c.type) !== affinity(declaredType(n.text)) && affinity(declaredType(n.text)) !== 'BLOB') {
          what.push(`changes the type of ${part.table}.${c.name} from ${c.type || 'none'} to ${declaredType(n.text) || 'none'}`);
        }
      }
      continue;
    }
    for (const st of statementRanges(part.sql)) {
      const t = tokenize(st.sql);
      if (isWord(t[0], 'drop') && isWord(t[1], 'table')) {
        const i = isWord(t[2], 'if') ? 4 : 2;
        if (isName(t[i])) {
          what.push(`drops table ${nameOf(t[i]!)}`);
          tables.add(nameOf(t[i]!));
        }
      } else if (isWord(t[0], 'alter') && isWord(t[1], 'table') && isName(t[2])) {
        const r = t.findIndex((x) => isWord(x, 'rename'));
        if (r > 0 && isWord(t[r + 1], 'to') && isName(t[r + 2])) tableRenames.push([nameOf(t[2]!), nameOf(t[r + 2]!)]);
        else if (r > 0) {
          const from = isWord(t[r + 1], 'column') ? r + 2 : r + 1;
          if (isName(t[from]) && isWord(t[from + 1], 'to') && isName(t[from + 2])) columnRenames.push([nameOf(t[2]!), nameOf(t[from]!), nameOf(t[from + 2]!)]);
        }
        const d = t.findIndex((x) => isWord(x, 'drop'));
        if (d > 0) {
          const col = isWord(t[d + 1], 'column') ? t[d + 2] : t[d + 1];
          if (col && isName(col)) {
            what.push(`drops column ${nameOf(t[2]!)}.${nameOf(col)}`);
            tables.add(nameOf(t[2]!));
          }
        }
      } else if (isWord(t[0], 'delete') && isWord(t[1], 'from') && isName(t[2])) {
        what.push(`deletes rows of ${nameOf(t[2]!)}`);
        tables.add(nameOf(t[2]!));
      }
    }
  }
  const declared = DECLARED.exec(sql)?.[1]?.trim() ?? null;
  // A rebuild declares itself; anything that drops data needs the explicit declaration.
  const losing = what.filter((w) => !w.startsWith('rebuilds table'));
  return { what, tables: [...tables], rebuilds, tableRenames, columnRenames, declared, undeclared: losing.length > 0 && declared === null };
}
