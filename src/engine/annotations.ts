/**
 * Intent written in `schema.sql` that SQL cannot say: `-- stores:renamed-from OLD` on a table's
 * CREATE TABLE line (or alone on the line before it) renames the table; on a column's line (or
 * the line before it) renames the column. `stores generate` reads them; SQLite ignores them.
 *
 * A trailing comment belongs to the last definition that starts on its line (to the table when it
 * follows the table's closing parenthesis); a comment alone on its line belongs to the next
 * definition.
 */
import { createdTable } from './rebuild.js';
import { isWord, matchParen, nameOf, splitTopLevel, statementRanges, tokenize } from '../sql/tokens.js';

export interface RenameAnnotation {
  readonly kind: 'table' | 'column';
  /** The table as schema.sql names it (its new name). */
  readonly table: string;
  /** For a column: its new name. */
  readonly column?: string;
  /** The old name. */
  readonly from: string;
  /** 1-based line of the comment in schema.sql. */
  readonly line: number;
}

const RENAMED = /--[ \t]*stores:renamed-from[ \t]+("[^"\n]+"|`[^`\n]+`|\[[^\]\n]+\]|[^\s,;()]+)/g;
const CONSTRAINT_LEADS = ['constraint', 'primary', 'unique', 'check', 'foreign'];

interface Anchor {
  readonly offset: number;
  readonly line: number;
  readonly kind: 'table' | 'column';
  readonly table: string;
  readonly column?: string;
  /** The end of a table's column list: a comment after it on the same line is the table's. */
  readonly end?: boolean;
}

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** Where a table and each of its columns start in the script. */
function anchors(schema: string): Anchor[] {
  const out: Anchor[] = [];
  for (const st of statementRanges(schema)) {
    const table = createdTable(st.sql);
    if (table === null) continue;
    const toks = tokenize(st.sql);
    const nameAt = toks.findIndex((t, i) => i > 1 && !isWord(t, 'table') && !isWord(t, 'if') && !isWord(t, 'not') && !isWord(t, 'exists') && !isWord(t, 'temp') && !isWord(t, 'temporary') && nameOf(t) === table);
    const open = toks.findIndex((t) => t.kind === 'punct' && t.value === '(');
    const tableTok = toks[nameAt >= 0 ? nameAt : 0]!;
    out.push({ offset: st.start + tableTok.start, line: lineOf(schema, st.start + tableTok.start), kind: 'table', table });
    if (open < 0) continue;
    const close = matchParen(toks, open);
    for (const part of splitTopLevel(toks.slice(open + 1, close < 0 ? toks.length : close))) {
      const first = part[0];
      if (!first || CONSTRAINT_LEADS.some((k) => isWord(first, k))) continue;
      const offset = st.start + first.start;
      out.push({ offset, line: lineOf(schema, offset), kind: 'column', table, column: nameOf(first) });
    }
    if (close >= 0) out.push({ offset: st.start + toks[close]!.start, line: lineOf(schema, st.start + toks[close]!.start), kind: 'table', table, end: true });
  }
  return out.sort((a, b) => a.offset - b.offset);
}

/**
 * The rename annotations of a schema script. Throws when one is attached to nothing (it must be
 * on a table's or a column's line, or alone on the line before one).
 */
export function renameAnnotations(schema: string): RenameAnnotation[] {
  if (!schema.includes('stores:renamed-from')) return [];
  const all = anchors(schema);
  const out: RenameAnnotation[] = [];
  for (const m of schema.matchAll(RENAMED)) {
    const p = m.index;
    const line = lineOf(schema, p);
    const lineStart = schema.lastIndexOf('\n', p - 1) + 1;
    const trailing = schema.slice(lineStart, p).trim() !== '';
    const anchor = trailing ? all.filter((a) => a.line === line && a.offset < p).pop() : all.find((a) => a.offset > p && !a.end);
    const from = m[1]!.replace(/^["`[]|["`\]]$/g, '');
    if (!anchor) throw new Error(`line ${line}: "-- stores:renamed-from ${from}" is on no table or column (write it at the end of the CREATE TABLE line or of the column's line)`);
    out.push({ kind: anchor.kind, table: anchor.table, ...(anchor.column !== undefined ? { column: anchor.column } : {}), from, line });
  }
  return out;
}
