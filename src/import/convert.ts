/**
 * One imported migration, turned into a `stores` migration step:
 *
 * - transaction and connection statements the engine owns are stripped when they change nothing
 *   the step means (`BEGIN`/`COMMIT`, `PRAGMA foreign_keys`, `PRAGMA user_version`, connection
 *   pragmas, `VACUUM`); others (`ROLLBACK`, `SAVEPOINT`, `ATTACH`, `PRAGMA writable_schema` …)
 *   refuse the import;
 * - a table rebuild written out by hand or by drizzle-kit (`CREATE TABLE __new_t …; INSERT INTO
 *   __new_t (…) SELECT … FROM t; DROP TABLE t; ALTER TABLE __new_t RENAME TO t;`) becomes a
 *   `-- stores:rebuild t` step (src/engine/rebuild.ts), the INSERT's column list becoming
 *   `-- stores:map` lines; the indexes and triggers the original `DROP TABLE` drops are dropped
 *   first, as the original does.
 *
 * Then the conversion is proven by asking SQLite: the original statements and the converted step
 * run on copies of the version before, empty and with generated rows, and must leave the same
 * schema (by meaning) and the same rows; otherwise the import refuses, naming the migration.
 */
import Database from 'better-sqlite3';
import { inspect } from '../schema/inspect.js';
import { describeChange, diff } from '../schema/diff.js';
import { foldCase, isName, isWord, nameOf, quoteIdent, splitTopLevel, statementRanges, tokenize, type Token } from '../sql/tokens.js';
import { runStep } from '../engine/steps.js';
import { generateRows } from '../verify-rows.js';
import { ImportError, type SourceMigration } from './source.js';

export interface Converted {
  /** The step's SQL (without the header comment). */
  readonly sql: string;
  /** What was stripped or rewritten, for people. */
  readonly notes: readonly string[];
}

/** Statements stripped: the engine runs every step in its own transaction, foreign keys off, and stamps the version. */
const STRIPPED_LEADS = new Set(['begin', 'commit', 'end', 'vacuum']);
/** Pragmas stripped: they change no schema or row (the engine owns foreign keys and user_version; the rest are connection settings). */
const STRIPPED_PRAGMAS = new Set([
  'foreign_keys',
  'defer_foreign_keys',
  'foreign_key_check',
  'user_version',
  'legacy_alter_table',
  'busy_timeout',
  'journal_mode',
  'synchronous',
  'cache_size',
  'mmap_size',
  'temp_store',
  'wal_autocheckpoint',
  'journal_size_limit',
  'optimize',
]);
const PRAGMA_WHY: Readonly<Record<string, string>> = {
  foreign_keys: 'stores runs every step with foreign keys off and checks them before commit',
  defer_foreign_keys: 'stores runs every step with foreign keys off and checks them before commit',
  foreign_key_check: 'stores checks foreign keys before commit',
  legacy_alter_table: 'stores renames with the current ALTER TABLE rules',
  user_version: 'stores stamps user_version itself, once, at the end of the transaction',
  optimize: 'it changes no schema or row',
};
const REFUSED_LEADS = new Set(['rollback', 'savepoint', 'release', 'attach', 'detach']);

interface Rebuild {
  readonly table: string;
  /** Statements before the rebuild (dropping what the original DROP TABLE drops). */
  readonly before: readonly string[];
  readonly create: string;
  readonly map: readonly (readonly [string, string])[];
}

const short = (sql: string) => {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 70 ? `${one.slice(0, 67)}...` : one;
};

/** The statements of a migration, as its tool splits them. */
function statementsOf(m: SourceMigration): string[] {
  return m.statements.flatMap((chunk) => statementRanges(chunk).map((r) => r.sql));
}

/**
 * Converts migration `m` to a stores step, run from `start` (the serialized schema of the version
 * before; null for the first). Throws {@link ImportError} naming the migration and the reason.
 */
export function convertMigration(m: SourceMigration, start: Buffer | null): Converted {
  const stmts = statementsOf(m);
  const notes: string[] = [];
  const out: string[] = [];
  const kept: string[] = [];
  const orig = open(start);
  try {
    for (let i = 0; i < stmts.length; i++) {
      const s = stmts[i]!;
      const t = tokenize(s);
      const lead = t[0]?.kind === 'word' ? foldCase(t[0].value) : '';
      if (STRIPPED_LEADS.has(lead)) {
        notes.push(`${m.file}: \`${short(s)}\` stripped (stores runs every step in its own transaction)`);
        continue;
      }
      if (REFUSED_LEADS.has(lead)) throw new ImportError(`${m.file}: \`${short(s)}\` cannot be imported: stores owns transactions and attached databases; rewrite the migration without it`);
      if (lead === 'pragma') {
        const name = pragmaName(t);
        if (!STRIPPED_PRAGMAS.has(name)) throw new ImportError(`${m.file}: \`${short(s)}\` cannot be imported: this pragma may change the file's schema or rows, and stores migrations hold no pragma; rewrite the migration without it`);
        notes.push(`${m.file}: \`${short(s)}\` stripped (${PRAGMA_WHY[name] ?? 'a connection setting: it belongs in store.json "connection"'})`);
        continue;
      }
      const rebuild = matchRebuild(m, stmts, i, orig);
      if (rebuild) {
        for (const x of stmts.slice(i, i + 4)) run(orig, m, x);
        kept.push(...stmts.slice(i, i + 4));
        out.push(...rebuild.before.map((b) => `${b};`));
        const maps = rebuild.map.map(([c, e]) => `-- stores:map ${c} = ${e}\n`).join('');
        out.push(`-- stores:rebuild ${rebuild.table}\n${maps}${rebuild.create};`);
        notes.push(`${m.file}: the rebuild of ${rebuild.table} (create, copy, drop, rename) became a \`-- stores:rebuild ${rebuild.table}\` step`);
        i += 3;
        continue;
      }
      run(orig, m, s);
      kept.push(s);
      out.push(`${s};`);
    }
  } finally {
    orig.close();
  }
  // A step left empty keeps its version: files the app's runner kept at it are at that version.
  const sql = out.length > 0 ? out.join('\n') + '\n' : `-- nothing left to run: every statement of ${m.file} is one stores owns\n`;
  proveSame(m, start, kept, sql);
  return { sql, notes };
}

function open(image: Buffer | null): Database.Database {
  const db = image ? new Database(image) : new Database(':memory:');
  db.pragma('foreign_keys = OFF');
  return db;
}

function run(db: Database.Database, m: SourceMigration, sql: string): void {
  try {
    db.exec(sql);
  } catch (err) {
    throw new ImportError(`${m.file}: \`${short(sql)}\` fails when replayed in memory: ${(err as Error).message}`);
  }
}

function pragmaName(t: readonly Token[]): string {
  const i = t[2]?.value === '.' ? 3 : 1;
  return t[i] ? foldCase(nameOf(t[i]!)) : '';
}

/** The table a `CREATE TABLE` statement creates, and the token naming it; or null. */
function createdName(t: readonly Token[]): { name: string; at: number } | null {
  let i = 0;
  if (!isWord(t[i++], 'create')) return null;
  if (isWord(t[i], 'temp') || isWord(t[i], 'temporary')) return null;
  if (!isWord(t[i++], 'table')) return null;
  if (isWord(t[i], 'if')) i += 3;
  if (!isName(t[i]) || t[i + 1]?.value === '.') return null;
  return { name: nameOf(t[i]!), at: i };
}

/** Position of the first top-level FROM after `from`, or -1. */
function topLevelWord(t: readonly Token[], word: string, from: number): number {
  let depth = 0;
  for (let i = from; i < t.length; i++) {
    const v = t[i]!;
    if (v.kind === 'punct' && v.value === '(') depth++;
    else if (v.kind === 'punct' && v.value === ')') depth--;
    else if (depth === 0 && isWord(v, word)) return i;
  }
  return -1;
}

const same = (a: string, b: string) => foldCase(a) === foldCase(b);

/**
 * The rebuild starting at statement `i` (`CREATE TABLE n`, `INSERT INTO n … SELECT … FROM t`,
 * `DROP TABLE t`, `ALTER TABLE n RENAME TO t`), or null when statement `i` starts none. A table
 * named `__new_*` that does not go through all four steps is refused: it is a rebuild stores
 * cannot follow.
 */
function matchRebuild(m: SourceMigration, stmts: readonly string[], i: number, orig: Database.Database): Rebuild | null {
  const ct = tokenize(stmts[i]!);
  const created = createdName(ct);
  if (!created) return null;
  const n = created.name;
  const drizzle = foldCase(n).startsWith('__new_');
  const refuse = (why: string): null => {
    if (drizzle) throw new ImportError(`${m.file}: the rebuild through ${n} cannot be imported: ${why}`);
    return null;
  };
  const [ins, drop, alter] = [1, 2, 3].map((k) => tokenize(stmts[i + k] ?? ''));
  if (!isWord(ins![0], 'insert') || !isWord(ins![1], 'into') || !isName(ins![2]) || !same(nameOf(ins![2]!), n)) return refuse(`the statement after CREATE TABLE ${n} is not INSERT INTO ${n} … SELECT … FROM the old table`);
  const fromAt = topLevelWord(ins!, 'from', 3);
  const tableTok = ins![fromAt + 1];
  if (fromAt < 0 || !isName(tableTok)) return refuse('the copy of rows is not INSERT INTO … SELECT … FROM a table');
  const table = nameOf(tableTok!);
  const dropOk = isWord(drop![0], 'drop') && isWord(drop![1], 'table') && isName(drop![2]) && same(nameOf(drop![2]!), table) && drop!.length === 3;
  const alterOk =
    isWord(alter![0], 'alter') && isWord(alter![1], 'table') && isName(alter![2]) && same(nameOf(alter![2]!), n) && isWord(alter![3], 'rename') && isWord(alter![4], 'to') && isName(alter![5]) && same(nameOf(alter![5]!), table) && alter!.length === 6;
  if (!dropOk || !alterOk) return refuse(`it must be followed by DROP TABLE ${table} and ALTER TABLE ${n} RENAME TO ${table}`);
  if (fromAt + 2 !== ins!.length) return refuse(`the copy of rows filters or joins (\`${short(stmts[i + 1]!)}\`): a rebuild keeps every row`);
  // The column list and the SELECT list.
  let k = 3;
  let targets: string[] | null = null;
  if (ins![k]?.value === '(') {
    const close = ins!.findIndex((tok, j) => j > k && tok.value === ')');
    targets = splitTopLevel(ins!.slice(k + 1, close)).map((part) => nameOf(part[0]!));
    k = close + 1;
  }
  if (!isWord(ins![k], 'select')) return refuse('the copy of rows is not INSERT INTO … SELECT');
  const text = stmts[i + 1]!;
  const items = splitTopLevel(ins!.slice(k + 1, fromAt));
  const columnsOf = (db: Database.Database, t: string) => (db.prepare('SELECT name, hidden, dflt_value FROM pragma_table_xinfo(?)').all(t) as { name: string; hidden: number; dflt_value: string | null }[]).filter((c) => c.hidden === 0);
  const oldCols = columnsOf(orig, table);
  if (oldCols.length === 0) return refuse(`there is no table ${table} to rebuild at this point`);
  const exprs = items.flatMap((part) => (part.length === 1 && part[0]!.value === '*' ? oldCols.map((c) => quoteIdent(c.name)) : [text.slice(part[0]!.start, part.at(-1)!.end)]));
  // The new table's columns: create it on a scratch copy to ask SQLite.
  const scratch = new Database(orig.serialize());
  let newCols: ReturnType<typeof columnsOf>;
  try {
    scratch.exec(stmts[i]!);
    newCols = columnsOf(scratch, n);
  } finally {
    scratch.close();
  }
  targets ??= newCols.map((c) => c.name);
  if (targets.length !== exprs.length) return refuse(`the INSERT names ${targets.length} columns but selects ${exprs.length} values`);
  const map: [string, string][] = [];
  const oldNames = new Set(oldCols.map((c) => foldCase(c.name)));
  targets.forEach((c, j) => {
    const e = exprs[j]!;
    const et = tokenize(e);
    const plain = et.length === 1 && isName(et[0]) && et[0]!.kind !== 'string' && same(nameOf(et[0]!), c) && oldNames.has(foldCase(c));
    if (!plain) map.push([c, e]);
  });
  // A column the old table has but the INSERT leaves out takes its default, as in the original.
  for (const c of newCols) {
    if (oldNames.has(foldCase(c.name)) && !targets.some((x) => same(x, c.name))) map.push([c.name, c.dflt_value ?? 'NULL']);
  }
  for (const [c, e] of map) {
    if (c.includes('=') || /[\r\n]/.test(c)) return refuse(`column name ${JSON.stringify(c)} cannot be written in a \`-- stores:map\` line`);
    if (/[\r\n]/.test(e) && tokenize(e).some((tok) => /[\r\n]/.test(tok.value))) return refuse(`the value of ${c} spans lines inside a literal: it cannot be written in a \`-- stores:map\` line`);
  }
  const before = (orig.prepare("SELECT type, name FROM sqlite_schema WHERE type IN ('index', 'trigger') AND tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL ORDER BY rowid").all(table) as { type: string; name: string }[]).map(
    (o) => `DROP ${o.type.toUpperCase()} ${quoteIdent(o.name)}`,
  );
  const nameTok = ct[created.at]!;
  const create = stmts[i]!.slice(0, nameTok.start) + text.slice(tableTok!.start, tableTok!.end) + stmts[i]!.slice(nameTok.end);
  return { table, before, create, map: map.map(([c, e]) => [c, e.replace(/\s*[\r\n]\s*/g, ' ')] as const) };
}

type Rows = Record<string, string[]>;

function rowsOf(db: Database.Database): Rows {
  const out: Rows = {};
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'").pluck().all() as string[];
  for (const t of tables) {
    out[foldCase(t)] = (db.prepare(`SELECT * FROM ${quoteIdent(t)}`).raw().all() as unknown[][]).map((r) => JSON.stringify(r.map((v) => (Buffer.isBuffer(v) ? `blob:${v.toString('hex')}` : typeof v === 'bigint' ? String(v) : v)))).sort();
  }
  return out;
}

function sameRows(a: Rows, b: Rows): string | null {
  for (const t of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[t] ?? [];
    const y = b[t] ?? [];
    if (x.length !== y.length || x.some((r, i) => r !== y[i])) return `table ${t} holds ${x.length} rows after the original and ${y.length} after the conversion, or different values`;
  }
  return null;
}

/**
 * Runs the original statements and the converted step from the same start, empty and with
 * generated rows: both must give the same schema by meaning and the same rows.
 */
function proveSame(m: SourceMigration, start: Buffer | null, original: readonly string[], sql: string): void {
  const step = { version: 2, name: m.file, sql };
  const compare = (image: Buffer | null, withRows: boolean): void => {
    const a = open(image);
    const b = open(image);
    try {
      try {
        a.exec('BEGIN');
        for (const s of original) a.exec(s);
        a.exec('COMMIT');
      } catch (err) {
        if (withRows) return; // the original itself refuses these rows: nothing to compare
        throw new ImportError(`${m.file}: fails when replayed in memory: ${(err as Error).message}`);
      }
      try {
        runStep(b, 'import', step);
      } catch (err) {
        throw new ImportError(`${m.file}: the converted step fails where the original runs${withRows ? ' (with rows)' : ''}: ${(err as Error).message}`);
      }
      const changes = diff(inspect(a), inspect(b));
      if (changes.length > 0) throw new ImportError(`${m.file}: the converted step does not give the schema the original gives: ${changes.map(describeChange).join('; ')}`);
      const rows = sameRows(rowsOf(a), rowsOf(b));
      if (rows) throw new ImportError(`${m.file}: the converted step does not keep the rows the original keeps: ${rows}`);
    } finally {
      a.close();
      b.close();
    }
  };
  compare(start, false);
  if (start) {
    const db = open(start);
    try {
      generateRows(db, inspect(db));
      compare(db.serialize(), true);
    } finally {
      db.close();
    }
  }
}
