/**
 * The schema of `store.json`, in valibot: `loadRegistry` checks every file against it, and the
 * JSON Schema shipped at the package root (`store.schema.json`, written by `npm run schema` with
 * valibot's converter) is generated from it, so editors complete and check `store.json` by the
 * same rules. valibot rather than zod: the same checks for about 5 ms of start-up instead of
 * about 50 (every CLI process loads a registry folder).
 *
 * A field added to `store.json` is one line here (and its meaning in the README table).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as v from 'valibot';
import { editDistance } from '../text.js';
import { ALLOWED_PRAGMAS, APPLICATION_ID_MAX, APPLICATION_ID_MIN, MAX_VERSION, PAGE_SIZES, PRAGMA_WORD } from './define.js';
import { AUTO_VACUUM_MODES, CHECKPOINT_MODES, HISTORY_TOOLS } from './types.js';

const text = (what: string) => v.pipe(v.string(), v.description(what));
const texts = (what: string) => v.optional(v.pipe(v.array(v.string()), v.description(what)));
const list = <T extends v.GenericSchema>(item: T, what: string) => v.optional(v.pipe(v.array(item), v.description(what)));
const version = (what: string) => v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_VERSION), v.description(what));

const HistoryMap = v.optional(
  v.pipe(
    v.record(v.string(), v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_VERSION))),
    v.description(
      "the tool's migration identifiers (drizzle: created_at; knex, Kysely, TypeORM: the name; Prisma: migration_name; the others: the version) → this store's versions; without it, the number of applied migrations (or the version recorded) is the version",
    ),
  ),
);

const History = list(
  v.union([
    v.strictObject({
      tool: v.pipe(v.picklist(HISTORY_TOOLS), v.description("the migration tool that kept the file: its preset knows the tool's tables (lock tables too) and what it records for failed or dirty migrations")),
      map: HistoryMap,
    }),
    v.strictObject({
      table: text('the bookkeeping table another program keeps (dropped at adoption, after a backup)'),
      version: text('a read-only query returning one integer: the version the file is at, e.g. "SELECT max(version) FROM schema_version"'),
      map: HistoryMap,
    }),
  ]),
  "bookkeeping of another migration tool (user_version = 0): a file is adopted from the version it records when its schema, less the bookkeeping, is that version's",
);

const Legacy = v.pipe(
  v.strictObject({
    renames: list(v.strictObject({ from: text('the old table name'), to: text('the new table name') }), 'table renames, applied in this order, each only where the old name exists, so a chain resolves in one pass'),
    renameColumns: list(
      v.strictObject({ table: text("the table's name after the table renames"), from: text('the old column name'), to: text('the new column name') }),
      'column renames, applied after the table renames',
    ),
    dropIndexes: texts('indexes a rename leaves behind under old names, and indexes on dropped columns'),
    dropColumns: list(
      v.strictObject({ table: text("the table's name after the table renames"), column: text('the column nobody reads') }),
      'columns nobody reads; the table is rebuilt to its oldest-version definition, after a backup',
    ),
    deadTables: texts('tables nobody reads any more; dropped after a backup when they hold rows'),
    samples: texts('legacy layouts (SQL files with rows, relative to the store folder) that `stores verify` adopts in memory'),
    history: History,
  }),
  v.description('how files written before the store was versioned (user_version = 0) are adopted'),
);

const PragmaValue = v.union([v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.regex(PRAGMA_WORD), v.title("a single word (letters, digits, '_' or '-')"))]);

const Connection = v.pipe(
  v.strictObject(Object.fromEntries([...ALLOWED_PRAGMAS].map((p) => [p, v.optional(PragmaValue)]))),
  v.description('pragmas applied on every open, in this order (default: the reference settings)'),
);

const FileSettings = v.pipe(
  v.strictObject({
    page_size: v.optional(v.pipe(v.picklist(PAGE_SIZES), v.description('bytes per page: a power of two from 512 to 65536 (SQLite: 4096)'))),
    auto_vacuum: v.optional(v.pipe(v.union([v.picklist(AUTO_VACUUM_MODES), v.picklist([0, 1, 2])]), v.description('NONE, FULL or INCREMENTAL (or 0, 1, 2)'))),
  }),
  v.description('settings SQLite keeps in the file and accepts only before its first table: applied when up creates a file'),
);

const ApplicationId = v.pipe(
  v.union([
    v.pipe(v.number(), v.integer(), v.minValue(APPLICATION_ID_MIN), v.maxValue(-1)),
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(APPLICATION_ID_MAX)),
  ]),
  v.title(`a non-zero whole number from ${APPLICATION_ID_MIN} to ${APPLICATION_ID_MAX}`),
  v.description('PRAGMA application_id, stamped when up creates, adopts or migrates a file; a file with another non-zero application id is foreign'),
);

export const StoreJson = v.pipe(
  v.strictObject({
    $schema: v.optional(text('the JSON Schema of store.json, for editors (e.g. "../../node_modules/stores/store.schema.json")')),
    description: v.optional(text('what the store holds, for people')),
    file: text('the file name in a data dir, e.g. "objects.db" (a plain name, never a path)'),
    version: version('target version, kept in PRAGMA user_version'),
    minVersion: v.optional(version('oldest version a file may be at and still be migrated (default: version)')),
    oldestSchema: v.optional(text('path of the frozen schema of minVersion, relative to the store folder (default: versions/NNN.sql)')),
    seed: v.optional(text('path of the seed rows, relative to the store folder (default: seed.sql if present)')),
    legacy: v.optional(Legacy),
    connection: v.optional(Connection),
    checkpointOnClose: v.optional(v.pipe(v.nullable(v.picklist(CHECKPOINT_MODES)), v.description('wal_checkpoint mode run by close(); null for none (default: "TRUNCATE")'))),
    invariants: list(
      v.strictObject({ name: text('what must hold, for people'), sql: text('a read-only query; the rows it returns are violations') }),
      'queries that must return no row after any migration path (checked by `stores verify`)',
    ),
    ignore: list(
      v.pipe(v.string(), v.regex(/^[^\u0000]+$/), v.title("a name pattern ('*' matches any run of characters)")),
      "tables, indexes and views another program owns (and the indexes and triggers on its tables): never compared, created, dropped or rebuilt; Litestream's and D1's tables are ignored without being listed",
    ),
    applicationId: v.optional(ApplicationId),
    fileSettings: v.optional(FileSettings),
  }),
  v.description('A store of a `stores` registry: the folder holding this file is the store, named after the folder.'),
);

export type StoreJson = v.InferOutput<typeof StoreJson>;

/**
 * The JSON Schema of `store.json` (draft 7: what most editors read). Made by valibot's converter,
 * which is a development dependency: at run time the shipped `store.schema.json` is read instead.
 */
export async function storeJsonSchema(): Promise<Record<string, unknown>> {
  const { toJsonSchema } = await import('@valibot/to-json-schema');
  return toJsonSchema(StoreJson) as Record<string, unknown>;
}

/** The text of `store.schema.json`: two-space JSON and a final newline. */
export function storeJsonSchemaText(schema: Record<string, unknown>): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/**
 * Checks a parsed `store.json`. Valid: the value itself (a parser's output could reorder
 * `connection`, whose order is meaningful). Invalid: one message per problem, each naming the
 * field path, what was found and what is allowed.
 */
export function checkStoreJson(raw: unknown): { value: StoreJson } | { errors: string[] } {
  const result = v.safeParse(StoreJson, raw);
  if (result.success) return { value: raw as StoreJson };
  const errors: string[] = [];
  for (const issue of result.issues) {
    const path: PropertyKey[] = (issue.path ?? []).map((item) => item.key as PropertyKey);
    // A key a strict object does not know (valibot expects `never` there): its path ends at the key.
    const message = issue.type === 'strict_object' && issue.expected === 'never' ? unknownField(path.slice(0, -1), String(path.at(-1))) : wrongValue(raw, path);
    if (!errors.includes(message)) errors.push(message);
  }
  return { errors };
}

type Path = readonly PropertyKey[];
interface SchemaNode {
  type?: string;
  title?: string;
  description?: string;
  enum?: unknown[];
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  pattern?: string;
  minimum?: number;
  maximum?: number;
}

let jsonSchema: SchemaNode | null = null;

/** The shipped JSON Schema (read once, on the first error): what the messages describe. */
function shippedSchema(): SchemaNode {
  const file = fileURLToPath(new URL('../../store.schema.json', import.meta.url));
  return JSON.parse(fs.readFileSync(file, 'utf8')) as SchemaNode;
}

/** The JSON Schema node that describes the value at `path`. */
function nodeAt(path: Path): SchemaNode | undefined {
  let node: SchemaNode | undefined = (jsonSchema ??= shippedSchema());
  for (const seg of path) {
    const alts: SchemaNode[] = node ? [node, ...(node.anyOf ?? [])] : [];
    node = typeof seg === 'number' ? alts.find((a) => a.items)?.items : alts.find((a) => a.properties?.[String(seg)])?.properties?.[String(seg)];
  }
  return node;
}

function dotted(path: Path): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? String(seg) : `.${String(seg)}`)).join('');
}

function unknownField(path: Path, key: string): string {
  const known = Object.keys(nodeAt(path)?.properties ?? {});
  const near = closest(key, known);
  const field = (k: string) => JSON.stringify(dotted([...path, k]));
  return `unknown field ${field(key)}${near ? ` (did you mean ${field(near)}?)` : ''}; allowed${path.length > 0 ? ` in ${dotted(path)}` : ''}: ${known.join(', ')}`;
}

function wrongValue(raw: unknown, path: Path): string {
  const node = nodeAt(path);
  const allowed = node ? orList(alternatives(node)) : 'nothing (unknown field)';
  const found = valueAt(raw, path);
  const where = path.length > 0 ? dotted(path) : 'store.json';
  if (found === undefined) return `${where} is required: ${allowed}${node?.description ? ` — ${node.description}` : ''}`;
  const values = node ? enumValues(node) : [];
  const near = typeof found === 'string' ? closest(found, values) : null;
  return `${where}: found ${shown(found)}; allowed: ${allowed}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`;
}

function valueAt(raw: unknown, path: Path): unknown {
  let v = raw;
  for (const seg of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

function shown(v: unknown): string {
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** What a JSON Schema node allows, for people: one phrase per alternative. */
function alternatives(node: SchemaNode): string[] {
  if (node.title) return [node.title];
  if (node.enum) return node.enum.map((v) => JSON.stringify(v));
  if (node.anyOf) return node.anyOf.flatMap(alternatives);
  switch (node.type) {
    case 'null':
      return ['null'];
    case 'boolean':
      return ['true or false'];
    case 'string':
      return [node.pattern ? `a string matching /${node.pattern}/` : 'a string'];
    case 'integer':
      return [node.minimum !== undefined && node.maximum !== undefined && node.maximum < Number.MAX_SAFE_INTEGER ? `a whole number from ${node.minimum} to ${node.maximum}` : 'a whole number'];
    case 'number':
      return ['a number'];
    case 'array':
      return [`a list, each ${node.items ? orList(alternatives(node.items)) : 'anything'}`];
    case 'object':
      return [node.properties ? `an object with fields ${Object.keys(node.properties).join(', ')}` : 'an object'];
    default:
      return ['anything'];
  }
}

function enumValues(node: SchemaNode): string[] {
  return [...(node.enum ?? []), ...(node.anyOf ?? []).flatMap((a) => a.enum ?? [])].filter((v): v is string => typeof v === 'string');
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? 'nothing') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** The candidate nearest to `word` (case-insensitive edit distance, a swap counts once), if near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}
