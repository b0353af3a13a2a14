/**
 * The names and SQL of the D1 driver's bookkeeping: the version row (in place of `user_version`
 * and `application_id`, which D1 denies), and the guard and count tables a batch creates and
 * drops inside itself.
 */
import { quoteString } from '../sql/tokens.js';

/** One row: the store, its version, its application id, who wrote it and when. */
export const VERSION_TABLE = '_stores_version';
export const GUARD_TABLE = '_stores_guard';
export const COUNTS_TABLE = '_stores_counts';

export const CREATE_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (store TEXT NOT NULL, version INTEGER NOT NULL, application_id INTEGER, written_by TEXT, at TEXT)`;

/** Objects no comparison of a D1 database sees: SQLite's, D1's (`_cf_*`) and ours. */
const NOT_LISTED = `name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND lower(name) NOT IN (${[VERSION_TABLE, GUARD_TABLE, COUNTS_TABLE].map(quoteString).join(', ')})`;

/** The listing's rows, in creation order: what the in-memory replica is built from. */
export const SCHEMA_ROWS = `SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE ${NOT_LISTED} ORDER BY rowid`;

/**
 * The whole listing as one string, the same SQL on D1 and on the replica: a guard compares the
 * two letter for letter.
 */
export const LISTING = `SELECT coalesce(group_concat(type || char(31) || name || char(31) || tbl_name || char(31) || coalesce(sql, ''), char(30) ORDER BY type, name), '') AS listing FROM sqlite_schema WHERE ${NOT_LISTED}`;

export const QUICK_CHECK = "SELECT group_concat(quick_check, '; ') AS quick_check FROM pragma_quick_check";

/** A row when the version table is there. */
export const HAS_VERSION_TABLE = `SELECT 1 AS x FROM sqlite_schema WHERE type = 'table' AND name = ${quoteString(VERSION_TABLE)}`;
