/**
 * A small SQLite tokenizer: enough to split statements, find the parts of a CREATE statement
 * and normalise expressions so that two spellings of the same schema compare equal.
 *
 * It never executes anything; SQLite itself remains the judge of what SQL means
 * (see https://www.sqlite.org/lang_keywords.html for the quoting rules followed here).
 */

export type TokenKind = 'word' | 'ident' | 'string' | 'blob' | 'number' | 'param' | 'punct';

export interface Token {
  readonly kind: TokenKind;
  /** For `ident`: the unquoted name. Otherwise the token's text as written. */
  readonly value: string;
  /** Offsets into the source, `text.slice(start, end)` is the token as written. */
  readonly start: number;
  readonly end: number;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const TWO_CHAR_OPS = new Set(['||', '<=', '>=', '==', '!=', '<>', '<<', '>>', '->']);

/** Splits SQL text into tokens, skipping white space and comments. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    const start = i;
    if (c === "'") {
      i = scanQuoted(text, i, "'");
      out.push({ kind: 'string', value: text.slice(start, i), start, end: i });
      continue;
    }
    if ((c === 'x' || c === 'X') && text[i + 1] === "'") {
      i = scanQuoted(text, i + 1, "'");
      out.push({ kind: 'blob', value: text.slice(start, i).toLowerCase(), start, end: i });
      continue;
    }
    if (c === '"' || c === '`') {
      i = scanQuoted(text, i, c);
      const raw = text.slice(start + 1, i - 1);
      out.push({ kind: 'ident', value: raw.split(c + c).join(c), start, end: i });
      continue;
    }
    if (c === '[') {
      const close = text.indexOf(']', i + 1);
      i = close < 0 ? n : close + 1;
      out.push({ kind: 'ident', value: text.slice(start + 1, i - 1), start, end: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      if (c === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
        i += 2;
        while (i < n && /[0-9A-Fa-f]/.test(text[i]!)) i++;
      } else {
        while (i < n && /[0-9._]/.test(text[i]!)) i++;
        if (text[i] === 'e' || text[i] === 'E') {
          i++;
          if (text[i] === '+' || text[i] === '-') i++;
          while (i < n && /[0-9]/.test(text[i]!)) i++;
        }
      }
      out.push({ kind: 'number', value: text.slice(start, i), start, end: i });
      continue;
    }
    if (WORD_START.test(c)) {
      while (i < n && WORD_PART.test(text[i]!)) i++;
      out.push({ kind: 'word', value: text.slice(start, i), start, end: i });
      continue;
    }
    if (c === '?' || c === ':' || c === '@' || c === '$') {
      i++;
      while (i < n && WORD_PART.test(text[i]!)) i++;
      out.push({ kind: 'param', value: text.slice(start, i), start, end: i });
      continue;
    }
    if (c === '-' && text[i + 1] === '>' && text[i + 2] === '>') {
      i += 3;
    } else if (TWO_CHAR_OPS.has(text.slice(i, i + 2))) {
      i += 2;
    } else {
      i += 1;
    }
    out.push({ kind: 'punct', value: text.slice(start, i), start, end: i });
  }
  return out;
}

function scanQuoted(text: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < text.length) {
    if (text[i] === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return text.length;
}

/** Lower-cases ASCII letters only, as SQLite does when it compares identifiers. */
export function foldCase(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      // Only now build a new string (this runs for every name and keyword compared).
      let out = name.slice(0, i);
      for (let j = i; j < name.length; j++) {
        const d = name.charCodeAt(j);
        out += d >= 65 && d <= 90 ? String.fromCharCode(d + 32) : name[j];
      }
      return out;
    }
  }
  return name;
}

/** Upper-cases ASCII letters only (collation names and keywords compare that way in SQLite). */
export function upperCase(name: string): string {
  return name.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** True when a token is the keyword `kw` (given in lower case; compared ASCII-case-insensitively). */
export function isWord(tok: Token | undefined, kw: string): boolean {
  if (tok === undefined || tok.kind !== 'word' || tok.value.length !== kw.length) return false;
  const v = tok.value;
  for (let i = 0; i < v.length; i++) {
    let c = v.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== kw.charCodeAt(i)) return false;
  }
  return true;
}

/** True when a token is a name: a bare word, a quoted identifier, or (as SQLite allows) a string. */
export function isName(tok: Token | undefined): boolean {
  return tok !== undefined && (tok.kind === 'word' || tok.kind === 'ident' || tok.kind === 'string');
}

/** The name a token stands for (quotes removed). */
export function nameOf(tok: Token): string {
  if (tok.kind === 'string') return tok.value.slice(1, -1).split("''").join("'");
  return tok.value;
}

const PLAIN_IDENT = /^[a-z_][a-z0-9_$]*$/;

/** Operators SQLite reads as the same operator: https://www.sqlite.org/lang_expr.html#operators */
const SAME_OPERATOR: Readonly<Record<string, string>> = { '==': '=', '<>': '!=' };

/**
 * The canonical text of a token list: identifiers unquoted (or quoted one way) and case-folded,
 * keywords lower-cased, literals kept as written, `==` as `=` and `<>` as `!=`, one space
 * between tokens. Two spellings of the same expression give the same text.
 */
export function canonical(tokens: readonly Token[]): string {
  const parts: string[] = [];
  for (const t of tokens) {
    switch (t.kind) {
      case 'word':
      case 'ident': {
        const folded = foldCase(t.value);
        parts.push(PLAIN_IDENT.test(folded) ? folded : `"${folded.split('"').join('""')}"`);
        break;
      }
      case 'punct':
        parts.push(SAME_OPERATOR[t.value] ?? t.value);
        break;
      default:
        parts.push(t.value);
    }
  }
  return parts.join(' ');
}

/** Canonical text of an expression written as SQL. Outer parentheses are removed. */
export function canonicalExpr(sql: string): string {
  return canonical(stripOuterParens(tokenize(sql)));
}

/** Removes parentheses that wrap the whole token list, as many times as they do. */
export function stripOuterParens(tokens: readonly Token[]): readonly Token[] {
  let toks = tokens;
  while (toks.length >= 2 && toks[0]!.value === '(' && matchParen(toks, 0) === toks.length - 1) {
    toks = toks.slice(1, -1);
  }
  return toks;
}

/** Index of the `)` matching the `(` at `open`, or -1. */
export function matchParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const v = tokens[i]!;
    if (v.kind !== 'punct') continue;
    if (v.value === '(') depth++;
    else if (v.value === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Splits a token list on commas that are not inside parentheses. */
export function splitTopLevel(tokens: readonly Token[], sep = ','): Token[][] {
  const out: Token[][] = [];
  let depth = 0;
  let cur: Token[] = [];
  for (const t of tokens) {
    if (t.kind === 'punct') {
      if (t.value === '(') depth++;
      else if (t.value === ')') depth--;
      else if (t.value === sep && depth === 0) {
        out.push(cur);
        cur = [];
        continue;
      }
    }
    cur.push(t);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Splits a script into statements on semicolons, keeping each statement's text.
 * A `CREATE TRIGGER … BEGIN … END` holds semicolons of its own: as in SQLite's
 * `sqlite3_complete()`, it ends only at an `END ;` — one that no `CASE` claimed, so that both
 * `CASE … END` and a column named `end` inside the body are kept whole.
 */
export function splitStatements(text: string): string[] {
  return statementRanges(text).map((r) => r.sql);
}

/** A statement of a script: its text (without the semicolon) and where it stands. */
export interface StatementRange {
  readonly sql: string;
  readonly start: number;
  /** Offset just past the statement's semicolon (or its last token). */
  readonly end: number;
}

/** {@link splitStatements} with each statement's offsets in the script. */
export function statementRanges(text: string): StatementRange[] {
  const tokens = tokenize(text);
  const out: StatementRange[] = [];
  let begin = -1;
  let inTrigger = false;
  let caseDepth = 0;
  let triggerEnd = false; // the previous token was an END no CASE claimed
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (begin < 0) {
      begin = i;
      inTrigger = false;
      caseDepth = 0;
    }
    if ((i === begin + 1 || i === begin + 2) && isWord(tokens[begin], 'create') && isWord(t, 'trigger')) inTrigger = true;
    const isSemi = t.kind === 'punct' && t.value === ';';
    if (isSemi && (!inTrigger || triggerEnd)) {
      if (i > begin) out.push({ sql: text.slice(tokens[begin]!.start, tokens[i - 1]!.end), start: tokens[begin]!.start, end: t.end });
      begin = -1;
      triggerEnd = false;
      continue;
    }
    triggerEnd = false;
    if (inTrigger) {
      if (isWord(t, 'case')) caseDepth++;
      else if (isWord(t, 'end')) {
        if (caseDepth > 0) caseDepth--;
        else triggerEnd = true;
      }
    }
  }
  if (begin >= 0 && begin < tokens.length) {
    const last = tokens[tokens.length - 1]!;
    out.push({ sql: text.slice(tokens[begin]!.start, last.end), start: tokens[begin]!.start, end: last.end });
  }
  return out;
}

/** Quotes an identifier for SQLite, whatever characters it holds. */
export function quoteIdent(name: string): string {
  return `"${name.split('"').join('""')}"`;
}

/** Quotes a string literal for SQLite. */
export function quoteString(value: string): string {
  return `'${value.split("'").join("''")}'`;
}
