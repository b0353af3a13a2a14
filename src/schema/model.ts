/**
 * The neutral schema model: what a SQLite file's schema means, as plain serialisable data.
 *
 * `inspect` builds it from a live connection, `diff` compares two of them. Names are kept as
 * written; every map is keyed by the case-folded name, since SQLite compares names that way.
 */

export interface Column {
  readonly name: string;
  /** Declared type, upper-cased, white space folded ('' when none). */
  readonly type: string;
  readonly notNull: boolean;
  /** Canonical text of the DEFAULT expression, or null. */
  readonly default: string | null;
  /** 1-based position in the primary key, 0 when not part of it. */
  readonly pk: number;
  /** Collating sequence declared on the column (canonical), or null. */
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
  readonly match: string;
}

export interface Table {
  readonly name: string;
  readonly columns: readonly Column[];
  readonly foreignKeys: readonly ForeignKey[];
  /** Canonical CHECK expressions, sorted (column and table constraints alike). */
  readonly checks: readonly string[];
  /** UNIQUE constraints (not CREATE INDEX), each as its column list, sorted. */
  readonly uniques: readonly string[];
  readonly autoincrement: boolean;
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
  /** Indexed terms, canonical: a column name or an expression, with COLLATE/DESC when given. */
  readonly terms: readonly string[];
  /** Canonical WHERE of a partial index, or null. */
  readonly where: string | null;
}

export interface Trigger {
  readonly name: string;
  readonly table: string;
  /** Canonical text of the whole CREATE TRIGGER statement. */
  readonly sql: string;
}

export interface View {
  readonly name: string;
  /** Canonical text of the whole CREATE VIEW statement. */
  readonly sql: string;
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
