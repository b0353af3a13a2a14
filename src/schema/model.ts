/**
 * The neutral schema model: what a SQLite file's schema means, as plain serialisable data.
 *
 * `inspect` builds it from a live connection, `diff` compares two of them. Names are kept as
 * written; every map is keyed by the case-folded name, since SQLite compares names that way.
 */

export interface Column {
  readonly name: string;
  /** Declared type, upper-cased, comments dropped, white space folded ('' when none). */
  readonly type: string;
  readonly notNull: boolean;
  /**
   * Conflict clause of the NOT NULL constraint (`ROLLBACK`, `FAIL`, `IGNORE`, `REPLACE`), or
   * null for the default (`ABORT`, the same behaviour whether written or not).
   */
  readonly notNullConflict: string | null;
  /** Canonical text of the DEFAULT expression, or null. */
  readonly default: string | null;
  /** 1-based position in the primary key, 0 when not part of it. */
  readonly pk: number;
  /** Collating sequence declared on the column (upper-case), or null (BINARY). */
  readonly collate: string | null;
  /** null for an ordinary column; otherwise a generated column's kind and expression. */
  readonly generated: { readonly stored: boolean; readonly expr: string } | null;
  /** True for a hidden column of a virtual table. */
  readonly hidden: boolean;
}

export interface ForeignKey {
  /** Parent table (case-folded). */
  readonly table: string;
  readonly from: readonly string[];
  /** Parent columns; resolved to the parent's primary key when the DDL omits them. */
  readonly to: readonly (string | null)[];
  readonly onDelete: string;
  readonly onUpdate: string;
  /** As SQLite reports it: always `NONE`, since SQLite parses MATCH but never enforces it. */
  readonly match: string;
  /** True for `DEFERRABLE INITIALLY DEFERRED`: checked at COMMIT, not at each statement. */
  readonly deferred: boolean;
}

/** One column of a key (primary key, UNIQUE constraint) or of an index. */
export interface KeyTerm {
  /** Column name (case-folded), or the canonical text of an indexed expression. */
  readonly name: string;
  /** Collating sequence the term really has (upper-case), as SQLite reports it; null for BINARY. */
  readonly collate: string | null;
  readonly desc: boolean;
}

export interface PrimaryKey {
  readonly columns: readonly KeyTerm[];
  /** Conflict clause (`ROLLBACK`, `FAIL`, `IGNORE`, `REPLACE`), null for the default ABORT. */
  readonly conflict: string | null;
  readonly autoincrement: boolean;
  /** True when the key is the rowid itself (an INTEGER PRIMARY KEY alias), with no index. */
  readonly rowid: boolean;
}

export interface Unique {
  readonly columns: readonly KeyTerm[];
  /** Conflict clause, null for the default ABORT. */
  readonly conflict: string | null;
}

export interface Table {
  readonly name: string;
  readonly columns: readonly Column[];
  readonly foreignKeys: readonly ForeignKey[];
  /** Canonical CHECK expressions, sorted (column and table constraints alike). */
  readonly checks: readonly string[];
  /** The PRIMARY KEY, or null for a rowid table without one. */
  readonly primaryKey: PrimaryKey | null;
  /** UNIQUE constraints (not CREATE UNIQUE INDEX), as the indexes SQLite made for them. */
  readonly uniques: readonly Unique[];
  readonly withoutRowid: boolean;
  readonly strict: boolean;
  /** For virtual tables: the module and arguments; null for ordinary tables. */
  readonly virtual: string | null;
}

export interface Index {
  readonly name: string;
  /** Table the index is on (case-folded). */
  readonly table: string;
  readonly unique: boolean;
  /** Indexed terms as SQLite reports them (column or expression, collation, order). */
  readonly keys: readonly KeyTerm[];
  /** The same terms as readable text (`name`, `lower ( b ) COLLATE NOCASE DESC`): what `diff` compares. */
  readonly terms: readonly string[];
  /** Canonical WHERE of a partial index, or null. */
  readonly where: string | null;
}

export interface Trigger {
  readonly name: string;
  /** Table (or view) the trigger is on, case-folded. */
  readonly table: string;
  /** `BEFORE` (also when none is written), `AFTER` or `INSTEAD OF`. */
  readonly timing: string;
  /** `INSERT`, `DELETE` or `UPDATE`. */
  readonly event: string;
  /** The columns of `UPDATE OF`, case-folded and sorted; empty for any column. */
  readonly columns: readonly string[];
  /** Canonical WHEN expression, or null. */
  readonly when: string | null;
  /** Canonical text of the statements between BEGIN and END. */
  readonly body: string;
}

export interface View {
  readonly name: string;
  /** The column list of `CREATE VIEW v(a, b)`, case-folded; null when none is written. */
  readonly columns: readonly string[] | null;
  /** Canonical text of the SELECT. */
  readonly body: string;
}

/** The schema of one database, by meaning. */
export interface Snapshot {
  readonly tables: Readonly<Record<string, Table>>;
  readonly indexes: Readonly<Record<string, Index>>;
  readonly triggers: Readonly<Record<string, Trigger>>;
  readonly views: Readonly<Record<string, View>>;
}

/** One row of `sqlite_schema`, as SQLite stores it. */
export interface MasterRow {
  readonly type: string;
  readonly name: string;
  readonly tbl_name: string;
  readonly sql: string | null;
}

/** Kinds of schema objects a difference can be about. */
export type ObjectKind =
  | 'table'
  | 'column'
  | 'primary-key'
  | 'index'
  | 'foreign-key'
  | 'check'
  | 'unique'
  | 'table-option'
  | 'trigger'
  | 'view';

/** One difference between what a file must be and what it is. */
export interface Change {
  /** `missing`: expected, absent; `extra`: present, not expected; `changed`: both, differing. */
  readonly change: 'missing' | 'extra' | 'changed';
  readonly object: ObjectKind;
  /** Table the object belongs to (for columns, keys, checks, options), else the object's own name. */
  readonly table: string;
  /** The object's name where it has one (column, index, trigger, view, option). */
  readonly name?: string;
  /** What was expected and what was found, in readable SQL-like text. */
  readonly expected?: string;
  readonly actual?: string;
}
