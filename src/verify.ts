/**
 * `stores verify`: proves a registry in memory, touching no data dir.
 *
 * For every store: a fresh file equals the baseline; each frozen version is still what the
 * registry makes of it; a file at every supported version, holding generated rows (every parent
 * with children, every `IN (…)` value: see verify-rows.ts), migrates to exactly the baseline and
 * keeps every row; every legacy sample adopts to the baseline and keeps the rows of the tables it
 * keeps; the store's invariants hold after each path; and a second pass finds the file current.
 * The engine does the work, as `up` would: its refusals are verify's failures.
 */
import Database from 'better-sqlite3';
import type { Registry, Store } from './types.js';
import { classify } from './engine/classify.js';
import { reconcileConnection } from './engine/apply.js';
import { ALREADY_DANGLING } from './engine/dangling.js';
import { collect, type FileStat } from './engine/probe.js';
import { runStep } from './engine/steps.js';
import { inspect } from './schema/inspect.js';
import { describeChange, diff } from './schema/diff.js';
import type { Snapshot } from './schema/model.js';
import { foldCase, quoteIdent } from './sql/tokens.js';
import { generateRows } from './verify-rows.js';

export { generateRows } from './verify-rows.js';

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
    // A declared JavaScript step may delete rows anywhere (only real rows show which).
    if (m.run !== undefined && d.declared !== null) for (const o of tables.keys()) dropped.add(o);
  }
  return { tables, columns, dropped };
}

/** Runs the engine on an in-memory file and checks the result; returns problems (none = ok). */
function reconcileInMemory(db: Database.Database, store: Store, expectAction: string, before: Rows, renames: Map<string, string>, dropped: Set<string>, columnRenames?: Map<string, Map<string, string>>): string[] {
  const invariantsBefore = invariantViolations(db, store);
  const outcome = reconcileConnection(db, MEMORY_STAT, store, { backup: false });
  if (!outcome.plan) return [`${expectAction} expected, but the file (${outcome.classification.status}) is refused: ${outcome.reason ?? outcome.classification.message}`];
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

/** An engine's reason as verify reports it: without the hint to run verify (this is verify). */
function inVerify(reason: string): string {
  return reason.replace(/ ?\((?:and )?run `?stores verify`?\)/g, '');
}

function check(name: string, fn: () => string[]): VerifyCheck {
  try {
    const problems = fn();
    return { name, ok: problems.length === 0, detail: problems.length === 0 ? 'ok' : inVerify(problems.join('; ')) };
  } catch (err) {
    return { name, ok: false, detail: inVerify((err as Error).message) };
  }
}

/** An in-memory file at version `k` (its frozen schema, or the oldest schema and the steps up to it), without rows. */
function fileAt(store: Store, k: number): Database.Database {
  const db = new Database(':memory:');
  try {
    const frozen = store.frozen.get(k);
    if (frozen) db.exec(frozen);
    else {
      db.exec(store.oldestSchema);
      for (const m of store.migrations) if (m.version <= k) runStep(db, store.name, m);
    }
    db.pragma(`user_version = ${k}`);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * The migration after `k` whose step first leaves rows pointing at nothing, run one at a time on
 * the same generated rows with foreign keys off (as a reconcile runs them), or null.
 */
function stepLeavingDangling(store: Store, k: number): string | null {
  const db = fileAt(store, k);
  try {
    generateRows(db, inspect(db));
    db.pragma('foreign_keys = OFF');
    for (const m of store.migrations) {
      if (m.version <= k) continue;
      runStep(db, store.name, m);
      if (db.prepare('SELECT 1 FROM pragma_foreign_key_check LIMIT 1').get() !== undefined) return m.name;
    }
    return null;
  } catch {
    return null;
  } finally {
    db.close();
  }
}

/**
 * A released version's frozen schema against what the registry says that version is: the
 * baseline (for the current version), the oldest schema (for minVersion), or the oldest schema
 * with the migrations up to it. None when the frozen file is the oldest schema itself (it is
 * where migrations start: nothing to compare, and the upgrade check migrates it).
 */
function frozenCheck(store: Store, k: number, sql: string): VerifyCheck | null {
  if (k === store.minVersion && k < store.version && sql === store.oldestSchema) return null;
  const [name, why] =
    k === store.version
      ? [`frozen v${k} equals the baseline`, 'the baseline was edited after this version was frozen: bump the version and add a migration']
      : k === store.minVersion
        ? [`the oldest schema still equals frozen v${k}`, `the oldest schema was edited after v${k} was frozen: files at v${k} hold the frozen schema, so restore it`]
        : [`the oldest schema and the migrations up to v${k} still produce frozen v${k}`, 'a migration up to this version was edited after it was released: add a new migration instead'];
  return check(name, () => {
    const db = new Database(':memory:');
    try {
      db.exec(sql);
      const changes = diff(store.expect.snapshots.get(k)!, inspect(db));
      return changes.length === 0 ? [] : [`${why}; compared with the frozen schema: ${changes.map(describeChange).join('; ')}`];
    } finally {
      db.close();
    }
  });
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
    const c = frozenCheck(store, k, sql);
    if (c) checks.push(c);
  }
  for (let k = store.minVersion; k < store.version; k++) {
    checks.push(
      check(`v${k}${store.frozen.has(k) ? ' (frozen)' : ''} with rows migrates to the baseline`, () => {
        const db = fileAt(store, k);
        try {
          const snap = inspect(db);
          const problems = generateRows(db, snap).map((p) => `could not generate rows: ${p}`);
          const before = readRows(db, snap);
          const l = lineage(store, k, Object.keys(before));
          const result = reconcileInMemory(db, store, 'migrated', before, l.tables, l.dropped, l.columns);
          // Generated rows point at something before the steps: name the step that left them instead.
          const culprit = result.some((r) => r.includes(ALREADY_DANGLING)) ? stepLeavingDangling(store, k) : null;
          return [...problems, ...(culprit ? result.map((r) => r.replace(ALREADY_DANGLING, `${culprit} is the step that leaves them`)) : result)];
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
