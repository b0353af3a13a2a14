/**
 * Validates store definitions and computes what each version must look like, all in memory,
 * before any data file is opened. `createRegistry` is the one way a {@link Registry} is made:
 * from code directly, or through `loadRegistry` from a folder.
 */
import Database from 'better-sqlite3';
import { RegistryError, type RegistryProblem } from '../errors.js';
import { inspect, readMaster } from '../schema/inspect.js';
import type { MasterRow, Snapshot } from '../schema/model.js';
import { foldCase, splitStatements, tokenize } from '../sql/tokens.js';
import { runStep } from '../engine/steps.js';
import { parseMigration } from '../engine/rebuild.js';
import { analyzeMigration, type DestructiveAnalysis } from '../engine/destructive.js';
import {
  DEFAULT_CONNECTION,
  type ConnectionSettings,
  type Expectations,
  type Registry,
  type Store,
  type StoreDefinition,
} from './types.js';

/** Pragmas a store's connection settings may name (values are checked too: no SQL gets in). */
export const ALLOWED_PRAGMAS = new Set([
  'busy_timeout',
  'journal_mode',
  'synchronous',
  'foreign_keys',
  'cache_size',
  'mmap_size',
  'temp_store',
  'wal_autocheckpoint',
  'journal_size_limit',
  'secure_delete',
  'cache_spill',
  'recursive_triggers',
  'automatic_index',
  'trusted_schema',
  'cell_size_check',
  'analysis_limit',
]);

const STORE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMPANION = /(-wal|-shm|-journal)$|\.backup-|\.stores-/;

/** Statements a schema, migration or seed may not contain: the engine owns these. */
const FORBIDDEN_LEADS = new Set(['begin', 'commit', 'end', 'rollback', 'savepoint', 'release', 'vacuum', 'attach', 'detach', 'pragma']);

/** Where a problem should point: the part's source file when known, else the store. */
function at(def: StoreDefinition, part: 'schema' | 'oldestSchema' | 'seed' | 'store' | 'dir'): string | null {
  return def.sources?.[part] ?? def.sources?.dir ?? null;
}

function forbiddenStatements(sql: string): string[] {
  const out: string[] = [];
  for (const stmt of splitStatements(sql)) {
    const first = tokenize(stmt)[0];
    if (first && first.kind === 'word' && FORBIDDEN_LEADS.has(foldCase(first.value))) {
      out.push(stmt.length > 60 ? `${stmt.slice(0, 57)}...` : stmt);
    }
  }
  return out;
}

function tableNames(s: Snapshot): Set<string> {
  return new Set(Object.keys(s.tables));
}

/** Objects of a database in creation order (rowid order of sqlite_schema). */
function objectsInOrder(db: Database.Database): MasterRow[] {
  return db
    .prepare(
      `SELECT type, name, tbl_name, sql FROM sqlite_schema
        WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND sql IS NOT NULL ORDER BY rowid`,
    )
    .all() as MasterRow[];
}

interface Built {
  store: Store | null;
  problems: RegistryProblem[];
}

function buildStore(def: StoreDefinition): Built {
  const problems: RegistryProblem[] = [];
  const name = def.name;
  const problem = (file: string | null, message: string) => problems.push({ store: name, file, message });

  if (!STORE_NAME.test(name ?? '')) problem(at(def, 'store'), `store name ${JSON.stringify(name)} must start with a letter and hold only letters, digits, '_' and '-'`);
  if (!FILE_NAME.test(def.file ?? '') || COMPANION.test(def.file ?? '')) {
    problem(at(def, 'store'), `file name ${JSON.stringify(def.file)} must be a plain file name (letters, digits, '.', '_', '-'), not a path, and not end in -wal, -shm or -journal`);
  }
  const version = def.version;
  const minVersion = def.minVersion ?? def.version;
  if (!Number.isInteger(version) || version < 1 || version > 2_147_483_647) {
    problem(at(def, 'store'), `version must be a whole number from 1 to 2147483647 (SQLite's user_version range), found ${JSON.stringify(version)}`);
  }
  if (!Number.isInteger(minVersion) || minVersion < 1 || minVersion > version) {
    problem(at(def, 'store'), `minVersion must be a whole number from 1 to version (${version}), found ${JSON.stringify(def.minVersion)}`);
  }
  if (typeof def.schema !== 'string' || def.schema.trim() === '') problem(at(def, 'schema'), 'the baseline schema is empty');
  if (problems.length > 0) return { store: null, problems };

  // Migrations: exactly one per version after minVersion, contiguous up to version.
  const migrations = [...(def.migrations ?? [])].sort((a, b) => a.version - b.version);
  const migFile = (v: number) => def.sources?.migrations?.[v] ?? at(def, 'dir');
  const seen = new Map<number, string>();
  for (const m of migrations) {
    if (seen.has(m.version)) problem(migFile(m.version), `two migrations bring the file to version ${m.version}: ${seen.get(m.version)} and ${m.name}`);
    seen.set(m.version, m.name);
    if (m.version <= minVersion) problem(migFile(m.version), `migration ${m.name} is for version ${m.version}, but the oldest supported version is ${minVersion}: remove it or lower minVersion`);
    if (m.version > version) problem(migFile(m.version), `migration ${m.name} brings the file to version ${m.version}, past the store's version ${version}: bump version to ${m.version} (and update the baseline)`);
    if ((m.sql === undefined) === (m.run === undefined)) problem(migFile(m.version), `migration ${m.name} must have exactly one of sql or run`);
    if (m.destructive !== undefined && (typeof m.destructive !== 'string' || m.destructive.trim() === '')) {
      problem(migFile(m.version), `migration ${m.name}: destructive must be a sentence saying why the step destroys data`);
    }
    if (m.sql !== undefined) {
      for (const bad of forbiddenStatements(m.sql)) problem(migFile(m.version), `migration ${m.name} contains \`${bad}\`: the engine owns transactions and pragmas; remove it`);
      try {
        parseMigration(m.sql);
      } catch (err) {
        problem(migFile(m.version), `migration ${m.name}: ${(err as Error).message}`);
      }
    }
  }
  for (let v = minVersion + 1; v <= version; v++) {
    if (!seen.has(v)) problem(at(def, 'dir'), `no migration brings the file to version ${v}: migrations must be contiguous from ${minVersion + 1} to ${version} (add NNN-<what>.sql for ${String(v).padStart(3, '0')})`);
  }
  if (minVersion < version && (def.oldestSchema === undefined || def.oldestSchema.trim() === '')) {
    problem(at(def, 'store'), `minVersion ${minVersion} is older than version ${version}, so the schema of version ${minVersion} is needed (oldestSchema; on disk versions/${String(minVersion).padStart(3, '0')}.sql)`);
  }
  for (const [part, sql] of [['schema', def.schema], ['oldestSchema', def.oldestSchema], ['seed', def.seed]] as const) {
    if (sql === undefined) continue;
    for (const bad of forbiddenStatements(sql)) problem(at(def, part), `contains \`${bad}\`: the engine owns transactions and pragmas; remove it`);
  }

  // Connection settings: known pragmas, plain values.
  const connection: ConnectionSettings = def.connection ?? DEFAULT_CONNECTION;
  for (const [k, v] of Object.entries(connection)) {
    if (!ALLOWED_PRAGMAS.has(k)) problem(at(def, 'store'), `connection setting ${JSON.stringify(k)} is not a pragma stores applies (allowed: ${[...ALLOWED_PRAGMAS].join(', ')})`);
    if (!(typeof v === 'number' && Number.isInteger(v)) && !(typeof v === 'string' && /^[A-Za-z0-9_-]+$/.test(v))) {
      problem(at(def, 'store'), `connection setting ${k} has value ${JSON.stringify(v)}: use a whole number or a single word`);
    }
  }
  if (problems.length > 0) return { store: null, problems };

  // Run everything in memory: baseline, seed, oldest schema, every migration.
  const snapshots = new Map<number, Snapshot>();
  let baselineMaster: MasterRow[] = [];
  let baselineObjects: MasterRow[] = [];
  let oldestObjects: MasterRow[] = [];
  let baselineSnap: Snapshot | null = null;
  let oldestSnap: Snapshot | null = null;
  const base = new Database(':memory:');
  try {
    base.exec(def.schema);
    baselineMaster = readMaster(base);
    baselineObjects = objectsInOrder(base);
    baselineSnap = inspect(base, baselineMaster);
    if (Object.keys(baselineSnap.tables).length === 0) problem(at(def, 'schema'), 'the baseline creates no table');
    if (def.seed !== undefined) {
      try {
        base.exec(def.seed);
        base.exec(def.seed);
      } catch (err) {
        problem(at(def, 'seed'), `seed rows fail on the baseline (they must be idempotent, e.g. INSERT OR IGNORE): ${(err as Error).message}`);
      }
    }
    for (const inv of def.invariants ?? []) {
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

  // Each step's starting schema, serialized: the destructive analysis runs the step on a copy.
  const images = new Map<number, Buffer>();
  const old = new Database(':memory:');
  try {
    old.exec(minVersion < version ? def.oldestSchema! : def.schema);
    oldestObjects = objectsInOrder(old);
    oldestSnap = inspect(old);
    snapshots.set(minVersion, oldestSnap);
    for (const m of migrations) {
      images.set(m.version, old.serialize());
      try {
        runStep(old, name, m);
        snapshots.set(m.version, inspect(old));
      } catch (err) {
        problem(migFile(m.version), `${(err as Error).message} (run on an empty file at version ${m.version - 1})`);
        break;
      }
    }
  } catch (err) {
    problem(at(def, minVersion < version ? 'oldestSchema' : 'schema'), `the schema of version ${minVersion} does not run: ${(err as Error).message}`);
  } finally {
    old.close();
  }
  if (baselineSnap) snapshots.set(version, baselineSnap);

  // Legacy rules.
  const legacy = {
    renames: [...(def.legacy?.renames ?? [])],
    renameColumns: [...(def.legacy?.renameColumns ?? [])],
    dropIndexes: [...(def.legacy?.dropIndexes ?? [])],
    dropColumns: [...(def.legacy?.dropColumns ?? [])],
    deadTables: [...(def.legacy?.deadTables ?? [])],
    samples: [...(def.legacy?.samples ?? [])],
  };
  if (oldestSnap && baselineSnap) {
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
  const frozen = new Map<number, string>();
  for (const [k, sql] of Object.entries(def.frozen ?? {})) {
    const v = Number(k);
    const file = def.sources?.frozen?.[v] ?? at(def, 'dir');
    if (!Number.isInteger(v) || v < minVersion || v > version) {
      problem(file, `frozen schema of version ${k} is outside the supported range ${minVersion}..${version}`);
      continue;
    }
    const db = new Database(':memory:');
    try {
      db.exec(sql);
      frozen.set(v, sql);
    } catch (err) {
      problem(file, `frozen schema of version ${v} does not run: ${(err as Error).message}`);
    } finally {
      db.close();
    }
  }
  for (const s of legacy.samples) {
    const db = new Database(':memory:');
    try {
      db.exec(s.sql);
    } catch (err) {
      problem(def.sources?.samples?.[s.name] ?? at(def, 'dir'), `legacy sample ${s.name} does not run: ${(err as Error).message}`);
    } finally {
      db.close();
    }
  }
  if (problems.length > 0 || !baselineSnap) return { store: null, problems };

  const expect: Expectations = { snapshots, baselineMaster, oldestObjects, baselineObjects };
  const destructive = new Map<number, DestructiveAnalysis>();
  for (const m of migrations) {
    const before = images.get(m.version);
    if (!before) continue;
    try {
      destructive.set(m.version, analyzeMigration(m, before, name));
    } catch (err) {
      problem(migFile(m.version), `migration ${m.name} cannot be judged for what it destroys: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) return { store: null, problems };
  const store: Store = {
    name,
    file: def.file,
    version,
    minVersion,
    schema: def.schema,
    oldestSchema: minVersion < version ? def.oldestSchema! : def.schema,
    frozen,
    migrations,
    seed: def.seed ?? null,
    legacy,
    connection,
    checkpointOnClose: def.checkpointOnClose === undefined ? 'TRUNCATE' : def.checkpointOnClose,
    invariants: def.invariants ?? [],
    sources: def.sources ?? {},
    expect,
    destructive,
  };
  return { store, problems };
}

/**
 * Validates store definitions and returns a registry, or throws {@link RegistryError} listing
 * every problem (each naming its store and file). Runs baselines, migrations, seeds and legacy
 * samples in memory; opens no data file.
 *
 * @example
 * const registry = createRegistry([{ name: 'jobs', file: 'jobs.db', version: 1, schema: 'CREATE TABLE job (id TEXT PRIMARY KEY)' }]);
 */
export function createRegistry<const Defs extends readonly StoreDefinition[]>(defs: Defs, source = 'code'): Registry<Defs[number]['name']> {
  const problems: RegistryProblem[] = [];
  const names = new Map<string, string>();
  const files = new Map<string, string>();
  for (const d of defs) {
    const n = foldCase(String(d.name));
    const f = String(d.file).toLowerCase();
    if (names.has(n)) problems.push({ store: d.name, file: d.sources?.dir ?? null, message: `store name ${d.name} is declared twice` });
    if (files.has(f)) problems.push({ store: d.name, file: d.sources?.store ?? null, message: `file ${d.file} is already used by store ${files.get(f)}` });
    names.set(n, d.name);
    files.set(f, d.name);
  }
  if (defs.length === 0) problems.push({ store: null, file: source === 'code' ? null : source, message: 'the registry declares no store' });
  const stores: Store[] = [];
  for (const d of defs) {
    const built = buildStore(d);
    problems.push(...built.problems);
    if (built.store) stores.push(built.store);
  }
  if (problems.length > 0) throw new RegistryError(problems);
  // Every store's name is its definition's.
  return { source, stores } as Registry<Defs[number]['name']>;
}
