/**
 * `stores types`: TypeScript declarations from the baselines. One row interface per table (what
 * `SELECT *` returns through better-sqlite3), the tables of each store, and the registry's store
 * names, so that `openStores` is typed end to end for a registry loaded from a folder:
 *
 *   const registry = await loadRegistry('stores', { names: storeNames }); // Registry<StoreName>, checked
 *   const stores = await openStores(registry, dir);                      // stores.db.objects: Database
 *   stores.db.objects.prepare<[], ObjectsItemRow>('SELECT * FROM item').all();
 *
 * What a column may hold is read from the schema model (src/schema/) and, for `col IN (…)`
 * lists, asked of SQLite: each listed literal is stored in a column of the same declared type
 * and read back (its affinity applied), and must pass the CHECK. Pure text out: the same
 * schemas give the same bytes.
 */
import Database from 'better-sqlite3';
import type { Registry, Store } from './types.js';
import type { Column, Table } from './schema/model.js';
import { foldCase, isName, isWord, nameOf, quoteIdent, splitTopLevel, stripOuterParens, tokenize, type Token } from './sql/tokens.js';
import { affinity } from './engine/watch.js';

export interface TypesOptions {
  /** The module the declarations import `Registry` from (default `stores`). */
  readonly from?: string;
}

/** The TypeScript type of the values a column with this declared type holds (NULL aside). */
export function columnType(type: string, strict: boolean): string {
  if (type === '' || (strict && type === 'ANY')) return 'unknown';
  switch (affinity(type)) {
    case 'INTEGER':
    case 'REAL':
      return 'number';
    case 'TEXT':
      return 'string';
    case 'BLOB':
      return 'Buffer';
    case 'NUMERIC':
      // SQLite keeps text that does not look like a number as text in a NUMERIC column
      // (DATETIME, JSON, …): only a declared numeric intent gives `number`.
      return /NUM|DEC|BOOL/.test(type) ? 'number' : 'number | string';
  }
}

/** True when the column can never read back NULL: NOT NULL (STRICT and WITHOUT ROWID keys report it), or the rowid. */
export function neverNull(table: Table, column: Column): boolean {
  if (column.notNull) return true;
  // A non-INTEGER PRIMARY KEY column of a rowid table may hold NULL; the rowid alias never does.
  const pk = table.primaryKey;
  return pk !== null && pk.rowid && pk.columns.length === 1 && foldCase(pk.columns[0]!.name) === foldCase(column.name);
}

/** Top-level conjuncts of a CHECK expression, or the whole when AND may not be split there. */
function conjuncts(tokens: readonly Token[]): Token[][] {
  let depth = 0;
  const parts: Token[][] = [[]];
  for (const t of tokens) {
    if (t.kind === 'punct' && t.value === '(') depth++;
    else if (t.kind === 'punct' && t.value === ')') depth--;
    else if (depth === 0 && (isWord(t, 'or') || isWord(t, 'between') || isWord(t, 'case'))) return [[...tokens]];
    if (depth === 0 && isWord(t, 'and')) parts.push([]);
    else parts[parts.length - 1]!.push(t);
  }
  return parts;
}

/** `col IN (lit, …)` exactly: the folded column and the literals as written; else null. */
function inList(tokens: readonly Token[]): { column: string; literals: string[]; text: string } | null {
  const t = stripOuterParens(tokens);
  if (t.length < 4 || !isName(t[0]) || !isWord(t[1], 'in') || t[2]!.value !== '(' || t[t.length - 1]!.value !== ')') return null;
  const items = splitTopLevel(t.slice(3, -1));
  const literals: string[] = [];
  for (const item of items) {
    const signed = item.length === 2 && (item[0]!.value === '-' || item[0]!.value === '+') && item[1]!.kind === 'number';
    if (!(item.length === 1 && ['string', 'number'].includes(item[0]!.kind)) && !signed) return null;
    literals.push(item.map((x) => x.value).join(''));
  }
  return { column: foldCase(nameOf(t[0]!)), literals, text: t.map((x) => (x.kind === 'ident' ? quoteIdent(x.value) : x.value)).join(' ') };
}

/**
 * The literal union a column's CHECKs restrict it to (`'a' | 'b'`), or null. Asked of SQLite:
 * each literal is stored in a probe column of the same declared type (affinity applied) and
 * read back; a value that fails the conjunct there cannot be held and is left out. A column
 * with a collation other than BINARY is not narrowed (NOCASE lets 'A' pass `IN ('a')`).
 */
function unionOf(db: Database.Database, table: Table, column: Column): string | null {
  if (column.collate !== null && column.collate !== 'BINARY') return null;
  const lists: Set<string>[] = [];
  for (const check of table.checks) {
    for (const part of conjuncts(tokenize(check))) {
      const list = inList(part);
      if (!list || list.column !== foldCase(column.name)) continue;
      const values = new Set<string>();
      db.exec(`DROP TABLE IF EXISTS probe; CREATE TABLE probe (${quoteIdent(column.name)} ${column.type})`);
      for (const lit of list.literals) {
        db.exec(`DELETE FROM probe; INSERT INTO probe VALUES (${lit})`);
        const r = db.prepare(`SELECT typeof(${quoteIdent(column.name)}) AS t, ${quoteIdent(column.name)} AS v, (${list.text}) AS ok FROM probe`).get() as { t: string; v: unknown; ok: number | null };
        if (r.ok !== 1) continue;
        if (r.t === 'text') values.add(JSON.stringify(r.v));
        else if ((r.t === 'integer' || r.t === 'real') && Number.isFinite(r.v)) values.add(String(r.v));
        else return null;
      }
      lists.push(values);
    }
  }
  if (lists.length === 0) return null;
  const found = [...lists[0]!].filter((v) => lists.every((l) => l.has(v)));
  return found.length === 0 ? 'never' : [...found].join(' | ');
}

/** `item_types` → `ItemTypes`. */
function pascal(name: string): string {
  const out = name
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p !== '')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
  return /^[A-Za-z]/.test(out) ? out : `T${out}`;
}

/** A property key: bare when it is an identifier, quoted otherwise. */
function key(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** What a column's comment says: its declared type and constraints, as SQLite reports them. */
function describe(table: Table, c: Column): string {
  const bits = [c.type || 'no type'];
  if (c.pk > 0) bits.push(table.primaryKey?.rowid ? 'PRIMARY KEY (the rowid)' : 'PRIMARY KEY');
  if (c.notNull) bits.push('NOT NULL');
  if (c.default !== null) bits.push(`DEFAULT ${c.default}`);
  if (c.collate !== null) bits.push(`COLLATE ${c.collate}`);
  if (c.generated) bits.push(`GENERATED ${c.generated.stored ? 'STORED' : 'VIRTUAL'}`);
  return bits.join(' ').replace(/\*\//g, '* /');
}

function rowInterface(db: Database.Database, name: string, table: Table): string {
  const lines = [`/** Row of ${table.name}${table.strict ? ' (STRICT)' : ''}${table.withoutRowid ? ' (WITHOUT ROWID)' : ''}: what \`SELECT *\` returns. */`, `export interface ${name} {`];
  for (const c of table.columns) {
    if (c.hidden) continue;
    const base = unionOf(db, table, c) ?? columnType(c.type, table.strict);
    const type = neverNull(table, c) || base === 'unknown' ? base : `${base} | null`;
    lines.push(`  /** ${describe(table, c)} */`, `  ${key(c.name)}: ${type};`);
  }
  lines.push('}');
  return lines.join('\n');
}

/** The declarations of one store: its row interfaces and its table map. */
function storeDeclarations(db: Database.Database, store: Store, taken: Set<string>): { text: string; tablesName: string } {
  const snap = store.expect.snapshots.get(store.version)!;
  const tables = Object.values(snap.tables)
    .filter((t) => t.virtual === null)
    .sort((a, b) => (foldCase(a.name) < foldCase(b.name) ? -1 : 1));
  const unique = (base: string) => {
    let n = base;
    for (let i = 2; taken.has(n); i++) n = `${base}${i}`;
    taken.add(n);
    return n;
  };
  const tablesName = unique(`${pascal(store.name)}Tables`);
  const rows = tables.map((t) => ({ t, name: unique(`${pascal(store.name)}${pascal(t.name)}Row`) }));
  const parts = rows.map(({ t, name }) => rowInterface(db, name, t));
  const map = [`/** The tables of store \`${store.name}\` (${store.file}, v${store.version}), by name. */`, `export interface ${tablesName} {`, ...rows.map(({ t, name }) => `  ${key(t.name)}: ${name};`), '}'];
  return { text: [...parts, map.join('\n')].join('\n\n'), tablesName };
}

/** The declarations for every store of `registry`, as the text of a TypeScript module. */
export function generateTypes(registry: Registry, options: TypesOptions = {}): string {
  const db = new Database(':memory:');
  try {
    const taken = new Set(['StoreName', 'StoresRegistry', 'StoreTables']);
    const stores = registry.stores.map((s) => ({ s, ...storeDeclarations(db, s, taken) }));
    const names = registry.stores.map((s) => JSON.stringify(s.name));
    const head = [
      '// Generated by `stores types` from the registry\'s schema.sql files: do not edit.',
      '// Generate it again after changing a schema; `stores types --out FILE --check` tells CI whether it is stale.',
      `import type { Registry } from ${JSON.stringify(options.from ?? 'stores')};`,
      '',
      '/** The registry\'s store names: `loadRegistry(dir, { names: storeNames })` checks them and types the registry. */',
      `export const storeNames = [${names.join(', ')}] as const;`,
      'export type StoreName = (typeof storeNames)[number];',
      'export type StoresRegistry = Registry<StoreName>;',
    ].join('\n');
    const all = ['/** Every store\'s tables, by store name. */', 'export interface StoreTables {', ...stores.map(({ s, tablesName }) => `  ${key(s.name)}: ${tablesName};`), '}'].join('\n');
    return `${[head, ...stores.map((x) => x.text), all].join('\n\n')}\n`;
  } finally {
    db.close();
  }
}
