/**
 * `stores import`, in memory: from what was read (src/import/source.ts) to the files of a store
 * folder, as plain data. Every version is replayed in `:memory:` and frozen from SQLite's own
 * `sqlite_schema`, in creation order; the steps after the first are converted (convert.ts);
 * a step the destructive analysis (src/engine/destructive.ts) finds undeclared gets a generated
 * `-- stores:destructive` line; and the result must pass `verifyRegistry` before anything is
 * written.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { createRegistry } from '../load.js';
import { RegistryError } from '../errors.js';
import { runStep } from '../engine/steps.js';
import type { MasterRow } from '../schema/model.js';
import { foldCase, quoteIdent, quoteString } from '../sql/tokens.js';
import type { HistorySource, MigrationDefinition, StoreDefinition } from '../types.js';
import { verifyRegistry } from '../verify.js';
import { ALWAYS_IGNORED, patternMatcher } from '../schema/exclude.js';
import { convertMigration } from './convert.js';
import { ImportError, schemaObjects, slug, type Source, type SourceMigration } from './source.js';

export interface ImportOptions {
  /** The store's name (default: the folder's name, or the file's without its extension). */
  readonly store?: string;
  /**
   * For a folder of numbered SQL files: the table in which the app's own migration runner
   * records the files it applied, and its column holding the file name (default `name`). With
   * it, `store.json` gets a custom `legacy.history` entry whose query maps those names to
   * versions.
   */
  readonly historyTable?: string;
  readonly historyColumn?: string;
  /** The date written in the header comments (default: now). */
  readonly now?: Date;
}

/** One file of the store folder: its path relative to the folder, and its text. */
export interface ImportFile {
  readonly path: string;
  readonly text: string;
}

/** A `legacy.history` entry, as store.json holds it. */
export type HistoryEntry = HistorySource;

export interface ImportPlan {
  readonly store: string;
  readonly kind: Source['kind'];
  readonly from: string;
  readonly file: string;
  readonly version: number;
  readonly minVersion: number;
  /** The `legacy.history` entries written to store.json (none when the source's bookkeeping is unknown). */
  readonly history: readonly HistoryEntry[];
  /** Source migration file → the version it brings a file to. */
  readonly versions: readonly { readonly from: string; readonly version: number; readonly file: string | null; readonly destructive: string | null }[];
  readonly files: readonly ImportFile[];
  /** What was stripped or rewritten. */
  readonly notes: readonly string[];
  /** What the operator should look at (rows the migrations insert, tables left out). */
  readonly warnings: readonly string[];
}

const STORE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const pad = (v: number) => String(v).padStart(3, '0');

function storeName(source: Source, options: ImportOptions): string {
  const given = options.store;
  const base = source.kind === 'file' ? path.basename(source.file).replace(/\.[^.]*$/, '') : path.basename(path.resolve(source.dir));
  const name = given ?? base;
  if (!STORE_NAME.test(name)) {
    throw new ImportError(`${JSON.stringify(name)} is not a store name (a letter, then letters, digits, '_' or '-')${given === undefined ? `: it comes from ${source.kind === 'file' ? 'the file' : 'the folder'} name; name the store explicitly` : ''}`);
  }
  return name;
}

function schemaText(objects: readonly MasterRow[]): string {
  return objects.map((o) => `${o.sql};`).join('\n');
}

/** Plans the store folder for `source`. Throws {@link ImportError} when it cannot be imported faithfully. */
export function planImport(source: Source, options: ImportOptions = {}): ImportPlan {
  const store = storeName(source, options);
  const date = (options.now ?? new Date()).toISOString().slice(0, 10);
  if (source.kind === 'file') return planFromFile(source, store, date, options);
  return planFromFolder(source, store, date, options);
}

/**
 * What a live file's baseline leaves out, and the history entry it gets: Litestream's and D1's
 * tables are always ignored by stores; a migration tool's bookkeeping (found by its preset) in a
 * file not yet versioned (user_version 0) is left out, and the tool's preset is written with a map
 * from every migration it applied to the baseline's version, so the file (and its siblings at the
 * same migration) adopt at that version.
 */
function liveExclusions(source: Extract<Source, { kind: 'file' }>, version: number): { left: Set<string>; history: HistoryEntry[]; notes: string[]; warnings: string[] } {
  const left = new Set<string>();
  const notes: string[] = [];
  const warnings: string[] = [];
  const history: HistoryEntry[] = [];
  const matchers = ALWAYS_IGNORED.map((i) => ({ match: patternMatcher(i.pattern), owner: i.owner }));
  for (const o of source.objects) {
    const owner = matchers.find((m) => m.match(o.tbl_name))?.owner;
    if (owner === undefined || left.has(foldCase(o.tbl_name))) continue;
    left.add(foldCase(o.tbl_name));
    notes.push(`${o.tbl_name} is left out of the baseline: it belongs to ${owner} (stores ignores it)`);
  }
  for (const b of source.bookkeeping) {
    if (source.userVersion !== 0) {
      warnings.push(`${b.tables.join(', ')} (${b.tool}'s bookkeeping) ${b.tables.length === 1 ? 'is' : 'are'} kept in the baseline: the file is versioned (user_version ${source.userVersion}), so every table of it is compared; drop ${b.tables.length === 1 ? 'it' : 'them'} from schema.sql and from the files with a migration if ${b.tool} is gone`);
      continue;
    }
    for (const t of b.tables) left.add(foldCase(t));
    if (b.problem !== null) {
      warnings.push(`${b.tables.join(', ')} (${b.tool}'s bookkeeping) ${b.tables.length === 1 ? 'is' : 'are'} left out of the baseline, and no history entry is written: ${b.problem}`);
      continue;
    }
    const ids = b.kind === 'log' ? b.applied : b.current !== null ? [b.current] : [];
    history.push({ tool: b.tool, map: Object.fromEntries(ids.map((id) => [id, version])) });
    notes.push(`${b.tables.join(', ')} (${b.tool}'s bookkeeping) ${b.tables.length === 1 ? 'is' : 'are'} left out of the baseline; legacy.history maps the ${ids.length} migration${ids.length === 1 ? '' : 's'} it records to version ${version}`);
  }
  return { left, history, notes, warnings };
}

function planFromFile(source: Extract<Source, { kind: 'file' }>, store: string, date: string, options: ImportOptions): ImportPlan {
  if (options.historyTable !== undefined) throw new ImportError('a history table is declared for folders of numbered SQL files only: a live file holds no migration to map');
  const version = source.userVersion > 0 ? source.userVersion : 1;
  const { left, history, notes, warnings } = liveExclusions(source, version);
  const objects = source.objects.filter((o) => !left.has(foldCase(o.tbl_name)));
  if (!objects.some((o) => o.type === 'table')) throw new ImportError(`${source.file}: holds no table of its own: there is no schema to import`);
  const file = `${store}.db`;
  const body = schemaText(objects);
  const from = path.basename(source.file);
  const schema = `-- ${file}: the schema of version ${version}, imported by \`stores import\` from the live file ${from} on ${date}.\n${body}\n`;
  const frozen = `-- ${file}: the schema of version ${version}, imported by \`stores import\` from the live file ${from} on ${date}.\n-- Never edit: change the schema with a new migration and a new version.\n${body}\n`;
  const storeJson = {
    description: `Imported by \`stores import\` from the live file ${from} (user_version ${source.userVersion}) on ${date}.`,
    file,
    version,
    minVersion: version,
    ...(history.length > 0 ? { legacy: { history } } : {}),
  };
  const def: StoreDefinition = { name: store, file, version, minVersion: version, schema, frozen: { [version]: frozen }, legacy: { history } };
  prove(def);
  return {
    store,
    kind: 'file',
    from: source.file,
    file,
    version,
    minVersion: version,
    history,
    versions: [],
    files: [
      { path: 'store.json', text: `${JSON.stringify(storeJson, null, 2)}\n` },
      { path: 'schema.sql', text: schema },
      { path: `versions/${pad(version)}.sql`, text: frozen },
    ],
    notes,
    warnings,
  };
}

/** Replays every migration in memory: the converted step and the frozen schema of each version. */
function replay(migrations: readonly SourceMigration[]): { steps: { sql: string; notes: readonly string[] }[]; schemas: string[]; rows: string[] } {
  const db = new Database(':memory:');
  const steps: { sql: string; notes: readonly string[] }[] = [];
  const schemas: string[] = [];
  try {
    db.pragma('foreign_keys = OFF');
    let image: Buffer | null = null;
    for (const [i, m] of migrations.entries()) {
      const converted = convertMigration(m, image);
      runStep(db, 'import', { version: i + 1, name: m.file, sql: converted.sql });
      steps.push(converted);
      schemas.push(schemaText(schemaObjects(db)));
      image = db.serialize();
    }
    const tables = db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").pluck().all() as string[];
    const rows = tables.filter((t) => db.prepare(`SELECT 1 FROM ${quoteIdent(t)} LIMIT 1`).get() !== undefined);
    return { steps, schemas, rows };
  } finally {
    db.close();
  }
}

/** The custom history entry for an app's own runner that records the names of the files it applied. */
function customHistory(migrations: readonly SourceMigration[], table: string, column: string): HistoryEntry {
  const whens = migrations.flatMap((m, i) => {
    const v = i + 1;
    const keys = new Set([m.file, m.file.replace(/(\.up)?\.sql$/, '')]);
    return [...[...keys].map((k) => `WHEN ${quoteString(k)} THEN ${v}`), `WHEN ${BigInt(m.id)} THEN ${v}`];
  });
  const mapped = `CASE ${quoteIdent(column)} ${whens.join(' ')} END`;
  // NULL (no version) when a row names a file the folder does not have, or when no row is there.
  return { table, version: `SELECT CASE WHEN count(*) = count(v) THEN max(v) END FROM (SELECT ${mapped} AS v FROM ${quoteIdent(table)})` };
}

function planFromFolder(source: Extract<Source, { kind: 'numbered' | 'drizzle' }>, store: string, date: string, options: ImportOptions): ImportPlan {
  const { migrations } = source;
  if (options.historyTable !== undefined && source.kind === 'drizzle') throw new ImportError('a drizzle-kit folder needs no history table: its history is the drizzle preset, written with the map of its migrations');
  const file = `${store}.db`;
  const version = migrations.length;
  const from = path.basename(path.resolve(source.dir));
  const tool = source.kind === 'drizzle' ? 'drizzle-kit folder' : source.tool === 'dbmate' ? 'dbmate folder' : 'folder';
  const { steps, schemas, rows } = replay(migrations);
  const frozenText = (v: number) =>
    `-- ${file}: the schema of version ${v}, imported by \`stores import\` from the ${tool} ${from} (${migrations[v - 1]!.file}) on ${date}.\n-- Never edit: change the schema with a new migration and a new version.\n${schemas[v - 1]}\n`;
  const frozen: Record<number, string> = {};
  for (let v = 1; v <= version; v++) frozen[v] = frozenText(v);
  const schema = `-- ${file}: the schema of version ${version} (the flat baseline), imported by \`stores import\` from the ${tool} ${from} on ${date}.\n${schemas[version - 1]}\n`;
  const header = (m: SourceMigration, v: number) =>
    `-- version ${v - 1} -> ${v}: imported by \`stores import\` from ${m.file}${source.kind === 'drizzle' ? ` (drizzle created_at ${m.id})` : source.tool === 'dbmate' ? ` (dbmate version ${m.id}, its up section)` : ''}\n`;
  const migrationDefs: MigrationDefinition[] = migrations.slice(1).map((m, j) => ({ version: j + 2, name: `${pad(j + 2)}-${m.what}.sql`, sql: header(m, j + 2) + steps[j + 1]!.sql }));
  const history: HistoryEntry[] = [];
  if (source.kind === 'drizzle') history.push({ tool: 'drizzle', map: Object.fromEntries(migrations.map((m, i) => [m.id, i + 1])) });
  else if (source.tool === 'dbmate') {
    if (options.historyTable !== undefined) throw new ImportError('a dbmate folder needs no history table: its history is the dbmate preset (schema_migrations), written with the map of its versions');
    history.push({ tool: 'dbmate', map: Object.fromEntries(migrations.map((m, i) => [m.id, i + 1])) });
  } else if (options.historyTable !== undefined) history.push(customHistory(migrations, options.historyTable, options.historyColumn ?? 'name'));
  let def: StoreDefinition = { name: store, file, version, minVersion: 1, schema, oldestSchema: frozen[1], frozen, migrations: migrationDefs, legacy: { history } };
  // Declare what the destructive analysis finds, with a reason naming it.
  const declared = new Map<number, string>();
  const analysis = build(def).destructive;
  def = {
    ...def,
    migrations: migrationDefs.map((m) => {
      const d = analysis.get(m.version);
      if (!d?.undeclared) return m;
      const why = `imported from ${migrations[m.version - 1]!.file}, which ${d.what.join(', ')}`;
      declared.set(m.version, why);
      const [first, ...rest] = m.sql!.split('\n');
      return { ...m, sql: [first, `-- stores:destructive ${why}`, ...rest].join('\n') };
    }),
  };
  prove(def, migrations);
  const storeJson: Record<string, unknown> = {
    description: `Imported by \`stores import\` from the ${tool} ${from} (${version} migration${version === 1 ? '' : 's'}) on ${date}.`,
    file,
    version,
    minVersion: 1,
    ...(history.length > 0 ? { legacy: { history } } : {}),
  };
  const warnings = rows.length > 0 ? [`the migrations leave rows in ${rows.join(', ')}: a file created from the baseline starts without them; if every file needs them, write them to seed.sql (idempotent, e.g. INSERT OR IGNORE)`] : [];
  return {
    store,
    kind: source.kind,
    from: source.dir,
    file,
    version,
    minVersion: 1,
    history,
    versions: migrations.map((m, i) => ({ from: m.file, version: i + 1, file: i === 0 ? `versions/001.sql` : `migrations/${def.migrations![i - 1]!.name}`, destructive: declared.get(i + 1) ?? null })),
    files: [
      { path: 'store.json', text: `${JSON.stringify(storeJson, null, 2)}\n` },
      { path: 'schema.sql', text: schema },
      ...Object.entries(frozen).map(([v, text]) => ({ path: `versions/${pad(Number(v))}.sql`, text })),
      ...def.migrations!.map((m) => ({ path: `migrations/${m.name}`, text: m.sql! })),
    ],
    notes: steps.flatMap((s) => s.notes),
    warnings,
  };
}

function build(def: StoreDefinition) {
  try {
    return createRegistry([def]).stores[0]!;
  } catch (err) {
    if (err instanceof RegistryError) throw new ImportError(`the imported store ${def.name} is not a valid store: ${err.problems.map((p) => p.message).join('; ')}`);
    throw err;
  }
}

/** The checks of `stores verify` that fail on `def`, for people. */
function failures(def: StoreDefinition): string[] {
  const result = verifyRegistry({ source: 'import', stores: [build(def)] });
  return result.stores.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`));
}

/** `def` cut at version `v`: the same history, as a registry released at v would hold it. */
function cutAt(def: StoreDefinition, v: number): StoreDefinition {
  const frozen = Object.fromEntries(Object.entries(def.frozen ?? {}).filter(([k]) => Number(k) <= v));
  return { ...def, version: v, schema: def.frozen![v]!, frozen, migrations: (def.migrations ?? []).filter((m) => m.version <= v), legacy: {} };
}

/**
 * What `stores verify` proves, in memory, before anything is written. When it fails, the first
 * migration after which it fails is named (the store cut at each version is verified in turn).
 */
function prove(def: StoreDefinition, sources: readonly SourceMigration[] = []): void {
  const failed = failures(def);
  if (failed.length === 0) return;
  for (let v = def.minVersion! + 1; v < def.version; v++) {
    const cut = failures(cutAt(def, v));
    if (cut.length > 0) throw new ImportError(`${sources[v - 1]?.file ?? `migration ${v}`}: the store it makes does not pass verify: ${cut.join('; ')}`);
  }
  const last = def.version > def.minVersion! ? `${sources[def.version - 1]?.file ?? `migration ${def.version}`}: ` : '';
  throw new ImportError(`${last}the imported store ${def.name} does not pass verify: ${failed.join('; ')}`);
}
