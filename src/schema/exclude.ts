/**
 * The exclusion layer: the objects of a file that a comparison leaves out, because another program
 * owns them. Plain data in (name patterns, bookkeeping tables), plain data out (what is kept, what
 * was left out and why). Used for the `ignore` list of `store.json`, for the sidecar tables some
 * programs add to every file they touch, and for the bookkeeping tables of another migration tool
 * (`legacy.history`) while a file is adopted from it.
 *
 * What is left out: a table that matches (with its indexes and triggers, and the shadow tables of a
 * virtual one), a view that matches, and an index that matches although it is on one of our tables
 * (it is carried through our rebuilds: see src/engine/rebuild.ts). What cannot be left out: a
 * trigger on one of our tables, whatever its name — it would fire during a reconcile, since SQLite
 * cannot pause triggers; one whose name matches a pattern is reported as `unignorable`.
 */
import { foldCase } from '../sql/tokens.js';
import type { MasterRow, Snapshot } from './model.js';

/**
 * Tables other programs add to every SQLite file they handle, ignored without configuration:
 *
 * - Litestream (https://github.com/benbjohnson/litestream, `db.go`, `DB.init`): `CREATE TABLE IF
 *   NOT EXISTS _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)`, written to force a frame
 *   into an empty WAL, and `CREATE TABLE IF NOT EXISTS _litestream_lock (id INTEGER)`, written in a
 *   transaction that always rolls back, to take the write lock during a sync.
 * - Cloudflare D1 (the D1 runtime in workerd, and miniflare / `wrangler dev --local` that emulate
 *   it): `_cf_METADATA (key INTEGER PRIMARY KEY, value BLOB)`, D1's own bookkeeping, listed in
 *   every D1 database's `sqlite_schema`; names beginning `_cf_` are reserved by the D1 binding.
 * - stores itself on D1 (src/d1/): `_stores_version`, the row that stands in for `user_version`
 *   and `application_id` (both denied there).
 */
export const ALWAYS_IGNORED: readonly { readonly pattern: string; readonly owner: string }[] = [
  { pattern: '_litestream_seq', owner: 'Litestream' },
  { pattern: '_litestream_lock', owner: 'Litestream' },
  { pattern: '_cf_METADATA', owner: 'Cloudflare D1' },
  { pattern: '_stores_version', owner: "stores' D1 driver" },
];

/** The shadow tables SQLite's own virtual-table modules create: `<table>_<suffix>`. */
const SHADOW_SUFFIXES = ['content', 'segments', 'segdir', 'docsize', 'stat', 'data', 'idx', 'config', 'node', 'parent', 'rowid'];

/** What a comparison leaves out of a file. */
export interface Exclusion {
  /** Name patterns (`*` matches any run of characters, case-insensitive) and who says so. */
  readonly patterns: readonly { readonly pattern: string; readonly owner: string }[];
  /** Bookkeeping tables of another migration tool, left out while the file is adopted from it. */
  readonly bookkeeping: readonly { readonly table: string; readonly owner: string }[];
}

/** One object left out, and why (for `diff` and the report). */
export interface LeftOut {
  readonly type: 'table' | 'index' | 'trigger' | 'view';
  readonly name: string;
  /** The table it is on (its own name for a table or a view). */
  readonly table: string;
  /** `ignored`: a name pattern; `history`: another migration tool's bookkeeping. */
  readonly kind: 'ignored' | 'history';
  /** Who owns it: the pattern's source (`ignore pattern "app_*"`, `Litestream`) or the tool. */
  readonly owner: string;
}

/** A trigger on one of our tables whose name matches a pattern: it cannot be left out. */
export interface Unignorable {
  readonly name: string;
  readonly table: string;
  readonly pattern: string;
}

export interface Partition {
  /** The listing without what is left out (in the same order). */
  readonly kept: readonly MasterRow[];
  readonly left: readonly LeftOut[];
  readonly unignorable: readonly Unignorable[];
}

/** A predicate for one `*` pattern: the whole name must match, ignoring ASCII case as SQLite does. */
export function patternMatcher(pattern: string): (name: string) => boolean {
  const source = foldCase(pattern)
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 's');
  return (name) => re.test(foldCase(name));
}

const compiled = new Map<string, (name: string) => boolean>();

/** The first pattern `name` matches, or null. */
function matching(exclusion: Exclusion, name: string): { pattern: string; owner: string } | null {
  for (const p of exclusion.patterns) {
    let m = compiled.get(p.pattern);
    if (!m) compiled.set(p.pattern, (m = patternMatcher(p.pattern)));
    if (m(name)) return p;
  }
  return null;
}

/** Splits a `sqlite_schema` listing into what is compared and what is left out. */
export function partition(master: readonly MasterRow[], exclusion: Exclusion): Partition {
  if (exclusion.patterns.length === 0 && exclusion.bookkeeping.length === 0) return { kept: master, left: [], unignorable: [] };
  const bookkeeping = new Map(exclusion.bookkeeping.map((b) => [foldCase(b.table), b.owner]));
  // Tables left out, by folded name, with why.
  const tables = new Map<string, { kind: LeftOut['kind']; owner: string }>();
  for (const r of master) {
    if (r.type !== 'table') continue;
    const book = bookkeeping.get(foldCase(r.name));
    const p = book === undefined ? matching(exclusion, r.name) : null;
    if (book !== undefined) tables.set(foldCase(r.name), { kind: 'history', owner: book });
    else if (p) tables.set(foldCase(r.name), { kind: 'ignored', owner: ownerText(p) });
  }
  // Shadow tables of a virtual table left out go with it (`app_search` → `app_search_data`): the
  // suffixes FTS3/4, FTS5 and R*Tree give them (https://www.sqlite.org/vtab.html#xshadowname).
  const virtuals = master.filter((r) => r.type === 'table' && tables.has(foldCase(r.name)) && /^\s*create\s+virtual\b/i.test(r.sql ?? '')).map((r) => foldCase(r.name));
  for (const r of master) {
    if (r.type !== 'table' || tables.has(foldCase(r.name))) continue;
    const parent = virtuals.find((v) => SHADOW_SUFFIXES.some((sfx) => foldCase(r.name) === `${v}_${sfx}`));
    if (parent !== undefined) tables.set(foldCase(r.name), tables.get(parent)!);
  }
  const kept: MasterRow[] = [];
  const left: LeftOut[] = [];
  const unignorable: Unignorable[] = [];
  for (const r of master) {
    const type = r.type as LeftOut['type'];
    const on = tables.get(foldCase(r.tbl_name));
    if (on) {
      left.push({ type, name: r.name, table: r.tbl_name, kind: on.kind, owner: on.owner });
      continue;
    }
    const p = r.type === 'table' ? null : matching(exclusion, r.name);
    if (p && r.type === 'trigger') unignorable.push({ name: r.name, table: r.tbl_name, pattern: ownerText(p) });
    else if (p && (r.type === 'index' || r.type === 'view')) {
      left.push({ type, name: r.name, table: r.tbl_name, kind: 'ignored', owner: ownerText(p) });
      continue;
    }
    kept.push(r);
  }
  return { kept: left.length === 0 ? master : kept, left, unignorable };
}

function ownerText(p: { pattern: string; owner: string }): string {
  return p.owner === 'ignore' ? `ignore pattern ${JSON.stringify(p.pattern)}` : `${p.owner} (always ignored)`;
}

/** The snapshot without the objects left out (tables, their indexes and triggers, views, indexes by name). */
export function excludeFromSnapshot(snapshot: Snapshot, left: readonly LeftOut[]): Snapshot {
  if (left.length === 0) return snapshot;
  const out = (type: LeftOut['type']) => new Set(left.filter((l) => l.type === type).map((l) => foldCase(l.name)));
  const tables = out('table');
  const indexes = out('index');
  const triggers = out('trigger');
  const views = out('view');
  const keep = <T>(rec: Readonly<Record<string, T>>, drop: (k: string, v: T) => boolean): Record<string, T> => Object.fromEntries(Object.entries(rec).filter(([k, v]) => !drop(k, v)));
  return {
    tables: keep(snapshot.tables, (k) => tables.has(k)),
    indexes: keep(snapshot.indexes, (k, ix) => indexes.has(k) || tables.has(ix.table)),
    triggers: keep(snapshot.triggers, (k, t) => triggers.has(k) || tables.has(t.table)),
    views: keep(snapshot.views, (k) => views.has(k)),
  };
}

/** For people: `table app_cache (ignore pattern "app_*")`. */
export function describeLeftOut(l: LeftOut): string {
  const on = l.type === 'index' || l.type === 'trigger' ? ` on ${l.table}` : '';
  return `${l.type} ${l.name}${on} (${l.kind === 'history' ? `${l.owner}'s bookkeeping` : l.owner})`;
}
