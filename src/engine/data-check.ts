/**
 * Data-aware steps: what a SQL migration step does to the rows a real file holds, asked of
 * SQLite by running it on them — on a copy of the file for a dry run, inside the store's
 * transaction for `up`, on generated rows for `verify` (all three through {@link runPlan}).
 *
 * Counted per step: rows that violate a new UNIQUE, NOT NULL or CHECK (the statement fails:
 * the rows are then tried one by one in a savepoint, and SQLite names the constraint each one
 * breaks), rows a rebuild loses (an `ON CONFLICT IGNORE/REPLACE` of the new definition), rows
 * a DELETE or a drop takes, and rows a rebuild's `-- stores:map` expression turns to NULL (it
 * had a value to read, it gives none). A step that cannot run on the rows is refused; one that
 * loses rows or values is refused unless it declares it (`-- stores:destructive <why>`).
 */
import type Database from 'better-sqlite3';
import type { MigrationDefinition } from '../types.js';
import { foldCase, isName, isWord, nameOf, quoteIdent, quoteString, statementRanges, tokenize } from '../sql/tokens.js';
import { parseCreateIndex } from '../schema/parse.js';
import { parseMigration, rebuildCopy, type MigrationPart, rebuildTable, rebuildTemp, ordinaryColumns, renameCreate, type RebuildSpec } from './rebuild.js';
import { declaration, howToDeclare } from './destructive.js';
import { StepError } from './steps.js';
import { perText } from '../memo.js';

/** One thing a step does to the rows of a table. */
export interface DataFinding {
  /** `unique`, `not-null`, `check`: rows the step's new constraint refuses (the step fails); `failed`: it fails otherwise; `lost`: rows gone; `map-null`: values a map turns to NULL. */
  readonly kind: 'unique' | 'not-null' | 'check' | 'failed' | 'lost' | 'map-null';
  readonly table: string;
  /** The constraint, statement or map, as SQLite or the step says it. */
  readonly constraint: string;
  /** Rows concerned (null when SQLite's error names no count). */
  readonly rows: number | null;
  /** Up to three of them, values as SQL literals. */
  readonly sample: readonly string[];
}

/** A step refused for what it does to the rows: rolled back, nothing changed. */
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    message: string,
    readonly findings: readonly DataFinding[],
  ) {
    super(message);
  }
}

const SAMPLES = 3;

/** A value as a SQL literal. */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v)) return `X'${v.toString('hex').toUpperCase()}'`;
  return quoteString(String(v));
}

/** `(a, b) = (1, 'x')`: a row (at most six columns) as SQL literals. */
function rowText(cols: readonly string[], values: readonly unknown[]): string {
  const n = Math.min(cols.length, 6);
  const more = cols.length > n ? ', …' : '';
  return `(${cols.slice(0, n).join(', ')}${more}) = (${values.slice(0, n).map(sqlLiteral).join(', ')}${more})`;
}

const rowCount = (db: Database.Database, table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(table)}`).get() as { n: number }).n;
const tableExists = (db: Database.Database, table: string): string | undefined =>
  db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE").pluck().get(table) as string | undefined;

const KIND: Record<string, DataFinding['kind']> = {
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_NOTNULL: 'not-null',
  SQLITE_CONSTRAINT_CHECK: 'check',
};

/** Runs `fn` in a savepoint that is always rolled back (the probe leaves nothing). */
function probe<T>(db: Database.Database, fn: () => T): T {
  db.exec('SAVEPOINT stores_data_probe');
  try {
    return fn();
  } finally {
    db.exec('ROLLBACK TO stores_data_probe; RELEASE stores_data_probe');
  }
}

/**
 * True when a map says NULL is meant: a NULL value (`ELSE NULL`, not the test `IS [NOT] NULL`)
 * or NULLIF in the expression.
 */
function nullIntended(expr: string): boolean {
  const t = tokenize(expr);
  return t.some((x, i) => isWord(x, 'nullif') || (isWord(x, 'null') && !isWord(t[i - 1], 'is') && !isWord(t[i - 1], 'not')));
}

/** Rows a rebuild's map turns to NULL: the expression is NULL where a column it reads is not. */
function mapNulls(db: Database.Database, table: string, spec: RebuildSpec): DataFinding[] {
  const cols = ordinaryColumns(db, table);
  const out: DataFinding[] = [];
  for (const [col, expr] of Object.entries(spec.map ?? {})) {
    if (nullIntended(expr)) continue;
    const names = new Set(tokenize(expr).filter(isName).map((t) => foldCase(nameOf(t))));
    const reads = cols.filter((c) => names.has(foldCase(c)));
    const where = `(${expr}) IS NULL${reads.length > 0 ? ` AND (${reads.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(' OR ')})` : ''}`;
    const n = (db.prepare(`SELECT count(*) AS n FROM ${quoteIdent(table)} WHERE ${where}`).get() as { n: number }).n;
    if (n === 0) continue;
    const shown = reads.length > 0 ? reads : cols;
    const sample = (db.prepare(`SELECT ${shown.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} WHERE ${where} LIMIT ${SAMPLES}`).raw(true).all() as unknown[][]).map((r) => rowText(shown, r));
    out.push({ kind: 'map-null', table, constraint: `-- stores:map ${col} = ${expr}`, rows: n, sample });
  }
  return out;
}

/**
 * Why a rebuild's copy fails: the new table is created in a probe, the old rows are copied one
 * by one, and each refusal is counted under the constraint SQLite names.
 */
function rebuildViolations(db: Database.Database, table: string, spec: RebuildSpec): DataFinding[] {
  return probe(db, () => {
    const tmp = rebuildTemp(table);
    db.exec(renameCreate(spec.create, tmp));
    const { target, source } = rebuildCopy(db, table, ordinaryColumns(db, table), tmp, spec);
    const rows = db.prepare(`SELECT ${source.join(', ')} FROM ${quoteIdent(table)}`).raw(true).safeIntegers(true).all() as unknown[][];
    return rowByRow(db, `INSERT INTO ${quoteIdent(tmp)}`, target, rows, table, tmp);
  });
}

/**
 * Inserts `rows` one by one (`head` is `INSERT [OR …] INTO t`, `target` the quoted columns) and
 * counts each refusal under the constraint SQLite names (`tmp.` read as `table.`). In the
 * caller's probe: nothing stays.
 */
function rowByRow(db: Database.Database, head: string, target: readonly string[], rows: readonly unknown[][], table: string, tmp = table): DataFinding[] {
  const insert = db.prepare(`${head} (${target.join(', ')}) VALUES (${target.map(() => '?').join(', ')})`);
  const found = new Map<string, { kind: DataFinding['kind']; constraint: string; rows: number; sample: string[] }>();
  const names = target.map((t) => nameOf(tokenize(t)[0]!));
  for (const r of rows) {
    try {
      insert.run(...r);
    } catch (err) {
      const e = err as { code?: string; message: string };
      const kind = KIND[e.code ?? ''];
      if (!kind) throw err;
      const what = e.message.replace(/^.*constraint failed: /, '').split(`${tmp}.`).join(`${table}.`);
      const constraint = `${kind === 'unique' ? 'UNIQUE' : kind === 'not-null' ? 'NOT NULL' : 'CHECK'} ${what}`;
      const f = found.get(constraint) ?? { kind, constraint, rows: 0, sample: [] };
      f.rows++;
      if (f.sample.length < SAMPLES) f.sample.push(rowText(names, r));
      found.set(constraint, f);
    }
  }
  return [...found.values()].map((f) => ({ kind: f.kind, table, constraint: f.constraint, rows: f.rows, sample: f.sample }));
}

/**
 * A failed `INSERT INTO t [(cols)] SELECT …` (a hand-written table copy): the SELECT's rows are
 * inserted one by one in a probe, each refusal counted. Null for any other statement.
 */
function insertSelectViolations(db: Database.Database, sql: string): DataFinding[] | null {
  const t = tokenize(sql);
  let i = 0;
  if (!isWord(t[i++], 'insert')) return null;
  const or = isWord(t[i], 'or') ? ` OR ${t[i + 1]!.value.toUpperCase()}` : '';
  if (or) i += 2;
  if (!isWord(t[i++], 'into') || !isName(t[i])) return null;
  if (t[i + 1]?.value === '.') i += 2;
  const table = tableExists(db, nameOf(t[i]!));
  if (table === undefined) return null;
  i++;
  let target = ordinaryColumns(db, table).map(quoteIdent);
  if (t[i]?.value === '(') {
    const close = t.findIndex((x, j) => j > i && x.value === ')');
    target = t.slice(i + 1, close).filter(isName).map((x) => quoteIdent(nameOf(x)));
    i = close + 1;
  }
  if (!isWord(t[i], 'select') && !isWord(t[i], 'with')) return null;
  if (t.some((x) => isWord(x, 'conflict') || isWord(x, 'returning'))) return null;
  const select = sql.slice(t[i]!.start);
  return probe(db, () => {
    const rows = db.prepare(select).raw(true).safeIntegers(true).all() as unknown[][];
    return rowByRow(db, `INSERT${or} INTO ${quoteIdent(table)}`, target, rows, table);
  });
}

/** Duplicates a `CREATE UNIQUE INDEX` meets: key groups with more than one row (NULLs are distinct). */
function uniqueIndexViolations(db: Database.Database, sql: string): DataFinding[] | null {
  const t = tokenize(sql);
  const on = t.findIndex((x) => isWord(x, 'on'));
  if (!isWord(t[0], 'create') || !isWord(t[1], 'unique') || on < 0 || !isName(t[on + 1])) return null;
  const table = nameOf(t[on + 1]!);
  const { terms, where } = parseCreateIndex(sql);
  const keys = terms.map((term) => sql.slice(term[0]!.start, term[term.length - 1]!.end));
  if (keys.length === 0) return null;
  const cond = [...(where ? [`(${where})`] : []), ...keys.map((k) => `(${k}) IS NOT NULL`)].join(' AND ');
  const groups = db.prepare(`SELECT ${keys.join(', ')}, count(*) AS stores_n FROM ${quoteIdent(table)} WHERE ${cond} GROUP BY ${keys.join(', ')} HAVING count(*) > 1 ORDER BY count(*) DESC, ${keys.join(', ')}`).raw(true).all() as unknown[][];
  const rows = groups.reduce((n, g) => n + Number(g[g.length - 1]), 0);
  const sample = groups.slice(0, SAMPLES).map((g) => `${rowText(keys, g.slice(0, -1))} ×${String(g[g.length - 1])}`);
  return [{ kind: 'unique', table, constraint: `UNIQUE (${keys.join(', ')})${where ? ` WHERE ${where}` : ''}`, rows, sample }];
}

/** `ALTER TABLE t ADD COLUMN … NOT NULL` (no default) or with a CHECK its default fails: every row. */
function addColumnViolations(db: Database.Database, sql: string, message: string): DataFinding[] | null {
  const t = tokenize(sql);
  if (!isWord(t[0], 'alter') || !isWord(t[1], 'table') || !isName(t[2])) return null;
  const i = t[3]?.value === '.' ? 4 : 2;
  const add = t.findIndex((x) => isWord(x, 'add'));
  if (add < 0) return null;
  const table = tableExists(db, nameOf(t[i]!)) ?? nameOf(t[i]!);
  const kind = /NOT NULL/.test(message) ? 'not-null' : /CHECK/.test(message) ? 'check' : null;
  if (!kind) return null;
  const cols = ordinaryColumns(db, table).slice(0, 3);
  const sample = (db.prepare(`SELECT ${cols.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} LIMIT ${SAMPLES}`).raw(true).all() as unknown[][]).map((r) => rowText(cols, r));
  const column = sql.slice(t[add]!.start).replace(/^add\s+(column\s+)?/i, '').trim();
  // NOT NULL without a default fails on every row; a CHECK may fail on some only (SQLite does not say which).
  return [{ kind, table, constraint: `${kind === 'not-null' ? 'NOT NULL' : 'CHECK'} of the added column ${column}`, rows: kind === 'not-null' ? rowCount(db, table) : null, sample: kind === 'not-null' ? sample : [] }];
}

/** What a failed statement of a step meets in the rows (SQLite's error when nothing more is known). */
function statementFindings(db: Database.Database, sql: string, err: unknown): DataFinding[] {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  const known = (e.code === 'SQLITE_CONSTRAINT_UNIQUE' ? uniqueIndexViolations(db, sql) : null) ?? addColumnViolations(db, sql, message) ?? (KIND[e.code ?? ''] ? insertSelectViolations(db, sql) : null);
  if (known) return known;
  const kind = KIND[e.code ?? ''] ?? 'failed';
  const table = /constraint failed: ([^.\s]+)\./.exec(message)?.[1] ?? '';
  return [{ kind, table, constraint: `${message} (in: ${sql.trim().slice(0, 200)})`, rows: null, sample: [] }];
}

/** What to write instead, for people. */
function remedy(f: DataFinding, step: MigrationDefinition): string {
  switch (f.kind) {
    case 'unique':
      return `resolve the duplicates in a statement before it (merge them, or delete all but one with \`-- stores:destructive <why>\`)`;
    case 'not-null':
      return `give those rows a value first (\`UPDATE ${quoteIdent(f.table)} SET … WHERE … IS NULL\`), a DEFAULT, or a \`-- stores:map col = coalesce(…)\` in the rebuild`;
    case 'check':
      return `map the old values to allowed ones before the step (\`UPDATE ${quoteIdent(f.table)} SET … WHERE …\`) or with a \`-- stores:map col = CASE … END\` in the rebuild`;
    case 'map-null':
      return `make the map give a value for every row (e.g. \`coalesce(…, <fallback>)\`), clean the rows up in a statement before, write the NULL out (\`ELSE NULL\`) when those rows are meant to have none, or if losing the values is intended, ${howToDeclare(step)}`;
    case 'lost':
      return `remove those rows explicitly in a statement before it, or if losing them is intended, ${howToDeclare(step)}`;
    case 'failed':
      return 'fix the step so it runs on the rows files hold';
  }
}

/** The refusal of a step for what it does to the rows. */
export function dataRefusal(step: MigrationDefinition, findings: readonly DataFinding[]): string {
  const parts = findings.map((f) => {
    const what =
      f.kind === 'map-null'
        ? `turns ${f.rows} value(s) of ${f.table} to NULL (${f.constraint})`
        : f.kind === 'lost'
          ? `loses ${f.rows} row(s) of ${f.table} (${f.constraint})`
          : f.kind === 'failed'
            ? `fails on the rows: ${f.constraint}`
            : `meets ${f.rows ?? 'some'} row(s) of ${f.table} that violate ${f.constraint}`;
    return `${what}${f.sample.length > 0 ? `, e.g. ${f.sample.join('; ')}` : ''}; ${remedy(f, step)}`;
  });
  return `migration ${step.name} ${parts.join('. It also ')}`;
}

/** Findings that refuse the step: it cannot run, or it loses what it does not declare. */
function refusing(step: MigrationDefinition, findings: readonly DataFinding[]): DataFinding[] {
  const declared = declaration(step) !== null;
  return findings.filter((f) => !['lost', 'map-null'].includes(f.kind) || !declared);
}

/**
 * Runs SQL migration `step` on `db` (inside the caller's transaction, foreign keys off), part by
 * part, counting what it does to the rows (see the module comment); returns the findings, or
 * throws {@link DataError} (the caller rolls back) when they refuse it.
 */
export function runCounted(db: Database.Database, step: MigrationDefinition & { sql: string }, tables: readonly string[]): DataFinding[] {
  try {
    return countedParts(db, step, tables);
  } catch (err) {
    if (err instanceof DataError || err instanceof StepError) throw err;
    throw new StepError(step.name, `migration ${step.name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** A step's parts, each SQL part with its statements. */
type CountedPart = Exclude<MigrationPart, { kind: 'sql' }> | { readonly kind: 'sql'; readonly statements: readonly string[] };

/** The parts of each step text met (a registry's steps are few and fixed): split once per thread, not once per file. */
const partsOf = perText((sql): readonly CountedPart[] =>
  parseMigration(sql).map((part) => (part.kind === 'sql' ? { kind: 'sql', statements: statementRanges(part.sql).map((st) => st.sql) } : part)),
);

function countedParts(db: Database.Database, step: MigrationDefinition & { sql: string }, tables: readonly string[]): DataFinding[] {
  const findings: DataFinding[] = [];
  const fail = (more: DataFinding[]): never => {
    findings.push(...more);
    throw new DataError(dataRefusal(step, refusing(step, findings)), findings);
  };
  const rebuilt = new Set<string>();
  const before = new Map(tables.flatMap((t) => (tableExists(db, t) ? [[t, rowCount(db, t)] as const] : [])));
  for (const part of partsOf(step.sql)) {
    if (part.kind === 'rebuild') {
      const table = tableExists(db, part.table);
      if (table === undefined) fail([{ kind: 'failed', table: part.table, constraint: `cannot rebuild ${part.table}: no such table`, rows: null, sample: [] }]);
      findings.push(...mapNulls(db, table!, part));
      const had = rowCount(db, table!);
      // In a savepoint: a failed copy leaves the half-made rebuild behind, undone before the diagnosis.
      db.exec('SAVEPOINT stores_data_rebuild');
      try {
        rebuildTable(db, part);
        db.exec('RELEASE stores_data_rebuild');
      } catch (err) {
        db.exec('ROLLBACK TO stores_data_rebuild; RELEASE stores_data_rebuild');
        const v = KIND[(err as { code?: string }).code ?? ''] ? rebuildViolations(db, table!, part) : [];
        if (v.length === 0) throw err;
        fail(v);
      }
      rebuilt.add(foldCase(table!));
      const now = rowCount(db, part.table);
      if (now < had) findings.push({ kind: 'lost', table: table!, constraint: `the rebuild of ${table} (a conflict clause of the new definition drops rows)`, rows: had - now, sample: [] });
      continue;
    }
    for (const sql of part.statements) {
      try {
        db.exec(sql);
      } catch (err) {
        // Constraint failures and SQLite's refusals of a statement are about the rows; busy, full
        // or I/O errors are not (they keep their own handling).
        const code = (err as { code?: string }).code ?? '';
        if (!code.startsWith('SQLITE_CONSTRAINT') && code !== 'SQLITE_ERROR') throw err;
        fail(statementFindings(db, sql, err));
      }
    }
  }
  // Rows the step's statements took from the tables it touches (rebuilds counted above).
  for (const [t, had] of before) {
    if (rebuilt.has(foldCase(t))) continue;
    const now = tableExists(db, t) ? rowCount(db, t) : null;
    if (now === null && had > 0) findings.push({ kind: 'lost', table: t, constraint: `table ${t} dropped (or renamed)`, rows: had, sample: [] });
    else if (now !== null && now < had) findings.push({ kind: 'lost', table: t, constraint: `rows deleted from ${t}`, rows: had - now, sample: [] });
  }
  if (refusing(step, findings).length > 0) fail([]);
  return findings;
}
