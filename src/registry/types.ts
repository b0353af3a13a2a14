/**
 * The registry: the stores a binary knows, as declared (on disk or in code) and as validated.
 */
import type Database from 'better-sqlite3';

/** What a JavaScript migration step receives besides the connection. */
export interface StepContext {
  /** Store name. */
  readonly store: string;
  /** The version this step brings the file to. */
  readonly version: number;
}

/**
 * A migration step's JavaScript form. It runs inside the store's transaction, so it must be
 * synchronous (better-sqlite3 is); returning a Promise is refused and rolled back.
 */
export type StepFunction = (db: Database.Database, ctx: StepContext) => void;

/** One migration step: it brings a file from `version - 1` to `version`. */
export interface MigrationDefinition {
  readonly version: number;
  /** A readable name, e.g. `002-agent-definitions-updated-at.sql`. */
  readonly name: string;
  /** SQL to run (one or more statements)… */
  readonly sql?: string;
  /** …or a function, for data work that SQL cannot say. */
  readonly run?: StepFunction;
  /**
   * Why the step may destroy data (drop a table or a column, delete rows). A JavaScript module
   * declares it with `export const destructive = '<why>'`; a SQL step may use the comment
   * `-- stores:destructive <why>` instead. An undeclared step that destroys something is refused;
   * a declared one runs after a backup of the file.
   */
  readonly destructive?: string;
}

export interface RenameRule {
  readonly from: string;
  readonly to: string;
}

/** The migration tools whose bookkeeping stores knows (`legacy.history` presets). */
export const HISTORY_TOOLS = ['drizzle', 'kysely', 'knex', 'typeorm', 'dbmate', 'golang-migrate', 'sqlx', 'prisma', 'flyway'] as const;
export type HistoryTool = (typeof HISTORY_TOOLS)[number];

/**
 * One bookkeeping source of another migration tool (`legacy.history`): a preset naming the tool,
 * or a custom table with a read-only query returning the version it records. `map` maps the
 * tool's own migration identifiers (drizzle: `created_at`; knex, Kysely, TypeORM: the name;
 * Prisma: `migration_name`; the others, and a custom query: the version) to this store's versions;
 * without it a tool that logs one row per migration is at the number of rows applied, and a tool
 * that records a version (or a custom query) at that version.
 */
export type HistorySource =
  | { readonly tool: HistoryTool; readonly map?: Readonly<Record<string, number>> }
  | { readonly table: string; readonly version: string; readonly map?: Readonly<Record<string, number>> };

/** How files written before the store was versioned (user_version = 0) are adopted. */
export interface LegacyDefinition {
  /**
   * Files kept by another migration tool: its bookkeeping says which version the file is at;
   * such a file is adopted from that version (bookkeeping dropped after a backup, later
   * migrations run) when its schema, less the bookkeeping tables, is that version's.
   */
  readonly history?: readonly HistorySource[];
  /** Table renames, applied in this order, each only where the old name exists. */
  readonly renames?: readonly RenameRule[];
  /** Column renames, applied after the table renames (`table` is the table's current name). */
  readonly renameColumns?: readonly { readonly table: string; readonly from: string; readonly to: string }[];
  /** Indexes a rename leaves behind under old names, dropped after the renames. */
  readonly dropIndexes?: readonly string[];
  /**
   * Columns nobody reads any more. Their table is rebuilt to its definition in the oldest
   * version (cascade-safe, after a backup); indexes on them belong in `dropIndexes`.
   */
  readonly dropColumns?: readonly { readonly table: string; readonly column: string }[];
  /** Tables nobody reads any more, dropped (after a backup when they hold rows). */
  readonly deadTables?: readonly string[];
  /** Example legacy layouts (SQL, rows included) that `stores verify` adopts in memory. */
  readonly samples?: readonly { readonly name: string; readonly sql: string }[];
}

/** A query that must return no row once a file is reconciled (checked by `stores verify`). */
export interface Invariant {
  readonly name: string;
  readonly sql: string;
}

/** `wal_checkpoint` modes `close()` may run. */
export const CHECKPOINT_MODES = ['PASSIVE', 'FULL', 'RESTART', 'TRUNCATE'] as const;
export type CheckpointMode = (typeof CHECKPOINT_MODES)[number];

/** Pragma name → value, applied in insertion order on every open. */
export type ConnectionSettings = Readonly<Record<string, string | number>>;

/** `auto_vacuum` values: SQLite's names or numbers (https://www.sqlite.org/pragma.html#pragma_auto_vacuum). */
export const AUTO_VACUUM_MODES = ['NONE', 'FULL', 'INCREMENTAL'] as const;
export type AutoVacuum = (typeof AUTO_VACUUM_MODES)[number] | 0 | 1 | 2;

/**
 * Settings SQLite keeps in the file and accepts only before its first table: applied when `up`
 * creates a file (and initializes a zero-byte one). A file that exists keeps the settings it has.
 */
export interface FileSettings {
  /** Bytes per page: a power of two from 512 to 65536 (SQLite's default is 4096). */
  readonly page_size?: number;
  /** `NONE`, `FULL` or `INCREMENTAL` (or 0, 1, 2). */
  readonly auto_vacuum?: AutoVacuum;
}

/** A store as a host declares it in code (or as `loadRegistry` reads it from a folder). */
export interface StoreDefinition {
  readonly name: string;
  /** File name inside a data dir, e.g. `objects.db`. */
  readonly file: string;
  /** Target version, kept in `PRAGMA user_version`. */
  readonly version: number;
  /** Oldest version a file may be at and still be migrated (default: `version`). */
  readonly minVersion?: number;
  /** The flat baseline: the complete schema at `version`. */
  readonly schema: string;
  /** The schema of `minVersion` when it differs from the baseline (frozen at its release). */
  readonly oldestSchema?: string;
  /**
   * Schemas of released versions, frozen by `stores freeze` (version → SQL). `verify` proves each
   * equals its migration path and migrates to the baseline.
   */
  readonly frozen?: Readonly<Record<number, string>>;
  readonly migrations?: readonly MigrationDefinition[];
  /** Idempotent rows every reconciled file holds. */
  readonly seed?: string;
  readonly legacy?: LegacyDefinition;
  /** Pragmas applied on every open, in order (default: {@link DEFAULT_CONNECTION}). */
  readonly connection?: ConnectionSettings;
  /** `wal_checkpoint` mode run by `close()` (default `TRUNCATE`; `null` for none). */
  readonly checkpointOnClose?: CheckpointMode | null;
  readonly invariants?: readonly Invariant[];
  /**
   * `PRAGMA application_id` (a non-zero signed 32-bit integer): stamped when `up` creates, adopts
   * or migrates a file; a file holding another non-zero application id is `foreign`.
   */
  readonly applicationId?: number;
  /** `page_size` and `auto_vacuum` of the files `up` creates. */
  readonly fileSettings?: FileSettings;
  /**
   * Name patterns (`*` wildcard, case-insensitive) of tables, indexes and views another program
   * owns, and of the indexes and triggers on its tables: never compared, created, dropped or
   * rebuilt. Litestream's and D1's bookkeeping tables are ignored without being listed.
   */
  readonly ignore?: readonly string[];
  /** Where each part came from, for error messages (file paths when loaded from disk). */
  readonly sources?: Readonly<Partial<Record<'dir' | 'schema' | 'oldestSchema' | 'seed' | 'store', string>>> &
    Readonly<{ migrations?: Readonly<Record<number, string>>; samples?: Readonly<Record<string, string>>; frozen?: Readonly<Record<number, string>> }>;
}

/** The connection settings of the reference stores, in the order they are applied. */
export const DEFAULT_CONNECTION: ConnectionSettings = Object.freeze({
  busy_timeout: 5000,
  journal_mode: 'WAL',
  synchronous: 'NORMAL',
  foreign_keys: 'ON',
  cache_size: -64000,
  mmap_size: 268435456,
  temp_store: 'MEMORY',
});

/**
 * A validated store declaration, defaults applied. What each version must look like (run in
 * memory) is the engine's to compute: see `Store` in src/types.ts and src/engine/expect.ts.
 */
export interface StoreSpec {
  readonly name: string;
  readonly file: string;
  readonly version: number;
  readonly minVersion: number;
  readonly schema: string;
  readonly oldestSchema: string;
  /** Frozen schemas of released versions (version → SQL). */
  readonly frozen: ReadonlyMap<number, string>;
  /** Steps for versions minVersion+1 … version, in order. */
  readonly migrations: readonly MigrationDefinition[];
  readonly seed: string | null;
  readonly legacy: Required<LegacyDefinition>;
  readonly connection: ConnectionSettings;
  readonly checkpointOnClose: CheckpointMode | null;
  readonly invariants: readonly Invariant[];
  /** The declared application id, or null for none (then no file is refused for its application id). */
  readonly applicationId: number | null;
  /** File settings, `auto_vacuum` as SQLite's number. */
  readonly fileSettings: { readonly page_size?: number; readonly auto_vacuum?: 0 | 1 | 2 };
  /** The declared `ignore` patterns (the always-ignored sidecar tables are added by the engine). */
  readonly ignore: readonly string[];
  readonly sources: NonNullable<StoreDefinition['sources']>;
}
