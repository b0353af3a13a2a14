/**
 * Reads a registry folder (see README, "The registry on disk") into store definitions; the
 * public `loadRegistry` (src/api.ts) validates them with `createRegistry`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { RegistryError, type RegistryProblem } from '../errors.js';
import type { LegacyDefinition, MigrationDefinition, StepFunction, StoreDefinition } from './types.js';

const MIGRATION_FILE = /^(\d+)-[A-Za-z0-9._-]+\.(sql|js|mjs)$/;
const STORE_JSON_KEYS = new Set(['file', 'version', 'minVersion', 'oldestSchema', 'seed', 'legacy', 'connection', 'checkpointOnClose', 'invariants', 'description']);
const LEGACY_KEYS = new Set(['renames', 'renameColumns', 'dropIndexes', 'dropColumns', 'deadTables', 'samples']);

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
            ? 'no registry folder here; pass --stores PATH (a folder with one sub-folder per store)'
            : code === 'ENOTDIR'
              ? 'this is a file, not a registry folder; pass --stores PATH (a folder with one sub-folder per store)'
              : `cannot read the registry folder: ${(err as Error).message}`,
      },
    ]);
  }
  const problems: RegistryProblem[] = [];
  const defs: StoreDefinition[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
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
      defs.push(await readStore(e.name, storeDir));
    } catch (err) {
      if (err instanceof RegistryError) problems.push(...err.problems);
      else problems.push({ store: e.name, file: storeDir, message: (err as Error).message });
    }
  }
  if (problems.length > 0) throw new RegistryError(problems);
  if (defs.length === 0) {
    throw new RegistryError([{ store: null, file: root, message: 'no store folder here (a store folder holds store.json and schema.sql)' }]);
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

async function readStore(name: string, dir: string): Promise<StoreDefinition> {
  const storeJson = path.join(dir, 'store.json');
  const problems: RegistryProblem[] = [];
  const problem = (file: string, message: string) => problems.push({ store: name, file, message });
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(readText(storeJson, name)) as Record<string, unknown>;
    if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw new Error('store.json must hold a JSON object');
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError([{ store: name, file: storeJson, message: `not valid JSON: ${(err as Error).message}` }]);
  }
  for (const k of Object.keys(meta)) {
    if (!STORE_JSON_KEYS.has(k)) problem(storeJson, `unknown field ${JSON.stringify(k)} (known: ${[...STORE_JSON_KEYS].join(', ')})`);
  }
  const legacyRaw = (meta.legacy ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(legacyRaw)) {
    if (!LEGACY_KEYS.has(k)) problem(storeJson, `unknown field legacy.${k} (known: ${[...LEGACY_KEYS].join(', ')})`);
  }
  if (typeof meta.file !== 'string') problem(storeJson, 'field "file" (the file name in a data dir, e.g. "objects.db") is required');
  if (typeof meta.version !== 'number') problem(storeJson, 'field "version" (a whole number ≥ 1) is required');

  const schemaFile = path.join(dir, 'schema.sql');
  const schema = readText(schemaFile, name);
  const version = meta.version as number;
  const minVersion = (meta.minVersion as number | undefined) ?? version;

  const sources: Record<string, unknown> = { dir, store: storeJson, schema: schemaFile };
  let oldestSchema: string | undefined;
  if (typeof minVersion === 'number' && minVersion < version) {
    const rel = typeof meta.oldestSchema === 'string' ? meta.oldestSchema : `versions/${String(minVersion).padStart(3, '0')}.sql`;
    const file = path.join(dir, rel);
    sources.oldestSchema = file;
    if (fs.existsSync(file)) oldestSchema = readText(file, name);
    else problem(file, `the schema of version ${minVersion} (the oldest supported) is missing: freeze it from the release that shipped version ${minVersion}`);
  }

  // Frozen schemas of released versions: versions/NNN.sql.
  const frozen: Record<number, string> = {};
  const frozenSources: Record<number, string> = {};
  const versionsDir = path.join(dir, 'versions');
  if (fs.existsSync(versionsDir)) {
    for (const f of fs.readdirSync(versionsDir).sort()) {
      if (f.startsWith('.') || f.endsWith('.md')) continue;
      const m = /^(\d+)\.sql$/.exec(f);
      if (!m) {
        problem(path.join(versionsDir, f), 'not a frozen schema name: use NNN.sql (NNN is the version)');
        continue;
      }
      frozen[Number(m[1])] = readText(path.join(versionsDir, f), name);
      frozenSources[Number(m[1])] = path.join(versionsDir, f);
    }
  }
  sources.frozen = frozenSources;

  let seed: string | undefined;
  const seedFile = path.join(dir, typeof meta.seed === 'string' ? meta.seed : 'seed.sql');
  if (fs.existsSync(seedFile)) {
    seed = readText(seedFile, name);
    sources.seed = seedFile;
  } else if (typeof meta.seed === 'string') {
    problem(seedFile, 'seed file not found');
  }

  const migrations: MigrationDefinition[] = [];
  const migrationSources: Record<number, string> = {};
  const migDir = path.join(dir, 'migrations');
  if (fs.existsSync(migDir)) {
    for (const f of fs.readdirSync(migDir).sort()) {
      if (f.startsWith('.') || f.endsWith('.md')) continue;
      const file = path.join(migDir, f);
      const m = MIGRATION_FILE.exec(f);
      if (!m) {
        problem(file, 'not a migration file name: use NNN-<what>.sql, .js or .mjs (NNN is the version it brings the file to)');
        continue;
      }
      const v = Number(m[1]);
      migrationSources[v] = file;
      if (m[2] === 'sql') {
        migrations.push({ version: v, name: f, sql: readText(file, name) });
      } else {
        try {
          const mod = (await import(pathToFileURL(file).href)) as { default?: unknown; up?: unknown };
          const fn = (mod.up ?? mod.default) as StepFunction | undefined;
          if (typeof fn !== 'function') problem(file, 'a JavaScript migration must export a function (`export default function (db) {…}` or `export function up(db) {…}`)');
          else migrations.push({ version: v, name: f, run: fn });
        } catch (err) {
          problem(file, `cannot import: ${(err as Error).message}`);
        }
      }
    }
  }
  sources.migrations = migrationSources;

  const samples: { name: string; sql: string }[] = [];
  const sampleSources: Record<string, string> = {};
  const sampleList = legacyRaw.samples;
  if (sampleList !== undefined && !(Array.isArray(sampleList) && sampleList.every((s) => typeof s === 'string'))) {
    problem(storeJson, 'legacy.samples must be a list of SQL file paths, relative to the store folder');
  } else {
    for (const rel of (sampleList as string[] | undefined) ?? []) {
      const file = path.join(dir, rel);
      sampleSources[rel] = file;
      samples.push({ name: rel, sql: readText(file, name) });
    }
  }
  sources.samples = sampleSources;

  const renames = legacyRaw.renames;
  if (renames !== undefined && !(Array.isArray(renames) && renames.every((r) => r && typeof r.from === 'string' && typeof r.to === 'string'))) {
    problem(storeJson, 'legacy.renames must be a list of {"from": "old_table", "to": "new_table"}');
  }
  const renameColumns = legacyRaw.renameColumns;
  if (renameColumns !== undefined && !(Array.isArray(renameColumns) && renameColumns.every((r) => r && typeof r.table === 'string' && typeof r.from === 'string' && typeof r.to === 'string'))) {
    problem(storeJson, 'legacy.renameColumns must be a list of {"table": "t", "from": "old_column", "to": "new_column"}');
  }
  const dropColumns = legacyRaw.dropColumns;
  if (dropColumns !== undefined && !(Array.isArray(dropColumns) && dropColumns.every((r) => r && typeof r.table === 'string' && typeof r.column === 'string'))) {
    problem(storeJson, 'legacy.dropColumns must be a list of {"table": "t", "column": "old_column"}');
  }
  for (const k of ['dropIndexes', 'deadTables'] as const) {
    const v = legacyRaw[k];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) problem(storeJson, `legacy.${k} must be a list of names`);
  }
  const invariants = meta.invariants;
  if (invariants !== undefined && !(Array.isArray(invariants) && invariants.every((i) => i && typeof i.name === 'string' && typeof i.sql === 'string'))) {
    problem(storeJson, 'invariants must be a list of {"name": "...", "sql": "SELECT ... (rows returned are violations)"}');
  }
  const connection = meta.connection;
  if (connection !== undefined && (typeof connection !== 'object' || connection === null || Array.isArray(connection))) {
    problem(storeJson, 'connection must be an object of pragma → value, in the order they are applied');
  }
  if (problems.length > 0) throw new RegistryError(problems);

  const legacy: LegacyDefinition = {
    renames: (renames as { from: string; to: string }[] | undefined) ?? [],
    renameColumns: (renameColumns as { table: string; from: string; to: string }[] | undefined) ?? [],
    dropIndexes: (legacyRaw.dropIndexes as string[] | undefined) ?? [],
    dropColumns: (dropColumns as { table: string; column: string }[] | undefined) ?? [],
    deadTables: (legacyRaw.deadTables as string[] | undefined) ?? [],
    samples,
  };
  return {
    name,
    file: meta.file as string,
    version,
    minVersion,
    schema,
    oldestSchema,
    frozen,
    migrations,
    seed,
    legacy,
    connection: connection as StoreDefinition['connection'],
    checkpointOnClose: meta.checkpointOnClose as StoreDefinition['checkpointOnClose'],
    invariants: invariants as StoreDefinition['invariants'],
    sources: sources as StoreDefinition['sources'],
  };
}
