/**
 * `stores verify`: proves a registry in memory, touching no data dir.
 *
 * For every store: a fresh file equals the baseline; a file at every supported version, holding
 * generated rows, migrates to exactly the baseline and keeps every row; every legacy sample
 * adopts to the baseline and keeps the rows of the tables it keeps; the store's invariants hold
 * after each path; and a second pass finds the file current.
 */
import Database from 'better-sqlite3';
import type { Registry, Store } from './types.js';
import { classify } from './engine/classify.js';
import { reconcileConnection } from './engine/apply.js';
import { collect, type FileStat } from './engine/probe.js';
import { runStep } from './engine/steps.js';
import { inspect } from './schema/inspect.js';
import { describeChange, diff } from './schema/diff.js';
import type { Snapshot, Table } from './schema/model.js';
import { foldCase, quoteIdent } from './sql/tokens.js';

export interface VerifyCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly stores: readonly { readonly name: string; readonly checks: readonly VerifyCheck[] }[];
}

const MEMORY_STAT: FileStat = {
  file: ':memory:',
  kind: 'file',
  size: 4096,
  walBytes: 0,
  journal: false,
  header: { sqlite: true, wal: false, userVersion: 0 },
};

type Rows = Record<string, Record<string, unknown>[]>;

function readRows(db: Database.Database, snap: Snapshot): Rows {
  const out: Rows = {};
  for (const [k, t] of Object.entries(snap.tables)) {
    if (t.virtual) continue;
    const order = t.withoutRowid ? t.columns.filter((c) => c.pk > 0).map((c) => quoteIdent(c.name)).join(', ') || '1' : 'rowid';
    out[k] = db.prepare(`SELECT * FROM ${quoteIdent(t.name)} ORDER BY ${order}`).all() as Record<string, unknown>[];
  }
  return out;
}

/** Tables in an order where parents come before the children that reference them. */
function parentFirst(snap: Snapshot): Table[] {
  const done = new Set<string>();
  const out: Table[] = [];
  const visit = (k: string, depth: number) => {
    if (done.has(k) || depth > 64) return;
    const t = snap.tables[k];
    if (!t) return;
    done.add(k);
    for (const fk of t.foreignKeys) if (fk.table !== k) visit(fk.table, depth + 1);
    out.push(t);
  };
  for (const k of Object.keys(snap.tables).sort()) visit(k, 0);
  return out;
}

/** The literal a `col IN ('a', 'b')` CHECK allows first, if the table has one for `col`. */
function allowedLiteral(t: Table, col: string): string | null {
  for (const c of t.checks) {
    const m = new RegExp(`^"?${col.replace(/[^a-z0-9_]/g, '.')}"? in \\( ('(?:[^']|'')*'|-?[0-9.]+)`).exec(c);
    if (m) return m[1]!.startsWith("'") ? m[1]!.slice(1, -1).split("''").join("'") : m[1]!;
  }
  return null;
}

/**
 * Inserts `n` rows into every table of `snap`, parents first, with values that fit declared
 * types, `IN (…)` checks and foreign keys. Returns the tables it could not fill, with why.
 */
export function generateRows(db: Database.Database, snap: Snapshot, n = 3): string[] {
  const problems: string[] = [];
  const values = new Map<string, Map<string, unknown[]>>(); // table -> column -> values inserted
  for (const t of parentFirst(snap)) {
    if (t.virtual) continue;
    const key = foldCase(t.name);
    const cols = t.columns.filter((c) => !c.generated && !c.hidden);
    const inserted = new Map<string, unknown[]>(cols.map((c) => [foldCase(c.name), []]));
    const insert = db.prepare(`INSERT INTO ${quoteIdent(t.name)} (${cols.map((c) => quoteIdent(c.name)).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
    for (let i = 0; i < n; i++) {
      const row = cols.map((c) => {
        const name = foldCase(c.name);
        const fk = t.foreignKeys.find((f) => f.from.includes(name));
        if (fk) {
          const parentVals = values.get(fk.table)?.get(fk.to[fk.from.indexOf(name)] ?? '') ?? [];
          if (parentVals.length > 0) return parentVals[i % parentVals.length];
          if (!c.notNull) return null;
        }
        const lit = allowedLiteral(t, name);
        if (lit !== null) return /^-?[0-9.]+$/.test(lit) && !c.type.includes('TEXT') ? Number(lit) : lit;
        const type = c.type;
        if (type.includes('INT')) return c.pk > 0 ? i + 1 : 100 + i;
        if (type.includes('CHAR') || type.includes('CLOB') || type.includes('TEXT')) return `${t.name}.${c.name}#${i + 1}`;
        if (type.includes('BLOB') || type === '') return Buffer.from(`${t.name}.${c.name}#${i + 1}`);
        if (type.includes('REAL') || type.includes('FLOA') || type.includes('DOUB')) return i + 0.5;
        return i + 1;
      });
      try {
        insert.run(...row);
        cols.forEach((c, j) => inserted.get(foldCase(c.name))!.push(row[j]));
      } catch (err) {
        problems.push(`${t.name}: ${(err as Error).message}`);
        break;
      }
    }
    values.set(key, inserted);
  }
  return problems;
}

/** Rows of `before` (per table, mapped through renames) missing from `after`: none may be. */
function lostRows(
  before: Rows,
  after: Rows,
  renames: ReadonlyMap<string, string>,
  dropped: ReadonlySet<string>,
  columnRenames: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(),
): string[] {
  const lost: string[] = [];
  for (let [table, rows] of Object.entries(before)) {
    if (dropped.has(table)) continue;
    const now = after[renames.get(table) ?? table];
    if (!now) {
      if (rows.length > 0) lost.push(`${table}: table gone with ${rows.length} rows`);
      continue;
    }
    // Every row that was there is still there, with the same values in the columns it still
    // has (renamed columns followed; rows added by seeds or backfills are fine; columns a
    // declared destructive step dropped are not compared).
    const rename = columnRenames.get(table) ?? new Map<string, string>();
    const after0 = now[0] ?? {};
    const cols = rows.length > 0 ? Object.keys(rows[0]!).filter((c) => (rename.get(c) ?? c) in after0 || now.length === 0) : [];
    rows = rows.map((r) => Object.fromEntries(Object.entries(r).map(([c, v]) => [rename.get(c) ?? c, v])));
    const renamedCols = cols.map((c) => rename.get(c) ?? c);
    cols.splice(0, cols.length, ...renamedCols);
    const key = (r: Record<string, unknown>) => JSON.stringify(cols.map((c) => (Buffer.isBuffer(r[c]) ? `blob:${(r[c] as Buffer).toString('hex')}` : r[c])));
    const present = new Map<string, number>();
    for (const r of now) present.set(key(r), (present.get(key(r)) ?? 0) + 1);
    let missing = 0;
    let example = '';
    for (const r of rows) {
      const k = key(r);
      const n = present.get(k) ?? 0;
      if (n === 0) {
        missing++;
        example ||= k;
      } else present.set(k, n - 1);
    }
    if (missing > 0) lost.push(`${table}: ${missing} of ${rows.length} rows lost or changed (e.g. ${example})`);
  }
  return lost;
}

/** Each invariant's violations now, or null when it cannot run yet (its tables do not exist). */
function invariantViolations(db: Database.Database, store: Store): (string[] | null)[] {
  return store.invariants.map((inv) => {
    try {
      return db.prepare(inv.sql).all().map((r) => JSON.stringify(r));
    } catch {
      return null;
    }
  });
}

/**
 * An invariant must hold after every path, except for rows that already broke it before the
 * migrations ran (generated rows at a version past the step that establishes it need not obey it).
 */
function invariantProblems(db: Database.Database, store: Store, before: (string[] | null)[]): string[] {
  const out: string[] = [];
  store.invariants.forEach((inv, i) => {
    const had = new Set(before[i] ?? []);
    const rows = db.prepare(inv.sql).all().map((r) => JSON.stringify(r)).filter((r) => !had.has(r));
    if (rows.length > 0) out.push(`invariant "${inv.name}" fails for ${rows.length} row(s): ${rows.slice(0, 2).join(', ')}`);
  });
  return out;
}

interface Lineage {
  /** Original table name → its name after the migrations. */
  readonly tables: Map<string, string>;
  /** Original table name → (original column → column after the migrations). */
  readonly columns: Map<string, Map<string, string>>;
  /** Original tables a declared destructive step dropped or deleted rows from (not compared). */
  readonly dropped: Set<string>;
}

/** Follows the renames and drops of the migrations after `after`, from the tables of `start`. */
function lineage(store: Store, after: number, start: Iterable<string>): Lineage {
  const tables = new Map<string, string>();
  for (const t of start) tables.set(t, t);
  const columns = new Map<string, Map<string, string>>();
  const dropped = new Set<string>();
  const originOf = (current: string) => [...tables].filter(([, now]) => now === foldCase(current)).map(([o]) => o);
  for (const m of store.migrations) {
    const d = store.destructive.get(m.version);
    if (m.version <= after || !d) continue;
    for (const [from, to] of d.tableRenames) for (const o of originOf(from)) tables.set(o, foldCase(to));
    for (const [t, from, to] of d.columnRenames) {
      for (const o of originOf(t)) {
        const cols = columns.get(o) ?? new Map<string, string>();
        let found = false;
        for (const [c, now] of cols) if (now === from) (cols.set(c, to), (found = true));
        if (!found) cols.set(from, to);
        columns.set(o, cols);
      }
    }
    for (const w of d.what) {
      const m2 = /^(?:drops table|deletes rows of) (.+)$/.exec(w);
      if (m2) for (const o of originOf(m2[1]!)) dropped.add(o);
    }
  }
  return { tables, columns, dropped };
}

/** Runs the engine on an in-memory file and checks the result; returns problems (none = ok). */
function reconcileInMemory(db: Database.Database, store: Store, expectAction: string, before: Rows, renames: Map<string, string>, dropped: Set<string>, columnRenames?: Map<string, Map<string, string>>): string[] {
  const invariantsBefore = invariantViolations(db, store);
  const outcome = reconcileConnection(db, MEMORY_STAT, store, { backup: false });
  if (!outcome.plan) return [`expected ${expectAction}, got ${outcome.classification.status}: ${outcome.reason ?? outcome.classification.message}`];
  const problems: string[] = [];
  if (outcome.plan.action !== expectAction) problems.push(`expected ${expectAction}, planned ${outcome.plan.action}`);
  const uv = db.pragma('user_version', { simple: true });
  if (uv !== store.version) problems.push(`user_version is ${uv}, expected ${store.version}`);
  const snap = inspect(db);
  problems.push(...lostRows(before, readRows(db, snap), renames, dropped, columnRenames));
  problems.push(...invariantProblems(db, store, invariantsBefore));
  const again = classify(collect(db, store, MEMORY_STAT, { integrity: true }), store);
  if (again.status !== 'current') problems.push(`a second pass finds it ${again.status}: ${again.message}`);
  return problems;
}

function check(name: string, fn: () => string[]): VerifyCheck {
  try {
    const problems = fn();
    return { name, ok: problems.length === 0, detail: problems.length === 0 ? 'ok' : problems.join('; ') };
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message };
  }
}

function verifyStore(store: Store): VerifyCheck[] {
  const checks: VerifyCheck[] = [];
  checks.push(
    check(`fresh file equals the baseline (v${store.version})`, () => {
      const db = new Database(':memory:');
      try {
        return reconcileInMemory(db, store, 'initialized', {}, new Map(), new Set());
      } finally {
        db.close();
      }
    }),
  );
  for (const [k, sql] of [...store.frozen].sort((a, b) => a[0] - b[0])) {
    checks.push(
      check(`frozen v${k} equals ${k === store.version ? 'the baseline' : `v${store.minVersion} + its migrations`}`, () => {
        const db = new Database(':memory:');
        try {
          db.exec(sql);
          const changes = diff(store.expect.snapshots.get(k)!, inspect(db));
          const why =
            k === store.version
              ? 'the baseline was edited after this version was frozen: bump the version and add a migration'
              : 'a migration up to this version was edited after it was released: add a new migration instead';
          return changes.length === 0 ? [] : [`${why}; compared with the frozen schema: ${changes.map(describeChange).join('; ')}`];
        } finally {
          db.close();
        }
      }),
    );
  }
  for (let k = store.minVersion; k < store.version; k++) {
    const frozen = store.frozen.get(k);
    checks.push(
      check(`v${k}${frozen ? ' (frozen)' : ''} with rows migrates to the baseline`, () => {
        const db = new Database(':memory:');
        try {
          if (frozen) db.exec(frozen);
          else {
            db.exec(store.oldestSchema);
            for (const m of store.migrations) if (m.version <= k) runStep(db, store.name, m);
          }
          db.pragma(`user_version = ${k}`);
          const snap = inspect(db);
          const problems = generateRows(db, snap).map((p) => `could not generate rows: ${p}`);
          const before = readRows(db, snap);
          const l = lineage(store, k, Object.keys(before));
          return [...problems, ...reconcileInMemory(db, store, 'migrated', before, l.tables, l.dropped, l.columns)];
        } finally {
          db.close();
        }
      }),
    );
  }
  for (const sample of store.legacy.samples) {
    checks.push(
      check(`legacy sample ${sample.name} adopts to the baseline`, () => {
        const db = new Database(':memory:');
        try {
          db.exec(sample.sql);
          const snap = inspect(db);
          const before = readRows(db, snap);
          const renames = new Map<string, string>();
          for (const r of store.legacy.renames) {
            const from = foldCase(r.from);
            // Chains: whatever was renamed into `from` continues to `to`.
            for (const [k, v] of renames) if (v === from) renames.set(k, foldCase(r.to));
            if (snap.tables[from]) renames.set(from, foldCase(r.to));
          }
          const dropped = new Set(store.legacy.deadTables.map(foldCase));
          const rowsIn = Object.entries(before).filter(([t, r]) => r.length > 0 && !dropped.has(t)).length;
          // After adoption the migrations run: follow their renames and declared drops too.
          const adopted = Object.keys(before).map((t) => renames.get(t) ?? t);
          const l = lineage(store, store.minVersion, adopted);
          const final = new Map(Object.keys(before).map((t) => [t, l.tables.get(renames.get(t) ?? t) ?? t]));
          const columns = new Map([...Object.keys(before)].flatMap((t) => { const c = l.columns.get(renames.get(t) ?? t); return c ? [[t, c] as const] : []; }));
          for (const t of Object.keys(before)) if (l.dropped.has(renames.get(t) ?? t)) dropped.add(t);
          const problems = reconcileInMemory(db, store, 'adopted', before, final, dropped, columns);
          if (rowsIn === 0) problems.push('the sample holds no rows in the tables it keeps: add rows so verify can prove they survive');
          return problems;
        } finally {
          db.close();
        }
      }),
    );
  }
  return checks;
}

/** Proves every store of the registry in memory. */
export function verifyRegistry(registry: Registry): VerifyResult {
  const stores = registry.stores.map((s) => ({ name: s.name, checks: verifyStore(s) }));
  return { ok: stores.every((s) => s.checks.every((c) => c.ok)), stores };
}


/** The text `stores freeze` writes for a store's current version: its baseline as SQLite stores it. */
export function frozenText(store: Store, now: Date): string {
  const body = store.expect.baselineObjects.map((o) => `${o.sql};`).join('\n');
  return `-- ${store.file}: the schema of version ${store.version}, frozen by \`stores freeze\` on ${now.toISOString().slice(0, 10)}.\n-- Never edit: change the schema with a new migration and a new version.\n${body}\n`;
}
