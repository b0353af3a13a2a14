/**
 * Rows left pointing at nothing after a reconcile's steps, and what to do about them.
 *
 * A reconcile runs with foreign keys off (a table rebuild would otherwise fire its children's
 * ON DELETE actions), so no ON DELETE action fires: a step that deletes parent rows and leans on
 * `ON DELETE CASCADE` (or SET NULL, SET DEFAULT) leaves the children behind, and
 * `foreign_key_check` finds them. The advice names each foreign key and what the step must do
 * by hand, read from SQLite (`pragma_foreign_key_check`, `pragma_foreign_key_list`).
 */
import type Database from 'better-sqlite3';
import { quoteIdent, quoteString } from '../sql/tokens.js';

interface Violation {
  readonly table: string;
  readonly rowid: number | null;
  readonly parent: string;
  readonly fkid: number;
}

interface Key {
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly onDelete: string;
}

/** A foreign key of `table` by its id, parent columns resolved to the parent's primary key when omitted. */
function keyOf(db: Database.Database, table: string, fkid: number, parent: string): Key {
  const parts = db.prepare('SELECT "from", "to", on_delete FROM pragma_foreign_key_list(?) WHERE id = ? ORDER BY seq').all(table, fkid) as { from: string; to: string | null; on_delete: string }[];
  const pk = (db.prepare('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk').all(parent) as { name: string }[]).map((r) => r.name);
  return { from: parts.map((p) => p.from), to: parts.map((p, i) => p.to ?? pk[i] ?? '?'), onDelete: parts[0]?.on_delete ?? 'NO ACTION' };
}

function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return quoteString(v);
  if (Buffer.isBuffer(v)) return `x'${v.toString('hex')}'`;
  return String(v);
}

/** `sessions rowid 11 → missing wallets row (wallet_id = 2)`. */
function describeRow(db: Database.Database, v: Violation, key: Key): string {
  let values = '';
  if (v.rowid !== null) {
    try {
      const row = db.prepare(`SELECT ${key.from.map(quoteIdent).join(', ')} FROM ${quoteIdent(v.table)} WHERE rowid = ?`).raw().get(v.rowid) as unknown[] | undefined;
      if (row) values = ` (${key.from.map((c, i) => `${c} = ${sqlLiteral(row[i])}`).join(', ')})`;
    } catch {
      // The values only illustrate; the row and the table are named anyway.
    }
  }
  return `${v.table} ${v.rowid === null ? 'row' : `rowid ${v.rowid}`} → missing ${v.parent} row${values}`;
}

/** What a step that deletes parent rows must do itself, by the action the key declares. */
function byHand(table: string, key: Key): string {
  const cols = key.from.join(', ');
  switch (key.onDelete) {
    case 'CASCADE':
      return `delete the ${table} rows that point at them itself`;
    case 'SET NULL':
      return `set ${table}.${cols} to NULL in the rows that point at them itself`;
    case 'SET DEFAULT':
      return `set ${table}.${cols} to its default in the rows that point at them itself`;
    default:
      return `delete or repoint the ${table} rows that point at them itself`;
  }
}

/** The last sentence of the reason: for rows that pointed at nothing before any step ran. */
export const ALREADY_DANGLING = 'Rows that already pointed at nothing before: delete or fix them, then run again';

/**
 * The reason a reconcile is refused when `foreign_key_check` finds rows pointing at nothing
 * after `what` (e.g. "migrating"), or null when it finds none.
 */
export function danglingRowsMessage(db: Database.Database, what: string): string | null {
  // The usual case (none) costs one pass; the counts and examples of a failure, two more.
  if (db.prepare('SELECT 1 FROM pragma_foreign_key_check LIMIT 1').get() === undefined) return null;
  const groups = db.prepare('SELECT "table", parent, fkid, count(*) AS n FROM pragma_foreign_key_check GROUP BY "table", fkid ORDER BY min(rowid)').all() as (Violation & { n: number })[];
  const examples = db.prepare('SELECT "table", rowid, parent, fkid FROM pragma_foreign_key_check LIMIT 5').all() as Violation[];
  const keys = new Map(groups.map((v) => [`${v.table}\u0000${v.fkid}`, { v, key: keyOf(db, v.table, v.fkid, v.parent) }]));
  const n = groups.reduce((a, g) => a + g.n, 0);
  const list = examples.map((v) => describeRow(db, v, keys.get(`${v.table}\u0000${v.fkid}`)!.key)).join(', ');
  const advice = [...keys.values()]
    .slice(0, 3)
    .map(({ v, key }) => {
      const action = key.onDelete === 'NO ACTION' ? '' : ` ON DELETE ${key.onDelete}`;
      return `a step that deletes ${v.parent} rows must ${byHand(v.table, key)} (${v.table}(${key.from.join(', ')}) → ${v.parent}(${key.to.join(', ')})${action})`;
    })
    .join('; ');
  return (
    `after ${what}, foreign_key_check finds ${n} row${n === 1 ? '' : 's'} pointing at nothing (${list}${n > 5 ? ', …' : ''}); rolled back, nothing changed — ` +
    `foreign-key actions are off during a reconcile (no ON DELETE action fires), so ${advice}${keys.size > 3 ? '; …' : ''}. ` +
    ALREADY_DANGLING
  );
}
