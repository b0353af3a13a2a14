/**
 * Watching what a migration step destroys, by asking SQLite rather than reading the step.
 *
 * Every table of `main` gets TEMP triggers (they live in the connection's temp schema, never in
 * the file). They identify the table: SQLite moves a table's triggers with it through
 * `ALTER TABLE … RENAME` and drops them with the table, so a table whose triggers are gone was
 * dropped, whatever the SQL or JavaScript said. They also count rows: a BEFORE DELETE trigger
 * counts deletions; BEFORE INSERT/UPDATE triggers count the table's rows the first time it is
 * written, and an AFTER INSERT trigger counts inserts, so rows that vanish without a DELETE
 * trigger firing (a REPLACE conflict, `UPDATE OR REPLACE`) show as fewer rows than expected.
 * {@link rebuildTable} hands an old table's watch to the new table that carries its rows.
 */
import type Database from 'better-sqlite3';
import { foldCase, quoteIdent } from '../sql/tokens.js';

/** One table of `main` as the watch sees it. */
export interface TableState {
  /** `w<id>` for a watched table (stable across renames and rebuilds), `v:<name>` for a virtual one. */
  readonly key: string;
  readonly name: string;
  /** Root page (0 for a virtual table): it changes when the table is rebuilt. */
  readonly root: number;
  readonly virtual: boolean;
  /** Ordinary columns (not hidden, not generated), in order. */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
}

const COUNTERS = 'stores_watch';
const ARMS = 'stores_watch_arms';
const triggerName = (arm: number, what: string) => `stores_watch_${arm}_${what}`;

/** The ordinary and virtual tables of `main` (no `sqlite_` tables, no shadow tables). */
function readTables(db: Database.Database): { name: string; root: number; virtual: boolean; columns: TableState['columns'] }[] {
  const rows = db
    .prepare(
      `SELECT s.name AS name, s.rootpage AS root, l.type AS type FROM main.sqlite_schema s JOIN pragma_table_list l ON l.schema = 'main' AND l.name = s.name
        WHERE s.type = 'table' AND s.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND l.type IN ('table', 'virtual') ORDER BY s.rowid`,
    )
    .all() as { name: string; root: number; type: string }[];
  const cols = db.prepare('SELECT name, type FROM pragma_table_xinfo(?, ?) WHERE hidden = 0');
  return rows.map((r) => ({ name: r.name, root: r.root, virtual: r.type === 'virtual', columns: cols.all(r.name, 'main') as { name: string; type: string }[] }));
}

/** What changed between two readings of the tables. */
export interface TableDelta {
  /** Tables of `before` that are gone (their rows with them). */
  readonly dropped: readonly TableState[];
  /** [before name, after name] of tables renamed. */
  readonly renamed: readonly (readonly [string, string])[];
  /** [table as named after, column] dropped. */
  readonly droppedColumns: readonly (readonly [string, string])[];
  /** [table as named after, from, to]. */
  readonly renamedColumns: readonly (readonly [string, string, string])[];
  /** [table as named after, column, old type, new type]: a rebuild that changed a column's affinity. */
  readonly retyped: readonly (readonly [string, string, string, string])[];
}

/** SQLite's type affinity of a declared type (https://www.sqlite.org/datatype3.html#affname). */
export function affinity(type: string): 'INTEGER' | 'TEXT' | 'BLOB' | 'REAL' | 'NUMERIC' {
  const t = type.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t.includes('BLOB') || t === '') return 'BLOB';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

/** Compares two readings of the same watch. */
export function compareTables(before: ReadonlyMap<string, TableState>, after: ReadonlyMap<string, TableState>): TableDelta {
  const dropped: TableState[] = [];
  const renamed: [string, string][] = [];
  const droppedColumns: [string, string][] = [];
  const renamedColumns: [string, string, string][] = [];
  const retyped: [string, string, string, string][] = [];
  for (const [key, b] of before) {
    const a = after.get(key);
    if (!a) {
      dropped.push(b);
      continue;
    }
    if (foldCase(a.name) !== foldCase(b.name)) renamed.push([b.name, a.name]);
    const now = new Map(a.columns.map((c) => [foldCase(c.name), c]));
    if (a.root !== b.root) {
      // Rebuilt: columns match by name; a column whose affinity changes may change its values.
      for (const c of b.columns) {
        const n = now.get(foldCase(c.name));
        if (!n) droppedColumns.push([a.name, c.name]);
        else if (affinity(c.type) !== affinity(n.type) && affinity(n.type) !== 'BLOB') retyped.push([a.name, c.name, c.type, n.type]);
      }
    } else if (a.columns.length < b.columns.length) {
      for (const c of b.columns) if (!now.has(foldCase(c.name))) droppedColumns.push([a.name, c.name]);
    } else {
      b.columns.forEach((c, i) => {
        const n = a.columns[i]!;
        if (foldCase(n.name) !== foldCase(c.name)) renamedColumns.push([a.name, c.name, n.name]);
      });
    }
  }
  return { dropped, renamed, droppedColumns, renamedColumns, retyped };
}

const exists = (db: Database.Database, name: string): boolean => db.prepare('SELECT 1 FROM temp.sqlite_schema WHERE name = ?').get(name) !== undefined;

/** Rows a watched table lost: deleted ones, and ones that vanished without a DELETE trigger firing. */
export interface RowLoss {
  readonly key: string;
  readonly deleted: number;
  readonly vanished: number;
}

/**
 * Watches `db` (inside the caller's transaction) until {@link Watch.stop}, which drops the temp
 * objects it creates (a rollback drops them too).
 */
export class Watch {
  /** The tables when the watch started. */
  readonly start: ReadonlyMap<string, TableState>;

  /**
   * `rows` (default true) counts rows; without it, only the BEFORE DELETE triggers are made —
   * enough to identify tables and to make every deletion compile to an `OP_Delete`.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly rows = true,
  ) {
    if (exists(db, COUNTERS)) throw new Error('a watch is already running on this connection');
    db.exec(`CREATE TEMP TABLE ${COUNTERS} (id INTEGER PRIMARY KEY, deleted INTEGER NOT NULL DEFAULT 0, inserted INTEGER NOT NULL DEFAULT 0, base INTEGER, base_deleted INTEGER);
             CREATE TEMP TABLE ${ARMS} (arm INTEGER PRIMARY KEY, id INTEGER NOT NULL, rows INTEGER NOT NULL)`);
    this.start = this.tables();
  }

  /** The tables now, by watch identity; `arm` (default) watches tables that appeared meanwhile. */
  tables(arm = true): Map<string, TableState> {
    const watched = new Map(
      (this.db.prepare(`SELECT t.tbl_name AS name, a.id AS id FROM temp.sqlite_schema t JOIN temp.${ARMS} a ON t.name = 'stores_watch_' || a.arm || '_d' WHERE t.type = 'trigger'`).all() as { name: string; id: number }[]).map(
        (r) => [foldCase(r.name), r.id],
      ),
    );
    const out = new Map<string, TableState>();
    const sql: string[] = [];
    let next = nextIds(this.db);
    for (const t of readTables(this.db)) {
      let id = watched.get(foldCase(t.name));
      if (id === undefined && !t.virtual && arm) {
        id = next.id;
        sql.push(armSql(t.name, next.id, next.arm, this.rows));
        next = { id: next.id + 1, arm: next.arm + 1 };
      }
      const key = id === undefined ? `v:${foldCase(t.name)}` : `w${id}`;
      out.set(key, { key, ...t });
    }
    // One exec for every new table: each statement that changes the temp schema costs a reparse.
    if (sql.length > 0) this.db.exec(sql.join('\n'));
    return out;
  }

  /** Rows lost by watched tables that still exist in `now`. */
  rowLosses(now: ReadonlyMap<string, TableState>): RowLoss[] {
    const out: RowLoss[] = [];
    const rows = this.db.prepare(`SELECT id, deleted, inserted, base, base_deleted FROM temp.${COUNTERS}`).all() as { id: number; deleted: number; inserted: number; base: number | null; base_deleted: number | null }[];
    for (const r of rows) {
      const key = `w${r.id}`;
      const t = now.get(key);
      let vanished = 0;
      if (t && r.base !== null) {
        const count = (this.db.prepare(`SELECT count(*) AS n FROM main.${quoteIdent(t.name)}`).get() as { n: number }).n;
        vanished = Math.max(0, r.base + r.inserted - (r.deleted - r.base_deleted!) - count);
      }
      if (r.deleted > 0 || vanished > 0) out.push({ key, deleted: r.deleted, vanished });
    }
    return out;
  }

  /** Drops the watch's temp objects. */
  stop(): void {
    const objs = this.db.prepare("SELECT type, name FROM temp.sqlite_schema WHERE name LIKE 'stores\\_watch%' ESCAPE '\\' AND type IN ('trigger', 'table') ORDER BY type = 'table'").all() as { type: string; name: string }[];
    for (const o of objs) this.db.exec(`DROP ${o.type.toUpperCase()} IF EXISTS temp.${quoteIdent(o.name)}`);
  }
}

/** The next free counters id and arm number. */
function nextIds(db: Database.Database): { id: number; arm: number } {
  const r = db.prepare(`SELECT (SELECT coalesce(max(id), 0) + 1 FROM temp.${COUNTERS}) AS id, (SELECT coalesce(max(arm), 0) + 1 FROM temp.${ARMS}) AS arm`).get() as { id: number; arm: number };
  return r;
}

/** The SQL that watches `table` on counters row `id` (made if absent), as arm number `arm`. */
function armSql(table: string, id: number, arm: number, rows: boolean): string {
  const on = `main.${quoteIdent(table)}`;
  const row = `temp.${COUNTERS}`;
  const base = `UPDATE ${row} SET base = (SELECT count(*) FROM ${on}), base_deleted = deleted WHERE id = ${id} AND base IS NULL`;
  const sql = [
    `INSERT OR IGNORE INTO ${row} (id) VALUES (${id});`,
    `INSERT INTO temp.${ARMS} (arm, id, rows) VALUES (${arm}, ${id}, ${rows ? 1 : 0});`,
    `CREATE TEMP TRIGGER ${triggerName(arm, 'd')} BEFORE DELETE ON ${on} BEGIN UPDATE ${row} SET deleted = deleted + 1 WHERE id = ${id}; END;`,
  ];
  if (rows) {
    sql.push(
      `CREATE TEMP TRIGGER ${triggerName(arm, 'b')} BEFORE INSERT ON ${on} BEGIN ${base}; END;`,
      `CREATE TEMP TRIGGER ${triggerName(arm, 'u')} BEFORE UPDATE ON ${on} BEGIN ${base}; END;`,
      `CREATE TEMP TRIGGER ${triggerName(arm, 'i')} AFTER INSERT ON ${on} BEGIN UPDATE ${row} SET inserted = inserted + 1 WHERE id = ${id}; END;`,
    );
  }
  return sql.join('\n');
}

/** The watch id of `table` when a watch runs on `db` (for {@link rebuildTable}), or null. */
export function watchOf(db: Database.Database, table: string): number | null {
  if (!exists(db, ARMS)) return null;
  const id = db
    .prepare(`SELECT a.id FROM temp.sqlite_schema t JOIN temp.${ARMS} a ON t.name = 'stores_watch_' || a.arm || '_d' WHERE t.type = 'trigger' AND t.tbl_name = ? COLLATE NOCASE`)
    .pluck()
    .get(table) as number | undefined;
  return id ?? null;
}

/** Watches `table`, which now holds the rows of the table watched as `id` (a rebuild). */
export function rewatch(db: Database.Database, table: string, id: number): void {
  const rows = db.prepare(`SELECT rows FROM temp.${ARMS} WHERE id = ? ORDER BY arm LIMIT 1`).pluck().get(id) === 1;
  db.exec(armSql(table, id, nextIds(db).arm, rows));
}
