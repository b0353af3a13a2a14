/**
 * Plain validation of store definitions: names, versions, migration numbering, statements the
 * engine owns, connection settings. Runs no SQL (what each version must look like is computed
 * in memory by src/engine/expect.ts; `createRegistry` in src/api.ts composes the two).
 */
import type { RegistryProblem } from '../errors.js';
import { foldCase, splitStatements, tokenize } from '../sql/tokens.js';
import { AUTO_VACUUM_MODES, CHECKPOINT_MODES, DEFAULT_CONNECTION, HISTORY_TOOLS, type ConnectionSettings, type MigrationDefinition, type StoreDefinition, type StoreSpec } from './types.js';

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

/** A connection setting's value when it is not a whole number: one plain word, so no SQL gets in. */
export const PRAGMA_WORD = /^[A-Za-z0-9_-]+$/;

/** The largest version: SQLite keeps `user_version` as a signed 32-bit integer. */
export const MAX_VERSION = 2_147_483_647;

const STORE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COMPANION = /(-wal|-shm|-journal)$|\.backup-|\.stores-/;

/** Statements a schema, migration or seed may not contain: the engine owns these. */
const FORBIDDEN_LEADS = new Set(['begin', 'commit', 'end', 'rollback', 'savepoint', 'release', 'vacuum', 'attach', 'detach', 'pragma']);

/** Where a problem should point: the part's source file when known, else the store. */
export function at(def: Pick<StoreDefinition, 'sources'>, part: 'schema' | 'oldestSchema' | 'seed' | 'store' | 'dir'): string | null {
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

/** SQLite's page sizes: powers of two from 512 to 65536 (https://www.sqlite.org/pragma.html#pragma_page_size). */
export const PAGE_SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536] as const;

/** The range of `PRAGMA application_id`: a signed 32-bit integer (0 means none). */
export const APPLICATION_ID_MIN = -2_147_483_648;
export const APPLICATION_ID_MAX = 2_147_483_647;

/** Checks `applicationId` and `fileSettings`; returns the file settings with `auto_vacuum` as SQLite's number. */
function checkFileSettings(def: StoreDefinition, problem: (message: string) => void): StoreSpec['fileSettings'] {
  const id = def.applicationId;
  if (id !== undefined && (!Number.isInteger(id) || id === 0 || id < APPLICATION_ID_MIN || id > APPLICATION_ID_MAX)) {
    problem(`applicationId is ${JSON.stringify(id)}: use a non-zero whole number from ${APPLICATION_ID_MIN} to ${APPLICATION_ID_MAX} (PRAGMA application_id is a signed 32-bit integer; 0 means none)`);
  }
  const given = def.fileSettings ?? {};
  for (const k of Object.keys(given)) {
    if (k !== 'page_size' && k !== 'auto_vacuum') problem(`fileSettings.${k} is not a file setting stores applies (allowed: page_size, auto_vacuum)`);
  }
  const out: { page_size?: number; auto_vacuum?: 0 | 1 | 2 } = {};
  if (given.page_size !== undefined) {
    if ((PAGE_SIZES as readonly number[]).includes(given.page_size)) out.page_size = given.page_size;
    else problem(`fileSettings.page_size is ${JSON.stringify(given.page_size)}: use a power of two from 512 to 65536 (${PAGE_SIZES.join(', ')})`);
  }
  if (given.auto_vacuum !== undefined) {
    const v = given.auto_vacuum;
    const n = typeof v === 'number' ? v : AUTO_VACUUM_MODES.indexOf(v);
    if (n === 0 || n === 1 || n === 2) out.auto_vacuum = n;
    else problem(`fileSettings.auto_vacuum is ${JSON.stringify(v)}: use ${AUTO_VACUUM_MODES.join(', ')} (or 0, 1, 2)`);
  }
  return out;
}

/** Statements a custom history query may start with: it reads, and nothing else. */
const READ_LEADS = new Set(['select', 'with', 'values']);
const WRITE_WORDS = new Set(['insert', 'update', 'delete', 'create', 'drop', 'alter', 'pragma', 'attach', 'detach', 'vacuum', 'reindex']);

/** What is wrong with `legacy.history`, without running SQL (the query is prepared on the file, read-only, when read). */
function historyProblems(def: StoreDefinition): string[] {
  const out: string[] = [];
  const tools = new Set<string>();
  const tables = new Set<string>();
  for (const [i, h] of (def.legacy?.history ?? []).entries()) {
    const where = `legacy.history[${i}]`;
    if ('tool' in h) {
      if (!(HISTORY_TOOLS as readonly string[]).includes(h.tool)) out.push(`${where}: unknown tool ${JSON.stringify(h.tool)} (known: ${HISTORY_TOOLS.join(', ')})`);
      if (tools.has(h.tool)) out.push(`${where}: tool ${h.tool} is declared twice`);
      tools.add(h.tool);
    } else {
      if (typeof h.table !== 'string' || h.table.trim() === '') out.push(`${where}: table must name the bookkeeping table`);
      else if (tables.has(foldCase(h.table))) out.push(`${where}: table ${h.table} is declared twice`);
      else tables.add(foldCase(h.table));
      const statements = typeof h.version === 'string' ? splitStatements(h.version).filter((s) => s.trim() !== '') : [];
      const tokens = statements.length === 1 ? tokenize(statements[0]!) : [];
      const first = tokens[0];
      // `WITH … DELETE` starts like a read: a statement word that writes anywhere refuses it (a
      // string or quoted name holding such a word is not a word token).
      const writes = tokens.some((t) => t.kind === 'word' && WRITE_WORDS.has(foldCase(t.value)));
      if (!first || first.kind !== 'word' || !READ_LEADS.has(foldCase(first.value)) || writes) {
        out.push(`${where}: version must be one read-only query returning the version as one integer (e.g. "SELECT max(version) FROM ${h.table}"), found ${JSON.stringify(h.version)}`);
      }
    }
    for (const [id, v] of Object.entries(h.map ?? {})) {
      if (!Number.isInteger(v) || v < 0 || v > def.version) out.push(`${where}: map ${JSON.stringify(id)} → ${JSON.stringify(v)}: a version of this store is a whole number from 0 to ${def.version}`);
    }
  }
  return out;
}

interface Validated {
  spec: StoreSpec | null;
  problems: RegistryProblem[];
}

/** Records a problem of the store being validated, naming the file it is about (null: none known). */
type Problem = (file: string | null, message: string) => void;

/**
 * Validates one store definition: first what every other check relies on (name, file, versions,
 * baseline schema), then the rest, each problem in that order. Returns the store with defaults
 * applied, or no store when anything is wrong.
 */
function validateStore(def: StoreDefinition): Validated {
  const problems: RegistryProblem[] = [];
  const name = def.name;
  const problem: Problem = (file, message) => problems.push({ store: name, file, message });

  checkIdentity(def, problem);
  if (problems.length > 0) return { spec: null, problems };
  const version = def.version;
  const minVersion = def.minVersion ?? def.version;

  const migrations = [...(def.migrations ?? [])].sort((a, b) => a.version - b.version);
  checkMigrations(def, migrations, minVersion, problem);
  checkSql(def, minVersion, problem);
  const connection: ConnectionSettings = def.connection ?? DEFAULT_CONNECTION;
  checkConnection(def, connection, problem);
  const fileSettings = checkFileSettings(def, (message) => problem(at(def, 'store'), message));
  for (const p of historyProblems(def)) problem(at(def, 'store'), p);
  checkIgnore(def, problem);
  const frozen = frozenSchemas(def, minVersion, problem);
  if (problems.length > 0) return { spec: null, problems };

  const legacy = {
    renames: [...(def.legacy?.renames ?? [])],
    renameColumns: [...(def.legacy?.renameColumns ?? [])],
    dropIndexes: [...(def.legacy?.dropIndexes ?? [])],
    dropColumns: [...(def.legacy?.dropColumns ?? [])],
    deadTables: [...(def.legacy?.deadTables ?? [])],
    history: [...(def.legacy?.history ?? [])],
    samples: [...(def.legacy?.samples ?? [])],
  };
  const spec: StoreSpec = {
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
    applicationId: def.applicationId ?? null,
    fileSettings,
    ignore: [...(def.ignore ?? [])],
    sources: def.sources ?? {},
  };
  return { spec, problems };
}

/**
 * Checks what the other checks rely on: the store name, the file name, version and minVersion
 * (whole numbers in range), and a baseline schema that is not empty.
 */
function checkIdentity(def: StoreDefinition, problem: Problem): void {
  const name = def.name;
  if (!STORE_NAME.test(name ?? '')) problem(at(def, 'store'), `store name ${JSON.stringify(name)} must start with a letter and hold only letters, digits, '_' and '-'`);
  if (!FILE_NAME.test(def.file ?? '') || COMPANION.test(def.file ?? '')) {
    problem(at(def, 'store'), `file name ${JSON.stringify(def.file)} must be a plain file name (letters, digits, '.', '_', '-'), not a path, and not end in -wal, -shm or -journal`);
  }
  const version = def.version;
  const minVersion = def.minVersion ?? def.version;
  if (!Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
    problem(at(def, 'store'), `version must be a whole number from 1 to ${MAX_VERSION} (SQLite's user_version range), found ${JSON.stringify(version)}`);
  }
  if (!Number.isInteger(minVersion) || minVersion < 1 || minVersion > version) {
    problem(at(def, 'store'), `minVersion must be a whole number from 1 to version (${version}), found ${JSON.stringify(def.minVersion)}`);
  }
  if (typeof def.schema !== 'string' || def.schema.trim() === '') problem(at(def, 'schema'), 'the baseline schema is empty');
}

/**
 * Checks the migrations (sorted by version): exactly one per version after minVersion,
 * contiguous up to version, each with one of sql or run, a destructive reason that is a
 * sentence, and no statement the engine owns.
 */
function checkMigrations(def: StoreDefinition, migrations: readonly MigrationDefinition[], minVersion: number, problem: Problem): void {
  const version = def.version;
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
    }
  }
  for (let v = minVersion + 1; v <= version; v++) {
    if (!seen.has(v)) problem(at(def, 'dir'), `no migration brings the file to version ${v}: migrations must be contiguous from ${minVersion + 1} to ${version} (add NNN-<what>.sql for ${String(v).padStart(3, '0')})`);
  }
}

/**
 * Checks the schemas and the seed: the oldest supported version's schema is there when
 * minVersion is older than version, and none of them holds a statement the engine owns.
 */
function checkSql(def: StoreDefinition, minVersion: number, problem: Problem): void {
  const version = def.version;
  if (minVersion < version && (def.oldestSchema === undefined || def.oldestSchema.trim() === '')) {
    problem(at(def, 'store'), `minVersion ${minVersion} is older than version ${version}, so the schema of version ${minVersion} is needed (oldestSchema; on disk versions/${String(minVersion).padStart(3, '0')}.sql)`);
  }
  for (const [part, sql] of [['schema', def.schema], ['oldestSchema', def.oldestSchema], ['seed', def.seed]] as const) {
    if (sql === undefined) continue;
    for (const bad of forbiddenStatements(sql)) problem(at(def, part), `contains \`${bad}\`: the engine owns transactions and pragmas; remove it`);
  }
}

/** Checks the connection settings (known pragmas, plain values: no SQL gets in) and checkpointOnClose. */
function checkConnection(def: StoreDefinition, connection: ConnectionSettings, problem: Problem): void {
  for (const [k, v] of Object.entries(connection)) {
    if (!ALLOWED_PRAGMAS.has(k)) problem(at(def, 'store'), `connection setting ${JSON.stringify(k)} is not a pragma stores applies (allowed: ${[...ALLOWED_PRAGMAS].join(', ')})`);
    if (!(typeof v === 'number' && Number.isInteger(v)) && !(typeof v === 'string' && PRAGMA_WORD.test(v))) {
      problem(at(def, 'store'), `connection setting ${k} has value ${JSON.stringify(v)}: use a whole number or a single word`);
    }
  }
  const checkpoint = def.checkpointOnClose;
  if (checkpoint !== undefined && checkpoint !== null && !CHECKPOINT_MODES.includes(checkpoint)) {
    problem(at(def, 'store'), `checkpointOnClose is ${JSON.stringify(checkpoint)}: use one of ${CHECKPOINT_MODES.join(', ')}, or null for none`);
  }
}

/** Checks the ignore patterns: each must name something, for a bare '*' would ignore the whole file. */
function checkIgnore(def: StoreDefinition, problem: Problem): void {
  for (const pattern of def.ignore ?? []) {
    if (typeof pattern !== 'string' || pattern.trim() === '' || pattern.replace(/\*/g, '') === '') {
      problem(at(def, 'store'), `ignore pattern ${JSON.stringify(pattern)} must name something (a bare '*' would ignore the whole file)`);
    }
  }
}

/** Returns the frozen schemas by version; one outside minVersion..version is a problem, and left out. */
function frozenSchemas(def: StoreDefinition, minVersion: number, problem: Problem): Map<number, string> {
  const frozen = new Map<number, string>();
  for (const [k, sql] of Object.entries(def.frozen ?? {})) {
    const v = Number(k);
    const file = def.sources?.frozen?.[v] ?? at(def, 'dir');
    if (!Number.isInteger(v) || v < minVersion || v > def.version) {
      problem(file, `frozen schema of version ${k} is outside the supported range ${minVersion}..${def.version}`);
      continue;
    }
    frozen.set(v, sql);
  }
  return frozen;
}

/**
 * Validates store definitions without running any SQL: each store on its own, and the registry
 * as a whole (names and files unique, at least one store). Returns the stores that pass, with
 * defaults applied, and every problem (each naming its store and file).
 */
export function validateDefinitions(defs: readonly StoreDefinition[], source: string): { specs: StoreSpec[]; problems: RegistryProblem[] } {
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
  const specs: StoreSpec[] = [];
  for (const d of defs) {
    const validated = validateStore(d);
    problems.push(...validated.problems);
    if (validated.spec) specs.push(validated.spec);
  }
  return { specs, problems };
}
