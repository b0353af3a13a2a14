/**
 * A database's schema replayed from its `sqlite_schema` rows into another connection (an empty
 * `:memory:` one): what adoption plans on (src/engine/adopt.ts) and what the D1 driver inspects
 * and rehearses on (src/d1/replica.ts). SQLite itself says what the rows mean.
 */
import type Database from 'better-sqlite3';
import type { MasterRow } from './model.js';
import { isWord, tokenize } from '../sql/tokens.js';

function tableIn(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE").get(name) !== undefined;
}

/** The module of a `CREATE VIRTUAL TABLE … USING module(…)` statement. */
function moduleOf(sql: string): string {
  const toks = tokenize(sql);
  const using = toks.findIndex((t) => isWord(t, 'using'));
  return using >= 0 && toks[using + 1] ? toks[using + 1]!.value : '?';
}

/**
 * Replays a listing into an empty database: virtual tables first (their modules create their
 * shadow tables, whose own rows are then skipped), then tables, indexes, views, triggers. Each
 * row is one CREATE statement, prepared alone, so nothing else of the file's SQL can run.
 * Returns the virtual tables whose module is missing, or why the listing does not replay.
 */
export function replaySchema(db: Database.Database, master: readonly MasterRow[]): { table: string; module: string }[] | string {
  const missing: { table: string; module: string }[] = [];
  const isVirtual = (r: MasterRow) => r.type === 'table' && isWord(tokenize(r.sql ?? '')[1], 'virtual');
  const order = [(r: MasterRow) => isVirtual(r), (r: MasterRow) => r.type === 'table' && !isVirtual(r), ...['index', 'view', 'trigger'].map((t) => (r: MasterRow) => r.type === t)];
  for (const pick of order) {
    for (const r of master) {
      if (r.sql === null || !pick(r)) continue;
      if (r.type === 'table' && !isVirtual(r) && tableIn(db, r.name)) continue;
      if (!isWord(tokenize(r.sql)[0], 'create')) return `${r.type} ${r.name} is not defined by a CREATE statement`;
      try {
        db.prepare(r.sql).run();
      } catch (err) {
        const module = isVirtual(r) ? moduleOf(r.sql) : null;
        if (module !== null && /no such module/i.test((err as Error).message)) missing.push({ table: r.name, module });
        else return `the file's schema does not replay in memory: ${r.type} ${r.name}: ${(err as Error).message}`;
      }
    }
  }
  return missing;
}
