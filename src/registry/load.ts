/**
 * Reads a registry folder (see README, "The registry on disk") into store definitions; the
 * public `loadRegistry` (src/api.ts) validates them with `createRegistry`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RegistryError, type RegistryProblem } from '../errors.js';
import type { checkStoreJson, StoreJson } from './store-json.js';
import type { LegacyDefinition, MigrationDefinition, StepFunction, StoreDefinition } from './types.js';

const MIGRATION_FILE = /^(\d+)-[A-Za-z0-9._-]+\.(sql|js|mjs)$/;

export interface LoadOptions {
  /** Called for each entry of the folder that is not a store (with the reason). */
  readonly onSkip?: (entry: string, reason: string) => void;
}

/**
 * Reads the registry in folder `dir`: one sub-folder per store holding `store.json` and
 * `schema.sql`, and optionally `migrations/`, `versions/`, `seed.sql`, `legacy/`. Throws
 * {@link RegistryError} (every problem, each naming the store and the file) when a folder
 * cannot be read as a store; validation is the caller's.
 */
export async function readRegistryFolder(dir: string, options: LoadOptions = {}): Promise<{ root: string; defs: StoreDefinition[] }> {
  const root = path.resolve(dir);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RegistryError([
      {
        store: null,
        file: root,
        message:
          code === 'ENOENT'
            ? 'no registry folder here (a registry is a folder with one sub-folder per store)'
            : code === 'ENOTDIR'
              ? 'this is a file, not a registry folder (a registry is a folder with one sub-folder per store)'
              : `cannot read the registry folder: ${(err as Error).message}`,
      },
    ]);
  }
  // The store.json schema is loaded here, not at start-up: a registry built in code never needs it.
  const { checkStoreJson } = await import('./store-json.js');
  const problems: RegistryProblem[] = [];
  const defs: StoreDefinition[] = [];
  // In the order of the names, character by character: the same order everywhere, and no locale
  // collation to load (the first localeCompare of a process initializes ICU: about 7 ms).
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!e.isDirectory()) {
      options.onSkip?.(e.name, 'not a folder');
      continue;
    }
    const storeDir = path.join(root, e.name);
    if (!fs.existsSync(path.join(storeDir, 'store.json'))) {
      options.onSkip?.(e.name, 'no store.json');
      continue;
    }
    try {
      defs.push(await readStore(e.name, storeDir, checkStoreJson));
    } catch (err) {
      if (err instanceof RegistryError) problems.push(...err.problems);
      else problems.push({ store: e.name, file: storeDir, message: (err as Error).message });
    }
  }
  if (problems.length > 0) throw new RegistryError(problems);
  if (defs.length === 0) {
    const message = fs.existsSync(path.join(root, 'store.json'))
      ? `this is the folder of one store (${path.basename(root)}: it holds store.json); the registry is its parent folder, ${path.dirname(root)}`
      : 'no store folder here (a store folder holds store.json and schema.sql)';
    throw new RegistryError([{ store: null, file: root, message }]);
  }
  return { root, defs };
}

function readText(file: string, store: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RegistryError([{ store, file, message: code === 'ENOENT' ? 'file not found' : (err as Error).message }]);
  }
}

/** Records a problem of the store being read, naming the file it is about. */
type Problem = (file: string, message: string) => void;

/**
 * Reads the store folder `dir` into a definition. A store.json that does not pass, or a file
 * that cannot be read, stops the store at once with only its own problems; the others are
 * collected over the parts, in their order (oldest schema, frozen schemas, seed, migrations), and
 * thrown together once every part is read.
 */
async function readStore(name: string, dir: string, check: typeof checkStoreJson): Promise<StoreDefinition> {
  const storeJson = path.join(dir, 'store.json');
  const problems: RegistryProblem[] = [];
  const problem: Problem = (file, message) => problems.push({ store: name, file, message });
  const meta = readStoreJson(name, storeJson, check);
  const legacyRaw = meta.legacy ?? {};

  const schemaFile = path.join(dir, 'schema.sql');
  const schema = readText(schemaFile, name);
  const version = meta.version;
  const minVersion = meta.minVersion ?? version;

  const sources: Record<string, unknown> = { dir, store: storeJson, schema: schemaFile };
  let oldestSchema: string | undefined;
  if (minVersion < version) {
    const oldest = readOldestSchema(name, dir, meta, minVersion, problem);
    sources.oldestSchema = oldest.file;
    oldestSchema = oldest.sql;
  }
  const frozen = readFrozenSchemas(name, dir, problem);
  sources.frozen = frozen.sources;
  const seed = readSeed(name, dir, meta, problem);
  if (seed) sources.seed = seed.file;
  const migrations = await readMigrations(name, dir, problem);
  sources.migrations = migrations.sources;
  const samples = readSamples(name, dir, legacyRaw.samples ?? []);
  sources.samples = samples.sources;

  if (problems.length > 0) throw new RegistryError(problems);

  const legacy: LegacyDefinition = {
    renames: legacyRaw.renames ?? [],
    renameColumns: legacyRaw.renameColumns ?? [],
    dropIndexes: legacyRaw.dropIndexes ?? [],
    dropColumns: legacyRaw.dropColumns ?? [],
    deadTables: legacyRaw.deadTables ?? [],
    history: (legacyRaw.history ?? []) as LegacyDefinition['history'] & object,
    samples: samples.samples,
  };
  return {
    name,
    file: meta.file,
    version,
    minVersion,
    schema,
    oldestSchema,
    frozen: frozen.frozen,
    migrations: migrations.migrations,
    seed: seed?.sql,
    legacy,
    connection: meta.connection as StoreDefinition['connection'],
    checkpointOnClose: meta.checkpointOnClose,
    invariants: meta.invariants,
    applicationId: meta.applicationId,
    fileSettings: meta.fileSettings,
    ...(meta.ignore ? { ignore: meta.ignore } : {}),
    sources: sources as StoreDefinition['sources'],
  };
}

/**
 * Reads and checks `store.json`. Its problems are thrown at once: without a valid store.json
 * nothing else of the store can be read.
 */
function readStoreJson(name: string, storeJson: string, check: typeof checkStoreJson): StoreJson {
  let raw: unknown;
  try {
    raw = JSON.parse(readText(storeJson, name));
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError([{ store: name, file: storeJson, message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const checked = check(raw);
  if ('errors' in checked) throw new RegistryError(checked.errors.map((message) => ({ store: name, file: storeJson, message })));
  return checked.value;
}

/**
 * Reads the schema of the oldest supported version (`oldestSchema`, by default
 * versions/NNN.sql), needed when minVersion is older than version. Returns the file it names
 * even when it is missing (a problem then says so).
 */
function readOldestSchema(name: string, dir: string, meta: StoreJson, minVersion: number, problem: Problem): { file: string; sql: string | undefined } {
  const rel = meta.oldestSchema ?? `versions/${String(minVersion).padStart(3, '0')}.sql`;
  const file = path.join(dir, rel);
  if (fs.existsSync(file)) return { file, sql: readText(file, name) };
  problem(file, `the schema of version ${minVersion} (the oldest supported) is missing: freeze it from the release that shipped version ${minVersion}`);
  return { file, sql: undefined };
}

/** Reads the frozen schemas of released versions, versions/NNN.sql, by version; another name is a problem. */
function readFrozenSchemas(name: string, dir: string, problem: Problem): { frozen: Record<number, string>; sources: Record<number, string> } {
  const frozen: Record<number, string> = {};
  const sources: Record<number, string> = {};
  const versionsDir = path.join(dir, 'versions');
  if (!fs.existsSync(versionsDir)) return { frozen, sources };
  for (const f of fs.readdirSync(versionsDir).sort()) {
    if (f.startsWith('.') || f.endsWith('.md')) continue;
    const m = /^(\d+)\.sql$/.exec(f);
    if (!m) {
      problem(path.join(versionsDir, f), 'not a frozen schema name: use NNN.sql (NNN is the version)');
      continue;
    }
    frozen[Number(m[1])] = readText(path.join(versionsDir, f), name);
    sources[Number(m[1])] = path.join(versionsDir, f);
  }
  return { frozen, sources };
}

/** Reads the seed (`seed`, by default seed.sql), if there is one; a seed that store.json names must be there. */
function readSeed(name: string, dir: string, meta: StoreJson, problem: Problem): { file: string; sql: string } | undefined {
  const file = path.join(dir, meta.seed ?? 'seed.sql');
  if (fs.existsSync(file)) return { file, sql: readText(file, name) };
  if (meta.seed !== undefined) problem(file, 'seed file not found');
  return undefined;
}

/**
 * Reads migrations/: NNN-<what>.sql as SQL, .js and .mjs as modules (imported here). Each
 * migration's file is kept by the version it brings the file to; another name is a problem.
 */
async function readMigrations(name: string, dir: string, problem: Problem): Promise<{ migrations: MigrationDefinition[]; sources: Record<number, string> }> {
  const migrations: MigrationDefinition[] = [];
  const sources: Record<number, string> = {};
  const migDir = path.join(dir, 'migrations');
  if (!fs.existsSync(migDir)) return { migrations, sources };
  for (const f of fs.readdirSync(migDir).sort()) {
    if (f.startsWith('.') || f.endsWith('.md')) continue;
    const file = path.join(migDir, f);
    const m = MIGRATION_FILE.exec(f);
    if (!m) {
      problem(file, 'not a migration file name: use NNN-<what>.sql, .js or .mjs (NNN is the version it brings the file to)');
      continue;
    }
    const v = Number(m[1]);
    sources[v] = file;
    if (m[2] === 'sql') migrations.push({ version: v, name: f, sql: readText(file, name) });
    else {
      const step = await importStep(v, f, file, problem);
      if (step) migrations.push(step);
    }
  }
  return { migrations, sources };
}

/**
 * Imports a JavaScript migration: it must export its step function (`up`, or the default
 * export), and `destructive`, when exported, must be a sentence. Returns nothing when it cannot
 * be used (a problem says why).
 */
async function importStep(version: number, f: string, file: string, problem: Problem): Promise<MigrationDefinition | undefined> {
  try {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown; up?: unknown; destructive?: unknown };
    const fn = (mod.up ?? mod.default) as StepFunction | undefined;
    const destructive = mod.destructive;
    if (typeof fn !== 'function') problem(file, 'a JavaScript migration must export a function (`export default function (db) {…}` or `export function up(db) {…}`)');
    else if (destructive !== undefined && (typeof destructive !== 'string' || destructive.trim() === '')) {
      problem(file, "`export const destructive` must be a sentence saying why the step destroys data (`export const destructive = 'legacy rows are purged'`)");
    } else return { version, name: f, run: fn, ...(typeof destructive === 'string' ? { destructive } : {}) };
  } catch (err) {
    problem(file, `cannot import: ${(err as Error).message}`);
  }
  return undefined;
}

/** Reads the legacy samples store.json lists (paths relative to the store folder), by their listed path. */
function readSamples(name: string, dir: string, rels: readonly string[]): { samples: { name: string; sql: string }[]; sources: Record<string, string> } {
  const samples: { name: string; sql: string }[] = [];
  const sources: Record<string, string> = {};
  for (const rel of rels) {
    const file = path.join(dir, rel);
    sources[rel] = file;
    samples.push({ name: rel, sql: readText(file, name) });
  }
  return { samples, sources };
}
