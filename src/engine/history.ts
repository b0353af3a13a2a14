/**
 * Foreign history (`legacy.history`): files another migration tool kept. Reading (read-only SQL
 * on the open file, in probe.ts) gives plain facts; {@link historyVersion} turns them into the
 * version the file is at, or the reason it cannot be told. Which objects of a file are whose is
 * the exclusion layer's (src/schema/exclude.ts): {@link exclusionFor} says what a comparison of
 * this store leaves out.
 */
import type Database from 'better-sqlite3';
import type { HistorySource, Store } from '../types.js';
import { ALWAYS_IGNORED, type Exclusion } from '../schema/exclude.js';
import type { MasterRow } from '../schema/model.js';
import { foldCase } from '../sql/tokens.js';
import { PRESETS, type ToolName } from './history-presets.js';

/** What one declared history source holds in a file (plain data). */
export interface HistoryFact {
  /** Index of the source in `legacy.history`. */
  readonly source: number;
  /** For people: `drizzle` or `custom history`. */
  readonly tool: string;
  /** The table read (the preset's marker, or the custom table). */
  readonly table: string;
  /** `log`: one row per applied migration; `version`: the version recorded (custom queries too). */
  readonly kind: 'log' | 'version';
  readonly applied: readonly string[];
  /** The version recorded as the tool wrote it (the map's key), for `version` sources. */
  readonly current: string | null;
  readonly problem: string | null;
  readonly locked: boolean;
  /** The table is not the tool's shape, or the query failed: why. */
  readonly error: string | null;
}

/** The tables a history source keeps (history and lock tables). */
export function sourceTables(h: HistorySource): readonly string[] {
  return 'tool' in h ? PRESETS[h.tool].tables : [h.table];
}

function label(h: HistorySource): string {
  return 'tool' in h ? h.tool : 'custom history';
}

/**
 * What a comparison of `store` leaves out of a file at `userVersion`: the always-ignored sidecar
 * tables and the `ignore` patterns everywhere; another tool's bookkeeping tables only in a file
 * not yet versioned (user_version 0), where they say which version the file is at.
 */
export function exclusionFor(store: Pick<Store, 'ignore' | 'legacy'>, userVersion: number | null): Exclusion {
  const patterns = [...ALWAYS_IGNORED, ...store.ignore.map((pattern) => ({ pattern, owner: 'ignore' }))];
  const bookkeeping = userVersion === 0 ? store.legacy.history.flatMap((h) => sourceTables(h).map((table) => ({ table, owner: label(h) }))) : [];
  return { patterns, bookkeeping };
}

/** Reads every declared history whose table the file holds. Read-only; never throws. */
export function readHistories(db: Database.Database, store: Store, master: readonly MasterRow[]): HistoryFact[] {
  const tables = new Set(master.filter((r) => r.type === 'table').map((r) => foldCase(r.name)));
  const out: HistoryFact[] = [];
  store.legacy.history.forEach((h, source) => {
    const table = 'tool' in h ? PRESETS[h.tool].marker : h.table;
    if (!tables.has(foldCase(table))) return;
    const base = { source, tool: label(h), table, applied: [] as string[], current: null, problem: null, locked: false, error: null };
    if ('tool' in h) {
      const preset = PRESETS[h.tool];
      try {
        const r = preset.read(db);
        out.push({ ...base, kind: preset.kind, applied: [...r.applied], current: r.current, problem: r.problem, locked: r.locked });
      } catch (err) {
        out.push({ ...base, kind: preset.kind, error: (err as Error).message });
      }
      return;
    }
    out.push({ ...base, kind: 'version', ...readCustom(db, h.version) });
  });
  return out;
}

/** A custom query's one integer, as text (the map's key), or why not. */
function readCustom(db: Database.Database, sql: string): { current: string | null; error: string | null } {
  try {
    const stmt = db.prepare(sql);
    if (!stmt.reader || !stmt.readonly) return { current: null, error: `the query ${JSON.stringify(sql)} is not read-only; stores runs only queries that read` };
    const row = stmt.raw().get() as unknown[] | undefined;
    const v = row?.[0];
    if (v === null || v === undefined) return { current: null, error: `the query ${JSON.stringify(sql)} returned no version (no row, or NULL)` };
    if (!(typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^\d+$/.test(v)))) {
      return { current: null, error: `the query ${JSON.stringify(sql)} returned ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}, not a whole number` };
    }
    return { current: String(v), error: null };
  } catch (err) {
    return { current: null, error: `the query ${JSON.stringify(sql)} fails: ${(err as Error).message}` };
  }
}

/** The version one history says the file is at, or the reason it cannot say (naming the tool, the table, the entry). */
export function historyVersion(fact: HistoryFact, h: HistorySource): { version: number } | { problem: string; fix: string } {
  const where = `${fact.tool} history (table ${fact.table})`;
  const unknown = `add it to the map of legacy.history[${fact.source}] (the tool's identifier → the version of this store it brings the file to)`;
  if (fact.error !== null) return { problem: `${where} cannot be read: ${fact.error}`, fix: `declare the history that really keeps this file in legacy.history, or fix the table` };
  if (fact.problem !== null) return { problem: fact.problem, fix: `settle that migration with ${fact.tool} first (finish it, or mark it rolled back the way ${fact.tool} does), then adopt` };
  const map = h.map;
  if (fact.kind === 'log') {
    if (!map) return { version: fact.applied.length };
    let v = 0;
    for (const id of fact.applied) {
      if (!Object.hasOwn(map, id)) return { problem: `${where} names migration ${JSON.stringify(id)}, which the map of legacy.history[${fact.source}] does not know`, fix: unknown };
      v = Math.max(v, map[id]!);
    }
    return { version: v };
  }
  if (fact.current === null) return { version: 0 };
  if (map) {
    if (!Object.hasOwn(map, fact.current)) return { problem: `${where} records version ${JSON.stringify(fact.current)}, which the map of legacy.history[${fact.source}] does not know`, fix: unknown };
    return { version: map[fact.current]! };
  }
  const n = /^\d+$/.test(fact.current) ? Number(fact.current) : NaN;
  if (!Number.isSafeInteger(n)) return { problem: `${where} records version ${JSON.stringify(fact.current)}, which is not a version number`, fix: `give legacy.history[${fact.source}] a map from the tool's versions to this store's` };
  return { version: n };
}

/**
 * The tools whose bookkeeping a file holds (marker table present and of the tool's shape), for a
 * file no declared history explains: its message says `legacy.history` would adopt it.
 */
export function toolsKeeping(db: Database.Database, store: Store, master: readonly MasterRow[]): ToolName[] {
  const tables = new Set(master.filter((r) => r.type === 'table').map((r) => foldCase(r.name)));
  const ours = (t: string) => [...store.expect.snapshots.values()].some((s) => s.tables[foldCase(t)] !== undefined);
  const out: ToolName[] = [];
  for (const preset of Object.values(PRESETS)) {
    // A table of the store's own that happens to bear a tool's name (TypeORM's `migrations`) says nothing.
    if (!tables.has(foldCase(preset.marker)) || ours(preset.marker)) continue;
    try {
      preset.read(db);
      out.push(preset.tool);
    } catch {
      // Not this tool's table.
    }
  }
  return out;
}
