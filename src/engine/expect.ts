/**
 * What each version of a store must look like, computed in memory before any data file is
 * opened: the baseline, seed and invariants run on an empty database, the oldest schema plus
 * every migration step, frozen schemas and legacy samples run, legacy rules checked against the
 * schemas they name, and what each SQL step destroys. Input is a store the registry validated
 * (src/registry/define.ts); `createRegistry` in src/api.ts composes the two.
 */
import Database from 'better-sqlite3';
import type { RegistryProblem } from '../errors.js';
import { at } from '../registry/define.js';
import { inspect, readMaster } from '../schema/inspect.js';
import type { MasterRow, Snapshot } from '../schema/model.js';
import { foldCase } from '../sql/tokens.js';
import type { Expectations, Store, StoreSpec } from '../types.js';
import { analyzeMigration, type DestructiveAnalysis } from './destructive.js';
import { parseMigration } from './rebuild.js';
import { runStep } from './steps.js';
import { sourceTables } from './history.js';
import { ALWAYS_IGNORED, patternMatcher } from '../schema/exclude.js';

function tableNames(s: Snapshot): Set<string> {
  return new Set(Object.keys(s.tables));
}

/**
 * The objects a schema script must create, in creation order (rowid order of sqlite_schema):
 * SQLite's own left out, and the shadow tables of virtual tables (FTS5's `x_data`, …), which
 * creating the virtual table makes and which may not be created by hand (`PRAGMA table_list`
 * types them `shadow`: https://www.sqlite.org/pragma.html#pragma_table_list). What `freeze`
 * writes, `--repair` adds and adoption completes.
 */
export function objectsInOrder(db: Database.Database): MasterRow[] {
  const shadow = new Set((db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'").pluck().all() as string[]).map(foldCase));
  const rows = db
    .prepare(
      `SELECT type, name, tbl_name, sql FROM sqlite_schema
        WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY rowid`,
    )
    .all() as MasterRow[];
  return shadow.size === 0 ? rows : rows.filter((o) => !shadow.has(foldCase(o.tbl_name)));
}

/** The mark `stores generate` leaves in a skeleton: a migration holding it does not load. */
const TODO = /^[ \t]*--[ \t]*stores:todo\b/m;

/**
 * A database holding the schema version `k` stands for: the oldest schema plus the migrations up
 * to `k`, executed in memory. When the store has no migration (minVersion = version), its
 * oldest schema is `schema.sql` itself; then version `k` is known only from its frozen schema.
 * Throws, saying what is missing, when neither says what `k` is.
 */
export function schemaAt(spec: StoreSpec, k = spec.version): Database.Database {
  const db = new Database(':memory:');
  try {
    if (spec.minVersion === spec.version) {
      const frozen = spec.frozen.get(k);
      if (frozen === undefined) {
        throw new Error(
          `${spec.name} has no migration and no frozen schema of version ${k} (versions/${String(k).padStart(3, '0')}.sql), so schema.sql is the only record of version ${k}: put the schema version ${k} was released with in versions/${String(k).padStart(3, '0')}.sql (\`stores freeze\` writes it before schema.sql is edited)`,
        );
      }
      db.exec(frozen);
    } else {
      db.exec(spec.oldestSchema);
      for (const m of spec.migrations) if (m.version <= k) runStep(db, spec.name, m);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

interface Built {
  store: Store | null;
  problems: RegistryProblem[];
}

/** Where a problem is reported: the file it is in (null when none is known), and what is wrong. */
type Report = (file: string | null, message: string) => void;

/** The file a migration was read from, for its problems: the store's directory when the loader did not say. */
function migrationFile(def: StoreSpec, version: number): string | null {
  return def.sources?.migrations?.[version] ?? at(def, 'dir');
}

/** Runs a validated store in memory: its {@link Store} with expectations, or the problems found. */
export function expectStore(def: StoreSpec): Built {
  const problems: RegistryProblem[] = [];
  const problem = (file: string | null, message: string) => problems.push({ store: def.name, file, message });
  checkMigrationTexts(def, problem);
  if (problems.length > 0) return { store: null, problems };

  // Run everything in memory: baseline, seed, oldest schema, every migration.
  const { baselineMaster, baselineObjects, baselineSnap } = runBaseline(def, problem);
  const { snapshots, images, oldestObjects, oldestSnap } = runMigrations(def, problem);
  if (baselineSnap) snapshots.set(def.version, baselineSnap);

  // Legacy rules, then frozen schemas and samples, then what the store leaves to other programs.
  if (oldestSnap && baselineSnap) checkLegacyRules(def, oldestSnap, baselineSnap, problem);
  checkFrozenAndSamples(def, problem);
  checkOthers(def, snapshots, problem);
  if (problems.length > 0 || !baselineSnap) return { store: null, problems };

  const expect: Expectations = { snapshots, baselineMaster, oldestObjects, baselineObjects };
  const destructive = analyzeSteps(def, images, problem);
  if (problems.length > 0) return { store: null, problems };
  const store: Store = { ...def, expect, destructive };
  return { store, problems };
}

/**
 * Each migration's SQL, before anything runs: no skeleton left to complete (`-- stores:todo`
 * lines), and a text the step parser reads.
 */
function checkMigrationTexts(def: StoreSpec, problem: Report): void {
  for (const m of def.migrations) {
    if (m.sql !== undefined && TODO.test(m.sql)) {
      problem(migrationFile(def, m.version), `migration ${m.name} is a skeleton still to complete (it has "-- stores:todo" lines): complete the data move it describes, add an invariant that proves it, then delete the "-- stores:todo" lines`);
    }
    if (m.sql !== undefined) {
      try {
        parseMigration(m.sql);
      } catch (err) {
        problem(migrationFile(def, m.version), `migration ${m.name}: ${(err as Error).message}`);
      }
    }
  }
}

/** What the baseline gives: its sqlite_schema rows, its objects in creation order, its snapshot (null when it does not run). */
interface Baseline {
  baselineMaster: MasterRow[];
  baselineObjects: MasterRow[];
  baselineSnap: Snapshot | null;
}

/**
 * Runs the baseline (schema.sql) on an empty database, then the seed on it twice (seed rows must
 * be idempotent) and each invariant prepared on it: what the baseline looks like.
 */
function runBaseline(def: StoreSpec, problem: Report): Baseline {
  let baselineMaster: MasterRow[] = [];
  let baselineObjects: MasterRow[] = [];
  let baselineSnap: Snapshot | null = null;
  const base = new Database(':memory:');
  try {
    base.exec(def.schema);
    baselineMaster = readMaster(base);
    baselineObjects = objectsInOrder(base);
    baselineSnap = inspect(base, baselineMaster);
    if (Object.keys(baselineSnap.tables).length === 0) problem(at(def, 'schema'), 'the baseline creates no table');
    if (def.seed !== null) {
      try {
        base.exec(def.seed);
        base.exec(def.seed);
      } catch (err) {
        problem(at(def, 'seed'), `seed rows fail on the baseline (they must be idempotent, e.g. INSERT OR IGNORE): ${(err as Error).message}`);
      }
    }
    for (const inv of def.invariants) {
      try {
        const stmt = base.prepare(inv.sql);
        if (!stmt.reader || !stmt.readonly) problem(at(def, 'store'), `invariant ${inv.name} must be a read-only query returning rows`);
      } catch (err) {
        problem(at(def, 'store'), `invariant ${inv.name} does not prepare on the baseline: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    problem(at(def, 'schema'), `the baseline does not run: ${(err as Error).message}`);
  } finally {
    base.close();
  }
  return { baselineMaster, baselineObjects, baselineSnap };
}

/**
 * What the oldest schema and the migrations give: each version's snapshot, each step's starting
 * schema serialized, the oldest schema's objects and snapshot (null when it does not run).
 */
interface Steps {
  snapshots: Map<number, Snapshot>;
  images: Map<number, Buffer>;
  oldestObjects: MasterRow[];
  oldestSnap: Snapshot | null;
}

/**
 * Runs the oldest schema on an empty database, then every migration in turn, up to the first that
 * fails: the snapshot of each version reached, and the schema each step starts from.
 */
function runMigrations(def: StoreSpec, problem: Report): Steps {
  const { name, version, minVersion, migrations } = def;
  const snapshots = new Map<number, Snapshot>();
  let oldestObjects: MasterRow[] = [];
  let oldestSnap: Snapshot | null = null;
  // Each step's starting schema, serialized: the destructive analysis runs the step on a copy.
  const images = new Map<number, Buffer>();
  const old = new Database(':memory:');
  try {
    old.exec(def.oldestSchema);
    oldestObjects = objectsInOrder(old);
    oldestSnap = inspect(old);
    snapshots.set(minVersion, oldestSnap);
    for (const m of migrations) {
      images.set(m.version, old.serialize());
      try {
        runStep(old, name, m);
        snapshots.set(m.version, inspect(old));
      } catch (err) {
        problem(migrationFile(def, m.version), `${(err as Error).message} (run on an empty file at version ${m.version - 1})`);
        break;
      }
    }
  } catch (err) {
    problem(at(def, minVersion < version ? 'oldestSchema' : 'schema'), `the schema of version ${minVersion} does not run: ${(err as Error).message}`);
  } finally {
    old.close();
  }
  return { snapshots, images, oldestObjects, oldestSnap };
}

/** Frozen schemas (versions/NNN.sql) and legacy samples must each run on an empty database. */
function checkFrozenAndSamples(def: StoreSpec, problem: Report): void {
  for (const [v, sql] of def.frozen) {
    const file = def.sources?.frozen?.[v] ?? at(def, 'dir');
    const db = new Database(':memory:');
    try {
      db.exec(sql);
    } catch (err) {
      problem(file, `frozen schema of version ${v} does not run: ${(err as Error).message}`);
    } finally {
      db.close();
    }
  }
  for (const s of def.legacy.samples) {
    const db = new Database(':memory:');
    try {
      db.exec(s.sql);
    } catch (err) {
      problem(def.sources?.samples?.[s.name] ?? at(def, 'dir'), `legacy sample ${s.name} does not run: ${(err as Error).message}`);
    } finally {
      db.close();
    }
  }
}

/** What each migration step destroys, judged by running the step on a copy of the schema it starts from. */
function analyzeSteps(def: StoreSpec, images: ReadonlyMap<number, Buffer>, problem: Report): Map<number, DestructiveAnalysis> {
  const destructive = new Map<number, DestructiveAnalysis>();
  for (const m of def.migrations) {
    const before = images.get(m.version);
    if (!before) continue;
    try {
      destructive.set(m.version, analyzeMigration(m, before, def.name));
    } catch (err) {
      problem(migrationFile(def, m.version), `migration ${m.name} cannot be judged for what it destroys: ${(err as Error).message}`);
    }
  }
  return destructive;
}

/**
 * What the store leaves to other programs must not be its own: an `ignore` pattern that matches one
 * of its objects, or a history table that is one of its tables, at any version, would let a file
 * lose what the store promises (ignored objects are never compared; bookkeeping tables are dropped).
 */
function checkOthers(def: StoreSpec, snapshots: ReadonlyMap<number, Snapshot>, problem: (file: string | null, message: string) => void): void {
  const reported = new Set<string>();
  const once = (message: string) => {
    if (!reported.has(message)) problem(at(def, 'store'), message);
    reported.add(message);
  };
  const ours = [...snapshots].sort(([a], [b]) => a - b);
  for (const pattern of def.ignore) {
    const match = patternMatcher(pattern);
    for (const [v, snap] of ours) {
      const hit = [...Object.values(snap.tables).map((t) => `table ${t.name}`), ...Object.values(snap.indexes).map((i) => `index ${i.name}`), ...Object.values(snap.views).map((x) => `view ${x.name}`), ...Object.values(snap.triggers).map((x) => `trigger ${x.name}`)].find((o) => match(o.slice(o.indexOf(' ') + 1)));
      if (hit) {
        once(`ignore pattern ${JSON.stringify(pattern)} matches ${hit}, which is the store's own (version ${v}): ignored objects are never compared, so the file could lose it unseen — narrow the pattern`);
        break;
      }
    }
  }
  // Litestream's and D1's tables are ignored in every file: a store of its own cannot have one.
  for (const side of ALWAYS_IGNORED) {
    const match = patternMatcher(side.pattern);
    const v = ours.find(([, snap]) => Object.values(snap.tables).some((t) => match(t.name)))?.[0];
    if (v !== undefined) once(`table ${side.pattern} (version ${v}) has the name of ${side.owner}'s bookkeeping, which is always ignored: it would never be compared — rename it`);
  }
  def.legacy.history.forEach((h, i) => {
    for (const t of sourceTables(h)) {
      const v = ours.find(([, snap]) => snap.tables[foldCase(t)])?.[0];
      if (v !== undefined) once(`legacy.history[${i}] (${'tool' in h ? h.tool : 'custom'}) keeps its bookkeeping in table ${t}, which is a table of the store's own (version ${v}): adoption drops the bookkeeping, so it would drop that table — rename one of them`);
    }
  });
}

/** Legacy rules against the schemas they name: rename chains, dead tables, column rules, indexes. */
function checkLegacyRules(def: StoreSpec, oldestSnap: Snapshot, baselineSnap: Snapshot, problem: (file: string | null, message: string) => void): void {
  const { minVersion, legacy } = def;
  const oldest = tableNames(oldestSnap);
  const baseline = tableNames(baselineSnap);
  const from = new Map<string, number>();
  legacy.renames.forEach((r, i) => {
    const f = foldCase(r.from);
    if (from.has(f)) problem(at(def, 'store'), `rename of ${r.from} is declared twice`);
    from.set(f, i);
    if (f === foldCase(r.to)) problem(at(def, 'store'), `rename ${r.from} → ${r.to} renames a table to itself`);
    if (oldest.has(f)) problem(at(def, 'store'), `rename ${r.from} → ${r.to}: ${r.from} is a table of version ${minVersion}; a legacy rename must start from an old name`);
  });
  legacy.renames.forEach((r, i) => {
    // Follow the chain from this rename; it must end in a table of the oldest schema.
    const visited = new Set([foldCase(r.from)]);
    let cur = foldCase(r.to);
    let pos = i;
    while (from.has(cur)) {
      if (visited.has(cur)) {
        problem(at(def, 'store'), `renames form a loop: ${[...visited, cur].join(' → ')}`);
        return;
      }
      visited.add(cur);
      const next = from.get(cur)!;
      if (next < pos) {
        problem(at(def, 'store'), `rename ${legacy.renames[next]!.from} → ${legacy.renames[next]!.to} must come after ${legacy.renames[pos]!.from} → ${legacy.renames[pos]!.to} so the chain resolves in one pass`);
        return;
      }
      pos = next;
      cur = foldCase(legacy.renames[next]!.to);
    }
    if (!oldest.has(cur)) problem(at(def, 'store'), `rename ${r.from} → ${r.to} ends at table ${cur}, which version ${minVersion}'s schema does not have`);
  });
  for (const t of legacy.deadTables) {
    const f = foldCase(t);
    if (baseline.has(f)) problem(at(def, 'store'), `dead table ${t} is in the baseline schema; adoption would drop a live table`);
    else if (oldest.has(f)) problem(at(def, 'store'), `dead table ${t} is in version ${minVersion}'s schema; adoption would drop a live table`);
    if (from.has(f)) problem(at(def, 'store'), `dead table ${t} is also renamed`);
  }
  for (const r of legacy.renameColumns) {
    const t = oldestSnap.tables[foldCase(r.table)];
    if (!t) problem(at(def, 'store'), `column rename ${r.table}.${r.from} → ${r.to}: version ${minVersion} has no table ${r.table} (name the table as it is after the table renames)`);
    else if (!t.columns.some((c) => foldCase(c.name) === foldCase(r.to))) problem(at(def, 'store'), `column rename ${r.table}.${r.from} → ${r.to}: version ${minVersion}'s ${r.table} has no column ${r.to}`);
    else if (t.columns.some((c) => foldCase(c.name) === foldCase(r.from))) problem(at(def, 'store'), `column rename ${r.table}.${r.from} → ${r.to}: ${r.from} is a column of version ${minVersion}'s ${r.table}`);
  }
  for (const d of legacy.dropColumns) {
    const t = oldestSnap.tables[foldCase(d.table)];
    if (!t) problem(at(def, 'store'), `column drop ${d.table}.${d.column}: version ${minVersion} has no table ${d.table} (name the table as it is after the table renames)`);
    else if (t.columns.some((c) => foldCase(c.name) === foldCase(d.column))) problem(at(def, 'store'), `column drop ${d.table}.${d.column}: ${d.column} is a column of version ${minVersion}'s ${d.table}; adoption would drop a live column`);
  }
  for (const ix of legacy.dropIndexes) {
    const f = foldCase(ix);
    if (oldestSnap.indexes[f] || baselineSnap.indexes[f]) problem(at(def, 'store'), `legacy index ${ix} to drop is an index of the current schema`);
  }
}
